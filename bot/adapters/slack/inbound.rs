//! Translation of Slack's inbound payloads (Events API callbacks, slash commands, interactivity) into the core's
//! [`Envelope`]s. The same functions serve Socket Mode and the HTTP endpoints: both hand over the same JSON.
//!
//! Dedupe keys, unique per Slack event:
//! - messages and app mentions: `slack:msg:<channel>:<ts>`. Slack's retries of an event carry the same event id
//!   *and* the same message, and a message that mentions the bot arrives twice (as `message` and as
//!   `app_mention`, with two event ids): keyed on the message, it is handled exactly once;
//! - slash commands: `slack:cmd:<trigger_id>`; button presses: `slack:action:<user>:<action_ts>`;
//!   modal submissions: `slack:view:<view id>`.

use super::ChannelMap;
use super::blocks::{ModalKind, TEXT_INPUT, VENDOR_INPUT};
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Body, Envelope};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to do with one inbound payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Hand this to the desk (after the actor's name and role are looked up).
    Handle(Envelope),
    /// A button that opens a modal (reply, resolve, escalate). `fallback` is the plain button press, handled
    /// instead when the presser is not staff or the modal cannot be opened.
    Modal { kind: ModalKind, ticket: TicketNo, trigger_id: String, fallback: Envelope },
    /// Events API `url_verification`: answer with the challenge.
    Challenge(String),
    /// The bot itself joined this channel (logical name): introduce ourselves there if it is the helpdesk
    /// channel.
    Joined { channel: String },
    /// Nothing for the desk (bot messages, edits, joins, other event types).
    Ignore(&'static str),
}

/// Where a modal's button was pressed; travels through the modal as `private_metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalOrigin {
    pub channel: String,
    #[serde(default)]
    pub thread: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub dm: bool,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The person by id; the display name is looked up by the adapter (`users.info`, cached), so one person has one
/// name everywhere (payloads carry only the login handle, if anything).
fn actor(id: &str) -> UserRef {
    UserRef::new(Platform::Slack, id, id)
}

/// Slack's `<…>` markup and entities turned back into what the person typed: `<@U1>` → `@U1`,
/// `<#C1|general>` → `#general`, `<https://x|label>` → `label (https://x)`, `<!here>` → `@here`, `&lt;` → `<`.
pub fn plain_text(text: &str) -> String {
    unmarkup(text, false)
}

/// Slash command text: like [`plain_text`], but a mentioned person becomes `@<user id>`, which is what commands
/// taking a person (`/ticket assign 4 @sam`) need (the manifest asks Slack to escape mentions in commands).
pub fn command_text(text: &str) -> String {
    unmarkup(text, true)
}

fn unmarkup(text: &str, mention_ids: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let shown = if let Some(id) = target.strip_prefix('@') {
            if mention_ids { format!("@{id}") } else { format!("@{}", label.unwrap_or(id)) }
        } else if let Some(id) = target.strip_prefix('#') {
            format!("#{}", label.unwrap_or(id))
        } else if let Some(special) = target.strip_prefix('!') {
            let word = special.split('^').next().unwrap_or(special);
            format!("@{}", label.unwrap_or(word))
        } else {
            match label {
                Some(l) if l != target => format!("{l} ({target})"),
                _ => target.to_string(),
            }
        };
        out.push_str(&shown);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Removes every `<@BOT>` mention (with an optional `|name`) and tidies the spaces it leaves.
fn strip_mention(text: &str, bot: &str) -> (String, bool) {
    let mut found = false;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let open = format!("<@{bot}");
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        match after.chars().next() {
            Some('>') | Some('|') => {
                let Some(end) = after.find('>') else { break };
                out.push_str(&rest[..i]);
                rest = &after[end + 1..];
                found = true;
            }
            _ => {
                out.push_str(&rest[..i + open.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out.split_whitespace().collect::<Vec<_>>().join(" "), found)
}

/// Who the bot is in Slack: its user id (what `<@U…>` mentions name) and its bot id (what its own messages carry
/// as `bot_id`). Learned from `auth.test` at start-up ([`super::Slack::identity`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BotIdentity {
    pub user_id: String,
    pub bot_id: Option<String>,
}

/// The bot's user id as an event callback states it, when `auth.test` could not be asked: only an
/// `authorizations` entry that is a bot counts. The entry can be a person who installed the app (`is_bot: false`),
/// and the legacy `authed_users` list names people too, so neither is taken for the bot.
pub fn bot_from_authorizations(callback: &Value) -> Option<BotIdentity> {
    let auths = callback.get("authorizations")?.as_array()?;
    auths
        .iter()
        .find(|a| a.get("is_bot").and_then(Value::as_bool) == Some(true))
        .and_then(|a| s(a, &["user_id"]))
        .map(|u| BotIdentity { user_id: u.to_string(), bot_id: None })
}

/// What an Events API body (or Socket Mode events payload) is for the desk. `me` is the bot as `auth.test`
/// reported it; without it, an `authorizations` entry marked as a bot stands in.
pub fn push_event(body: &Value, channels: &ChannelMap, me: Option<&BotIdentity>) -> Inbound {
    match s(body, &["type"]) {
        Some("url_verification") => {
            return Inbound::Challenge(s(body, &["challenge"]).unwrap_or_default().to_string());
        }
        Some("event_callback") => {}
        _ => return Inbound::Ignore("not an event callback"),
    }
    let fallback = bot_from_authorizations(body);
    let me = me.or(fallback.as_ref());
    let bot = me.map(|m| m.user_id.clone());
    let Some(ev) = body.get("event") else { return Inbound::Ignore("no event") };
    let kind = s(ev, &["type"]);
    if kind == Some("member_joined_channel") {
        return match (s(ev, &["user"]), s(ev, &["channel"])) {
            (Some(user), Some(channel)) if bot.as_deref() == Some(user) => {
                Inbound::Joined { channel: channels.logical(channel) }
            }
            _ => Inbound::Ignore("someone else joined a channel"),
        };
    }
    if !matches!(kind, Some("message") | Some("app_mention")) {
        return Inbound::Ignore("event type not used");
    }
    if let Some(sub) = s(ev, &["subtype"])
        && !matches!(sub, "file_share" | "thread_broadcast")
    {
        return Inbound::Ignore("message subtype (edit, delete, join, bot message, …)");
    }
    if let (Some(mine), Some(from)) = (me.and_then(|m| m.bot_id.as_deref()), s(ev, &["bot_id"]))
        && mine == from
    {
        return Inbound::Ignore("our own message");
    }
    if ev.get("bot_id").is_some_and(|b| !b.is_null()) || ev.get("bot_profile").is_some_and(|b| !b.is_null()) {
        return Inbound::Ignore("bot message");
    }
    let (Some(user), Some(channel), Some(ts)) = (s(ev, &["user"]), s(ev, &["channel"]), s(ev, &["ts"])) else {
        return Inbound::Ignore("message without user, channel or ts");
    };
    if bot.as_deref() == Some(user) {
        return Inbound::Ignore("our own message");
    }
    let raw = s(ev, &["text"]).unwrap_or_default();
    let (raw, mentioned) = match &bot {
        Some(b) => strip_mention(raw, b),
        None => (raw.trim().to_string(), false),
    };
    let mentioned = mentioned || kind == Some("app_mention");
    let text = plain_text(&raw);
    if text.trim().is_empty() && !mentioned {
        return Inbound::Ignore("empty message");
    }
    let dm = s(ev, &["channel_type"]) == Some("im") || channel.starts_with('D');
    let thread = match s(ev, &["thread_ts"]) {
        Some(t) => Some(t.to_string()),
        None if dm => None,
        None => Some(ts.to_string()),
    };
    Inbound::Handle(Envelope {
        dedupe_key: format!("slack:msg:{channel}:{ts}"),
        actor: actor(user),
        place: Place { channel: channels.logical(channel), thread, message: Some(ts.to_string()), dm },
        mentioned,
        body: Body::Text { text },
    })
}

/// A slash command (form fields of the HTTP request, or the Socket Mode payload).
pub fn command(form: &Value, channels: &ChannelMap) -> Inbound {
    let (Some(command), Some(user), Some(channel), Some(trigger)) =
        (s(form, &["command"]), s(form, &["user_id"]), s(form, &["channel_id"]), s(form, &["trigger_id"]))
    else {
        return Inbound::Ignore("slash command without command, user, channel or trigger");
    };
    let name = command.trim().trim_start_matches('/').to_string();
    let args = command_text(s(form, &["text"]).unwrap_or_default()).trim().to_string();
    let dm = channel.starts_with('D') || s(form, &["channel_name"]) == Some("directmessage");
    Inbound::Handle(Envelope {
        dedupe_key: format!("slack:cmd:{trigger}"),
        actor: actor(user),
        place: Place { channel: channels.logical(channel), thread: None, message: None, dm },
        mentioned: true,
        body: Body::Command { name, args },
    })
}

/// An interactivity payload: `block_actions` (button presses) and `view_submission` (modals).
pub fn interaction(p: &Value, channels: &ChannelMap) -> Inbound {
    match s(p, &["type"]) {
        Some("block_actions") => block_actions(p, channels),
        Some("view_submission") => view_submission(p),
        _ => Inbound::Ignore("interaction type not used"),
    }
}

fn block_actions(p: &Value, channels: &ChannelMap) -> Inbound {
    let Some(user) = s(p, &["user", "id"]) else { return Inbound::Ignore("button press without user") };
    let Some(a) = p.get("actions").and_then(Value::as_array).and_then(|a| a.first()) else {
        return Inbound::Ignore("no action");
    };
    let Some(action) = s(a, &["action_id"]) else { return Inbound::Ignore("action without id") };
    let Some(channel) = s(p, &["container", "channel_id"]).or(s(p, &["channel", "id"])) else {
        return Inbound::Ignore("button outside a conversation (home tab or modal)");
    };
    let message = s(p, &["container", "message_ts"]).or(s(p, &["message", "ts"]));
    let thread = s(p, &["container", "thread_ts"]).or(s(p, &["message", "thread_ts"]));
    let action_ts = s(a, &["action_ts"]).or(s(p, &["trigger_id"])).unwrap_or_default();
    let env = Envelope {
        dedupe_key: format!("slack:action:{user}:{action_ts}"),
        actor: actor(user),
        place: Place {
            channel: channels.logical(channel),
            thread: thread.map(str::to_string),
            message: message.map(str::to_string),
            dm: channel.starts_with('D'),
        },
        mentioned: true,
        body: Body::Action { action: action.to_string() },
    };
    match (ModalKind::for_action(action), s(p, &["trigger_id"])) {
        (Some((kind, ticket)), Some(trigger)) => {
            Inbound::Modal { kind, ticket, trigger_id: trigger.to_string(), fallback: env }
        }
        _ => Inbound::Handle(env),
    }
}

fn input(view: &Value, block: &str) -> Option<String> {
    let v = view.get("state")?.get("values")?.get(block)?.get(block)?;
    let text = v.get("value").and_then(Value::as_str).or_else(|| s(v, &["selected_option", "value"]))?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn view_submission(p: &Value) -> Inbound {
    let Some(user) = s(p, &["user", "id"]) else { return Inbound::Ignore("submission without user") };
    let Some(view) = p.get("view") else { return Inbound::Ignore("submission without view") };
    let (Some(view_id), Some(callback)) = (s(view, &["id"]), s(view, &["callback_id"])) else {
        return Inbound::Ignore("submission without view id or callback id");
    };
    let Some((kind, n)) = ModalKind::for_action(callback) else { return Inbound::Ignore("not one of our modals") };
    let origin: ModalOrigin = s(view, &["private_metadata"])
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(ModalOrigin { channel: user.to_string(), thread: None, message: None, dm: true });
    let text = input(view, TEXT_INPUT);
    // The form fields are the same as typing the command, so the core checks and applies them the same way.
    let args = match kind {
        ModalKind::Reply => format!("reply {} {}", n.0, text.unwrap_or_default()),
        ModalKind::Resolve => format!("resolve {} {}", n.0, text.unwrap_or_default()),
        ModalKind::Escalate => {
            format!("escalate {} {} {}", n.0, input(view, VENDOR_INPUT).unwrap_or_default(), text.unwrap_or_default())
        }
    };
    Inbound::Handle(Envelope {
        dedupe_key: format!("slack:view:{view_id}"),
        actor: actor(user),
        place: Place { channel: origin.channel, thread: origin.thread, message: origin.message, dm: origin.dm },
        mentioned: true,
        body: Body::Command { name: "ticket".into(), args: args.trim().to_string() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> ChannelMap {
        ChannelMap::new(&[("helpdesk".to_string(), "C0HELP".to_string())].into_iter().collect())
    }

    fn callback(event: Value) -> Value {
        json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1,
               "authorizations": [{"user_id": "UBOT", "is_bot": true, "team_id": "T1"}], "event": event})
    }

    #[test]
    fn channel_message_becomes_text_in_a_thread_under_it() {
        let ev = json!({"type": "message", "channel": "C0HELP", "channel_type": "channel", "user": "U1",
                        "ts": "100.1", "text": "printer &lt;3rd floor&gt; jammed &amp; <https://x.example|see>"});
        let Inbound::Handle(e) = push_event(&callback(ev), &map(), None) else { panic!() };
        assert_eq!(e.dedupe_key, "slack:msg:C0HELP:100.1");
        assert_eq!(e.place.channel, "helpdesk");
        assert_eq!(e.place.thread.as_deref(), Some("100.1"));
        assert_eq!(e.place.message.as_deref(), Some("100.1"));
        assert!(!e.mentioned && !e.place.dm);
        assert_eq!(e.body, Body::Text { text: "printer <3rd floor> jammed & see (https://x.example)".into() });
    }

    #[test]
    fn mention_in_message_and_app_mention_give_the_same_envelope() {
        let m = json!({"type": "message", "channel": "C9", "channel_type": "channel", "user": "U1", "ts": "5.5",
                       "thread_ts": "4.4", "text": "<@UBOT> vpn is down"});
        let a = json!({"type": "app_mention", "channel": "C9", "user": "U1", "ts": "5.5", "thread_ts": "4.4",
                       "text": "<@UBOT> vpn is down"});
        let (Inbound::Handle(x), Inbound::Handle(y)) =
            (push_event(&callback(m), &map(), None), push_event(&callback(a), &map(), None))
        else {
            panic!()
        };
        assert_eq!(x, y);
        assert!(x.mentioned);
        assert_eq!(x.place.channel, "C9");
        assert_eq!(x.place.thread.as_deref(), Some("4.4"));
        assert_eq!(x.body, Body::Text { text: "vpn is down".into() });
    }

    #[test]
    fn bots_edits_joins_and_own_messages_are_ignored() {
        for ev in [
            json!({"type": "message", "subtype": "bot_message", "channel": "C0HELP", "bot_id": "B1", "ts": "1.1", "text": "x"}),
            json!({"type": "message", "channel": "C0HELP", "bot_id": "B1", "user": "UOTHERBOT", "ts": "1.1", "text": "x"}),
            json!({"type": "message", "subtype": "message_changed", "channel": "C0HELP", "ts": "1.1"}),
            json!({"type": "message", "subtype": "channel_join", "channel": "C0HELP", "user": "U1", "ts": "1.1", "text": "joined"}),
            json!({"type": "message", "channel": "C0HELP", "user": "UBOT", "ts": "1.1", "text": "hello"}),
            json!({"type": "reaction_added", "user": "U1"}),
        ] {
            assert!(matches!(push_event(&callback(ev.clone()), &map(), None), Inbound::Ignore(_)), "{ev}");
        }
        let dm =
            json!({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "ts": "1.1", "text": "hi"});
        let Inbound::Handle(e) = push_event(&callback(dm), &map(), None) else { panic!() };
        assert!(e.place.dm);
        assert_eq!(e.place.thread, None);
        assert_eq!(
            push_event(&json!({"type": "url_verification", "challenge": "abc"}), &map(), None),
            Inbound::Challenge("abc".into())
        );
    }

    #[test]
    fn the_bot_is_who_auth_test_says_not_the_first_authorization() {
        let me = BotIdentity { user_id: "UBOT".into(), bot_id: Some("BBOT".into()) };
        // Slack's documented wrapper: the one authorization is a person (is_bot false), who also writes the DM.
        let person = |event: Value| {
            json!({"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event_time": 1, "event": event,
                   "authorizations": [{"team_id": "T1", "user_id": "U1", "is_bot": false}]})
        };
        let dm = json!({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "ts": "1.1",
                        "text": "<@UBOT> printer jammed"});
        let Inbound::Handle(e) = push_event(&person(dm.clone()), &map(), Some(&me)) else { panic!("dropped") };
        assert_eq!((e.actor.id.as_str(), e.body.clone()), ("U1", Body::Text { text: "printer jammed".into() }));
        assert!(e.mentioned);
        // Without auth.test's answer a person's authorization is not taken for the bot either.
        let Inbound::Handle(e) = push_event(&person(dm), &map(), None) else { panic!("dropped") };
        assert_eq!(e.body, Body::Text { text: "@UBOT printer jammed".into() });
        // The legacy wrapper: `authed_users` and no `authorizations`.
        let legacy = json!({"type": "event_callback", "team_id": "T1", "event_id": "Ev2", "event_time": 1,
            "authed_users": ["U1"], "event": {"type": "app_mention", "channel": "C9", "user": "U1", "ts": "2.2",
            "text": "<@UBOT> vpn is down"}});
        let Inbound::Handle(e) = push_event(&legacy, &map(), Some(&me)) else { panic!("dropped") };
        assert_eq!(e.body, Body::Text { text: "vpn is down".into() });
        // Our own messages, by user id or bot id, are ours.
        let own = json!({"type": "message", "channel": "C0HELP", "user": "UBOT", "ts": "3.3", "text": "hi"});
        assert_eq!(push_event(&person(own), &map(), Some(&me)), Inbound::Ignore("our own message"));
        let own = json!({"type": "message", "channel": "C0HELP", "bot_id": "BBOT", "ts": "3.4", "text": "hi"});
        assert_eq!(push_event(&person(own), &map(), Some(&me)), Inbound::Ignore("our own message"));
        let other = json!({"type": "message", "channel": "C0HELP", "bot_id": "BOTHER", "ts": "3.5", "text": "hi"});
        assert_eq!(push_event(&person(other), &map(), Some(&me)), Inbound::Ignore("bot message"));
    }

    #[test]
    fn commands_actions_and_modals() {
        let form = json!({"command": "/ticket", "text": "claim 4", "user_id": "U2", "user_name": "sam",
                          "channel_id": "C0HELP", "trigger_id": "tr.1"});
        let Inbound::Handle(e) = command(&form, &map()) else { panic!() };
        assert_eq!(e.dedupe_key, "slack:cmd:tr.1");
        assert_eq!(e.body, Body::Command { name: "ticket".into(), args: "claim 4".into() });
        assert_eq!(e.actor, UserRef::new(Platform::Slack, "U2", "U2"), "the name is looked up later");
        assert_eq!(e.place.channel, "helpdesk");

        let press = |action: &str| {
            json!({"type": "block_actions", "user": {"id": "U2", "username": "sam"}, "trigger_id": "tr.2",
                   "container": {"type": "message", "channel_id": "C0Q", "message_ts": "9.9"},
                   "actions": [{"type": "button", "action_id": action, "action_ts": "10.1"}]})
        };
        let Inbound::Handle(e) = interaction(&press("ticket:claim:4"), &map()) else { panic!() };
        assert_eq!(e.dedupe_key, "slack:action:U2:10.1");
        assert_eq!(e.body, Body::Action { action: "ticket:claim:4".into() });
        assert_eq!(e.place.message.as_deref(), Some("9.9"));
        let Inbound::Modal { kind, ticket, trigger_id, fallback } = interaction(&press("ticket:resolve:4"), &map())
        else {
            panic!()
        };
        assert_eq!((kind, ticket, trigger_id.as_str()), (ModalKind::Resolve, TicketNo(4), "tr.2"));
        assert_eq!(fallback.body, Body::Action { action: "ticket:resolve:4".into() });

        let meta = serde_json::to_string(&ModalOrigin {
            channel: "helpdesk-queue".into(),
            thread: None,
            message: Some("9.9".into()),
            dm: false,
        })
        .unwrap();
        let submit = json!({"type": "view_submission", "user": {"id": "U2", "name": "sam"},
            "view": {"id": "V1", "callback_id": "ticket:escalate:4", "private_metadata": meta,
                     "state": {"values": {
                        "vendor": {"vendor": {"type": "static_select", "selected_option": {"value": "acme", "text": {"type": "plain_text", "text": "Acme"}}}},
                        "text": {"text": {"type": "plain_text_input", "value": " line down since 9 "}}}}}});
        let Inbound::Handle(e) = interaction(&submit, &map()) else { panic!() };
        assert_eq!(e.dedupe_key, "slack:view:V1");
        assert_eq!(e.body, Body::Command { name: "ticket".into(), args: "escalate 4 acme line down since 9".into() });
        assert_eq!(e.place.channel, "helpdesk-queue");
    }

    #[test]
    fn markup_is_made_plain() {
        assert_eq!(
            plain_text("hi <@U1> in <#C1|general> <!here> <mailto:a@b.c|a@b.c>"),
            "hi @U1 in #general @here a@b.c (mailto:a@b.c)"
        );
        assert_eq!(plain_text("a < b"), "a < b");
        assert_eq!(command_text("assign 4 <@U0SAM|sam> &amp; <#C1|general>"), "assign 4 @U0SAM & #general");
        assert_eq!(strip_mention("<@UBOT|desk>  help <@UBOTTER>", "UBOT"), ("help <@UBOTTER>".to_string(), true));
    }
}
