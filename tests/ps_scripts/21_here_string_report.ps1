# A text report built with a here-string and written to a file.
$rooms = Get-CsPersistentChatRoom
$open = @($rooms | Where-Object Privacy -eq "Open").Count
$body = @"
Persistent Chat report
======================
Rooms:      $($rooms.Count)
Open rooms: $open
"@
$body | Set-Content -Path "report.txt"
Get-Content -Path "report.txt" | Select-Object -First 1
(Get-Content "report.txt").Count
## out: Persistent Chat report
## out: 4
## file: report.txt: Open rooms: 1
