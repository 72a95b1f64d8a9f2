# $null on either side, and array-on-left filtering.
$x = $null
if ($null -eq $x) { "null on the left" }
if ($x -eq $null) { "null on the right" }
$values = @(1, $null, 2, $null)
$nulls = $values -eq $null
"nulls: $($nulls.Count)"
if (-not $x) { "falsy" }
$empty = @()
if (!$empty) { "empty array is falsy" }
## out: null on the left
## out: null on the right
## out: nulls: 2
## out: falsy
## out: empty array is falsy
