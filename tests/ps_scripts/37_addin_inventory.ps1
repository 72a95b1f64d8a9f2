# Add-in inventory with the rooms that use each add-in.
foreach ($a in Get-CsPersistentChatAddin) {
    $users = @(Get-CsPersistentChatRoom | Where-Object { $_.Addin -eq $a.Name })
    "{0} -> {1} ({2} room(s))" -f $a.Name, $a.Url, $users.Count
}
## out: BudgetTracker -> https://apps.contoso.com/budget (1 room(s))
