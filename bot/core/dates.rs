//! Reading the dates people type when they ask for a joiner or a leaver ("Friday", "13 March", "13/03",
//! "tomorrow 17:30", "end of day Friday", "Friday at 5", "midnight Friday", "the 14th", "Fri 13th", "end of the
//! month", "the end of next week", "a week on Friday", "immediately") as instants in the office time zone (#33).
//!
//! Pure: the caller passes the time now, the zone, and what "end of the day" means on a given date (the office
//! calendar's closing time). Anything that could mean two things ("03/04", "next Friday" said early in the week,
//! "Friday 12 March" when the 12th is a Thursday, two dates in one answer) is refused with a question to ask
//! instead of a guess: a leaver's access removed on the wrong day is a security incident or a lost day's work.
//!
//! An accepted answer is stored in the walkthrough as its [`canonical`] text ("Fri 13 Mar 2026 17:30 GMT
//! (“end of day Friday”)"), which shows the person how it was read and which [`from_canonical`] reads back.

use super::ticket::Timestamp;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use regex::Regex;
use std::sync::LazyLock;

/// What an answer has to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// A date, optionally with a time (the end of that working day when none is given), or "immediately".
    DateTime,
    /// A day (a joiner's first day); any time given is ignored, and "immediately" is not a day.
    Date,
}

/// How an answer was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// "immediately", "now", "straight away".
    Now,
    /// A moment already past ("yesterday", "9 March" said on the 11th): access ends at once, and the moment said is
    /// kept so the title and the record show it instead of "immediately" (#33 probe).
    Passed(Timestamp),
    /// This instant (for [`Wanted::Date`], the start of that local day).
    At(Timestamp),
}

/// A day said on which the office is closed (a weekend, a holiday), and the working day taken instead: the end of
/// the working day before it for an access end, the first working day after it for a first day. The caller says so
/// in the confirmation, so the person can correct it (#33 probe: the day was moved silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub said: NaiveDate,
    pub to: NaiveDate,
}

/// An answer as read, with the day it was moved from, if it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub reading: Reading,
    pub moved: Option<Moved>,
}

/// The words that mean "at once".
static NOW_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(immediate(ly)?|right now|straight ?away|right away|asap|as soon as possible|with immediate effect|now)\b",
    )
    .expect("valid")
});
static END_OF_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(end of (the )?(working |business |their |his |her |the )?day|eod|cob|close of (business|play)|end of business|after work)\b")
        .expect("valid")
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(\d{1,2})[:.](\d{2})\s*(am|pm)?|(\d{1,2})\s*(am|pm)|(noon|midday)|(midnight))\b")
        .expect("valid")
});
/// An hour on its own after a word that introduces a time ("Friday at 5", "by 9 on Monday"); the caller checks
/// that no minutes, "am"/"pm" or ordinal follow it.
static BARE_HOUR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:at|by|before|until|till|from)\s+(\d{1,2})\b").expect("valid"));
/// A day of the month on its own: "the 14th", "on the 3rd".
static ORDINAL_DAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b").expect("valid"));
static MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTHS})\b\.?(?:,?\s+(\d{{4}}))?"))
        .expect("valid")
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?")).expect("valid")
});
static ISO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b").expect("valid"));
/// Days named after a feast ("Good Friday", "Boxing Day"), which would otherwise be read as their weekday or not
/// at all (probe M8: "last day is Good Friday" became this Friday, three weeks early), and a weekday said before or
/// after one ("the Friday before Easter", "the Monday after Christmas"; probe O: read as this Friday). Easter and
/// Christmas alone count only so: "leaving at Easter" names no day.
static FEAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?:the\s+)?(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\s+(before|after)\s+)?(good friday|easter (?:sunday|monday)|christmas (?:eve|day)|xmas (?:eve|day)|boxing day|new year'?s (?:eve|day)|easter|christmas|xmas)\b",
    )
    .expect("valid")
});
static NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?\b").expect("valid"));
static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(next|this|coming|last|past)\s+)?(mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\b")
        .expect("valid")
});
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(today|tonight|this (?:morning|afternoon|evening)|tomorrow|tmrw|yesterday)\b").expect("valid")
});
static WEEKDAYS: &str = r"(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?";
/// The end or the start of a week or a month: "end of the month", "the end of next week", "end of March",
/// "month end", "start of next month", "the beginning of April 2027".
static PERIOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:(?:the\s+)?(end|close|start|beginning)\s+of\s+(?:the\s+)?(?:(this|next|coming)\s+)?(working\s+week|week|month|{MONTHS})\b\.?(?:,?\s+(\d{{4}}))?|(month)[\s-]?end|(eom))\b"
    ))
    .expect("valid")
});
/// A day a week or more on (British): "a week on Friday", "Friday week", "a week today", "a week tomorrow",
/// "in two weeks", "Friday next week", "Thursday this week".
static WEEK_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:a\s+week\s+(?:on\s+|from\s+|this\s+)?(today|tomorrow|tmrw|{WEEKDAYS})|({WEEKDAYS})\s+week|({WEEKDAYS})\s+(?:of\s+)?(this|next)\s+week|in\s+(a|one|two|three|four|[1-4])\s+weeks?(?:'|’)?(?:\s+time)?)\b"
    ))
    .expect("valid")
});
/// A weekday with a day of the month after it: "Friday 5", "Fri 5th" (the caller checks that no time or month
/// follows the number, and that the day is that weekday).
static WEEKDAY_DAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b({WEEKDAYS})\.?,?\s+(\d{{1,2}})(st|nd|rd|th)?\b")).expect("valid"));

/// An example of what is understood, for the question asked again.
/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let (b, c) = (year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

pub fn examples(wanted: Wanted) -> &'static str {
    match wanted {
        Wanted::DateTime => {
            "\"Friday\", \"13 March\", \"13/03 17:30\", \"tomorrow 17:30\", \"end of day Friday\", \"end of the month\" or \
             \"immediately\""
        }
        Wanted::Date => "\"Monday\", \"9 March\" or \"09/03/2026\"",
    }
}

fn month_of(s: &str) -> Option<u32> {
    let s = s.to_ascii_lowercase();
    let names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    names.iter().position(|m| s.starts_with(m)).map(|i| i as u32 + 1)
}

