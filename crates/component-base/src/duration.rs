//! Go-style durations on the command line (`15s`, `1m30s`, `500ms`), as
//! upstream's flags take them.

use std::time::Duration;

/// Parses a Go duration string; for clap's `value_parser`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let trimmed = s.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let signed: jiff::SignedDuration = trimmed.parse().map_err(|e| format!("invalid duration {s:?}: {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("invalid duration {s:?}: must not be negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        assert_eq!(parse("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse("fast").is_err());
        assert!(parse("5x").is_err());
        assert!(parse("").is_err());
        assert!(parse("-1s").is_err());
    }
}
