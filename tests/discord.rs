//! The Discord adapter against a local fake of Discord's REST API (serenity's real HTTP client, pointed at it with
//! `proxy` and the rate limiter off), with gateway events and interactions in the shapes Discord documents.

use crate::common;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use deskbot::adapters::discord::gateway::{GatewayLease, Setup, register_commands};
use deskbot::adapters::discord::{Discord, DiscordSink, Roles, deliver, endpoint};
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::{Desk, Handled};
use deskbot::core::ids::{Place, Platform, TicketNo, UserRef};
use deskbot::core::message::{Audience, MessageKind, Outbound};
use deskbot::core::ticket::State as TicketState;
use deskbot::store::{Db, OutboxItem, Store};
use serde_json::{Value, json};
use serenity::all::{Interaction, Message};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const APP: u64 = 555;
const GUILD: &str = "300";
const HELPDESK: u64 = 100;
const QUEUE: u64 = 200;
const BOT: u64 = 999;
const TECH_ROLE: &str = "900";
const ADA: &str = "7001";
const SAM: &str = "7002";
const MIA: &str = "7003";

/// One request the fake received: method, path, and the JSON body (`payload_json` for multipart uploads, whose
/// files are listed by name and size).
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    body: Value,
    files: Vec<(String, usize)>,
}

/// A fake Discord REST API on 127.0.0.1: records calls; answers with complete objects; scripted failures first.
#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Answers to give before normal service: (status, JSON body).
    script: Arc<Mutex<VecDeque<(u16, Value)>>>,
    ids: Arc<AtomicU64>,
}

fn user_json(id: &str, name: &str) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": name, "avatar": null})
}

fn message_json(id: &str, channel: &str, author: Value, content: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "author": author, "content": content,
        "timestamp": "2026-03-02T09:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0
    })
}

/// Splits a multipart body into its `payload_json` and the files' (name, size).
fn multipart(content_type: &str, body: &[u8]) -> (Value, Vec<(String, usize)>) {
    let boundary = content_type.split("boundary=").nth(1).unwrap_or("").trim_matches('"');
    let text = String::from_utf8_lossy(body);
    let mut payload = Value::Null;
    let mut files = vec![];
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, data)) = part.split_once("\r\n\r\n") else { continue };
        let data = data.strip_suffix("\r\n").unwrap_or(data);
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(data).unwrap();
        } else if let Some(f) = head.split("filename=\"").nth(1) {
            files.push((f.split('"').next().unwrap().to_string(), data.len()));
        }
    }
    (payload, files)
}

