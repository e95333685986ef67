//! `deskbot replay`: runs a scripted conversation through the real core, on an in-memory SQLite store, with a
//! simulated clock. The same script always gives byte-identical output. Script format: README.md, "Replay".

use crate::app;
use crate::config::Config;
use crate::core::clock::{Clock, ManualClock};
use crate::core::desk::Desk;
use crate::core::duration::parse_duration;
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Audience, Body, Envelope, Outbound};
use crate::core::roles::Role;
use crate::core::ticket::Timestamp;
use crate::outbox::{self, Deliver};
use crate::store::{Db, SqliteStore, Store, TicketFilter};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A script error, naming the line.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {msg}")]
pub struct ReplayError {
    pub file: String,
    pub line: usize,
    pub msg: String,
}

/// One parsed script line.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Now(Timestamp),
    Advance(chrono::Duration),
    Role(String, Role),
    Config(PathBuf),
    /// deskbot restarts: a new desk on the same database (roles given with @role are kept).
    Restart,
    /// Monitoring posts alerts: `@alert {generic JSON}` (one line).
    Alert(Vec<crate::core::alerts::AlertGroup>),
    /// Alertmanager posts a notification: `@alertmanager {webhook JSON}` (one line), handled as `serve` handles
    /// its body (the same body again within minutes is a redelivery).
    Alertmanager {
        body: String,
        group: Box<crate::core::alerts::AlertGroup>,
    },
    Say {
        who: String,
        dm: bool,
        thread: Option<TicketNo>,
        /// `(reply)`: in the thread of the person's own last message in the helpdesk channel.
        reply: bool,
        text: String,
    },
    Click {
        who: String,
        label: String,
    },
}

/// The clock before any `@now`: a Monday morning, so scripts without `@now` are still deterministic.
pub fn default_start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid date")
}

/// Parses one line; `Ok(None)` for blank lines and comments.
pub fn parse_line(line: &str) -> Result<Option<Step>, String> {
    let l = line.trim();
    if l.is_empty() || l.starts_with('#') {
        return Ok(None);
    }
    if let Some(rest) = l.strip_prefix('@') {
        let (kw, arg) = rest.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((rest, ""));
        return Ok(Some(match kw {
            "now" => Step::Now(
                DateTime::parse_from_rfc3339(arg)
                    .map_err(|e| format!("@now needs an RFC 3339 time like 2026-03-02T09:00:00Z: {e}"))?
                    .with_timezone(&Utc),
            ),
            "advance" => {
                let d = parse_duration(arg).map_err(|e| format!("@advance: {e}"))?;
                if d <= chrono::Duration::zero() {
                    return Err("@advance needs a positive duration".into());
                }
                Step::Advance(d)
            }
            "role" => {
                let mut it = arg.split_whitespace();
                let (Some(name), Some(role), None) = (it.next(), it.next(), it.next()) else {
                    return Err("usage: @role NAME ROLE".into());
                };
                let role = Role::parse(role)
                    .ok_or_else(|| format!("unknown role `{role}` (requester, technician, lead, manager, admin)"))?;
                Step::Role(name.to_string(), role)
            }
            "restart" if arg.is_empty() => Step::Restart,
            "restart" => return Err("@restart takes no argument".into()),
            "config" if !arg.is_empty() => Step::Config(PathBuf::from(arg)),
            "config" => return Err("usage: @config FILE".into()),
            "alert" => {
                Step::Alert(crate::core::alerts::parse_generic(arg.as_bytes()).map_err(|e| format!("@alert: {e}"))?)
            }
            "alertmanager" => Step::Alertmanager {
                body: arg.to_string(),
                group: Box::new(
                    crate::core::alerts::parse_alertmanager(arg.as_bytes())
                        .map_err(|e| format!("@alertmanager: {e}"))?,
                ),
            },
            other => {
                return Err(format!(
                    "unknown directive `@{other}` (use @now, @advance, @role, @config, @restart, @alert, @alertmanager)"
                ));
            }
        }));
    }
    if let Some((who, label)) = l.split_once(" clicks ") {
        let who = who.trim();
        let label = label.trim();
        if valid_name(who) {
            let Some(label) = label.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
                return Err(format!("button labels are quoted: {who} clicks \"Label\""));
            };
            return Ok(Some(Step::Click { who: who.to_string(), label: label.to_string() }));
        }
    }
    let Some((head, text)) = l.split_once(':') else {
        return Err("expected `NAME: text`, `NAME (dm): text`, `NAME clicks \"Label\"` or a directive".into());
    };
    let head = head.trim();
    let (who, tag) = match head.split_once('(') {
        Some((w, t)) => {
            let t = t.strip_suffix(')').ok_or_else(|| format!("unclosed `(` in `{head}`"))?;
            (w.trim(), Some(t.trim()))
        }
        None => (head, None),
    };
    if !valid_name(who) {
        return Err(format!("`{who}` is not a user name (letters, digits, . _ -)"));
    }
    let (dm, thread, reply) = match tag {
        None => (false, None, false),
        Some("dm") => (true, None, false),
        Some("reply") => (false, None, true),
        Some(t) if t.starts_with("thread") => {
            let n = t.trim_start_matches("thread").trim();
            (false, Some(TicketNo::parse(n).ok_or_else(|| format!("`({t})`: expected (thread #N)"))?), false)
        }
        Some(t) => return Err(format!("unknown tag `({t})`; use (dm), (thread #N) or (reply)")),
    };
    Ok(Some(Step::Say { who: who.to_string(), dm, thread, reply, text: text.trim().to_string() }))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A message as replay saw it delivered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Timestamp,
    pub msg: Outbound,
}

