# Variables inside unquoted arguments, as guides write them.
$pool = "pc01.contoso.com"
$room = "FinanceRoom"
Set-CsPersistentChatRoom -Identity $pool\$room -Description "Finance team"
Get-CsPersistentChatState -Identity PersistentChatServer:$pool | Select-Object -ExpandProperty PoolState
(Get-CsPersistentChatRoom -Identity $pool\$room).Description
## out: Normal
## out: Finance team