impl Fake {
    async fn start(&self) -> String {
        async fn any(State(f): State<Fake>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
            let path = uri.path().to_string();
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let (json_body, files) = if ct.starts_with("multipart/") {
                multipart(&ct, &body)
            } else {
                (serde_json::from_slice(&body).unwrap_or(Value::Null), vec![])
            };
            assert_eq!(headers.get("authorization").unwrap(), "Bot test-token", "the bot token is sent");
            f.calls.lock().unwrap().push(Call {
                method: method.to_string(),
                path: path.clone(),
                body: json_body.clone(),
                files,
            });
            if let Some((status, body)) = f.script.lock().unwrap().pop_front() {
                return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            }
            let next = || (8000 + f.ids.fetch_add(1, Ordering::SeqCst)).to_string();
            let bot = user_json(&BOT.to_string(), "deskbot");
            let seg: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
            let content = json_body.get("content").and_then(Value::as_str).unwrap_or("").to_string();
            match (method.as_str(), seg.as_slice()) {
                ("POST", ["channels", c, "messages"]) => axum::Json(message_json(&next(), c, bot, &content)).into_response(),
                ("PATCH", ["channels", c, "messages", m]) => axum::Json(message_json(m, c, bot, &content)).into_response(),
                ("POST", ["channels", c, "messages", m, "threads"]) => axum::Json(json!({
                    "id": m, "type": 11, "guild_id": GUILD, "parent_id": c, "name": json_body["name"],
                    "owner_id": BOT.to_string(), "thread_metadata": {"archived": false, "auto_archive_duration": 10080,
                    "archive_timestamp": "2026-03-02T09:00:00.000000+00:00", "locked": false}
                }))
                .into_response(),
                ("POST", ["users", "@me", "channels"]) => axum::Json(json!({
                    "id": format!("6{}", json_body["recipient_id"].as_str().unwrap_or("0")), "type": 1,
                    "last_message_id": null, "recipients": [user_json(json_body["recipient_id"].as_str().unwrap_or("0"), "someone")]
                }))
                .into_response(),
                ("POST", ["webhooks", _, _]) => axum::Json(message_json(&next(), "1", bot, &content)).into_response(),
                ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
                ("PUT", ["applications", _, "guilds", _, "commands"]) => axum::Json(json!([])).into_response(),
                _ => (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Unknown route", "code": 0}))).into_response(),
            }
        }
        let app = axum::Router::new().fallback(any).with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        base
    }

    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

/// Recorded calls as JSON for snapshots.
fn calls_json(calls: &[Call]) -> Value {
    Value::Array(
        calls
            .iter()
            .map(|c| {
                // Interaction ids (and so tokens) come from a counter shared by tests running in parallel.
                let path = match c.path.split_once("/tok-") {
                    Some((head, _)) => format!("{head}/[interaction token]"),
                    None => c.path.clone(),
                };
                let mut v = json!({"call": format!("{} {path}", c.method), "body": c.body});
                if !c.files.is_empty() {
                    v["files"] = json!(c.files.iter().map(|(n, _)| n).collect::<Vec<_>>());
                }
                v
            })
            .collect(),
    )
}

struct Rig {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    discord: Arc<Discord<Db>>,
    sink: DiscordSink<Db>,
    fake: Fake,
    _dir: tempfile::TempDir,
}

const CONFIG: &str = r#"
[discord]
channels = { helpdesk = "100", helpdesk-queue = "200" }
guilds = ["300"]

[roles.discord]
"role:900" = "technician"
"7003" = "manager"
"#;

impl Rig {
    async fn new() -> Rig {
        Rig::with("").await
    }

    /// A rig whose configuration has `extra` after [`CONFIG`].
    async fn with(extra: &str) -> Rig {
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let fake = Fake::default();
        let base = fake.start().await;
        // REST calls reach the fake through the documented `discord.api_url` setting.
        let toml = CONFIG.replace("guilds = [\"300\"]", &format!("guilds = [\"300\"]\napi_url = \"{base}\"")) + extra;
        let config = Config::from_parts("test", &toml, &[]).unwrap();
        assert_eq!(config.discord.proxy(), Some(base.as_str()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock).unwrap());
        let discord = Arc::new(Discord::new(
            desk.clone(),
            config.discord.clone(),
            Roles::from_config(config.roles.get("discord")),
        ));
        discord.set_bot_user(BOT);
        let http = Setup::new("test-token", Some(APP), &config).http();
        let sink = DiscordSink::new(Arc::new(http), desk.clone(), config.discord.clone());
        Rig { desk, clock, discord, sink, fake, _dir: dir }
    }

    async fn deliver(&self) -> usize {
        deliver::deliver_due(&self.sink, self.clock.as_ref()).await.unwrap()
    }

    async fn ticket(&self, n: i64) -> deskbot::core::ticket::Ticket {
        self.desk.store().ticket(TicketNo(n)).await.unwrap().unwrap()
    }

    /// Answers and handles an interaction as the gateway would; returns the immediate answer as JSON.
    async fn interact(&self, payload: Value) -> Value {
        let i: Interaction = serde_json::from_value(payload).expect("a documented interaction payload");
        let answer = self.discord.on_interaction(&i).await.unwrap();
        let response = serde_json::to_value(&answer.response).unwrap();
        if let Some(work) = answer.work {
            assert_eq!(self.discord.finish(work).await.unwrap(), Handled::Done);
        }
        response
    }
}

fn member(id: &str, name: &str, roles: &[&str]) -> Value {
    json!({"user": user_json(id, name), "nick": null, "roles": roles, "joined_at": "2025-01-01T00:00:00.000000+00:00",
           "deaf": false, "mute": false, "flags": 0, "pending": false, "permissions": "2248473465835073"})
}

static IX: AtomicU64 = AtomicU64::new(1);

/// The fields every interaction carries (Discord docs, "Interaction Object").
fn interaction(kind: u8, channel: u64, who: Value, data: Value) -> Value {
    let id = 9_000_000 + IX.fetch_add(1, Ordering::SeqCst);
    json!({
        "id": id.to_string(), "application_id": APP.to_string(), "type": kind, "data": data,
        "guild_id": GUILD, "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": 0, "name": "channel", "permissions": "2248473465835073"},
        "member": who, "token": format!("tok-{id}"), "version": 1, "app_permissions": "2248473465835073",
        "locale": "en-GB", "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {"0": GUILD},
        "context": 0, "attachment_size_limit": 10485760
    })
}

/// `/ticket <sub> …` (APPLICATION_COMMAND, type 2) with the subcommand's options.
fn slash(channel: u64, who: Value, name: &str, sub: Value) -> Value {
    interaction(2, channel, who, json!({"id": "4001", "name": name, "type": 1, "options": [sub]}))
}

fn button(channel: u64, who: Value, custom_id: &str, card_id: &str) -> Value {
    let mut v = interaction(3, channel, who, json!({"custom_id": custom_id, "component_type": 2}));
    v["message"] = message_json(card_id, &channel.to_string(), user_json(&BOT.to_string(), "deskbot"), "");
    v
}

fn modal(channel: u64, who: Value, custom_id: &str, fields: &[(&str, &str)]) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, v)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": v}]}))
        .collect();
    interaction(5, channel, who, json!({"custom_id": custom_id, "components": rows}))
}

fn gateway_message(
    id: &str,
    channel: u64,
    guild: bool,
    author: (&str, &str),
    roles: &[&str],
    content: &str,
) -> Message {
    let mut v = message_json(id, &channel.to_string(), user_json(author.0, author.1), content);
    if guild {
        v["guild_id"] = json!(GUILD);
        v["member"] = json!({"roles": roles, "joined_at": "2025-01-01T00:00:00.000000+00:00", "deaf": false,
                             "mute": false, "flags": 0, "nick": null});
    }
    serde_json::from_value(v).expect("a documented MESSAGE_CREATE payload")
}

/// Ada (a requester) reports a problem in the helpdesk channel; the outbox is delivered.
async fn ada_reports(rig: &Rig) -> Vec<Call> {
    let msg = gateway_message("5001", HELPDESK, true, (ADA, "Ada"), &[], "my monitor is flickering since this morning");
    assert_eq!(rig.discord.on_message(&msg).await.unwrap(), Some(Handled::Done));
    rig.deliver().await;
    rig.fake.take()
}

