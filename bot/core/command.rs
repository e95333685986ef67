//! The `/ticket` command grammar and button action ids, parsed once here for every platform.

use super::ids::TicketNo;
use super::ticket::{Priority, State};

/// A parsed technician or requester command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Claim(TicketNo),
    Unclaim(TicketNo),
    Reply(TicketNo, String),
    Note(TicketNo, String),
    Resolve(TicketNo, Option<String>),
    Reopen(TicketNo, Option<String>),
    Close(TicketNo),
    /// Wait on the requester (`PendingUser`) or a vendor (`PendingVendor`), with an optional reason.
    Pending(TicketNo, State, Option<String>),
    Show(TicketNo),
    /// Explain the SLA clocks of a ticket.
    Sla(TicketNo),
    /// Start a runbook as a new ticket (e.g. `joiner`, `leaver`, `new-laptop`).
    Start(String),
    /// Tick a checklist item (by id or number).
    Check(TicketNo, String),
    /// Untick a checklist item ticked by mistake (by id or number).
    Uncheck(TicketNo, String),
    /// Approve a request waiting for approval.
    Approve(TicketNo),
    /// Decline a request waiting for approval.
    Decline(TicketNo, Option<String>),
    /// Give the ticket to a technician (user id, `@` stripped).
    Assign(TicketNo, String),
    Priority(TicketNo, Priority),
    /// Re-categorise; the text becomes a training example for triage.
    Category(TicketNo, String),
    /// Fold the first ticket into the second (duplicate).
    Merge(TicketNo, TicketNo),
    /// Relate two tickets.
    Link(TicketNo, TicketNo),
    /// Open tickets, optionally of one category and/or only those nobody owns.
    Queue {
        category: Option<String>,
        unowned: bool,
    },
    Mine,
    /// Search titles and descriptions.
    Find(String),
    /// Recurring issues and problem records.
    Problems,
    /// Link the ticket's recurring group to a problem record (creates it if needed).
    Problem(TicketNo),
    /// Mark the ticket a major incident: later reports of the same kind join it instead of opening tickets.
    Major(TicketNo),
    /// A satisfaction rating from the requester (button).
    Rate(TicketNo, bool),
    /// A satisfaction comment from the requester.
    Feedback(TicketNo, String),
    /// A button that needs text (Reply): tells the person how to give it.
    Prompt(TicketNo, &'static str),
    /// Escalate to a vendor (`None`: offer the vendors covering the category), with an optional summary.
    Escalate(TicketNo, Option<String>, Option<String>),
    /// Record the vendor's reference: `[VENDOR] REF` (the vendor may be left out when one case is open).
    VendorRef(TicketNo, String),
    /// Record what the vendor said: `[VENDOR] text`.
    VendorUpdate(TicketNo, String),
    /// End a vendor case; `true`: send the vendor a closure note (`quiet` leaves it out).
    VendorClose(TicketNo, Option<String>, bool),
    /// Send the vendor a follow-up.
    Chase(TicketNo, Option<String>),
    /// Hold follow-up prompts back for a business day.
    Snooze(TicketNo, Option<String>),
    /// Silence an Alertmanager alert ticket's group for this long (at most 7 days), with an optional comment.
    Silence(TicketNo, chrono::Duration, Option<String>),
}

impl Command {
    /// The ticket the command acts on, if any.
    pub fn ticket(&self) -> Option<TicketNo> {
        use Command::*;
        match self {
            Claim(n)
            | Unclaim(n)
            | Reply(n, _)
            | Note(n, _)
            | Resolve(n, _)
            | Reopen(n, _)
            | Close(n)
            | Show(n)
            | Pending(n, ..)
            | Sla(n)
            | Check(n, _)
            | Uncheck(n, _)
            | Approve(n)
            | Decline(n, _)
            | Assign(n, _)
            | Priority(n, _)
            | Category(n, _)
            | Merge(n, _)
            | Link(n, _)
            | Problem(n)
            | Major(n)
            | Rate(n, _)
            | Feedback(n, _)
            | Prompt(n, _)
            | Escalate(n, ..)
            | VendorRef(n, _)
            | VendorUpdate(n, _)
            | VendorClose(n, ..)
            | Chase(n, _)
            | Snooze(n, _)
            | Silence(n, ..) => Some(*n),
            Help | Queue { .. } | Mine | Start(_) | Find(_) | Problems => None,
        }
    }

