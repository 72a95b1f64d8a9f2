# Discovering properties, then capturing formatted output as text.
$names = (Get-CsPersistentChatAddin | Get-Member).Name
"has Url: " + ($names -contains "Url")
$text = Get-CsPersistentChatAddin | Select-Object Name | Out-String
$text.Contains("BudgetTracker")
## out: has Url: True
## out: True
