# Capacity figures: average members per room, percentages.
$users = (Get-CsUser).Count
$sales = (Get-CsUser | Where-Object Department -eq "Sales").Count
$pct = [Math]::Round(($sales / $users) * 100, 1)
"Sales share: $pct%"
"{0:N0} users, {1:P0} in Sales" -f 1299, 0.2
[Math]::Max(3, 7)
[int]"42" + 1
[string]42 + 1
## out: Sales share: 20.1%
## out: 1,299 users, 20 % in Sales
## out: 7
## out: 43
## out: 421