    /// Short name used in audit events and denials.
    pub fn verb(&self) -> &'static str {
        use Command::*;
        match self {
            Help => "help",
            Claim(_) => "claim",
            Unclaim(_) => "unclaim",
            Reply(..) => "reply",
            Note(..) => "note",
            Resolve(..) => "resolve",
            Reopen(..) => "reopen",
            Close(_) => "close",
            Pending(..) => "pending",
            Show(_) => "show",
            Sla(_) => "sla",
            Start(_) => "start",
            Check(..) => "check",
            Uncheck(..) => "uncheck",
            Approve(_) => "approve",
            Decline(..) => "decline",
            Queue { .. } => "queue",
            Mine => "mine",
            Assign(..) => "assign",
            Priority(..) => "priority",
            Category(..) => "category",
            Merge(..) => "merge",
            Link(..) => "link",
            Find(_) => "find",
            Problems => "problems",
            Problem(_) => "problem",
            Major(_) => "major",
            Rate(..) => "rate",
            Feedback(..) => "feedback",
            Prompt(_, verb) => verb,
            Escalate(..) => "escalate",
            VendorRef(..) => "vendor-ref",
            VendorUpdate(..) => "vendor-update",
            VendorClose(..) => "vendor-close",
            Chase(..) => "chase",
            Snooze(..) => "snooze",
            Silence(..) => "silence",
        }
    }
}

/// Usage lines shown by `/ticket help` and in errors.
pub const HELP: &str = "\
/ticket queue [CATEGORY] [--unowned] — open tickets, most urgent first (SLA time left)
/ticket mine — tickets you own (technicians) or raised (everyone)
/ticket find TEXT — search tickets (yours, or all for technicians)
/ticket show N — one ticket with its history
/ticket sla N — the ticket's SLA clocks: targets, due times, pauses, breaches
/ticket start RUNBOOK — start a guided request as a new ticket (joiner, leaver, new-laptop, …)
/ticket check N ITEM — tick a checklist item (by number or id)
/ticket uncheck N ITEM — untick an item ticked by mistake
/ticket approve N — approve a request waiting for approval
/ticket decline N [reason] — decline it
/ticket claim N — take ticket N
/ticket unclaim N — give ticket N back to the queue
/ticket assign N @user — give ticket N to a technician (leads: also tickets someone owns)
/ticket priority N P1..P4 — change the priority (SLA targets follow)
/ticket category N CATEGORY — re-categorise (deskbot learns from it)
/ticket merge N into M — fold duplicate N into M
/ticket link N M — relate two tickets
/ticket problems — recurring issues and problem records
/ticket problem N — link ticket N and its look-alikes to a problem record
/ticket major N — mark ticket N a major incident: later reports of it join N and everyone affected gets its updates
/ticket reply N text — public reply to the requester (stops the first-response clock)
/ticket note N text — internal note, never shown to the requester
/ticket pending N user QUESTION | vendor [reason] — ask the requester (pauses the SLA clocks) or wait on a vendor
/ticket resolve N [text] — mark ticket N resolved
/ticket reopen N [reason] — reopen a resolved or closed ticket
/ticket close N — close a resolved ticket
/ticket feedback N text — tell us how we did on ticket N
/ticket escalate N VENDOR [summary] — send the case and summary to a vendor (you stay the owner; internal notes are not sent)
/ticket vendor-ref N [VENDOR] REF — record the vendor's case reference
/ticket vendor-update N [VENDOR] text — record what the vendor said (the requester is told)
/ticket vendor-close N [VENDOR] [quiet] — end the vendor case (the vendor is sent a closure note unless quiet)
/ticket chase N [VENDOR] — send the vendor a follow-up quoting their reference
/ticket snooze N [VENDOR] — hold vendor follow-up reminders back a business day
/ticket silence N DURATION [comment] — silence an Alertmanager alert ticket's group in Alertmanager (30m, 2h, 1d; at most 7d)";

