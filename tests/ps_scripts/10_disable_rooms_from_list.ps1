# Bulk change from a text file: disable each room listed, one name per line.
$names = Get-Content -Path "rooms-to-disable.txt"
foreach ($n in $names) {
    if ([string]::IsNullOrEmpty($n.Trim())) { continue }
    Set-CsPersistentChatRoom -Identity "pc01.contoso.com\$($n.Trim())" -Disabled $true
    Write-Verbose "disabled $n" -Verbose
}
(Get-CsPersistentChatRoom | Where-Object Disabled).Count
## input: rooms-to-disable.txt
##| FinanceRoom
##|
##|   CEO Updates
## out: 3
## err: VERBOSE: disabled FinanceRoom
## state: get_cs_persistent_chat_room().filter(|r| r.Disabled).len() == 3
