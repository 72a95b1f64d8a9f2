# A typo in a property name stops the script instead of matching nothing:
# in Windows PowerShell this script would remove every room.
# (pchat stops at the first read of the misspelt property.)
$rooms = Get-CsPersistentChatRoom
$rooms | Where-Object { $_.Privcy -eq "Open" } | Remove-CsPersistentChatRoom -Confirm:$false
"not reached"
## exit: 1
## err: has no property 'Privcy'
## err: Privacy
## notout: not reached
## state: get_cs_persistent_chat_room().len() == 3
