# Arrays: ranges, indexing from the end, slices and membership.
$n = 1..5
$n[0], $n[-1] -join " "
($n[1..3] | Measure-Object -Sum).Sum
$letters = "a", "b", "c"
$letters -contains "B"
"c" -in $letters
$n -gt 3 -join ","
@($null, 1, $null).Count
($null, 1, $null | Where-Object { $_ -ne $null }).Count
## out: 1 5
## out: 9
## out: True
## out: 4,5
