# Migration preparation: give every Sales user the Sales policy, then verify.
$sales = Get-CsUser | Where-Object { $_.Department -eq "Sales" }
$count = 0
foreach ($u in $sales) {
    Grant-CsPersistentChatPolicy -Identity $u.SipAddress -PolicyName "SalesChatPolicy"
    $count += 1
}
$check = Get-CsUser -Filter {PersistentChatPolicy -eq "SalesChatPolicy"}
if ($check.Count -ne $count) { throw "expected $count users, found $($check.Count)" }
"Granted SalesChatPolicy to $count users"
## out: Granted SalesChatPolicy to 60 users
## state: get_cs_user().filter(|u| u.PersistentChatPolicy == "SalesChatPolicy").len() == 60
