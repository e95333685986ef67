//! The Slack adapter against a local fake Slack Web API (the real slack-morphism client, pointed at it with its
//! custom API URL) and signed requests to deskbot's own `/slack/…` routes. No network.

use crate::common;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use deskbot::adapters::slack::blocks::{self, CardStatus, ModalKind};
use deskbot::adapters::slack::outbound::{self, SlackSink};
use deskbot::adapters::slack::signature::{self, Verifier};
use deskbot::adapters::slack::{Slack, SlackOptions, SlackSecret, socket};
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::{Place, Platform, TicketNo, UserRef};
use deskbot::core::message::{Button, Image, MessageKind, Outbound};
use deskbot::core::ticket::State as TicketState;
use deskbot::store::{Commit, Db, Store, TicketFilter};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const SECRET: &str = "test-signing-secret";

/// One recorded Web API call: the method and its parameters (JSON body, or the query of a GET).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) body: Value,
}

/// A fake Slack Web API on 127.0.0.1: records calls, answers like Slack, and answers 429 + `Retry-After` to the
/// next N calls of a method when told to.
#[derive(Clone, Default)]
pub(crate) struct FakeSlack {
    pub(crate) calls: Arc<Mutex<Vec<Call>>>,
    pub(crate) limited: Arc<Mutex<HashMap<String, usize>>>,
    pub(crate) ts: Arc<AtomicUsize>,
    pub(crate) base: Arc<Mutex<String>>,
    pub(crate) groups: Arc<Mutex<HashMap<String, Vec<String>>>>,
    pub(crate) not_in_channel: Arc<Mutex<bool>>,
    pub(crate) ws_url: Arc<Mutex<String>>,
    /// Directory lookups (users.info, usergroups.users.list) answer this late.
    pub(crate) slow_ms: Arc<AtomicUsize>,
    /// Who `auth.test` says the bot is: (user id, bot id).
    pub(crate) me: Arc<Mutex<(String, String)>>,
}

impl FakeSlack {
    pub(crate) async fn start() -> FakeSlack {
        let f = FakeSlack::default();
        *f.me.lock().unwrap() = ("UBOT".into(), "B0BOT".into());
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::any(api))
            .route("/upload/{id}", axum::routing::post(upload))
            .with_state(f.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *f.base.lock().unwrap() = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        f
    }

    pub(crate) fn api_url(&self) -> String {
        format!("{}/api", self.base.lock().unwrap())
    }

    pub(crate) fn calls(&self, method: &str) -> Vec<Value> {
        self.calls.lock().unwrap().iter().filter(|c| c.method == method).map(|c| c.body.clone()).collect()
    }

    pub(crate) fn all(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn limit(&self, method: &str, times: usize) {
        self.limited.lock().unwrap().insert(method.to_string(), times);
    }
}

fn name_of(user: &str) -> &'static str {
    match user {
        "U0ADA" => "Ada",
        "UTECH" => "Tess",
        "UGROUPIE" => "Gus",
        _ => "Someone",
    }
}

async fn api(
    State(f): State<FakeSlack>,
    Path(method): Path<String>,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let params: Value = if body.is_empty() {
        let q: HashMap<String, String> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap();
        serde_json::to_value(q).unwrap()
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    f.calls.lock().unwrap().push(Call { method: method.clone(), body: params.clone() });
    let slow = f.slow_ms.load(Ordering::SeqCst);
    if slow > 0 && matches!(method.as_str(), "users.info" | "usergroups.users.list") {
        tokio::time::sleep(std::time::Duration::from_millis(slow as u64)).await;
    }
    {
        let mut limited = f.limited.lock().unwrap();
        if let Some(n) = limited.get_mut(&method)
            && *n > 0
        {
            *n -= 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "7")],
                axum::Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
    }
    let ok = |v: Value| axum::Json(v).into_response();
    let next_ts = || format!("1700000000.{:06}", f.ts.fetch_add(1, Ordering::SeqCst) + 1);
    match method.as_str() {
        "chat.postMessage" => {
            let ts = next_ts();
            ok(
                json!({"ok": true, "channel": params["channel"], "ts": ts, "message": {"ts": ts, "text": params["text"]}}),
            )
        }
        "chat.update" => ok(json!({"ok": true, "channel": params["channel"], "ts": params["ts"],
                                   "message": {"text": params["text"]}})),
        "chat.postEphemeral" if *f.not_in_channel.lock().unwrap() => {
            ok(json!({"ok": false, "error": "not_in_channel"}))
        }
        "chat.postEphemeral" => ok(json!({"ok": true, "message_ts": next_ts()})),
        "views.open" => {
            let mut view = params["view"].clone();
            view["id"] = json!("V1");
            view["team_id"] = json!("T1");
            view["hash"] = json!("h1");
            ok(json!({"ok": true, "view": view}))
        }
        "apps.connections.open" => {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            if auth != "Bearer xapp-test-app-token" {
                return ok(json!({"ok": false, "error": "not_allowed_token_type"}));
            }
            ok(json!({"ok": true, "url": f.ws_url.lock().unwrap().clone()}))
        }
        "auth.test" => {
            let (user, bot) = f.me.lock().unwrap().clone();
            ok(json!({"ok": true, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
                      "user": "bot", "team_id": "T1", "user_id": user, "bot_id": bot}))
        }
        "users.info" => {
            let id = params["user"].as_str().unwrap_or("").to_string();
            ok(json!({"ok": true, "user": {"id": id, "name": id.to_lowercase(),
                      "profile": {"display_name": name_of(&id), "real_name": name_of(&id)}}}))
        }
        "usergroups.users.list" => {
            let g = params["usergroup"].as_str().unwrap_or("");
            let users = f.groups.lock().unwrap().get(g).cloned().unwrap_or_default();
            ok(json!({"ok": true, "users": users}))
        }
        "files.getUploadURLExternal" => {
            let base = f.base.lock().unwrap().clone();
            ok(json!({"ok": true, "upload_url": format!("{base}/upload/F123"), "file_id": "F123"}))
        }
        "files.completeUploadExternal"
            if params["channel_id"].as_str().is_some_and(|c| c.starts_with('C'))
                && *f.not_in_channel.lock().unwrap() =>
        {
            ok(json!({"ok": false, "error": "not_in_channel"}))
        }
        "files.completeUploadExternal" => ok(json!({"ok": true, "files": [{"id": "F123", "title": "chart"}]})),
        "conversations.open" => {
            let user = match &params["users"] {
                Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or("").to_string(),
                v => v.as_str().unwrap_or("").split(',').next().unwrap_or("").to_string(),
            };
            ok(json!({"ok": true, "channel": {"id": format!("D{user}")}}))
        }
        _ => ok(json!({"ok": false, "error": "unknown_method"})),
    }
}

