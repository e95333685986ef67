//! Monitoring alerts end to end: real-shaped Alertmanager (webhook v4) and generic payloads posted to the alert
//! routes on 127.0.0.1, tickets and messages checked in the store and the outbox.

use crate::common;
use chrono::Duration;
use deskbot::adapters::alerts::{self, AlertAuth, AlertIntake};
use deskbot::adapters::http::Secret;
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::TicketNo;
use deskbot::core::message::{Audience, MessageKind, Outbound};
use deskbot::core::report::PeriodKind;
use deskbot::core::ticket::{EventKind, Priority, State};
use deskbot::outbox::{self, Deliver, Failure, Worker};
use deskbot::store::{Db, OutboxItem, Store, TicketFilter};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "alert-token-1";

const CONFIG: &str = r#"
[alerts]
platform = "console"
max_new_tickets_per_hour = 5
[[alerts.rule]]
match = { service = "internet|vpn" }
category = "network"
priority = "P1"
runbook = "vpn-dropping"
[roles.console]
sam = "technician"
"#;

#[derive(Default)]
struct Collect(Mutex<Vec<Outbound>>);

impl Deliver for Collect {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        self.0.lock().unwrap().push(item.message.clone());
        Ok(())
    }
}

struct Rig {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    base: String,
    client: reqwest::Client,
    sent: Collect,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Bearer token only.
    async fn new() -> Rig {
        Rig::with_hmac(None).await
    }

    /// With `DESKBOT_ALERTS_HMAC_SECRET` set to "hmac-secret" (the generic route then takes signed requests only).
    async fn signing() -> Rig {
        Rig::with_hmac(Some("hmac-secret")).await
    }

    async fn with_hmac(hmac: Option<&str>) -> Rig {
        Rig::with_config(CONFIG, hmac).await
    }