/// What `/ticket help` shows someone in `role`: [`HELP`], plus the `/helpdesk` commands for those who may use them.
pub fn help_for(role: super::roles::Role) -> String {
    use super::roles::Role;
    let mut out = HELP.to_string();
    if matches!(role, Role::Manager | Role::Lead | Role::Admin) {
        out.push_str(
            "\n/helpdesk report [week|month] [YYYY-MM-DD] — the manager summary with its chart (managers, leads, admins)",
        );
    }
    if role != Role::Requester {
        out.push_str("\n/helpdesk vendors — the suppliers deskbot can escalate to, and their contracts");
    }
    out
}

fn usage(verb: &str) -> String {
    let line = HELP.lines().find(|l| l.starts_with(&format!("/ticket {verb} "))).unwrap_or("/ticket help");
    let form = line.split(" — ").next().unwrap_or(line);
    format!("usage: {form}")
}

fn number(verb: &str, arg: Option<&str>) -> Result<TicketNo, String> {
    match arg {
        None => Err(format!("`/ticket {verb}` needs a ticket number; {}", usage(verb))),
        Some(a) => TicketNo::parse(a).ok_or_else(|| format!("`{a}` is not a ticket number; {}", usage(verb))),
    }
}

/// A verb that takes only a ticket number: anything after it is a mistake ("/ticket claim 1 2" must not quietly
/// claim #1).
fn number_only(verb: &str, num: Option<&str>, rest: &str) -> Result<TicketNo, String> {
    let n = number(verb, num)?;
    if !rest.trim().is_empty() {
        return Err(format!(
            "`/ticket {verb} {}` takes nothing after the number (`{}`); {}",
            n.0,
            rest.trim(),
            usage(verb)
        ));
    }
    Ok(n)
}

