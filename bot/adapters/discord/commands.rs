//! The slash commands `/ticket …` and `/helpdesk …`: one explicit table, from which both the registration
//! payload (serenity builders) and the mapping of an invocation back to the core's command text are made.
//!
//! `/ticket claim ticket:42` becomes `Body::Command{name: "ticket", args: "claim 42"}`, exactly what a person would
//! type elsewhere, so the core's one grammar ([`crate::core::command`]) parses every platform. Ticket numbers are
//! integer options with autocomplete (open tickets from the store). Discord allows 25 subcommands per command:
//! the vendor commands are grouped under `/ticket vendor …`; `uncheck` and `unclaim` are `check` and `claim` with
//! `undo` set; `/ticket problems`, `/ticket problem`, `/ticket major` and `/ticket help` are not offered as slash
//! commands (the core's help text lists everything).

use serenity::all::{
    CommandData, CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand, CreateCommandOption,
};

/// What one option holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A ticket number (integer, autocompleted).
    Ticket,
    /// Free text.
    Text,
    /// A Discord user (sent to the core as their id).
    User,
    /// One of fixed values.
    Choice(&'static [&'static str]),
    /// A yes/no that adds this word when true (`--unowned`).
    Flag(&'static str),
}

/// One option of a subcommand.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub about: &'static str,
    /// Written before the value in the command text (`merge 4 into 7`).
    pub prefix: Option<&'static str>,
}

/// One subcommand: its Discord name, the optional group, the core verb and its options in command-text order.
#[derive(Debug, Clone, Copy)]
pub struct Sub {
    pub group: Option<&'static str>,
    pub name: &'static str,
    pub verb: &'static str,
    pub about: &'static str,
    pub opts: &'static [Opt],
}

const fn opt(name: &'static str, kind: Kind, required: bool, about: &'static str) -> Opt {
    Opt { name, kind, required, about, prefix: None }
}

const T: Opt = opt("ticket", Kind::Ticket, true, "Ticket number");
const fn text(name: &'static str, required: bool, about: &'static str) -> Opt {
    opt(name, Kind::Text, required, about)
}
const fn sub(name: &'static str, about: &'static str, opts: &'static [Opt]) -> Sub {
    Sub { group: None, name, verb: name, about, opts }
}
const fn vendor(name: &'static str, verb: &'static str, about: &'static str, opts: &'static [Opt]) -> Sub {
    Sub { group: Some("vendor"), name, verb, about, opts }
}

const VENDOR: Opt = text("vendor", false, "Vendor id (may be left out when one case is open)");

