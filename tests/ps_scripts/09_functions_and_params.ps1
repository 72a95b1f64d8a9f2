# Reusable helpers with typed, mandatory and defaulted parameters.
function Get-RoomLabel {
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [string]$Pool = "pc01.contoso.com",
        [switch]$Upper
    )
    $label = "$Pool\$Name"
    if ($Upper) { return $label.ToUpper() }
    return $label
}
function Add-Numbers([int]$a, [int]$b = 10) { $a + $b }
Get-RoomLabel -Name "FinanceRoom"
Get-RoomLabel "Draft" -Upper
Add-Numbers 5
Add-Numbers -a 1 -b "2"
## out: pc01.contoso.com\FinanceRoom
## out: PC01.CONTOSO.COM\DRAFT
## out: 15
## out: 3