#[tokio::test]
async fn message_in_helpdesk_opens_ticket_with_thread_reply_and_card() {
    let rig = Rig::new().await;
    let calls = ada_reports(&rig).await;
    let t = rig.ticket(1).await;
    assert_eq!(t.requester, UserRef::new(Platform::Discord, ADA, "Ada"));
    assert_eq!(t.origin.place.channel, "helpdesk");
    assert_eq!(t.origin.place.thread.as_deref(), Some("5001"), "the ticket's thread starts at Ada's message");
    let paths: Vec<String> = calls.iter().map(|c| format!("{} {}", c.method, c.path)).collect();
    assert_eq!(
        paths,
        [
            "POST /api/v10/channels/100/messages/5001/threads",
            "POST /api/v10/channels/5001/messages",
            "POST /api/v10/channels/200/messages",
        ]
    );
    insta::assert_json_snapshot!("discord_new_ticket", calls_json(&calls));

    // A later message in the thread belongs to the ticket, whoever's replica created the thread.
    let more = gateway_message("5002", 5001, true, (ADA, "Ada"), &[], "it also makes a buzzing noise");
    assert_eq!(rig.discord.on_message(&more).await.unwrap(), Some(Handled::Done));
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    assert!(
        events.iter().any(|e| format!("{:?}", e.kind).contains("buzzing")),
        "the thread message is on ticket #1: {events:?}"
    );
    // The same gateway event again (a resume replays it) changes nothing.
    assert_eq!(rig.discord.on_message(&more).await.unwrap(), Some(Handled::Duplicate));
    // A second reply in the thread reuses the thread.
    rig.deliver().await;
    assert!(rig.fake.take().iter().all(|c| !c.path.ends_with("/threads")));
}

#[tokio::test]
async fn bots_and_other_channels_are_ignored_but_dms_and_mentions_are_read() {
    let rig = Rig::new().await;
    let bot = {
        let mut v = message_json("5101", "100", user_json("42", "otherbot"), "printer is jammed");
        v["author"]["bot"] = json!(true);
        serde_json::from_value::<Message>(v).unwrap()
    };
    assert_eq!(rig.discord.on_message(&bot).await.unwrap(), None);
    let elsewhere = gateway_message("5102", 123, true, (ADA, "Ada"), &[], "my monitor is flickering");
    assert_eq!(rig.discord.on_message(&elsewhere).await.unwrap(), None);
    let mut mention = gateway_message("5103", 123, true, (ADA, "Ada"), &[], "<@999> my monitor is flickering");
    mention.mentions.push(serde_json::from_value(user_json(&BOT.to_string(), "deskbot")).unwrap());
    assert_eq!(rig.discord.on_message(&mention).await.unwrap(), Some(Handled::Done));
    assert_eq!(rig.ticket(1).await.description, "my monitor is flickering", "the mention is stripped");

    let dm = gateway_message("5104", 4444, false, (MIA, "Mia"), &[], "my keyboard is not working at all");
    assert_eq!(rig.discord.on_message(&dm).await.unwrap(), Some(Handled::Done));
    assert!(rig.ticket(2).await.origin.place.dm);
    rig.fake.take();
    rig.deliver().await;
    let calls = rig.fake.take();
    let dm_post = calls.iter().find(|c| c.body["content"].as_str().is_some_and(|t| t.contains("#2"))).unwrap();
    assert_eq!(dm_post.path, format!("/api/v10/channels/6{MIA}/messages"), "Mia's answer is in her DMs");
    assert!(calls.iter().any(|c| c.path == "/api/v10/users/@me/channels" && c.body["recipient_id"] == MIA));
}

#[tokio::test]
async fn claim_button_edits_the_card_in_place_and_answers_ephemerally() {
    let rig = Rig::new().await;
    let first = ada_reports(&rig).await;
    let card_id = "8001"; // the fake's second message (after the reply in the thread): the card
    assert_eq!(first[2].path, "/api/v10/channels/200/messages");

    // Sam has the technician role in the server; no user id is listed for him.
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let response = rig.interact(button(QUEUE, sam.clone(), "ticket:claim:1", card_id)).await;
    assert_eq!(response, json!({"type": 6, "data": null}), "a button is acknowledged without a visible change");
    let t = rig.ticket(1).await;
    assert_eq!(t.owner.as_ref().map(|o| o.id.as_str()), Some(SAM));
    assert_eq!(t.state, TicketState::Open);
    rig.deliver().await;
    let calls = rig.fake.take();
    insta::assert_json_snapshot!("discord_claim_button", calls_json(&calls));
    let edit = calls.iter().find(|c| c.method == "PATCH").expect("the card is edited");
    assert_eq!(edit.path, format!("/api/v10/channels/200/messages/{card_id}"));
    let card = edit.body["embeds"][0]["description"].as_str().unwrap();
    assert!(card.contains("owner Sam"), "{card}");
    let labels: Vec<&str> = edit.body["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Reply", "Resolve"], "Claim is gone once claimed");
    let followup = calls.iter().find(|c| c.path.starts_with("/api/v10/webhooks/555/tok-")).unwrap();
    assert_eq!(followup.body["flags"], 64, "the confirmation is for Sam only");
    assert!(calls.iter().all(|c| c.method != "POST" || c.path != "/api/v10/channels/200/messages"), "no second card");
}

#[tokio::test]
async fn denied_button_is_an_ephemeral_follow_up_and_changes_nothing() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let ada = member(ADA, "Ada", &[]);
    rig.interact(button(QUEUE, ada, "ticket:claim:1", "8001")).await;
    assert!(rig.ticket(1).await.owner.is_none());
    rig.deliver().await;
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].path.starts_with("/api/v10/webhooks/555/tok-"));
    assert_eq!(calls[0].body["flags"], 64);
    assert_eq!(calls[0].body["allowed_mentions"], json!({"parse": [], "users": [], "roles": []}));
}

