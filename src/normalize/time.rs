//! Timestamp parsing: every textual form the Activity Log dialects use, to
//! microseconds since the Unix epoch (UTC).
//!
//! Accepted forms (see `reference/formats.md` §11):
//! - ISO 8601 / RFC 3339 with 0–9 fraction digits, `Z`, `±hh:mm`, `±hhmm`,
//!   or no zone (taken as UTC), with `T` or a space between date and time;
//! - .NET / Log Analytics numeric dates `M/d/yyyy h:mm[:ss[.f]] [AM|PM]`
//!   with an optional comma after the date and an optional offset; `-` as
//!   the separator too; `d/M/yyyy` instead when `day_first` is set; `.` as
//!   the separator is always day first (`06.03.2024`); `yyyy/M/d` as well;
//! - `/Date(1700000000000)/` (Windows PowerShell 5.1 `ConvertTo-Json`),
//!   with or without an offset suffix (the milliseconds are UTC already).
//!
//! Nothing is guessed: an impossible date (month 13, 31 February, hour 25)
//! is an error that says what was wrong, so the record can be rejected with
//! that reason instead of being given a made-up time.

use std::fmt;

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, TimeError> {
    Err(TimeError(msg.into()))
}

const US_PER_SEC: i64 = 1_000_000;
/// .NET ticks (100 ns since 0001-01-01) at the Unix epoch.
const TICKS_AT_EPOCH: i64 = 621_355_968_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// A calendar date and time of day, validated, plus a UTC offset in seconds.
struct Parts {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    micros: u32,
    offset_s: i64,
}

impl Parts {
    fn to_micros(&self) -> Result<i64, TimeError> {
        if !(1..=12).contains(&self.mo) {
            return err(format!("month {} out of range", self.mo));
        }
        if self.d == 0 || self.d > days_in_month(self.y, self.mo) {
            return err(format!(
                "day {} out of range for {:04}-{:02}",
                self.d, self.y, self.mo
            ));
        }
        if self.h > 23 || self.mi > 59 || self.s > 59 {
            return err(format!(
                "time of day {:02}:{:02}:{:02} out of range",
                self.h, self.mi, self.s
            ));
        }
        let days = days_from_civil(self.y, self.mo, self.d);
        let secs = days * 86_400 + self.h as i64 * 3600 + self.mi as i64 * 60 + self.s as i64
            - self.offset_s;
        Ok(secs * US_PER_SEC + self.micros as i64)
    }
}

/// A tiny cursor over ASCII bytes.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    /// Reads 1..=max digits; returns (value, count).
    fn digits(&mut self, max: usize) -> Option<(u64, usize)> {
        let start = self.i;
        let mut v: u64 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + (c - b'0') as u64;
                    self.i += 1;
                }
                _ => break,
            }
        }
        let n = self.i - start;
        (n > 0).then_some((v, n))
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// Parses any accepted timestamp form to microseconds since the epoch (UTC).
pub fn parse_time(s: &str, day_first: bool) -> Result<i64, TimeError> {
    let t = s.trim();
    if t.is_empty() {
        return err("empty time");
    }
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        return parse_iso(b).map_err(|e| TimeError(format!("{e} in {t:?}")));
    }
    if let Some(rest) = t
        .strip_prefix("/Date(")
        .or_else(|| t.strip_prefix("\\/Date("))
    {
        return parse_ms_date(rest).map_err(|e| TimeError(format!("{e} in {t:?}")));
    }
    if b[0].is_ascii_digit() {
        return parse_numeric_date(b, day_first).map_err(|e| TimeError(format!("{e} in {t:?}")));
    }
    err(format!("unrecognised time format {t:?}"))
}

/// Microseconds from a .NET ticks count (100 ns units since 0001-01-01 UTC).
pub fn from_ticks(ticks: i64) -> i64 {
    (ticks - TICKS_AT_EPOCH) / 10
}

fn parse_ms_date(rest: &str) -> Result<i64, TimeError> {
    // 1700000000000)/  or  1700000000000+0100)/  or -1234)/
    let end = rest
        .find(')')
        .ok_or_else(|| TimeError("unterminated /Date(".into()))?;
    let inner = &rest[..end];
    let tail = &rest[end + 1..];
    if tail != "/" && tail != "\\/" {
        return err("unexpected text after /Date(...)");
    }
    // An optional zone suffix after the digits does not change the instant.
    let digits_end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map(|(i, _)| i)
        .unwrap_or(inner.len());
    let ms: i64 = inner[..digits_end]
        .parse()
        .map_err(|_| TimeError("bad milliseconds in /Date(...)".into()))?;
    ms.checked_mul(1000)
        .ok_or_else(|| TimeError("milliseconds out of range".into()))
}

