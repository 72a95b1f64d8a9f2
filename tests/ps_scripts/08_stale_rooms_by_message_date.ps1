# Find rooms whose newest message is older than a cutoff date.
$cutoff = [datetime]"2020-01-01"
$stale = @()
foreach ($room in Get-CsPersistentChatRoom) {
    $messages = @(Get-CsPersistentChatMessage -Identity $room.Identity)
    if ($messages.Count -eq 0) { continue }
    $newest = ($messages | Sort-Object PostedAt -Descending | Select-Object -First 1).PostedAt
    if ([datetime]$newest -lt $cutoff) { $stale += $room.Name }
}
"Rooms with messages: checked"
"Stale: " + ($stale -join ", ")
## out: Rooms with messages: checked
## out: Stale:
