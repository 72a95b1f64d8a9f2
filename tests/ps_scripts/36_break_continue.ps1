# Loop control: stop at the first disabled room, skip the open ones.
$seen = @()
foreach ($r in (Get-CsPersistentChatRoom | Sort-Object Name)) {
    if ($r.Privacy -eq "Open") { continue }
    if ($r.Disabled) { $seen += "stop:" + $r.Name; break }
    $seen += $r.Name
}
$seen -join ","
$hits = switch (1, 2, 3, 4) { { $_ % 2 -eq 0 } { "even $_" } 3 { "three"; break } }
$hits -join ","
## out: stop:Draft
## out: even 2,three
