# The preamble published scripts start with, then typed variables and a log path.
Import-Module SkypeForBusiness
$ErrorActionPreference = "Stop"
[int]$limit = "2"
[array]$rooms = Get-CsPersistentChatRoom -Identity "pc01.contoso.com\Draft"
$logFile = Join-Path "." "preamble.log"
try {
    Get-CsPersistentChatRoom -Identity "pc01.contoso.com\Missing"
    "not reached"
} catch {
    "stopped: $($_.Exception.Message)" | Out-File $logFile
}
"limit $($limit + 1), rooms $($rooms.Count)"
## out: limit 3, rooms 1
## notout: not reached
## file: preamble.log: stopped: Get-CsPersistentChatRoom: NotFound