#[tokio::test]
async fn reply_button_opens_a_modal_whose_submission_replies_without_pinging() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let response = rig.interact(button(QUEUE, sam.clone(), "ticket:reply:1", "8001")).await;
    assert_eq!(response["type"], 9, "a modal: {response}");
    insta::assert_json_snapshot!("discord_reply_modal", response);
    assert!(rig.desk.store().events(TicketNo(1)).await.unwrap().len() <= 2, "opening the modal changes nothing");

    let text = "Please restart it, @everyone here knows the trick (cc @here <@&900>)";
    let response = rig.interact(modal(QUEUE, sam, "modal:reply:1", &[("text", text)])).await;
    assert_eq!(
        (response["type"].clone(), response["data"]["flags"].clone()),
        (json!(5), json!(64)),
        "deferred, ephemeral"
    );
    assert!(rig.ticket(1).await.first_response_at.is_some(), "the reply counts as the first response");
    rig.deliver().await;
    let calls = rig.fake.take();
    let to_ada = calls.iter().find(|c| c.path == "/api/v10/channels/5001/messages").expect("reply in the thread");
    let content = to_ada.body["content"].as_str().unwrap();
    assert!(content.contains("@\u{200B}everyone") && content.contains("@\u{200B}here"), "{content}");
    assert!(!content.contains("@everyone") && !content.contains("@here"));
    for c in &calls {
        assert_eq!(c.body["allowed_mentions"], json!({"parse": [], "users": [], "roles": []}), "{c:?}");
    }
}

#[tokio::test]
async fn slash_commands_with_options_map_to_core_commands() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "ticket",
            json!({"name": "claim", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1}]}),
            "claim 1",
        ),
        (
            "ticket",
            json!({"name": "resolve", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "note", "type": 3, "value": "swapped  the\ncable"}]}),
            "resolve 1 swapped the cable",
        ),
        (
            "ticket",
            json!({"name": "merge", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 3},
                   {"name": "into", "type": 4, "value": 1}]}),
            "merge 3 into 1",
        ),
        (
            "ticket",
            json!({"name": "assign", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "to", "type": 6, "value": "7002"}]}),
            "assign 1 7002",
        ),
        (
            "ticket",
            json!({"name": "queue", "type": 1, "options": [{"name": "unowned", "type": 5, "value": true}]}),
            "queue --unowned",
        ),
        (
            "ticket",
            json!({"name": "claim", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "undo", "type": 5, "value": true}]}),
            "claim 1 --undo",
        ),
        (
            "ticket",
            json!({"name": "silence", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "duration", "type": 3, "value": "1h30m"}, {"name": "comment", "type": 3, "value": "fw swap"}]}),
            "silence 1 1h30m fw swap",
        ),
        (
            "ticket",
            json!({"name": "vendor", "type": 2, "options": [{"name": "ref", "type": 1, "options": [
                   {"name": "ticket", "type": 4, "value": 1}, {"name": "reference", "type": 3, "value": "CASE-9"}]}]}),
            "vendor-ref 1 CASE-9",
        ),
        (
            "helpdesk",
            json!({"name": "report", "type": 1, "options": [{"name": "period", "type": 3, "value": "month"}]}),
            "report month",
        ),
    ];
    for (name, sub, want) in cases {
        let i: Interaction = serde_json::from_value(slash(QUEUE, sam.clone(), name, sub)).unwrap();
        let answer = rig.discord.on_interaction(&i).await.unwrap();
        let work = answer.work.expect("handed to the desk");
        assert_eq!(
            work.envelope.body,
            deskbot::core::message::Body::Command { name: name.into(), args: want.into() },
            "/{name} {want}"
        );
        assert!(work.envelope.dedupe_key.starts_with("discord:9"), "{}", work.envelope.dedupe_key);
        assert_eq!(work.envelope.place.channel, "helpdesk-queue");
    }
    // A missing required option is answered at once, ephemerally, and nothing reaches the desk.
    let i: Interaction =
        serde_json::from_value(slash(QUEUE, sam, "ticket", json!({"name": "reply", "type": 1, "options": []})))
            .unwrap();
    let answer = rig.discord.on_interaction(&i).await.unwrap();
    assert!(answer.work.is_none());
    let r = serde_json::to_value(&answer.response).unwrap();
    assert_eq!((r["type"].clone(), r["data"]["flags"].clone()), (json!(4), json!(64)), "{r}");
}

#[tokio::test]
async fn slash_claim_end_to_end_and_report_with_chart() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let claim = json!({"name": "claim", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1}]});
    rig.interact(slash(HELPDESK, sam, "ticket", claim)).await;
    assert_eq!(rig.ticket(1).await.owner.map(|o| o.name), Some("Sam".into()));
    rig.deliver().await;
    let calls = rig.fake.take();
    assert!(calls.iter().any(|c| c.method == "PATCH" && c.path == "/api/v10/channels/200/messages/8001"), "{calls:?}");

    // Mia is a manager by user id: /helpdesk report comes back with the chart attached.
    let mia = member(MIA, "Mia", &[]);
    let report = json!({"name": "report", "type": 1, "options": [{"name": "period", "type": 3, "value": "week"}]});
    rig.interact(slash(HELPDESK, mia, "helpdesk", report)).await;
    rig.deliver().await;
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].path.starts_with("/api/v10/webhooks/555/"));
    assert_eq!(calls[0].files.len(), 1, "the chart is attached");
    assert!(calls[0].files[0].0.ends_with(".png") && calls[0].files[0].1 > 1000, "{:?}", calls[0].files);
}

