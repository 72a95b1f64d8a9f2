//! Date and time-span parameter values.
//! All instants are UTC `NaiveDateTime`s.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

const DATE_FORMS: &str = "valid forms are M/d/yyyy (3/1/2018), M/d/yyyy H:mm[:ss] [AM|PM] \
                          (3/1/2018 1:45 PM), yyyy-MM-dd (2018-03-01) and \
                          yyyy-MM-ddTHH:mm[:ss[.fff]][Z|±hh:mm] (2018-03-01T13:45:00Z)";

const SPAN_FORMS: &str = "valid form is [-][d.]hh:mm[:ss[.fffffff]], e.g. 00:30:00 or 30.00:00:00";

/// Days in .NET's TimeSpan.MaxValue; larger spans are rejected rather than silently accepted.
const MAX_SPAN_DAYS: i64 = 10_675_199;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateArg {
    /// UTC.
    pub at: NaiveDateTime,
    /// No time of day was written; its meaning depends on whether it starts or ends a range.
    pub date_only: bool,
}

impl DateArg {
    /// A range start: a bare date means 00:00:00 of that day.
    pub fn as_start(&self) -> NaiveDateTime {
        if self.date_only { self.at.date().and_time(NaiveTime::MIN) } else { self.at }
    }

    /// A range end: a bare date means "through the end of that day".
    pub fn as_end(&self) -> NaiveDateTime {
        if !self.date_only {
            return self.at;
        }
        self.at.date().and_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(self.at)
    }
}

/// Character cursor shared by the date and span parsers.
struct Cur {
    s: Vec<char>,
    i: usize,
}

impl Cur {
    fn new(s: &str) -> Cur {
        Cur { s: s.chars().collect(), i: 0 }
    }
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    /// Between `min` and `max` ASCII digits; `None` (position unchanged) if fewer than `min`.
    fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let start = self.i;
        let mut v: u64 = 0;
        while self.i - start < max {
            match self.peek().and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    v = v * 10 + u64::from(d);
                    self.i += 1;
                }
                None => break,
            }
        }
        let n = self.i - start;
        if n < min {
            self.i = start;
            return None;
        }
        Some((v, n))
    }
    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
        self.i > start
    }
    /// Fraction digits after a '.', scaled to nanoseconds (digits beyond 9 are dropped).
    fn fraction_nanos(&mut self, max_digits: usize) -> Option<u32> {
        let (v, n) = self.digits(1, max_digits)?;
        let v = if n > 9 { v / 10u64.pow((n - 9) as u32) } else { v * 10u64.pow((9 - n) as u32) };
        u32::try_from(v).ok()
    }
}

/// Written fields before validation, so impossible values get a specific message.
struct Fields {
    year: u64,
    month: u64,
    day: u64,
    time: Option<(u64, u64, u64, u32)>,
    /// `Some(pm)` when an AM/PM designator was written: the hour is then 1-12.
    meridiem: Option<bool>,
    /// Offset east of UTC in minutes.
    offset_min: i64,
}

pub fn parse_datetime(s: &str) -> Result<DateArg, String> {
    let text = s.trim();
    let bad = |why: &str| format!("'{text}' is not a valid date{why}; {DATE_FORMS}");
    let f = if text.contains('/') { parse_us(text) } else { parse_iso(text) }.ok_or_else(|| bad(""))?;

    if f.year == 0 {
        return Err(bad(" (year 0 does not exist)"));
    }
    if !(1..=12).contains(&f.month) {
        return Err(bad(&format!(" (month {} does not exist)", f.month)));
    }
    let date = NaiveDate::from_ymd_opt(f.year as i32, f.month as u32, f.day as u32)
        .ok_or_else(|| bad(&format!(" (day {} does not exist in {}/{})", f.day, f.month, f.year)))?;
    let Some((mut h, m, sec, nanos)) = f.time else {
        return Ok(DateArg { at: date.and_time(NaiveTime::MIN), date_only: true });
    };
    if let Some(pm) = f.meridiem {
        if !(1..=12).contains(&h) {
            return Err(bad(&format!(" (hour {h} must be 1-12 with AM/PM)")));
        }
        h = h % 12 + if pm { 12 } else { 0 };
    }
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad(&format!(" (time {h}:{m:02}:{sec:02} is out of range)")));
    }
    let time = NaiveTime::from_hms_nano_opt(h as u32, m as u32, sec as u32, nanos).ok_or_else(|| bad(""))?;
    let at = date
        .and_time(time)
        .checked_sub_signed(TimeDelta::minutes(f.offset_min))
        .ok_or_else(|| bad(" (out of range after converting to UTC)"))?;
    Ok(DateArg { at, date_only: false })
}

