//! The contract suite: real payloads from the platforms' SDK test data and documentation (kept, with their
//! sources, under `tests/fixtures/platforms/`) sent to `deskbot serve` (`serve_on`, with Slack over HTTP, Teams and
//! the alert intake configured) with genuine and forged authentication. Each case checks the HTTP answer, what is
//! stored, and what deskbot sends back to the fake Slack Web API and Bot Connector. Socket Mode envelopes go over
//! a local WebSocket, authenticated by the app-level token. No network.

use crate::common;
use crate::slack::{FakeSlack, SECRET};
use crate::teams::{self, APP_ID};
use deskbot::adapters::http::Secret;
use deskbot::adapters::slack::signature;
use deskbot::adapters::slack::{Slack, SlackOptions, SlackSecret, socket};
use deskbot::adapters::teams::Settings;
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::{Platform, TicketNo};
use deskbot::core::ticket::{EventKind, State};
use deskbot::store::{Db, Store, TicketFilter};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const HTTP_TOKEN: &str = "contract-http-token";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The Slack bot user the documentation's samples mention (`<@U0LAN0Z89>`); the fake's `auth.test` says so.
const SLACK_BOT: &str = "U0LAN0Z89";
/// Teams channels of the samples: the captured channel is the helpdesk, the documented team's General the queue.
const TEAMS_HELPDESK: &str = "19:6848757105754c8981c67612732d9aa7@thread.tacv2";
const TEAMS_QUEUE: &str = "19:efa9296d959346209fea44151c742e73@thread.skype";
const RIDO: &str = "b15a9416-0ad3-4172-9210-7beb711d3f70";

