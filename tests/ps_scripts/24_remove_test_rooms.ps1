# Clean-up: create scratch rooms, then remove everything whose name starts with "Test".
foreach ($n in "TestA", "TestB", "Keep") {
    New-CsPersistentChatRoom -Name $n -PersistentChatPoolFqdn "pc01.contoso.com" -Category "Projects" | Out-Null
}
$victims = Get-CsPersistentChatRoom | Where-Object { $_.Name -like "Test*" }
$victims | Remove-CsPersistentChatRoom -Confirm:$false
"Removed $($victims.Count)"
## out: Removed 2
## state: get_cs_persistent_chat_room(#{Category: "Projects"}).map(|r| r.Name) == ["Keep"]
