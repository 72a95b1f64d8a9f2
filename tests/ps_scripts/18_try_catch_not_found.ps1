# Error handling: a missing room is reported and the script goes on.
$names = "FinanceRoom", "NoSuchRoom", "Draft"
$found = 0
$missing = @()
foreach ($n in $names) {
    try {
        $r = Get-CsPersistentChatRoom -Identity "pc01.contoso.com\$n" -ErrorAction Stop
        $found++
    } catch {
        $missing += $n
    } finally {
        $checked++
    }
}
"found $found, missing $($missing -join ','), checked $checked"
## out: found 2, missing NoSuchRoom, checked 3