fn fixture(platform: &str, file: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/platforms", platform, file].iter().collect();
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `deskbot serve` with Slack (HTTP Events API), Teams and the alert intake, against local fakes.
struct Served {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    base: String,
    slack: FakeSlack,
    teams: teams::Fake,
    config: Config,
    http: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start() -> Served {
        let slack = FakeSlack::start().await;
        *slack.me.lock().unwrap() = (SLACK_BOT.into(), "B0LAN0Z89".into());
        let teams = teams::Fake::start().await;
        let toml = format!(
            r#"
[roles.slack]
UA8RXUSPL = "technician"

[roles.teams]
"{RIDO}" = "technician"

[slack]
mode = "http"
api_url = "{slack_api}"

[slack.channels]
helpdesk = "C123ABC456"
helpdesk-queue = "C0QUEUE"

[teams]
app_id = "{APP_ID}"
tenant_id = "{TENANT}"
openid_metadata_url = "{teams_base}/openid"
login_url = "{teams_base}/login"

[teams.channels]
helpdesk = "{TEAMS_HELPDESK}"
helpdesk-queue = "{TEAMS_QUEUE}"

[alerts]
platform = "slack"
"#,
            slack_api = slack.api_url(),
            teams_base = teams.base(),
        );
        let config = Config::from_parts("contract", &toml, &[]).unwrap();
        let vars = |k: &str| match k {
            "SLACK_BOT_TOKEN" => Some("xoxb-contract".to_string()),
            "SLACK_SIGNING_SECRET" => Some(SECRET.to_string()),
            _ => None,
        };
        let slack_opts = SlackOptions::from_vars(&config.slack, vars).unwrap();
        let mut teams_settings =
            Settings::from_config(&config.teams, Some("contract-app-password".into())).unwrap().unwrap();
        teams_settings.min_key_refetch = Duration::ZERO;
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock.clone()).unwrap());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let opts = deskbot::serve::ServeOptions {
            listen: l.local_addr().unwrap(),
            token: Secret::new(HTTP_TOKEN),
            callback: None,
            tick: Duration::from_millis(50),
            slack: slack_opts,
            teams: Some(teams_settings),
            discord: None,
        };
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        };
        tokio::spawn(deskbot::serve::serve_on(l, desk.clone(), dyn_clock, opts, shutdown));
        Served { desk, clock, base, slack, teams, config, http: reqwest::Client::new(), stop, _dir: dir }
    }

    async fn tickets(&self) -> Vec<deskbot::core::ticket::Ticket> {
        self.desk.store().tickets(&TicketFilter::default()).await.unwrap()
    }

    async fn seen(&self, key: &str) -> bool {
        self.desk.store().seen(key).await.unwrap()
    }

    /// POSTs a Slack request signed with `secret` now (or unsigned); returns the status and body.
    async fn slack_post(&self, path: &str, body: &str, content_type: &str, secret: Option<&str>) -> (u16, String) {
        let mut r = self.http.post(format!("{}{path}", self.base)).header("content-type", content_type);
        if let Some(secret) = secret {
            let ts = chrono::Utc::now().timestamp().to_string();
            r = r
                .header(signature::TIMESTAMP_HEADER, &ts)
                .header(signature::SIGNATURE_HEADER, signature::sign(secret, &ts, body.as_bytes()));
        }
        let r = r.body(body.to_string()).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A Slack request refused twice (forged signature, no signature), then accepted; returns the accepted body.
    async fn slack_case(&self, path: &str, body: &str, content_type: &str, key: Option<&str>) -> String {
        for forged in [Some("not-the-signing-secret"), None] {
            let (status, text) = self.slack_post(path, body, content_type, forged).await;
            assert_eq!(status, 401, "{path} forged ({forged:?}): {text}");
        }
        if let Some(k) = key {
            assert!(!self.seen(k).await, "{k}: nothing refused was stored");
        }
        let (status, text) = self.slack_post(path, body, content_type, Some(SECRET)).await;
        assert_eq!(status, 200, "{path}: {text}");
        if let Some(k) = key {
            assert!(self.seen(k).await, "{k} was handled");
        }
        text
    }

    /// A Teams activity from `fixture`, its serviceUrl pointed at the fake connector (the token's `serviceurl`
    /// claim names the same).
    fn activity(&self, file: &str) -> Value {
        let mut a: Value = serde_json::from_str(&fixture("teams", file)).unwrap();
        a["serviceUrl"] = json!(self.teams.service_url());
        a
    }

    async fn teams_post(&self, activity: &Value, token: Option<&str>) -> u16 {
        let mut r = self.http.post(format!("{}{}", self.base, deskbot::adapters::teams::PATH)).json(activity);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap().status().as_u16()
    }

    /// An activity refused without a token and with one signed by an unpublished key, then accepted.
    async fn teams_case(&self, activity: &Value) {
        let claims = teams::claims(&self.teams.service_url());
        let forged = teams::sign(&teams::keys().1, "key-1", &claims);
        assert_eq!(self.teams_post(activity, None).await, 401, "{}: no token", activity["id"]);
        assert_eq!(self.teams_post(activity, Some(&forged)).await, 401, "{}: forged", activity["id"]);
        let key = format!("teams:{}", activity["id"].as_str().unwrap());
        assert!(!self.seen(&key).await, "{key}: nothing refused was stored");
        let genuine = teams::sign(&teams::keys().0, "key-1", &claims);
        assert_eq!(self.teams_post(activity, Some(&genuine)).await, 200, "{}", activity["id"]);
    }

    async fn alert(&self, file: &str, token: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/alerts/alertmanager", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(fixture("alertmanager", file))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Waits (up to 10 s) until `done` holds; the outbox workers deliver on their own.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Lets the workers run a few rounds, for checks that nothing more was sent.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_events_commands_and_interactivity() {
    let s = Served::start().await;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let posts = |channel: &str| -> Vec<Value> {
        s.slack.calls("chat.postMessage").into_iter().filter(|p| p["channel"] == channel).collect()
    };

    // url_verification: the challenge comes back.
    let body = s.slack_case("/slack/events", &fixture("slack", "url_verification_docs.json"), json, None).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["challenge"], "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");

    // The documented app mention whose one authorization is its own author (a person): answered in its thread.
    let key = "slack:msg:C123ABC456:1515449522.000016";
    s.slack_case("/slack/events", &fixture("slack", "app_mention_docs.json"), json, Some(key)).await;
    until("the answer to the mention", || !posts("C123ABC456").is_empty()).await;
    let answer = &posts("C123ABC456")[0];
    assert_eq!(answer["thread_ts"], "1515449522.000016");
    assert!(!text_of(answer).contains("U0LAN0Z89"), "{answer}");
    assert_eq!(s.slack.calls("auth.test").len(), 1, "the bot asked who it is");
    // Its `message` twin (same channel and ts, another event id) is the same message: nothing more.
    s.slack_case("/slack/events", &fixture("slack", "app_mention_message_twin.json"), json, None).await;
    // The legacy wrapper (authed_users, no authorizations), in another channel: answered there.
    let legacy = "slack:msg:C0LAN2Q65:1515449522.000016";
    s.slack_case("/slack/events", &fixture("slack", "app_mention_legacy_docs.json"), json, Some(legacy)).await;
    until("the answer in C0LAN2Q65", || !posts("C0LAN2Q65").is_empty()).await;
    assert_eq!(posts("C0LAN2Q65")[0]["thread_ts"], "1515449522.000016");
    settle().await;
    assert_eq!(posts("C123ABC456").len(), 1, "the twin was not answered again");
    assert!(s.tickets().await.is_empty(), "not IT requests");

    // A channel message (documented wrapper): ticket #1, answered in its thread, with a card in the queue.
    let key = "slack:msg:C123ABC456:1355517523.000005";
    s.slack_case("/slack/events", &fixture("slack", "message_channel_docs.json"), json, Some(key)).await;
    let t = &s.tickets().await[0];
    assert_eq!((t.number, t.title.as_str()), (TicketNo(1), "my laptop screen is flickering"));
    assert_eq!((t.requester.key(), t.origin.place.channel.as_str()), ("slack:U123ABC456".into(), "helpdesk"));
    until("the reply and the card", || posts("C123ABC456").len() == 2 && posts("C0QUEUE").len() == 1).await;
    let reply = &posts("C123ABC456")[1];
    assert_eq!(reply["thread_ts"], "1355517523.000005");
    assert!(reply["text"].as_str().unwrap().starts_with("Ticket #1 opened"), "{reply}");

    // A DM in the documented wrapper, its author the one authorization: theirs, answered in the DM.
    s.slack_case(
        "/slack/events",
        &fixture("slack", "message_im_docs.json"),
        json,
        Some("slack:msg:D024BE91L:1355517523.000005"),
    )
    .await;
    until("the DM answer", || !posts("U2147483697").is_empty()).await;
    // A DM in the legacy wrapper: ticket #2.
    s.slack_case(
        "/slack/events",
        &fixture("slack", "message_im_legacy.json"),
        json,
        Some("slack:msg:D024BE91L:1355517524.000006"),
    )
    .await;
    assert_eq!(s.tickets().await.len(), 2);
    until("ticket #2's reply", || {
        posts("U2147483697").iter().any(|p| p["text"].as_str().is_some_and(|t| t.starts_with("Ticket #2 opened")))
    })
    .await;

    // The bot added to the helpdesk channel: one introduction there, also when Slack delivers the join again.
    let joined = fixture("slack", "member_joined_channel_docs.json");
    s.slack_case("/slack/events", &joined, json, Some("intro:slack:helpdesk")).await;
    let intro = |p: &Value| p["text"].as_str().is_some_and(|t| t.contains("/ticket help"));
    until("the introduction", || posts("C123ABC456").iter().any(intro)).await;
    let again = joined.replace("Ev123ABC460", "Ev123ABC461");
    assert_eq!(s.slack_post("/slack/events", &again, json, Some(SECRET)).await.0, 200);
    settle().await;
    assert_eq!(posts("C123ABC456").iter().filter(|p| intro(p)).count(), 1);

    // Slash commands: the documented form bodies, `/` percent-encoded and not.
    let ephemeral_to = |user: &str| -> Vec<Value> {
        let mut all: Vec<Value> =
            s.slack.calls("chat.postEphemeral").into_iter().filter(|p| p["user"] == user).collect();
        all.extend(s.slack.calls("chat.postMessage").into_iter().filter(|p| p["channel"] == user));
        all
    };
    let help = fixture("slack", "slash_command_encoded_docs.txt");
    s.slack_case(
        "/slack/commands",
        &help,
        form,
        Some("slack:cmd:398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"),
    )
    .await;
    until("the help text", || !ephemeral_to("U2CERLKJA").is_empty()).await;
    assert!(text_of(&ephemeral_to("U2CERLKJA")[0]).contains("/ticket queue"), "{:?}", ephemeral_to("U2CERLKJA"));
    let mine = fixture("slack", "slash_command_unencoded_docs.txt");
    s.slack_case("/slack/commands", &mine, form, Some("slack:cmd:13345224609.738474920.8088930838d88f008e0")).await;
    until("Steve's tickets", || ephemeral_to("U2147483697").iter().any(|p| text_of(p).contains("#2"))).await;

    // A documented block_actions payload (its action made our Claim button), form-encoded as Slack sends it.
    let payload = fixture("slack", "block_actions_docs.json");
    let body = serde_urlencoded::to_string([("payload", payload.as_str())]).unwrap();
    s.slack_case("/slack/interactivity", &body, form, Some("slack:action:UA8RXUSPL:1548426417.840180")).await;
    let t = s.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(t.owner.map(|o| o.key()), Some("slack:UA8RXUSPL".to_string()));
    until("the card updated in place", || {
        s.slack.calls("chat.update").iter().any(|u| u["channel"] == "C0QUEUE" && text_of(u).contains("owner"))
    })
    .await;
}

