# Bulk change: raise chat history on every collection below 40.
$changed = 0
foreach ($c in Get-CsPersistentChatConfiguration) {
    if ($c.DefaultChatHistory -lt 40) {
        Set-CsPersistentChatConfiguration -Identity $c.Identity -DefaultChatHistory 40
        $changed++
    }
}
"changed $changed"
## out: changed 2
## state: get_cs_persistent_chat_configuration().filter(|c| c.DefaultChatHistory < 40).len() == 0
