# Provisioning: create a numbered set of project rooms.
for ($i = 1; $i -le 3; $i++) {
    $name = "Project{0:D2}" -f $i
    New-CsPersistentChatRoom -Name $name -PersistentChatPoolFqdn "pc01.contoso.com" -Category "Projects" | Out-Null
}
$created = Get-CsPersistentChatRoom -Category "Projects" | Sort-Object Name
$created.Name -join ";"
## out: Project01;Project02;Project03
## state: get_cs_persistent_chat_room(#{Category: "Projects"}).len() == 3