fn split_first(s: &str) -> (Option<&str>, &str) {
    let s = s.trim();
    if s.is_empty() {
        return (None, "");
    }
    match s.split_once(char::is_whitespace) {
        Some((a, rest)) => (Some(a), rest.trim()),
        None => (Some(s), ""),
    }
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Parses the text after `/ticket`. Errors say what was wrong and show the right form.
pub fn parse_ticket(args: &str) -> Result<Command, String> {
    let (verb, rest) = split_first(args);
    let Some(verb) = verb else { return Ok(Command::Help) };
    let verb_lc = verb.to_ascii_lowercase();
    let (num, text) = split_first(rest);
    let needs_text = |v: &str, n: TicketNo| -> Result<String, String> {
        opt(text).ok_or_else(|| format!("`/ticket {v} {}` needs text; {}", n.0, usage(v)))
    };
    Ok(match verb_lc.as_str() {
        "help" => Command::Help,
        "queue" => {
            let mut category = None;
            let mut unowned = false;
            for w in rest.split_whitespace() {
                match w {
                    "--unowned" | "unowned" => unowned = true,
                    c if category.is_none() && !c.starts_with('-') => category = Some(c.to_ascii_lowercase()),
                    other => return Err(format!("`{other}` is not understood; {}", usage("queue"))),
                }
            }
            Command::Queue { category, unowned }
        }
        "mine" => Command::Mine,
        "problems" => Command::Problems,
        "find" => match opt(rest) {
            Some(t) => Command::Find(t),
            None => return Err(format!("`/ticket find` needs some text; {}", usage("find"))),
        },
        "problem" => Command::Problem(number_only("problem", num, text)?),
        "major" => Command::Major(number_only("major", num, text)?),
        "assign" => {
            let n = number("assign", num)?;
            let who = text.trim().trim_start_matches("<@").trim_start_matches('@').trim_end_matches('>');
            let who = who.split('|').next().unwrap_or("").trim();
            if who.is_empty() || who.contains(char::is_whitespace) {
                return Err(format!("`/ticket assign {}` needs one person; {}", n.0, usage("assign")));
            }
            Command::Assign(n, who.to_string())
        }
        "priority" => {
            let n = number("priority", num)?;
            let p = Priority::parse(text)
                .ok_or_else(|| format!("`{text}` is not a priority (P1, P2, P3 or P4); {}", usage("priority")))?;
            Command::Priority(n, p)
        }
        "category" => {
            let n = number("category", num)?;
            match text.split_whitespace().collect::<Vec<_>>().as_slice() {
                [c] => Command::Category(n, c.to_ascii_lowercase()),
                _ => return Err(format!("`/ticket category {}` needs one category; {}", n.0, usage("category"))),
            }
        }
        "merge" | "link" => {
            let n = number(&verb_lc, num)?;
            let other = text.trim().strip_prefix("into ").map(str::trim).unwrap_or(text.trim());
            let m = number(&verb_lc, (!other.is_empty()).then_some(other))?;
            if m == n {
                let with = if verb_lc == "merge" { "merged into" } else { "linked with" };
                return Err(format!("a ticket cannot be {with} itself"));
            }
            if verb_lc == "merge" { Command::Merge(n, m) } else { Command::Link(n, m) }
        }
        "feedback" => {
            let n = number("feedback", num)?;
            Command::Feedback(n, needs_text("feedback", n)?)
        }
        // `--undo` is how Discord's slash command says `unclaim`, as for `check` below.
        "claim" if text.trim() == "--undo" => Command::Unclaim(number("claim", num)?),
        "claim" => Command::Claim(number_only("claim", num, text)?),
        "unclaim" => Command::Unclaim(number_only("unclaim", num, text)?),
        "show" => Command::Show(number_only("show", num, text)?),
        "sla" => Command::Sla(number_only("sla", num, text)?),
        "start" => match num {
            Some(rb) if text.is_empty() => Command::Start(rb.to_ascii_lowercase()),
            _ => return Err(format!("`/ticket start` needs one runbook name; {}", usage("start"))),
        },
        "check" => {
            let n = number("check", num)?;
            // `--undo` is how Discord's slash command says `uncheck` (its subcommands are all taken).
            match text.trim_end().strip_suffix("--undo") {
                Some(item) if !item.trim().is_empty() => Command::Uncheck(n, item.trim().to_string()),
                _ => Command::Check(n, needs_text("check", n)?),
            }
        }
        "uncheck" => {
            let n = number("uncheck", num)?;
            Command::Uncheck(n, needs_text("uncheck", n)?)
        }
        "approve" => Command::Approve(number_only("approve", num, text)?),
        "decline" => Command::Decline(number("decline", num)?, opt(text)),
        "close" => Command::Close(number_only("close", num, text)?),
        "reply" => {
            let n = number("reply", num)?;
            Command::Reply(n, needs_text("reply", n)?)
        }
        "note" => {
            let n = number("note", num)?;
            Command::Note(n, needs_text("note", n)?)
        }
        "resolve" => Command::Resolve(number("resolve", num)?, opt(text)),
        "pending" => {
            let n = number("pending", num)?;
            let (on, reason) = split_first(text);
            let state = match on.map(str::to_ascii_lowercase).as_deref() {
                Some("user") | Some("requester") => State::PendingUser,
                Some("vendor") => State::PendingVendor,
                _ => return Err(format!("`/ticket pending {}` needs `user` or `vendor`; {}", n.0, usage("pending"))),
            };
            Command::Pending(n, state, opt(reason))
        }
        "reopen" => Command::Reopen(number("reopen", num)?, opt(text)),
        "escalate" => {
            let n = number("escalate", num)?;
            let (vendor, summary) = split_first(text);
            let Some(vendor) = vendor else {
                return Err(format!("`/ticket escalate {}` needs a vendor; {}", n.0, usage("escalate")));
            };
            Command::Escalate(n, Some(vendor.to_ascii_lowercase()), opt(summary))
        }
        "vendor-ref" | "vendor-update" => {
            let n = number(&verb_lc, num)?;
            let t = needs_text(&verb_lc, n)?;
            if verb_lc == "vendor-ref" { Command::VendorRef(n, t) } else { Command::VendorUpdate(n, t) }
        }
        "vendor-close" | "chase" | "snooze" => {
            let n = number(&verb_lc, num)?;
            let mut v = opt(text).map(|v| v.to_ascii_lowercase());
            // `vendor-close N [VENDOR] quiet`: the vendor closed it already, so no closure note is sent.
            let mut quiet = false;
            if verb_lc == "vendor-close"
                && let Some(x) = v.clone()
            {
                let words: Vec<&str> = x.split_whitespace().collect();
                if words.last() == Some(&"quiet") {
                    quiet = true;
                    v = opt(&words[..words.len() - 1].join(" "));
                }
            }
            if v.as_deref().is_some_and(|v| v.contains(char::is_whitespace)) {
                return Err(format!("`/ticket {verb_lc} {}` takes at most one vendor; {}", n.0, usage(&verb_lc)));
            }
            match verb_lc.as_str() {
                "vendor-close" => Command::VendorClose(n, v, !quiet),
                "chase" => Command::Chase(n, v),
                _ => Command::Snooze(n, v),
            }
        }
        "silence" => {
            let n = number("silence", num)?;
            let (length, comment) = split_first(text);
            let Some(length) = length else {
                return Err(format!("`/ticket silence {}` needs a duration; {}", n.0, usage("silence")));
            };
            let d = super::duration::parse_duration(length).map_err(|e| format!("{e}; {}", usage("silence")))?;
            super::silence::check_length(d).map_err(|e| format!("{e}; {}", usage("silence")))?;
            Command::Silence(n, d, opt(comment))
        }
        other => return Err(format!("unknown command `{other}`. Try:\n{HELP}")),
    })
}

/// The ticket and verb a `/ticket` command names even when it cannot be parsed (`/ticket claim 2 3`, `/ticket merge
/// 1 into 1`): its first word when that is a command taking a ticket number, and the number after it. A refused
/// command is recorded on the ticket it names, like any other refusal.
pub fn named_ticket(args: &str) -> Option<(TicketNo, &'static str)> {
    let (verb, rest) = split_first(args);
    let verb = verb?.to_ascii_lowercase();
    let known = HELP
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("/ticket ")?.split_whitespace();
            let v = words.next()?;
            (words.next() == Some("N")).then_some(v)
        })
        .find(|v| *v == verb)?;
    let n = TicketNo::parse(split_first(rest).0?)?;
    Some((n, known))
}

