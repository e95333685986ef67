//! Durations as people write them in config and replay scripts: `90m`, `2h`, `3d`, `1h30m`, `45s`.

use chrono::Duration;

/// Parses a compact duration. Units: `d` (days), `h`, `m`, `s`; at least one part; no sign.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. 30m, 4h, 2d or 1h30m".into());
    }
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
            'd' => Duration::try_days(n),
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
    Ok(total)
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
    fn human_forms() {
        assert_eq!(human(Duration::minutes(239)), "3h 59m");
        assert_eq!(human(Duration::hours(52)), "2d 4h");
        assert_eq!(human(Duration::hours(4)), "4h");
        assert_eq!(human(Duration::minutes(-30)), "-30m");
        assert_eq!(human(Duration::zero()), "0m");
    }
}
