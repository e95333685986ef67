//! Business-hours calendars: opening hours per weekday in an IANA time zone, with one-off and yearly holidays.
//!
//! All arithmetic is on absolute instants; each local day's opening ranges are turned into UTC intervals through
//! the zone, so both DST transitions come out right. **Rounding rule:** a start instant is floored to the whole
//! minute before counting (as Zammad does), so due instants are always on a whole minute; elapsed business time
//! floors both ends to the minute. A due instant that lands exactly on the end of an opening range stays there
//! (it is not moved to the next morning).
//!
//! **Working days:** a [`Span`] of `N` days plus time `T` first moves `N` open days on: from a position `e` of
//! business time into an open day, to the same position on the `N`th following open day, clamped to that day's
//! close (a start before or at a day's opening counts as the close of the day before, so `Mon 09:00 + 1d` is
//! `Mon 17:00`); then `T` is added as business time. Where all open days have the same length `L`, that is
//! exactly `N × L` of business time. On `24x7` a day is 24 hours.

use super::duration::Span;
use super::ticket::Timestamp;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A calendar as written under `[calendars.NAME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone, e.g. `Europe/London`.
    pub timezone: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mon: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tue: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thu: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fri: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sat: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sun: Vec<String>,
    /// `YYYY-MM-DD` for one day, `MM-DD` for that day every year.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// A validated calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub name: String,
    tz: Tz,
    /// Opening ranges per weekday (Monday first), minutes from local midnight, sorted, non-overlapping.
    week: [Vec<(u32, u32)>; 7],
    /// One-off holidays, sorted.
    dates: Vec<NaiveDate>,
    /// Yearly holidays: bit `d` of `yearly[m]` is day `d` of month `m`.
    yearly: [u32; 13],
    /// Open every minute of every day: arithmetic is plain addition.
    always: bool,
}

/// Longest search for opening hours before giving up (a calendar with no open day is rejected at load).
const MAX_DAYS: i64 = 3 * 366;

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

impl Calendar {
    /// The built-in `24x7` calendar.
    pub fn always() -> Calendar {
        Calendar {
            name: "24x7".into(),
            tz: chrono_tz::UTC,
            week: std::array::from_fn(|_| vec![(0, 24 * 60)]),
            dates: vec![],
            yearly: [0; 13],
            always: true,
        }
    }

    /// Validates a spec. Errors name the calendar and the field.
    pub fn new(name: &str, spec: &CalendarSpec) -> Result<Calendar, String> {
        let at = |field: &str| format!("calendars.{name}.{field}");
        let tz: Tz = spec.timezone.parse().map_err(|_| {
            format!("{}: unknown time zone `{}` (use an IANA name like Europe/London)", at("timezone"), spec.timezone)
        })?;
        let days = [
            ("mon", &spec.mon),
            ("tue", &spec.tue),
            ("wed", &spec.wed),
            ("thu", &spec.thu),
            ("fri", &spec.fri),
            ("sat", &spec.sat),
            ("sun", &spec.sun),
        ];
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (i, (day, ranges)) in days.iter().enumerate() {
            for r in ranges.iter() {
                let bad = || format!("{}: `{r}` is not a range like \"08:30-17:30\"", at(day));
                let (a, b) = r.split_once('-').ok_or_else(bad)?;
                let (a, b) = (parse_hhmm(a).ok_or_else(bad)?, parse_hhmm(b).ok_or_else(bad)?);
                if a >= b {
                    return Err(format!("{}: `{r}` ends before it starts", at(day)));
                }
                week[i].push((a, b));
            }
            week[i].sort();
            for w in week[i].windows(2) {
                if w[1].0 < w[0].1 {
                    return Err(format!("{}: ranges overlap", at(day)));
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(format!("calendars.{name}: no opening hours on any day (add e.g. mon = [\"09:00-17:00\"])"));
        }
        let mut dates = vec![];
        let mut yearly = [0u32; 13];
        for h in &spec.holidays {
            if let Ok(d) = NaiveDate::parse_from_str(h, "%Y-%m-%d") {
                dates.push(d);
            } else if let Some((m, d)) = h.split_once('-').filter(|(m, d)| m.len() == 2 && d.len() == 2)
                && let (Ok(m), Ok(d)) = (m.parse::<u32>(), d.parse::<u32>())
                && NaiveDate::from_ymd_opt(2024, m, d).is_some()
            {
                yearly[m as usize] |= 1 << d;
            } else {
                return Err(format!("{}: `{h}` is not a date (YYYY-MM-DD, or MM-DD for every year)", at("holidays")));
            }
        }
        dates.sort();
        dates.dedup();
        Ok(Calendar { name: name.to_string(), tz, week, dates, yearly, always: false })
    }

    /// The opening hours in words, e.g. "Mon–Fri 09:00–17:00 (Europe/London)", or "24x7".
    pub fn hours(&self) -> String {
        if self.always {
            return "24x7".into();
        }
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let fmt = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        let mut parts: Vec<String> = vec![];
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && self.week[j + 1] == self.week[i] {
                j += 1;
            }
            if !self.week[i].is_empty() {
                let days = if i == j { DAYS[i].to_string() } else { format!("{}–{}", DAYS[i], DAYS[j]) };
                let ranges: Vec<String> = self.week[i].iter().map(|&(a, b)| format!("{}–{}", fmt(a), fmt(b))).collect();
                parts.push(format!("{days} {}", ranges.join(", ")));
            }
            i = j + 1;
        }
        format!("{} ({})", parts.join("; "), self.tz)
    }

    fn is_holiday(&self, d: NaiveDate) -> bool {
        self.yearly[d.month() as usize] & (1 << d.day()) != 0 || self.dates.binary_search(&d).is_ok()
    }

    /// The instant of local `minute` on `day`; a time in a spring-forward gap maps to the first instant after it.
    fn instant(&self, day: NaiveDate, minute: u32) -> Timestamp {
        let (day, minute) = if minute >= 24 * 60 { (day + Duration::days(1), minute - 24 * 60) } else { (day, minute) };
        let mut naive = day.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("valid minute"));
        for _ in 0..4 {
            match self.tz.from_local_datetime(&naive) {
                chrono::LocalResult::Single(t) => return t.with_timezone(&chrono::Utc),
                chrono::LocalResult::Ambiguous(a, _) => return a.with_timezone(&chrono::Utc),
                chrono::LocalResult::None => naive += Duration::minutes(30),
            }
        }
        self.tz.from_utc_datetime(&naive).with_timezone(&chrono::Utc)
    }

    /// Open intervals (UTC) of one local day. A day without a DST change needs one zone lookup for the day's
    /// offset; a day with one (or a range ending at 24:00 before a change) resolves each instant on its own.
    fn windows(&self, day: NaiveDate) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let ranges: &[(u32, u32)] =
            if self.is_holiday(day) { &[] } else { &self.week[day.weekday().num_days_from_monday() as usize] };
        let offset = if ranges.is_empty() { None } else { self.steady_offset(day) };
        let midnight = day.and_time(NaiveTime::MIN);
        ranges.iter().map(move |&(a, b)| match offset {
            Some(off) => {
                let base = midnight - off;
                let at = |m: u32| {
                    chrono::DateTime::from_naive_utc_and_offset(base + Duration::minutes(i64::from(m)), chrono::Utc)
                };
                (at(a), at(b))
            }
            None => (self.instant(day, a), self.instant(day, b)),
        })
    }

    /// The zone's UTC offset on `day` if it is the same from this midnight to the next (no DST change).
    fn steady_offset(&self, day: NaiveDate) -> Option<Duration> {
        use chrono::Offset;
        let start = self.tz.from_local_datetime(&day.and_time(NaiveTime::MIN)).single()?;
        let next = self.tz.from_local_datetime(&(day + Duration::days(1)).and_time(NaiveTime::MIN)).single()?;
        let (a, b) = (start.offset().fix(), next.offset().fix());
        (a == b).then(|| Duration::seconds(i64::from(a.local_minus_utc())))
    }

    /// When `day`'s last opening range ends (local time), or `None` on a day the office is closed (and on `24x7`,
    /// which has no closing time).
    pub fn closes_on(&self, day: NaiveDate) -> Option<NaiveTime> {
        if self.always {
            return None;
        }
        let (_, end) = self.windows(day).last()?;
        Some(end.with_timezone(&self.tz).time())
    }

    /// When `day`'s first opening range starts (local time), or `None` on a closed day (and on `24x7`).
    pub fn opens_on(&self, day: NaiveDate) -> Option<NaiveTime> {
        if self.always {
            return None;
        }
        let (start, _) = self.windows(day).next()?;
        Some(start.with_timezone(&self.tz).time())
    }

    /// A `24x7` calendar: open all the time, with no closing time on any day.
    pub fn is_always(&self) -> bool {
        self.always
    }

    /// The end of the last business day before `t`'s own day (the close of its last opening range), looking back
    /// at most two weeks; `None` on `24x7` or when nothing is open in that time.
    pub fn close_before_day_of(&self, t: Timestamp) -> Option<Timestamp> {
        if self.always {
            return None;
        }
        let day = self.local_day(t);
        (1..=14).find_map(|back| self.windows(day - Duration::days(back)).last().map(|(_, e)| e))
    }

    fn local_day(&self, t: Timestamp) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The instant when `dur` of business time has passed after `from` (floored to the minute).
    pub fn due(&self, from: Timestamp, dur: Duration) -> Timestamp {
        // Spans are checked at load (`check_span`), so the search always ends within its limit.
        self.try_due(from, dur).unwrap_or(from + dur)
    }

    /// [`Calendar::due`], or `None` when it lies more than the search limit (about three years) of days ahead.
    fn try_due(&self, from: Timestamp, dur: Duration) -> Option<Timestamp> {
        let from = floor_minute(from);
        if self.always {
            return Some(from + dur);
        }
        let mut left = dur;
        // Windows of earlier local days end at or before this day's midnight, so `from`'s own day is the start.
        let mut day = self.local_day(from);
        for _ in 0..MAX_DAYS {
            for (s, e) in self.windows(day) {
                if e <= from {
                    continue;
                }
                let s = s.max(from);
                if left <= e - s {
                    return Some(s + left);
                }
                left -= e - s;
            }
            day += Duration::days(1);
        }
        None
    }

    /// The instant when `span` (working days, then business time) has passed after `from`. See the module's
    /// working-days rule.
    pub fn due_span(&self, from: Timestamp, span: Span) -> Timestamp {
        self.try_due_span(from, span).unwrap_or(from + span.wall())
    }

    /// Refuses a span this calendar cannot place within two years from any start (a target of `6000h` on office
    /// hours, or `200h` on a calendar open one hour a week), so that no due instant is ever a guess.
    pub fn check_span(&self, span: Span) -> Result<(), String> {
        let monday = reference_monday();
        match self.try_due_span(monday, span) {
            Some(due) if due - monday <= Duration::days(2 * 365) => Ok(()),
            _ => Err(format!("`{span}` needs more than two years of calendar `{}`'s opening hours", self.name)),
        }
    }

    fn try_due_span(&self, from: Timestamp, span: Span) -> Option<Timestamp> {
        if self.always || span.days <= 0 {
            return self.try_due(from, span.wall());
        }
        let from = floor_minute(from);
        let (day, pos) = self.position(from)?;
        let at = if pos == Duration::zero() {
            // At (or before) a day's opening: the close of the (N-1)th open day from here.
            let last = if span.days == 1 { Some(day) } else { self.open_day_after(day, span.days - 1) };
            last.and_then(|d| self.windows(d).last().map(|(_, e)| e))
        } else {
            self.open_day_after(day, span.days).map(|d| self.at_position(d, pos))
        };
        match at? {
            at if span.time > Duration::zero() => self.try_due(at, span.time),
            at => Some(at),
        }
    }

    /// The business time `span` stands for when it starts at `from` (on `24x7`, its wall-clock length).
    pub fn span_length(&self, from: Timestamp, span: Span) -> Duration {
        if self.always || span.days <= 0 {
            return span.wall();
        }
        self.elapsed(from, self.due_span(from, span))
    }

    /// The open day on which business time next runs from `t`, and how much of that day's business time lies
    /// before `t` (zero when `t` is before its opening or in a closed period).
    fn position(&self, t: Timestamp) -> Option<(NaiveDate, Duration)> {
        let mut day = self.local_day(t);
        for _ in 0..MAX_DAYS {
            let windows: Vec<_> = self.windows(day).collect();
            if windows.iter().any(|&(_, e)| e > t) {
                let pos = windows.iter().map(|&(s, e)| (e.min(t) - s).max(Duration::zero())).sum();
                return Some((day, pos));
            }
            day += Duration::days(1);
        }
        None
    }

    /// The `n`th open day after `day` (`n >= 1`).
    fn open_day_after(&self, mut day: NaiveDate, n: i64) -> Option<NaiveDate> {
        let mut left = n;
        for _ in 0..MAX_DAYS * 4 {
            day += Duration::days(1);
            if self.windows(day).next().is_some() {
                left -= 1;
                if left == 0 {
                    return Some(day);
                }
            }
        }
        None
    }

    /// The instant `pos` of business time into open `day`, clamped to its close.
    fn at_position(&self, day: NaiveDate, pos: Duration) -> Timestamp {
        let mut left = pos;
        let mut last = None;
        for (s, e) in self.windows(day) {
            if left <= e - s {
                return s + left;
            }
            left -= e - s;
            last = Some(e);
        }
        last.expect("an open day has a window")
    }

    /// Business time between `from` and `to` (both floored to the minute); zero if `to <= from`.
    pub fn elapsed(&self, from: Timestamp, to: Timestamp) -> Duration {
        let (from, to) = (floor_minute(from), floor_minute(to));
        if to <= from {
            return Duration::zero();
        }
        if self.always {
            return to - from;
        }
        let mut total = Duration::zero();
        let mut day = self.local_day(from) - Duration::days(1);
        let last = self.local_day(to) + Duration::days(1);
        while day <= last {
            for (s, e) in self.windows(day) {
                let (s, e) = (s.max(from), e.min(to));
                if e > s {
                    total += e - s;
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// True if `t` lies inside an opening range (start inclusive, end exclusive).
    pub fn is_open(&self, t: Timestamp) -> bool {
        if self.always {
            return true;
        }
        let day = self.local_day(t);
        [day - Duration::days(1), day].into_iter().any(|d| self.windows(d).any(|(s, e)| s <= t && t < e))
    }

    /// Due instant when the clock was paused during `pauses` (sorted, non-overlapping; `None` end = still
    /// paused, in which case there is no due instant). Paused business time is added after the span.
    pub fn due_with_pauses(
        &self,
        from: Timestamp,
        span: Span,
        pauses: &[(Timestamp, Option<Timestamp>)],
    ) -> Option<Timestamp> {
        let mut extra = Duration::zero();
        let base = self.due_span(from, span);
        let mut due = base;
        for &(ps, pe) in pauses {
            if ps >= due {
                break;
            }
            let pe = pe?;
            extra += self.elapsed(ps.max(from), pe);
            if extra > Duration::zero() {
                due = self.due(base, extra);
            }
        }
        Some(due)
    }

    /// Business time from `from` to `to` not spent in `pauses`.
    pub fn elapsed_with_pauses(
        &self,
        from: Timestamp,
        to: Timestamp,
        pauses: &[(Timestamp, Option<Timestamp>)],
    ) -> Duration {
        let mut total = self.elapsed(from, to);
        for &(ps, pe) in pauses {
            let pe = pe.unwrap_or(to).min(to);
            let ps = ps.max(from);
            if pe > ps {
                total -= self.elapsed(ps, pe);
            }
        }
        total.max(Duration::zero())
    }
}

/// A fixed Monday midnight (2026-01-05 UTC) from which spans are measured where no real start exists (load-time
/// checks and comparisons).
pub fn reference_monday() -> Timestamp {
    chrono::DateTime::from_timestamp(1_767_571_200, 0).expect("2026-01-05T00:00:00Z")
}

/// All calendars by name, always including `24x7` and [`OFFICE`].
#[derive(Debug, Clone)]
pub struct Calendars(BTreeMap<String, Calendar>);

/// The built-in business-hours calendar the default SLA policies (all but P1's) use: Monday to Friday 09:00-17:30
/// in the office's time zone, unless the configuration defines its own `office` (#27: out of the box deskbot
/// promised "a technician will respond by Sun 19:47").
pub const OFFICE: &str = "office";

impl Calendars {
    /// The calendars of `specs`, with a built-in [`OFFICE`] in UTC.
    pub fn new(specs: &BTreeMap<String, CalendarSpec>) -> Result<Calendars, String> {
        Self::new_in(specs, "UTC")
    }

    /// The calendars of `specs`, with a built-in [`OFFICE`] in `timezone` unless `specs` has one.
    pub fn new_in(specs: &BTreeMap<String, CalendarSpec>, timezone: &str) -> Result<Calendars, String> {
        let mut m = BTreeMap::new();
        m.insert("24x7".to_string(), Calendar::always());
        if !specs.contains_key(OFFICE) {
            let day = vec!["09:00-17:30".to_string()];
            let spec = CalendarSpec {
                timezone: timezone.to_string(),
                mon: day.clone(),
                tue: day.clone(),
                wed: day.clone(),
                thu: day.clone(),
                fri: day,
                sat: vec![],
                sun: vec![],
                holidays: vec![],
            };
            m.insert(OFFICE.to_string(), Calendar::new(OFFICE, &spec)?);
        }
        for (name, spec) in specs {
            if name == "24x7" {
                return Err("calendars.24x7: this name is built in; choose another".into());
            }
            m.insert(name.clone(), Calendar::new(name, spec)?);
        }
        Ok(Calendars(m))
    }

    pub fn get(&self, name: &str) -> Option<&Calendar> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

fn floor_minute(t: Timestamp) -> Timestamp {
    t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn m(n: i64) -> Duration {
        Duration::minutes(n)
    }
    fn spec(tz: &str, days: &[&str], range: &str, holidays: &[&str]) -> CalendarSpec {
        let r = vec![range.to_string()];
        let has = |d: &str| if days.contains(&d) { r.clone() } else { vec![] };
        CalendarSpec {
            timezone: tz.into(),
            mon: has("mon"),
            tue: has("tue"),
            wed: has("wed"),
            thu: has("thu"),
            fri: has("fri"),
            sat: has("sat"),
            sun: has("sun"),
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
        }
    }
    const WEEKDAYS_ONLY: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];
    const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    // Reference cases from shared/notes/itsm-model.md section 6 (Zammad, Europe/Berlin, times in UTC).
    #[test]
    fn t1_weekday_hours() {
        let c = Calendar::new("t1", &spec("Europe/Berlin", &WEEKDAYS_ONLY, "08:00-18:00", &[])).unwrap();
        let created = t("2013-03-21T09:30:00Z");
        assert_eq!(c.due(created, m(60)), t("2013-03-21T10:30:00Z"));
        assert_eq!(c.due(created, m(120)), t("2013-03-21T11:30:00Z"));
        assert_eq!(c.due(created, m(180)), t("2013-03-21T12:30:00Z"));
        assert_eq!(c.elapsed(created, t("2013-03-21T10:00:00Z")), m(30));
        assert_eq!(c.elapsed(created, t("2013-03-21T14:00:00Z")), m(270));
        assert_eq!(c.due(t("2013-03-21T12:05:00Z"), m(120)), t("2013-03-21T14:05:00Z"));
        assert_eq!(c.elapsed(created, t("2013-03-21T13:00:00Z")), m(210));
    }

    #[test]
    fn t2_out_of_hours_start() {
        let c = Calendar::new("t2", &spec("Europe/Berlin", &EVERY_DAY, "08:00-17:00", &[])).unwrap();
        let early = t("2013-10-21T05:30:00Z");
        assert_eq!(c.due(early, m(120)), t("2013-10-21T08:00:00Z"));
        assert_eq!(c.due(early, m(180)), t("2013-10-21T09:00:00Z"));
        assert_eq!(c.due(early, m(240)), t("2013-10-21T10:00:00Z"));
        let mid = t("2013-10-21T09:30:00Z");
        assert_eq!(c.due(mid, m(120)), t("2013-10-21T11:30:00Z"));
        assert_eq!(c.due(mid, m(240)), t("2013-10-21T13:30:00Z"));
    }

    #[test]
    fn t3_holidays() {
        // 09-23 was an inactive holiday in the reference: simply not listed here.
        let c = Calendar::new("t3", &spec("Europe/Berlin", &EVERY_DAY, "08:00-17:00", &["2015-09-22", "2015-09-24"]))
            .unwrap();
        let created = t("2015-09-21T14:30:00Z");
        assert_eq!(c.due(created, m(120)), t("2015-09-23T07:30:00Z"));
        assert_eq!(c.due(created, m(180)), t("2015-09-23T08:30:00Z"));
        assert_eq!(c.due(created, m(240)), t("2015-09-23T09:30:00Z"));
    }

    #[test]
    fn t4_holiday_start_and_minute_flooring() {
        let c = Calendar::new("t4", &spec("Europe/Berlin", &WEEKDAYS_ONLY, "08:00-20:00", &["2016-11-01"])).unwrap();
        let created = t("2016-11-01T13:56:21Z");
        assert_eq!(c.due(created, m(120)), t("2016-11-02T09:00:00Z"));
        assert_eq!(c.due(created, m(1200)), t("2016-11-03T15:00:00Z"));
        assert_eq!(c.due(t("2016-11-07T13:26:36Z"), m(1200)), t("2016-11-09T09:26:00Z"));
    }

    #[test]
    fn t5_t6_pauses() {
        let c = Calendar::new("t5", &spec("Europe/Berlin", &EVERY_DAY, "09:00-18:00", &[])).unwrap();
        let created = t("2013-06-04T09:00:00Z");
        let pauses = [
            (t("2013-06-04T09:30:00Z"), Some(t("2013-06-04T09:45:00Z"))),
            (t("2013-06-04T10:00:00Z"), Some(t("2013-06-04T10:30:00Z"))),
        ];
        assert_eq!(c.due_with_pauses(created, Span::time(m(120)), &pauses), Some(t("2013-06-04T11:45:00Z")));
        let long = [(t("2013-06-04T10:00:00Z"), Some(t("2013-06-04T15:00:00Z")))];
        assert_eq!(c.due_with_pauses(created, Span::time(m(120)), &long), Some(t("2013-06-04T16:00:00Z")));
        // T6
        let p6 = [(t("2013-06-04T10:00:00Z"), Some(t("2013-06-04T10:30:00Z")))];
        assert_eq!(c.elapsed_with_pauses(created, t("2013-06-04T10:45:00Z"), &p6), m(75));
        assert_eq!(c.elapsed_with_pauses(created, t("2013-06-04T12:00:00Z"), &p6), m(150));
        assert_eq!(c.due_with_pauses(created, Span::time(m(250)), &p6), Some(t("2013-06-04T13:40:00Z")));
        // Still paused: no due instant.
        assert_eq!(c.due_with_pauses(created, Span::time(m(120)), &[(t("2013-06-04T10:00:00Z"), None)]), None);
    }

    #[test]
    fn t7_created_pending() {
        let c = Calendar::new("t7", &spec("Europe/Berlin", &EVERY_DAY, "09:00-18:00", &[])).unwrap();
        let (created, closed) = (t("2013-06-04T09:00:00Z"), t("2013-06-04T12:00:00Z"));
        assert_eq!(c.elapsed_with_pauses(created, closed, &[(created, Some(closed))]), m(0));
        let one = [(created, Some(t("2013-06-04T10:30:00Z"))), (t("2013-06-04T11:00:00Z"), Some(closed))];
        assert_eq!(c.elapsed_with_pauses(created, closed, &one), m(30));
        let two =
            [(created, Some(t("2013-06-04T10:30:00Z"))), (t("2013-06-04T11:00:00Z"), Some(t("2013-06-04T11:30:00Z")))];
        assert_eq!(c.elapsed_with_pauses(created, closed, &two), m(60));
    }

    #[test]
    fn dst_transitions_in_london() {
        let c = Calendar::new("uk", &spec("Europe/London", &EVERY_DAY, "00:00-24:00", &[])).unwrap();
        // Around both changes (29 Mar has 23 local hours, 25 Oct has 25) open time is neither lost nor doubled.
        assert_eq!(c.elapsed(t("2026-03-28T12:00:00Z"), t("2026-03-30T12:00:00Z")), Duration::hours(48));
        assert_eq!(c.elapsed(t("2026-10-24T12:00:00Z"), t("2026-10-26T12:00:00Z")), Duration::hours(48));
        let office = Calendar::new("uk", &spec("Europe/London", &WEEKDAYS_ONLY, "09:00-17:00", &[])).unwrap();
        // Friday 27 Mar 16:00 GMT, 2h: 1h Friday, then Monday 30 Mar 09:00 BST = 08:00 UTC, +1h.
        assert_eq!(office.due(t("2026-03-27T16:00:00Z"), m(120)), t("2026-03-30T09:00:00Z"));
        // Autumn: Friday 23 Oct 15:00 UTC (16:00 BST), 2h → Monday 26 Oct 10:00 GMT = 10:00 UTC.
        assert_eq!(office.due(t("2026-10-23T15:00:00Z"), m(120)), t("2026-10-26T10:00:00Z"));
    }

    #[test]
    fn yearly_holidays_and_split_days() {
        let mut s = spec("Europe/London", &WEEKDAYS_ONLY, "08:30-12:30", &["12-25", "12-26"]);
        s.mon = vec!["08:30-12:30".into(), "13:30-17:30".into()];
        let c = Calendar::new("office", &s).unwrap();
        // Christmas 2026 is a Friday: Thursday 24 Dec 12:00 + 1h → Monday 28 Dec 09:00 (26th is Saturday anyway).
        assert_eq!(c.due(t("2026-12-24T12:00:00Z"), m(60)), t("2026-12-28T09:00:00Z"));
        // Monday lunch break is skipped.
        assert_eq!(c.due(t("2026-12-28T12:00:00Z"), m(60)), t("2026-12-28T14:00:00Z"));
    }

    #[test]
    fn bad_specs_name_calendar_and_field() {
        let mut s = spec("Europe/London", &WEEKDAYS_ONLY, "09:00-17:00", &[]);
        s.tue = vec!["17:00-09:00".into()];
        assert_eq!(
            Calendar::new("office", &s).unwrap_err(),
            "calendars.office.tue: `17:00-09:00` ends before it starts"
        );
        s.tue = vec!["09:00-12:00".into(), "11:00-13:00".into()];
        assert_eq!(Calendar::new("office", &s).unwrap_err(), "calendars.office.tue: ranges overlap");
        s.tue = vec!["9-5".into()];
        assert!(Calendar::new("office", &s).unwrap_err().starts_with("calendars.office.tue: `9-5` is not a range"));
        let s = spec("Mars/Olympus", &WEEKDAYS_ONLY, "09:00-17:00", &[]);
        assert!(Calendar::new("office", &s).unwrap_err().starts_with("calendars.office.timezone: unknown time zone"));
        let s = spec("UTC", &WEEKDAYS_ONLY, "09:00-17:00", &["25/12"]);
        assert!(Calendar::new("office", &s).unwrap_err().starts_with("calendars.office.holidays: `25/12`"));
        let s = spec("UTC", &[], "09:00-17:00", &[]);
        assert!(Calendar::new("office", &s).unwrap_err().contains("no opening hours"));
    }

    /// A small deterministic random sequence for the property tests.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn span(s: &str) -> Span {
        crate::core::duration::parse_span(s).unwrap()
    }

    /// The table of issue #31: `Nd` is N working days on a Monday–Friday 09:00–17:00 calendar.
    #[test]
    fn a_day_is_a_working_day() {
        let c = Calendar::new("office", &spec("UTC", &WEEKDAYS_ONLY, "09:00-17:00", &[])).unwrap();
        let cases = [
            ("2026-03-02T09:00:00Z", "2d", "2026-03-03T17:00:00Z"),
            ("2026-03-02T12:00:00Z", "1d", "2026-03-03T12:00:00Z"),
            ("2026-03-06T16:00:00Z", "1d", "2026-03-09T16:00:00Z"),
            ("2026-03-07T10:00:00Z", "1d", "2026-03-09T17:00:00Z"),
            ("2026-03-02T09:00:00Z", "1d4h", "2026-03-03T13:00:00Z"),
            // After hours: the next opening is the start.
            ("2026-03-02T18:30:00Z", "1d", "2026-03-03T17:00:00Z"),
            ("2026-03-02T17:00:00Z", "1d", "2026-03-03T17:00:00Z"),
            // Hours stay business hours: 48h is six working days.
            ("2026-03-02T09:00:00Z", "48h", "2026-03-09T17:00:00Z"),
            ("2026-03-02T09:00:00Z", "5d", "2026-03-06T17:00:00Z"),
        ];
        for (from, d, want) in cases {
            assert_eq!(c.due_span(t(from), span(d)), t(want), "{from} + {d}");
        }
        assert_eq!(c.span_length(t("2026-03-04T11:15:00Z"), span("3d")), Duration::hours(24));
        // On 24x7 a day stays 24 hours.
        assert_eq!(Calendar::always().due_span(t("2026-03-07T10:00:00Z"), span("1d")), t("2026-03-08T10:00:00Z"));
    }

    #[test]
    fn spans_beyond_two_years_of_opening_hours_are_refused() {
        let c = Calendar::new("office", &spec("UTC", &WEEKDAYS_ONLY, "09:00-17:00", &[])).unwrap();
        assert!(c.check_span(span("2000h")).is_ok());
        assert!(c.check_span(span("6280h")).unwrap_err().contains("more than two years"));
        assert!(c.check_span(span("600d")).is_err());
        let tiny = Calendar::new("tiny", &spec("UTC", &["sat"], "09:00-10:00", &[])).unwrap();
        assert!(tiny.check_span(span("52h")).is_ok());
        assert!(tiny.check_span(span("160h")).is_err());
        assert!(Calendar::always().check_span(span("600d")).is_ok());
    }

    #[test]
    fn working_days_skip_holidays_and_follow_uneven_days_and_dst() {
        // A holiday inside the span: Wednesday 4 March is closed.
        let c = Calendar::new("office", &spec("UTC", &WEEKDAYS_ONLY, "09:00-17:00", &["2026-03-04"])).unwrap();
        assert_eq!(c.due_span(t("2026-03-03T10:00:00Z"), span("1d")), t("2026-03-05T10:00:00Z"));
        assert_eq!(c.due_span(t("2026-03-02T10:00:00Z"), span("3d")), t("2026-03-06T10:00:00Z"));
        // Uneven days: Friday closes at 13:00. Thursday 15:00 + 1d is Friday's close; Monday keeps its position.
        let mut s = spec("UTC", &WEEKDAYS_ONLY, "09:00-17:00", &[]);
        s.fri = vec!["09:00-13:00".into()];
        let c = Calendar::new("short-friday", &s).unwrap();
        assert_eq!(c.due_span(t("2026-03-05T15:00:00Z"), span("1d")), t("2026-03-06T13:00:00Z"));
        assert_eq!(c.due_span(t("2026-03-05T11:00:00Z"), span("1d")), t("2026-03-06T11:00:00Z"));
        assert_eq!(c.due_span(t("2026-03-06T12:00:00Z"), span("1d")), t("2026-03-09T12:00:00Z"));
        // Split days (lunch closed): the position counts business time, not the clock.
        let mut s = spec("UTC", &WEEKDAYS_ONLY, "09:00-12:00", &[]);
        for d in [&mut s.mon, &mut s.tue, &mut s.wed, &mut s.thu, &mut s.fri] {
            d.push("13:00-17:00".into());
        }
        let c = Calendar::new("lunch", &s).unwrap();
        assert_eq!(c.due_span(t("2026-03-02T14:00:00Z"), span("1d")), t("2026-03-03T14:00:00Z"));
        assert_eq!(c.span_length(t("2026-03-02T14:00:00Z"), span("1d")), Duration::hours(7));
        // Both DST changes in London: local 09:00 stays local 09:00.
        let uk = Calendar::new("uk", &spec("Europe/London", &WEEKDAYS_ONLY, "09:00-17:00", &[])).unwrap();
        assert_eq!(uk.due_span(t("2026-03-27T10:00:00Z"), span("1d")), t("2026-03-30T09:00:00Z"));
        assert_eq!(uk.due_span(t("2026-10-23T09:00:00Z"), span("1d")), t("2026-10-26T10:00:00Z"));
    }

    /// Property: on calendars whose open days all have length L, `elapsed(from, due_span(from, Nd)) == N × L`,
    /// and the due instant is never inside a closed period.
    #[test]
    fn working_days_are_n_times_the_day_on_uniform_calendars() {
        let mut s = spec("America/New_York", &WEEKDAYS_ONLY, "08:00-12:00", &["2026-07-03", "12-25", "01-01"]);
        for d in [&mut s.mon, &mut s.tue, &mut s.wed, &mut s.thu, &mut s.fri] {
            d.push("13:00-17:30".into());
        }
        let c = Calendar::new("ny", &s).unwrap();
        let day = Duration::minutes(8 * 60 + 30);
        let mut next = xorshift(0x2545F4914F6CDD1D);
        let base = t("2026-01-01T00:00:00Z");
        for _ in 0..2000 {
            let from = floor_minute(base + Duration::minutes((next() % (366 * 24 * 60)) as i64));
            let n = (next() % 6) as i64 + 1;
            let extra = m((next() % 300) as i64);
            let sp = Span { days: n, time: extra };
            let due = c.due_span(from, sp);
            assert_eq!(c.elapsed(from, due), day * n as i32 + extra, "from {from} + {n}d {extra}");
            assert!(c.is_open(due) || c.is_open(due - Duration::seconds(30)), "due {due} is inside a closed period");
        }
    }

    /// Property: for many starts and durations, elapsed(from, due(from, d)) == d and due is never in a closed
    /// period (it is open, or exactly the end of an opening range).
    #[test]
    fn due_and_elapsed_agree_on_many_random_cases() {
        let mut s = spec("America/New_York", &WEEKDAYS_ONLY, "08:00-12:00", &["2026-07-03", "12-25", "01-01"]);
        for d in [&mut s.mon, &mut s.tue, &mut s.wed, &mut s.thu, &mut s.fri] {
            d.push("13:00-17:30".into());
        }
        s.sat = vec!["10:00-14:00".into()];
        let c = Calendar::new("ny", &s).unwrap();
        let mut next = xorshift(0x9E3779B97F4A7C15);
        let base = t("2026-01-01T00:00:00Z");
        for _ in 0..3000 {
            let from = floor_minute(base + Duration::minutes((next() % (366 * 24 * 60)) as i64));
            let d = m((next() % (6 * 8 * 60)) as i64 + 1);
            let due = c.due(from, d);
            assert_eq!(c.elapsed(from, due), d, "from {from} d {d}");
            let just_before = due - Duration::seconds(30);
            assert!(c.is_open(due) || c.is_open(just_before), "due {due} is inside a closed period");
        }
    }
}
