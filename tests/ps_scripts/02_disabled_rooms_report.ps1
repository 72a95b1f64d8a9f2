# Health check: list disabled rooms so someone can decide what to do with them.
$disabled = Get-CsPersistentChatRoom | Where-Object { $_.Disabled -eq $true }
if ($disabled) {
    Write-Host "Disabled rooms found:"
    foreach ($r in $disabled) {
        Write-Host (" - {0} ({1})" -f $r.Name, $r.Category)
    }
} else {
    Write-Host "No disabled rooms."
}
"Total disabled: $(@($disabled).Count)"
## out: Disabled rooms found:
## out:  - Draft (Finance)
## out: Total disabled: 1
