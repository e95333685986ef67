//! Silences from chat against a fake Alertmanager API v2 (axum on 127.0.0.1, port 0): the real silence worker posts
//! `POST {externalURL}/api/v2/silences`, and the exact JSON it receives, retries after a 5xx, no retry after a 4xx,
//! and what the technician is told are checked.

use deskbot::adapters::silence::{SilenceSink, deliver_due};
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::{Platform, TicketNo};
use deskbot::core::message::Outbound;
use deskbot::core::silence::SilenceState;
use deskbot::outbox::{self, Deliver, Failure, Worker};
use deskbot::store::{Db, OutboxItem, SqliteStore, Store};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake Alertmanager received (path, content type, body), and the answers it gives in turn (the last one
/// again once they run out).
type Received = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn fake_alertmanager(answers: Vec<(u16, &'static str)>) -> (String, Received) {
    use axum::{Router, body::Bytes, http::HeaderMap, http::StatusCode, http::Uri, routing::post};
    let got: Received = Arc::default();
    let got2 = got.clone();
    let app = Router::new().route(
        "/am/api/v2/silences",
        post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let got = got2.clone();
            let answers = answers.clone();
            async move {
                let mut g = got.lock().unwrap();
                let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                g.push((uri.path().to_string(), ctype, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                let (status, text) = answers[(g.len() - 1).min(answers.len() - 1)];
                (StatusCode::from_u16(status).unwrap(), text.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // With a path and a trailing slash, as Alertmanager behind a proxy may say it.
    (format!("http://{addr}/am/"), got)
}

async fn desk() -> (Arc<Desk<Db>>, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let db = Db::Sqlite(SqliteStore::connect(&url).await.unwrap());
    db.migrate().await.unwrap();
    let toml = "[alerts]\nplatform = \"console\"\n\n[roles.console]\nsam = \"technician\"\n";
    let config = Config::from_parts("silence-test", toml, &[]).unwrap();
    let clock = crate::common::clock();
    let c: Arc<dyn Clock> = clock.clone();
    (Arc::new(deskbot::app::desk(&config, db, c).unwrap()), clock, dir)
}

/// Alertmanager opens #1 (group labels alertname and cluster), and sam silences it for 2h.
async fn silence_asked(desk: &Desk<Db>, external_url: &str) {
    let body = json!({
        "version": "4", "groupKey": "{}:{alertname=\"DbDown\", cluster=\"eu1\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "deskbot", "externalURL": external_url,
        "groupLabels": {"alertname": "DbDown", "cluster": "eu1"},
        "commonLabels": {"alertname": "DbDown", "cluster": "eu1", "severity": "critical"},
        "commonAnnotations": {"summary": "Primary database unreachable"},
        "alerts": [{"status": "firing", "labels": {"alertname": "DbDown", "cluster": "eu1", "severity": "critical",
            "instance": "db1"}, "annotations": {}, "startsAt": "2026-03-02T08:59:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c1"}]
    })
    .to_string();
    let group = deskbot::core::alerts::parse_alertmanager(body.as_bytes()).unwrap();
    desk.alertmanager_notification(body.as_bytes(), group).await.unwrap();
    desk.handle(&crate::common::cmd("sam", "silence 1 2h failing over to the replica")).await.unwrap();
}

/// The JSON Alertmanager must receive for [`silence_asked`] at 09:00.
fn expected_body() -> Value {
    json!({
        "matchers": [
            {"name": "alertname", "value": "DbDown", "isRegex": false, "isEqual": true},
            {"name": "cluster", "value": "eu1", "isRegex": false, "isEqual": true}
        ],
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "2026-03-02T11:00:00Z",
        "createdBy": "sam",
        "comment": "deskbot #1: failing over to the replica"
    })
}

#[derive(Default)]
struct Collect(Mutex<Vec<Outbound>>);

impl Deliver for Collect {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        self.0.lock().unwrap().push(item.message.clone());
        Ok(())
    }
}

/// What the desk sent on chat since the last call, in order.
async fn sent(desk: &Desk<Db>, clock: &ManualClock) -> Vec<Outbound> {
    let sent = Collect::default();
    outbox::drain(desk.store(), &sent, clock, Worker::in_order("chat", Some(Platform::Console))).await.unwrap();
    sent.0.into_inner().unwrap()
}

fn to_sam(sent: &[Outbound]) -> Vec<String> {
    sent.iter()
        .filter(|m| matches!(&m.to, deskbot::core::message::Audience::User { user } if user.id == "sam"))
        .map(|m| m.text.clone())
        .collect()
}

async fn told_sam(desk: &Desk<Db>, clock: &ManualClock) -> Vec<String> {
    to_sam(&sent(desk, clock).await)
}

async fn kinds(desk: &Desk<Db>) -> Vec<Value> {
    desk.store().events(TicketNo(1)).await.unwrap().iter().map(|e| serde_json::to_value(e).unwrap()).collect()
}

fn silence_state(t: &deskbot::core::ticket::Ticket) -> Option<SilenceState> {
    t.alert.as_deref().and_then(|a| a.silence.as_ref()).map(|s| s.state)
}

#[tokio::test]
async fn the_worker_posts_the_silence_retries_a_5xx_and_the_card_shows_it() {
    let (url, got) =
        fake_alertmanager(vec![(500, "down"), (503, "busy"), (500, "down"), (200, r#"{"silenceID":"s-7f3a"}"#)]).await;
    let (desk, clock, _dir) = desk().await;
    silence_asked(&desk, &url).await;
    let told = told_sam(&desk, &clock).await;
    assert!(told.iter().any(|t| t.starts_with("Asked Alertmanager (http://127.0.0.1:")), "{told:?}");
    let sink = SilenceSink::new(desk.clone(), Duration::from_secs(5)).unwrap();
    for attempt in 1..=3 {
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0, "attempt {attempt} fails");
        clock.set(clock.now() + chrono::Duration::minutes(1));
    }
    // After three failures sam hears that deskbot keeps retrying (once).
    let told = told_sam(&desk, &clock).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].starts_with(
            "Creating the silence for #1 in Alertmanager has failed 3 times (last error: Alertmanager answered 500 \
             Internal Server Error: down). deskbot keeps retrying"
        ),
        "{told:?}"
    );
    assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 1, "the fourth attempt is answered 200");
    assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0, "and sent once");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    for (path, ctype, body) in &got {
        assert_eq!(path, "/am/api/v2/silences");
        assert_eq!(ctype, "application/json");
        assert_eq!(body, &expected_body(), "every attempt sends the same silence");
    }
    let t = desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    let s = t.alert.as_deref().unwrap().silence.clone().unwrap();
    assert_eq!((s.state, s.id.as_deref()), (SilenceState::Active, Some("s-7f3a")));
    let ev = kinds(&desk).await;
    let failed: Vec<(i64, bool)> = ev
        .iter()
        .filter(|e| e["kind"] == "silence_failed")
        .map(|e| (e["attempt"].as_i64().unwrap(), e["gave_up"].as_bool().unwrap()))
        .collect();
    assert_eq!(failed, [(1, false), (2, false), (3, false)]);
    let silenced: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "silenced").collect();
    assert_eq!(silenced.len(), 1);
    assert_eq!((&silenced[0]["id"], &silenced[0]["attempts"]), (&json!("s-7f3a"), &json!(4)));
    let after = sent(&desk, &clock).await;
    assert_eq!(
        to_sam(&after),
        [
            r#"Alertmanager silenced #1's alert group (alertname="DbDown", cluster="eu1") until Mon 2 Mar 11:00 UTC (silence s-7f3a)."#
        ]
    );
    // The card says so.
    let card = after.iter().find(|m| m.kind == deskbot::core::message::MessageKind::Card).expect("a card");
    assert!(card.text.contains("\nSilenced until Mon 2 Mar 11:00 UTC by sam\n"), "{}", card.text);
}

#[tokio::test]
async fn a_silence_alertmanager_refuses_with_a_4xx_is_not_retried_and_sam_is_told_at_once() {
    let (url, got) = fake_alertmanager(vec![(400, "bad matchers: value too long")]).await;
    let (desk, clock, _dir) = desk().await;
    silence_asked(&desk, &url).await;
    sent(&desk, &clock).await;
    let sink = SilenceSink::new(desk.clone(), Duration::from_secs(5)).unwrap();
    assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0);
    for _ in 0..5 {
        clock.set(clock.now() + chrono::Duration::minutes(15));
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0);
    }
    assert_eq!(got.lock().unwrap().len(), 1, "a 400 is not retried");
    assert_eq!(got.lock().unwrap()[0].2, expected_body());
    let dead = desk.store().dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "set aside at once");
    let after = sent(&desk, &clock).await;
    assert_eq!(
        to_sam(&after),
        [
            r#"Alertmanager did not create the silence for #1 (alertname="DbDown", cluster="eu1") after 1 attempt(s): Alertmanager answered 400 Bad Request: bad matchers: value too long. Nothing was silenced; silence the group in Alertmanager itself, or try again."#
        ]
    );
    let card = after.iter().find(|m| m.kind == deskbot::core::message::MessageKind::Card).expect("a card");
    assert!(card.text.contains("Silence asked by sam failed: Alertmanager answered 400 Bad Request"), "{}", card.text);
    let t = desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(silence_state(&t), Some(SilenceState::Failed));
    let failed: Vec<Value> = kinds(&desk).await.into_iter().filter(|e| e["kind"] == "silence_failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((&failed[0]["attempt"], &failed[0]["gave_up"]), (&json!(1), &json!(true)));
}
