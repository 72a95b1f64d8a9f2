# Migration preparation: check both pools are Normal before a planned fail-over.
$states = Get-CsPersistentChatState
$notNormal = $states | Where-Object { $_.PoolState -ne "Normal" }
if ($null -eq $notNormal) {
    Write-Host "All $($states.Count) pools are Normal; ready."
} else {
    Write-Warning "Pools not Normal: $($notNormal.Identity -join ', ')"
    exit 2
}
## out: All 2 pools are Normal; ready.
