//! The console adapter: a terminal chat with deskbot, no chat platform needed. Every line is a message in the
//! helpdesk channel from the current identity; buttons show as numbered choices.
//!
//! Console-only commands: `/as NAME [ROLE]`, `/dm TEXT`, `/in N TEXT` (write in ticket N's thread), `/quit`.
//! Everything else starting with `/` (e.g. `/ticket queue`) goes to the core.

use crate::core::clock::Clock;
use crate::core::desk::Desk;
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Audience, Body, Envelope};
use crate::core::roles::Role;
use crate::outbox::{self, Deliver};
use crate::store::Store;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Buttons offered in one message: the addressee's console id (`None`: a channel card, for everyone), each
/// button's (label, action), and where the message was posted.
type Offered = (Option<String>, Vec<(String, String)>, Place);

/// `**bold**` in the bot's text as the terminal shows it: ANSI bold when `ansi`, else the words alone (a pipe or a
/// file gets no escape codes and no asterisks). An unpaired `**` is left as it is.
pub fn emphasis(text: &str, ansi: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("**") {
        let Some(len) = rest[start + 2..].find("**") else { break };
        let inner = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        if inner.is_empty() || inner.contains('\n') {
            out.push_str(&rest[start..start + 2 + len + 2]);
        } else if ansi {
            out.push_str("\x1b[1m");
            out.push_str(inner);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(inner);
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Prints delivered messages and remembers the buttons offered to each person.
struct Screen<W> {
    out: Mutex<W>,
    /// Bold shown with ANSI codes (a terminal) or as plain words.
    ansi: bool,
    /// Latest buttons per console user id (channel cards count for everyone): (label, action, place).
    buttons: Mutex<Vec<Offered>>,
}

impl<W: std::io::Write + Send> Deliver for Screen<W> {
    async fn deliver(&self, item: &crate::store::OutboxItem) -> Result<(), crate::outbox::Failure> {
        let m = &item.message;
        let who = match &m.to {
            Audience::User { user } => user.name.clone(),
            Audience::Channel { channel } => format!("#{channel}"),
        };
        let shown = emphasis(&crate::core::message::plain(&m.text), self.ansi);
        let mut text = format!("bot -> {who}: {}", shown.replace('\n', "\n    "));
        if !m.buttons.is_empty() {
            let to = match &m.to {
                Audience::User { user } => Some(user.id.clone()),
                Audience::Channel { .. } => None,
            };
            let choices: Vec<_> = m.buttons.iter().map(|b| (b.label.clone(), b.action.clone())).collect();
            let mut bs = self.buttons.lock().unwrap_or_else(|e| e.into_inner());
            let n: usize = bs.iter().map(|(_, c, _)| c.len()).sum();
            for (i, (label, _)) in choices.iter().enumerate() {
                text.push_str(&format!("  [{}] {label}", n + i + 1));
            }
            bs.push((to, choices, m.place.clone()));
        }
        if let Some(img) = &m.image {
            // The console cannot show pictures: save the chart in a folder of the system's temporary directory
            // (not wherever deskbot was started, which is often the repository) and say where.
            let dir = std::env::temp_dir().join("deskbot-charts");
            let path = dir.join(&img.name);
            match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &img.png)) {
                Ok(()) => text.push_str(&format!("\n    [chart saved to {}]", path.display())),
                Err(e) => text.push_str(&format!("\n    [chart {} not saved: {e}]", path.display())),
            }
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(out, "{text}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string().into())
    }
}

impl<W> Screen<W> {
    /// The action behind choice number `n` for `user`.
    fn choice(&self, user: &str, n: usize) -> Option<(String, Place)> {
        let bs = self.buttons.lock().unwrap_or_else(|e| e.into_inner());
        let mut i = 0;
        for (to, choices, place) in bs.iter() {
            for (_, action) in choices {
                i += 1;
                if i == n {
                    return match to {
                        Some(t) if t != user => None,
                        _ => Some((action.clone(), place.clone())),
                    };
                }
            }
        }
        None
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A unique message id for this console session (also the dedupe key and the thread of tickets it opens).
fn message_id(clock: &dyn Clock) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("console-{}-{}-{n}", std::process::id(), clock.now().timestamp_millis())
}

const BANNER: &str = "deskbot console. Type a message as an employee would; /as NAME [ROLE] switches identity \
(e.g. /as sam technician), /ticket help lists technician commands, a number presses a button, /quit leaves.";

/// Runs the console until end of input or `/quit`. With `ansi` (stdout is a terminal), bold text is shown bold.
pub async fn run<S: Store, R: AsyncBufRead + Unpin, W: std::io::Write + Send>(
    desk: &Desk<S>,
    clock: &dyn Clock,
    input: R,
    output: W,
    start_as: &str,
    ansi: bool,
) -> anyhow::Result<()> {
    let screen = Screen { out: Mutex::new(output), ansi, buttons: Mutex::new(vec![]) };
    let mut me = UserRef::new(Platform::Console, start_as, start_as);
    let say = |s: &Screen<W>, text: String| {
        let mut o = s.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(o, "{text}");
        let _ = o.flush();
    };
    say(&screen, format!("{BANNER}\nYou are {} ({}).", me.name, desk.role_of(&me)));
    // Triage learns from corrections stored in earlier runs.
    desk.learn(true).await?;
    // Deliver anything left from an earlier run first.
    outbox::drain(desk.store(), &screen, clock, outbox::Worker::in_order("console", Some(Platform::Console))).await?;
    let mut lines = input.lines();
    // The scheduler runs in the background: SLA warnings appear while you type.
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let line = tokio::select! {
            line = lines.next_line() => match line? {
                Some(l) => l,
                None => break,
            },
            _ = ticker.tick() => {
                if let Err(e) = desk.tick().await {
                    say(&screen, format!("error: {e}"));
                }
                outbox::drain(desk.store(), &screen, clock, outbox::Worker::in_order("console", Some(Platform::Console))).await?;
                continue;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let id = message_id(clock);
        let helpdesk = desk.settings().helpdesk_channel.clone();
        let channel_place = Place { channel: helpdesk.clone(), thread: None, message: Some(id.clone()), dm: false };
        let body_place: Option<(Body, Place)> = if line == "/quit" || line == "/exit" {
            break;
        } else if let Some(rest) = line.strip_prefix("/as") {
            let mut it = rest.split_whitespace();
            match (it.next(), it.next()) {
                (Some(name), role) => {
                    me = UserRef::new(Platform::Console, name, name);
                    let mut given = false;
                    if let Some(r) = role {
                        match Role::parse(r) {
                            Some(r) => {
                                desk.set_role(&me, r);
                                given = true;
                            }
                            None => say(
                                &screen,
                                format!("unknown role `{r}` (requester, technician, lead, manager, admin)"),
                            ),
                        }
                    }
                    let mut text = format!("You are now {} ({}).", me.name, desk.role_of(&me));
                    if given {
                        // Roles given here are not stored: say so now, not after a restart.
                        text.push_str(&format!(
                            " That role lasts until you quit; to keep it, add `{} = \"{}\"` under [roles.console] in \
                             deskbot.toml.",
                            me.name,
                            desk.role_of(&me)
                        ));
                    }
                    say(&screen, text);
                }
                (None, _) => say(&screen, "usage: /as NAME [ROLE]".into()),
            }
            None
        } else if let Some(text) = line.strip_prefix("/dm ") {
            let place = Place { channel: format!("dm-{}", me.id), thread: None, message: Some(id.clone()), dm: true };
            Some((Body::Text { text: text.to_string() }, place))
        } else if let Some(rest) = line.strip_prefix("/in ") {
            let (n, text) = rest.trim().split_once(char::is_whitespace).unwrap_or((rest, ""));
            match TicketNo::parse(n) {
                Some(n) => match desk.store().ticket(n).await? {
                    Some(t) => Some((
                        Body::Text { text: text.trim().to_string() },
                        Place { message: Some(id.clone()), ..t.origin.place },
                    )),
                    None => {
                        say(&screen, format!("there is no ticket {n}"));
                        None
                    }
                },
                None => {
                    say(&screen, "usage: /in N TEXT".into());
                    None
                }
            }
        } else if let Some(cmd) = line.strip_prefix('/') {
            let (name, args) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
            Some((Body::Command { name: name.to_string(), args: args.trim().to_string() }, channel_place))
        } else if let Ok(n) = line.parse::<usize>() {
            match screen.choice(&me.id, n) {
                Some((action, place)) => Some((Body::Action { action }, place)),
                None => {
                    say(&screen, format!("there is no button [{n}] for {}", me.name));
                    None
                }
            }
        } else {
            Some((Body::Text { text: line.to_string() }, channel_place))
        };
        if let Some((body, place)) = body_place {
            let env = Envelope { dedupe_key: id, actor: me.clone(), place, mentioned: false, body };
            if let Err(e) = desk.handle(&env).await {
                say(&screen, format!("error: {e}"));
            }
            if let Err(e) = desk.learn(true).await {
                say(&screen, format!("error: {e}"));
            }
        }
        if let Err(e) = desk.tick().await {
            say(&screen, format!("error: {e}"));
        }
        outbox::drain(desk.store(), &screen, clock, outbox::Worker::in_order("console", Some(Platform::Console)))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::emphasis;

    #[test]
    fn bold_is_bold_on_a_terminal_and_plain_elsewhere() {
        let t = "pull it out **slowly, with both hands**, then **once** more";
        assert_eq!(emphasis(t, false), "pull it out slowly, with both hands, then once more");
        assert_eq!(
            emphasis(t, true),
            "pull it out \x1b[1mslowly, with both hands\x1b[0m, then \x1b[1monce\x1b[0m more"
        );
        // Unpaired, empty or spanning lines: left alone.
        for odd in ["2 ** 3", "a **** b", "**one\ntwo**"] {
            assert_eq!(emphasis(odd, false), odd);
        }
    }
}