#[tokio::test]
async fn autocomplete_offers_open_tickets_technicians_all_requesters_their_own() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let other = gateway_message("5201", HELPDESK, true, (MIA, "Mia"), &[], "my keyboard is not working at all");
    rig.discord.on_message(&other).await.unwrap();
    let typing = |who: Value, typed: &str| {
        interaction(
            4,
            QUEUE,
            who,
            json!({"id": "4001", "name": "ticket", "type": 1, "options": [{"name": "claim", "type": 1,
                   "options": [{"name": "ticket", "type": 4, "value": typed, "focused": true}]}]}),
        )
    };
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let r = rig.interact(typing(sam.clone(), "")).await;
    assert_eq!(r["type"], 8);
    let values: Vec<i64> =
        r["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_i64().unwrap()).collect();
    assert_eq!(values, [2, 1], "newest first");
    let r = rig.interact(typing(sam, "keyb")).await;
    assert_eq!(r["data"]["choices"].as_array().unwrap().len(), 1);
    assert!(r["data"]["choices"][0]["name"].as_str().unwrap().starts_with("#2 · "));
    let r = rig.interact(typing(member(ADA, "Ada", &[]), "")).await;
    let values: Vec<i64> =
        r["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_i64().unwrap()).collect();
    assert_eq!(values, [1], "Ada sees only her own ticket");
}

#[tokio::test]
async fn commands_are_registered_per_guild() {
    let rig = Rig::new().await;
    let config = Config::from_parts("test", CONFIG, &[]).unwrap();
    register_commands(&rig.sink.http, &config.discord).await.unwrap();
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, format!("/api/v10/applications/{APP}/guilds/{GUILD}/commands"));
    insta::assert_json_snapshot!("discord_commands", calls[0].body);
}

fn item(id: i64, m: Outbound) -> OutboxItem {
    OutboxItem { id, created_at: deskbot::replay::default_start(), attempts: 0, message: m }
}

#[tokio::test]
async fn rate_limits_are_retried_after_a_wait_and_refusals_are_not_retried() {
    use deskbot::outbox::Deliver;
    let rig = Rig::new().await;
    let m = Outbound::to_channel(Platform::Discord, "helpdesk", "hello");
    rig.fake
        .script
        .lock()
        .unwrap()
        .push_back((429, json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false})));
    let f = rig.sink.deliver(&item(1, m.clone())).await.unwrap_err();
    assert_eq!(f.retry_after, Some(deliver::RATE_LIMIT_WAIT), "{f}");
    rig.fake.script.lock().unwrap().push_back((502, json!({"message": "bad gateway", "code": 0})));
    let f = rig.sink.deliver(&item(1, m.clone())).await.unwrap_err();
    assert_eq!(f.retry_after, None);
    rig.fake.script.lock().unwrap().push_back((403, json!({"message": "Missing Permissions", "code": 50013})));
    assert!(rig.sink.deliver(&item(1, m.clone())).await.is_ok(), "a refusal is logged, not retried forever");
    assert!(rig.sink.deliver(&item(1, m)).await.is_ok());
    assert_eq!(rig.fake.take().len(), 4);
    // An unmapped logical channel is a configuration error, not a retry loop.
    let lost = Outbound::to_channel(Platform::Discord, "it-managers", "weekly report");
    assert!(rig.sink.deliver(&item(2, lost)).await.is_ok());
    assert!(rig.fake.take().is_empty());
}

#[tokio::test]
async fn an_expired_interaction_falls_back_to_the_channel_or_dm() {
    use deskbot::outbox::Deliver;
    let rig = Rig::new().await;
    let sam = UserRef::new(Platform::Discord, SAM, "Sam");
    rig.desk
        .store()
        .put_platform_ref(Platform::Discord, "ix:77", &format!("{}:tok-77", rig.desk.now().timestamp()), rig.desk.now())
        .await
        .unwrap();
    let place = Place { channel: "helpdesk-queue".into(), thread: None, message: Some("ix:77".into()), dm: false };
    let note = Outbound::to_user(&sam, &place, "only for you").kind(MessageKind::Ephemeral);
    rig.sink.deliver(&item(1, note.clone())).await.unwrap();
    assert_eq!(rig.fake.take()[0].path, "/api/v10/webhooks/555/tok-77");
    rig.clock.set(rig.clock.now() + chrono::Duration::minutes(20));
    rig.sink.deliver(&item(2, note)).await.unwrap();
    let calls = rig.fake.take();
    assert_eq!(calls.last().unwrap().path, format!("/api/v10/channels/6{SAM}/messages"), "{calls:?}");
    let public = Outbound::to_user(&sam, &place, "for everyone");
    assert!(matches!(public.to, Audience::User { .. }));
    rig.sink.deliver(&item(3, public)).await.unwrap();
    assert_eq!(rig.fake.take()[0].path, "/api/v10/channels/200/messages");
}

