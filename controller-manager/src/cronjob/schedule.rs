//! Cron schedules as upstream's CronJob accepts them (robfig/cron's
//! standard parser): five fields (minute, hour, day of month, month, day of
//! week) with `*`, `?`, lists, ranges, steps and month / weekday names, plus
//! the `@yearly` / `@annually` / `@monthly` / `@weekly` / `@daily` /
//! `@midnight` / `@hourly` macros. Next times are computed on the civil
//! clock of a time zone.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Why a schedule did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// A parsed schedule: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Either day field was `*`/`?`: both must match (else either may).
    day_star: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, ParseError> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + offset);
    }
    s.parse()
        .map_err(|_| ParseError(format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")))
}

/// One field: `(bits, was_star)`.
fn field(spec: &str, min: u32, max: u32, names: &[&str], offset: u32) -> Result<(u64, bool), ParseError> {
    let mut bits = 0u64;
    let mut star = false;
    for item in spec.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                (r, Some(s.parse::<u32>().map_err(|_| ParseError(format!("failed to parse int from {s}")))?))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            star = step.is_none();
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, offset)?, value(b, names, offset)?)
        } else {
            let v = value(range, names, offset)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(ParseError(format!("end of range ({hi}) above maximum ({max}): {item}")));
        }
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(ParseError(format!("step of range should be a positive number: {item}")));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a standard five-field spec or a macro.
    pub fn parse(spec: &str) -> Result<Self, ParseError> {
        let spec = spec.trim();
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(ParseError(format!("unrecognized descriptor: {s}"))),
            s => s,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ParseError(format!("expected exactly 5 fields, found {}: {spec}", fields.len())));
        }
        let (minutes, _) = field(fields[0], 0, 59, &[], 0)?;
        let (hours, _) = field(fields[1], 0, 23, &[], 0)?;
        let (days, dom_star) = field(fields[2], 1, 31, &[], 0)?;
        let (months, _) = field(fields[3], 1, 12, &MONTHS, 1)?;
        let (mut weekdays, dow_star) = field(fields[4], 0, 7, &DAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Schedule { minutes, hours, days, months, weekdays, day_star: dom_star || dow_star })
    }

    fn day_matches(&self, d: Date) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.day_star { dom && dow } else { dom || dow }
    }

    /// The first scheduled time strictly after `after`, on `tz`'s clock;
    /// `None` when there is none within five years.
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let local = after.to_zoned(tz.clone()).datetime();
        let mut t: DateTime = local.with().second(0).subsec_nanosecond(0).build().ok()?.checked_add(1.minute()).ok()?;
        let limit = t.year() + 5;
        while t.year() <= limit {
            if self.months & (1 << t.month()) == 0 {
                let first = Date::new(t.year(), t.month(), 1).ok()?;
                t = first.checked_add(1.month()).ok()?.to_datetime(Time::midnight());
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().checked_add(1.day()).ok()?.to_datetime(Time::midnight());
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with().minute(0).build().ok()?.checked_add(1.hour()).ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            let at = tz.to_ambiguous_zoned(t).compatible().ok()?.timestamp();
            if at > after {
                return Some(at);
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn steps_ranges_and_lists() {
        let s = Schedule::parse("*/15 9-17 * * mon-fri").unwrap();
        // Saturday 2024-06-01 → Monday 09:00.
        assert_eq!(s.next(ts("2024-06-01T10:07:00Z"), &TimeZone::UTC), Some(ts("2024-06-03T09:00:00Z")));
        assert_eq!(s.next(ts("2024-06-03T09:00:00Z"), &TimeZone::UTC), Some(ts("2024-06-03T09:15:00Z")));
        let s = Schedule::parse("0 0 1,15 * *").unwrap();
        assert_eq!(s.next(ts("2024-02-02T00:00:00Z"), &TimeZone::UTC), Some(ts("2024-02-15T00:00:00Z")));
    }

    #[test]
    fn macros_expand_as_upstream() {
        assert_eq!(Schedule::parse("@hourly").unwrap(), Schedule::parse("0 * * * *").unwrap());
        assert_eq!(Schedule::parse("@weekly").unwrap(), Schedule::parse("0 0 * * 0").unwrap());
        assert_eq!(Schedule::parse("@annually").unwrap(), Schedule::parse("0 0 1 1 *").unwrap());
        let s = Schedule::parse("@daily").unwrap();
        assert_eq!(s.next(ts("2024-06-01T10:07:00Z"), &TimeZone::UTC), Some(ts("2024-06-02T00:00:00Z")));
    }

    #[test]
    fn day_of_month_and_weekday_are_ored_when_both_restricted() {
        // The 13th or any Friday.
        let s = Schedule::parse("0 0 13 * 5").unwrap();
        assert_eq!(s.next(ts("2024-09-01T00:00:00Z"), &TimeZone::UTC), Some(ts("2024-09-06T00:00:00Z")));
        assert_eq!(s.next(ts("2024-09-07T00:00:00Z"), &TimeZone::UTC), Some(ts("2024-09-13T00:00:00Z")));
    }

    #[test]
    fn time_zones_shift_the_schedule() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let s = Schedule::parse("0 9 * * *").unwrap();
        // 09:00 EDT is 13:00 UTC.
        assert_eq!(s.next(ts("2024-06-01T00:00:00Z"), &tz), Some(ts("2024-06-01T13:00:00Z")));
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(Schedule::parse("* * * *").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("@every 5m").is_err());
        assert!(Schedule::parse("*/0 * * * *").is_err());
        assert!(Schedule::parse("0 0 30 feb *").unwrap().next(ts("2024-01-01T00:00:00Z"), &TimeZone::UTC).is_none());
    }
}
