# Policy audit: which policies enable Persistent Chat, and who holds a per-user policy.
$policies = Get-CsPersistentChatPolicy
foreach ($p in $policies) {
    $state = if ($p.EnablePersistentChat) { "enabled" } else { "disabled" }
    "{0,-22} {1}" -f $p.Identity, $state
}
$tagged = Get-CsUser | Where-Object { $_.PersistentChatPolicy -ne $null }
"Users with a per-user policy: $(@($tagged).Count)"
## out: Global                 disabled
## out: Site:Dublin            enabled
## out: Tag:SalesChatPolicy    enabled
## out: Users with a per-user policy: 0
