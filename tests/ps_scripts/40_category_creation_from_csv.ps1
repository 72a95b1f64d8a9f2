# Bulk creation from CSV with validation and a summary.
$rows = Import-Csv "categories.csv"
$ok = 0; $bad = 0
foreach ($row in $rows) {
    if ($row.Name -notmatch '^[A-Za-z][\w ]*$') { Write-Warning "skipping '$($row.Name)'"; $bad++; continue }
    New-CsPersistentChatCategory -Name $row.Name -PersistentChatPoolFqdn $row.Pool -Description $row.Description | Out-Null
    $ok++
}
"created $ok, skipped $bad"
## input: categories.csv
##| Name,Pool,Description
##| Legal,pc01.contoso.com,Legal team
##| 9Bad,pc01.contoso.com,x
##| HR,pc02.contoso.com,Human resources
## out: created 2, skipped 1
## err: WARNING: skipping '9Bad'
## state: get_cs_persistent_chat_category().len() == 5