/// Collects delivered messages in order. Silences for Alertmanager are kept aside too: replay answers each as
/// Alertmanager does when it creates one (see [`drain`]).
#[derive(Default)]
struct Recorder {
    clock: Option<Arc<ManualClock>>,
    seen: Mutex<Vec<Seen>>,
    silences: Mutex<Vec<crate::store::OutboxItem>>,
}

impl Deliver for Recorder {
    async fn deliver(&self, item: &crate::store::OutboxItem) -> Result<(), crate::outbox::Failure> {
        let m = &item.message;
        let at = self.clock.as_ref().map(|c| c.now()).unwrap_or_else(default_start);
        // Shown as plain text, whatever platform it was for (an alert's messages keep their quote marks until a
        // platform renders them).
        let mut msg = m.clone();
        msg.text = crate::core::message::plain(&msg.text);
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen { at, msg });
        if m.silence.is_some() {
            self.silences.lock().unwrap_or_else(|e| e.into_inner()).push(item.clone());
        }
        Ok(())
    }
}

/// Delivers everything due, in order; each silence is then answered as Alertmanager answers one it created (silence
/// id `replay-N`, N its outbox id), and what that makes the desk send is delivered too.
async fn drain(d: &Desk<Db>, recorder: &Recorder, clock: &ManualClock) -> Result<(), anyhow::Error> {
    loop {
        outbox::drain(d.store(), recorder, clock, outbox::Worker::in_order("replay", None)).await?;
        let created: Vec<crate::store::OutboxItem> =
            std::mem::take(&mut *recorder.silences.lock().unwrap_or_else(|e| e.into_inner()));
        if created.is_empty() {
            return Ok(());
        }
        for item in created {
            d.silence_created(&item, &format!("replay-{}", item.id)).await?;
        }
    }
}

/// The outcome of a replay.
pub struct Outcome {
    pub messages: Vec<Seen>,
    pub desk: Desk<Db>,
}

/// Renders one message as `bot -> NAME: text [Label]` (newlines shown as ` | `); a message to a vendor as
/// `bot -> vendor ID (via, what): subject | body`.
pub fn render_line(m: &Outbound) -> String {
    let to = match &m.to {
        Audience::User { user } => user.name.clone(),
        Audience::Channel { channel } => format!("#{channel}"),
    };
    // What a vendor is sent is shown whole (subject, then body): it is what leaves the helpdesk.
    if let Some(v) = &m.vendor {
        return format!(
            "bot -> vendor {} ({}, {}): {} | {}",
            v.vendor,
            v.via.label(),
            v.what,
            v.subject,
            v.body.trim_end().replace('\n', " | ")
        );
    }
    // A silence is shown as the request Alertmanager receives.
    if let Some(r) = &m.silence {
        return format!("bot -> alertmanager: POST {} {}", r.url(), r.body());
    }
    let mut s = format!("bot -> {to}: {}", m.text.replace('\n', " | "));
    for b in &m.buttons {
        s.push_str(&format!(" [{}]", b.label));
    }
    if let Some(img) = &m.image {
        // Its pixel size, not its byte size: the bytes change with the encoder and the fonts, not with the chart.
        match png_size(&img.png) {
            Some((w, h)) => s.push_str(&format!(" [image {} {w}x{h}]", img.name)),
            None => s.push_str(&format!(" [image {}: not a readable PNG]", img.name)),
        }
    }
    s
}

