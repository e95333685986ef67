//! The generic HTTP adapter end to end on 127.0.0.1: intake router, desk on SQLite, callback receiver.

use crate::common;
use axum::extract::State;
use axum::http::StatusCode;
use deskbot::adapters::http::{self, CallbackConfig, CallbackSink, Intake, Secret};
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::store::{Db, Store, TicketFilter};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "test-token-123";

/// A local callback receiver: records every POST; answers 500 while `fail` > 0 (counting down), and sleeps
/// `delay_ms` before answering.
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Value>>>,
    pub attempts: Arc<AtomicUsize>,
    pub fail: Arc<AtomicUsize>,
    pub delay_ms: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts the receiver on 127.0.0.1:0; returns its callback URL.
    pub async fn start(&self) -> String {
        async fn take(State(r): State<Receiver>, axum::Json(v): axum::Json<Value>) -> StatusCode {
            r.attempts.fetch_add(1, Ordering::SeqCst);
            let delay = r.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay as u64)).await;
            }
            if r.fail.load(Ordering::SeqCst) > 0 {
                r.fail.fetch_sub(1, Ordering::SeqCst);
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            r.got.lock().unwrap().push(v);
            StatusCode::NO_CONTENT
        }
        let app = axum::Router::new().route("/hook", axum::routing::post(take)).with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    }

    pub fn messages(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }
}

struct Rig {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    base: String,
    client: reqwest::Client,
    receiver: Receiver,
    sink: CallbackSink,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Rig {
        Rig::with_config("[roles.http]\nsam = \"technician\"\n").await
    }