/// `M/d/yyyy[ H:mm[:ss[.fff]][ AM|PM]]`
fn parse_us(text: &str) -> Option<Fields> {
    let mut c = Cur::new(text);
    let (month, _) = c.digits(1, 2)?;
    c.eat('/').then_some(())?;
    let (day, _) = c.digits(1, 2)?;
    c.eat('/').then_some(())?;
    let (year, _) = c.digits(4, 4)?;
    let mut f = Fields { year, month, day, time: None, meridiem: None, offset_min: 0 };
    if c.done() {
        return Some(f);
    }
    c.skip_ws().then_some(())?;
    let (h, _) = c.digits(1, 2)?;
    let (m, sec, nanos) = clock_rest(&mut c)?;
    let had_ws = c.skip_ws();
    let rest: String = c.s[c.i..].iter().collect::<String>().to_ascii_uppercase();
    match rest.as_str() {
        "" if !had_ws => {}
        "AM" => f.meridiem = Some(false),
        "PM" => f.meridiem = Some(true),
        _ => return None,
    }
    f.time = Some((h, m, sec, nanos));
    Some(f)
}

/// After the hour: `:mm[:ss[.f]]`.
fn clock_rest(c: &mut Cur) -> Option<(u64, u64, u32)> {
    c.eat(':').then_some(())?;
    let (m, _) = c.digits(2, 2)?;
    let mut sec = 0;
    let mut nanos = 0;
    if c.eat(':') {
        sec = c.digits(2, 2)?.0;
        if c.eat('.') {
            nanos = c.fraction_nanos(9)?;
        }
    }
    Some((m, sec, nanos))
}

/// `yyyy-MM-dd[(T| )HH:mm[:ss[.f]][Z|±hh[:mm]]]`
fn parse_iso(text: &str) -> Option<Fields> {
    let mut c = Cur::new(text);
    let (year, _) = c.digits(4, 4)?;
    c.eat('-').then_some(())?;
    let (month, _) = c.digits(2, 2)?;
    c.eat('-').then_some(())?;
    let (day, _) = c.digits(2, 2)?;
    let mut f = Fields { year, month, day, time: None, meridiem: None, offset_min: 0 };
    if c.done() {
        return Some(f);
    }
    (c.eat('T') || c.eat('t') || c.eat(' ')).then_some(())?;
    let (h, _) = c.digits(2, 2)?;
    let (m, sec, nanos) = clock_rest(&mut c)?;
    f.time = Some((h, m, sec, nanos));
    if c.eat('Z') || c.eat('z') {
    } else if let Some(sign) = c.peek().filter(|ch| *ch == '+' || *ch == '-') {
        c.i += 1;
        let (oh, _) = c.digits(2, 2)?;
        let om = if c.eat(':') { c.digits(2, 2)?.0 } else { c.digits(2, 2).map_or(0, |d| d.0) };
        if oh > 14 || om > 59 {
            return None;
        }
        let off = (oh * 60 + om) as i64;
        f.offset_min = if sign == '-' { -off } else { off };
    }
    c.done().then_some(f)
}

