//! Joiners and leavers worked to their date (#33): the answer a runbook's `ticket_date` names is read as a date (asked
//! again when it cannot be), and at the hand-off it sets the ticket's title, priority and resolution target; a
//! leaver's access removal is alerted to the owner (or the queue) at the moment access ends.
//!
//! **Leaver:** "immediately" (or a moment already past) is at least P2 and a dismissal ("dismissed", "fired", "let
//! go", "terminated") P1, alerted with the hand-off; a later access end is alerted then, by a timer. The resolution
//! clock starts when access ends (the policy's target is measured from then), so a leaver dated three weeks ahead
//! does not breach before its date.
//!
//! **Joiner:** the ticket is due by the end of the last business day before the first day (the office calendar of
//! its policy); its priority is the calmest whose resolution target fits before then (P2 when none does).

use super::{Desk, DeskError, Work, quote};
use crate::core::dates::{self, Reading};
use crate::core::ids::{Place, TicketNo};
use crate::core::message::Outbound;
use crate::core::runbook::{DateMeaning, Runbook, Walkthrough};
use crate::core::sla::Timer;
use crate::core::ticket::{Event, EventKind, Priority, SlaClock, Ticket, Timestamp, WorkDate};
use crate::store::{Commit, DueTimer, Store};
use chrono::{NaiveDate, NaiveTime};
use regex::Regex;
use std::sync::LazyLock;

/// The `ask` field of a joiner's or a leaver's full name, taken from the opening message when it is clear.
pub(super) const NAME_FIELD: &str = "name";

/// `person` as the name a message already gave, for a runbook that asks for one (a message naming several people
/// opens a ticket for each).
pub(super) fn take_person(rb: &Runbook, known: &mut std::collections::BTreeMap<String, String>, person: &str) {
    if rb.fields().any(|f| f == NAME_FIELD) {
        known.insert(NAME_FIELD.to_string(), person.to_string());
    }
}

/// Key prefix of a leaver's access-removal timer: `access:<ticket>:<ms>`.
const ACCESS_TIMER: &str = "access:";

/// The end of a working day when the office calendar has none (a `24x7` policy, a closed day).
const DEFAULT_END_OF_DAY: (u32, u32) = (17, 30);

/// Words that make a leaver a dismissal: access must go before the person hears of it.
static DISMISSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(dismiss(ed|al|ing)|fired|firing|sacked|sacking|(let|letting) (\w+ ){0,6}go|terminat(ed|ion|ing)|gross misconduct|escorted (out|off)|walked (out|off) (of )?(the )?(building|premises|site))\b",
    )
    .expect("valid")
});

/// One word of a person's name as people capitalise it: "Priya", "O'Brien", "McDonald", "Anne-Marie".
const NAME_WORD: &str = r"(?:\p{Lu}['’]\p{Lu}\p{Ll}+|\p{Lu}\p{Ll}*\p{Lu}?\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)";

/// A full name (two or three capitalised words) right before what is said of a leaver or a joiner: "Priya Raman is
/// leaving", "Ben Ode's last day", "Sam Lee starts", "Tom Baker has resigned".
static NAME_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b({NAME_WORD}(?:\s+{NAME_WORD}){{1,3}})(?:['’]?s?\s+(?i:(?:last|final|first)\s+(?:working\s+)?day|notice|employment|contract)\b|\s+(?i:(?:is|will\s+be|has\s+been|has|was|have\s+been)\s+)?(?i:(?:also|too|now|sadly|unfortunately|then)\s+)?(?i:leaving|finishing|retiring|resigning|resigned|leaves|finishes|retires|starts|starting|joins|joining|handed\s+in|no\s+longer|walked\s+out|quit|dismissed|sacked|fired|let\s+go|made\s+redundant|terminated|left\s+(?:us|the|today|yesterday|this\s+morning|last\s+\w+|on\s+\w+day|on\s+(?:the\s+)?\d{{1,2}})|being\s+(?:dismissed|sacked|let\s+go|made\s+redundant|terminated))\b)"
    ))
    .expect("valid")
});
/// A full name right after what is done to a leaver or for a joiner: "letting Ben Ode go", "disable Ben Ode's
/// account", "leaver: James Holt", "onboarding request for Tom Baker".
static NAME_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i:\b(?:(?:letting|let|dismissing|firing|sacking)\s+(?:our|my|the|their)\s+[a-z]+(?:\s+[a-z]+)?|letting|let|dismissing|dismissed|sacking|sacked|firing|fired|offboard(?:ing)?|(?:on|off)-?boarding\s+(?:request\s+)?for|(?:leaver|joiner|starter|new\s+hire|(?:on|off)-?boarding)(?:\s+[a-z]+){{0,3}}?\s*[:\-–]|(?:leaver|joiner|new\s+(?:starter|joiner|hire))(?:\s+(?:on|from|starting|next|this|coming)(?:\s+[a-z0-9]+){{1,2}}\s*,)?|(?:disable|deactivate|suspend|close|block|remove)(?:\s+all(?:\s+of)?)?|for))\s*[:\-–]?\s+({NAME_WORD}(?:\s+{NAME_WORD}){{1,3}})(?:['’]s\b|\s+(?i:go)\b|\s*[,.;:!?]|\s*$|\s+(?i:is|who|on|from|at|in|as|please|pls|starts|starting|today|tomorrow|effective|immediately|now|this|with)\b)"
    ))
    .expect("valid")
});
/// Two or more full names in a list before what is said of them ("Tom Baker and Sue Grey are both leaving", "Ann
/// Lee, Bo Chan and Cy Dean are finishing on Friday") or after what is done to them ("please disable Tom Baker and
/// Sue Grey", "leavers: Tom Baker, Sue Grey"); each name is found by [`people_named`].
static NAME_LIST: LazyLock<Regex> = LazyLock::new(|| {
    let full = format!(r"{NAME_WORD}(?:\s+{NAME_WORD}){{1,2}}");
    let list = format!(r"({full}(?:\s*,\s*{full})*\s*,?\s+(?:and|&)\s+{full})");
    Regex::new(&format!(
        r"\b{list}\s+(?i:(?:are|will\s+be|have|were|have\s+both|have\s+all)\s+)?(?i:(?:both|all)\s+)?(?i:leaving|finishing|finish|leave|retiring|resigning|resigned|left|quit|starting|joining|start|join|being\s+(?:dismissed|let\s+go|made\s+redundant))\b|(?i:\b(?:letting|let|dismissing|offboard(?:ing)?|disable|deactivate|suspend|remove|block|leavers?|joiners?|new\s+(?:starters|joiners|hires))\s*[:\-–]?\s+){list}"
    ))
    .expect("valid")
});
/// A full name followed by a date of its own: "Sue Grey on Thursday 12th", "Sue Grey - 20 March", "Sue Grey (Mon)".
static NAME_THEN_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"({NAME_WORD}(?:\s+{NAME_WORD}){{1,2}})(?:\s*[:\-–(]\s*|\s+(?i:on|from)\s+)(?i:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?\b|\d{{4}}-\d{{2}}-\d{{2}}\b|the\s+\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\b|tomorrow\b|next\s+\w+)"
    ))
    .expect("valid")
});
/// Words that say a message is about leavers or joiners as a list.
static PEOPLE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(leavers|joiners|starters|new (starters|joiners|hires)|leaving dates|start dates|(leaving|starting|joining) (this|next) (week|month)|(are|will be)( both| all)? (leaving|starting|joining|finishing))\b").expect("valid")
});
/// A departure, not a start.
static LEAVING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(leav|finish|depart)").expect("valid"));
static FULL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"{NAME_WORD}(?:\s+{NAME_WORD}){{1,2}}")).expect("valid"));