    async fn with_config(config: &str, hmac: Option<&str>) -> Rig {
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let config = Config::from_parts("test", config, &[]).unwrap();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock).unwrap());
        let intake = AlertIntake {
            desk: desk.clone(),
            auth: AlertAuth { token: Secret::new(TOKEN), hmac: hmac.map(Secret::new) },
            wake: Arc::default(),
        };
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, alerts::router(intake)).await });
        Rig { desk, clock, base, client: reqwest::Client::new(), sent: Collect::default(), _dir: dir }
    }

    async fn post_raw(&self, path: &str, body: String, token: Option<&str>) -> (u16, Value) {
        let mut r = self.client.post(format!("{}{path}", self.base)).header("content-type", "application/json");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.body(body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn am(&self, v: &Value) -> Value {
        let (status, body) = self.post_raw("/api/v1/alerts/alertmanager", v.to_string(), Some(TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn generic(&self, v: &Value) -> Value {
        let (status, body) = self.post_raw("/api/v1/alerts", v.to_string(), Some(TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Everything the outbox holds now, in order (and marks it delivered).
    async fn drain(&self) -> Vec<Outbound> {
        outbox::drain(self.desk.store(), &self.sent, self.clock.as_ref(), Worker::in_order("test", None))
            .await
            .unwrap();
        std::mem::take(&mut *self.sent.0.lock().unwrap())
    }

    async fn tickets(&self) -> Vec<deskbot::core::ticket::Ticket> {
        self.desk.store().tickets(&TicketFilter { limit: Some(10_000), ..TicketFilter::default() }).await.unwrap()
    }

    fn advance(&self, d: Duration) {
        self.clock.set(self.clock.now() + d);
    }
}

fn am_alert(name: &str, fingerprint: &str, status: &str, instance: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": name, "service": "internet", "severity": "critical", "site": "hq", "instance": instance},
        "annotations": {"summary": format!("{name} on {instance}"), "runbook_url": "https://wiki.example/isp"},
        "startsAt": "2026-03-02T09:58:00.000Z",
        "endsAt": if status == "resolved" { "2026-03-02T10:20:00Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=probe_success%3D%3D0",
        "fingerprint": fingerprint
    })
}

/// An Alertmanager v4 notification for the InternetDown group, as Alertmanager sends it.
fn am_group(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "receiver": "deskbot",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "InternetDown"},
        "commonLabels": {"alertname": "InternetDown", "service": "internet", "severity": "critical", "site": "hq"},
        "commonAnnotations": {"runbook_url": "https://wiki.example/isp"},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": "{}/{service=~\"internet|vpn\"}:{alertname=\"InternetDown\"}",
        "truncatedAlerts": 0
    })
}

fn nums(v: &Value, key: &str) -> Vec<i64> {
    v[key].as_array().unwrap().iter().map(|n| n.as_i64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_group_opens_one_ticket_and_repeats_update_it() {
    let rig = Rig::new().await;
    let first = am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]);
    let out = rig.am(&first).await;
    assert_eq!(nums(&out, "opened"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!((t.category.as_str(), t.priority, t.state), ("network", Priority::P1, State::New));
    assert_eq!(t.requester.id, "monitor:alertmanager");
    assert!(t.first_response_due.is_some(), "alert tickets run on the SLA like any other");
    let sent = rig.drain().await;
    assert_eq!(sent.len(), 1, "one card, nothing to the monitoring source: {sent:#?}");
    let card = &sent[0];
    assert_eq!(card.kind, MessageKind::Card);
    assert_eq!(card.to, Audience::Channel { channel: "helpdesk-queue".into() });
    for want in [
        "Alert ticket #1 · P1 · network · FIRING (1 alert)",
        "InternetDown on fw1",
        "severity=critical",
        "service=internet",
        "site=hq",
        "Since Mon 2 Mar 09:58 UTC",
        "Runbook: VPN won't connect or keeps dropping",
        "Runbook: https://wiki.example/isp",
        "Source: http://prometheus.example:9090/graph",
    ] {
        assert!(card.text.contains(want), "card lacks {want:?}: {}", card.text);
    }
    assert_eq!(card.buttons.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["Claim", "Resolve", "Silence 2h"]);

    // Alertmanager redelivers the same notification: nothing happens.
    let again = rig.am(&first).await;
    assert_eq!(again["duplicate"], json!(true));
    // Its repeat_interval resends the group with a changed body but nothing new: no ticket, no message.
    rig.advance(Duration::minutes(5));
    let mut repeat = first.clone();
    repeat["truncatedAlerts"] = json!(0);
    repeat["receiver"] = json!("deskbot-repeat");
    let out = rig.am(&repeat).await;
    assert_eq!(out["unchanged"], json!(1));
    assert!(rig.drain().await.is_empty());

    // A second alert joins the group: the same ticket is updated, with a note; no new ticket.
    rig.advance(Duration::minutes(1));
    let two = am_group(
        "firing",
        vec![am_alert("InternetDown", "fp1", "firing", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")],
    );
    let out = rig.am(&two).await;
    assert_eq!((nums(&out, "opened"), nums(&out, "updated")), (vec![], vec![1]));
    assert_eq!(rig.tickets().await.len(), 1);
    let sent = rig.drain().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("FIRING (2 alerts)"), "{}", sent[0].text);
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::InternalNote { text } if text.contains("InternetDown on fw2"))),
        "{events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_resolves_untouched_tickets_and_tells_the_owner_otherwise() {
    let rig = Rig::new().await;
    // Group 1: nobody touches it; resolving one of two alerts keeps it open, resolving both resolves it.
    let both = vec![am_alert("InternetDown", "fp1", "firing", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")];
    rig.am(&am_group("firing", both)).await;
    rig.advance(Duration::minutes(2));
    let half =
        vec![am_alert("InternetDown", "fp1", "resolved", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")];
    let out = rig.am(&am_group("firing", half)).await;
    assert_eq!(nums(&out, "updated"), vec![1]);
    assert_eq!(rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::New);
    rig.advance(Duration::minutes(2));
    let gone =
        vec![am_alert("InternetDown", "fp1", "resolved", "fw1"), am_alert("InternetDown", "fp2", "resolved", "fw2")];
    let out = rig.am(&am_group("resolved", gone.clone())).await;
    assert_eq!(nums(&out, "resolved"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.state, State::Resolved);
    // Resolved again (a repeat): nothing changes.
    rig.advance(Duration::minutes(1));
    let mut repeat = am_group("resolved", gone);
    repeat["receiver"] = json!("again");
    assert_eq!(rig.am(&repeat).await["unchanged"], json!(1));
    let sent = rig.drain().await;
    assert!(
        sent.iter().all(|m| !matches!(&m.to, Audience::User { user } if user.id.starts_with("monitor:"))),
        "nothing is addressed to the monitoring source (no CSAT prompt): {sent:#?}"
    );

    // Group 2 (generic): a technician claims it; its resolution adds a note and tells the owner.
    let out = rig
        .generic(&json!({"key": "backup-nas01", "title": "Backup job failed on NAS01", "source": "rmm",
                         "severity": "error", "labels": {"service": "backup"}}))
        .await;
    let n = nums(&out, "opened")[0];
    assert_eq!(rig.desk.store().ticket(TicketNo(n)).await.unwrap().unwrap().priority, Priority::P2);
    rig.desk.handle(&common::cmd("sam", &format!("claim {n}"))).await.unwrap();
    rig.drain().await;
    rig.advance(Duration::minutes(10));
    let out = rig
        .generic(&json!({"key": "backup-nas01", "title": "Backup job failed on NAS01", "source": "rmm",
                                  "status": "resolved"}))
        .await;
    assert_eq!(nums(&out, "updated"), vec![n]);
    let t = rig.desk.store().ticket(TicketNo(n)).await.unwrap().unwrap();
    assert_eq!((t.state, t.owner.as_ref().map(|o| o.id.as_str())), (State::Open, Some("sam")));
    let sent = rig.drain().await;
    let told: Vec<_> = sent
        .iter()
        .filter(|m| matches!(&m.to, Audience::User { user } if user.id == "sam"))
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(told.len(), 1, "{sent:#?}");
    assert!(told[0].contains("has resolved") && told[0].contains("stays yours"), "{}", told[0]);
    let events = rig.desk.store().events(TicketNo(n)).await.unwrap();
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::InternalNote { text } if text.contains("resolved"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_reopens_and_later_firing_opens_anew() {
    let rig = Rig::new().await;
    let fire = |k: &str| json!({"key": k, "title": "Switch port flapping", "labels": {"service": "lan"}});
    let clear = |k: &str| json!({"key": k, "title": "Switch port flapping", "status": "resolved"});
    assert_eq!(nums(&rig.generic(&fire("sw1")).await, "opened"), vec![1]);
    rig.advance(Duration::minutes(3));
    assert_eq!(nums(&rig.generic(&clear("sw1")).await, "resolved"), vec![1]);
    rig.advance(Duration::minutes(10));
    let out = rig.generic(&fire("sw1")).await;
    assert_eq!(nums(&out, "reopened"), vec![1], "fired again within 30 minutes: the same ticket");
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!((t.state, t.reopen_count), (State::Open, 1));
    assert_eq!(t.alert.as_ref().unwrap().flaps, 1);
    rig.advance(Duration::minutes(3));
    rig.generic(&clear("sw1")).await;
    rig.advance(Duration::minutes(31));
    let out = rig.generic(&fire("sw1")).await;
    assert_eq!(nums(&out, "opened"), vec![2], "long after resolving: a new ticket");
    assert_eq!(rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::Resolved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_storm_opens_a_bounded_number_of_tickets_and_one_summary() {
    let rig = Rig::new().await;
    // 1,000 alerts in one group: one ticket.
    let many: Vec<Value> =
        (0..1000).map(|i| am_alert("HostDown", &format!("h{i}"), "firing", &format!("pc{i}"))).collect();
    let mut g = am_group("firing", many);
    g["groupKey"] = json!("{}:{alertname=\"HostDown\"}");
    let out = rig.am(&g).await;
    assert_eq!(nums(&out, "opened"), vec![1]);
    let sent = rig.drain().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("FIRING (1000 alerts)"), "{}", sent[0].text);

    // 1,000 different groups within a minute, ten per request: at most the hourly cap plus one storm ticket.
    for batch in 0..100 {
        let alerts: Vec<Value> = (0..10)
            .map(|i| {
                json!({"key": format!("disk-{batch}-{i}"), "title": format!("Disk full on srv{batch}-{i}"),
                            "source": "rmm", "severity": "warning"})
            })
            .collect();
        rig.generic(&json!({ "alerts": alerts })).await;
        rig.advance(Duration::milliseconds(600));
    }
    let tickets = rig.tickets().await;
    let rmm: Vec<_> = tickets.iter().filter(|t| t.requester.id == "monitor:rmm").collect();
    assert_eq!(rmm.len(), 6, "5 (the cap) + 1 storm ticket");
    let storm = rmm.iter().find(|t| t.alert.as_ref().unwrap().group == "storm").unwrap();
    assert_eq!(storm.alert.as_ref().unwrap().folded, 995);
    assert_eq!(storm.priority, Priority::P3, "the priority of what it collected (warnings), not always P1");
    let sent = rig.drain().await;
    let summaries: Vec<_> = sent.iter().filter(|m| m.text.starts_with("Alert storm from rmm")).collect();
    assert_eq!(summaries.len(), 1, "one summary message");
    assert_eq!(summaries[0].to, Audience::Channel { channel: "helpdesk-escalations".into() });
    // Cards: 5 tickets + the storm card (its updates at most once a minute: the storm lasted one minute).
    assert!(sent.len() <= 5 + 1 + 2, "{} messages for 1,000 alerts: {sent:#?}", sent.len());
    assert!(sent.len() >= 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_and_credentials_are_refused_and_change_nothing() {
    let rig = Rig::new().await;
    let good = am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]);
    let mut v3 = good.clone();
    v3["version"] = json!("3");
    let mut no_alerts = good.clone();
    no_alerts["alerts"] = json!([]);
    let mut bad_time = good.clone();
    bad_time["alerts"][0]["startsAt"] = json!("yesterday");
    let mut bad_status = good.clone();
    bad_status["alerts"][0]["status"] = json!("burning");
    for (body, want) in [
        ("not json".to_string(), "invalid JSON"),
        (v3.to_string(), "version"),
        (no_alerts.to_string(), "no alerts"),
        (bad_time.to_string(), "alerts[0].startsAt"),
        (bad_status.to_string(), "alerts[0].status"),
        (json!({"groupKey": "x"}).to_string(), "version"),
    ] {
        let (status, out) = rig.post_raw("/api/v1/alerts/alertmanager", body.clone(), Some(TOKEN)).await;
        assert_eq!(status, 400, "{body}");
        assert!(out["error"].as_str().unwrap().contains(want), "{body}: {out}");
    }
    for (body, want) in [
        (json!({"title": "no key"}), "key"),
        (json!({"alerts": [{"key": "a", "title": "A"}, {"key": "b", "title": "B", "status": "gone"}]}), "alert 1"),
    ] {
        let (status, out) = rig.post_raw("/api/v1/alerts", body.to_string(), Some(TOKEN)).await;
        assert_eq!(status, 400);
        assert!(out["error"].as_str().unwrap().contains(want), "{out}");
    }
    let (status, _) = rig.post_raw("/api/v1/alerts/alertmanager", good.to_string(), None).await;
    assert_eq!(status, 401);
    let (status, _) = rig.post_raw("/api/v1/alerts/alertmanager", good.to_string(), Some("wrong")).await;
    assert_eq!(status, 401);
    assert!(rig.tickets().await.is_empty(), "nothing stored");
    assert!(rig.drain().await.is_empty(), "nothing sent");

    // A signed generic request is accepted without the bearer token.
    let rig = Rig::signing().await;
    let body = json!({"key": "ups-1", "title": "UPS on battery"}).to_string();
    let ts = rig.desk.now().timestamp();
    let r = rig
        .client
        .post(format!("{}/api/v1/alerts", rig.base))
        .header("content-type", "application/json")
        .header("x-deskbot-timestamp", ts.to_string())
        .header("x-deskbot-signature", alerts::sign(b"hmac-secret", ts, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(rig.tickets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_tickets_count_separately_in_reports() {
    let rig = Rig::new().await;
    rig.generic(&json!({"key": "a", "title": "Backup failed"})).await;
    rig.generic(&json!({"key": "b", "title": "Disk full"})).await;
    rig.desk.handle(&common::say("ann", "the printer on floor 2 is jammed again")).await.unwrap();
    let r = rig.desk.report(PeriodKind::Week, rig.desk.now().date_naive()).await.unwrap();
    assert_eq!((r.volume.total, r.volume.staff, r.volume.alert), (3, 1, 2));
}

/// Not alert-specific, but the same machinery: on platforms that edit messages in place, every change to a ticket
/// re-sends its card (the adapter updates the posted card); on the console it is posted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_follow_the_ticket_on_platforms_that_edit_in_place() {
    use deskbot::core::ids::{Place, Platform, UserRef};
    use deskbot::core::message::{Body, Envelope};
    let rig = Rig::new().await;
    let slack = |id: &str| UserRef::new(Platform::Slack, id, id);
    let env = |who: &str, key: &str, body: Body| Envelope {
        dedupe_key: key.into(),
        actor: slack(who),
        place: Place { channel: "helpdesk".into(), thread: None, message: Some(key.into()), dm: false },
        mentioned: false,
        body,
    };
    rig.desk.set_role(&slack("UTECH"), deskbot::core::roles::Role::Technician);
    rig.desk.handle(&env("UANN", "m1", Body::Text { text: "xero won't load since the update".into() })).await.unwrap();
    let cards = |v: &[Outbound]| v.iter().filter(|m| m.kind == MessageKind::Card).cloned().collect::<Vec<_>>();
    let first = cards(&rig.drain().await);
    assert_eq!(first.len(), 1);
    assert!(first[0].text.starts_with("New ticket #1"), "{}", first[0].text);
    rig.desk.handle(&env("UTECH", "m2", Body::Action { action: "ticket:claim:1".into() })).await.unwrap();
    let after = cards(&rig.drain().await);
    assert_eq!(after.len(), 1, "the claim refreshes the card");
    assert!(after[0].text.starts_with("Ticket #1") && after[0].text.contains("owner UTECH"), "{}", after[0].text);
    assert_eq!(after[0].ticket, Some(TicketNo(1)));
    assert!(after[0].buttons.iter().all(|b| b.label != "Claim"), "no Claim button once owned");
    rig.desk
        .handle(&env("UTECH", "m3", Body::Command { name: "ticket".into(), args: "resolve 1 cleared the jam".into() }))
        .await
        .unwrap();
    let done = cards(&rig.drain().await);
    assert_eq!(done.len(), 1);
    assert!(done[0].text.contains("resolved") && !done[0].text.contains("due"), "{:?}", done[0]);
    assert_eq!(done[0].buttons.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["Reopen"]);

    // The console keeps its one-post behaviour.
    rig.desk.handle(&common::say("ann", "xero won't load since the update")).await.unwrap();
    assert_eq!(cards(&rig.drain().await).len(), 1);
    rig.desk.handle(&common::cmd("sam", "claim 2")).await.unwrap();
    assert!(cards(&rig.drain().await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_of_a_group_is_on_the_ticket_and_the_card_shows_partial_resolution() {
    let rig = Rig::new().await;
    // Two hosts of one group stop answering: one ticket that names both.
    let both = vec![am_alert("InternetDown", "fp1", "firing", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")];
    assert_eq!(nums(&rig.am(&am_group("firing", both)).await, "opened"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    for want in [
        "Alerts (2):",
        "- InternetDown on fw1 (instance=fw1: firing since Mon 2 Mar 09:58 UTC)",
        "- InternetDown on fw2 (instance=fw2: firing since Mon 2 Mar 09:58 UTC)",
    ] {
        assert!(t.description.contains(want), "ticket lacks {want:?}: {}", t.description);
    }
    let info = t.alert.as_deref().unwrap();
    let kept: Vec<_> = info.alerts.iter().map(|m| (m.fingerprint.as_str(), m.label_text(9))).collect();
    assert_eq!(kept, [("fp1", "instance=fw1".to_string()), ("fp2", "instance=fw2".to_string())]);
    let card = &rig.drain().await[0];
    assert!(card.text.contains("FIRING (2 alerts)") && !card.text.contains("resolved"), "{}", card.text);
    assert!(
        card.text.contains(
            "Alerts: instance=fw1: firing since Mon 2 Mar 09:58 UTC; instance=fw2: firing since Mon 2 Mar 09:58 UTC"
        ),
        "{}",
        card.text
    );

    // One of them answers again a few seconds later: the ticket stays open, says which, and the card shows 1 of 2
    // resolved at the end of the minute (held back, never dropped: Alertmanager may not send the group again for
    // hours).
    rig.advance(Duration::seconds(5));
    let half =
        vec![am_alert("InternetDown", "fp1", "resolved", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")];
    assert_eq!(nums(&rig.am(&am_group("firing", half.clone())).await, "updated"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.state, State::New);
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    let note = "1 of 2 alerts resolved: InternetDown on fw1 (instance=fw1: resolved Mon 2 Mar 10:20 UTC)";
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::InternalNote { text } if text == note)), "{events:#?}");
    assert!(rig.drain().await.is_empty(), "the card was posted 5 seconds ago");
    rig.advance(Duration::seconds(55));
    rig.desk.tick().await.unwrap();
    let sent = rig.drain().await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let card = &sent[0].text;
    assert!(card.contains("FIRING (1 alert) · 1 of 2 resolved"), "{card}");
    assert!(
        card.contains(
            "Alerts: instance=fw2: firing since Mon 2 Mar 09:58 UTC; instance=fw1: resolved Mon 2 Mar 10:20 UTC"
        ),
        "{card}"
    );
    // The same partial state again is no news.
    rig.advance(Duration::minutes(2));
    let mut again = am_group("firing", half);
    again["receiver"] = json!("repeat");
    assert_eq!(rig.am(&again).await["unchanged"], json!(1));
}

/// An alert that no rule routes lands in the default category (`other`, a request category) and is still an
/// incident: monitoring reports something broken.
#[tokio::test]
async fn an_unrouted_alert_is_an_incident_in_the_default_category() {
    let rig = Rig::new().await;
    let mut g = am_group("firing", vec![am_alert("DiskFull", "fpd", "firing", "nas1")]);
    g["groupLabels"] = json!({"alertname": "DiskFull"});
    g["commonLabels"] = json!({"alertname": "DiskFull", "severity": "warning"});
    // Nor does its alert carry a label a rule routes (a group's alerts that all match a rule take its category).
    g["alerts"][0]["labels"] = json!({"alertname": "DiskFull", "severity": "warning", "instance": "nas1"});
    g["groupKey"] = json!("{}:{alertname=\"DiskFull\"}");
    assert_eq!(nums(&rig.am(&g).await, "opened"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.category, "other");
    assert_eq!(t.ticket_type, deskbot::core::ticket::TicketType::Incident);
}

/// A large group (2,100 alerts, all kept by fingerprint): when the first 2,000 resolve while 100 more still fire,
/// the ticket stays open and the card says 100 fire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_past_what_is_kept_by_name_still_count_and_keep_the_ticket_open() {
    let rig = Rig::new().await;
    let group = |resolved_below: usize| {
        let alerts: Vec<Value> = (0..2100)
            .map(|i| {
                let status = if i < resolved_below { "resolved" } else { "firing" };
                am_alert("HostDown", &format!("h{i:04}"), status, &format!("pc{i}"))
            })
            .collect();
        let mut g = am_group(if resolved_below >= 2100 { "resolved" } else { "firing" }, alerts);
        g["groupKey"] = json!("{}:{alertname=\"HostDown\"}");
        g
    };
    assert_eq!(nums(&rig.am(&group(0)).await, "opened"), vec![1]);
    let sent = rig.drain().await;
    assert!(sent[0].text.contains("FIRING (2100 alerts)"), "{}", sent[0].text);
    rig.advance(Duration::minutes(5));
    assert_eq!(nums(&rig.am(&group(2000)).await, "updated"), vec![1]);
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.state, State::New, "100 alerts still fire");
    let card = &rig.drain().await[0].text;
    assert!(card.contains("FIRING (100 alerts) · 2000 of 2100 resolved"), "{card}");
    rig.advance(Duration::minutes(5));
    assert_eq!(nums(&rig.am(&group(2100)).await, "resolved"), vec![1]);
}

impl Rig {
    /// Posts `body` to the generic route signed with the HMAC secret at `ts`, with extra headers.
    async fn signed(&self, body: &str, ts: i64, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut r = self
            .client
            .post(format!("{}/api/v1/alerts", self.base))
            .header("x-deskbot-timestamp", ts.to_string())
            .header("x-deskbot-signature", alerts::sign(b"hmac-secret", ts, body.as_bytes()));
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        let r = r.body(body.to_string()).send().await.unwrap();
        let status = r.status().as_u16();
        (status, serde_json::from_str(&r.text().await.unwrap()).unwrap())
    }
}

/// A captured signed request sent again within its five minutes is refused (409), whatever Idempotency-Key it is
/// given: a replayed "resolved" must not resolve the live ticket. Only JSON bodies are accepted (415).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signature_is_refused_and_only_json_is_accepted() {
    let rig = Rig::signing().await;
    let json_ct = [("content-type", "application/json")];
    let fire = json!({"key": "ups-1", "title": "UPS on battery"}).to_string();
    let clear = json!({"key": "ups-1", "title": "UPS on battery", "status": "resolved"}).to_string();
    let t0 = rig.desk.now().timestamp();
    let (status, out) = rig.signed(&fire, t0, &json_ct).await;
    assert_eq!((status, nums(&out, "opened")), (200, vec![1]));
    rig.advance(Duration::seconds(30));
    let t1 = rig.desk.now().timestamp();
    let (status, out) = rig.signed(&clear, t1, &json_ct).await;
    assert_eq!((status, nums(&out, "resolved")), (200, vec![1]));
    // The UPS goes on battery again: the ticket reopens.
    rig.advance(Duration::seconds(60));
    let (status, out) = rig.signed(&fire, rig.desk.now().timestamp(), &json_ct).await;
    assert_eq!((status, nums(&out, "reopened")), (200, vec![1]));
    // The captured "resolved" is sent again two minutes later, as it was and with a made-up Idempotency-Key.
    rig.advance(Duration::seconds(30));
    for extra in [&json_ct[..], &[("content-type", "application/json"), ("idempotency-key", "fresh-1")]] {
        let (status, out) = rig.signed(&clear, t1, extra).await;
        assert_eq!(status, 409, "{out}");
        assert!(out["error"].as_str().unwrap().contains("signature was already used"), "{out}");
    }
    assert_eq!(rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::Open, "still live");
    // A signed request with an Idempotency-Key is refused when replayed too.
    let other = json!({"key": "ups-2", "title": "UPS 2 on battery"}).to_string();
    let t2 = rig.desk.now().timestamp();
    let idem = [("content-type", "application/json"), ("idempotency-key", "ups-2-a")];
    assert_eq!(rig.signed(&other, t2, &idem).await.0, 200);
    assert_eq!(rig.signed(&other, t2, &[("content-type", "application/json"), ("idempotency-key", "b")]).await.0, 409);

    // Not JSON: refused before anything is read, nothing stored.
    let before = rig.tickets().await.len();
    let new = json!({"key": "ups-3", "title": "UPS 3 on battery"}).to_string();
    let ts = rig.desk.now().timestamp();
    for ct in [None, Some("application/x-www-form-urlencoded"), Some("text/plain")] {
        let extra: Vec<(&str, &str)> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let (status, out) = rig.signed(&new, ts, &extra).await;
        assert_eq!(status, 415, "{ct:?}: {out}");
        assert!(out["error"].as_str().unwrap().contains("application/json"), "{out}");
    }
    let r = rig
        .client
        .post(format!("{}/api/v1/alerts/alertmanager", rig.base))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    assert_eq!(rig.tickets().await.len(), before);
    // The same request as JSON, not sent before with a bad type counted as used, is accepted.
    assert_eq!(rig.signed(&new, ts, &json_ct).await.0, 200);
}

/// HA Alertmanager pairs and parallel RMM scripts send one group's notifications at once: they are handled one
/// after the other, so the group gets one ticket (and no ticket numbers are skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_notifications_of_one_group_open_one_ticket() {
    let rig = Rig::new().await;
    let posts = (0..30).map(|i| {
        let mut g = am_group("firing", vec![am_alert("InternetDown", &format!("fp{i}"), "firing", &format!("fw{i}"))]);
        g["groupKey"] = json!("{}:{alertname=\"RaceFive\"}");
        let (client, base) = (rig.client.clone(), rig.base.clone());
        async move {
            let r = client
                .post(format!("{base}/api/v1/alerts/alertmanager"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(g.to_string())
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let tickets = rig.tickets().await;
    assert_eq!(tickets.iter().map(|t| t.number).collect::<Vec<_>>(), [TicketNo(1)], "one ticket for the group");
    assert_eq!(tickets[0].alert.as_ref().unwrap().firing_count(), 30, "every instance is on it");
    // The next ticket takes the next number.
    let out = rig.generic(&json!({"key": "after", "title": "Backup failed"})).await;
    assert_eq!(nums(&out, "opened"), vec![2]);
}

/// Alertmanager's repeat_interval resends a group byte for byte. Within minutes that is a redelivery (a retry);
/// hours later it is the repeat, and after a technician resolved the ticket while the alert still fired, it opens
/// a new ticket, as `deskbot replay` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_repeat_hours_later_is_not_a_duplicate() {
    let rig = Rig::new().await;
    let fire = am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]);
    assert_eq!(nums(&rig.am(&fire).await, "opened"), vec![1]);
    rig.advance(Duration::minutes(1));
    rig.desk.handle(&common::cmd("sam", "resolve 1 replaced the router")).await.unwrap();
    rig.advance(Duration::minutes(1));
    assert_eq!(rig.am(&fire).await["duplicate"], json!(true), "a redelivery");
    rig.advance(Duration::hours(4));
    let out = rig.am(&fire).await;
    assert_eq!((nums(&out, "opened"), &out["duplicate"]), (vec![2], &json!(false)));
    assert_eq!(rig.desk.store().ticket(TicketNo(2)).await.unwrap().unwrap().links, [TicketNo(1)]);
}

/// With the HMAC secret set, a request that carries a signature is judged by it: a bad one is refused however good
/// the bearer token with it. The generic route takes signed requests only; Alertmanager (which cannot sign) keeps
/// the bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_is_refused_whatever_the_bearer_token() {
    let rig = Rig::signing().await;
    let generic = json!({"key": "ups-1", "title": "UPS on battery"}).to_string();
    let am = am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]).to_string();
    let ts = rig.desk.now().timestamp().to_string();
    for (path, body) in [("/api/v1/alerts", &generic), ("/api/v1/alerts/alertmanager", &am)] {
        let r = rig
            .client
            .post(format!("{}{path}", rig.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .header("x-deskbot-timestamp", &ts)
            .header("x-deskbot-signature", "sha256=00")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let out: Value = r.json().await.unwrap();
        assert_eq!(out["error"], "wrong signature", "{path}");
    }
    let (status, out) = rig.post_raw("/api/v1/alerts", generic, Some(TOKEN)).await;
    assert_eq!(status, 401);
    assert!(out["error"].as_str().unwrap().contains("signed requests only"), "{out}");
    assert!(rig.tickets().await.is_empty());
    assert_eq!(nums(&rig.am(&serde_json::from_str(&am).unwrap()).await, "opened"), vec![1], "Alertmanager's bearer");
}

/// An Idempotency-Key stands for one request: reused with another body (a "resolved" after a "firing") it is a
/// mistake that would lose the resolution, so it is refused with 422 and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_with_another_body_is_refused() {
    let rig = Rig::new().await;
    let post = |body: Value| {
        let (client, base) = (rig.client.clone(), rig.base.clone());
        async move {
            let r = client
                .post(format!("{base}/api/v1/alerts"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .header("idempotency-key", "K1")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let fire = json!({"key": "backup-nas01", "title": "Backup failed", "source": "rmm"});
    let clear = json!({"key": "backup-nas01", "title": "Backup failed", "source": "rmm", "status": "resolved"});
    let (status, out) = post(fire.clone()).await;
    assert_eq!((status, nums(&out, "opened")), (200, vec![1]));
    let (status, out) = post(clear).await;
    assert_eq!(status, 422, "{out}");
    assert!(out["error"].as_str().unwrap().contains("already used with a different body"), "{out}");
    assert_eq!(rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::New, "nothing changed");
    // The same request again is a retry: a duplicate, as before.
    let (status, out) = post(fire).await;
    assert_eq!((status, &out["duplicate"]), (200, &json!(true)));
}

/// Every answer of the alert routes is JSON, a body over the limit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_a_json_413() {
    let rig = Rig::new().await;
    let big = format!("{{\"key\":\"a\",\"title\":\"{}\"}}", "x".repeat(alerts::BODY_LIMIT));
    for path in ["/api/v1/alerts", "/api/v1/alerts/alertmanager"] {
        let (status, out) = rig.post_raw(path, big.clone(), Some(TOKEN)).await;
        assert_eq!(status, 413, "{path}");
        assert_eq!(out["error"], "request body too large", "{path}: {out}");
    }
}

/// A group that grows three times within a minute: the card is posted once, then once more at the end of the
/// minute showing all three alerts (held back, not dropped), with the labels that now tell them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_follows_a_growing_group_once_a_minute_and_shows_the_last_state() {
    let rig = Rig::new().await;
    let hosts =
        |n: usize| (1..=n).map(|i| am_alert("InternetDown", &format!("fp{i}"), "firing", &format!("fw{i}"))).collect();
    let group = |n: usize| {
        let mut g = am_group("firing", hosts(n));
        if n == 1 {
            // Alone, an alert's labels are all common ones.
            g["commonLabels"]["instance"] = json!("fw1");
        }
        g
    };
    assert_eq!(nums(&rig.am(&group(1)).await, "opened"), vec![1]);
    let first = rig.drain().await;
    assert_eq!(first.len(), 1);
    assert!(first[0].text.contains("Labels: instance=fw1, service=internet"), "{}", first[0].text);
    for (secs, n) in [(30, 2), (20, 3)] {
        rig.advance(Duration::seconds(secs));
        assert_eq!(nums(&rig.am(&group(n)).await, "updated"), vec![1]);
        assert!(rig.drain().await.iter().all(|m| m.kind != MessageKind::Card), "no card {secs}s after the last");
    }
    rig.advance(Duration::seconds(10));
    rig.desk.tick().await.unwrap();
    let sent = rig.drain().await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].text.contains("FIRING (3 alerts)"), "{}", sent[0].text);
    assert!(
        sent[0].text.contains("Labels: service=internet, severity=critical, site=hq, instance=fw1|fw2|fw3"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("Alerts: instance=fw1: firing since"), "fw1 is told apart now: {}", sent[0].text);
    rig.advance(Duration::minutes(5));
    rig.desk.tick().await.unwrap();
    assert!(rig.drain().await.is_empty(), "nothing more to show");
}

/// The documented example rule of `deskbot config print-default`, uncommented, is accepted by the same checks as
/// `serve` (the runbook it names exists).
#[tokio::test]
async fn the_documented_alert_rule_example_is_valid() {
    let mut inside = false;
    let uncommented: String = deskbot::config::DEFAULT_TOML
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("# ").unwrap_or("");
            inside =
                rest == "[[alerts.rule]]" || inside && rest.contains(" = ") && rest.starts_with(char::is_lowercase);
            format!("{}\n", if inside { rest } else { l })
        })
        .collect();
    assert!(uncommented.contains("\n[[alerts.rule]]\nmatch = "), "{uncommented}");
    let config = Config::from_parts("example", &uncommented, &[]).unwrap();
    assert_eq!(config.alerts.rule.len(), 1);
    let (store, _dir) = common::sqlite().await;
    let clock: Arc<dyn Clock> = common::clock();
    deskbot::app::desk(&config, Db::Sqlite(store), clock).unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Findings of the SRE probe of the Alertmanager intake (#36).

/// Label values and the storm's `Collected:` list are the monitoring's text: escaped on every platform's card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_and_collected_groups_cannot_format_mention_or_link() {
    use deskbot::core::message::Markup;
    let config = CONFIG
        .replace("platform = \"console\"", "platform = \"http\"")
        .replace("max_new_tickets_per_hour = 5", "max_new_tickets_per_hour = 1");
    let rig = Rig::with_config(&config, None).await;
    let evil = "*boom* <@U123> [x](http://evil)";
    let mut a = am_alert("InternetDown", "fp1", "firing", "fw1");
    a["labels"]["team"] = json!(evil);
    let mut g = am_group("firing", vec![a]);
    g["commonLabels"]["team"] = json!(evil);
    rig.am(&g).await;
    // Past the cap (1), a generic alert with the same text is collected on a storm ticket.
    rig.generic(&json!({"key": "a", "title": "first", "source": "rmm"})).await;
    rig.generic(&json!({"key": "b", "title": evil, "source": "rmm"})).await;
    let cards: Vec<Outbound> = rig.drain().await.into_iter().filter(|m| m.kind == MessageKind::Card).collect();
    let labels = cards.iter().find(|m| m.text.contains("Labels:")).expect("the alert card");
    let storm = cards.iter().find(|m| m.text.contains("Collected:")).expect("the storm card");
    for card in [labels, storm] {
        let md = Markup::Markdown.render(&card.text);
        assert!(md.contains(r"\*boom\* \<\@U123\> \[x\](http://evil)"), "{md}");
        let slack = Markup::SlackMrkdwn.render(&card.text);
        assert!(slack.contains("\u{2217}boom\u{2217}") && !slack.contains("*boom*"), "{slack}");
    }
}

/// A stale `firing` (same fingerprint and startsAt) after the alert's resolution changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_firing_after_the_resolution_reopens_nothing() {
    let rig = Rig::new().await;
    let firing = am_group("firing", vec![am_alert("InternetDown", "fp1", "firing", "fw1")]);
    assert_eq!(nums(&rig.am(&firing).await, "opened"), vec![1]);
    rig.advance(Duration::minutes(3));
    let resolved = am_group("resolved", vec![am_alert("InternetDown", "fp1", "resolved", "fw1")]);
    assert_eq!(nums(&rig.am(&resolved).await, "resolved"), vec![1]);
    // The HA peer's late copy of the firing notification (another receiver name, so not a byte-identical body).
    rig.advance(Duration::minutes(1));
    let mut late = firing.clone();
    late["receiver"] = json!("deskbot-peer");
    let out = rig.am(&late).await;
    assert_eq!((nums(&out, "reopened"), nums(&out, "opened"), out["unchanged"].clone()), (vec![], vec![], json!(1)));
    assert_eq!(rig.tickets().await.len(), 1);
    assert_eq!(rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::Resolved);
    // Firing again for real (a new startsAt) reopens it.
    let mut again = am_alert("InternetDown", "fp1", "firing", "fw1");
    again["startsAt"] = json!("2026-03-02T10:30:00Z");
    assert_eq!(nums(&rig.am(&am_group("firing", vec![again])).await, "reopened"), vec![1]);
}

/// Flapping does not push the acknowledgement back: it stays due its target after the first firing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_keeps_the_acknowledgement_due_at_the_first_firing() {
    let rig = Rig::new().await;
    let start = rig.clock.now();
    let fire = |n: u32| {
        let mut a = am_alert("InternetDown", "fp1", "firing", "fw1");
        a["startsAt"] = json!(format!("2026-03-02T10:{:02}:00Z", 10 + n));
        am_group("firing", vec![a])
    };
    let clear = |n: u32| {
        let mut a = am_alert("InternetDown", "fp1", "resolved", "fw1");
        a["startsAt"] = json!(format!("2026-03-02T10:{:02}:00Z", 10 + n));
        am_group("resolved", vec![a])
    };
    rig.am(&fire(0)).await;
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    let due = t.first_response_due.unwrap();
    assert_eq!(due, start + Duration::minutes(30), "P1: acknowledge within 30 minutes");
    for n in 1..=3 {
        rig.advance(Duration::minutes(2));
        assert_eq!(nums(&rig.am(&clear(n - 1)).await, "resolved"), vec![1]);
        rig.advance(Duration::minutes(5));
        assert_eq!(nums(&rig.am(&fire(n)).await, "reopened"), vec![1]);
    }
    let t = rig.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.first_response_due, Some(due), "15 minutes spent resolved do not move it");
    // It breaches where it fell due.
    rig.advance(start + Duration::minutes(31) - rig.clock.now());
    rig.desk.tick().await.unwrap();
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.kind, EventKind::SlaWarning { percent: 100, .. })),
        "breached at the first firing's target: {events:#?}"
    );
}

fn storm_group(key: &str, url: &str) -> Value {
    let mut g = am_group("firing", vec![am_alert("DiskFull", &format!("fp-{key}"), "firing", key)]);
    g["groupKey"] = json!(format!("{{}}:{{instance=\"{key}\"}}"));
    g["externalURL"] = json!(url);
    g["commonLabels"]["instance"] = json!(key);
    g["commonLabels"]["severity"] = json!("warning");
    g["commonLabels"]["service"] = json!("disk");
    g["alerts"][0]["labels"]["severity"] = json!("warning");
    g["alerts"][0]["labels"]["service"] = json!("disk");
    g
}

fn storm_resolved(key: &str, url: &str) -> Value {
    let mut g = storm_group(key, url);
    g["status"] = json!("resolved");
    g["alerts"][0]["status"] = json!("resolved");
    g
}

/// A storm that goes on after its ticket ended reopens it (within `reopen_within`) or continues on a linked ticket;
/// neither is announced as a new storm. Storms are per Alertmanager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_that_goes_on_reopens_or_follows_its_ticket_and_storms_are_per_alertmanager() {
    let rig = Rig::new().await;
    let a = "http://am-a.example:9093";
    let b = "http://am-b.example:9093";
    for i in 0..5 {
        assert_eq!(nums(&rig.am(&storm_group(&format!("h{i}"), a)).await, "opened").len(), 1);
    }
    let storm_a = nums(&rig.am(&storm_group("h5", a)).await, "opened")[0];
    // Another Alertmanager has a cap of its own: its first groups are tickets (#36 probe B, D2), and its storm is
    // its own ticket, even at the same priority.
    for i in 0..5 {
        let own = nums(&rig.am(&storm_group(&format!("b{i}"), b)).await, "opened");
        assert_eq!(own.len(), 1);
        let t = rig.desk.store().ticket(TicketNo(own[0])).await.unwrap().unwrap();
        assert!(!t.title.contains("storm"), "{}", t.title);
    }
    let storm_b = nums(&rig.am(&storm_group("h6", b)).await, "opened")[0];
    assert_ne!(storm_a, storm_b);
    let t = rig.desk.store().ticket(TicketNo(storm_a)).await.unwrap().unwrap();
    assert!(t.title.contains("am-a.example:9093"), "{}", t.title);
    let announced = |sent: &[Outbound]| {
        sent.iter()
            .filter(|m| m.to == Audience::Channel { channel: "helpdesk-escalations".into() })
            .filter(|m| m.text.contains("alert tickets in an hour"))
            .count()
    };
    assert_eq!(announced(&rig.drain().await), 2);
    // Storm A recovers, then goes on 10 minutes later: the same ticket reopens.
    rig.advance(Duration::minutes(1));
    assert_eq!(nums(&rig.am(&storm_resolved("h5", a)).await, "resolved"), vec![storm_a]);
    rig.advance(Duration::minutes(10));
    let out = rig.am(&storm_group("h7", a)).await;
    assert_eq!((nums(&out, "reopened"), nums(&out, "opened")), (vec![storm_a], vec![]));
    assert_eq!(announced(&rig.drain().await), 0);
    // It recovers again and the storm goes on after `reopen_within`: a new ticket, linked, not announced.
    rig.advance(Duration::minutes(1));
    rig.am(&storm_resolved("h7", a)).await;
    rig.advance(Duration::minutes(31));
    let out = rig.am(&storm_group("h8", a)).await;
    let next = nums(&out, "opened");
    assert_eq!(next.len(), 1, "{out}");
    let t = rig.desk.store().ticket(TicketNo(next[0])).await.unwrap().unwrap();
    assert_eq!(t.links, vec![TicketNo(storm_a)]);
    assert_eq!(t.alert.as_ref().unwrap().group, "storm");
    assert_eq!(announced(&rig.drain().await), 0);
}

/// A storm ticket raised by a more severe group says its new priority in its title and card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_storm_ticket_says_its_new_priority() {
    let rig = Rig::new().await;
    let url = "http://am-a.example:9093";
    for i in 0..6 {
        rig.am(&storm_group(&format!("h{i}"), url)).await;
    }
    let storm = rig.tickets().await.into_iter().find(|t| t.alert.as_ref().unwrap().group == "storm").unwrap();
    assert!(storm.title.contains("P3"), "{}", storm.title);
    // The collected group repeats as critical.
    let mut g = storm_group("h5", url);
    g["alerts"][0]["labels"]["severity"] = json!("critical");
    g["commonLabels"]["severity"] = json!("critical");
    rig.am(&g).await;
    let t = rig.desk.store().ticket(storm.number).await.unwrap().unwrap();
    assert_eq!(t.priority, Priority::P1);
    assert!(t.title.contains("P1") && !t.title.contains("P3"), "{}", t.title);
    assert!(t.alert.as_ref().unwrap().summary.ends_with("(P1)"), "{}", t.alert.as_ref().unwrap().summary);
}

/// A silenced alert drops out of the group's notifications; when Alertmanager reports the whole group resolved,
/// the ticket resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_reported_resolved_resolves_alerts_that_dropped_out_of_it() {
    let rig = Rig::new().await;
    let both = vec![am_alert("InternetDown", "fp1", "firing", "fw1"), am_alert("InternetDown", "fp2", "firing", "fw2")];
    rig.am(&am_group("firing", both)).await;
    rig.advance(Duration::minutes(5));
    // fw2 is silenced (no longer sent); fw1 resolves and the group is resolved.
    let out = rig.am(&am_group("resolved", vec![am_alert("InternetDown", "fp1", "resolved", "fw1")])).await;
    assert_eq!(nums(&out, "resolved"), vec![1], "{out}");
}

/// An owned ticket that flaps: after the notices held back, the owner is told the state it settled in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_of_a_flapping_ticket_is_told_the_state_it_settled_in() {
    let rig = Rig::new().await;
    let fire = json!({"key": "sw1", "title": "Switch port flapping", "labels": {"service": "lan"}});
    let clear = json!({"key": "sw1", "title": "Switch port flapping", "status": "resolved"});
    rig.generic(&fire).await;
    rig.desk.handle(&common::cmd("sam", "claim 1")).await.unwrap();
    // resolve, fire (flap 1, told), resolve (told), fire (flap 2, held back), then quiet.
    for body in [&clear, &fire, &clear, &fire] {
        rig.advance(Duration::minutes(1));
        rig.generic(body).await;
    }
    let to_sam = |sent: Vec<Outbound>| -> Vec<String> {
        sent.into_iter()
            .filter(|m| matches!(&m.to, Audience::User { user } if user.id == "sam"))
            .map(|m| m.text)
            .collect()
    };
    let told = to_sam(rig.drain().await);
    assert!(told.last().is_some_and(|t| t.contains("has resolved")), "{told:#?}");
    rig.advance(Duration::minutes(10));
    rig.desk.tick().await.unwrap();
    let told = to_sam(rig.drain().await);
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0].contains("has settled firing"), "{}", told[0]);
    // Nothing more once told.
    rig.advance(Duration::minutes(30));
    rig.desk.tick().await.unwrap();
    assert!(to_sam(rig.drain().await).is_empty());
}

/// #36: an alert card links back to where to look (its description, dashboard, each alert's generatorURL, the
/// group's page in Alertmanager), before its labels, so every platform's rendering carries them: Discord's embed,
/// cut at 4096 characters, too, when eight 1000-character labels follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_cards_carry_their_links_on_every_platform() {
    let mut group = am_group(
        "firing",
        vec![am_alert("FirewallDown", "fp1", "firing", "fw1"), am_alert("FirewallDown", "fp2", "firing", "fw2")],
    );
    group["alerts"][1]["generatorURL"] = json!("http://prometheus-b.example:9090/graph?g0.expr=probe_success%3D%3D0");
    group["externalURL"] = json!("https://alertmanager.example");
    group["groupLabels"] = json!({"alertname": "FirewallDown", "site": "hq"});
    group["commonLabels"]["alertname"] = json!("FirewallDown");
    group["commonAnnotations"]["description"] =
        json!("Both firewalls stopped answering.\nSource: https://forged.example");
    group["commonAnnotations"]["grafana_url"] = json!("https://grafana.example/d/fw?orgId=1&var-site=hq");
    for i in 1..=8 {
        group["commonLabels"][format!("note{i}")] = json!("x".repeat(1000));
    }
    let links = [
        "Dashboard: https://grafana.example/d/fw?orgId=1&var-site=hq",
        "Source (instance=fw1): http://prometheus.example:9090/graph?g0.expr=probe_success%3D%3D0",
        "Source (instance=fw2): http://prometheus-b.example:9090/graph?g0.expr=probe_success%3D%3D0",
        "Alertmanager: https://alertmanager.example/#/alerts?filter=%7Balertname%3D%22FirewallDown%22%2Csite%3D%22hq%22%7D",
        "Runbook: https://wiki.example/isp",
    ];
    for platform in ["console", "slack", "teams", "discord"] {
        let rig =
            Rig::with_config(&CONFIG.replace("platform = \"console\"", &format!("platform = \"{platform}\"")), None)
                .await;
        rig.am(&group).await;
        let sent = rig.drain().await;
        let card = sent.iter().find(|m| m.kind == MessageKind::Card).expect("a card");
        assert!(card.text.len() > 8000, "the labels make the card long");
        // The description is on one line: no line of the card is a forged "Source:".
        assert!(card.text.lines().any(|l| l.starts_with("Description: Both firewalls stopped answering.")));
        assert!(!card.text.lines().any(|l| l.starts_with("Source: https://forged")), "{platform}");
        let rendered = match platform {
            "slack" => serde_json::to_string(&deskbot::adapters::slack::blocks::card(card, None)).unwrap(),
            "teams" => deskbot::adapters::teams::cards::card(card).to_string(),
            "discord" => deskbot::adapters::discord::safe_text(&card.text, 4096),
            _ => card.text.clone(),
        };
        for link in links {
            // Slack's text escapes `&` as `&amp;` (Slack shows and follows it as `&`).
            let want = if platform == "slack" { link.replace('&', "&amp;") } else { link.to_string() };
            assert!(
                rendered.contains(&want),
                "{platform} lacks {want:?}: {}",
                card.text.chars().take(1500).collect::<String>()
            );
        }
    }
}
