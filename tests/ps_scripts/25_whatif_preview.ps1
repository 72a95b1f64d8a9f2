# Change preview: show what would change without changing anything.
# Run by the change board before the real change is scheduled.
$category = "Finance"
$target = "Secret"
Get-CsPersistentChatRoom -Category $category | Set-CsPersistentChatRoom -Privacy $target -WhatIf
"Secret rooms now: $(@(Get-CsPersistentChatRoom | Where-Object Privacy -eq 'Secret').Count)"
## out: What if: Performing the operation "Set-CsPersistentChatRoom" on target "pc01.contoso.com\Draft".
## out: Secret rooms now: 0