/// Capitalised words that start a sentence or name a day, never part of a person's name here.
const NOT_NAMES: &str = "a also and but dear fyi heads hello hey hi his her hr it just mr mrs ms new next ok okay on our \
                         please sadly so that the their this today tomorrow unfortunately we yes yesterday leaver \
                         joiner starter ticket monday tuesday wednesday thursday friday saturday sunday january \
                         february march april may june july august september october november december";

/// Why a leaver cannot wait for its questions to end (see [`Desk::access_ends_now`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UrgentLeaver {
    /// Access ends now (or at a moment already gone).
    EndsNow { dismissal: bool },
    /// A dismissal whose access end is not known yet.
    DismissalUndated,
    /// A dismissal with its access end still ahead ("we're letting Mark Jones go tomorrow"): P1 now, so that the
    /// technicians prepare before the person hears (probe O: it stayed P4 until its questions ended).
    DismissalDated { at: Timestamp },
}

impl UrgentLeaver {
    /// The line on the queue's card; `when` shows a moment.
    fn for_queue(self, when: impl Fn(Timestamp) -> String) -> String {
        match self {
            UrgentLeaver::DismissalDated { at } => format!(
                "DISMISSAL, access ends {}: prepare now and keep it confidential; the requester is still answering \
                 the rest of its questions.",
                when(at)
            ),
            UrgentLeaver::DismissalUndated => {
                "DISMISSAL, access end not given yet: the requester is being asked; be ready to block sign-in.".into()
            }
            UrgentLeaver::EndsNow { dismissal } => format!(
                "ACCESS ENDS NOW{}: block sign-in and revoke sessions straight away; the requester is still answering \
                 the rest of its questions.",
                if dismissal { " (dismissal)" } else { "" }
            ),
        }
    }

    /// What the approvers are told it is.
    fn for_approvers(self) -> &'static str {
        match self {
            UrgentLeaver::DismissalUndated | UrgentLeaver::DismissalDated { .. } => "a dismissal",
            UrgentLeaver::EndsNow { .. } => "access to end now",
        }
    }
}

fn not_a_name(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    NOT_NAMES.split_whitespace().any(|n| n == w)
}

/// The person a message about a leaver or a joiner names, when it names exactly one clearly: a full name (two or
/// more capitalised words) right before "is leaving", "'s last day", "starts"… or right after "letting … go",
/// "disable …'s account", "leaver:"… A first name alone ("Ben") is no full name, and two people are not one.
pub(crate) fn person_named(text: &str) -> Option<String> {
    let mut found = people_named(text);
    if found.len() == 1 { found.pop() } else { None }
}

/// Every person a message about leavers or joiners names clearly (see [`person_named`]), in the order said, also
/// in a list ("Tom Baker and Sue Grey are both leaving on Friday"; probe O: one ticket for two people).
pub(crate) fn people_named(text: &str) -> Vec<String> {
    let mut found: Vec<(usize, String)> = vec![];
    let mut take = |at: usize, said: &str| {
        let words: Vec<&str> = said.split_whitespace().collect();
        // Drop leading words that are no part of a name ("So Priya Raman is leaving", "Friday Tom Baker …").
        let start = words.iter().position(|w| !not_a_name(w));
        let words = &words[start.unwrap_or(words.len())..];
        if words.len() < 2 || words.len() > 3 || words.iter().any(|w| not_a_name(w)) {
            return;
        }
        let name = words.join(" ");
        if !found.iter().any(|(_, n)| *n == name) {
            found.push((at, name));
        }
    };
    for c in NAME_BEFORE.captures_iter(text).chain(NAME_AFTER.captures_iter(text)) {
        let m = c.get(1).expect("group");
        take(m.start(), m.as_str());
    }
    for c in NAME_LIST.captures_iter(text) {
        let Some(list) = c.get(1).or_else(|| c.get(2)) else { continue };
        for m in FULL_NAME.find_iter(list.as_str()) {
            take(list.start() + m.start(), m.as_str());
        }
    }
    // In a message about leavers or joiners, each full name with a date of its own ("Tom Baker is leaving on Friday
    // 6th, Sue Grey on Thursday 12th", "Leavers this month: Tom Baker on Friday 6th, Sue Grey on Thursday 12th";
    // probe P: one ticket, or none).
    if PEOPLE_WORDS.is_match(text) || NAME_BEFORE.is_match(text) || NAME_AFTER.is_match(text) {
        for c in NAME_THEN_DATE.captures_iter(text) {
            let m = c.get(1).expect("group");
            take(m.start(), m.as_str());
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, n)| n).collect()
}

/// The part of `text` about the `i`th of `people` (in the order [`people_named`] gives): what comes before the first
/// name, then from this person's name to the next person's, when each person's part says its own departure or start
/// ("Tom Baker is leaving on Friday 13th and Sue Grey starts on Monday 16th": a leaver and a joiner, each with its own
/// date; probe P: two joiners). Otherwise the whole text, which says the same of all ("Tom Baker and Sue Grey are both
/// leaving on Friday").
pub(crate) fn part_about(text: &str, people: &[String], i: usize) -> String {
    let mut at = vec![];
    let mut from = 0;
    for p in people {
        let Some(found) = text[from..].find(p.as_str()) else { return text.to_string() };
        at.push(from + found);
        from += found + p.len();
    }
    let end = |j: usize| at.get(j + 1).copied().unwrap_or(text.len());
    let seg = |j: usize| text[at[j]..end(j)].trim_end_matches([' ', ',', ';']).trim_end_matches(" and");
    // A part with a date but no words of its own ("…, Sue Grey on Thursday 12th") says what was said before it.
    let own = |j: usize| departure_or_start(seg(j));
    let dated = |j: usize| NAME_THEN_DATE.find(seg(j)).is_some_and(|m| m.start() == 0);
    if i >= at.len() || !(0..at.len()).all(|j| own(j) || dated(j)) {
        return text.to_string();
    }
    // (A part that starts with its date, "Eve Long on 20/03 are leaving", is read as "Eve Long is leaving on 20/03".)
    if own(i) && !dated(i) {
        return format!("{}{}", &text[..at[0]], seg(i));
    }
    // The words said last before this part ("leaving", "starts"), else first after it ("…, Eve Long on 20/03 are
    // leaving"), else what the list is of ("Leavers this month:").
    let plain = |m: &regex::Match| {
        !["leaver", "joiner", "starter", "new starter", "new joiner", "new hire"]
            .contains(&m.as_str().to_ascii_lowercase().as_str())
    };
    let before = DATE_ANCHOR.find_iter(&text[..at[i]]).filter(plain).last();
    let after = DATE_ANCHOR.find_iter(&text[at[i]..]).find(plain);
    let seg_i = seg(i);
    let date_end = NAME_THEN_DATE.find(seg_i).map_or(seg_i.len(), |m| m.end());
    // What follows the date up to the words said of it ("are leaving") is dropped with them.
    let rest = match DATE_ANCHOR.find(&seg_i[date_end..]) {
        Some(m) => &seg_i[..date_end + m.start()],
        None => seg_i,
    };
    let said = match before.or(after) {
        Some(m) => m.as_str().to_string(),
        None if LEAVING.is_match(text) => "is leaving".to_string(),
        None => "starts".to_string(),
    };
    let name = &people[i];
    let is = if said.ends_with("ing") && !said.contains(' ') { "is " } else { "" };
    let rest = rest.trim_end().trim_end_matches(" are").trim_end_matches(" will be").trim_end_matches(" both");
    format!("{}{name} {is}{said}{}", &text[..at[0]], &rest[name.len()..])
}