/// Serves `frames` on a local Socket Mode endpoint to a Slack adapter connecting with `app_token`; returns the
/// acknowledgements it sent.
async fn socket_mode(s: &Served, app_token: &str, frames: Vec<Value>) -> Vec<Value> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *s.slack.ws_url.lock().unwrap() = format!("ws://{}/link?ticket=t1", ws.local_addr().unwrap());
    let (acks_tx, mut acks) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let count = frames.len();
    tokio::spawn(async move {
        let Ok((tcp, _)) = ws.accept().await else { return };
        let mut sock = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A123ABC456"},
                           "debug_info": {"host": "fake", "approximate_connection_time": 3600}});
        sock.send(Message::Text(hello.to_string().into())).await.unwrap();
        for f in frames {
            sock.send(Message::Text(f.to_string().into())).await.unwrap();
            loop {
                match sock.next().await {
                    Some(Ok(Message::Text(t))) => {
                        let _ = acks_tx.send(serde_json::from_str(&t).unwrap());
                        break;
                    }
                    Some(Ok(_)) => continue,
                    _ => return,
                }
            }
        }
        while sock.next().await.is_some() {}
    });
    let opts = SlackOptions {
        config: s.config.slack.clone(),
        bot_token: SlackSecret::new("xoxb-contract"),
        app_token: Some(SlackSecret::new(app_token)),
        signing_secret: None,
    };
    let slack = Slack::new(s.desk.clone(), &opts);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let config = slack_morphism::prelude::SlackClientSocketModeConfig::new().with_max_connections_count(1);
    let run = tokio::spawn(socket::run_with(slack, SlackSecret::new(app_token), config, stop));
    let mut got = vec![];
    while got.len() < count {
        match tokio::time::timeout(Duration::from_secs(3), acks.recv()).await {
            Ok(Some(a)) => got.push(a),
            _ => break,
        }
    }
    stop_tx.send(true).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), run).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_socket_mode_envelopes() {
    let s = Served::start().await;
    // A ticket to act on: the documented channel message.
    let msg = fixture("slack", "message_channel_docs.json");
    assert_eq!(s.slack_post("/slack/events", &msg, "application/json", Some(SECRET)).await.0, 200);
    let frames: Vec<Value> = ["socket_slash_commands_docs.json", "socket_interactive_docs.json"]
        .iter()
        .map(|f| serde_json::from_str(&fixture("slack", f)).unwrap())
        .collect();
    // Forged: an app-level token Slack does not know opens no connection; nothing is handled.
    assert!(socket_mode(&s, "xapp-forged", frames.clone()).await.is_empty());
    assert!(!s.seen("slack:cmd:37053613634.26768298162.440952c06ef4de2653466a48fe495f93").await);
    // Genuine: each envelope is acknowledged by its id, after it was handled.
    let acks = socket_mode(&s, "xapp-test-app-token", frames).await;
    assert_eq!(acks.len(), 2, "{acks:?}");
    assert_eq!(acks[0]["envelope_id"], "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545");
    assert_eq!(acks[0]["payload"], json!({"response_type": "ephemeral"}));
    assert_eq!(acks[1], json!({"envelope_id": "dbdd0ef3-1543-4f94-bfb4-133d0e6c1546"}));
    assert!(s.seen("slack:cmd:37053613634.26768298162.440952c06ef4de2653466a48fe495f93").await);
    assert!(s.seen("slack:action:U123ABC456:1548426417.840181").await);
    // `/ticket mine` lists Rainer's ticket; the Claim he pressed is refused (he is a requester) and changes nothing.
    let to_him = || -> Vec<Value> {
        s.slack.calls("chat.postEphemeral").into_iter().filter(|p| p["user"] == "U123ABC456").collect()
    };
    until("both answers", || to_him().len() >= 2).await;
    assert!(to_him().iter().any(|p| text_of(p).contains("#1")), "{:?}", to_him());
    assert!(to_him().iter().any(|p| text_of(p).contains("only technicians")), "{:?}", to_him());
    assert_eq!(s.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().owner, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_activities() {
    let s = Served::start().await;
    let calls = || s.teams.connector_calls();
    let posted_to = |conversation: &str| -> Vec<teams::Call> {
        let path = format!("/v3/conversations/{}", deskbot::adapters::teams::connector::enc(conversation));
        calls().into_iter().filter(|c| c.path.starts_with(&path)).collect()
    };

    // The documented "bot added to team" update: the reference is kept and the helpdesk channel gets one
    // introduction.
    s.teams_case(&s.activity("conversation_update_bot_added_docs.json")).await;
    let reference = s.desk.store().platform_ref(Platform::Teams, &format!("conv:{TEAMS_QUEUE}")).await.unwrap();
    assert!(reference.is_some_and(|r| r.contains("\"conversationType\":\"channel\"")));
    assert!(s.seen("intro:teams:helpdesk").await);
    until("the introduction", || !posted_to(TEAMS_HELPDESK).is_empty()).await;
    assert!(posted_to(TEAMS_HELPDESK)[0].body["text"].as_str().unwrap().contains("/ticket help"));

    // The documented 1:1 message (the person greets the bot by name; triage takes "Teams" for the chat app, so
    // it becomes ticket #1): answered in that chat.
    let dm = s.activity("message_personal_docs.json");
    s.teams_case(&dm).await;
    let chat = dm["conversation"]["id"].as_str().unwrap().to_string();
    until("the 1:1 answer", || !posted_to(&chat).is_empty()).await;
    let t = &s.tickets().await[0];
    assert_eq!((t.requester.key().as_str(), t.origin.place.dm), ("teams:7faf8ab2-3d56-4244-b585-20c8a42ed2b8", true));

    // A captured reply in a channel thread, mentioning the bot: a ticket, answered in that thread, carded in the
    // queue.
    s.teams_case(&s.activity("message_channel_mention_capture.json")).await;
    let t = s.desk.store().ticket(TicketNo(2)).await.unwrap().unwrap();
    assert_eq!(t.title, "my laptop screen is flickering", "the mention is stripped");
    assert_eq!((t.requester.key(), t.origin.place.channel.as_str()), (format!("teams:{RIDO}"), "helpdesk"));
    let thread = format!("{TEAMS_HELPDESK};messageid=1759881511856");
    until("the reply and the card", || !posted_to(&thread).is_empty() && !posted_to(TEAMS_QUEUE).is_empty()).await;
    let reply = &posted_to(&thread)[0];
    assert!(reply.path.ends_with("/activities/1759881511856"), "{}", reply.path);
    assert!(reply.body["text"].as_str().unwrap().starts_with("Ticket #2 opened"));
    let card = posted_to(TEAMS_QUEUE).into_iter().find(|c| c.method == "POST").unwrap();
    assert_eq!(card.body["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");

    // The same post as an older client sends it: no conversationType, the entity spelling the mention with an @
    // (an hour later, so it is not taken for more of the same problem).
    s.clock.set(s.clock.now() + chrono::Duration::hours(1));
    let before = calls().len();
    s.teams_case(&s.activity("message_channel_without_type.json")).await;
    let t = s.desk.store().ticket(TicketNo(3)).await.unwrap().unwrap();
    assert_eq!((t.title.as_str(), t.origin.place.dm), ("the vpn keeps dropping", false));
    let thread = format!("{TEAMS_HELPDESK};messageid=1759944790000");
    until("the reply in its thread", || !posted_to(&thread).is_empty()).await;
    assert!(calls()[before..].iter().all(|c| c.path != "/v3/conversations"), "no 1:1 chat was opened");

    // Action.Submit on ticket #2's card, by a technician: claimed, and the card is updated in place.
    let card_id = s.desk.store().platform_ref(Platform::Teams, "card:helpdesk-queue:2").await.unwrap();
    let card_id: Value = serde_json::from_str(&card_id.expect("the card's id is kept")).unwrap();
    let card_id = card_id["activityId"].as_str().unwrap().to_string();
    let submit: Value = serde_json::from_str(
        &serde_json::to_string(&s.activity("action_submit_claim.json")).unwrap().replace("CARD_ID", &card_id),
    )
    .unwrap();
    s.teams_case(&submit).await;
    let t = s.desk.store().ticket(TicketNo(2)).await.unwrap().unwrap();
    assert_eq!(t.owner.map(|o| o.key()), Some(format!("teams:{RIDO}")));
    until("the card updated in place", || {
        calls().iter().any(|c| c.method == "PUT" && c.path.ends_with(&format!("/activities/{card_id}")))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_groups_of_several_alerts() {
    let s = Served::start().await;
    let queue_posts = || -> Vec<Value> {
        let mut all: Vec<Value> =
            s.slack.calls("chat.postMessage").into_iter().filter(|p| p["channel"] == "C0QUEUE").collect();
        all.extend(s.slack.calls("chat.update").into_iter().filter(|p| p["channel"] == "C0QUEUE"));
        all
    };
    for file in ["firing_three_hosts.json", "one_of_three_resolved.json", "resolved_three_hosts.json"] {
        let (status, _) = s.alert(file, "forged-token").await;
        assert_eq!(status, 401, "{file}");
    }
    assert!(s.tickets().await.is_empty(), "nothing refused was stored");

    // Three hosts stop answering: one ticket naming each, one card.
    let (status, out) = s.alert("firing_three_hosts.json", HTTP_TOKEN).await;
    assert_eq!((status, &out["opened"]), (200, &json!([1])), "{out}");
    let t = s.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap();
    for host in ["172.29.254.30", "172.29.254.50", "172.29.254.66"] {
        assert!(t.description.contains(&format!("instance={host}")), "{host}: {}", t.description);
    }
    assert!(t.description.contains("Alerts (3):"), "{}", t.description);
    until("the card", || queue_posts().iter().any(|p| text_of(p).contains("FIRING (3 alerts)"))).await;
    let (_, again) = s.alert("firing_three_hosts.json", HTTP_TOKEN).await;
    assert_eq!(again["duplicate"], json!(true), "a redelivery changes nothing");

    // One answers again: the ticket says so and the card shows 1 of 3 resolved.
    s.clock.set(s.clock.now() + chrono::Duration::minutes(2));
    let (status, out) = s.alert("one_of_three_resolved.json", HTTP_TOKEN).await;
    assert_eq!((status, &out["updated"]), (200, &json!([1])), "{out}");
    let events = s.desk.store().events(TicketNo(1)).await.unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.kind, EventKind::InternalNote { text }
            if text.starts_with("1 of 3 alerts resolved") && text.contains("172.29.254.30"))),
        "{events:#?}"
    );
    until("the card with 1 of 3 resolved", || {
        queue_posts().iter().any(|p| text_of(p).contains("FIRING (2 alerts) · 1 of 3 resolved"))
    })
    .await;

    // All three resolve: nobody touched the ticket, so it is resolved.
    s.clock.set(s.clock.now() + chrono::Duration::minutes(2));
    let (status, out) = s.alert("resolved_three_hosts.json", HTTP_TOKEN).await;
    assert_eq!((status, &out["resolved"]), (200, &json!([1])), "{out}");
    assert_eq!(s.desk.store().ticket(TicketNo(1)).await.unwrap().unwrap().state, State::Resolved);
}