/// Action id for a button that runs a command on a ticket: `ticket:claim:42`.
pub fn action(verb: &str, n: TicketNo) -> String {
    format!("ticket:{verb}:{}", n.0)
}

/// Parses a button action id back into a command.
pub fn parse_action(action: &str) -> Result<Command, String> {
    let mut parts = action.splitn(3, ':');
    let (Some("ticket"), Some(verb), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("unknown button `{action}`"));
    };
    // Vendor buttons carry the vendor after the number: `ticket:escalate:4:acme`.
    let (n, vendor) = match n.split_once(':') {
        Some((n, v)) if matches!(verb, "escalate" | "chase" | "snooze") => (n, Some(v.to_string())),
        _ => (n, None),
    };
    let n = TicketNo::parse(n).ok_or_else(|| format!("button `{action}` has no ticket number"))?;
    Ok(match verb {
        // `ticket:escalate:4:acme:anyway`: picked knowingly from every vendor (none covers the category).
        "escalate" => match vendor.as_deref().and_then(|v| v.strip_suffix(":anyway")) {
            Some(v) => Command::Escalate(n, Some(v.to_string()), Some("anyway".into())),
            None => Command::Escalate(n, vendor, None),
        },
        "chase" => Command::Chase(n, vendor),
        "snooze" => Command::Snooze(n, vendor),
        "claim" => Command::Claim(n),
        "unclaim" => Command::Unclaim(n),
        "resolve" => Command::Resolve(n, None),
        "reopen" => Command::Reopen(n, None),
        "close" => Command::Close(n),
        "show" => Command::Show(n),
        "approve" => Command::Approve(n),
        "decline" => Command::Decline(n, None),
        "rate-good" => Command::Rate(n, true),
        "rate-bad" => Command::Rate(n, false),
        "reply" => Command::Prompt(n, "reply"),
        "note" => Command::Prompt(n, "note"),
        "problem" => Command::Problem(n),
        "major" => Command::Major(n),
        super::silence::BUTTON_VERB => Command::Silence(n, super::silence::BUTTON_SILENCE, None),
        _ => return Err(format!("unknown button `{action}`")),
    })
}