/// Words that put a date on a departure or a start: the date said right after them is the leaver's or joiner's.
static DATE_ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(leaving|leaves|finishing|finishes|finish (on|this|next|at|up|tomorrow|today|(mon|tues|wednes|thurs|fri|satur|sun)day)|retiring|retires|(staying|stays|here|with us|working) (on )?(until|till|til)|(can.?t|cannot|won.?t|not) start|start (till|until|before|on|from)|(last|final|first) (working )?day|notice( period)? (ends|finishes)|employment (ends|finishes)|contract (ends|finishes)|starts|starting|start date|joins|joining|new (starter|joiner|hire)|starter|joiner|leaver|access (ends|off)|effective|letting (\w+ ){0,6}go|(left|quit|walked out|stormed out)( us| the \w+)? (today|yesterday|this morning|last \w+|on \w+day|on (the )?\d{1,2}))\b",
    )
    .expect("valid")
});

/// Whether `text` says a date changes ("has moved to", "pushed back", "not the 27th").
pub(super) fn date_change_words(text: &str) -> bool {
    DATE_CHANGE.is_match(text)
}

/// Whether `text` speaks of someone's departure or start ("is leaving", "last day", "starts", "new starter").
pub(super) fn departure_or_start(text: &str) -> bool {
    DATE_ANCHOR.is_match(text)
}

/// Whether `text` names someone other than `person` (a full name) as leaving or starting: another full name, or
/// another first name whose date it is ("Sue's leaving date has moved to Tuesday 17th" while Tom Baker's questions
/// wait; probe Q: Tom's date changed, and it was his handover answer).
pub(super) fn names_someone_else(text: &str, person: &str) -> bool {
    let named = people_named(text);
    named.iter().any(|n| n != person)
        || named.is_empty()
            && FIRST_NAME_POSSESSIVE
                .captures_iter(text)
                .any(|c| !person.split_whitespace().next().is_some_and(|f| f.eq_ignore_ascii_case(&c[1])))
}

/// A first name said as whose date it is ("Sue's leaving date", "Sue's last day").
static FIRST_NAME_POSSESSIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b((?-i:\p{Lu}\p{Ll}+))['’]s\s+(?i:(?:leaving|last|final|first|start|starting)\b)").expect("valid")
});

/// Words that say a date given before changes ("is now 20 March", "has moved to Monday", "sorry, it's actually the
/// 12th"), for [`Desk::date_changed`] and [`Desk::date_corrected`].
static DATE_CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(now|moved|changed?|instead|actually|update[ds]?|brought forward|pushed back|postponed|delayed|new date|sorry|correction|wrong|make that|not (this|next|on|the)\b)",
    )
    .expect("valid")
});

/// A clause told in the past ("last day was Friday", "contract ended yesterday", "he left on Monday").
fn said_in_the_past(clause: &str) -> bool {
    static PAST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(was|were|ended|finished|left|quit|walked out|stormed out)\b").expect("valid")
    });
    PAST.is_match(clause)
}

/// The clauses of `text` that date a departure or a start: from each [`DATE_ANCHOR`] to the end of its clause.
fn date_clauses(text: &str) -> Vec<&str> {
    DATE_ANCHOR.find_iter(text).map(|m| clause_of(&text[m.start()..], m.len())).collect()
}