#[tokio::test]
async fn one_replica_holds_the_gateway_lease() {
    let (store, _dir) = common::sqlite().await;
    let ttl = chrono::Duration::seconds(30);
    let a = GatewayLease { store: &store, holder: "a".into(), ttl };
    let b = GatewayLease { store: &store, holder: "b".into(), ttl };
    let t0 = deskbot::replay::default_start();
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    assert!(a.acquire(at(0)).await.unwrap());
    assert!(!b.acquire(at(1)).await.unwrap(), "a holds it");
    assert!(a.acquire(at(10)).await.unwrap(), "renewed until 40 s");
    assert!(!b.acquire(at(35)).await.unwrap(), "renewal kept it");
    assert!(b.acquire(at(41)).await.unwrap(), "a stopped renewing: b takes over once it expired");
    assert!(!a.acquire(at(42)).await.unwrap(), "a's renewal fails: a must stop its shard");
    b.release().await.unwrap();
    assert!(a.acquire(at(43)).await.unwrap(), "a clean shutdown hands it over at once");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves the interactions endpoint for `key`'s public half on a local port; returns its URL.
async fn serve_endpoint(rig: &Rig, key: &ed25519_dalek::SigningKey) -> String {
    let verifier = endpoint::verifier(&hex(key.verifying_key().as_bytes())).expect("a valid public key");
    let app = endpoint::router(rig.discord.clone(), verifier);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/discord/interactions", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

#[tokio::test]
async fn interactions_endpoint_verifies_ed25519_signatures_and_timestamps() {
    use ed25519_dalek::{Signer, SigningKey};
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let url = serve_endpoint(&rig, &key).await;
    let client = reqwest::Client::new();
    let now = rig.desk.now().timestamp();
    let post = |body: String, sig: Option<String>, ts: i64| {
        let mut r = client.post(&url).header("content-type", "application/json").body(body);
        if let Some(s) = sig {
            r = r.header("X-Signature-Ed25519", s).header("X-Signature-Timestamp", ts.to_string());
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let sign = |ts: i64, body: &str| hex(&key.sign(format!("{ts}{body}").as_bytes()).to_bytes());

    let ping = json!({"id": "1", "application_id": APP.to_string(), "type": 1, "token": "t", "version": 1}).to_string();
    let (status, body) = post(ping.clone(), Some(sign(now, &ping)), now).await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()["type"].clone()), (200, json!(1)), "PING → PONG");

    let forged = SigningKey::from_bytes(&[8u8; 32]);
    let bad = hex(&forged.sign(format!("{now}{ping}").as_bytes()).to_bytes());
    assert_eq!(post(ping.clone(), Some(bad), now).await.0, 401, "signed by another key");
    let tampered = ping.replace("\"t\"", "\"u\"");
    assert_eq!(post(tampered, Some(sign(now, &ping)), now).await.0, 401, "body changed after signing");
    assert_eq!(post(ping.clone(), None, now).await.0, 401, "unsigned");
    let old = now - 301;
    assert_eq!(post(ping.clone(), Some(sign(old, &ping)), old).await.0, 401, "a replay from over 5 minutes ago");
    let edge = now - 299;
    assert_eq!(post(ping.clone(), Some(sign(edge, &ping)), edge).await.0, 200, "within the window");

    // A signed slash command: answered with a deferral, then handled.
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let claim = json!({"name": "claim", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1}]});
    let cmd = slash(QUEUE, sam, "ticket", claim).to_string();
    let (status, body) = post(cmd.clone(), Some(sign(now, &cmd)), now).await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, answer["type"].clone(), answer["data"]["flags"].clone()), (200, json!(5), json!(64)), "{body}");
    // The work runs after the answer; each handled event wakes the outbox worker (earlier wake-ups are stored).
    let claimed = async {
        while rig.ticket(1).await.owner.is_none() {
            rig.discord.wake.notified().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), claimed).await.expect("the command was handled");
    assert_eq!(rig.ticket(1).await.owner.map(|o| o.id), Some(SAM.to_string()));
}

#[tokio::test]
async fn documented_interaction_payloads_are_understood() {
    use ed25519_dalek::{Signer, SigningKey};
    let rig = Rig::new().await;
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let url = serve_endpoint(&rig, &key).await;
    let client = reqwest::Client::new();
    let now = rig.desk.now().timestamp();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platforms/discord");
    // (file, the answer's `type`): PONG, a deferred command answer, a silent acknowledgement of a component.
    let cases = [
        ("ping_minimal.json", 1),
        ("slash_docs.json", 5),
        ("slash_dm_user.json", 5),
        ("slash_subcommand_without_options.json", 5),
        ("button_docs.json", 6),
        ("select_docs.json", 6),
        ("modal_docs.json", 4),
    ];
    for (file, want) in cases {
        let body = std::fs::read_to_string(dir.join(file)).unwrap();
        let sig = hex(&key.sign(format!("{now}{body}").as_bytes()).to_bytes());
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .header("X-Signature-Ed25519", sig)
            .header("X-Signature-Timestamp", now.to_string())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 200, "{file}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["type"], json!(want), "{file}: {text}");
        // Forged: the same body signed by another key is refused before it is read.
        let forged = SigningKey::from_bytes(&[10u8; 32]);
        let bad = hex(&forged.sign(format!("{now}{body}").as_bytes()).to_bytes());
        let r = client
            .post(&url)
            .header("X-Signature-Ed25519", bad)
            .header("X-Signature-Timestamp", now.to_string())
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{file} forged");
    }
    // The member and the data deskbot needs came through: the slash command's author, and the select's choice.
    let parsed = endpoint::parse(&std::fs::read(dir.join("select_docs.json")).unwrap()).unwrap().unwrap();
    match parsed {
        Interaction::Component(c) => {
            assert_eq!(c.data.custom_id, "class_select_1");
            assert_eq!(c.member.as_ref().unwrap().user.name, "Mason");
            assert_eq!(c.member.as_ref().unwrap().nick.as_deref(), Some("Bot Man"));
        }
        other => panic!("not a component: {other:?}"),
    }
    let parsed = endpoint::parse(&std::fs::read(dir.join("slash_dm_user.json")).unwrap()).unwrap().unwrap();
    match parsed {
        Interaction::Command(c) => {
            assert_eq!((c.user.name.as_str(), c.channel_id.get(), c.guild_id), ("Mason", 645027906669510999, None));
        }
        other => panic!("not a command: {other:?}"),
    }
    // Malformed but signed: a clear 400, nothing stored.
    assert!(endpoint::parse(b"[1, 2]").is_err());
    assert!(endpoint::parse(br#"{"type": 3, "id": "1", "token": "t"}"#).is_err(), "a component with no channel");
}

#[tokio::test]
async fn assign_takes_the_technician_role_of_the_member_named_in_the_command() {
    let rig = Rig::new().await;
    ada_reports(&rig).await;
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    let assign = |to: &str, roles: &[&str]| {
        let mut v = slash(
            QUEUE,
            sam.clone(),
            "ticket",
            json!({"name": "assign", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "to", "type": 6, "value": to}]}),
        );
        let mut m = member(to, "Tom", roles);
        m.as_object_mut().unwrap().remove("user");
        v["data"]["resolved"] = json!({"users": {to: user_json(to, "Tom")}, "members": {to: m}});
        v
    };
    // Kim has no helpdesk role in the server: refused.
    rig.interact(assign("7005", &[])).await;
    assert!(rig.ticket(1).await.owner.is_none());
    // Tom has the technician role: assigned.
    rig.interact(assign("7004", &[TECH_ROLE])).await;
    assert_eq!(rig.ticket(1).await.owner.map(|o| o.id), Some("7004".to_string()));
}

