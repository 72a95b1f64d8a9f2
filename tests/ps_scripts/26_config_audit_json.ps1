# Configuration audit saved as JSON and read back.
Get-CsPersistentChatConfiguration | Select-Object Identity, DefaultChatHistory |
    ConvertTo-Json | Out-File -FilePath "config.json"
$saved = Get-Content "config.json" -Raw | ConvertFrom-Json
foreach ($c in $saved) {
    if ($c.DefaultChatHistory -gt 30) { "{0} keeps {1} messages" -f $c.Identity, $c.DefaultChatHistory }
}
## out: Service:PersistentChatServer:pc01.contoso.com keeps 50 messages
