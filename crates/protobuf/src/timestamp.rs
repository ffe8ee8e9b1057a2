//! The text forms Go gives `metav1.Time` (RFC 3339, seconds), `metav1.MicroTime` (RFC 3339, six
//! fractional digits) and `time.Duration` (`1h2m3.5s`), both ways, without a date-time dependency.

/// Formats Unix seconds (plus nanoseconds) as RFC 3339 in UTC, with `frac_digits` fractional digits
/// (0 for `Time`, 6 for `MicroTime`). `None` outside the years 0000–9999, which Go refuses to marshal.
pub(crate) fn format_rfc3339(seconds: i64, nanos: i64, frac_digits: u32) -> Option<String> {
    // Normalise nanos into [0, 1e9) the way time.Unix does.
    let seconds = seconds.checked_add(nanos.div_euclid(1_000_000_000))?;
    let nanos = nanos.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (h, m, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let mut out = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
    if frac_digits > 0 {
        let scaled = nanos / 10i64.pow(9 - frac_digits);
        out.push_str(&format!(".{scaled:0width$}", width = frac_digits as usize));
    }
    out.push('Z');
    Some(out)
}

/// Parses RFC 3339 (`2024-01-02T03:04:05Z`, `…05.123456+02:00`) into Unix seconds and nanoseconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<(i64, i64)> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac[..digits].parse::<i64>().ok()? * 10i64.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let (h, m) = (digit(h1)? * 10 + digit(h2)?, digit(m1)? * 10 + digit(m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let total = h * 3600 + m * 60;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some((seconds, nanos))
}

/// Formats nanoseconds the way Go's `time.Duration.String` does (`0s`, `1.5µs`, `100ms`, `1h0m0s`).
pub(crate) fn format_duration(nanos: i64) -> String {
    let negative = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_owned(),
            1..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (frac, int) = fraction(u, prec);
        out = format!("{int}{frac}{unit}");
    } else {
        let (frac, whole_seconds) = fraction(u, 9);
        u = whole_seconds;
        let s = u % 60;
        u /= 60;
        if u > 0 {
            let m = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{s}{frac}s"));
    }
    if negative { format!("-{out}") } else { out }
}

/// Splits `v` into its `prec` least significant decimal digits, printed as a fraction without
/// trailing zeros (`.5`, or nothing when they are all zero), and the remaining integer part.
fn fraction(v: u64, prec: u32) -> (String, u64) {
    let scale = 10u64.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return (String::new(), int);
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), int)
}

/// Parses a Go duration string (`300ms`, `-1.5h`, `2h45m`, `0`) into nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let nanos = total.round() as i64;
    Some(if negative { -nanos } else { nanos })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_like_go() {
        assert_eq!(format_rfc3339(1_704_164_645, 0, 0).unwrap(), "2024-01-02T03:04:05Z");
        assert_eq!(format_rfc3339(1_704_164_645, 123_456_789, 6).unwrap(), "2024-01-02T03:04:05.123456Z");
        assert_eq!(format_rfc3339(0, 0, 6).unwrap(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_rfc3339(-1, 0, 0).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(951_782_400, 0, 0).unwrap(), "2000-02-29T00:00:00Z");
        assert!(format_rfc3339(i64::MAX, 0, 0).is_none(), "year past 9999 cannot be marshalled");
    }

    #[test]
    fn times_parse_with_fractions_and_offsets() {
        assert_eq!(parse_rfc3339("2024-01-02T03:04:05Z"), Some((1_704_164_645, 0)));
        assert_eq!(parse_rfc3339("2024-01-02T03:04:05.5Z"), Some((1_704_164_645, 500_000_000)));
        assert_eq!(parse_rfc3339("2024-01-02T05:04:05+02:00"), Some((1_704_164_645, 0)));
        for bad in ["", "2024-01-02", "2024-13-02T03:04:05Z", "2023-02-29T00:00:00Z", "2024-01-02T03:04:05", "x"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?} is not RFC 3339");
        }
    }

    #[test]
    fn durations_format_and_parse_like_go() {
        for (nanos, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (100_000_000, "100ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (-5_000_000_000, "-5s"),
        ] {
            assert_eq!(format_duration(nanos), text);
            assert_eq!(parse_duration(text), Some(nanos), "{text} should parse back");
        }
        assert_eq!(parse_duration("2h45m"), Some(9_900_000_000_000));
        for bad in ["", "5", "1x", "-", "h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?} is not a duration");
        }
    }
}