/// A gateway connection that records when it runs.
#[derive(Default)]
struct FakeGateway {
    connects: AtomicU64,
    live: std::sync::atomic::AtomicBool,
    changed: tokio::sync::Notify,
}

/// The connection handed to the lease loop; the test keeps the other handle.
struct FakeConn(Arc<FakeGateway>);

impl deskbot::adapters::discord::gateway::Connection for FakeConn {
    async fn run(&self, mut disconnect: tokio::sync::watch::Receiver<bool>) {
        let g = &self.0;
        g.connects.fetch_add(1, Ordering::SeqCst);
        g.live.store(true, Ordering::SeqCst);
        g.changed.notify_one();
        let _ = disconnect.wait_for(|d| *d).await;
        g.live.store(false, Ordering::SeqCst);
        g.changed.notify_one();
    }
}

impl FakeGateway {
    /// Waits (event-driven; the timeout only turns a hang into a failure) until `f` holds.
    async fn until(&self, what: &str, f: impl Fn(&FakeGateway) -> bool) {
        let wait = async {
            while !f(self) {
                self.changed.notified().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), wait).await.unwrap_or_else(|_| panic!("{what}"));
    }
}

#[tokio::test]
async fn the_gateway_disconnects_when_its_lease_is_lost_and_releases_it_on_shutdown() {
    use deskbot::adapters::discord::gateway::{LEASE_NAME, hold};
    let (store, _dir) = common::sqlite().await;
    let store = Arc::new(store);
    let clock = common::clock();
    let ttl = chrono::Duration::seconds(30);
    let gw = Arc::new(FakeGateway::default());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let task = {
        let (store, clock, gw) = (store.clone(), clock.clone(), gw.clone());
        tokio::spawn(async move {
            let lease = GatewayLease { store: store.as_ref(), holder: "a".into(), ttl };
            hold(&lease, &FakeConn(gw), clock.as_ref(), std::time::Duration::from_millis(5), stop).await
        })
    };
    gw.until("a connects", |g| g.live.load(Ordering::SeqCst)).await;
    let b = GatewayLease { store: store.as_ref(), holder: "b".into(), ttl };
    let now = clock.now();
    assert!(!b.acquire(now).await.unwrap(), "a holds the gateway");

    // The lease is taken from under a (as if a's renewals had stalled past expiry): a must disconnect.
    // (a renews every 5 ms and may slip in between; b simply tries again.)
    loop {
        store.release_lease(LEASE_NAME, "a").await.unwrap();
        if b.acquire(now).await.unwrap() {
            break;
        }
    }
    gw.until("a disconnects after a failed renewal", |g| !g.live.load(Ordering::SeqCst)).await;
    assert_eq!(gw.connects.load(Ordering::SeqCst), 1, "a does not reconnect while b holds the lease");

    // b shuts down cleanly: a takes over and connects again.
    b.release().await.unwrap();
    gw.until("a reconnects", |g| g.connects.load(Ordering::SeqCst) == 2 && g.live.load(Ordering::SeqCst)).await;

    // a shuts down: disconnected, and the lease is free at once.
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    assert!(!gw.live.load(Ordering::SeqCst));
    assert!(b.acquire(clock.now()).await.unwrap(), "released on shutdown");
}

#[tokio::test]
async fn long_answers_are_split_and_a_follow_up_before_the_answer_is_retried() {
    use deskbot::outbox::Deliver;
    let rig = Rig::new().await;
    let long = "All tickets this week, one per line.\n".repeat(120); // about 4400 characters
    let mut m = Outbound::to_channel(Platform::Discord, "helpdesk", long.clone());
    m.buttons = vec![deskbot::core::message::Button::new("Show", "ticket:show:1")];
    rig.sink.deliver(&item(1, m)).await.unwrap();
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 3, "three messages of at most 2000 characters");
    assert!(calls.iter().all(|c| c.body["content"].as_str().unwrap().chars().count() <= 2000));
    assert!(calls[..2].iter().all(|c| c.body["components"].as_array().is_none_or(|a| a.is_empty())));
    assert_eq!(calls[2].body["components"][0]["components"][0]["custom_id"], "ticket:show:1", "buttons come last");

    // Discord has not seen the interaction's answer yet: "unknown webhook" is retried, not dropped.
    let now = rig.desk.now();
    rig.desk
        .store()
        .put_platform_ref(Platform::Discord, "ix:78", &format!("{}:tok-78", now.timestamp()), now)
        .await
        .unwrap();
    let place = Place { channel: "helpdesk".into(), thread: None, message: Some("ix:78".into()), dm: false };
    let sam = UserRef::new(Platform::Discord, SAM, "Sam");
    rig.fake.script.lock().unwrap().push_back((404, json!({"message": "Unknown Webhook", "code": 10015})));
    let f = rig.sink.deliver(&item(2, Outbound::to_user(&sam, &place, "done"))).await.unwrap_err();
    assert!(f.error.contains("404"), "{f}");
    rig.sink.deliver(&item(2, Outbound::to_user(&sam, &place, "done"))).await.unwrap();
    assert_eq!(rig.fake.take().len(), 2);
}

#[tokio::test]
async fn joining_the_server_with_the_helpdesk_channel_introduces_the_bot_once() {
    let rig = Rig::new().await;
    // GUILD_CREATE for a server without the helpdesk channel: nothing.
    assert!(!rig.discord.on_guild_join(&[555, 200]).await.unwrap());
    assert_eq!(rig.deliver().await, 0);
    // The helpdesk channel's server: one introduction there.
    assert!(rig.discord.on_guild_join(&[100, 200, 201]).await.unwrap());
    assert_eq!(rig.deliver().await, 1);
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/api/v10/channels/100/messages"));
    let text = calls[0].body["content"].as_str().unwrap();
    assert!(text.contains("IT helpdesk") && text.contains("/ticket help"), "{text}");
    // Discord sends GUILD_CREATE again on every connection (a restart, another replica): nothing more.
    assert!(!rig.discord.on_guild_join(&[100, 200, 201]).await.unwrap());
    assert_eq!(rig.deliver().await, 0);
}

