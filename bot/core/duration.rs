//! Durations as people write them in config and replay scripts: `90m`, `2h`, `3d`, `1h30m`, `45s`.
//!
//! Two readings of the same text: a wall-clock [`Duration`] (`3d` = 72 hours; timeouts, windows, look-backs) and a
//! business [`Span`] (`3d` = three working days of a calendar; SLA targets, vendor contracts and chasers).

use chrono::Duration;
use std::fmt;

/// A business duration as written: whole working days plus business time (`1d4h` = one working day and four
/// business hours). A calendar turns it into instants ([`crate::core::calendar::Calendar::due_span`]); on the
/// `24x7` calendar a day is 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub days: i64,
    /// Hours, minutes and seconds; never rolled up into days (`48h` stays 48 business hours).
    pub time: Duration,
}

impl Span {
    /// Business time only, no whole days.
    pub fn time(d: Duration) -> Span {
        Span { days: 0, time: d }
    }

    /// The span read as wall-clock time (a day is 24 hours).
    pub fn wall(self) -> Duration {
        Duration::days(self.days) + self.time
    }
}

impl fmt::Display for Span {
    /// `2d`, `1d 4h`, `48h`, `90m` as `1h 30m`: days only where they were written as days.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.time.num_seconds();
        let (hours, mins) = (secs / 3_600, (secs % 3_600) / 60);
        let mut parts = vec![];
        if self.days > 0 {
            parts.push(format!("{}d", self.days));
        }
        if hours > 0 {
            parts.push(format!("{hours}h"));
        }
        if mins > 0 {
            parts.push(format!("{mins}m"));
        }
        if parts.is_empty() {
            parts.push(if secs > 0 { format!("{secs}s") } else { "0m".to_string() });
        }
        f.write_str(&parts.join(" "))
    }
}

/// Parses a compact duration as wall-clock time. Units: `d` (24 hours), `h`, `m`, `s`; at least one part; no sign.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_span(s).map(Span::wall)
}

/// Parses a compact duration as a business span: `d` counts working days, `h`/`m`/`s` business time.
pub fn parse_span(s: &str) -> Result<Span, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. 30m, 4h, 2d or 1h30m".into());
    }
    let mut days: i64 = 0;
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut seen_unit = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration: expected a number before `{c}` (e.g. 30m, 4h, 2d)"))?;
        num.clear();
        let part = match c {
            'd' => {
                days = days
                    .checked_add(n)
                    .filter(|&d| Duration::try_days(d).is_some())
                    .ok_or_else(|| format!("`{s}` is too long"))?;
                seen_unit = true;
                continue;
            }
            'h' => Duration::try_hours(n),
            'm' => Duration::try_minutes(n),
            's' => Duration::try_seconds(n),
            _ => return Err(format!("`{s}` is not a duration: unknown unit `{c}` (use d, h, m or s)")),
        }
        .ok_or_else(|| format!("`{s}` is too long"))?;
        total += part;
        seen_unit = true;
    }
    if !num.is_empty() || !seen_unit {
        return Err(format!("`{s}` is not a duration: every number needs a unit (d, h, m or s), e.g. 90m"));
    }
    let span = Span { days, time: total };
    if Duration::try_days(days).and_then(|d| d.checked_add(&total)).is_none() {
        return Err(format!("`{s}` is too long"));
    }
    Ok(span)
}

/// Formats a duration compactly for people: `3h 59m`, `2d 4h`, `45s`, `0m`.
pub fn human(d: Duration) -> String {
    let neg = d < Duration::zero();
    let secs = d.num_seconds().abs();
    let (days, hours, mins) = (secs / 86_400, (secs % 86_400) / 3_600, (secs % 3_600) / 60);
    let body = if days > 0 {
        if hours > 0 { format!("{days}d {hours}h") } else { format!("{days}d") }
    } else if hours > 0 {
        if mins > 0 { format!("{hours}h {mins}m") } else { format!("{hours}h") }
    } else if mins > 0 {
        format!("{mins}m")
    } else if secs > 0 {
        format!("{secs}s")
    } else {
        "0m".to_string()
    };
    if neg { format!("-{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("90m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::hours(2));
        assert_eq!(parse_duration("3d").unwrap(), Duration::days(3));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration(" 45s ").unwrap(), Duration::seconds(45));
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        for bad in ["", "5x", "90", "m", "h2", "-3h", "1.5h"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit `x`"));
        assert!(parse_duration("99999999999999d").is_err());
    }

    #[test]
    fn spans_keep_days_apart_from_hours() {
        assert_eq!(parse_span("2d").unwrap(), Span { days: 2, time: Duration::zero() });
        assert_eq!(parse_span("1d4h").unwrap(), Span { days: 1, time: Duration::hours(4) });
        assert_eq!(parse_span("48h").unwrap(), Span::time(Duration::hours(48)));
        assert_eq!(parse_span("1d4h").unwrap().wall(), Duration::hours(28));
        assert_eq!(parse_span("1d4h").unwrap().to_string(), "1d 4h");
        assert_eq!(parse_span("48h").unwrap().to_string(), "48h");
        assert_eq!(parse_span("90m").unwrap().to_string(), "1h 30m");
        assert!(parse_span("99999999999999d").is_err());
        assert!(parse_span("5x").is_err());
    }

    #[test]
    fn human_forms() {
        assert_eq!(human(Duration::minutes(239)), "3h 59m");
        assert_eq!(human(Duration::hours(52)), "2d 4h");
        assert_eq!(human(Duration::hours(4)), "4h");
        assert_eq!(human(Duration::minutes(-30)), "-30m");
        assert_eq!(human(Duration::zero()), "0m");
    }
}
