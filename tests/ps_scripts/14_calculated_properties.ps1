# Report with calculated columns.
Get-CsPersistentChatRoom |
    Select-Object Name,
        @{Name = "Pool"; Expression = { $_.PersistentChatPoolFqdn }},
        @{n = "State"; e = { if ($_.Disabled) { "off" } else { "on" } }} |
    Sort-Object Name |
    ConvertTo-Json -Compress
## out: {"Name":"CEO Updates","Pool":"pc01.contoso.com","State":"on"}
## out: {"Name":"Draft","Pool":"pc01.contoso.com","State":"off"}
