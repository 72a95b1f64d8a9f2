# Casts and type tests scripts lean on.
$v = "7"
if ($v -is [string]) { "string" }
$n = [int]$v
if ($n -is [int]) { "int $($n * 2)" }
[bool]"false"
[bool]""
$list = [array](Get-CsPersistentChatRoom -Identity "pc01.contoso.com\Draft")
"list of $($list.Count)"
[void](Get-CsPersistentChatRoom)
$dt = [datetime]"3/15/2021"
$dt.Year
## out: string
## out: int 14
## out: True
## out: False
## out: list of 1
## out: 2021