/// ISO-8601 UTC, e.g. `2018-03-01T13:45:00Z`; fractional seconds only when present.
pub fn format_datetime(t: NaiveDateTime) -> String {
    use std::fmt::Write as _;
    // Written field by field: objects show a date per message and per room, and chrono's
    // `format` parses its pattern on every call. Years beyond four digits keep chrono's form.
    let mut out = String::with_capacity(32);
    if (0..=9999).contains(&t.year()) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    } else {
        let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
    }
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// `[-][d.]hh:mm[:ss[.fffffff]]` (.NET TimeSpan). Hours above 23 are allowed only without a day part.
pub fn parse_timespan(s: &str) -> Result<TimeDelta, String> {
    let text = s.trim();
    let bad = |why: &str| format!("'{text}' is not a valid time span{why}; {SPAN_FORMS}");
    let mut c = Cur::new(text);
    let negative = c.eat('-');
    // 9 digits keeps every intermediate product far from overflow; the total is range-checked below.
    let (first, _) = c.digits(1, 9).ok_or_else(|| bad(""))?;
    let (days, hours) = if c.eat('.') {
        let (h, _) = c.digits(1, 2).ok_or_else(|| bad(""))?;
        if h > 23 {
            return Err(bad(&format!(" (hours {h} must be 0-23 when days are given)")));
        }
        (first, h)
    } else {
        (0, first)
    };
    let (m, sec, nanos) = (|| {
        c.eat(':').then_some(())?;
        let (m, _) = c.digits(2, 2)?;
        let mut sec = 0;
        let mut nanos = 0;
        if c.eat(':') {
            sec = c.digits(2, 2)?.0;
            if c.eat('.') {
                nanos = c.fraction_nanos(7)?;
            }
        }
        c.done().then_some((m, sec, nanos))
    })()
    .ok_or_else(|| bad(""))?;
    if m > 59 || sec > 59 {
        return Err(bad(" (minutes and seconds must be 0-59)"));
    }
    let total = (days * 86_400 + hours * 3_600 + m * 60 + sec) as i64;
    if total > MAX_SPAN_DAYS * 86_400 {
        return Err(bad(" (too large)"));
    }
    let span = TimeDelta::new(total, nanos).ok_or_else(|| bad(" (too large)"))?;
    Ok(if negative { -span } else { span })
}

