param(
    [Parameter(Mandatory = $true)][string]$Category,
    [int]$MaxRooms = 10,
    [switch]$Detailed
)
$rooms = @(Get-CsPersistentChatRoom -Category $Category)
if ($rooms.Count -gt $MaxRooms) { throw "too many rooms" }
"{0}: {1} room(s)" -f $Category, $rooms.Count
if ($Detailed) { $rooms | ForEach-Object { " - " + $_.Name } }
## arg: category=Finance
## arg: Detailed=true
## out: Finance: 2 room(s)
## out:  - FinanceRoom
