# Summarise rooms per category, classifying categories with a wildcard switch.
$summary = @{}
foreach ($room in Get-CsPersistentChatRoom) {
    $cat = $room.Category
    if (-not $summary.ContainsKey($cat)) { $summary[$cat] = 0 }
    $summary[$cat]++
}
foreach ($name in ($summary.Keys | Sort-Object)) {
    $kind = switch -Wildcard ($name) {
        "Fin*"  { "finance" }
        "Ann*"  { "broadcast" }
        default { "other" }
    }
    "{0}: {1} room(s), {2}" -f $name, $summary[$name], $kind
}
## out: Announcements: 1 room(s), broadcast
## out: Finance: 2 room(s), finance
