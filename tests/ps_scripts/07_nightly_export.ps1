# Nightly backup job: export the pool's data to a dated file and log the outcome.
$stamp = Get-Date -Format "yyyyMMdd"
$file = "pchat-backup-$stamp.zip"
$log = "backup.log"
try {
    Export-CsPersistentChatData -DBInstance "sql01.contoso.com\rtc" -FileName $file
    "$(Get-Date -Format 'yyyy-MM-dd') OK $file" | Out-File -FilePath $log -Append
    Write-Output "Backup written"
} catch {
    "FAILED: $($_.Exception.Message)" | Out-File -FilePath $log -Append
    exit 1
}
if (Test-Path $file) { "Backup file present" }
## out: Backup written
## out: Backup file present
## file: backup.log: OK pchat-backup-