fn weekday_of(s: &str) -> Option<Weekday> {
    let s = s.to_ascii_lowercase();
    Some(match &s[..3.min(s.len())] {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// The local instant of `time` on `day`: a time the clocks skip (spring forward) is moved past the gap, and a time
/// that happens twice (autumn) is the first.
pub fn local(tz: Tz, day: NaiveDate, time: NaiveTime) -> Timestamp {
    let mut naive = day.and_time(time);
    for _ in 0..4 {
        match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => return t.with_timezone(&chrono::Utc),
            chrono::LocalResult::Ambiguous(a, _) => return a.with_timezone(&chrono::Utc),
            chrono::LocalResult::None => naive += Duration::minutes(30),
        }
    }
    tz.from_utc_datetime(&naive).with_timezone(&chrono::Utc)
}

/// A date with no year: the first one with that day and month from two months ago on ("5 January" said in
/// December is next year's; "31/12" said on 5 January is last week, not a year away (#33 probe); "30 September"
/// said in March is this year's).
fn with_year(today: NaiveDate, month: u32, day: u32, year: Option<i32>) -> Result<NaiveDate, String> {
    let bad = || format!("there is no {day}/{month}");
    if let Some(y) = year {
        return NaiveDate::from_ymd_opt(y, month, day).ok_or_else(bad);
    }
    [today.year() - 1, today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .find(|d| *d >= today - Duration::days(61))
        .ok_or_else(bad)
}

fn year_of(s: Option<regex::Match<'_>>) -> Option<i32> {
    let s = s?.as_str();
    let y: i32 = s.parse().ok()?;
    Some(if s.len() == 2 { 2000 + y } else { y })
}

/// A day of the month said on its own ("the 14th"): this month's, unless that was more than a week ago (then next
/// month's, the first month that has that day).
fn with_month(today: NaiveDate, day: u32) -> Result<NaiveDate, String> {
    let bad = || format!("there is no {day}th in the coming months");
    let this = NaiveDate::from_ymd_opt(today.year(), today.month(), day);
    if this.is_none() && (1..=31).contains(&day) {
        // "the 31st" said in April: 31 March (just gone) or 31 May? (#33 probe: it became the end of May unasked.)
        return Err(format!("{} has no {}: please give the month too", today.format("%B"), ordinal(day)));
    }
    if let Some(d) = this.filter(|d| *d >= today - Duration::days(7)) {
        return Ok(d);
    }
    let mut first = today.with_day(1).ok_or_else(bad)?;
    for _ in 0..3 {
        first = (first + Duration::days(32)).with_day(1).ok_or_else(bad)?;
        if let Some(d) = NaiveDate::from_ymd_opt(first.year(), first.month(), day) {
            return Ok(d);
        }
    }
    Err(bad())
}

/// Reads an answer. `Err` is the reason it could not be read, to ask again with (nothing is guessed).
///
/// `end_of_day` gives the end of the working day for a date with no time said: that day's close on the office
/// calendar, or, when the office is closed that day (a weekend, a holiday), the close of the working day before it
/// ("Saturday" for a Monday-to-Friday office is the end of Friday: there is no working time left after it).
pub fn read(
    text: &str,
    now: Timestamp,
    tz: Tz,
    wanted: Wanted,
    end_of_day: &dyn Fn(NaiveDate) -> (NaiveDate, NaiveTime),
) -> Result<Reading, String> {
    read_full(text, now, tz, wanted, end_of_day).map(|r| r.reading)
}

/// [`read`], saying which day was moved when the office is closed on the day said (see [`Moved`]). A day the office
/// is closed is one whose `end_of_day` is another day's. "The end of the week" is that week's last working day,
/// and says nothing of the Sunday it is counted from.
pub fn read_full(
    text: &str,
    now: Timestamp,
    tz: Tz,
    wanted: Wanted,
    end_of_day: &dyn Fn(NaiveDate) -> (NaiveDate, NaiveTime),
) -> Result<Read, String> {
    let today = now.with_timezone(&tz).date_naive();
    // The day came from "the end of the week": its last working day is meant, whichever day that is.
    let mut week_end = false;
    let mut dates: Vec<NaiveDate> = vec![];
    let push = |d: NaiveDate, dates: &mut Vec<NaiveDate>| {
        if !dates.contains(&d) {
            dates.push(d);
        }
    };
    // Spans already read as a date, so "13 March 2026" is not read again as a time or a weekday.
    let mut taken: Vec<(usize, usize)> = vec![];
    let overlaps =
        |taken: &[(usize, usize)], m: &regex::Match<'_>| taken.iter().any(|&(a, b)| m.start() < b && a < m.end());
    for c in ISO.captures_iter(text) {
        let (y, m, d) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0), c[3].parse().unwrap_or(0));
        let date = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("there is no {}", &c[0]))?;
        push(date, &mut dates);
        taken.push((c.get(0).unwrap().start(), c.get(0).unwrap().end()));
    }
    for c in FEAST.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let name = c[3].to_ascii_lowercase();
        let weekday = c.get(1).and_then(|m| weekday_of(m.as_str()));
        if weekday.is_none() && ["easter", "christmas", "xmas"].contains(&name.as_str()) {
            continue;
        }
        let on = |year: i32| -> Option<NaiveDate> {
            let easter = easter_sunday(year)?;
            match name.as_str() {
                "good friday" => Some(easter - Duration::days(2)),
                "easter sunday" | "easter" => Some(easter),
                "easter monday" => Some(easter + Duration::days(1)),
                n if n.ends_with("eve") && !n.starts_with("new") => NaiveDate::from_ymd_opt(year, 12, 24),
                n if n.starts_with("new") && n.ends_with("eve") => NaiveDate::from_ymd_opt(year, 12, 31),
                n if n.starts_with("new") => NaiveDate::from_ymd_opt(year, 1, 1),
                "boxing day" => NaiveDate::from_ymd_opt(year, 12, 26),
                _ => NaiveDate::from_ymd_opt(year, 12, 25),
            }
        };
        // The next one: this year's unless it has passed.
        let Some(d) = on(today.year()).filter(|d| *d >= today).or_else(|| on(today.year() + 1)) else { continue };
        // "the Friday before Easter": the nearest such weekday strictly before (or after) the feast.
        let d = match (weekday, c.get(2).map(|m| m.as_str().to_ascii_lowercase())) {
            (Some(wd), Some(side)) => {
                let step = if side == "before" { -1 } else { 1 };
                let mut x = d + Duration::days(step);
                while x.weekday() != wd {
                    x += Duration::days(step);
                }
                x
            }
            _ => d,
        };
        push(d, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    for c in PERIOD.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let end = c.get(1).is_none_or(|m| ["end", "close"].iter().any(|w| m.as_str().eq_ignore_ascii_case(w)));
        if !end && wanted == Wanted::DateTime {
            // "Access ends at the start of next month": the last working day before it, or the 1st itself?
            return Err(format!(
                "\"{}\" could be the day before it or the day itself: please give the date",
                whole.as_str()
            ));
        }
        let next = c.get(2).is_some_and(|m| m.as_str().eq_ignore_ascii_case("next"));
        let what = c.get(3).map(|m| m.as_str().to_ascii_lowercase());
        let d = match what.as_deref() {
            Some(w) if w.ends_with("week") => {
                let first = monday + Duration::days(if next { 7 } else { 0 });
                week_end = end;
                if end { first + Duration::days(6) } else { first }
            }
            Some(m) if m != "month" => {
                let month = month_of(m).unwrap_or(0);
                if end {
                    month_end(today, month, year_of(c.get(4)))?
                } else {
                    with_year(today, month, 1, year_of(c.get(4)))?
                }
            }
            // "end of the month", "month end", "EOM", "start of next month".
            _ => {
                let first = today.with_day(1).expect("day 1");
                let first = if next { (first + Duration::days(32)).with_day(1).expect("day 1") } else { first };
                if end { month_end(first, first.month(), Some(first.year()))? } else { first }
            }
        };
        push(d, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    for c in WEEK_ON.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let coming = |wd: &str| {
            let wd = weekday_of(wd).unwrap_or(Weekday::Mon);
            today
                + Duration::days(
                    (i64::from(wd.num_days_from_monday()) - i64::from(today.weekday().num_days_from_monday()) + 7) % 7,
                )
        };
        let d = if let Some(base) = c.get(1).or(c.get(2)) {
            let base = base.as_str().to_ascii_lowercase();
            let from = match base.as_str() {
                "today" => today,
                "tomorrow" | "tmrw" => today + Duration::days(1),
                wd => coming(wd),
            };
            from + Duration::days(7)
        } else if let (Some(wd), Some(which)) = (c.get(3), c.get(4)) {
            let wd = weekday_of(wd.as_str()).unwrap_or(Weekday::Mon);
            let week = if which.as_str().eq_ignore_ascii_case("next") { monday + Duration::days(7) } else { monday };
            week + Duration::days(i64::from(wd.num_days_from_monday()))
        } else {
            let n = match c.get(5).map(|m| m.as_str().to_ascii_lowercase()).as_deref() {
                Some("a" | "one" | "1") => 1,
                Some("two" | "2") => 2,
                Some("three" | "3") => 3,
                _ => 4,
            };
            today + Duration::days(7 * n)
        };
        push(d, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    for c in DAY_MONTH.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let d: u32 = c[1].parse().unwrap_or(0);
        let m = month_of(&c[2]).unwrap_or(0);
        push(with_year(today, m, d, year_of(c.get(3)))?, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    for c in MONTH_DAY.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let m = month_of(&c[1]).unwrap_or(0);
        let d: u32 = c[2].parse().unwrap_or(0);
        push(with_year(today, m, d, year_of(c.get(3)))?, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    for c in NUMERIC.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let (a, b): (u32, u32) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
        if a <= 12 && b <= 12 && a != b {
            return Err(format!(
                "\"{}\" could be {} or {}: please write the month as a word",
                whole.as_str(),
                NaiveDate::from_ymd_opt(today.year(), b, a).map(|d| d.format("%-d %B").to_string()).unwrap_or_default(),
                NaiveDate::from_ymd_opt(today.year(), a, b).map(|d| d.format("%-d %B").to_string()).unwrap_or_default(),
            ));
        }
        // Day first, as the office writes it; a first number over 12 can only be the day, a second over 12
        // only the day of a month-first date.
        let (d, m) = if b > 12 { (b, a) } else { (a, b) };
        push(with_year(today, m, d, year_of(c.get(3)))?, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    for c in ORDINAL_DAY.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        push(with_month(today, c[1].parse().unwrap_or(0))?, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    // "Friday 5", "Fri 5th": the 5th, which must be a Friday (#33 probe: the 5 was dropped and this Friday read).
    for c in WEEKDAY_DAY.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let day = c.get(2).expect("group");
        if overlaps(&taken, &whole) {
            continue;
        }
        // A time ("Friday 5pm", "Fri 5.30", "Friday 5 o'clock") or a numeric date ("Friday 5/3") is read as such.
        let after = text[day.end()..].trim_start().to_ascii_lowercase();
        let more = after.starts_with([':', '/'])
            || ((after.starts_with('.') || after.starts_with('-'))
                && after[1..].starts_with(|ch: char| ch.is_ascii_digit()))
            || ["am", "pm", "a.m", "p.m", "o'clock", "o’clock", "h", "hrs", "hours"]
                .iter()
                .any(|w| after.starts_with(w) && !after[w.len()..].starts_with(|ch: char| ch.is_alphabetic()));
        let n: u32 = day.as_str().parse().unwrap_or(0);
        if more || !(1..=31).contains(&n) {
            continue;
        }
        let wd = weekday_of(&c[1]).unwrap_or(Weekday::Mon);
        let d = with_month(today, n)?;
        if d.weekday() != wd {
            return Err(format!(
                "{} is a {}, not a {} (for a time, write it like {} 17:00): which did you mean?",
                d.format("%-d %B"),
                d.format("%A"),
                weekday_name(wd),
                weekday_name(wd)
            ));
        }
        push(d, &mut dates);
        taken.push((whole.start(), whole.end()));
    }
    let explicit = dates.clone();
    for c in RELATIVE.captures_iter(text) {
        if overlaps(&taken, &c.get(0).expect("match")) {
            continue;
        }
        let w = c[1].to_ascii_lowercase();
        let d = if w.starts_with("tom") || w == "tmrw" {
            today + Duration::days(1)
        } else if w == "yesterday" {
            today - Duration::days(1)
        } else {
            today
        };
        push(d, &mut dates);
    }
    let mut weekday_dates = vec![];
    for c in WEEKDAY.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        let Some(wd) = weekday_of(&c[2]) else { continue };
        let ahead = (i64::from(wd.num_days_from_monday()) - i64::from(today.weekday().num_days_from_monday()) + 7) % 7;
        let next = c.get(1).is_some_and(|m| m.as_str().eq_ignore_ascii_case("next"));
        // "last Friday" is the one before today (#33 probe: it was read as the coming Friday, so someone who had
        // already gone kept their access four more days); a past moment is kept and marked passed.
        let last = c.get(1).is_some_and(|m| ["last", "past"].iter().any(|w| m.as_str().eq_ignore_ascii_case(w)));
        let d = if last {
            today - Duration::days(if ahead == 0 { 7 } else { 7 - ahead })
        } else if next {
            let coming = today + Duration::days(if ahead == 0 { 7 } else { ahead });
            let week_end = today + Duration::days(6 - i64::from(today.weekday().num_days_from_monday()));
            if coming <= week_end {
                return Err(format!(
                    "\"{}\" could be {} or {}: please give the date",
                    whole.as_str(),
                    coming.format("%a %-d %b"),
                    (coming + Duration::days(7)).format("%a %-d %b")
                ));
            }
            coming
        } else if ahead == 0 && wanted == Wanted::Date && c.get(1).is_none() && explicit.is_empty() {
            // A first day "Monday" said on a Monday: nobody asks IT to set up someone who arrived this morning, and
            // next Monday is a guess (#33 probe: it was read as today, P2 and due at once).
            return Err(format!(
                "\"{}\" could be today or {}: please give the date",
                whole.as_str(),
                (today + Duration::days(7)).format("%a %-d %b")
            ));
        } else {
            today + Duration::days(ahead)
        };
        weekday_dates.push((wd, d, whole.as_str().to_string()));
    }
    // A weekday next to a date is a check of that date ("Friday 13 March"), not another day.
    for (wd, d, said) in weekday_dates {
        if explicit.is_empty() {
            push(d, &mut dates);
        } else if !explicit.iter().any(|e| e.weekday() == wd) {
            return Err(format!(
                "{} is a {}, not a {said}: which did you mean?",
                explicit[0].format("%-d %B"),
                explicit[0].format("%A")
            ));
        }
    }
    if dates.len() > 1 {
        let list: Vec<String> = dates.iter().map(|d| d.format("%a %-d %b").to_string()).collect();
        return Err(format!("I read more than one day ({}): please give just one", list.join(", ")));
    }
    let mut time: Option<NaiveTime> = None;
    let mut times_at: Vec<(usize, usize)> = vec![];
    for c in TIME.captures_iter(text) {
        let whole = c.get(0).expect("match");
        if overlaps(&taken, &whole) {
            continue;
        }
        times_at.push((whole.start(), whole.end()));
        let t = if c.get(6).is_some() {
            NaiveTime::from_hms_opt(12, 0, 0)
        } else if c.get(7).is_some() {
            // "midnight Friday" is the end of Friday, shown as its last minute so the day stays the one said.
            NaiveTime::from_hms_opt(23, 59, 0)
        } else {
            let (h, m, ampm) = match c.get(1) {
                Some(h) => (h.as_str().parse::<u32>().unwrap_or(99), c[2].parse::<u32>().unwrap_or(99), c.get(3)),
                None => (c[4].parse::<u32>().unwrap_or(99), 0, c.get(5)),
            };
            // "13.03" alone is 13 March to many people and 13:03 to others: asked again, never guessed (#33 probe).
            if whole.as_str().contains('.')
                && ampm.is_none()
                && dates.is_empty()
                && (1..=31).contains(&h)
                && (1..=12).contains(&m)
            {
                return Err(format!(
                    "\"{}\" could be a date or a time: please write the date like 13 March, or the time like 13:05",
                    whole.as_str()
                ));
            }
            let h = match ampm.map(|a| a.as_str().to_ascii_lowercase()) {
                Some(_) if h == 0 || h > 12 => return Err(format!("\"{}\" is not a time", whole.as_str())),
                Some(a) if a == "pm" && h < 12 => h + 12,
                Some(a) if a == "am" && h == 12 => 0,
                _ => h,
            };
            NaiveTime::from_hms_opt(h, m, 0)
        };
        let Some(t) = t else { return Err(format!("\"{}\" is not a time", whole.as_str())) };
        if time.is_some_and(|x| x != t) {
            return Err("I read more than one time: please give just one".to_string());
        }
        time = Some(t);
    }
    // "Friday at 5", "by 9 on Monday": an hour with nothing after it, read as office hours (1 to 6 are the
    // afternoon, 8 to 12 the morning); 7 could be either and is asked.
    for c in BARE_HOUR.captures_iter(text) {
        let hour = c.get(1).expect("group");
        if overlaps(&taken, &hour) || overlaps(&times_at, &hour) {
            continue;
        }
        let after = text[hour.end()..].trim_start().to_ascii_lowercase();
        let more = after.starts_with(':')
            || after.starts_with('/')
            || (after.starts_with('.') && after[1..].starts_with(|ch: char| ch.is_ascii_digit()))
            || ["am", "pm", "a.m", "p.m", "o'clock", "o’clock", "st", "nd", "rd", "th", "h"]
                .iter()
                .any(|w| after.starts_with(w) && !after[w.len()..].starts_with(|ch: char| ch.is_alphabetic()));
        let oclock = after.starts_with("o'clock") || after.starts_with("o’clock");
        if more && !oclock {
            continue;
        }
        let h: u32 = hour.as_str().parse().unwrap_or(99);
        let h = match h {
            1..=6 => h + 12,
            8..=23 => h,
            7 => {
                return Err(format!(
                    "\"{}\" could be 07:00 or 19:00: please write it like 19:00",
                    c.get(0).expect("match").as_str()
                ));
            }
            _ => return Err(format!("\"{}\" is not a time", c.get(0).expect("match").as_str())),
        };
        let t = NaiveTime::from_hms_opt(h, 0, 0).expect("valid hour");
        if time.is_some_and(|x| x != t) {
            return Err("I read more than one time: please give just one".to_string());
        }
        time = Some(t);
    }
    let now_words = NOW_WORDS.is_match(text);
    let eod = END_OF_DAY.is_match(text);
    let date = dates.first().copied();
    if now_words && (date.is_none_or(|d| d == today)) && time.is_none() {
        let reading = match wanted {
            Wanted::DateTime => Reading::Now,
            Wanted::Date => Reading::At(local(tz, today, NaiveTime::MIN)),
        };
        return Ok(Read { reading, moved: None });
    }
    if now_words && wanted == Wanted::DateTime {
        return Err("that reads as both straight away and a later time: which is it?".to_string());
    }
    // "he left today", "today was her last day": gone already, so access ends now, not at the end of today (probe
    // M: 17:30, hours after he walked out).
    static ALREADY_GONE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(left|walked out|quit|resigned|finished|departed|has gone|was (his|her|their) last)\b|\btoday was\b")
            .expect("valid")
    });
    if wanted == Wanted::DateTime && time.is_none() && date == Some(today) && ALREADY_GONE.is_match(text) {
        return Ok(Read { reading: Reading::Now, moved: None });
    }
    let Some(date) = date.or_else(|| (time.is_some() || eod).then_some(today)) else {
        return Err("I couldn't read a date in that".to_string());
    };
    let mut moved = None;
    if wanted == Wanted::Date {
        if date < today {
            // A first day already gone (#33 probe: "1 March" said on the 2nd became today, unsaid).
            return Err(format!(
                "{} has passed: if they have already started, say \"today\"; otherwise give their first day",
                date.format("%a %-d %b")
            ));
        }
        // A first day the office is closed: the first working day after it (looking two weeks ahead).
        let open = |d: NaiveDate| end_of_day(d).0 == d;
        let first = (0..=14).map(|k| date + Duration::days(k)).find(|d| open(*d)).unwrap_or(date);
        if first != date {
            moved = Some(Moved { said: date, to: first });
        }
        return Ok(Read { reading: Reading::At(local(tz, first, NaiveTime::MIN)), moved });
    }
    let at = match time {
        Some(t) => local(tz, date, t),
        None => {
            let (day, t) = end_of_day(date);
            if day != date && !week_end {
                moved = Some(Moved { said: date, to: day });
            }
            local(tz, day, t)
        }
    };
    if at <= now {
        if dates.is_empty() && time.is_some() {
            // "17:30" said at 18:00: today's has passed, and tomorrow's is a guess.
            return Err(format!(
                "{} today has already passed: which day?",
                time.map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
            ));
        }
        return Ok(Read { reading: Reading::Passed(at), moved: None });
    }
    Ok(Read { reading: Reading::At(at), moved })
}

/// "1st", "22nd", "31st".
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The last day of `month` in the first year from two months ago on (as [`with_year`]), or of `year`.
fn month_end(today: NaiveDate, month: u32, year: Option<i32>) -> Result<NaiveDate, String> {
    let last = |y: i32| {
        let next =
            if month == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, month + 1, 1) };
        next.map(|n| n - Duration::days(1))
    };
    let bad = || format!("there is no month {month}");
    if let Some(y) = year {
        return last(y).ok_or_else(bad);
    }
    [today.year() - 1, today.year(), today.year() + 1]
        .into_iter()
        .filter_map(last)
        .find(|d| *d >= today - Duration::days(61))
        .ok_or_else(bad)
}

fn weekday_name(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// How a moment already past is stored: "immediately (Mon 9 Mar 2026 17:30 GMT has passed)".
const PASSED_HEAD: &str = "immediately (";
const PASSED_TAIL: &str = " has passed)";

/// Between a stored answer and a note about how it was read ("… — Sat 14 Mar is not a working day: …").
const NOTE_SEPARATOR: &str = " — ";

/// The answer as stored: how it was read, then what the person wrote.
pub fn canonical(r: Reading, tz: Tz, wanted: Wanted, said: &str) -> String {
    canonical_noted(r, tz, wanted, said, None)
}

/// [`canonical`] with a note after it (a day moved because the office is closed), shown wherever the answer is: the
/// confirmation, the approver's message, the technicians' card. [`from_canonical`] reads past it.
pub fn canonical_noted(r: Reading, tz: Tz, wanted: Wanted, said: &str, note: Option<&str>) -> String {
    let base = canonical_bare(r, tz, wanted, said);
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{base}{NOTE_SEPARATOR}{n}"),
        None => base,
    }
}

fn canonical_bare(r: Reading, tz: Tz, wanted: Wanted, said: &str) -> String {
    let said: String = said.trim().chars().take(200).collect();
    let read = match (r, wanted) {
        (Reading::Now, _) => "immediately".to_string(),
        (Reading::Passed(t), _) => {
            format!("{PASSED_HEAD}{}{PASSED_TAIL}", t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z"))
        }
        (Reading::At(t), Wanted::DateTime) => t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string(),
        (Reading::At(t), Wanted::Date) => t.with_timezone(&tz).format("%a %-d %b %Y").to_string(),
    };
    if said.is_empty() || said.eq_ignore_ascii_case(&read) { read } else { format!("{read} (“{said}”)") }
}

/// Reads back a [`canonical`] answer; `None` for anything else (an answer stored before it was read as a date).
pub fn from_canonical(s: &str, tz: Tz, wanted: Wanted) -> Option<Reading> {
    let head = s.split(" (“").next().unwrap_or(s);
    let head = head.split(NOTE_SEPARATOR).next().unwrap_or(head).trim();
    if head == "immediately" {
        return Some(Reading::Now);
    }
    if let Some(past) = head.strip_prefix(PASSED_HEAD).and_then(|h| h.strip_suffix(PASSED_TAIL)) {
        return match from_canonical(past, tz, Wanted::DateTime)? {
            Reading::At(t) => Some(Reading::Passed(t)),
            _ => None,
        };
    }
    let mut parts: Vec<&str> = head.split_whitespace().collect();
    match wanted {
        Wanted::Date => {
            let d = NaiveDate::parse_from_str(&parts.join(" "), "%a %d %b %Y").ok()?;
            Some(Reading::At(local(tz, d, NaiveTime::MIN)))
        }
        Wanted::DateTime => {
            let zone = parts.pop()?;
            let naive = chrono::NaiveDateTime::parse_from_str(&parts.join(" "), "%a %d %b %Y %H:%M").ok()?;
            let at = match tz.from_local_datetime(&naive) {
                chrono::LocalResult::Single(t) => t,
                chrono::LocalResult::Ambiguous(a, b) => {
                    if b.format("%Z").to_string() == zone {
                        b
                    } else {
                        a
                    }
                }
                chrono::LocalResult::None => return Some(Reading::At(local(tz, naive.date(), naive.time()))),
            };
            Some(Reading::At(at.with_timezone(&chrono::Utc)))
        }
    }
}

/// Short, for a ticket title: "Fri 13 Mar", "immediately", or "Mon 9 Mar (passed)".
pub fn short(r: Reading, tz: Tz) -> String {
    match r {
        Reading::Now => "immediately".to_string(),
        Reading::Passed(t) => format!("{} (passed)", t.with_timezone(&tz).format("%a %-d %b")),
        Reading::At(t) => t.with_timezone(&tz).format("%a %-d %b").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    const LONDON: Tz = chrono_tz::Europe::London;

    fn eod(d: NaiveDate) -> (NaiveDate, NaiveTime) {
        (d, NaiveTime::from_hms_opt(17, 30, 0).unwrap())
    }

    /// Wednesday 11 March 2026, 10:00 in London (GMT).
    fn wed() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 11, 10, 0, 0).unwrap()
    }

    fn at(text: &str) -> String {
        at_with(text, &eod)
    }

    fn at_with(text: &str, eod: &dyn Fn(NaiveDate) -> (NaiveDate, NaiveTime)) -> String {
        match read(text, wed(), LONDON, Wanted::DateTime, eod) {
            Ok(Reading::Now) => "now".to_string(),
            Ok(Reading::At(t)) => t.with_timezone(&LONDON).format("%a %Y-%m-%d %H:%M %Z").to_string(),
            Ok(Reading::Passed(t)) => t.with_timezone(&LONDON).format("passed %a %Y-%m-%d %H:%M").to_string(),
            Err(e) => format!("ask: {e}"),
        }
    }

    #[test]
    fn feast_days_are_their_dates_not_their_weekday() {
        // Easter Sunday, checked against published dates.
        for (y, m, d) in [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2038, 4, 25), (2285, 3, 22)] {
            assert_eq!(easter_sunday(y), NaiveDate::from_ymd_opt(y, m, d), "{y}");
        }
        // Wed 11 March 2026: Good Friday is 3 April, not this Friday.
        let eod = |d: NaiveDate| (d, NaiveTime::from_hms_opt(17, 30, 0).unwrap());
        assert_eq!(at_with("last day is Good Friday", &eod), "Fri 2026-04-03 17:30 BST");
        assert_eq!(at_with("Easter Monday", &eod), "Mon 2026-04-06 17:30 BST");
        assert_eq!(at_with("christmas eve", &eod), "Thu 2026-12-24 17:30 GMT");
        assert_eq!(at_with("New Year's Day", &eod), "Fri 2027-01-01 17:30 GMT");
        // A weekday before or after a feast (probe O: "the Friday before Easter" was this Friday, 13 March).
        assert_eq!(at_with("her last day is the Friday before Easter", &eod), "Fri 2026-04-03 17:30 BST");
        assert_eq!(at_with("the thursday before good friday", &eod), "Thu 2026-04-02 17:30 BST");
        assert_eq!(at_with("the Monday after Christmas", &eod), "Mon 2026-12-28 17:30 GMT");
        assert_eq!(at_with("Tuesday after Easter Monday", &eod), "Tue 2026-04-07 17:30 BST");
        // Easter alone names no day.
        assert!(at_with("leaving at Easter", &eod).starts_with("ask"), "{}", at_with("leaving at Easter", &eod));
    }

    #[test]
    fn gone_today_is_now() {
        for said in ["he left today", "today was her last day", "she walked out today"] {
            assert_eq!(at(said), "now", "{said}");
        }
        assert_eq!(at("today"), "Wed 2026-03-11 17:30 GMT");
        assert_eq!(at("she is leaving today"), "Wed 2026-03-11 17:30 GMT");
    }

    #[test]
    fn reads_the_ways_people_write_a_last_day() {
        assert_eq!(at("Friday"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("on friday"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("end of day Friday"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("Fri 5pm"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("13 March"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("13th of March 2026 at 12:00"), "Fri 2026-03-13 12:00 GMT");
        assert_eq!(at("March 13"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("13/03"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("13/03/2026 16:00"), "Fri 2026-03-13 16:00 GMT");
        assert_eq!(at("2026-03-13"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("tomorrow 17:30"), "Thu 2026-03-12 17:30 GMT");
        assert_eq!(at("tomorrow at noon"), "Thu 2026-03-12 12:00 GMT");
        assert_eq!(at("Friday 13 March"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("end of the day"), "Wed 2026-03-11 17:30 GMT");
        // "Wednesday" said on a Wednesday is today.
        assert_eq!(at("wednesday"), "Wed 2026-03-11 17:30 GMT");
        assert_eq!(at("next Tuesday"), "Tue 2026-03-17 17:30 GMT");
        // A date early in the year said late in it is next year's.
        assert_eq!(at("5 January"), "Tue 2027-01-05 17:30 GMT");
    }

    #[test]
    fn a_dotted_number_that_could_be_a_day_is_asked_again() {
        for s in ["13.03", "9.05"] {
            assert!(at(s).starts_with("ask: "), "{s}: {}", at(s));
        }
        // With a day given, or minutes that are no month, it is the time.
        assert_eq!(at("Friday 16.30"), "Fri 2026-03-13 16:30 GMT");
        assert_eq!(at("16.30"), "Wed 2026-03-11 16:30 GMT");
    }

    #[test]
    fn a_date_without_a_year_is_the_nearest_one() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
        assert_eq!(with_year(today, 12, 31, None), Ok(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert_eq!(with_year(today, 1, 4, None), Ok(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()));
        assert_eq!(with_year(today, 6, 30, None), Ok(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()));
        let march = NaiveDate::from_ymd_opt(2026, 3, 11).unwrap();
        assert_eq!(with_year(march, 9, 30, None), Ok(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()));
        let dec = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
        assert_eq!(with_year(dec, 1, 5, None), Ok(NaiveDate::from_ymd_opt(2027, 1, 5).unwrap()));
        assert!(with_year(dec, 2, 29, None).is_err(), "no 29 February near 2026");
    }

    #[test]
    fn immediately_means_now_and_a_past_moment_is_kept_as_passed() {
        for s in ["immediately", "now", "Straight away", "right away please", "asap", "immediately - dismissed"] {
            assert_eq!(at(s), "now", "{s}");
        }
        // #33 probe: a past moment is not "immediately" in the title; the moment said is kept, marked passed.
        assert_eq!(at("yesterday"), "passed Tue 2026-03-10 17:30");
        assert_eq!(at("today 09:00"), "passed Wed 2026-03-11 09:00");
        assert_eq!(at("9 March"), "passed Mon 2026-03-09 17:30", "two days ago");
        // Today is Wed 11 March: last Friday is the 6th, last Wednesday a week ago, last Monday the 9th.
        assert_eq!(at("last Friday"), "passed Fri 2026-03-06 17:30");
        assert_eq!(at("last wednesday"), "passed Wed 2026-03-04 17:30");
        assert_eq!(at("his last day was last Monday"), "passed Mon 2026-03-09 17:30");
        let r = read("9 March", wed(), LONDON, Wanted::DateTime, &eod).unwrap();
        let c = canonical(r, LONDON, Wanted::DateTime, "9 March");
        assert_eq!(c, "immediately (Mon 9 Mar 2026 17:30 GMT has passed) (“9 March”)");
        assert_eq!(from_canonical(&c, LONDON, Wanted::DateTime), Some(r));
        assert_eq!(short(r, LONDON), "Mon 9 Mar (passed)");
        assert_eq!(from_canonical("immediately (“now”)", LONDON, Wanted::DateTime), Some(Reading::Now));
    }

    #[test]
    fn times_said_in_words_or_as_a_bare_hour_are_kept() {
        // #33 probe: these lost their time (Wednesday 11 March 2026, 10:00).
        assert_eq!(at("midnight Friday"), "Fri 2026-03-13 23:59 GMT");
        assert_eq!(at("Friday at midnight"), "Fri 2026-03-13 23:59 GMT");
        assert_eq!(at("Friday at 5"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("by 5pm on Friday"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("by 5 on Friday"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("Monday at 9"), "Mon 2026-03-16 09:00 GMT");
        assert_eq!(at("tomorrow at 12"), "Thu 2026-03-12 12:00 GMT");
        assert_eq!(at("Friday at 5 o'clock"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("at 3 on 13 March"), "Fri 2026-03-13 15:00 GMT");
        // The hour is not taken from a date or a time written in full.
        assert_eq!(at("by 13 March"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("Friday at 16:15"), "Fri 2026-03-13 16:15 GMT");
        // A day of the month alone: this month's, or next month's when it was more than a week ago.
        assert_eq!(at("the 14th"), "Sat 2026-03-14 17:30 GMT");
        assert_eq!(at("on the 2nd at 4"), "Thu 2026-04-02 16:00 BST");
        assert_eq!(at("the 6th"), "passed Fri 2026-03-06 17:30", "five days ago: this month's, passed");
        // 7 could be the morning or the evening; two different times are asked again.
        assert!(at("Friday at 7").starts_with("ask: "), "{}", at("Friday at 7"));
        assert!(at("Friday at 5, or 17:30").starts_with("ask: "), "{}", at("Friday at 5, or 17:30"));
    }

    #[test]
    fn a_day_the_office_is_closed_ends_with_the_working_day_before() {
        // A Monday-to-Friday office closing 17:30, 16:00 on Fridays: "Saturday" is the end of Friday's working day.
        let office = |d: NaiveDate| match d.weekday() {
            Weekday::Sat => (d - Duration::days(1), NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            Weekday::Sun => (d - Duration::days(2), NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            Weekday::Fri => (d, NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            _ => (d, NaiveTime::from_hms_opt(17, 30, 0).unwrap()),
        };
        assert_eq!(at_with("Saturday", &office), "Fri 2026-03-13 16:00 GMT");
        assert_eq!(at_with("15 March", &office), "Fri 2026-03-13 16:00 GMT");
        // A time said is kept, whatever the calendar.
        assert_eq!(at_with("Saturday 12:00", &office), "Sat 2026-03-14 12:00 GMT");
    }

    #[test]
    fn ends_of_weeks_and_months_and_a_week_on_are_read() {
        // #33 probe: these could not be read. Today is Wednesday 11 March 2026.
        assert_eq!(at("end of the month"), "Tue 2026-03-31 17:30 BST");
        assert_eq!(at("by the end of this month"), "Tue 2026-03-31 17:30 BST");
        assert_eq!(at("month end"), "Tue 2026-03-31 17:30 BST");
        assert_eq!(at("end of March"), "Tue 2026-03-31 17:30 BST");
        assert_eq!(at("the end of April"), "Thu 2026-04-30 17:30 BST");
        assert_eq!(at("end of next month"), "Thu 2026-04-30 17:30 BST");
        assert_eq!(at("end of February"), "passed Sat 2026-02-28 17:30");
        assert_eq!(at("end of the month at 12:00"), "Tue 2026-03-31 12:00 BST");
        // The end of a week is its last day; the office calendar makes that its last working day (see below).
        assert_eq!(at("the end of next week"), "Sun 2026-03-22 17:30 GMT");
        assert_eq!(at("end of the week"), "Sun 2026-03-15 17:30 GMT");
        // A week on (British): the day named, a week later.
        assert_eq!(at("a week on Friday"), "Fri 2026-03-20 17:30 GMT");
        assert_eq!(at("Friday week"), "Fri 2026-03-20 17:30 GMT");
        assert_eq!(at("a week today"), "Wed 2026-03-18 17:30 GMT");
        assert_eq!(at("a week tomorrow at 9"), "Thu 2026-03-19 09:00 GMT");
        assert_eq!(at("Friday next week"), "Fri 2026-03-20 17:30 GMT");
        assert_eq!(at("Thursday this week"), "Thu 2026-03-12 17:30 GMT");
        assert_eq!(at("in two weeks"), "Wed 2026-03-25 17:30 GMT");
        // "The start of next month" could be the day before it or the 1st: asked. As a first day it is the 1st.
        assert!(at("start of next month").starts_with("ask: "), "{}", at("start of next month"));
        let day = |s: &str| match read(s, wed(), LONDON, Wanted::Date, &eod) {
            Ok(Reading::At(t)) => t.with_timezone(&LONDON).format("%a %Y-%m-%d").to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(day("the start of next month"), "Wed 2026-04-01");
        assert_eq!(day("beginning of next week"), "Mon 2026-03-16");
        assert_eq!(day("a week on Monday"), "Mon 2026-03-23");
    }

    #[test]
    fn a_weekday_with_a_day_number_must_agree() {
        // #33 probe: "Friday 5" was read as this Friday, the 5 dropped. The 5th is a Thursday: asked again.
        for s in ["Friday 5", "Fri 5th", "friday, 5th"] {
            let got = at(s);
            assert!(got.starts_with("ask: 5 March is a Thursday, not a Friday"), "{s}: {got}");
        }
        assert_eq!(at("Friday 13"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("Fri 13th at 4"), "Fri 2026-03-13 16:00 GMT");
        assert_eq!(at("Thu 5th"), "passed Thu 2026-03-05 17:30", "six days ago: this month's, passed");
        assert_eq!(at("Fri 3rd"), "Fri 2026-04-03 17:30 BST", "more than a week ago: next month's, a Friday");
        // A time or a date after the weekday is still one.
        assert_eq!(at("Friday 5pm"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("Friday 5 pm"), "Fri 2026-03-13 17:00 GMT");
        assert_eq!(at("Friday 5.30pm"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("Friday 13 March"), "Fri 2026-03-13 17:30 GMT");
        assert_eq!(at("Fri 13/03"), "Fri 2026-03-13 17:30 GMT");
    }

    #[test]
    fn a_day_the_office_is_closed_is_moved_and_says_so() {
        let office = |d: NaiveDate| match d.weekday() {
            Weekday::Sat => (d - Duration::days(1), NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            Weekday::Sun => (d - Duration::days(2), NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            Weekday::Fri => (d, NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            _ => (d, NaiveTime::from_hms_opt(17, 30, 0).unwrap()),
        };
        let full = |s: &str, wanted| read_full(s, wed(), LONDON, wanted, &office).unwrap();
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // An access end on a Saturday is the end of Friday, and says it was moved.
        let r = full("Saturday", Wanted::DateTime);
        assert_eq!(r.reading, Reading::At(Utc.with_ymd_and_hms(2026, 3, 13, 16, 0, 0).unwrap()));
        assert_eq!(r.moved, Some(Moved { said: ymd(2026, 3, 14), to: ymd(2026, 3, 13) }));
        // The end of May is a Sunday: moved to Friday 29th, said.
        let r = full("end of May", Wanted::DateTime);
        assert_eq!(r.reading, Reading::At(Utc.with_ymd_and_hms(2026, 5, 29, 15, 0, 0).unwrap()));
        assert_eq!(r.moved, Some(Moved { said: ymd(2026, 5, 31), to: ymd(2026, 5, 29) }));
        // The end of next week is its last working day, Friday, with nothing to say.
        let r = full("the end of next week", Wanted::DateTime);
        assert_eq!(r.reading, Reading::At(Utc.with_ymd_and_hms(2026, 3, 20, 16, 0, 0).unwrap()));
        assert_eq!(r.moved, None);
        // A working day, or a time said on a closed day, is not moved.
        assert_eq!(full("Friday", Wanted::DateTime).moved, None);
        assert_eq!(full("Saturday 12:00", Wanted::DateTime).moved, None);
        // A first day on a Saturday is the Monday after it.
        let r = full("Saturday", Wanted::Date);
        assert_eq!(r.reading, Reading::At(Utc.with_ymd_and_hms(2026, 3, 16, 0, 0, 0).unwrap()));
        assert_eq!(r.moved, Some(Moved { said: ymd(2026, 3, 14), to: ymd(2026, 3, 16) }));
        assert_eq!(full("Monday", Wanted::Date).moved, None);
        // The note travels with the stored answer and is read past.
        let note = "Sat 14 Mar is not a working day: access will end at the end of Fri 13 Mar";
        let r = full("Saturday", Wanted::DateTime).reading;
        let c = canonical_noted(r, LONDON, Wanted::DateTime, "Saturday", Some(note));
        assert_eq!(c, format!("Fri 13 Mar 2026 16:00 GMT (“Saturday”) — {note}"));
        assert_eq!(from_canonical(&c, LONDON, Wanted::DateTime), Some(r));
        let c = canonical_noted(r, LONDON, Wanted::DateTime, "Fri 13 Mar 2026 16:00 GMT", Some(note));
        assert_eq!(from_canonical(&c, LONDON, Wanted::DateTime), Some(r), "{c}");
    }

    #[test]
    fn ambiguous_or_unreadable_answers_are_asked_again() {
        for s in [
            "03/04",
            "next Friday",
            "Thursday 13 March",
            "Friday or Monday",
            "13 March, 14 March",
            "soon",
            "when HR says",
            "17:30 or 18:00",
            "now, or Friday",
            "09:00",
            "31/02",
        ] {
            assert!(at(s).starts_with("ask: "), "{s} -> {}", at(s));
        }
        assert!(at("03/04").contains("3 April or 4 March"), "{}", at("03/04"));
        assert!(at("next Friday").contains("Fri 13 Mar or Fri 20 Mar"), "{}", at("next Friday"));
    }

    #[test]
    fn the_week_the_clocks_change_keeps_local_time() {
        // Thursday 26 March 2026; the UK goes to BST on Sunday 29 March at 01:00.
        let thu = Utc.with_ymd_and_hms(2026, 3, 26, 10, 0, 0).unwrap();
        let read = |s: &str| read(s, thu, LONDON, Wanted::DateTime, &eod).unwrap();
        assert_eq!(read("Monday 09:00"), Reading::At(Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, 0).unwrap()));
        assert_eq!(read("Friday"), Reading::At(Utc.with_ymd_and_hms(2026, 3, 27, 17, 30, 0).unwrap()));
        // 01:30 on the Sunday does not exist: the first instant after the gap.
        assert_eq!(read("29 March 01:30"), Reading::At(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()));
        // The canonical text reads back to the same instant, on both sides of the change.
        for s in ["Monday 09:00", "Friday", "29 March 01:30"] {
            let r = read(s);
            let c = canonical(r, LONDON, Wanted::DateTime, s);
            assert_eq!(from_canonical(&c, LONDON, Wanted::DateTime), Some(r), "{c}");
        }
        assert_eq!(
            canonical(read("Monday 09:00"), LONDON, Wanted::DateTime, "Monday 09:00"),
            "Mon 30 Mar 2026 09:00 BST (“Monday 09:00”)"
        );
        // October: 01:30 on Sunday 25th happens twice; BST (the first) unless the text says GMT.
        let twice = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let first = local(LONDON, twice, NaiveTime::from_hms_opt(1, 30, 0).unwrap());
        assert_eq!(first, Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
        let second = from_canonical("Sun 25 Oct 2026 01:30 GMT", LONDON, Wanted::DateTime);
        assert_eq!(second, Some(Reading::At(Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap())));
    }

    #[test]
    fn a_day_of_the_month_this_month_lacks_is_asked() {
        // "the 31st" said on 2 April: 31 March (gone) or 31 May? Asked, for both kinds of date.
        let april = Utc.with_ymd_and_hms(2026, 4, 2, 10, 0, 0).unwrap();
        for wanted in [Wanted::DateTime, Wanted::Date] {
            let e = read("the 31st", april, LONDON, wanted, &eod).unwrap_err();
            assert_eq!(e, "April has no 31st: please give the month too");
        }
        assert!(read("Fri 31st", april, LONDON, Wanted::DateTime, &eod).is_err());
        // The 30th is in April: read as such.
        assert_eq!(
            read("the 30th", april, LONDON, Wanted::Date, &eod),
            Ok(Reading::At(Utc.with_ymd_and_hms(2026, 4, 29, 23, 0, 0).unwrap()))
        );
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(23), "23rd");
    }

    #[test]
    fn a_first_day_is_a_day() {
        let day = |s: &str| match read(s, wed(), LONDON, Wanted::Date, &eod) {
            Ok(Reading::At(t)) => t.with_timezone(&LONDON).format("%a %Y-%m-%d %H:%M").to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(day("Monday"), "Mon 2026-03-16 00:00");
        // Wednesday 11 March: a first day gone is asked (#33 probe: "1 March" said on the 2nd became today).
        assert!(day("9 March").contains("Mon 9 Mar has passed"), "{}", day("9 March"));
        assert!(day("today").contains("2026-03-11"), "{}", day("today"));
        // A first day "Wednesday" said on a Wednesday could be today or next week: asked. An access end keeps today.
        assert!(day("Wednesday").contains("could be today or Wed 18 Mar"), "{}", day("Wednesday"));
        assert!(day("next Wednesday").contains("2026-03-18"), "{}", day("next Wednesday"));
        assert!(at("Wednesday").starts_with("Wed 2026-03-11 17:30"), "{}", at("Wednesday"));
        assert_eq!(day("Monday 9am"), "Mon 2026-03-16 00:00");
        let r = read("Monday", wed(), LONDON, Wanted::Date, &eod).unwrap();
        let c = canonical(r, LONDON, Wanted::Date, "Monday");
        assert_eq!(c, "Mon 16 Mar 2026 (“Monday”)");
        assert_eq!(from_canonical(&c, LONDON, Wanted::Date), Some(r));
        assert_eq!(short(r, LONDON), "Mon 16 Mar");
        assert!(from_canonical("next week sometime", LONDON, Wanted::Date).is_none());
    }
}
