# Retention planning: the cutoff dates a 90-day policy would use.
$base = [datetime]"2020-03-31"
$cutoff = $base.AddDays(-90)
"Cutoff: " + $cutoff.ToString("yyyy-MM-dd")
"Next month: {0:yyyy-MM-dd}" -f $base.AddMonths(1)
"Weekday: " + $base.DayOfWeek
$span = New-TimeSpan -Start "2020-01-01" -End $base
"Days since new year: $($span.Days)"
if ((Get-Date) -gt $base) { "The base date is in the past" }
## out: Cutoff: 2020-01-01
## out: Next month: 2020-04-30
## out: Weekday: Tuesday
## out: Days since new year: 90
## out: The base date is in the past
