# Microsoft's how-to guides address categories and rooms by bare name.
Set-CsPersistentChatCategory -Identity Finance -Description "Finance team"
Set-CsPersistentChatRoom -Identity FinanceRoom -Description "Budget talk"
New-CsPersistentChatCategory -Name Finance -PersistentChatPoolFqdn pc02.contoso.com | Out-Null
try {
    Set-CsPersistentChatCategory -Identity Finance -Description "changed" -ErrorAction Stop
} catch {
    "refused: $_"
}
try { Set-CsPersistentChatRoom -Identity NoSuchRoom -Disabled $true -ErrorAction Stop } catch { "missing: $_" }
(Get-CsPersistentChatCategory -Identity "pc01.contoso.com\Finance").Description
## out: is held by several pools: pc01.contoso.com\Finance, pc02.contoso.com\Finance; give one of them as the identity
## out: missing: Set-CsPersistentChatRoom: NotFound: no chat room named 'NoSuchRoom' in any pool
## out: Finance team
## state: get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\FinanceRoom"})[0].Description == "Budget talk"
## state: get_cs_persistent_chat_category(#{Identity: "pc02.contoso.com\\Finance"})[0].Description == ()
