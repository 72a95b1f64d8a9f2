# A function that returns several objects; the caller counts them.
function Get-PoolRooms {
    param([string]$Pool)
    foreach ($r in Get-CsPersistentChatRoom) {
        if ($r.PersistentChatPoolFqdn -eq $Pool) { $r.Name }
    }
}
$pc01 = Get-PoolRooms -Pool "pc01.contoso.com"
$pc02 = Get-PoolRooms -Pool "pc02.contoso.com"
"pc01: $($pc01.Count), pc02: $($pc02.Count)"
($pc01 | Sort-Object)[0]
## out: pc01: 3, pc02: 0
## out: CEO Updates
