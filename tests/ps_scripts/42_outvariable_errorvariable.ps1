# Common parameters: keep the output and the errors of a call in variables.
Get-CsPersistentChatRoom -Category "Finance" -OutVariable finance | Out-Null
"finance rooms: $($finance.Count)"
Get-CsPersistentChatRoom -Identity "pc01.contoso.com\Nope" -ErrorAction SilentlyContinue -ErrorVariable problems
"errors: $($problems.Count)"
## out: finance rooms: 2
## out: errors: 1
