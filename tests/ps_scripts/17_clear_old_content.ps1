# Retention job: clear content older than a cutoff from every Finance room.
$cutoff = "12/31/2019"
$rooms = Get-CsPersistentChatRoom -Category "Finance"
foreach ($room in $rooms) {
    $before = @(Get-CsPersistentChatMessage -Identity $room.Identity).Count
    Clear-CsPersistentChatRoom -Identity $room.Identity -EndDate $cutoff -Confirm:$false
    $after = @(Get-CsPersistentChatMessage -Identity $room.Identity).Count
    "{0}: {1} -> {2}" -f $room.Name, $before, $after
}
## out: FinanceRoom: 3 -> 2