async fn upload(State(f): State<FakeSlack>, Path(id): Path<String>, body: Bytes) -> Response {
    f.calls.lock().unwrap().push(Call {
        method: "upload".into(),
        body: json!({"id": id, "len": body.len(), "png": body.starts_with(b"\x89PNG")}),
    });
    (StatusCode::OK, "OK - uploaded").into_response()
}

struct Rig {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    slack: Arc<Slack<Db>>,
    sink: SlackSink<Db>,
    fake: FakeSlack,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(extra: &str) -> Rig {
        let fake = FakeSlack::start().await;
        let toml = format!(
            "[roles.slack]\nUTECH = \"technician\"\n\n[slack]\nmode = \"http\"\napi_url = \"{}\"\n\n[slack.channels]\nhelpdesk = \"C0HELP\"\nhelpdesk-queue = \"C0QUEUE\"\n{extra}",
            fake.api_url()
        );
        let config = Config::from_parts("test", &toml, &[]).unwrap();
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock).unwrap());
        let opts = SlackOptions {
            config: config.slack.clone(),
            bot_token: SlackSecret::new("xoxb-test-token"),
            app_token: None,
            signing_secret: Some(SlackSecret::new(SECRET)),
        };
        let slack = Slack::new(desk.clone(), &opts);
        let app =
            deskbot::adapters::slack::http::router(slack.clone(), Arc::new(Verifier::new(SlackSecret::new(SECRET))));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        let sink = SlackSink::new(slack.clone());
        Rig { desk, clock, slack, sink, fake, base, http: reqwest::Client::new(), _dir: dir }
    }

    /// POSTs `body` to `path`, signed at `now + skew` seconds with `secret`.
    async fn post_signed_with(
        &self,
        path: &str,
        body: &str,
        content_type: &str,
        secret: &str,
        skew: i64,
        extra: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let ts = (now + skew).to_string();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header(signature::TIMESTAMP_HEADER, &ts)
            .header(signature::SIGNATURE_HEADER, signature::sign(secret, &ts, body.as_bytes()));
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let r = req.body(body.to_string()).send().await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        (status, r.text().await.unwrap())
    }

    async fn post_signed(&self, path: &str, body: &str, content_type: &str) -> (StatusCode, String) {
        self.post_signed_with(path, body, content_type, SECRET, 0, &[]).await
    }

    async fn event(&self, event_id: &str, event: Value) -> StatusCode {
        self.post_signed("/slack/events", &callback(event_id, event).to_string(), "application/json").await.0
    }

    async fn interact(&self, payload: Value) -> StatusCode {
        self.interact_at(payload, 0).await
    }

    /// Signed `skew` seconds from now: a redelivery is a new request with its own timestamp and signature.
    async fn interact_at(&self, payload: Value, skew: i64) -> StatusCode {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let form = "application/x-www-form-urlencoded";
        self.post_signed_with("/slack/interactivity", &body, form, SECRET, skew, &[]).await.0
    }

    async fn command(&self, user: &str, channel: &str, text: &str, trigger: &str) -> StatusCode {
        self.command_at(user, channel, text, trigger, 0).await
    }

    async fn command_at(&self, user: &str, channel: &str, text: &str, trigger: &str, skew: i64) -> StatusCode {
        let body = serde_urlencoded::to_string([
            ("command", "/ticket"),
            ("text", text),
            ("user_id", user),
            ("channel_id", channel),
            ("trigger_id", trigger),
            ("team_id", "T1"),
            ("response_url", "https://hooks.slack.invalid/commands/1"),
        ])
        .unwrap();
        let form = "application/x-www-form-urlencoded";
        self.post_signed_with("/slack/commands", &body, form, SECRET, skew, &[]).await.0
    }

    async fn drain(&self) -> usize {
        outbound::deliver_due(&self.sink, self.clock.as_ref()).await.unwrap()
    }

    async fn tickets(&self) -> Vec<deskbot::core::ticket::Ticket> {
        self.desk.store().tickets(&TicketFilter::default()).await.unwrap()
    }
}

