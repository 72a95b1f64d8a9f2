# Scripts written for a session with several modules name the module explicitly.
$p = SkypeForBusiness\Get-CsPersistentChatPolicy -Identity "Tag:SalesChatPolicy"
Lync\Grant-CsPersistentChatPolicy -Identity "sip:annb@contoso.com" -PolicyName $p.Identity.Split(":")[1]
(Microsoft.PowerShell.Utility\Get-Date -Date "2020-05-01" -Format "MMMM yyyy")
(SkypeForBusiness\Get-CsUser -Identity "sip:annb@contoso.com").PersistentChatPolicy
## out: May 2020
## out: SalesChatPolicy