/// Action id for a vendor button: `ticket:chase:42:acme`.
pub fn vendor_action(verb: &str, n: TicketNo, vendor: &str) -> String {
    format!("ticket:{verb}:{}:{vendor}", n.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_cannot_be_parsed_still_names_its_ticket() {
        assert_eq!(named_ticket("claim 2 3"), Some((TicketNo(2), "claim")));
        assert_eq!(named_ticket("Merge #1 into 1"), Some((TicketNo(1), "merge")));
        assert_eq!(named_ticket("vendor-update 4"), Some((TicketNo(4), "vendor-update")));
        // Only commands that take a ticket number, and only a number.
        assert_eq!(named_ticket("queue 2"), None);
        assert_eq!(named_ticket("frobnicate 2"), None);
        assert_eq!(named_ticket("claim two"), None);
        assert_eq!(named_ticket("claim"), None);
    }

    #[test]
    fn parses_vendor_commands_and_buttons() {
        assert_eq!(
            parse_ticket("escalate 4 ACME line down since 9").unwrap(),
            Command::Escalate(TicketNo(4), Some("acme".into()), Some("line down since 9".into()))
        );
        assert!(parse_ticket("escalate 4").is_err());
        assert_eq!(parse_ticket("vendor-ref 4 ABC123").unwrap(), Command::VendorRef(TicketNo(4), "ABC123".into()));
        assert!(parse_ticket("vendor-update 4").is_err());
        assert_eq!(parse_ticket("vendor-close 4").unwrap(), Command::VendorClose(TicketNo(4), None, true));
        assert_eq!(
            parse_ticket("vendor-close 4 acme quiet").unwrap(),
            Command::VendorClose(TicketNo(4), Some("acme".into()), false)
        );
        assert_eq!(parse_ticket("vendor-close 4 quiet").unwrap(), Command::VendorClose(TicketNo(4), None, false));
        assert_eq!(
            parse_action("ticket:escalate:4:acme:anyway").unwrap(),
            Command::Escalate(TicketNo(4), Some("acme".into()), Some("anyway".into()))
        );
        assert_eq!(parse_action("ticket:escalate:4").unwrap(), Command::Escalate(TicketNo(4), None, None));
        assert_eq!(parse_action("ticket:chase:4:acme").unwrap(), Command::Chase(TicketNo(4), Some("acme".into())));
        assert_eq!(
            parse_action(&vendor_action("snooze", TicketNo(4), "acme")).unwrap(),
            Command::Snooze(TicketNo(4), Some("acme".into()))
        );
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse_ticket("claim 4").unwrap(), Command::Claim(TicketNo(4)));
        assert_eq!(parse_ticket("CLAIM #4").unwrap(), Command::Claim(TicketNo(4)));
        assert_eq!(parse_ticket("reply 4  on my way ").unwrap(), Command::Reply(TicketNo(4), "on my way".into()));
        assert_eq!(parse_ticket("resolve 4").unwrap(), Command::Resolve(TicketNo(4), None));
        assert_eq!(
            parse_ticket("resolve 4 swapped toner").unwrap(),
            Command::Resolve(TicketNo(4), Some("swapped toner".into()))
        );
        assert_eq!(parse_ticket("").unwrap(), Command::Help);
        assert_eq!(parse_ticket("queue").unwrap(), Command::Queue { category: None, unowned: false });
        assert_eq!(
            parse_ticket("queue printing --unowned").unwrap(),
            Command::Queue { category: Some("printing".into()), unowned: true }
        );
        assert_eq!(parse_ticket("assign 4 @kim").unwrap(), Command::Assign(TicketNo(4), "kim".into()));
        assert_eq!(parse_ticket("assign 4 <@U123|kim>").unwrap(), Command::Assign(TicketNo(4), "U123".into()));
        assert_eq!(parse_ticket("priority 4 p1").unwrap(), Command::Priority(TicketNo(4), Priority::P1));
        assert_eq!(parse_ticket("category 4 SaaS").unwrap(), Command::Category(TicketNo(4), "saas".into()));
        assert_eq!(parse_ticket("merge 4 into 2").unwrap(), Command::Merge(TicketNo(4), TicketNo(2)));
        assert_eq!(parse_ticket("link 4 2").unwrap(), Command::Link(TicketNo(4), TicketNo(2)));
        assert_eq!(parse_ticket("major #4").unwrap(), Command::Major(TicketNo(4)));
        assert_eq!(parse_ticket("major").unwrap_err(), "`/ticket major` needs a ticket number; usage: /ticket major N");
        assert_eq!(parse_ticket("find floor 2 printer").unwrap(), Command::Find("floor 2 printer".into()));
        assert!(parse_ticket("merge 4 into 4").is_err());
        assert!(parse_ticket("priority 4 urgent").unwrap_err().contains("not a priority"));
        assert!(parse_ticket("assign 4").unwrap_err().contains("needs one person"));
        assert_eq!(
            parse_ticket("pending 4 user which printer?").unwrap(),
            Command::Pending(TicketNo(4), State::PendingUser, Some("which printer?".into()))
        );
        assert!(parse_ticket("pending 4 lunch").unwrap_err().contains("needs `user` or `vendor`"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(parse_ticket("claim").unwrap_err(), "`/ticket claim` needs a ticket number; usage: /ticket claim N");
        assert_eq!(parse_ticket("claim x").unwrap_err(), "`x` is not a ticket number; usage: /ticket claim N");
        assert_eq!(parse_ticket("reply 4").unwrap_err(), "`/ticket reply 4` needs text; usage: /ticket reply N text");
        assert!(parse_ticket("frobnicate 4").unwrap_err().starts_with("unknown command `frobnicate`"));
        assert!(parse_ticket("claim 0").is_err());
        // #30: extra arguments are refused with the usage, never ignored.
        assert_eq!(
            parse_ticket("claim 1 2").unwrap_err(),
            "`/ticket claim 1` takes nothing after the number (`2`); usage: /ticket claim N"
        );
        assert_eq!(parse_ticket("claim 1 --undo").unwrap(), Command::Unclaim(TicketNo(1)));
        assert!(parse_ticket("claim 1 2 --undo").unwrap_err().contains("takes nothing after the number"));
        for cmd in ["unclaim 1 x", "show 1 2", "sla 1 now", "approve 1 yes", "close 1 2", "major 1 2", "problem 1 2"] {
            assert!(parse_ticket(cmd).unwrap_err().contains("takes nothing after the number"), "{cmd}");
        }
        assert_eq!(parse_ticket("link 1 1").unwrap_err(), "a ticket cannot be linked with itself");
        assert_eq!(parse_ticket("merge 1 into 1").unwrap_err(), "a ticket cannot be merged into itself");
    }

    #[test]
    fn parses_silences() {
        let h = chrono::Duration::hours;
        assert_eq!(parse_ticket("silence 4 2h").unwrap(), Command::Silence(TicketNo(4), h(2), None));
        assert_eq!(
            parse_ticket("silence #4 1d failing over to the replica").unwrap(),
            Command::Silence(TicketNo(4), h(24), Some("failing over to the replica".into()))
        );
        assert_eq!(
            parse_ticket("silence 4").unwrap_err(),
            "`/ticket silence 4` needs a duration; usage: /ticket silence N DURATION [comment]"
        );
        assert!(parse_ticket("silence 4 soon").unwrap_err().contains("is not a duration"), "a bad duration");
        assert!(parse_ticket("silence 4 8d").unwrap_err().starts_with("a silence from chat lasts at most 7d"));
        assert!(parse_ticket("silence 4 0m").unwrap_err().contains("at least"));
        assert_eq!(parse_action("ticket:silence-2h:4").unwrap(), Command::Silence(TicketNo(4), h(2), None));
    }

    #[test]
    fn actions_round_trip() {
        let a = action("claim", TicketNo(7));
        assert_eq!(a, "ticket:claim:7");
        assert_eq!(parse_action(&a).unwrap(), Command::Claim(TicketNo(7)));
        assert!(parse_action("ticket:explode:7").is_err());
        assert!(parse_action("nonsense").is_err());
    }

    #[test]
    fn help_lists_helpdesk_commands_for_those_who_may_use_them() {
        use crate::core::roles::Role;
        let staff = help_for(Role::Requester);
        assert!(staff.starts_with(HELP) && !staff.contains("/helpdesk"), "{staff}");
        let tech = help_for(Role::Technician);
        assert!(tech.contains("/helpdesk vendors") && !tech.contains("/helpdesk report"), "{tech}");
        for role in [Role::Manager, Role::Lead, Role::Admin] {
            assert!(help_for(role).contains("/helpdesk report [week|month]"), "{role}");
        }
    }
}
