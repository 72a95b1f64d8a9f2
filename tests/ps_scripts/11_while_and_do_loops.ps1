# Retry pattern: poll the pool state a bounded number of times.
$attempt = 0
$state = $null
do {
    $attempt++
    $state = (Get-CsPersistentChatState -Identity "PersistentChatServer:pc01.contoso.com").PoolState
} until ($state -eq "Normal" -or $attempt -ge 3)
"State after $attempt attempt(s): $state"
$i = 10
while ($i -gt 0) { $i -= 4 }
"i = $i"
## out: State after 1 attempt(s): Normal
## out: i = -2
