# A script that reports a problem but finishes: exit code 3.
# Scheduled health checks alert on that code.
$expected = 5
$rooms = Get-CsPersistentChatRoom
if ($rooms.Count -lt $expected) { Write-Error "fewer rooms than expected ($($rooms.Count))" }
"done"
## exit: 3
## out: done
## err: Write-Error: fewer rooms than expected (3)