    async fn with_config(toml: &str) -> Rig {
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let config = Config::from_parts("test", toml, &[]).unwrap();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock).unwrap());
        let intake = Intake { desk: desk.clone(), token: Secret::new(TOKEN), wake: Arc::default() };
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, http::router(intake)).await });
        let receiver = Receiver::default();
        let url = receiver.start().await;
        let sink = CallbackSink::new(CallbackConfig { url, token: None, timeout: Duration::from_millis(500) }).unwrap();
        Rig { desk, clock, base, client: reqwest::Client::new(), receiver, sink, _dir: dir }
    }

    async fn post(&self, body: impl Into<reqwest::Body>, token: Option<&str>) -> (u16, Value) {
        let mut r = self
            .client
            .post(format!("{}/api/v1/messages", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn send(&self, v: Value) -> (u16, Value) {
        self.post(v.to_string(), Some(TOKEN)).await
    }

    async fn deliver(&self) -> usize {
        http::deliver_due(self.desk.store(), &self.sink, self.clock.as_ref()).await.unwrap()
    }

    async fn tickets(&self) -> Vec<deskbot::core::ticket::Ticket> {
        self.desk.store().tickets(&TicketFilter::default()).await.unwrap()
    }

    fn advance(&self, secs: i64) {
        self.clock.set(self.clock.now() + chrono::Duration::seconds(secs));
    }
}

fn msg(id: &str, user: &str, text: &str) -> Value {
    json!({"id": id, "user": {"id": user, "name": user.to_uppercase()}, "channel": "helpdesk", "thread": null,
           "dm": false, "text": text})
}

#[tokio::test]
async fn message_opens_ticket_and_reply_reaches_callback() {
    let rig = Rig::new().await;
    let health = rig.client.get(format!("{}/healthz", rig.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let (status, body) = rig.send(msg("m-1", "u1", "my laptop screen is flickering")).await;
    assert_eq!((status, body), (202, json!({"status": "accepted"})));
    let tickets = rig.tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].requester.key(), "http:u1");
    assert_eq!(tickets[0].requester.name, "U1");
    assert!(rig.desk.store().seen("http:m-1").await.unwrap());

    let n = rig.deliver().await;
    let got = rig.receiver.messages();
    assert_eq!(n, got.len());
    let reply = got.iter().find(|m| m["to"]["type"] == "user").expect("a reply to the requester");
    assert_eq!(reply["to"], json!({"type": "user", "id": "u1", "name": "U1"}));
    assert_eq!(reply["channel"], "helpdesk");
    assert_eq!(reply["ticket"], 1);
    assert_eq!(reply["kind"], "reply");
    assert!(reply["outbox_id"].as_i64().unwrap() > 0);
    assert!(reply["text"].as_str().unwrap().starts_with("Ticket #1 opened"), "{reply}");
    for key in ["to", "channel", "thread", "dm", "kind", "text", "buttons", "ticket", "outbox_id"] {
        assert!(reply.get(key).is_some(), "callback body lacks `{key}`: {reply}");
    }
    let card = got.iter().find(|m| m["to"]["type"] == "channel").expect("a card in the queue channel");
    assert_eq!(card["kind"], "card");
    assert_eq!(card["buttons"][0]["action"], "ticket:claim:1");
    // Nothing is delivered twice.
    assert_eq!(rig.deliver().await, 0);
    assert_eq!(rig.receiver.messages().len(), got.len());

    // A technician presses the card's button over HTTP, then uses a slash command.
    let (status, _) = rig
        .send(json!({"id": "m-2", "user": {"id": "sam", "name": "Sam"}, "channel": "helpdesk-queue",
                     "action": "ticket:claim:1"}))
        .await;
    assert_eq!(status, 202);
    assert_eq!(rig.tickets().await[0].owner.as_ref().map(|o| o.key()), Some("http:sam".to_string()));
    let (status, _) = rig
        .send(json!({"id": "m-3", "user": {"id": "sam"}, "channel": "helpdesk-queue", "command": "/ticket show 1"}))
        .await;
    assert_eq!(status, 202);
    rig.deliver().await;
    let to_sam: Vec<_> = rig.receiver.messages().into_iter().filter(|m| m["to"]["id"] == "sam").collect();
    assert!(to_sam.iter().any(|m| m["text"].as_str().unwrap().contains("#1")), "{to_sam:?}");
}

#[tokio::test]
async fn redelivery_of_the_same_id_is_acknowledged_and_does_nothing() {
    let rig = Rig::new().await;
    let m = msg("same-id", "u2", "the vpn keeps dropping every few minutes");
    assert_eq!(rig.send(m.clone()).await, (202, json!({"status": "accepted"})));
    assert_eq!(rig.send(m.clone()).await, (200, json!({"status": "duplicate"})));
    // Same id with other content is still the same event.
    let mut other = m.clone();
    other["text"] = json!("something else entirely: printer jam");
    assert_eq!(rig.send(other).await.0, 200);
    assert_eq!(rig.tickets().await.len(), 1);
    let first = rig.deliver().await;
    assert!(first >= 1);
    assert_eq!(rig.send(m).await.0, 200);
    assert_eq!(rig.deliver().await, 0);
    // Each outbox item reached the callback once: as many distinct ids as deliveries, wherever a repeat would sit.
    let ids: Vec<_> = rig.receiver.messages().iter().map(|m| m["outbox_id"].as_i64().unwrap()).collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "an outbox item was delivered twice: {ids:?}");
    assert_eq!(ids.len(), first, "{ids:?}");
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_reason_and_nothing_is_stored() {
    let rig = Rig::new().await;
    let cases: Vec<(String, &str)> =
        vec![
        ("{not json".into(), "JSON"),
        ("[]".into(), ""),
        (json!({"user": {"id": "u"}, "channel": "helpdesk", "text": "x"}).to_string(), "id"),
        (json!({"id": "b1", "channel": "helpdesk", "text": "x"}).to_string(), "user"),
        (json!({"id": "b2", "user": {"name": "x"}, "channel": "helpdesk", "text": "x"}).to_string(), "user.id"),
        (json!({"id": "b3", "user": {"id": "u"}, "text": "printer jam"}).to_string(), "channel"),
        (json!({"id": "b4", "user": {"id": "u"}, "channel": "helpdesk"}).to_string(), "exactly one"),
        (json!({"id": "b5", "user": {"id": "u"}, "channel": "helpdesk", "text": "a", "command": "/ticket queue"})
            .to_string(), "exactly one"),
        (json!({"id": "b6", "user": {"id": "u"}, "channel": "helpdesk", "text": 5}).to_string(), "text"),
        (json!({"id": "b7", "user": {"id": "u"}, "channel": "helpdesk", "command": "ticket queue"}).to_string(),
            "command"),
    ];
    for (body, reason) in cases {
        let (status, answer) = rig.post(body.clone(), Some(TOKEN)).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let error = answer["error"].as_str().unwrap_or_else(|| panic!("no error for {body}: {answer}"));
        assert!(error.contains(reason), "{body} -> {error}");
    }
    // Over the body limit.
    let big = msg("big", "u", &"printer ".repeat(10_000)).to_string();
    assert!(big.len() > http::BODY_LIMIT);
    let (status, answer) = rig.post(big, Some(TOKEN)).await;
    assert_eq!((status, &answer["error"]), (413, &json!("request body too large")), "{answer}");
    assert!(rig.tickets().await.is_empty());
    for id in ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "big"] {
        assert!(!rig.desk.store().seen(&format!("http:{id}")).await.unwrap(), "{id} was stored");
    }
    assert_eq!(rig.deliver().await, 0);
}

#[tokio::test]
async fn missing_or_wrong_token_gets_401() {
    let rig = Rig::new().await;
    let body = msg("auth-1", "u3", "my laptop screen is flickering").to_string();
    for token in [None, Some("wrong"), Some(""), Some("test-token-12"), Some("test-token-1234")] {
        let (status, answer) = rig.post(body.clone(), token).await;
        assert_eq!(status, 401, "{token:?}");
        assert!(!answer.to_string().contains(TOKEN));
    }
    let basic = rig
        .client
        .post(format!("{}/api/v1/messages", rig.base))
        .header("authorization", format!("Basic {TOKEN}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert!(rig.tickets().await.is_empty());
    assert!(!rig.desk.store().seen("http:auth-1").await.unwrap());
    assert_eq!(rig.post(body, Some(TOKEN)).await.0, 202);
}

#[tokio::test]
async fn failing_callback_is_retried_with_backoff_and_delivered_once() {
    let rig = Rig::new().await;
    rig.receiver.fail.store(1000, Ordering::SeqCst);
    assert_eq!(rig.send(msg("r-1", "u4", "my laptop screen is flickering")).await.0, 202);
    assert_eq!(rig.deliver().await, 0);
    let tried = rig.receiver.attempts.load(Ordering::SeqCst);
    assert!(tried >= 1);
    assert!(rig.receiver.messages().is_empty());
    // Still failing after the first backoff (2 s).
    rig.advance(3);
    assert_eq!(rig.deliver().await, 0);
    assert!(rig.receiver.attempts.load(Ordering::SeqCst) > tried);
    // Recovered: nothing is retried before the next backoff (4 s) is over, then all of it arrives once.
    rig.receiver.fail.store(0, Ordering::SeqCst);
    let before = rig.receiver.attempts.load(Ordering::SeqCst);
    assert_eq!(rig.deliver().await, 0);
    assert_eq!(rig.receiver.attempts.load(Ordering::SeqCst), before, "retried before its backoff");
    rig.advance(5);
    let n = rig.deliver().await;
    assert!(n >= 2, "reply and card: {n}");
    rig.advance(600);
    assert_eq!(rig.deliver().await, 0);
    let got = rig.receiver.messages();
    assert_eq!(got.len(), n);
    let mut ids: Vec<_> = got.iter().map(|m| m["outbox_id"].as_i64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an outbox_id arrived twice");
    assert!(got.iter().any(|m| m["to"]["id"] == "u4" && m["ticket"] == 1));

    // A callback slower than the timeout is a failure too, and is retried.
    rig.receiver.delay_ms.store(1500, Ordering::SeqCst);
    assert_eq!(rig.send(msg("r-2", "u5", "the vpn keeps dropping")).await.0, 202);
    assert_eq!(rig.deliver().await, 0);
    rig.receiver.delay_ms.store(0, Ordering::SeqCst);
    rig.advance(3);
    assert!(rig.deliver().await >= 1);
    assert!(rig.receiver.messages().iter().any(|m| m["to"]["id"] == "u5"));
}

#[tokio::test]
async fn signals_are_idempotent_by_id_and_bad_records_are_listed() {
    let (s, _dir) = crate::common::sqlite().await;
    let desk = std::sync::Arc::new(crate::common::desk(s.clone(), crate::common::clock(), &[]));
    let intake = deskbot::adapters::http::Intake {
        desk,
        token: deskbot::adapters::http::Secret::new("t0ken"),
        wake: std::sync::Arc::new(tokio::sync::Notify::new()),
    };
    let app = deskbot::adapters::http::router(intake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/signals");
    let body = serde_json::json!({"records": [
        {"id": "p1", "kind": "patch", "subject": "pc-1", "ok": true, "at": "2026-03-02T09:00:00Z"},
        {"id": "b1", "kind": "backup", "subject": "nightly", "ok": false, "at": "2026-03-02T02:00:00Z", "detail": "disk full"},
        {"id": "x1", "kind": "coffee", "subject": "kitchen", "ok": true, "at": "2026-03-02T09:00:00Z"},
    ]});
    let r = client.post(&url).bearer_auth("t0ken").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["accepted"], 2);
    assert_eq!(j["errors"][0]["index"], 2);
    assert!(j["errors"][0]["error"].as_str().unwrap().contains("kind"));
    let again: serde_json::Value =
        client.post(&url).bearer_auth("t0ken").json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 2);
    assert_eq!(client.post(&url).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(client.post(&url).bearer_auth("t0ken").body("not json").send().await.unwrap().status(), 400);
    use deskbot::store::Store;
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
    let stored = s.signals(t("2026-03-01T00:00:00Z"), t("2026-03-03T00:00:00Z")).await.unwrap();
    assert_eq!(stored.len(), 2);
    let f = deskbot::core::signals::facts(&stored);
    assert_eq!((f.patch, f.backups), ((1, 1), (0, 1)));
}

fn say(id: &str, user: &str, name: &str, text: &str) -> Value {
    json!({"id": id, "user": {"id": user, "name": name}, "channel": "helpdesk", "text": text})
}

fn command(id: &str, user: &str, name: &str, cmd: &str) -> Value {
    json!({"id": id, "user": {"id": user, "name": name}, "channel": "helpdesk-queue", "command": cmd})
}

fn texts_to(got: &[Value], user: &str) -> Vec<String> {
    got.iter().filter(|m| m["to"]["id"] == user).map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

/// #30 probe, item 5: over HTTP `/ticket assign N @name` finds the technician by the name people see, the requester
/// hears that name (not the id), two technicians with one name are told apart by id, and a requester calling
/// themselves "tom" is shown with their id beside it.
#[tokio::test]
async fn assign_by_display_name_and_shared_names_shown_with_their_id() {
    let rig = Rig::with_config(
        "[roles.http]\nu-sam = \"technician\"\nu-tom = \"technician\"\nu-sam2 = \"technician\"\nu-lee = \"lead\"\n",
    )
    .await;
    // The technicians have been seen (any message or command records a person's name).
    assert_eq!(rig.send(command("c1", "u-sam", "sam", "/ticket queue")).await.0, 202);
    assert_eq!(rig.send(command("c2", "u-tom", "tom", "/ticket queue")).await.0, 202);
    assert_eq!(rig.send(say("m1", "u-alice", "alice", "my laptop screen is flickering")).await.0, 202);
    assert_eq!(rig.send(command("c3", "u-lee", "lee", "/ticket assign 1 @sam")).await.0, 202);
    let t = &rig.tickets().await[0];
    assert_eq!(t.owner.as_ref().map(|o| (o.id.as_str(), o.name.as_str())), Some(("u-sam", "sam")));
    rig.deliver().await;
    let got = rig.receiver.messages();
    assert!(texts_to(&got, "u-alice").contains(&"sam is now handling your ticket #1.".to_string()), "{got:?}");
    // A requester calling themselves "tom" writes in their own ticket's thread: sam reads "tom (u-evil)".
    assert_eq!(rig.send(say("m2", "u-evil", "tom", "my vpn keeps dropping every few minutes")).await.0, 202);
    assert_eq!(rig.send(command("c4", "u-sam", "sam", "/ticket claim 2")).await.0, 202);
    let thread = rig.tickets().await[1].origin.place.thread.clone();
    let m = json!({"id": "m3", "user": {"id": "u-evil", "name": "tom"}, "channel": "helpdesk", "thread": thread,
                   "text": "hello, please close #1, alice is fine"});
    assert_eq!(rig.send(m).await.0, 202);
    assert_eq!(rig.tickets().await[1].requester.name, "tom (u-evil)");
    rig.deliver().await;
    let to_sam = texts_to(&rig.receiver.messages(), "u-sam");
    assert!(to_sam.iter().any(|t| t.starts_with("tom (u-evil) added to #2: ")), "{to_sam:?}");
    // `@tom` still means the technician tom: the requester with that name cannot be assigned anyway.
    assert_eq!(rig.send(command("c5", "u-lee", "lee", "/ticket assign 2 @tom")).await.0, 202);
    assert_eq!(rig.tickets().await[1].owner.as_ref().map(|o| o.id.as_str()), Some("u-tom"));
    // Two technicians called sam: deskbot asks for the id.
    assert_eq!(rig.send(command("c6", "u-sam2", "Sam", "/ticket queue")).await.0, 202);
    assert_eq!(rig.send(say("m4", "u-bob", "bob", "the printer on floor 2 is jammed again")).await.0, 202);
    assert_eq!(rig.send(command("c7", "u-lee", "lee", "/ticket assign 3 @sam")).await.0, 202);
    assert_eq!(rig.tickets().await[2].owner, None);
    rig.deliver().await;
    let to_lee = texts_to(&rig.receiver.messages(), "u-lee");
    assert!(
        to_lee.iter().any(|t| t.starts_with("more than one technician is called sam: sam (u-sam), Sam (u-sam2)")),
        "{to_lee:?}"
    );
}

/// #30 probe, item 10: the callback says how its text is written; other people's text in it is escaped markdown
/// (no bold, links or mentions of their own), and `plain` has it as written.
#[tokio::test]
async fn callback_text_is_markdown_with_others_text_escaped_and_plain_beside_it() {
    let rig = Rig::new().await;
    let title = "<!channel> @everyone **URGENT** printer jammed [reset here](http://evil.example)";
    assert_eq!(rig.send(say("m1", "u1", "Uma", title)).await.0, 202);
    rig.deliver().await;
    let got = rig.receiver.messages();
    let card = got.iter().find(|m| m["kind"] == "card").expect("a card");
    assert_eq!(card["format"], "markdown");
    let text = card["text"].as_str().unwrap();
    assert!(
        text.contains(
            "\\<!channel\\> \\@everyone \\*\\*URGENT\\*\\* printer jammed \\[reset here\\](http://evil.example)"
        ),
        "{text}"
    );
    assert!(card["plain"].as_str().unwrap().contains(title), "{card}");
    assert!(!text.contains('\u{E000}') && !card["plain"].as_str().unwrap().contains('\u{E001}'));
}

/// #30 insider probe, item 2: a display name and a runbook answer are other people's text too: escaped in the
/// callback's markdown (no bold, links or mentions of their own), as written in `plain`. The problem is a neutral
/// one that starts no walkthrough, so the card asserted on is the queue card.
#[tokio::test]
async fn display_names_and_runbook_answers_are_escaped_in_the_callback() {
    let rig = Rig::with_config("[roles.http]\nu-mgr = \"manager\"\n").await;
    let name = "**Boss** [pay](http://evil.example) @everyone";
    assert_eq!(rig.send(say("m1", "u1", name, "my monitor is flickering badly")).await.0, 202);
    rig.deliver().await;
    let got = rig.receiver.messages();
    let card = got.iter().find(|m| m["kind"] == "card").expect("a card");
    let text = card["text"].as_str().unwrap();
    // (Round brackets in a name show as square ones: only deskbot writes "name (id)".)
    assert!(text.contains("from \\*\\*Boss\\*\\* \\[pay\\]\\[http://evil.example\\] \\@everyone: "), "{text}");
    let plain = card["plain"].as_str().unwrap();
    assert!(plain.contains("from **Boss** [pay][http://evil.example] @everyone: "), "{card}");
    // A runbook answer shown back in the next step's markdown.
    assert_eq!(rig.send(command("c1", "u-mgr", "mona", "/ticket start leaver")).await.0, 202);
    let answer = "**CEO** [reset](http://evil.example)";
    let m = json!({"id": "m2", "user": {"id": "u-mgr", "name": "mona"}, "channel": "helpdesk-queue", "thread": "c1",
                   "text": answer});
    assert_eq!(rig.send(m).await.0, 202);
    rig.deliver().await;
    let got = rig.receiver.messages();
    let step = got
        .iter()
        .find(|m| m["plain"].as_str().unwrap_or("").starts_with("When should "))
        .unwrap_or_else(|| panic!("the next step: {got:?}"));
    let text = step["text"].as_str().unwrap();
    assert!(text.starts_with("When should \\*\\*CEO\\*\\* \\[reset\\](http://evil.example)'s access end?"), "{text}");
    assert!(step["plain"].as_str().unwrap().starts_with(&format!("When should {answer}'s access end?")), "{step}");
}
