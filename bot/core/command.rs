//! The `/ticket` command grammar and button action ids, parsed once here for every platform.

use super::ids::TicketNo;
use super::ticket::State;

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
    /// Approve a request waiting for approval.
    Approve(TicketNo),
    /// Decline a request waiting for approval.
    Decline(TicketNo, Option<String>),
    Queue,
    Mine,
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
            | Approve(n)
            | Decline(n, _) => Some(*n),
            Help | Queue | Mine | Start(_) => None,
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
            Approve(_) => "approve",
            Decline(..) => "decline",
            Queue => "queue",
            Mine => "mine",
        }
    }
}

/// Usage lines shown by `/ticket help` and in errors.
pub const HELP: &str = "\
/ticket queue — open tickets, most urgent first
/ticket mine — tickets you own (technicians) or raised (everyone)
/ticket show N — one ticket with its history
/ticket sla N — the ticket's SLA clocks: targets, due times, pauses, breaches
/ticket start RUNBOOK — start a guided request as a new ticket (joiner, leaver, new-laptop, …)
/ticket check N ITEM — tick a checklist item (by number or id)
/ticket approve N — approve a request waiting for approval
/ticket decline N [reason] — decline it
/ticket claim N — take ticket N
/ticket unclaim N — give ticket N back to the queue
/ticket reply N text — public reply to the requester (stops the first-response clock)
/ticket note N text — internal note, never shown to the requester
/ticket pending N user|vendor [reason] — wait on the requester or a vendor (user pauses the SLA clocks)
/ticket resolve N [text] — mark ticket N resolved
/ticket reopen N [reason] — reopen a resolved or closed ticket
/ticket close N — close a resolved ticket";

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
        "queue" => Command::Queue,
        "mine" => Command::Mine,
        "claim" => Command::Claim(number("claim", num)?),
        "unclaim" => Command::Unclaim(number("unclaim", num)?),
        "show" => Command::Show(number("show", num)?),
        "sla" => Command::Sla(number("sla", num)?),
        "start" => match num {
            Some(rb) if text.is_empty() => Command::Start(rb.to_ascii_lowercase()),
            _ => return Err(format!("`/ticket start` needs one runbook name; {}", usage("start"))),
        },
        "check" => {
            let n = number("check", num)?;
            Command::Check(n, needs_text("check", n)?)
        }
        "approve" => Command::Approve(number("approve", num)?),
        "decline" => Command::Decline(number("decline", num)?, opt(text)),
        "close" => Command::Close(number("close", num)?),
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
        other => return Err(format!("unknown command `{other}`. Try:\n{HELP}")),
    })
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
    let n = TicketNo::parse(n).ok_or_else(|| format!("button `{action}` has no ticket number"))?;
    Ok(match verb {
        "claim" => Command::Claim(n),
        "unclaim" => Command::Unclaim(n),
        "resolve" => Command::Resolve(n, None),
        "reopen" => Command::Reopen(n, None),
        "close" => Command::Close(n),
        "show" => Command::Show(n),
        "approve" => Command::Approve(n),
        "decline" => Command::Decline(n, None),
        _ => return Err(format!("unknown button `{action}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parse_ticket("queue").unwrap(), Command::Queue);
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
    }

    #[test]
    fn actions_round_trip() {
        let a = action("claim", TicketNo(7));
        assert_eq!(a, "ticket:claim:7");
        assert_eq!(parse_action(&a).unwrap(), Command::Claim(TicketNo(7)));
        assert!(parse_action("ticket:explode:7").is_err());
        assert!(parse_action("nonsense").is_err());
    }
}