/// `[-][d.]hh:mm:ss[.fffffff]`, e.g. "00:15:00", "30.00:00:00".
pub fn format_timespan(d: TimeDelta) -> String {
    let sign = if d < TimeDelta::zero() { "-" } else { "" };
    let d = d.abs();
    let secs = d.num_seconds();
    let (days, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::from(sign);
    if days != 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    // .NET ticks are 100 ns.
    let ticks = d.subsec_nanos() / 100;
    if ticks != 0 {
        out.push_str(&format!(".{ticks:07}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, s).unwrap()
    }

    fn p(s: &str) -> DateArg {
        parse_datetime(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn en_us_dates() {
        assert_eq!(p("3/1/2018"), DateArg { at: dt(2018, 3, 1, 0, 0, 0), date_only: true });
        assert_eq!(p("03/01/2018").at, dt(2018, 3, 1, 0, 0, 0));
        assert_eq!(p(" 12/31/1999 ").at, dt(1999, 12, 31, 0, 0, 0));
        assert_eq!(p("2/29/2020").at, dt(2020, 2, 29, 0, 0, 0));
    }

    #[test]
    fn en_us_with_time() {
        assert_eq!(p("3/1/2018 13:45"), DateArg { at: dt(2018, 3, 1, 13, 45, 0), date_only: false });
        assert_eq!(p("3/1/2018 1:45:30").at, dt(2018, 3, 1, 1, 45, 30));
        assert_eq!(p("3/1/2018 1:45 PM").at, dt(2018, 3, 1, 13, 45, 0));
        assert_eq!(p("3/1/2018 1:45:07 pm").at, dt(2018, 3, 1, 13, 45, 7));
        assert_eq!(p("3/1/2018 12:00 AM").at, dt(2018, 3, 1, 0, 0, 0));
        assert_eq!(p("3/1/2018 12:30 PM").at, dt(2018, 3, 1, 12, 30, 0));
        assert_eq!(p("3/1/2018 11:59PM").at, dt(2018, 3, 1, 23, 59, 0));
        assert_eq!(p("3/1/2018 00:00:00").at, dt(2018, 3, 1, 0, 0, 0));
        assert!(!p("3/1/2018 00:00:00").date_only);
        assert_eq!(p("3/1/2018 1:02:03.5").at, dt(2018, 3, 1, 1, 2, 3) + TimeDelta::milliseconds(500));
    }

    #[test]
    fn iso_dates() {
        assert_eq!(p("2018-03-01"), DateArg { at: dt(2018, 3, 1, 0, 0, 0), date_only: true });
        assert_eq!(p("2018-03-01T13:45:00Z"), DateArg { at: dt(2018, 3, 1, 13, 45, 0), date_only: false });
        assert_eq!(p("2018-03-01T13:45").at, dt(2018, 3, 1, 13, 45, 0));
        assert_eq!(p("2018-03-01 13:45:10").at, dt(2018, 3, 1, 13, 45, 10));
        assert_eq!(p("2018-03-01t13:45:10z").at, dt(2018, 3, 1, 13, 45, 10));
        assert_eq!(p("2018-03-01T13:45:00.123Z").at, dt(2018, 3, 1, 13, 45, 0) + TimeDelta::milliseconds(123));
        assert_eq!(p("2018-03-01T13:45:00+02:00").at, dt(2018, 3, 1, 11, 45, 0));
        assert_eq!(p("2018-03-01T13:45:00-05:30").at, dt(2018, 3, 1, 19, 15, 0));
        assert_eq!(p("2018-03-01T00:30:00+0100").at, dt(2018, 2, 28, 23, 30, 0));
        assert_eq!(p("2018-03-01T23:30:00-01").at, dt(2018, 3, 2, 0, 30, 0));
    }

    #[test]
    fn rejects_impossible_and_malformed() {
        for s in [
            "2/30/2020",
            "13/1/2020",
            "0/1/2020",
            "2/29/2019",
            "3/1/18",
            "3/1/2018 25:00",
            "3/1/2018 13:00 PM",
            "3/1/2018 0:30 AM",
            "3/1/2018 1:60",
            "2018-02-30",
            "2018-13-01",
            "2018-3-1",
            "2018-03-01T25:00",
            "2018-03-01T13:45:00+15:00",
            "2018-03-01T13:45Zjunk",
            "",
            "tomorrow",
            "3/1/2018 PM",
            "3-1-2018",
            "0000-01-01",
            "3/1/2018 1:45 XM",
            "2018-03-01T",
            "2018-03-01T1:45",
        ] {
            assert!(parse_datetime(s).is_err(), "{s:?} should be rejected");
        }
        let e = parse_datetime("2/30/2020").unwrap_err();
        assert!(e.contains("'2/30/2020'") && e.contains("day 30") && e.contains("M/d/yyyy"), "{e}");
        let e = parse_datetime("13/1/2020").unwrap_err();
        assert!(e.contains("month 13") && e.contains("2018-03-01T13:45:00Z"), "{e}");
        let e = parse_datetime("3/1/2018 13:00 PM").unwrap_err();
        assert!(e.contains("hour 13 must be 1-12"), "{e}");
        let e = parse_datetime("junk").unwrap_err();
        assert!(e.contains("valid forms"), "{e}");
    }

    #[test]
    fn range_ends() {
        let d = p("3/1/2018");
        assert_eq!(d.as_start(), dt(2018, 3, 1, 0, 0, 0));
        assert_eq!(d.as_end(), dt(2018, 3, 1, 23, 59, 59) + TimeDelta::microseconds(999_999));
        let t = p("3/1/2018 10:00");
        assert_eq!(t.as_start(), t.at);
        assert_eq!(t.as_end(), t.at);
        let far = p("12/31/9999");
        assert_eq!(far.as_end().date(), far.at.date());
    }

    /// The field-by-field form is chrono's, for every year it takes, and chrono's beyond them.
    #[test]
    fn formats_like_chrono() {
        for (y, mo, d, h, mi, se) in
            [(1970, 1, 1, 0, 0, 0), (2026, 12, 3, 23, 59, 59), (9999, 12, 31, 1, 2, 3), (5, 6, 7, 8, 9, 10)]
        {
            let t = dt(y, mo, d, h, mi, se);
            assert_eq!(format_datetime(t), format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")));
        }
        let t = dt(12345, 1, 2, 3, 4, 5);
        assert_eq!(format_datetime(t), format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")));
    }

    #[test]
    fn formats_datetime() {
        assert_eq!(format_datetime(dt(2018, 3, 1, 13, 45, 0)), "2018-03-01T13:45:00Z");
        assert_eq!(format_datetime(dt(2018, 3, 1, 13, 45, 0) + TimeDelta::milliseconds(500)), "2018-03-01T13:45:00.5Z");
        assert_eq!(
            format_datetime(dt(2018, 3, 1, 0, 0, 0) + TimeDelta::nanoseconds(1)),
            "2018-03-01T00:00:00.000000001Z"
        );
        // Round trip.
        for s in ["2018-03-01T13:45:00Z", "1999-12-31T23:59:59.25Z"] {
            assert_eq!(format_datetime(p(s).at), s);
        }
    }

    #[test]
    fn timespans() {
        let ok = |s: &str| parse_timespan(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("00:30:00"), TimeDelta::minutes(30));
        assert_eq!(ok("00:15"), TimeDelta::minutes(15));
        assert_eq!(ok("30.00:00:00"), TimeDelta::days(30));
        assert_eq!(ok("1.02:03:04"), TimeDelta::seconds(86_400 + 2 * 3600 + 3 * 60 + 4));
        assert_eq!(ok("1.02:03"), TimeDelta::seconds(86_400 + 2 * 3600 + 3 * 60));
        assert_eq!(ok("00:00:01.5"), TimeDelta::milliseconds(1500));
        assert_eq!(ok("00:00:00.0000001"), TimeDelta::nanoseconds(100));
        assert_eq!(ok("-00:01:00"), TimeDelta::minutes(-1));
        assert_eq!(ok(" 01:00:00 "), TimeDelta::hours(1));
        assert_eq!(ok("48:00:00"), TimeDelta::days(2));
        assert_eq!(ok("10675199.00:00:00"), TimeDelta::days(10_675_199));
        for s in [
            "",
            "30",
            "1.24:00:00",
            "00:60:00",
            "00:00:60",
            "0:5",
            "00:30:00.12345678",
            "1.",
            "-",
            "abc",
            "00:30:00x",
            "1.2.3:00",
            "10675200.00:00:00",
            "999999999:00:00",
            "00:30:",
            "+00:30:00",
            "00::30",
        ] {
            assert!(parse_timespan(s).is_err(), "{s:?} should be rejected");
        }
        let e = parse_timespan("1.24:00:00").unwrap_err();
        assert!(e.contains("0-23") && e.contains("[d.]hh:mm"), "{e}");
    }

    #[test]
    fn formats_timespans() {
        assert_eq!(format_timespan(TimeDelta::minutes(15)), "00:15:00");
        assert_eq!(format_timespan(TimeDelta::days(30)), "30.00:00:00");
        assert_eq!(format_timespan(TimeDelta::hours(1)), "01:00:00");
        assert_eq!(format_timespan(TimeDelta::zero()), "00:00:00");
        assert_eq!(format_timespan(TimeDelta::milliseconds(1500)), "00:00:01.5000000");
        assert_eq!(format_timespan(TimeDelta::seconds(-90)), "-00:01:30");
        assert_eq!(format_timespan(TimeDelta::seconds(86_400 + 3661)), "1.01:01:01");
        for s in ["00:15:00", "30.00:00:00", "1.02:03:04.1234567", "-2.00:00:00"] {
            assert_eq!(format_timespan(parse_timespan(s).unwrap()), s);
        }
        // Extremes must not panic.
        let _ = format_timespan(TimeDelta::MAX);
        let _ = format_timespan(TimeDelta::MIN);
    }
}