fn frac_to_micros(v: u64, n: usize) -> u32 {
    // Keep microsecond precision: truncate digits past the sixth.
    let mut v = v;
    let mut n = n;
    while n > 6 {
        v /= 10;
        n -= 1;
    }
    while n < 6 {
        v *= 10;
        n += 1;
    }
    v as u32
}

/// Parses an optional zone at the cursor: `Z`, `UTC`, `GMT`, `±hh:mm`, `±hhmm`, `±hh`.
fn parse_zone(c: &mut Cur<'_>) -> Result<i64, TimeError> {
    c.skip_spaces();
    match c.peek() {
        None => Ok(0),
        Some(b'Z') | Some(b'z') => {
            c.i += 1;
            Ok(0)
        }
        Some(b'+') | Some(b'-') => {
            let neg = c.peek() == Some(b'-');
            c.i += 1;
            let (hh, n) = c
                .digits(2)
                .ok_or_else(|| TimeError("bad zone offset".into()))?;
            let mut mm = 0;
            if n == 2 {
                if c.eat(b':') {
                    mm = c
                        .digits(2)
                        .ok_or_else(|| TimeError("bad zone offset".into()))?
                        .0;
                } else if let Some((m, 2)) = c.digits(2) {
                    mm = m;
                }
            }
            if hh > 18 || mm > 59 {
                return err("zone offset out of range");
            }
            let off = (hh * 3600 + mm * 60) as i64;
            Ok(if neg { -off } else { off })
        }
        Some(_) => {
            let rest = &c.b[c.i..];
            if rest.eq_ignore_ascii_case(b"UTC") || rest.eq_ignore_ascii_case(b"GMT") {
                c.i = c.b.len();
                Ok(0)
            } else {
                err("unexpected text after the time")
            }
        }
    }
}

/// `h:mm[:ss[.f]]`, returns (h, m, s, micros).
fn parse_clock(c: &mut Cur<'_>) -> Result<(u32, u32, u32, u32), TimeError> {
    let bad = || TimeError("bad time of day".into());
    let (h, _) = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b':') {
        return Err(bad());
    }
    let (mi, mn) = c.digits(2).ok_or_else(bad)?;
    if mn != 2 {
        return Err(bad());
    }
    let mut s = 0;
    let mut micros = 0;
    if c.eat(b':') {
        let (sv, sn) = c.digits(2).ok_or_else(bad)?;
        if sn != 2 {
            return Err(bad());
        }
        s = sv;
        if c.eat(b'.') || c.eat(b',') {
            let (fv, fn_) = c.digits(9).ok_or_else(bad)?;
            // Digits beyond nine are below any clock's resolution: skip them.
            while matches!(c.peek(), Some(b'0'..=b'9')) {
                c.i += 1;
            }
            micros = frac_to_micros(fv, fn_);
        }
    }
    Ok((h as u32, mi as u32, s as u32, micros))
}

/// Reads the optional zone that ends a timestamp and converts the parts.
fn finish(
    c: &mut Cur<'_>,
    (y, mo, d): (u64, u64, u64),
    (h, mi, s, micros): (u32, u32, u32, u32),
) -> Result<i64, TimeError> {
    let offset_s = parse_zone(c)?;
    if !c.done() {
        return err("unexpected text after the time");
    }
    Parts {
        y: y as i64,
        mo: mo as u32,
        d: d as u32,
        h,
        mi,
        s,
        micros,
        offset_s,
    }
    .to_micros()
}

fn parse_iso(b: &[u8]) -> Result<i64, TimeError> {
    let mut c = Cur { b, i: 0 };
    let bad = || TimeError("bad ISO 8601 date".into());
    let (y, _) = c.digits(4).ok_or_else(bad)?;
    if !c.eat(b'-') {
        return Err(bad());
    }
    let (mo, mon) = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b'-') || mon != 2 {
        return Err(bad());
    }
    let (d, dn) = c.digits(2).ok_or_else(bad)?;
    if dn != 2 {
        return Err(bad());
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return err("date without a time of day");
    }
    let (h, mi, s, micros) = parse_clock(&mut c)?;
    finish(&mut c, (y, mo, d), (h, mi, s, micros))
}

