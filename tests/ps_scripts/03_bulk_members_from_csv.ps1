# Bulk change: add the users listed in a CSV to the rooms it names.
$rows = Import-Csv -Path ".\members.csv"
$added = 0
foreach ($row in $rows) {
    $identity = "pc01.contoso.com\" + $row.Room
    Set-CsPersistentChatRoom -Identity $identity -Members @{Add = $row.SipAddress}
    $added++
}
Write-Output "Added $added memberships"
## input: members.csv
##| Room,SipAddress
##| FinanceRoom,sip:annb@contoso.com
##| FinanceRoom,sip:bobk@contoso.com
##| CEO Updates,sip:annb@contoso.com
## out: Added 3 memberships
## state: get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\FinanceRoom"})[0].Members.len() == 2
## state: get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\CEO Updates"})[0].Members.len() == 1