/// Every `/ticket` subcommand, in the order Discord shows them.
pub const TICKET: &[Sub] = &[
    // Discord's 25 subcommands are all taken: `/ticket unclaim N` is `claim` with `undo` set, like `uncheck` below,
    // which leaves room for `/ticket silence`.
    sub(
        "claim",
        "Take a ticket (or give it back to the queue)",
        &[T, opt("undo", Kind::Flag("--undo"), false, "Give the ticket back to the queue instead")],
    ),
    sub("reply", "Public reply to the requester", &[T, text("text", true, "What the requester sees")]),
    sub("note", "Internal note, never shown to the requester", &[T, text("text", true, "The note")]),
    sub("resolve", "Mark a ticket resolved", &[T, text("note", false, "What fixed it")]),
    sub("reopen", "Reopen a resolved or closed ticket", &[T, text("reason", false, "Why")]),
    sub("close", "Close a resolved ticket", &[T]),
    sub("show", "One ticket with its history", &[T]),
    sub("sla", "The ticket's SLA clocks", &[T]),
    sub("assign", "Give a ticket to a technician", &[T, opt("to", Kind::User, true, "The technician")]),
    sub(
        "priority",
        "Change the priority (SLA targets follow)",
        &[T, opt("priority", Kind::Choice(&["P1", "P2", "P3", "P4"]), true, "New priority")],
    ),
    sub("category", "Re-categorise (deskbot learns from it)", &[T, text("category", true, "Category id")]),
    sub(
        "pending",
        "Wait on the requester or a vendor",
        &[T, opt("on", Kind::Choice(&["user", "vendor"]), true, "Who we wait on"), text("reason", false, "Why")],
    ),
    sub(
        "escalate",
        "Send the case to a vendor",
        &[T, text("vendor", true, "Vendor id"), text("summary", false, "What the vendor should know")],
    ),
    sub(
        "queue",
        "Open tickets, most urgent first",
        &[
            text("category", false, "Only this category"),
            opt("unowned", Kind::Flag("--unowned"), false, "Only unowned"),
        ],
    ),
    sub("mine", "Tickets you own or raised", &[]),
    sub("find", "Search tickets", &[text("text", true, "Words to look for")]),
    sub("start", "Start a guided request (joiner, leaver, new-laptop, …)", &[text("runbook", true, "Runbook id")]),
    sub(
        "merge",
        "Fold a duplicate into another ticket",
        &[T, Opt { name: "into", kind: Kind::Ticket, required: true, about: "Ticket to keep", prefix: Some("into") }],
    ),
    sub("link", "Relate two tickets", &[T, opt("other", Kind::Ticket, true, "The related ticket")]),
    sub("feedback", "Tell us how we did", &[T, text("text", true, "Your comment")]),
    // Discord's 25 subcommands are all taken: `/ticket uncheck N ITEM` is `check` with `undo` set.
    sub(
        "check",
        "Tick a checklist item (or untick one)",
        &[
            T,
            text("item", true, "Item number or id"),
            opt("undo", Kind::Flag("--undo"), false, "Untick an item ticked by mistake"),
        ],
    ),
    sub(
        "silence",
        "Silence an Alertmanager alert ticket's group in Alertmanager",
        &[
            T,
            text("duration", true, "How long: 30m, 2h, 1d, 1h30m (at most 7d)"),
            text("comment", false, "Why (Alertmanager shows it with the silence)"),
        ],
    ),
    sub("approve", "Approve a request waiting for approval", &[T]),
    sub("decline", "Decline a request waiting for approval", &[T, text("reason", false, "Why")]),
    vendor(
        "ref",
        "vendor-ref",
        "Record the vendor's case reference",
        &[T, text("reference", true, "Their reference"), VENDOR],
    ),
    vendor(
        "update",
        "vendor-update",
        "Record what the vendor said",
        &[T, text("text", true, "What they said"), VENDOR],
    ),
    vendor("close", "vendor-close", "End the vendor case", &[T, VENDOR]),
    vendor("chase", "chase", "Send the vendor a follow-up", &[T, VENDOR]),
    vendor("snooze", "snooze", "Hold vendor follow-ups back a business day", &[T, VENDOR]),
];

/// Every `/helpdesk` subcommand.
pub const HELPDESK: &[Sub] = &[sub(
    "report",
    "KPI summary with a chart (managers and leads)",
    &[
        opt("period", Kind::Choice(&["week", "month"]), false, "Week (default) or month"),
        text("date", false, "A day in the period, YYYY-MM-DD (default: today)"),
    ],
)];

fn option(o: &Opt) -> CreateCommandOption {
    let kind = match o.kind {
        Kind::Ticket => CommandOptionType::Integer,
        Kind::Text | Kind::Choice(_) => CommandOptionType::String,
        Kind::User => CommandOptionType::User,
        Kind::Flag(_) => CommandOptionType::Boolean,
    };
    let mut c = CreateCommandOption::new(kind, o.name, o.about).required(o.required);
    match o.kind {
        Kind::Ticket => c = c.min_int_value(1).set_autocomplete(true),
        Kind::Choice(values) => {
            for v in values {
                c = c.add_string_choice(*v, *v);
            }
        }
        Kind::Text => c = c.max_length(4000),
        _ => {}
    }
    c
}

fn command(name: &str, about: &str, subs: &[Sub]) -> CreateCommand {
    let mut cmd = CreateCommand::new(name).description(about).dm_permission(true);
    let mut groups: Vec<(&str, CreateCommandOption)> = vec![];
    for s in subs {
        let mut sc = CreateCommandOption::new(CommandOptionType::SubCommand, s.name, s.about);
        for o in s.opts {
            sc = sc.add_sub_option(option(o));
        }
        match s.group {
            None => cmd = cmd.add_option(sc),
            Some(g) => match groups.iter_mut().find(|(n, _)| *n == g) {
                Some((_, group)) => *group = group.clone().add_sub_option(sc),
                None => groups.push((
                    g,
                    CreateCommandOption::new(CommandOptionType::SubCommandGroup, g, "Vendor cases").add_sub_option(sc),
                )),
            },
        }
    }
    for (_, g) in groups {
        cmd = cmd.add_option(g);
    }
    cmd
}

/// The commands to register (guild or global): `/ticket` and `/helpdesk`.
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        command("ticket", "Helpdesk tickets: claim, reply, resolve, …", TICKET),
        command("helpdesk", "Helpdesk reports", HELPDESK),
    ]
}