/// Width and height of a PNG, or `None` when its header does not read as one.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().ok()?;
    let info = reader.info();
    Some((info.width, info.height))
}

fn user(name: &str) -> UserRef {
    UserRef::new(Platform::Console, name, name)
}

/// Runs a script file.
pub async fn run_file(path: &Path) -> Result<Outcome, anyhow::Error> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    run_script(&text, &path.display().to_string(), path.parent().unwrap_or(Path::new("."))).await
}

/// Runs a script; `base` resolves `@config` paths.
pub async fn run_script(text: &str, file: &str, base: &Path) -> Result<Outcome, anyhow::Error> {
    let err = |line: usize, msg: String| ReplayError { file: file.to_string(), line, msg };
    // Parse everything first: a bad line fails the run before anything happens.
    let mut steps = vec![];
    for (i, l) in text.lines().enumerate() {
        if let Some(s) = parse_line(l).map_err(|m| err(i + 1, m))? {
            steps.push((i + 1, s));
        }
    }
    let clock = Arc::new(ManualClock::new(default_start()));
    let recorder = Recorder { clock: Some(clock.clone()), ..Recorder::default() };
    let mut config = Config::from_parts("(defaults)", "", &[])?;
    let mut desk: Option<Desk<Db>> = None;
    let mut pending_roles: Vec<(String, Role)> = vec![];
    // Every role given so far, re-applied after @restart.
    let mut all_roles: Vec<(String, Role)> = vec![];
    // Each person's last message in the helpdesk channel, for `(reply)`.
    let mut last_said: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (line, step) in steps {
        if let Step::Config(p) = &step {
            if desk.is_some() {
                return Err(err(line, "@config must come before the first message or click".into()).into());
            }
            let path = base.join(p);
            let body = std::fs::read_to_string(&path)
                .map_err(|e| err(line, format!("cannot read config {}: {e}", path.display())))?;
            config = Config::from_parts(&path.display().to_string(), &body, &[]).map_err(|e| err(line, e.0))?;
            continue;
        }
        if let Step::Now(t) = &step {
            if *t < clock.now() && desk.is_some() {
                return Err(err(
                    line,
                    format!("@now {} is before the current time; time only moves forward", rfc3339(*t)),
                )
                .into());
            }
            clock.set(*t);
            continue;
        }
        if let Step::Role(name, role) = &step {
            all_roles.push((name.clone(), *role));
            match &desk {
                Some(d) => d.set_role(&user(name), *role),
                None => pending_roles.push((name.clone(), *role)),
            }
            continue;
        }
        if desk.is_none() {
            let store = Db::Sqlite(SqliteStore::connect("sqlite::memory:").await?);
            store.migrate().await?;
            let d = app::desk(&config, store, clock.clone()).map_err(|e| err(line, e.to_string()))?;
            for (n, r) in pending_roles.drain(..) {
                d.set_role(&user(&n), r);
            }
            // Office history (catalog.train_csv) is trained on before the first message.
            d.learn(false).await.map_err(|e| err(line, e.to_string()))?;
            desk = Some(d);
        }
        if let Step::Restart = step {
            let old = desk.take().expect("built above");
            let d = app::desk(&config, old.store().clone(), clock.clone()).map_err(|e| err(line, e.to_string()))?;
            drop(old);
            for (n, r) in &all_roles {
                d.set_role(&user(n), *r);
            }
            desk = Some(d);
        }
        let d = desk.as_ref().expect("built above");
        let env = match step {
            Step::Restart => None,
            Step::Alert(groups) => {
                d.tick().await.map_err(|e| err(line, e.to_string()))?;
                drain(d, &recorder, &clock).await?;
                d.alerts(&groups, None).await.map_err(|e| err(line, e.to_string()))?;
                None
            }
            Step::Alertmanager { body, group } => {
                d.tick().await.map_err(|e| err(line, e.to_string()))?;
                drain(d, &recorder, &clock).await?;
                d.alertmanager_notification(body.as_bytes(), *group).await.map_err(|e| err(line, e.to_string()))?;
                None
            }
            Step::Advance(by) => {
                // Fire everything that falls due on the way, in order, each at its own instant.
                let target = clock.now() + by;
                let mut stuck = (None, 0);
                while let Some(next) = d.store().next_timer_at().await?
                    && next <= target
                {
                    // A due item that does not go away would loop for ever: report it instead.
                    stuck = if stuck.0 == Some(next) { (Some(next), stuck.1 + 1) } else { (Some(next), 0) };
                    if stuck.1 > 3 {
                        return Err(err(line, format!("scheduler made no progress at {}", rfc3339(next))).into());
                    }
                    clock.set(next.max(clock.now()));
                    d.tick().await.map_err(|e| err(line, e.to_string()))?;
                    drain(d, &recorder, &clock).await?;
                }
                clock.set(target);
                None
            }
            Step::Say { who, dm, thread, reply, text } => {
                let channel = if dm { format!("dm-{who}") } else { d.settings().helpdesk_channel.clone() };
                let thread = match thread {
                    None if reply => {
                        Some(last_said.get(&who).cloned().ok_or_else(|| {
                            err(line, format!("{who} has written nothing in the channel to reply to"))
                        })?)
                    }
                    Some(n) => {
                        let t =
                            d.store().ticket(n).await?.ok_or_else(|| err(line, format!("there is no ticket {n}")))?;
                        Some(
                            t.origin
                                .place
                                .thread
                                .clone()
                                .ok_or_else(|| err(line, format!("{n} has no thread (raised in a DM)")))?,
                        )
                    }
                    None => None,
                };
                if !dm && thread.is_none() {
                    last_said.insert(who.clone(), format!("m{line}"));
                }
                let body = match text.strip_prefix('/') {
                    Some(cmd) => {
                        let (name, args) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
                        Body::Command { name: name.to_string(), args: args.trim().to_string() }
                    }
                    None => Body::Text { text },
                };
                Some(Envelope {
                    dedupe_key: format!("replay:{line}"),
                    actor: user(&who),
                    place: Place { channel, thread, message: Some(format!("m{line}")), dm },
                    mentioned: false,
                    body,
                })
            }
            Step::Click { who, label } => {
                let seen = recorder.seen.lock().unwrap_or_else(|e| e.into_inner());
                let action = find_button(&seen, &who, &label)
                    .ok_or_else(|| err(line, format!("no message to {who} has a button \"{label}\"")))?;
                let place = seen
                    .iter()
                    .rev()
                    .find(|s| s.msg.buttons.iter().any(|b| b.action == action))
                    .map(|s| s.msg.place.clone())
                    .unwrap_or_default();
                Some(Envelope {
                    dedupe_key: format!("replay:{line}"),
                    actor: user(&who),
                    place,
                    mentioned: false,
                    body: Body::Action { action },
                })
            }
            Step::Now(_) | Step::Role(..) | Step::Config(_) => unreachable!("handled above"),
        };
        // Anything already overdue (after @now jumped, or a @restart) fires first, marked late.
        d.tick().await.map_err(|e| err(line, e.to_string()))?;
        drain(d, &recorder, &clock).await?;
        if let Some(env) = env {
            d.handle(&env).await.map_err(|e| err(line, e.to_string()))?;
            // Corrections retrain triage before the next line, so replays stay deterministic.
            d.learn(false).await.map_err(|e| err(line, e.to_string()))?;
        }
        drain(d, &recorder, &clock).await?;
    }
    let desk = match desk {
        Some(d) => d,
        None => {
            let store = Db::Sqlite(SqliteStore::connect("sqlite::memory:").await?);
            store.migrate().await?;
            app::desk(&config, store, clock.clone())?
        }
    };
    let messages = recorder.seen.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Outcome { messages, desk })
}