fn parse_numeric_date(b: &[u8], day_first: bool) -> Result<i64, TimeError> {
    let mut c = Cur { b, i: 0 };
    let bad = || TimeError("bad numeric date".into());
    let (a, an) = c.digits(4).ok_or_else(bad)?;
    let sep = c.peek().ok_or_else(bad)?;
    if !matches!(sep, b'/' | b'-' | b'.') {
        return Err(bad());
    }
    c.i += 1;
    let (bv, _) = c.digits(2).ok_or_else(bad)?;
    if !c.eat(sep) {
        return Err(bad());
    }
    let (cv, cn) = c.digits(4).ok_or_else(bad)?;
    let (y, mo, d) = if an == 4 {
        // yyyy/M/d
        (a, bv, cv)
    } else {
        if cn != 4 {
            return err("year must have four digits");
        }
        if sep == b'.' || day_first {
            (cv, bv, a)
        } else {
            (cv, a, bv)
        }
    };
    if an != 4 && !(1..=12).contains(&mo) {
        let hint = if sep == b'.' || day_first {
            ""
        } else {
            " (if this export was made under a day-first locale, use --day-first)"
        };
        return err(format!("month {mo} out of range{hint}"));
    }
    c.eat(b',');
    c.skip_spaces();
    if c.done() {
        return err("date without a time of day");
    }
    let (mut h, mi, s, micros) = parse_clock(&mut c)?;
    c.skip_spaces();
    let rest = &b[c.i..];
    let ampm = if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"AM") {
        Some(false)
    } else if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"PM") {
        Some(true)
    } else {
        None
    };
    if let Some(pm) = ampm {
        c.i += 2;
        if h == 0 || h > 12 {
            return err(format!("hour {h} out of range for a 12-hour clock"));
        }
        h = match (pm, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    finish(&mut c, (y, mo, d), (h, mi, s, micros))
}

/// Formats microseconds since the epoch as RFC 3339 UTC with microseconds,
/// e.g. `2024-05-01T10:11:12.123456Z`.
pub fn format_micros(us: i64) -> String {
    let secs = us.div_euclid(US_PER_SEC);
    let frac = us.rem_euclid(US_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a command-line time bound: RFC 3339, or a bare date `YYYY-MM-DD`
/// (midnight UTC). Used for `--from`/`--to`.
pub fn parse_bound(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let y: i64 = t[..4]
            .parse()
            .map_err(|_| TimeError(format!("bad date {t:?}")))?;
        let m: u32 = t[5..7]
            .parse()
            .map_err(|_| TimeError(format!("bad date {t:?}")))?;
        let d: u32 = t[8..]
            .parse()
            .map_err(|_| TimeError(format!("bad date {t:?}")))?;
        return Parts {
            y,
            mo: m,
            d,
            h: 0,
            mi: 0,
            s: 0,
            micros: 0,
            offset_s: 0,
        }
        .to_micros()
        .map_err(|e| TimeError(format!("{e} in {t:?}")));
    }
    if b.len() >= 10 && b[4] == b'-' {
        return parse_iso(b).map_err(|e| TimeError(format!("{e} in {t:?}")));
    }
    err(format!("{t:?} is neither RFC 3339 nor a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        format_micros(parse_time(s, false).unwrap())
    }

    #[test]
    fn iso_fraction_digits() {
        assert_eq!(
            iso("2019-10-24T00:13:46.3554259Z"),
            "2019-10-24T00:13:46.355425Z"
        );
        assert_eq!(
            iso("2025-10-17T11:50:07.22Z"),
            "2025-10-17T11:50:07.220000Z"
        );
        assert_eq!(
            iso("2018-06-07T21:30:42.976919Z"),
            "2018-06-07T21:30:42.976919Z"
        );
        assert_eq!(iso("2025-11-30T01:47:13Z"), "2025-11-30T01:47:13.000000Z");
        assert_eq!(
            iso("2022-02-09T03:04:26.49265Z"),
            "2022-02-09T03:04:26.492650Z"
        );
        assert_eq!(
            iso("2007-01-09T09:41:00.535404056Z"),
            "2007-01-09T09:41:00.535404Z"
        );
        assert_eq!(iso("2007-01-09T09:41:00.5Z"), "2007-01-09T09:41:00.500000Z");
    }

    #[test]
    fn iso_offsets_and_no_zone() {
        assert_eq!(
            iso("2019-08-14T17:53:46.290436+00:00"),
            "2019-08-14T17:53:46.290436Z"
        );
        assert_eq!(
            iso("2019-08-14T17:53:46+02:00"),
            "2019-08-14T15:53:46.000000Z"
        );
        assert_eq!(
            iso("2019-08-14T17:53:46-0130"),
            "2019-08-14T19:23:46.000000Z"
        );
        assert_eq!(iso("2007-01-09T09:41:00"), "2007-01-09T09:41:00.000000Z");
        assert_eq!(iso("2007-01-09 09:41:00"), "2007-01-09T09:41:00.000000Z");
    }

    #[test]
    fn us_and_log_analytics_forms() {
        assert_eq!(
            iso("5/25/2023, 4:32:49.469 AM"),
            "2023-05-25T04:32:49.469000Z"
        );
        assert_eq!(
            iso("5/25/2023, 4:32:49.469 PM"),
            "2023-05-25T16:32:49.469000Z"
        );
        assert_eq!(iso("1/9/2007 9:41:00 AM"), "2007-01-09T09:41:00.000000Z");
        assert_eq!(iso("1/9/2007 12:41:00 AM"), "2007-01-09T00:41:00.000000Z");
        assert_eq!(iso("1/9/2007 12:41:00 PM"), "2007-01-09T12:41:00.000000Z");
        assert_eq!(iso("01/09/2007 09:41:00"), "2007-01-09T09:41:00.000000Z");
        assert_eq!(
            iso("1/9/2007 10:41:00 AM +01:00"),
            "2007-01-09T09:41:00.000000Z"
        );
        assert_eq!(iso("2024/03/06 10:38:38"), "2024-03-06T10:38:38.000000Z");
    }

    #[test]
    fn day_first() {
        let t = parse_time("06-03-2024 10:38:38", true).unwrap();
        assert_eq!(format_micros(t), "2024-03-06T10:38:38.000000Z");
        let t = parse_time("06-03-2024 10:38:38", false).unwrap();
        assert_eq!(format_micros(t), "2024-06-03T10:38:38.000000Z");
        // A dotted date is always day first.
        let t = parse_time("06.03.2024 10:38:38", false).unwrap();
        assert_eq!(format_micros(t), "2024-03-06T10:38:38.000000Z");
        let e = parse_time("25/5/2023 4:32:49 AM", false).unwrap_err();
        assert!(e.0.contains("--day-first"), "{e}");
        assert!(parse_time("25/5/2023 4:32:49 AM", true).is_ok());
    }

    #[test]
    fn ms_date() {
        assert_eq!(iso("/Date(1700000000000)/"), "2023-11-14T22:13:20.000000Z");
        assert_eq!(
            iso("\\/Date(1700000000000)\\/"),
            "2023-11-14T22:13:20.000000Z"
        );
        assert_eq!(
            iso("/Date(1700000000000+0100)/"),
            "2023-11-14T22:13:20.000000Z"
        );
        assert_eq!(iso("/Date(-1000)/"), "1969-12-31T23:59:59.000000Z");
    }

    #[test]
    fn ticks() {
        // 2018-01-29T20:42:31.3810679Z
        let t = from_ticks(636_528_553_513_810_679);
        assert_eq!(format_micros(t), "2018-01-29T20:42:31.381067Z");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "2024-01-01",
            "2024-01-01T10:00:00Zjunk",
            "13/13/2024 10:00:00",
            "1/9/2007 13:41:00 PM",
            "/Date(abc)/",
        ] {
            assert!(parse_time(bad, false).is_err(), "{bad:?} should fail");
        }
        assert!(parse_time("2024-02-29T00:00:00Z", false).is_ok());
    }

    #[test]
    fn bounds() {
        assert_eq!(
            format_micros(parse_bound("2024-03-01").unwrap()),
            "2024-03-01T00:00:00.000000Z"
        );
        assert_eq!(
            format_micros(parse_bound("2024-03-01T10:00:00+01:00").unwrap()),
            "2024-03-01T09:00:00.000000Z"
        );
        assert!(parse_bound("03/01/2024").is_err());
        assert!(parse_bound("2024-02-30").is_err());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