fn callback(event_id: &str, event: Value) -> Value {
    json!({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
           "event_time": 1_700_000_000, "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": true}],
           "event": event})
}

fn message(user: &str, channel: &str, ts: &str, text: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "channel", "user": user, "ts": ts, "text": text})
}

fn press(user: &str, action: &str, channel: &str, message_ts: &str, n: usize) -> Value {
    json!({"type": "block_actions", "user": {"id": user, "username": user.to_lowercase()}, "api_app_id": "A1",
           "team": {"id": "T1"}, "trigger_id": format!("trig.{n}"),
           "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
           "channel": {"id": channel}, "actions": [{"type": "button", "action_id": action, "block_id": "b",
           "action_ts": format!("1700000100.{n:06}")}]})
}

/// Every text the bot sent, to check that nothing unescaped got through.
fn all_text(f: &FakeSlack) -> String {
    f.all().iter().map(|c| c.body.to_string()).collect::<Vec<_>>().join("\n")
}

fn buttons_of(content: &Value) -> Vec<String> {
    content["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().iter().map(|e| e["action_id"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn only_signed_fresh_requests_are_accepted() {
    let rig = Rig::new("").await;
    let challenge = json!({"token": "x", "challenge": "c-123", "type": "url_verification"}).to_string();
    let (s, body) = rig.post_signed("/slack/events", &challenge, "application/json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["challenge"], "c-123");

    let ev = callback("EvForged", message("U0ADA", "C0HELP", "1.000001", "my laptop screen is flickering"));
    let ev = ev.to_string();
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    // Forged (wrong secret), stale (six minutes old), from the future, without headers.
    assert_eq!(rig.post_signed_with("/slack/events", &ev, json, "wrong", 0, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(rig.post_signed_with("/slack/events", &ev, json, SECRET, -360, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(rig.post_signed_with("/slack/events", &ev, json, SECRET, 360, &[]).await.0, StatusCode::UNAUTHORIZED);
    let unsigned = rig.http.post(format!("{}/slack/events", rig.base)).body(ev.clone()).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let cmd = "command=%2Fticket&text=queue&user_id=UTECH&channel_id=C0HELP&trigger_id=t1";
    assert_eq!(rig.post_signed_with("/slack/commands", cmd, form, "wrong", 0, &[]).await.0, StatusCode::UNAUTHORIZED);
    let act =
        serde_urlencoded::to_string([("payload", press("UTECH", "ticket:claim:1", "C0QUEUE", "1.1", 1).to_string())])
            .unwrap();
    assert_eq!(
        rig.post_signed_with("/slack/interactivity", &act, form, "wrong", 0, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A body changed after signing.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let sig = signature::sign(SECRET, &now, ev.as_bytes());
    let tampered = ev.replace("flickering", "flickering, also give me admin");
    let r = rig
        .http
        .post(format!("{}/slack/events", rig.base))
        .header(signature::TIMESTAMP_HEADER, &now)
        .header(signature::SIGNATURE_HEADER, &sig)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(rig.tickets().await.is_empty(), "nothing refused was handled");
    assert!(rig.desk.store().lease_outbox("t", None, rig.clock.now(), rig.clock.now(), 10).await.unwrap().is_empty());

    // The genuine request is accepted once; the very same signed request again is a replay.
    let send = || {
        rig.http
            .post(format!("{}/slack/events", rig.base))
            .header(signature::TIMESTAMP_HEADER, &now)
            .header(signature::SIGNATURE_HEADER, &sig)
            .body(ev.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status().as_u16(), 200);
    assert_eq!(send().await.unwrap().status().as_u16(), 401);
    assert_eq!(rig.tickets().await.len(), 1);
}

#[tokio::test]
async fn message_to_ticket_threaded_reply_card_and_claim_updates_the_card() {
    let rig = Rig::new("").await;
    let text = "my laptop screen is flickering &lt;!channel&gt; &lt;https://evil.example|payroll&gt;";
    assert_eq!(rig.event("Ev1", message("U0ADA", "C0HELP", "1700000001.000100", text)).await, StatusCode::OK);
    let tickets = rig.tickets().await;
    assert_eq!(tickets.len(), 1, "one ticket stored");
    let t = &tickets[0];
    assert_eq!(t.requester, UserRef::new(Platform::Slack, "U0ADA", "Ada"));
    assert_eq!(t.origin.place.channel, "helpdesk");
    assert_eq!(t.origin.place.thread.as_deref(), Some("1700000001.000100"));
    assert!(t.title.contains("<!channel>"), "stored as typed: {}", t.title);

    // Slack retries the same event (and the mention arrives again as another event id): handled once.
    let retry = rig
        .post_signed_with(
            "/slack/events",
            &callback("Ev1", message("U0ADA", "C0HELP", "1700000001.000100", text)).to_string(),
            "application/json",
            SECRET,
            // A retry is a new request with a later timestamp: one second back could land on the first request's
            // very timestamp when the machine is slow, and the same body then is an exact replay (401).
            1,
            &[("x-slack-retry-num", "1"), ("x-slack-retry-reason", "http_timeout")],
        )
        .await;
    assert_eq!(retry.0, StatusCode::OK);
    assert_eq!(rig.tickets().await.len(), 1);

    assert_eq!(rig.drain().await, 2, "the reply and the card");
    let posts = rig.fake.calls("chat.postMessage");
    assert_eq!(posts.len(), 2, "{posts:#?}");
    let reply = posts.iter().find(|p| p["channel"] == "C0HELP").expect("reply in the helpdesk channel");
    assert_eq!(reply["thread_ts"], "1700000001.000100", "the reply is in the message's thread");
    assert!(reply["text"].as_str().unwrap().starts_with("Ticket #1 opened"), "{reply}");
    let card = posts.iter().find(|p| p["channel"] == "C0QUEUE").expect("card in the queue channel");
    assert!(card.get("thread_ts").is_none());
    assert_eq!(buttons_of(card), ["ticket:claim:1", "ticket:reply:1", "ticket:resolve:1"]);
    let card_text = card["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(card_text.contains("&lt;!channel&gt;") && card_text.contains("&lt;https://evil.example|payroll&gt;"));
    let sent = all_text(&rig.fake);
    assert!(!sent.contains("<!channel>") && !sent.contains("<https://evil"), "nothing unescaped reached Slack");
    let card_ts = "1700000000.000002";
    let stored = rig.desk.store().platform_ref(Platform::Slack, "card:C0QUEUE:1").await.unwrap().unwrap();
    assert!(stored.contains(card_ts), "{stored}");
    assert_eq!(rig.fake.calls("users.info").len(), 1, "the name is fetched once and cached");

    // A technician claims from the card: the card is updated in place, the claim confirmed to them only.
    assert_eq!(rig.interact(press("UTECH", "ticket:claim:1", "C0QUEUE", card_ts, 1)).await, StatusCode::OK);
    assert_eq!(rig.tickets().await[0].owner.as_ref().map(|o| o.name.as_str()), Some("Tess"));
    rig.drain().await;
    let updates = rig.fake.calls("chat.update");
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0]["channel"], "C0QUEUE");
    assert_eq!(updates[0]["ts"], card_ts);
    assert_eq!(buttons_of(&updates[0]), ["ticket:reply:1", "ticket:resolve:1"], "no Claim once owned");
    assert!(updates[0].to_string().contains("owner *Tess*"));
    let eph = rig.fake.calls("chat.postEphemeral");
    assert_eq!(eph.len(), 1);
    assert_eq!((eph[0]["channel"].as_str(), eph[0]["user"].as_str()), (Some("C0QUEUE"), Some("UTECH")));
    assert!(eph[0]["text"].as_str().unwrap().contains("You now own #1"));
    let to_ada = rig.fake.calls("chat.postMessage");
    let last = to_ada.last().unwrap();
    assert_eq!((last["channel"].as_str(), last["thread_ts"].as_str()), (Some("C0HELP"), Some("1700000001.000100")));
    assert!(last["text"].as_str().unwrap().contains("Tess is now handling"));

    // The same click delivered twice (Slack or a proxy repeating it) does nothing more.
    assert_eq!(rig.interact_at(press("UTECH", "ticket:claim:1", "C0QUEUE", card_ts, 1), -1).await, StatusCode::OK);
    assert_eq!(rig.drain().await, 0);
}

#[tokio::test]
async fn resolve_button_opens_a_modal_and_the_submission_resolves() {
    let rig = Rig::new("").await;
    rig.event("Ev1", message("U0ADA", "C0HELP", "1700000001.000100", "my laptop screen is flickering")).await;
    rig.drain().await;
    let card_ts = rig.fake.calls("chat.postMessage").iter().find(|p| p["channel"] == "C0QUEUE").unwrap()["ts"].clone();
    let card_ts = card_ts.as_str().map(str::to_string).unwrap_or_else(|| "1700000000.000002".into());

    // A requester pressing Resolve gets no modal: the core refuses, as for the typed command.
    assert_eq!(rig.interact(press("U0ADA", "ticket:resolve:1", "C0QUEUE", &card_ts, 1)).await, StatusCode::OK);
    assert!(rig.fake.calls("views.open").is_empty());
    rig.drain().await;
    let refusal = rig.fake.calls("chat.postEphemeral");
    assert!(refusal[0]["text"].as_str().unwrap().contains("only technicians"), "{refusal:?}");

    assert_eq!(rig.interact(press("UTECH", "ticket:resolve:1", "C0QUEUE", &card_ts, 2)).await, StatusCode::OK);
    let opened = rig.fake.calls("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["trigger_id"], "trig.2");
    let view = &opened[0]["view"];
    assert_eq!(view["callback_id"], "ticket:resolve:1");
    assert_eq!(rig.tickets().await[0].state, TicketState::New, "opening the modal changes nothing");

    let submit = json!({"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "UTECH", "name": "tess"},
        "api_app_id": "A1", "view": {"id": "V1", "team_id": "T1", "type": "modal", "hash": "h1",
        "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
        "title": {"type": "plain_text", "text": "Resolve #1"}, "blocks": [],
        "state": {"values": {"text": {"text": {"type": "plain_text_input", "value": "Replaced the display cable"}}}}}});
    assert_eq!(rig.interact(submit.clone()).await, StatusCode::OK);
    assert_eq!(rig.interact_at(submit, -1).await, StatusCode::OK, "a repeated submission is acknowledged");
    let t = &rig.tickets().await[0];
    assert_eq!(t.state, TicketState::Resolved);
    rig.drain().await;
    let update = rig.fake.calls("chat.update").pop().expect("the card shows the resolution");
    assert!(buttons_of(&update).is_empty(), "a resolved card has no buttons");
    assert!(update.to_string().contains("Status: *Resolved*"));
    let to_ada: Vec<Value> =
        rig.fake.calls("chat.postMessage").into_iter().filter(|p| p["channel"] == "C0HELP").collect();
    assert!(to_ada.iter().any(|p| p["text"].as_str().unwrap().contains("Replaced the display cable")), "{to_ada:#?}");
    // The confirmation went to the technician where they pressed the button.
    let eph = rig.fake.calls("chat.postEphemeral");
    assert!(eph.iter().any(|e| e["user"] == "UTECH" && e["channel"] == "C0QUEUE"), "{eph:#?}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_nothing_is_dropped() {
    let rig = Rig::new("").await;
    rig.event("Ev1", message("U0ADA", "C0HELP", "1700000001.000100", "my laptop screen is flickering")).await;
    rig.fake.limit("chat.postMessage", 1);
    assert_eq!(rig.drain().await, 1, "the first message hit the limit; the other went out");
    assert_eq!(rig.fake.calls("chat.postMessage").len(), 2);
    rig.clock.set(rig.clock.now() + chrono::Duration::seconds(6));
    assert_eq!(rig.drain().await, 0, "Slack said 7 seconds");
    rig.clock.set(rig.clock.now() + chrono::Duration::seconds(1));
    assert_eq!(rig.drain().await, 1, "retried exactly after Retry-After");
    let posts = rig.fake.calls("chat.postMessage");
    assert_eq!(posts.len(), 3);
    assert_eq!(posts.iter().filter(|p| p["channel"] == "C0HELP").count(), 2, "the limited reply was sent again");

    let f = outbound::failure(slack_morphism::errors::SlackClientError::RateLimitError(
        slack_morphism::errors::SlackRateLimitError::new().with_retry_after(std::time::Duration::from_secs(3)),
    ));
    assert_eq!(f.retry_after, Some(std::time::Duration::from_secs(3)));
}

#[tokio::test]
async fn slash_commands_ephemeral_fallback_and_user_groups() {
    let rig = Rig::new("\n[slack.groups]\nS0TECHS = \"technician\"\n").await;
    rig.fake.groups.lock().unwrap().insert("S0TECHS".into(), vec!["UGROUPIE".into()]);
    rig.event("Ev1", message("U0ADA", "C0HELP", "1700000001.000100", "my laptop screen is flickering")).await;
    // A member of the technicians' group claims with the slash command from a channel the bot is not in.
    *rig.fake.not_in_channel.lock().unwrap() = true;
    assert_eq!(rig.command("UGROUPIE", "C0RANDOM", "claim 1", "trig.c1").await, StatusCode::OK);
    let again = rig.command_at("UGROUPIE", "C0RANDOM", "claim 1", "trig.c1", -1).await;
    assert_eq!(again, StatusCode::OK, "a redelivered command (same trigger) is acknowledged");
    let t = &rig.tickets().await[0];
    assert_eq!(t.owner, Some(UserRef::new(Platform::Slack, "UGROUPIE", "Gus")));
    assert_eq!(rig.fake.calls("usergroups.users.list").len(), 1, "memberships are cached");
    rig.drain().await;
    let dms: Vec<Value> =
        rig.fake.calls("chat.postMessage").into_iter().filter(|p| p["channel"] == "UGROUPIE").collect();
    assert_eq!(dms.len(), 1, "the ephemeral confirmation became a DM: {dms:#?}");
    assert!(dms[0]["text"].as_str().unwrap().contains("You now own #1"));
    // Someone outside the group is a requester.
    assert_eq!(rig.command("U0ADA", "C0HELP", "queue", "trig.c2").await, StatusCode::OK);
    assert_eq!(rig.desk.role_of(&UserRef::new(Platform::Slack, "U0ADA", "Ada")).as_str(), "requester");
}

#[tokio::test]
async fn report_chart_is_uploaded_with_the_external_flow() {
    let rig = Rig::new("").await;
    let png = b"\x89PNG\r\n\x1a\n not really a chart, but bytes all the same".to_vec();
    let mut m = Outbound::to_channel(Platform::Slack, "helpdesk", "Weekly summary <!everyone>: 12 tickets");
    m.image = Some(Image { name: "helpdesk-week.png".into(), png: png.clone() });
    let c = Commit { outbox: vec![m], at: Some(rig.clock.now()), ..Commit::default() };
    rig.desk.store().commit(c).await.unwrap();
    assert_eq!(rig.drain().await, 1);
    let get = rig.fake.calls("files.getUploadURLExternal");
    assert_eq!(get.len(), 1);
    assert_eq!(get[0]["filename"], "helpdesk-week.png");
    assert_eq!(get[0]["length"], png.len().to_string());
    let up = rig.fake.calls("upload");
    assert_eq!(up, [json!({"id": "F123", "len": png.len(), "png": true})]);
    let done = rig.fake.calls("files.completeUploadExternal");
    assert_eq!(done[0]["channel_id"], "C0HELP");
    assert_eq!(done[0]["files"][0]["id"], "F123");
    assert_eq!(done[0]["initial_comment"], "Weekly summary &lt;!everyone&gt;: 12 tickets");
    let order: Vec<String> = rig.fake.all().into_iter().map(|c| c.method).collect();
    assert_eq!(order, ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]);

    // A manager asks for the report in a channel the bot is not in: the summary and chart come to their DM.
    let boss = UserRef::new(Platform::Slack, "UBOSS", "UBOSS");
    rig.desk.set_role(&boss, deskbot::core::roles::Role::Manager);
    *rig.fake.not_in_channel.lock().unwrap() = true;
    let body = serde_urlencoded::to_string([
        ("command", "/helpdesk"),
        ("text", "report week"),
        ("user_id", "UBOSS"),
        ("channel_id", "C0BOARD"),
        ("trigger_id", "trig.r"),
    ])
    .unwrap();
    let form = "application/x-www-form-urlencoded";
    assert_eq!(rig.post_signed("/slack/commands", &body, form).await.0, StatusCode::OK);
    assert_eq!(rig.drain().await, 1);
    let done = rig.fake.calls("files.completeUploadExternal");
    assert_eq!(done.len(), 3, "{done:#?}");
    assert_eq!(done[1]["channel_id"], "C0BOARD");
    assert_eq!(done[2]["channel_id"], "DUBOSS", "shared in the DM instead");
    assert!(done[2].get("thread_ts").is_none());
    assert!(rig.fake.calls("upload").last().unwrap()["png"] == true, "a real PNG chart was uploaded");
}

/// The typed payload of a Socket Mode envelope of `kind`.
pub(crate) fn payload<T: serde::de::DeserializeOwned>(frame: &Value, kind: &str) -> T {
    assert_eq!(frame["type"], kind);
    assert!(frame["envelope_id"].is_string());
    serde_json::from_value(frame["payload"].clone()).unwrap()
}

#[tokio::test]
async fn socket_mode_envelopes_take_the_same_path() {
    let rig = Rig::new("").await;
    let frame = json!({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": false,
        "retry_attempt": 0, "payload": callback("EvS1", json!({"type": "app_mention", "channel": "C0OTHER",
        "user": "U0ADA", "ts": "1700000005.000100", "text": "<@UBOT> my laptop screen is flickering"}))});
    // The library parses the envelope and hands the typed payload to our callback, as done here.
    let ev: slack_morphism::prelude::SlackPushEventCallback = payload(&frame, "events_api");
    socket::on_push(&rig.slack, ev.clone()).await.unwrap();
    socket::on_push(&rig.slack, ev).await.unwrap();
    let tickets = rig.tickets().await;
    assert_eq!(tickets.len(), 1, "a redelivered envelope is handled once");
    assert_eq!(tickets[0].origin.place.channel, "C0OTHER");
    assert_eq!(tickets[0].title, "my laptop screen is flickering", "the mention is stripped");

    let frame = json!({"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": true,
        "payload": {"team_id": "T1", "channel_id": "C0HELP", "user_id": "UTECH", "command": "/ticket",
                    "text": "claim 1", "response_url": "https://hooks.slack.invalid/1", "trigger_id": "trig.s"}});
    let ack = socket::on_command(&rig.slack, payload(&frame, "slash_commands")).await.unwrap();
    assert_eq!(serde_json::to_value(&ack).unwrap(), json!({"response_type": "ephemeral"}), "a bare ack");
    assert_eq!(rig.tickets().await[0].owner.as_ref().map(|o| o.id.as_str()), Some("UTECH"));

    let frame = json!({"envelope_id": "env-3", "type": "interactive", "accepts_response_payload": false,
        "payload": press("UTECH", "ticket:unclaim:1", "C0QUEUE", "1700000000.000002", 9)});
    socket::on_interaction(&rig.slack, payload(&frame, "interactive")).await.unwrap();
    assert_eq!(rig.tickets().await[0].owner, None);
}

#[test]
fn block_kit_snapshots() {
    let place = Place { channel: "helpdesk".into(), thread: Some("1.2".into()), message: None, dm: false };
    let ada = UserRef::new(Platform::Slack, "U0ADA", "Ada");
    let reply = Outbound::to_user(&ada, &place, "Ticket #4 opened: printing (P3 incident). <!here> & more")
        .with_buttons(vec![
            Button::new("Printing", "triage:4:printing").primary(),
            Button::new("Network", "triage:4:network"),
        ]);
    insta::assert_json_snapshot!("slack_reply", blocks::render(&reply, None));
    insta::assert_json_snapshot!("slack_reply_with_mention", blocks::render(&reply, Some("U0ADA")));
    let eph = Outbound::to_user(&ada, &place, "only technicians can claim tickets (you are a requester)")
        .kind(MessageKind::Ephemeral);
    insta::assert_json_snapshot!("slack_ephemeral", blocks::render(&eph, None));
    let card = Outbound::to_channel(
        Platform::Slack,
        "helpdesk-queue",
        "New ticket #4 · P3 · printing · from Ada: “printer <@U999> jammed” · response due in 4h (Mon 2 Mar 13:00 UTC)",
    )
    .with_buttons(vec![
        Button::new("Claim", "ticket:claim:4").primary(),
        Button::new("Reply", "ticket:reply:4"),
        Button::new("Resolve", "ticket:resolve:4"),
        Button::new("Escalate", "ticket:escalate:4"),
    ])
    .kind(MessageKind::Card)
    .about(TicketNo(4));
    insta::assert_json_snapshot!("slack_card_new", blocks::render(&card, None));
    let claimed = CardStatus { state: TicketState::Open, owner: Some("Tess <script>".into()) };
    insta::assert_json_snapshot!("slack_card_claimed", blocks::card(&card, Some(&claimed)));
    let resolved = CardStatus { state: TicketState::Resolved, owner: Some("Tess".into()) };
    insta::assert_json_snapshot!("slack_card_resolved", blocks::card(&card, Some(&resolved)));
    let meta = r#"{"channel":"helpdesk-queue","message":"1.2"}"#;
    let title = "printer <@U999> jammed";
    insta::assert_json_snapshot!("slack_modal_reply", blocks::modal(ModalKind::Reply, TicketNo(4), title, &[], meta));
    insta::assert_json_snapshot!(
        "slack_modal_resolve",
        blocks::modal(ModalKind::Resolve, TicketNo(4), title, &[], meta)
    );
    let vendors = [("acme".to_string(), "Acme Networks".to_string()), ("printco".into(), "PrintCo".into())];
    insta::assert_json_snapshot!(
        "slack_modal_escalate",
        blocks::modal(ModalKind::Escalate, TicketNo(4), title, &vendors, meta)
    );
}

#[tokio::test]
async fn socket_mode_over_a_local_websocket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let rig = Rig::new("").await;
    // Slack's Socket Mode endpoint: hello, then two envelopes, each answered by an ack on the same socket.
    let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *rig.fake.ws_url.lock().unwrap() = format!("ws://{}/link?ticket=t1", ws.local_addr().unwrap());
    let (acks_tx, mut acks) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        let (tcp, _) = ws.accept().await.unwrap();
        let mut sock = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                           "debug_info": {"host": "fake"}});
        sock.send(Message::Text(hello.to_string().into())).await.unwrap();
        let frames = [
            json!({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": false,
                   "payload": callback("EvW1", message("U0ADA", "C0HELP", "1700000009.000100",
                                                      "my laptop screen is flickering"))}),
            json!({"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": true,
                   "payload": {"team_id": "T1", "channel_id": "C0HELP", "user_id": "UTECH", "command": "/ticket",
                               "text": "claim 1", "response_url": "https://hooks.slack.invalid/2",
                               "trigger_id": "trig.w"}}),
        ];
        for f in frames {
            sock.send(Message::Text(f.to_string().into())).await.unwrap();
            loop {
                match sock.next().await {
                    Some(Ok(Message::Text(t))) => {
                        acks_tx.send(serde_json::from_str(&t).unwrap()).unwrap();
                        break;
                    }
                    Some(Ok(_)) => continue, // pings
                    other => panic!("socket closed before the ack: {other:?}"),
                }
            }
        }
        // Keep the socket open until the test ends.
        while sock.next().await.is_some() {}
    });
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let config = slack_morphism::prelude::SlackClientSocketModeConfig::new().with_max_connections_count(1);
    let run = tokio::spawn(socket::run_with(rig.slack.clone(), SlackSecret::new("xapp-test-app-token"), config, stop));
    let wait = std::time::Duration::from_secs(20);
    let first = tokio::time::timeout(wait, acks.recv()).await.expect("an ack for the event").unwrap();
    assert_eq!(first, json!({"envelope_id": "env-1"}));
    assert_eq!(rig.tickets().await.len(), 1, "the ticket was committed before the ack");
    let second = tokio::time::timeout(wait, acks.recv()).await.expect("an ack for the command").unwrap();
    assert_eq!(second["envelope_id"], "env-2");
    assert_eq!(second["payload"], json!({"response_type": "ephemeral"}));
    assert_eq!(rig.tickets().await[0].owner.as_ref().map(|o| o.name.as_str()), Some("Tess"));
    assert_eq!(rig.fake.calls("apps.connections.open").len(), 1);
    stop_tx.send(true).unwrap();
    tokio::time::timeout(wait, run).await.expect("socket mode stops on shutdown").unwrap();
}

#[tokio::test]
async fn slack_is_answered_in_time_even_when_the_work_takes_longer() {
    // Three slow lookups (each given up after 1.5 s) make the work take about 4.5 s; Slack wants an answer in 3.
    let rig = Rig::new("\n[slack.groups]\nS0A = \"technician\"\nS0B = \"lead\"\n").await;
    rig.fake.slow_ms.store(10_000, Ordering::SeqCst);
    let status =
        rig.event("EvSlow", message("U0ADA", "C0HELP", "1700000020.000100", "my laptop screen is flickering")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(rig.tickets().await.is_empty(), "answered before the work was done");
    let mut waited = 0;
    while rig.tickets().await.is_empty() {
        assert!(waited < 200, "the work finished in the background");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let t = &rig.tickets().await[0];
    assert_eq!(t.requester.name, "U0ADA", "without a name from Slack the id is shown");
}

#[tokio::test]
async fn serve_runs_the_slack_routes_and_worker() {
    let fake = FakeSlack::start().await;
    let toml = format!(
        "[slack]\nmode = \"http\"\napi_url = \"{}\"\n[slack.channels]\nhelpdesk = \"C0HELP\"\nhelpdesk-queue = \"C0QUEUE\"\n",
        fake.api_url()
    );
    let config = Config::from_parts("test", &toml, &[]).unwrap();
    let vars = |k: &str| match k {
        "SLACK_BOT_TOKEN" => Some("xoxb-serve".to_string()),
        "SLACK_SIGNING_SECRET" => Some(SECRET.to_string()),
        _ => None,
    };
    let slack = SlackOptions::from_vars(&config.slack, vars).unwrap();
    assert!(slack.is_some());
    let (store, _dir) = common::sqlite().await;
    let clock: Arc<dyn Clock> = Arc::new(deskbot::core::clock::SystemClock);
    let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), clock.clone()).unwrap());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let opts = deskbot::serve::ServeOptions {
        listen: l.local_addr().unwrap(),
        token: deskbot::adapters::http::Secret::new("http-token"),
        callback: None,
        tick: std::time::Duration::from_millis(100),
        slack,
        teams: None,
        discord: None,
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    };
    let server = tokio::spawn(deskbot::serve::serve_on(l, desk.clone(), clock, opts, shutdown));
    let body = callback("EvServe", message("U0ADA", "C0HELP", "1700000030.000100", "my laptop screen is flickering"));
    let body = body.to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let r = reqwest::Client::new()
        .post(format!("{base}/slack/events"))
        .header(signature::TIMESTAMP_HEADER, &now)
        .header(signature::SIGNATURE_HEADER, signature::sign(SECRET, &now, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The worker delivers on its own: the reply and the card reach the fake.
    let mut waited = 0;
    while fake.calls("chat.postMessage").len() < 2 {
        assert!(waited < 200, "the Slack worker delivered: {:?}", fake.all());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    stop_tx.send(true).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_bot_knows_itself_from_auth_test_whatever_the_event_says() {
    let rig = Rig::new("").await;
    // The documented wrapper names one authorization, here the person who installed the app (not the bot).
    let wrapped = |event_id: &str, event: Value| {
        let mut v = callback(event_id, event);
        v["authorizations"] = json!([{"team_id": "T1", "user_id": "U0ADA", "is_bot": false}]);
        v.to_string()
    };
    let json = "application/json";
    let dm = json!({"type": "message", "channel": "D0ADA", "channel_type": "im", "user": "U0ADA",
                    "ts": "1700000040.000100", "text": "my laptop screen is flickering"});
    assert_eq!(rig.post_signed("/slack/events", &wrapped("EvDm", dm), json).await.0, StatusCode::OK);
    assert_eq!(rig.tickets().await.len(), 1, "a person's DM is theirs, not the bot's own message");
    // The legacy wrapper (`authed_users`, no `authorizations`): the mention of the bot is stripped.
    let mut legacy = callback(
        "EvLegacy",
        json!({"type": "app_mention", "channel": "C0OTHER", "user": "UTECH", "ts": "1700000041.000100",
               "text": "<@UBOT> the vpn keeps dropping"}),
    );
    legacy.as_object_mut().unwrap().remove("authorizations");
    legacy["authed_users"] = json!(["UTECH"]);
    assert_eq!(rig.post_signed("/slack/events", &legacy.to_string(), json).await.0, StatusCode::OK);
    let tickets = rig.tickets().await;
    assert_eq!(tickets.len(), 2);
    assert!(tickets.iter().any(|t| t.title == "the vpn keeps dropping"), "{:?}", tickets.iter().map(|t| &t.title));
    // Our own post (by user id) is ignored; auth.test was asked once.
    let own = json!({"type": "message", "channel": "C0HELP", "channel_type": "channel", "user": "UBOT",
                     "ts": "1700000042.000100", "text": "my laptop screen is flickering"});
    assert_eq!(rig.post_signed("/slack/events", &wrapped("EvOwn", own), json).await.0, StatusCode::OK);
    assert_eq!(rig.tickets().await.len(), 2);
    assert_eq!(rig.fake.calls("auth.test").len(), 1, "asked once and kept");
    assert_eq!(rig.slack.known_identity().map(|m| m.user_id), Some("UBOT".to_string()));
}

#[tokio::test]
async fn joining_the_helpdesk_channel_introduces_the_bot_once() {
    let rig = Rig::new("").await;
    // Slack's member_joined_channel, as bolt-python's tests send it (the bot's own join, then a person's).
    let joined = |user: &str, channel: &str| {
        json!({"type": "member_joined_channel", "user": user, "channel": channel, "channel_type": "C",
               "team": "T1", "inviter": "U0ADA"})
    };
    assert_eq!(rig.event("EvJ1", joined("UBOT", "C0QUEUE")).await, StatusCode::OK);
    assert_eq!(rig.event("EvJ2", joined("U0ADA", "C0HELP")).await, StatusCode::OK);
    assert_eq!(rig.drain().await, 0, "not the helpdesk channel, or not the bot");
    // Over Socket Mode, through the library's typed event.
    let frame = json!({"envelope_id": "env-j", "type": "events_api", "accepts_response_payload": false,
                       "payload": callback("EvJ3", joined("UBOT", "C0HELP"))});
    socket::on_push(&rig.slack, payload(&frame, "events_api")).await.unwrap();
    assert_eq!(rig.drain().await, 1);
    let posts = rig.fake.calls("chat.postMessage");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["channel"], "C0HELP");
    assert!(posts[0].get("thread_ts").is_none());
    let text = posts[0]["text"].as_str().unwrap();
    assert!(text.contains("IT helpdesk") && text.contains("/ticket help"), "{text}");
    // Slack redelivers the join (or it comes again after a restart, or the bot is re-invited): nothing more.
    assert_eq!(rig.event("EvJ4", joined("UBOT", "C0HELP")).await, StatusCode::OK);
    assert_eq!(rig.drain().await, 0);
    assert_eq!(rig.fake.calls("chat.postMessage").len(), 1);
}
