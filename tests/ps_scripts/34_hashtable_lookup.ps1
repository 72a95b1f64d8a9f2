# Lookup tables: policy per department.
$map = @{ Sales = "SalesChatPolicy"; Finance = $null }
$map.Add("Legal", "LegalPolicy")
$map.Remove("Legal")
$users = Get-CsUser | Where-Object { $map.ContainsKey($_.Department) -and $map[$_.Department] }
"users to grant: $($users.Count)"
$map.Keys.Count
## out: users to grant: 60
## out: 2