/// The newest message addressed to `who` (or posted in a channel) that has a button labelled `label`.
fn find_button(seen: &[Seen], who: &str, label: &str) -> Option<String> {
    seen.iter().rev().find_map(|s| {
        let for_them = match &s.msg.to {
            Audience::User { user } => user.id == who,
            Audience::Channel { .. } => true,
        };
        if !for_them {
            return None;
        }
        s.msg.buttons.iter().find(|b| b.label == label).map(|b| b.action.clone())
    })
}

pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: Option<Timestamp>) -> serde_json::Value {
    t.map(|t| json!(rfc3339(t))).unwrap_or(serde_json::Value::Null)
}

impl Outcome {
    /// The text form: one line per bot message.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for m in &self.messages {
            s.push_str(&render_line(&m.msg));
            s.push('\n');
        }
        s
    }

    /// The `--json` form: `{"messages": [...], "tickets": [...], "reports": [...]}`.
    pub async fn json(&self) -> Result<serde_json::Value, anyhow::Error> {
        let to = |m: &Seen| match &m.msg.to {
            Audience::User { user } => json!({"user": user.name}),
            Audience::Channel { channel } => json!({"channel": channel}),
        };
        let messages: Vec<_> = self
            .messages
            .iter()
            .map(|m| {
                let to = to(m);
                json!({
                    "at": rfc3339(m.at),
                    "to": to,
                    "channel": m.msg.place.channel,
                    "thread": m.msg.place.thread,
                    "kind": m.msg.kind,
                    "ticket": m.msg.ticket.map(|t| t.0),
                    "text": m.msg.text,
                    "buttons": m.msg.buttons.iter().map(|b| json!({"label": b.label, "action": b.action})).collect::<Vec<_>>(),
                    "image": m.msg.image.as_ref().map(|i| i.name.clone()),
                })
            })
            .collect();
        let store = self.desk.store();
        let mut tickets = vec![];
        for t in store.tickets(&TicketFilter::default()).await? {
            let events: Vec<_> = store
                .events(t.number)
                .await?
                .into_iter()
                .map(|e| {
                    let mut v = serde_json::to_value(&e).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("at".into(), json!(rfc3339(e.at)));
                        o.insert("actor".into(), json!(e.actor.as_ref().map(|a| a.name.clone())));
                    }
                    v
                })
                .collect();
            tickets.push(json!({
                "number": t.number.0,
                "title": t.title,
                "category": t.category,
                "intent": t.intent,
                "type": t.ticket_type,
                "priority": t.priority,
                "state": t.state,
                "owner": t.owner.as_ref().map(|o| o.name.clone()),
                "requester": t.requester.name,
                "created_at": rfc3339(t.created_at),
                "first_response_due": opt_time(t.first_response_due),
                "resolution_due": opt_time(t.resolution_due),
                "next_response_due": opt_time(t.next_response_due),
                "sla_policy": t.sla_policy,
                "breaches": t.breaches.iter().map(|b| json!({"clock": b.clock, "due": rfc3339(b.due)})).collect::<Vec<_>>(),
                "first_response_at": opt_time(t.first_response_at),
                "resolved_at": opt_time(t.resolved_at),
                "closed_at": opt_time(t.closed_at),
                "deflected": t.deflected,
                "reopen_count": t.reopen_count,
                "events": events,
            }));
        }
        // Every report delivered during the run (asked for, or the scheduled post), in order, whole.
        let reports: Vec<_> = self
            .messages
            .iter()
            .filter_map(|m| m.msg.report.as_ref().map(|r| json!({"at": rfc3339(m.at), "to": to(m), "report": r})))
            .collect();
        Ok(json!({"messages": messages, "tickets": tickets, "reports": reports}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_line_kind() {
        assert_eq!(parse_line("  # comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert!(matches!(parse_line("@now 2026-03-02T09:00:00Z").unwrap(), Some(Step::Now(_))));
        assert_eq!(parse_line("@advance 1h30m").unwrap(), Some(Step::Advance(chrono::Duration::minutes(90))));
        assert_eq!(parse_line("@role sam technician").unwrap(), Some(Step::Role("sam".into(), Role::Technician)));
        assert_eq!(
            parse_line("alice: printer jammed: again").unwrap(),
            Some(Step::Say {
                who: "alice".into(),
                dm: false,
                thread: None,
                reply: false,
                text: "printer jammed: again".into()
            })
        );
        assert_eq!(
            parse_line("alice (dm): hi").unwrap(),
            Some(Step::Say { who: "alice".into(), dm: true, thread: None, reply: false, text: "hi".into() })
        );
        assert_eq!(
            parse_line("alice (thread #3): still broken").unwrap(),
            Some(Step::Say {
                who: "alice".into(),
                dm: false,
                thread: Some(TicketNo(3)),
                reply: false,
                text: "still broken".into()
            })
        );
        assert_eq!(
            parse_line("sam clicks \"Claim\"").unwrap(),
            Some(Step::Click { who: "sam".into(), label: "Claim".into() })
        );
    }

    #[test]
    fn bad_lines_say_why() {
        for (l, want) in [
            ("@advance 5x", "unknown unit"),
            ("@advance 0m", "positive"),
            ("@now yesterday", "RFC 3339"),
            ("@role sam", "usage"),
            ("@role sam wizard", "unknown role"),
            ("@teleport", "unknown directive"),
            ("no colon here", "expected"),
            ("alice (tread #1): x", "unknown tag"),
            ("sam clicks Claim", "quoted"),
            ("two words: hi", "not a user name"),
        ] {
            let e = parse_line(l).unwrap_err();
            assert!(e.contains(want), "{l}: {e}");
        }
    }
}
