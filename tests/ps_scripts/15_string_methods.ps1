# Normalise identities typed by hand.
$raw = @("  PC01.Contoso.com\FinanceRoom ", "pc01.contoso.com\Draft")
foreach ($r in $raw) {
    $clean = $r.Trim()
    $pool = $clean.Substring(0, $clean.IndexOf("\")).ToLower()
    $room = $clean.Split("\")[1]
    "{0} | {1} | {2} | {3}" -f $pool, $room, $room.Length, $clean.EndsWith("Draft")
}
"Zürich-Åre".ToUpper().Replace("-", " / ")
"a,b,,c" -split "," | Where-Object { $_ } | ForEach-Object { $_.StartsWith("a") }
## out: pc01.contoso.com | FinanceRoom | 11 | False
## out: pc01.contoso.com | Draft | 5 | True
## out: ZÜRICH / ÅRE
