# Old-style objects: New-Object PSObject with Add-Member.
$results = @()
foreach ($svc in Get-CsService -PersistentChatServer) {
    $o = New-Object PSObject
    $o | Add-Member -MemberType NoteProperty -Name "Pool" -Value $svc.PoolFqdn
    Add-Member -InputObject $o -MemberType NoteProperty -Name "Site" -Value $svc.SiteId
    $results += $o
}
$results | Format-Table
## out: Pool             Site
## out: pc01.contoso.com Site:Dublin
