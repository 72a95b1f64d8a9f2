# Bulk change with verification: managers added, then checked.
$managers = "sip:annb@contoso.com", "sip:bobk@contoso.com"
Set-CsPersistentChatRoom -Identity "pc01.contoso.com\FinanceRoom" -Managers @{Add = $managers}
$room = Get-CsPersistentChatRoom -Identity "pc01.contoso.com\FinanceRoom"
$missing = $managers | Where-Object { $room.Managers -notcontains $_ }
if ($missing) { Write-Error "missing: $missing"; exit 1 }
"verified $($room.Managers.Count) managers"
## out: verified 2 managers
## state: get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\FinanceRoom"})[0].Managers.len() == 2