/// The command text for an invocation: `("ticket", "claim 42")`. Errors name what is missing or unknown.
pub fn to_args(data: &CommandData) -> Result<(String, String), String> {
    let table = match data.name.as_str() {
        "ticket" => TICKET,
        "helpdesk" => HELPDESK,
        other => return Err(format!("unknown command `/{other}`")),
    };
    let (group, sub, opts) = match data.options.first().map(|o| (&o.name, &o.value)) {
        Some((name, CommandDataOptionValue::SubCommand(opts))) => (None, name.as_str(), opts.as_slice()),
        Some((g, CommandDataOptionValue::SubCommandGroup(inner))) => match inner.first() {
            Some(CommandDataOption { name, value: CommandDataOptionValue::SubCommand(opts), .. }) => {
                (Some(g.as_str()), name.as_str(), opts.as_slice())
            }
            _ => return Err(format!("`/{} {g}` needs a subcommand", data.name)),
        },
        _ => return Err(format!("`/{}` needs a subcommand", data.name)),
    };
    let spec = table
        .iter()
        .find(|s| s.group == group && s.name == sub)
        .ok_or_else(|| format!("unknown subcommand `/{} {sub}`", data.name))?;
    let mut words = vec![spec.verb.to_string()];
    for o in spec.opts {
        let Some(given) = opts.iter().find(|g| g.name == o.name) else {
            if o.required {
                return Err(format!("`/{} {sub}` needs `{}`", data.name, o.name));
            }
            continue;
        };
        let value = match (&given.value, o.kind) {
            (CommandDataOptionValue::Integer(n), Kind::Ticket) => n.to_string(),
            (CommandDataOptionValue::Autocomplete { value, .. }, _) => value.clone(),
            (CommandDataOptionValue::String(s), Kind::Text | Kind::Choice(_) | Kind::Ticket) => {
                s.split_whitespace().collect::<Vec<_>>().join(" ")
            }
            (CommandDataOptionValue::User(u), Kind::User) => u.to_string(),
            (CommandDataOptionValue::Boolean(true), Kind::Flag(word)) => word.to_string(),
            (CommandDataOptionValue::Boolean(false), Kind::Flag(_)) => continue,
            (v, _) => return Err(format!("option `{}` has an unexpected value {v:?}", o.name)),
        };
        if value.is_empty() {
            continue;
        }
        if let Some(p) = o.prefix {
            words.push(p.to_string());
        }
        words.push(value);
    }
    Ok((data.name.clone(), words.join(" ")))
}

/// The ticket option being typed in an autocomplete request, with what was typed so far.
pub fn focused_ticket(data: &CommandData) -> Option<String> {
    let a = data.autocomplete()?;
    (a.kind == CommandOptionType::Integer || a.name == "ticket").then(|| a.value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_discord_limits() {
        let subcommands = TICKET.iter().filter(|s| s.group.is_none()).count()
            + TICKET.iter().filter_map(|s| s.group).collect::<std::collections::BTreeSet<_>>().len();
        assert!(subcommands <= 25, "Discord allows 25 subcommands, got {subcommands}");
        for s in TICKET.iter().chain(HELPDESK) {
            assert!(s.name.len() <= 32 && s.about.len() <= 100 && s.opts.len() <= 25, "{s:?}");
            // Required options come first (Discord rejects the command otherwise).
            let first_optional = s.opts.iter().position(|o| !o.required).unwrap_or(s.opts.len());
            assert!(s.opts[first_optional..].iter().all(|o| !o.required), "{}", s.name);
            for o in s.opts {
                assert!(o.name.len() <= 32 && !o.about.is_empty() && o.about.len() <= 100, "{o:?}");
            }
        }
    }

    #[test]
    fn every_verb_is_one_the_core_parses() {
        for s in TICKET {
            let mut args = vec![s.verb.to_string()];
            let mut number = 3;
            for o in s.opts.iter().filter(|o| o.required) {
                if let Some(p) = o.prefix {
                    args.push(p.into());
                }
                args.push(match o.kind {
                    Kind::Ticket => {
                        number += 1;
                        number.to_string()
                    }
                    Kind::Choice(v) => v[0].into(),
                    Kind::User => "123".into(),
                    _ if o.name == "duration" => "2h".into(),
                    _ => "word".into(),
                });
            }
            let line = args.join(" ");
            assert!(crate::core::command::parse_ticket(&line).is_ok(), "/ticket {line} does not parse");
            // A flag set (`claim … undo`, `check … undo`) still parses.
            for o in s.opts {
                if let Kind::Flag(word) = o.kind {
                    let line = format!("{line} {word}");
                    assert!(crate::core::command::parse_ticket(&line).is_ok(), "/ticket {line} does not parse");
                }
            }
        }
    }
}