/// #36: Discord's `/ticket` has no subcommand left, so `unclaim` became `claim` with `undo` (as `uncheck` is `check`
/// with `undo`), which leaves room for `/ticket silence`: a technician silences an Alertmanager ticket's group from
/// Discord as from Slack or the console, a requester cannot, and `claim … undo` gives a ticket back.
#[tokio::test]
async fn silence_and_unclaim_work_as_slash_commands() {
    let rig = Rig::with("\n[alerts]\nplatform = \"discord\"\n").await;
    let body = json!({
        "version": "4", "groupKey": "{}:{alertname=\"DbDown\", cluster=\"eu1\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "deskbot", "externalURL": "http://alertmanager.example:9093",
        "groupLabels": {"alertname": "DbDown", "cluster": "eu1"},
        "commonLabels": {"alertname": "DbDown", "cluster": "eu1", "severity": "critical"},
        "commonAnnotations": {"summary": "Primary database unreachable"},
        "alerts": [{"status": "firing", "labels": {"alertname": "DbDown", "cluster": "eu1", "severity": "critical",
            "instance": "db1"}, "annotations": {}, "startsAt": "2026-03-02T08:59:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c1"}]
    })
    .to_string();
    let group = deskbot::core::alerts::parse_alertmanager(body.as_bytes()).unwrap();
    rig.desk.alertmanager_notification(body.as_bytes(), group).await.unwrap();
    rig.deliver().await;
    let calls = rig.fake.take();
    let card = calls.iter().find(|c| c.path == "/api/v10/channels/200/messages").expect("the card in the queue");
    let card_id = "8000";
    assert!(card.body["embeds"][0]["description"].as_str().unwrap().contains("Primary database unreachable"));

    // Ada is no technician: refused, for her eyes only, and nothing is asked of Alertmanager.
    let silence = |who: Value, duration: &str| {
        slash(
            QUEUE,
            who,
            "ticket",
            json!({"name": "silence", "type": 1, "options": [{"name": "ticket", "type": 4, "value": 1},
                   {"name": "duration", "type": 3, "value": duration},
                   {"name": "comment", "type": 3, "value": "failing over to the replica"}]}),
        )
    };
    rig.interact(silence(member(ADA, "Ada", &[]), "2h")).await;
    assert!(rig.ticket(1).await.alert.unwrap().silence.is_none());
    rig.deliver().await;
    let calls = rig.fake.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].body["flags"], 64, "the refusal is for Ada only");

    // A duration past a week is refused with the reason; then Sam silences it for 2h.
    let sam = member(SAM, "Sam", &[TECH_ROLE]);
    rig.interact(silence(sam.clone(), "8d")).await;
    rig.deliver().await;
    let calls = rig.fake.take();
    let said = calls[0].body["content"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("at most 7d"), "{said}");
    assert!(rig.ticket(1).await.alert.unwrap().silence.is_none());

    rig.interact(silence(sam.clone(), "2h")).await;
    let t = rig.ticket(1).await;
    let s = t.alert.as_ref().unwrap().silence.clone().expect("the silence is asked for");
    assert_eq!((s.by.id.as_str(), s.ends_at.to_rfc3339()), (SAM, "2026-03-02T11:00:00+00:00".to_string()));
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    let asked = events.iter().find_map(|e| match &e.kind {
        deskbot::core::ticket::EventKind::SilenceRequested { matchers, comment, .. } => Some((matchers, comment)),
        _ => None,
    });
    let (matchers, comment) = asked.expect("a silence_requested event");
    assert_eq!(matchers, "alertname=\"DbDown\", cluster=\"eu1\"");
    assert_eq!(comment, "deskbot #1: failing over to the replica");
    rig.deliver().await;
    let calls = rig.fake.take();
    let to_sam = calls.iter().find(|c| c.path.starts_with("/api/v10/webhooks/555/tok-")).expect("Sam is answered");
    assert_eq!(to_sam.body["flags"], 64);
    let said = to_sam.body["content"].as_str().unwrap();
    assert!(said.starts_with("Asked Alertmanager (http://alertmanager.example:9093) to silence #1's alert group (alertname=\"DbDown\", cluster=\"eu1\") until Mon 2 Mar 11:00 UTC"), "{said}");
    let edit = calls.iter().find(|c| c.method == "PATCH").expect("the card is edited");
    assert_eq!(edit.path, format!("/api/v10/channels/200/messages/{card_id}"));
    let text = edit.body["embeds"][0]["description"].as_str().unwrap();
    assert!(text.contains("Silence until Mon 2 Mar 11:00 UTC asked by Sam; waiting for Alertmanager"), "{text}");

    // Claimed, then given back with `undo`.
    let claim = |undo: bool| {
        let mut opts = vec![json!({"name": "ticket", "type": 4, "value": 1})];
        if undo {
            opts.push(json!({"name": "undo", "type": 5, "value": true}));
        }
        slash(QUEUE, sam.clone(), "ticket", json!({"name": "claim", "type": 1, "options": opts}))
    };
    rig.interact(claim(false)).await;
    assert_eq!(rig.ticket(1).await.owner.map(|o| o.id), Some(SAM.to_string()));
    rig.interact(claim(true)).await;
    assert_eq!(rig.ticket(1).await.owner, None, "claim with undo gives the ticket back to the queue");
}
