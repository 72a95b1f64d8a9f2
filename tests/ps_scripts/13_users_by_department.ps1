# Inventory: users per department, largest first, as a table.
Get-CsUser |
    Group-Object -Property Department |
    Sort-Object -Property Count -Descending |
    Select-Object -First 3 -Property Name, Count |
    Format-Table -AutoSize
## out: Finance     61
## out: Sales       60
## out: Engineering 57
