# Inventory of every Persistent Chat room, as a CSV for the monthly report.
$rooms = Get-CsPersistentChatRoom
$report = @()
foreach ($room in $rooms) {
    $report += [PSCustomObject]@{
        Name     = $room.Name
        Category = $room.Category
        Privacy  = $room.Privacy
        Disabled = $room.Disabled
        Members  = $room.Members.Count
    }
}
$report | Export-Csv -Path "room-inventory.csv" -NoTypeInformation
Write-Output ("Exported {0} rooms" -f $report.Count)
## exit: 0
## out: Exported 3 rooms
## file: room-inventory.csv: Name,Category,Privacy,Disabled,Members
## file: room-inventory.csv: FinanceRoom,Finance,Closed,False,0