/// `rest` up to the end of its clause (a comma, a full stop, "and", "but"…), which is not before byte `from`.
fn clause_of(rest: &str, from: usize) -> &str {
    let lower = rest.to_ascii_lowercase();
    let end = [",", ";", ". ", "!", "?", "\n", " and ", " but ", " so "]
        .iter()
        .filter_map(|b| lower.find(b).filter(|&i| i >= from))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// "Sat 14 Mar is not a working day: access will end at the end of Fri 13 Mar".
fn moved_note(m: dates::Moved, means: DateMeaning) -> String {
    let day = |d: NaiveDate| d.format("%a %-d %b").to_string();
    match means {
        DateMeaning::AccessEnd => {
            format!("{} is not a working day: access will end at the end of {}", day(m.said), day(m.to))
        }
        DateMeaning::FirstDay => {
            format!("{} is not a working day: their first day will be {}, the next working day", day(m.said), day(m.to))
        }
    }
}

fn default_end_of_day() -> NaiveTime {
    NaiveTime::from_hms_opt(DEFAULT_END_OF_DAY.0, DEFAULT_END_OF_DAY.1, 0).expect("valid time")
}

impl<S: Store> Desk<S> {
    /// `text` read as a date for ticket `t` (its calendar's end of day for a day alone), where `said` (the whole
    /// message the text is part of) saying "first thing", "at the start of the day" means the day's opening, not its
    /// close (probe P: a dismissal "tomorrow … first thing" ended access at 17:30, after a whole day at work).
    fn read_date(
        &self,
        t: &Ticket,
        text: &str,
        said: &str,
        now: Timestamp,
        wanted: dates::Wanted,
    ) -> Result<dates::Read, String> {
        let mut r = dates::read_full(text, now, self.settings.timezone, wanted, &self.end_of_day(t))?;
        r.reading = self.first_thing(t, said, r.reading);
        Ok(r)
    }

    fn first_thing(&self, t: &Ticket, text: &str, reading: Reading) -> Reading {
        static FIRST_THING: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)\b(first thing|(start|beginning) of (the )?(day|morning)|before (he|she|they) (arrives?|gets? in|comes? in))\b")
                .expect("valid")
        });
        let Reading::At(at) = reading else { return reading };
        if !FIRST_THING.is_match(text) {
            return reading;
        }
        let cal = &self.policies.pick(&t.category, t.priority, t.ticket_type).calendar;
        let local = at.with_timezone(&self.settings.timezone);
        let day = local.date_naive();
        let closes = cal.closes_on(day).unwrap_or_else(default_end_of_day);
        match cal.opens_on(day) {
            Some(open) if local.time() == closes => Reading::At(dates::local(self.settings.timezone, day, open)),
            _ => reading,
        }
    }

    /// What "the end of the day" is on a date for `t`: the close of its policy's calendar that day; on a day the
    /// calendar is closed (a weekend, a holiday), the close of the working day before it, looking back two weeks
    /// (#33 probe: "Saturday" for a Monday-to-Friday office is Friday's close, not 17:30 on the Saturday); 17:30 on
    /// the day itself on a `24x7` calendar or when nothing is open in that time.
    fn end_of_day(&self, t: &Ticket) -> impl Fn(NaiveDate) -> (NaiveDate, NaiveTime) + use<S> {
        let cal = self.policies.pick(&t.category, t.priority, t.ticket_type).calendar.clone();
        move |d| {
            if cal.is_always() {
                return (d, default_end_of_day());
            }
            (0..=14)
                .map(|back| d - chrono::Duration::days(back))
                .find_map(|day| cal.closes_on(day).map(|t| (day, t)))
                .unwrap_or((d, default_end_of_day()))
        }
    }

    /// The text to store for an answer to the step that asks a runbook's `ticket_date` field: its canonical reading.
    /// `Err` is what to ask again with (the walkthrough stays on the step; nothing answered so far is lost). `None`
    /// when the step asks for something else.
    pub(super) fn read_dated_answer(
        &self,
        rb: &Runbook,
        wt: &Walkthrough,
        t: &Ticket,
        text: &str,
        now: Timestamp,
    ) -> Option<Result<String, String>> {
        let d = rb.ticket_date.as_ref()?;
        let asks = rb.step(&wt.step).and_then(|s| s.ask.as_ref()).is_some_and(|a| a.field == d.field);
        if !asks || text.trim().is_empty() {
            return None;
        }
        let tz = self.settings.timezone;
        let wanted = d.means.wanted();
        Some(match self.read_date(t, text, text, now, wanted) {
            Ok(r) => {
                // A day the office is closed was moved: said in the stored answer, so the confirmation (and the
                // approver, and the card) show it and the person can correct it (#33 probe: it was moved silently).
                let note = r.moved.map(|m| moved_note(m, d.means));
                Ok(dates::canonical_noted(r.reading, tz, wanted, text, note.as_deref()))
            }
            Err(why) => Err(format!(
                "I couldn't use that as {}: {why}{} For example: {}. Everything else you told me is kept.",
                match d.means {
                    DateMeaning::AccessEnd => "the time access ends",
                    DateMeaning::FirstDay => "the first day",
                },
                if why.ends_with(['?', '.']) { "" } else { "." },
                dates::examples(wanted)
            )),
        })
    }

    /// The text to store for an answer to a joiner's or a leaver's full-name question: a single word ("Ben") is asked
    /// again, since the wrong Ben's account may be the one changed (probe M: "Leaver: Ben"); someone known by one name
    /// only can say so ("Cher only"). `None` when the step asks for something else.
    pub(super) fn read_name_answer(
        &self,
        rb: &Runbook,
        wt: &Walkthrough,
        text: &str,
    ) -> Option<Result<String, String>> {
        rb.ticket_date.as_ref()?;
        let asks = rb.step(&wt.step).and_then(|s| s.ask.as_ref()).is_some_and(|a| a.field == NAME_FIELD);
        let said = text.trim();
        if !asks || said.is_empty() {
            return None;
        }
        if let Some(one) = said.strip_suffix(" only").or_else(|| said.strip_suffix(" only.")) {
            return Some(Ok(one.trim().to_string()));
        }
        // "Lucy Brown's last day is 13/3": the name in it (probe P: the whole line became the name).
        let named = people_named(said);
        if let [one] = named.as_slice() {
            return Some(Ok(one.clone()));
        }
        if named.len() > 1 {
            return Some(Err(format!(
                "That names {} people ({}): type one full name here; each of the others can be raised as a leaver or \
                 joiner of their own.",
                named.len(),
                named.join(", ")
            )));
        }
        // "Lucy Brown, her last day is 13/3": a full name first, then more.
        static NAME_FIRST: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(&format!(r"^\s*({NAME_WORD}(?:\s+{NAME_WORD}){{1,2}})\s*(?:[,;:.\-–(]|$)")).expect("valid")
        });
        if let Some(c) = NAME_FIRST.captures(said)
            && !c[1].split_whitespace().any(not_a_name)
        {
            return Some(Ok(c[1].to_string()));
        }
        // "laptop LT-0999" is no name (probe Q: it became one); nor is a sentence.
        const THINGS: &[&str] = &[
            "laptop", "phone", "iphone", "mobile", "badge", "keys", "key", "monitor", "pc", "mac", "macbook", "tablet",
            "ipad", "charger", "dock", "headset", "card", "fob",
        ];
        let ws: Vec<String> = said.split_whitespace().map(|w| w.to_lowercase()).collect();
        let thing = ws.iter().any(|w| THINGS.contains(&w.trim_matches(|c: char| !c.is_alphanumeric())));
        if ws.len() >= 2 && ws.len() <= 4 && !thing && !said.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        if ws.len() >= 2 {
            return Some(Err(
                "Their full name, please (first and last name), so that the right person's account is changed.".into(),
            ));
        }
        Some(Err(format!(
            "Their full name, please (first and last name), so that the right person's account is changed. If \
             {said} goes by one name only, type *{said} only*."
        )))
    }

    /// A new date for a joiner or a leaver already with the technicians, from its requester ("Update: Priya Raman's
    /// last day is now 20 March, not this Friday", "Sam Lee's start date has moved to Monday 16 March"): the ticket's
    /// date, title, targets and access-removal alert follow it, and its owner (or the queue) and the requester are
    /// told (probe M: a duplicate leaver opened, and access would have been removed two weeks early). Outside a
    /// thread the message must name the person the ticket is for; in its thread (`tickets` is that one ticket) the
    /// date is enough. `None` when the message changes no such date.
    pub(super) fn date_changed(
        &self,
        env: &crate::core::message::Envelope,
        text: &str,
        tickets: &[Ticket],
        in_thread: bool,
        now: Timestamp,
        w: &mut Work,
    ) -> Option<super::Flow> {
        if !DATE_CHANGE.is_match(text) {
            return None;
        }
        let named = person_named(text);
        let person_of = |t: &Ticket| -> Option<String> {
            t.walk_record.as_ref()?.answers.iter().find(|(f, _)| f == NAME_FIELD).map(|(_, p)| p.clone())
        };
        let by_first_name: Vec<TicketNo> = tickets
            .iter()
            .filter(|t| t.work_date.is_some() && t.state.is_active() && t.requester.same_person(&env.actor))
            .filter(|t| person_of(t).is_some_and(|p| super::walk::names_person(text, &p)))
            .map(|t| t.number)
            .collect();
        for t in tickets.iter().rev() {
            let Some(old) = t.work_date.as_ref() else { continue };
            if !t.state.is_active() || !t.requester.same_person(&env.actor) {
                continue;
            }
            // ("Update: Priya's last day has been pushed back to the 20th": her first name, when it names one of
            // their dated tickets only; probe P.)
            let for_them = named.as_ref().is_some_and(|p| t.title.contains(p.as_str()))
                || named.is_none() && by_first_name.as_slice() == [t.number];
            if !(for_them || in_thread && named.is_none()) {
                continue;
            }
            let Some(record) = &t.walk_record else { continue };
            let Some(rb) = self.runbooks.get(&record.runbook) else { continue };
            let Some(d) = rb.ticket_date.as_ref().filter(|d| d.means == old.means) else { continue };
            let Some(first) = rb.first_step() else { continue };
            let mut answers: std::collections::BTreeMap<String, String> = record.answers.iter().cloned().collect();
            // ("her last day is now 20 March": that "now" is no "immediately".)
            static IS_NOW: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"(?i)\b(is|are|will be|has been|was) now\b").expect("valid"));
            let said = IS_NOW.replace_all(text, "$1");
            // ("sorry, not the 13th, the 12th", "date change: 20/03" in its thread, probe Q: only recorded.)
            let new = self.known_from_message(rb, t, &said, now).remove(&d.field).or_else(|| {
                self.date_instead(rb, t, &said, now)
                    .or_else(|| in_thread.then(|| self.date_in(rb, t, &said, now)).flatten())
            });
            let Some(new) = new else { continue };
            if answers.get(&d.field) == Some(&new) {
                continue;
            }
            answers.insert(d.field.clone(), new.clone());
            let (wt, _) = crate::core::runbook::start_known(rb, first, &self.settings.runbook_vars, now, answers);
            let mut t = t.clone();
            let was = self.work_date_phrase(&t).unwrap_or_default();
            let lines = self.apply_work_date(rb, &wt, &mut t, now, w);
            if let Some(r) = t.walk_record.as_mut() {
                for (f, a) in r.answers.iter_mut() {
                    if *f == d.field {
                        *a = new.clone();
                    }
                }
            }
            self.policies.apply(&mut t);
            let is = self.work_date_phrase(&t).unwrap_or_default();
            let by = env.actor.shown();
            if let Ok(ev) = t.requester_message(&env.actor, text, now) {
                w.events(t.number, ev);
            }
            let mut staff = format!("{} {}: date changed by {by}, {is} (was {was}).", t.number, quote(&t.title));
            for line in &lines {
                staff.push_str(&format!("\n{line}"));
            }
            match &t.owner {
                Some(o) => {
                    let dm = Place { dm: true, ..self.staff_place() };
                    w.send(Outbound::to_user(o, &dm, staff).about(t.number));
                }
                None => w.send(self.to_queue(t.origin.platform, staff).about(t.number)),
            }
            let said = format!("Updated {}: {is} (was {was}).", t.number);
            w.send(Outbound::to_user(&env.actor, &super::reply_place(env), said).about(t.number));
            w.commit.updates.push(t);
            return Some(super::Flow::Ok);
        }
        None
    }

    /// "sorry, her last day is actually Thursday 12th" written while the walkthrough asks something else: the new
    /// access end (or first day) for its date field, when the message dates a departure or a start, says it changes
    /// ("actually", "now", "sorry", "instead"…) and reads as another date than the one given (probe O: it was stored
    /// as the handover answer, and access still ended on the old day). `(field, new answer, what to tell them)`.
    pub(super) fn date_corrected(
        &self,
        rb: &Runbook,
        wt: &Walkthrough,
        t: &Ticket,
        text: &str,
        now: Timestamp,
    ) -> Option<(String, String, String)> {
        let d = rb.ticket_date.as_ref()?;
        let asking = rb.step(&wt.step).and_then(|s| s.ask.as_ref()).map(|a| a.field.as_str());
        let was = wt.answers.get(&d.field)?;
        if asking == Some(d.field.as_str()) || !DATE_CHANGE.is_match(text) {
            return None;
        }
        // Someone else's date ("Sue's leaving date has moved to Tuesday 17th" while Tom's questions wait, probe Q:
        // Tom's date changed).
        if wt.answers.get(NAME_FIELD).is_some_and(|p| names_someone_else(text, p)) {
            return None;
        }
        let new = if DATE_ANCHOR.is_match(text) {
            self.known_from_message(rb, t, text, now).remove(&d.field)?
        } else {
            // "sorry, not the 27th - it's the 26th, she's taking the Friday as holiday" (probe P: stored as the
            // handover answer): the date it is, once the one it is not is taken out.
            self.date_instead(rb, t, text, now)?
        };
        if new == *was {
            return None;
        }
        let tz = self.settings.timezone;
        let show = |a: &str| {
            dates::from_canonical(a, tz, d.means.wanted()).map(|r| dates::short(r, tz)).unwrap_or_else(|| a.to_string())
        };
        let what = match d.means {
            DateMeaning::FirstDay => "first day",
            DateMeaning::AccessEnd => "access ends",
        };
        let said = format!("Changed: {what} {} (was {}).", show(&new), show(was));
        Some((d.field.clone(), new, said))
    }

    /// The one date `text` gives besides the one it says it is not ("not the 27th - it's the 26th"), as an answer to
    /// `rb`'s date field would be; `None` without such a "not …" or when the rest is not one clear date.
    fn date_instead(&self, rb: &Runbook, t: &Ticket, text: &str, now: Timestamp) -> Option<String> {
        static NOT_DATE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"(?i)\b(not|isn.?t|wasn.?t) (on )?(the )?(\d{1,2}(st|nd|rd|th)?|(mon|tues|wednes|thurs|fri|satur|sun)day)( (the )?\d{1,2}(st|nd|rd|th)?)?( of \w+| \w+)?",
            )
            .expect("valid")
        });
        let not = NOT_DATE.find(text)?;
        // The clause right after it ("- it's the 26th"), else the rest of the message.
        let after = &text[not.end()..];
        self.date_in(rb, t, clause_of(after, 1), now)
            .or_else(|| self.date_in(rb, t, &format!("{} {}", &text[..not.start()], after), now))
    }

    /// The one date `text` reads as, for `rb`'s date field ("date change: 20/03"); `None` for none, two, or one gone.
    fn date_in(&self, rb: &Runbook, t: &Ticket, text: &str, now: Timestamp) -> Option<String> {
        let d = rb.ticket_date.as_ref()?;
        let tz = self.settings.timezone;
        let r = self.read_date(t, text, text, now, d.means.wanted()).ok()?;
        if matches!(r.reading, Reading::Passed(_) | Reading::Now) {
            return None;
        }
        let note = r.moved.map(|m| moved_note(m, d.means));
        Some(dates::canonical_noted(r.reading, tz, d.means.wanted(), "", note.as_deref()))
    }

    /// What the opening message `text` already answers of `rb`'s questions, not asked again (#33 probe). For a
    /// joiner or a leaver (a runbook with `ticket_date`): the person's full name (the `name` field) and the date, read
    /// as an answer to the date step would be; the first step shown says what was taken. A date that could mean two
    /// things, or two dates, is left to its step.
    pub(super) fn known_from_message(
        &self,
        rb: &Runbook,
        t: &Ticket,
        text: &str,
        now: Timestamp,
    ) -> std::collections::BTreeMap<String, String> {
        let mut known = std::collections::BTreeMap::new();
        // Answers the message gives by the runbook's own patterns ("the boardroom screen…": the room).
        for ask in rb.steps.iter().filter_map(|s| s.ask.as_ref()) {
            if let Some(a) = ask.answer_in(text) {
                known.insert(ask.field.clone(), a);
            }
        }
        if let Some(d) = &rb.ticket_date {
            if rb.fields().any(|f| f == NAME_FIELD)
                && let Some(name) = person_named(text)
            {
                known.insert(NAME_FIELD.to_string(), name);
            }
            let tz = self.settings.timezone;
            let wanted = d.means.wanted();
            // Only a date said of the departure or the start ("leaving on Friday", "last day is the 14th", "starts
            // Monday"), and only one: "we let him go this morning" says when it happened, not when access ends.
            let mut read: Vec<String> = vec![];
            for clause in date_clauses(text) {
                // "his last day was Friday": gone already, so access ends now (probe L: read as the coming Friday).
                if d.means == DateMeaning::AccessEnd && said_in_the_past(clause) {
                    read.push("immediately".to_string());
                    continue;
                }
                if let Ok(r) = self.read_date(t, clause, text, now, wanted) {
                    // "Priya is leaving on the 1st" said on the 2nd is no departure that has happened (probe M: read
                    // as yesterday, moved to last Friday, and access ended at once): a date that has passed in a
                    // clause not told in the past is left to its step, where the confirmation shows it.
                    if matches!(r.reading, Reading::Passed(_)) {
                        continue;
                    }
                    let note = r.moved.map(|m| moved_note(m, d.means));
                    let c = dates::canonical_noted(r.reading, tz, wanted, "", note.as_deref());
                    if !read.contains(&c) {
                        read.push(c);
                    }
                }
            }
            // The message read whole must not say otherwise ("Tom Baker is leaving today, please remove his access
            // immediately": today's end, or now?); when it reads as nothing at all, the clause stands.
            let whole = self.read_date(t, text, text, now, wanted).map(|r| {
                let note = r.moved.map(|m| moved_note(m, d.means));
                dates::canonical_noted(r.reading, tz, wanted, "", note.as_deref())
            });
            // "we're letting Mark go today, effective immediately": "immediately" is the more exact of the two
            // (probe K: both were left to the date step).
            if let Some(now_reading) = read.iter().find(|r| r.as_str() == "immediately") {
                known.insert(d.field.clone(), now_reading.clone());
            } else if read.len() == 1 && whole.as_ref().ok().is_none_or(|w| *w == read[0]) {
                known.insert(d.field.clone(), read.remove(0));
            }
        }
        known
    }

    /// A leaver whose access ends now, as its opening message or an answer says ("effective immediately", "his last
    /// day was Friday", "immediately" at the date question), or any dismissal (dated ahead or not yet): P2 at once
    /// (P1 for a dismissal), not when its other questions are answered or time out (probes K and M: it stayed P4 and
    /// reached the queue hours later). `known` is what has been answered. `None` for any other ticket. The caller
    /// re-applies the SLA policy.
    pub(super) fn access_ends_now(
        &self,
        rb: &Runbook,
        t: &mut Ticket,
        known: &std::collections::BTreeMap<String, String>,
        now: Timestamp,
        w: &mut Work,
    ) -> Option<UrgentLeaver> {
        let d = rb.ticket_date.as_ref().filter(|d| d.means == DateMeaning::AccessEnd)?;
        // ("tomorrow at noon - she's being dismissed" as the date answer, probe Q: P4 until the hand-off.)
        let dismissal = DISMISSAL.is_match(&t.description) || known.values().any(|a| DISMISSAL.is_match(a));
        let reading =
            known.get(&d.field).and_then(|a| dates::from_canonical(a, self.settings.timezone, d.means.wanted()));
        let urgent = match reading {
            Some(Reading::At(at)) if at > now && dismissal => UrgentLeaver::DismissalDated { at },
            Some(Reading::At(at)) if at > now => return None,
            None if !dismissal => return None,
            None => UrgentLeaver::DismissalUndated,
            Some(_) => UrgentLeaver::EndsNow { dismissal },
        };
        let to = if dismissal { Priority::P1 } else { Priority::P2 };
        if to < t.priority
            && let Some(ev) = t.auto_priority(to, now)
        {
            w.events(t.number, vec![ev]);
        }
        Some(urgent)
    }

    /// Who hears of an urgent leaver before its questions end: with an approval to wait for, its approvers
    /// ("Urgent leaver coming for approval"); without, the queue, with the card.
    pub(super) fn tell_urgent_leaver(
        &self,
        rb: &Runbook,
        t: &Ticket,
        urgent: UrgentLeaver,
        needs_approval: bool,
        now: Timestamp,
        w: &mut Work,
    ) {
        match &rb.approval {
            // An urgent leaver cannot be acted on before it is approved, but its approvers hear of it now.
            Some(a) if needs_approval => {
                let text = format!(
                    "Urgent leaver coming for approval: {} from {} ({}), {}. You'll be asked to approve it as soon as \
                     they have answered its questions.",
                    t.number,
                    t.requester.shown(),
                    t.priority,
                    urgent.for_approvers()
                );
                for who in self.approvers_of(t, &a.approver) {
                    let place = crate::core::ids::Place { dm: true, ..self.staff_place() };
                    w.send(Outbound::to_user(&who, &place, text.clone()).about(t.number));
                }
            }
            _ => {
                let mut card = self.card(t, now);
                card.text.push_str(&format!(" · {}", urgent.for_queue(|at| self.fmt_time(at))));
                w.send(card);
            }
        }
    }

    /// At the hand-off of a joiner or leaver walkthrough: the checklist (if the ticket has none yet), the title from
    /// `ticket_title`, and the date with what follows from it (priority, resolution target, access-removal alert).
    /// Returns the lines the technicians' card adds.
    pub(super) fn apply_work_date(
        &self,
        rb: &Runbook,
        wt: &Walkthrough,
        t: &mut Ticket,
        now: Timestamp,
        w: &mut Work,
    ) -> Vec<String> {
        let tz = self.settings.timezone;
        let mut lines = vec![];
        if t.checklist.is_none() {
            t.checklist = crate::core::runbook::Checklist::for_runbook(rb);
        }
        if let Some(title) = rb.ticket_title_for(&wt.answers, tz) {
            t.title = title;
        }
        let Some(d) = &rb.ticket_date else { return lines };
        let raise = |t: &mut Ticket, to: Priority, w: &mut Work| {
            if to < t.priority
                && let Some(ev) = t.auto_priority(to, now)
            {
                w.events(t.number, vec![ev]);
            }
        };
        let said = std::iter::once(t.description.as_str()).chain(wt.answers.values().map(String::as_str));
        let dismissal = d.means == DateMeaning::AccessEnd && said.into_iter().any(|s| DISMISSAL.is_match(s));
        let Some(reading) = wt.answers.get(&d.field).and_then(|a| dates::from_canonical(a, tz, d.means.wanted()))
        else {
            // Handed off without its date (the requester walked away from the question, or asked for a person): a
            // dismissal is still P1 and the technician must find out when access ends (#33 probe: it reached the
            // queue as P4 with an 8-hour target).
            if dismissal {
                raise(t, Priority::P1, w);
            }
            lines.push(match d.means {
                DateMeaning::AccessEnd if dismissal => {
                    "DISMISSAL, access end not given: ask the requester now and block sign-in when they say.".into()
                }
                DateMeaning::AccessEnd => "Access end not given: ask the requester when access must end.".into(),
                DateMeaning::FirstDay => "First day not given: ask the requester.".into(),
            });
            return lines;
        };
        match d.means {
            DateMeaning::AccessEnd => {
                let at = match reading {
                    Reading::At(at) if at > now => Some(at),
                    _ => None,
                };
                if dismissal {
                    raise(t, Priority::P1, w);
                } else if at.is_none() {
                    raise(t, Priority::P2, w);
                }
                t.work_date =
                    Some(WorkDate { means: d.means, at: at.unwrap_or(now), resolve_by: None, alerted: at.is_none() });
                match at {
                    Some(at) => lines.push(format!(
                        "Access ends {}: you'll be alerted then to block sign-in and revoke sessions.{}",
                        self.fmt_time(at),
                        if dismissal { " Dismissal: keep it confidential until then." } else { "" }
                    )),
                    None => lines.push(format!(
                        "ACCESS ENDS NOW{}{}: block sign-in and revoke sessions straight away, then work the checklist.",
                        if dismissal { " (dismissal)" } else { "" },
                        match reading {
                            Reading::Passed(p) => format!(" (the time given, {}, has passed)", self.fmt_time(p)),
                            _ => String::new(),
                        }
                    )),
                }
            }
            DateMeaning::FirstDay => {
                let Reading::At(first) = reading else { return lines };
                let p = self.policies.pick(&t.category, t.priority, t.ticket_type);
                // A calendar with no closing time (`24x7`): ready by the start of the first day.
                let resolve_by = p.calendar.close_before_day_of(first).unwrap_or(first);
                let resolve_by = Some(resolve_by).filter(|by| *by > now);
                // The calmest priority whose resolution target fits before the first day (probe L: a joiner a week
                // away became P2 with a 1-hour response target; a 2-day target fits, so P3); P2 when none does.
                let fits = |p: Priority| {
                    let pol = self.policies.pick(&t.category, p, t.ticket_type);
                    resolve_by.is_some_and(|by| pol.calendar.due_span(now, pol.resolution) <= by)
                };
                let to = [Priority::P4, Priority::P3].into_iter().find(|&p| fits(p)).unwrap_or(Priority::P2);
                raise(t, to, w);
                t.work_date = Some(WorkDate { means: d.means, at: first, resolve_by, alerted: false });
                let day = first.with_timezone(&tz).format("%a %-d %b");
                lines.push(match resolve_by {
                    Some(by) => format!("First day {day}: everything ready by {}.", self.fmt_time(by)),
                    None => format!("First day {day}: that is already here, so it is {} now.", t.priority),
                });
            }
        }
        lines
    }

    /// A leaver approved after its access end (#33 probe: it stayed P4 with hours to first response, and nobody was
    /// told the removal was now overdue): at least P2 (P1 for a dismissal), and the words for the technicians. `None`
    /// when its access end is still ahead (its alert fires then) or it is no leaver.
    pub(super) fn approved_late(&self, t: &mut Ticket, now: Timestamp, w: &mut Work) -> Option<String> {
        let d = t.work_date.as_ref().filter(|d| d.means == DateMeaning::AccessEnd && d.at <= now)?;
        let due = d.at;
        let dismissal = DISMISSAL.is_match(&t.description);
        let to = if dismissal { Priority::P1 } else { Priority::P2 };
        if to < t.priority
            && let Some(ev) = t.auto_priority(to, now)
        {
            w.events(t.number, vec![ev]);
        }
        Some(format!(
            "ACCESS REMOVAL OVERDUE: access was to end {}; block sign-in and revoke sessions now, then work the \
             checklist ({} now).",
            self.fmt_time(due),
            t.priority
        ))
    }

    /// The card's note of a dated ticket: "access ends Fri 13 Mar 17:30 GMT", "first day Mon 16 Mar".
    pub(super) fn work_date_phrase(&self, t: &Ticket) -> Option<String> {
        let d = t.work_date.as_ref()?;
        Some(match d.means {
            DateMeaning::AccessEnd => format!("access ends {}", self.fmt_time(d.at)),
            DateMeaning::FirstDay => {
                format!("first day {}", d.at.with_timezone(&self.settings.timezone).format("%a %-d %b"))
            }
        })
    }

    /// The timer that alerts a leaver's access removal, until it has fired.
    pub(super) fn access_timer(t: &Ticket) -> Option<Timer> {
        let d = t.work_date.as_ref().filter(|d| d.means == DateMeaning::AccessEnd && !d.alerted)?;
        if !t.state.is_active() {
            return None;
        }
        Some(Timer {
            ticket: t.number,
            clock: SlaClock::Resolution,
            percent: 0,
            at: d.at,
            due: d.at,
            key: format!("{ACCESS_TIMER}{}:{}", t.number.0, d.at.timestamp_millis()),
        })
    }

    /// True for an access-removal timer.
    pub(super) fn is_access_timer(timer: &DueTimer) -> bool {
        timer.key.starts_with(ACCESS_TIMER)
    }

    /// A leaver's access ends now: the owner (or the queue, while nobody owns it) is told to remove it, and so are
    /// the managers while it still waits for approval. False for a stale timer.
    pub(super) async fn fire_access(&self, mut t: Ticket, timer: &DueTimer, now: Timestamp) -> Result<bool, DeskError> {
        if Self::access_timer(&t).is_none_or(|x| x.key != timer.key) {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        if let Some(d) = t.work_date.as_mut() {
            d.alerted = true;
        }
        let mut c = Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        };
        let late = now - timer.at > chrono::Duration::minutes(1);
        let mut text = format!(
            "Access removal due now: {} {} — access ends {}. Block sign-in and revoke sessions, then tick it off \
             on its checklist (/ticket show {}).",
            t.number,
            quote(&t.title),
            self.fmt_time(timer.at),
            t.number.0
        );
        if late {
            text.push_str(&format!(" (late: deskbot was not running at {})", self.fmt_time(timer.at)));
        }
        // Not approved yet: nobody acts on an unverified leaver (a request to lock someone out is the easiest one
        // to fake); the technicians are told to wait, the approvers to decide (#33 probe).
        if let Some(approver) = &t.awaiting_approval {
            text = format!(
                "Access removal for {} {} was asked for {}, but it is NOT approved yet: do not act until a {approver} \
                 approves it (they have been reminded).",
                t.number,
                quote(&t.title),
                self.fmt_time(timer.at)
            );
        }
        let staff_dm = Place { dm: true, ..self.staff_place() };
        match &t.owner {
            Some(o) => c.outbox.push(Outbound::to_user(o, &staff_dm, text.clone()).about(t.number)),
            None => c.outbox.push(self.to_queue(t.origin.platform, text.clone()).about(t.number)),
        }
        if let Some(approver) = &t.awaiting_approval {
            let wait = format!(
                "Access removal for {} {} is due now ({}), and it is still waiting for your decision as {approver}: \
                 /ticket approve {} or /ticket decline {}.",
                t.number,
                quote(&t.title),
                self.fmt_time(timer.at),
                t.number.0,
                t.number.0
            );
            let role = crate::core::roles::Role::parse(approver).unwrap_or(crate::core::roles::Role::Manager);
            for u in self.people_with(role, t.origin.platform).into_iter().filter(|u| !u.same_person(&t.requester)) {
                c.outbox.push(Outbound::to_user(&u, &staff_dm, wait.clone()).about(t.number));
            }
        }
        c.events.push((
            t.number,
            Event {
                at: now,
                actor: None,
                kind: EventKind::InternalNote {
                    text: format!("access-removal alert sent ({})", self.fmt_time(timer.at)),
                },
            },
        ));
        c.updates.push(t);
        self.schedule(&mut c);
        self.commit_timer(c, &timer.key, true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_name_said_of_a_leaver_or_joiner_is_taken() {
        for (text, name) in [
            ("Priya Raman is leaving on Friday", "Priya Raman"),
            ("Ben Ode's last day is Saturday", "Ben Ode"),
            ("we're letting Ben Ode go on Friday", "Ben Ode"),
            ("please disable Ben Ode's account", "Ben Ode"),
            ("leaver: James Holt, last day 13 March", "James Holt"),
            ("onboarding request for Tom Baker, starting 1 April", "Tom Baker"),
            ("new starter monday: Tom Baker, sales, needs account and email", "Tom Baker"),
            ("So Priya Raman is leaving us", "Priya Raman"),
            ("On Friday Tom Baker is leaving", "Tom Baker"),
            ("Sean O'Brien has resigned, last day Friday", "Sean O'Brien"),
            ("Anne-Marie McDonald starts on Monday", "Anne-Marie McDonald"),
            ("Lucy Chen is joining us on the 30th as office manager", "Lucy Chen"),
            ("Onboarding: Priya Raman, Finance, start date 9 March", "Priya Raman"),
            ("Offboarding - Dan Cole, last day Friday", "Dan Cole"),
            // Probe K: the day between "new starter" and the name.
            ("we have a new starter on Monday, Sam Lee in sales", "Sam Lee"),
            ("new joiner next week, Priya Raman, needs a laptop", "Priya Raman"),
            ("we're letting our receptionist Ann Fox go on Friday", "Ann Fox"),
        ] {
            assert_eq!(person_named(text).as_deref(), Some(name), "{text}");
        }
    }

    #[test]
    fn no_name_is_taken_unless_one_full_name_is_clear() {
        for text in [
            // A first name is no full name; lowercase is no clear name; two people are not one.
            "we're letting Ben go on Friday, his account needs disabling immediately",
            "Priya is leaving on Friday",
            "priya raman is leaving on friday",
            "Tom Baker is leaving and Ann Lee is leaving too",
            "I'm leaving early today",
            "Please disable the account",
            "new starter on Monday",
        ] {
            assert_eq!(person_named(text), None, "{text}");
        }
    }

    #[test]
    fn everyone_a_message_names_is_found_also_in_a_list() {
        for (text, names) in [
            ("Tom Baker and Sue Grey are both leaving on Friday 13 March", &["Tom Baker", "Sue Grey"][..]),
            ("Ann Lee, Bo Chan and Cy Dean are finishing on Friday", &["Ann Lee", "Bo Chan", "Cy Dean"]),
            ("please disable Tom Baker and Sue Grey, they left today", &["Tom Baker", "Sue Grey"]),
            ("leavers: Tom Baker & Sue Grey", &["Tom Baker", "Sue Grey"]),
            (
                "We are letting Ann Fox and Bo Reed go on Friday - please cut both their accounts at 4pm",
                &["Ann Fox", "Bo Reed"],
            ),
            ("Tom Baker is leaving on Friday and Ann Lee's last day is the 20th", &["Tom Baker", "Ann Lee"]),
            ("Priya Raman is leaving on Friday", &["Priya Raman"]),
            // Each with a date of its own, after a first one or a list's heading (session 20).
            ("Tom Baker is leaving on Friday 6th, Sue Grey on Thursday 12th", &["Tom Baker", "Sue Grey"]),
            ("Leavers this month: Amy Lowe on Friday 6th, Ben Carr - 12 March", &["Amy Lowe", "Ben Carr"]),
            ("Leaving this month: Dee Finch on 13/03, Gus Hale on 2026-03-31", &["Dee Finch", "Gus Hale"]),
            ("Tom Baker left on 27 February, Sue Grey is leaving on 20 March", &["Tom Baker", "Sue Grey"]),
            // Names with accents and apostrophes (probe R: dropped).
            ("Zoë Müller is leaving on 13 March, Łukasz Nowak on 20 March", &["Zoë Müller", "Łukasz Nowak"]),
            ("Tom Baker is leaving on 13 March, Seán O'Brien on 20 March", &["Tom Baker", "Seán O'Brien"]),
            // Not names: one person's first name, lowercase, a product; a dated name in a message about no one.
            ("Tom and Sue are leaving on Friday", &[]),
            ("tom baker and sue grey are leaving", &[]),
            ("Microsoft Teams on Monday was awful", &[]),
        ] {
            assert_eq!(people_named(text), names, "{text}");
        }
    }

    #[test]
    fn each_person_reads_their_own_part_of_the_message() {
        let part = |text: &str, i: usize| part_about(text, &people_named(text), i);
        let both = "Cal Dunn is leaving on Friday 13th and Dee Ross starts on Monday 16th";
        assert_eq!(part(both, 0), "Cal Dunn is leaving on Friday 13th");
        assert_eq!(part(both, 1), "Dee Ross starts on Monday 16th");
        // A part with only a date says what was said before it, or what the list is of.
        let list = "Tom Baker is leaving on Friday 6th, Sue Grey on Thursday 12th";
        assert_eq!(part(list, 1), "Sue Grey is leaving on Thursday 12th");
        let heading = "Leavers this month: Amy Lowe on Friday 6th, Ben Carr on Thursday 12th";
        assert_eq!(part(heading, 1), "Leavers this month: Ben Carr is leaving on Thursday 12th");
        // Said after the list, with a date each (probe R).
        let after = "Dee Finch on 13/03, Eve Long on 20/03 are leaving";
        assert_eq!(part(after, 0), "Dee Finch is leaving on 13/03");
        assert_eq!(part(after, 1), "Eve Long is leaving on 20/03");
        // Said of all at once: the whole message for each.
        let all = "Tom Baker and Sue Grey are both leaving on Friday 13 March";
        assert_eq!((part(all, 0), part(all, 1)), (all.to_string(), all.to_string()));
    }

    #[test]
    fn only_a_date_said_of_the_departure_or_start_is_a_clause() {
        assert_eq!(date_clauses("Priya Raman is leaving on Friday"), ["leaving on Friday"]);
        assert_eq!(date_clauses("Kate has resigned, her last day is the 20th"), ["last day is the 20th"]);
        assert_eq!(date_clauses("Tom is leaving Friday at 5.30pm. Thanks"), ["leaving Friday at 5.30pm"]);
        // When it happened is not when access ends.
        assert!(date_clauses("we let someone go this morning, need their account disabled asap").is_empty());
        assert!(said_in_the_past("last day was Friday") && !said_in_the_past("last day is Friday"));
        // Probe K: what is about to happen, and "effective …", are.
        assert_eq!(
            date_clauses("we're letting Mark Jones go today, effective immediately"),
            ["letting Mark Jones go today", "effective immediately"]
        );
    }
}
