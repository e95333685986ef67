//! The Teams adapter against local fakes: Bot Framework OpenID metadata and key set (with endorsements), the
//! Entra token endpoint and the Bot Connector, all on 127.0.0.1. Tokens are signed here with RSA keys generated
//! once per test run.

use crate::common;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use deskbot::adapters::teams::{self, Inbound, Settings, cards, connector::TeamsSink};
use deskbot::config::Config;
use deskbot::core::clock::{Clock, ManualClock};
use deskbot::core::desk::Desk;
use deskbot::core::ids::{Place, Platform, TicketNo, UserRef};
use deskbot::core::message::{Button, Image, MessageKind, Outbound};
use deskbot::core::ticket::State as TicketState;
use deskbot::outbox::Deliver;
use deskbot::store::{Db, OutboxItem, Store, TicketFilter};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub(crate) const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
const TENANT: &str = "tenant-0001";
const BOT: &str = "28:11111111-2222-3333-4444-555555555555";
const QUEUE: &str = "19:queue@thread.tacv2";
const HELPDESK: &str = "19:help@thread.tacv2";
const PASSWORD: &str = "app-password-do-not-log";

// ---------------------------------------------------------------------------------------------------------------
// Keys and tokens

pub(crate) struct TestKey {
    encoding: EncodingKey,
    n: String,
    e: String,
}

/// Two RSA keys, generated once per test binary: the published one and an attacker's.
pub(crate) fn keys() -> &'static (TestKey, TestKey) {
    static KEYS: OnceLock<(TestKey, TestKey)> = OnceLock::new();
    KEYS.get_or_init(|| (generate(), generate()))
}

fn generate() -> TestKey {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("RSA key");
    let der = key.to_pkcs1_der().expect("PKCS#1");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    TestKey {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        n: b64.encode(key.n_bytes()),
        e: b64.encode(key.e_bytes()),
    }
}

pub(crate) fn jwk(key: &TestKey, kid: &str, endorsements: &[&str]) -> Value {
    json!({"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid, "n": key.n, "e": key.e,
           "endorsements": endorsements, "issuer": "https://api.botframework.com"})
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn claims(service_url: &str) -> Value {
    json!({"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now() + 3600, "nbf": now() - 60,
           "serviceurl": service_url})
}

pub(crate) fn sign(key: &TestKey, kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.to_string());
    jsonwebtoken::encode(&h, claims, &key.encoding).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// The fake Microsoft side

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) auth: Option<String>,
    pub(crate) body: Value,
}

/// A scripted connector answer: status and `Retry-After`.
type Scripted = (u16, Option<&'static str>);

#[derive(Clone, Default)]
pub(crate) struct Fake {
    base: Arc<OnceLock<String>>,
    jwks: Arc<Mutex<Value>>,
    metadata_hits: Arc<AtomicUsize>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Scripted answers for the next connector calls: (status, Retry-After).
    fail: Arc<Mutex<VecDeque<Scripted>>>,
    ids: Arc<AtomicUsize>,
}

impl Fake {
    pub(crate) async fn start() -> Fake {
        let fake = Fake::default();
        *fake.jwks.lock().unwrap() = json!({"keys": [jwk(&keys().0, "key-1", &["msteams", "skype"])]});
        async fn metadata(State(f): State<Fake>) -> axum::Json<Value> {
            f.metadata_hits.fetch_add(1, Ordering::SeqCst);
            let base = f.base.get().unwrap();
            axum::Json(json!({"issuer": "https://api.botframework.com", "jwks_uri": format!("{base}/keys"),
                              "id_token_signing_alg_values_supported": ["RS256"]}))
        }
        async fn jwks(State(f): State<Fake>) -> axum::Json<Value> {
            axum::Json(f.jwks.lock().unwrap().clone())
        }
        async fn token(State(f): State<Fake>, Path(tenant): Path<String>, body: String) -> Response {
            let form: Vec<(String, String)> = url_form(&body);
            f.calls.lock().unwrap().push(Call {
                method: "POST".into(),
                path: format!("/login/{tenant}/oauth2/v2.0/token"),
                auth: None,
                body: json!(
                    form.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()
                ),
            });
            let n = f.ids.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": format!("bf-token-{n}")}))
                .into_response()
        }
        async fn connector(
            State(f): State<Fake>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: String,
        ) -> Response {
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
            f.calls.lock().unwrap().push(Call { method: method.to_string(), path: uri.path().to_string(), auth, body });
            if let Some((status, wait)) = f.fail.lock().unwrap().pop_front() {
                let mut r = (StatusCode::from_u16(status).unwrap(), "no").into_response();
                if let Some(w) = wait {
                    r.headers_mut().insert("retry-after", w.parse().unwrap());
                }
                return r;
            }
            let n = f.ids.fetch_add(1, Ordering::SeqCst);
            let id = if uri.path() == "/v3/conversations" { format!("a:personal-{n}") } else { format!("act-{n}") };
            let id = match method {
                Method::PUT => uri.path().rsplit('/').next().unwrap().to_string(),
                _ => id,
            };
            axum::Json(json!({"id": id})).into_response()
        }
        let app = axum::Router::new()
            .route("/openid", get(metadata))
            .route("/keys", get(jwks))
            .route("/login/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v3/conversations", post(connector))
            .route("/v3/conversations/{conv}/activities", post(connector))
            .route("/v3/conversations/{conv}/activities/{id}", post(connector).put(connector))
            .with_state(fake.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base.set(format!("http://{}", l.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        fake
    }

    pub(crate) fn base(&self) -> String {
        self.base.get().unwrap().clone()
    }

    /// The service URL Teams would name in activities: the fake connector.
    pub(crate) fn service_url(&self) -> String {
        format!("{}/", self.base())
    }

    pub(crate) fn connector_calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().iter().filter(|c| c.path.starts_with("/v3/")).cloned().collect()
    }

    fn token_calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().iter().filter(|c| c.path.starts_with("/login/")).cloned().collect()
    }

    fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
}

fn url_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(&v.replace('+', " "))))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// deskbot with the Teams adapter

struct Rig {
    desk: Arc<Desk<Db>>,
    clock: Arc<ManualClock>,
    fake: Fake,
    url: String,
    sink: TeamsSink<Db>,
    settings: Arc<Settings>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Rig {
        Rig::with_refetch(Duration::ZERO).await
    }

    async fn with_refetch(min_refetch: Duration) -> Rig {
        let fake = Fake::start().await;
        let (store, dir) = common::sqlite().await;
        let clock = common::clock();
        let toml = format!(
            "[roles.teams]\naad-sam = \"technician\"\naad-mia = \"manager\"\n\n[teams]\napp_id = \"{APP_ID}\"\n\
             tenant_id = \"{TENANT}\"\nopenid_metadata_url = \"{base}/openid\"\nlogin_url = \"{base}/login\"\n\n\
             [teams.channels]\nhelpdesk-queue = \"{QUEUE}\"\nhelpdesk = \"{HELPDESK}\"\n",
            base = fake.base()
        );
        let config = Config::from_parts("test", &toml, &[]).unwrap();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let desk = Arc::new(deskbot::app::desk(&config, Db::Sqlite(store), dyn_clock).unwrap());
        let mut settings = Settings::from_config(&config.teams, Some(PASSWORD.into())).unwrap().unwrap();
        settings.min_key_refetch = min_refetch;
        let settings = Arc::new(settings);
        let http = reqwest::Client::new();
        let inbound = Inbound::new(desk.clone(), settings.clone(), http.clone(), Arc::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{}", l.local_addr().unwrap(), teams::PATH);
        tokio::spawn(async move { axum::serve(l, teams::router(inbound)).await });
        let sink = TeamsSink::new(desk.clone(), settings.clone(), http.clone());
        Rig { desk, clock, fake, url, sink, settings, http, _dir: dir }
    }

    fn good_token(&self) -> String {
        sign(&keys().0, "key-1", &claims(&self.fake.service_url()))
    }

    async fn post_with(&self, activity: &Value, token: Option<&str>) -> u16 {
        let mut r = self.http.post(&self.url).json(activity);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap().status().as_u16()
    }

    async fn post(&self, activity: &Value) -> u16 {
        self.post_with(activity, Some(&self.good_token())).await
    }

    async fn deliver(&self) -> usize {
        teams::deliver_due(self.desk.store(), &self.sink, self.clock.as_ref()).await.unwrap()
    }

    async fn tickets(&self) -> Vec<deskbot::core::ticket::Ticket> {
        self.desk.store().tickets(&TicketFilter::default()).await.unwrap()
    }

    fn account(who: &str) -> Value {
        let name = match who {
            "ada" => "Ada Lovelace",
            "sam" => "Sam Lee",
            _ => who,
        };
        json!({"id": format!("29:{who}"), "name": name, "aadObjectId": format!("aad-{who}")})
    }

    fn base_activity(&self, id: &str, who: &str, conversation: Value) -> Value {
        json!({
            "type": "message", "id": id, "channelId": "msteams", "serviceUrl": self.fake.service_url(),
            "timestamp": "2026-03-02T09:00:00Z", "from": Rig::account(who),
            "recipient": {"id": BOT, "name": "Helpdesk"}, "conversation": conversation,
            "channelData": {"tenant": {"id": TENANT}}, "locale": "en-GB"
        })
    }

    /// A message in the person's 1:1 chat with the bot.
    fn dm(&self, id: &str, who: &str, text: &str) -> Value {
        let conv = json!({"id": format!("a:chat-{who}"), "conversationType": "personal", "tenantId": TENANT});
        let mut a = self.base_activity(id, who, conv);
        a["text"] = json!(text);
        a
    }

    /// A channel post mentioning the bot; `root` is the thread it is in (itself for a new post).
    fn channel_post(&self, id: &str, who: &str, channel: &str, root: &str, text: &str) -> Value {
        let conv = json!({"id": format!("{channel};messageid={root}"), "conversationType": "channel",
                          "tenantId": TENANT, "isGroup": true});
        let mut a = self.base_activity(id, who, conv);
        a["text"] = json!(format!("<at>Helpdesk</at> {text}"));
        a["entities"] = json!([{"type": "mention", "text": "<at>Helpdesk</at>",
                                "mentioned": {"id": BOT, "name": "Helpdesk"}}]);
        a
    }

    /// An `Action.Submit` on the card `card` in `channel`.
    fn submit(&self, id: &str, who: &str, channel: &str, card: &str, value: Value) -> Value {
        let conv = json!({"id": format!("{channel};messageid={card}"), "conversationType": "channel",
                          "tenantId": TENANT});
        let mut a = self.base_activity(id, who, conv);
        a["replyToId"] = json!(card);
        a["value"] = value;
        a
    }

    /// The app installed in a team: Teams sends a conversationUpdate in the team's channel.
    fn installed_in(&self, channel: &str) -> Value {
        json!({
            "type": "conversationUpdate", "id": format!("install-{channel}"), "channelId": "msteams",
            "serviceUrl": self.fake.service_url(), "from": Rig::account("admin"),
            "recipient": {"id": BOT, "name": "Helpdesk"},
            "conversation": {"id": channel, "conversationType": "channel", "tenantId": TENANT, "isGroup": true},
            "membersAdded": [{"id": BOT}],
            "channelData": {"tenant": {"id": TENANT}, "team": {"id": channel, "name": "IT"},
                            "eventType": "teamMemberAdded"}
        })
    }
}

/// Connector paths with the host left out, for comparing.
pub(crate) fn paths(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| format!("{} {}", c.method, c.path)).collect()
}

fn outbound(text: &str) -> Outbound {
    let user = UserRef::new(Platform::Teams, "aad-ada", "Ada Lovelace");
    Outbound::to_user(&user, &Place { channel: "a:chat-ada".into(), dm: true, ..Place::default() }, text)
}

fn item(id: i64, m: Outbound) -> OutboxItem {
    OutboxItem { id, created_at: chrono::Utc::now(), attempts: 0, message: m }
}

/// What the Teams adapter logs on this thread while a capture is active. One global subscriber (installed once,
/// limited to the adapter's own target) writes into the capturing thread's buffer; tests run on a current-thread
/// runtime, so the servers they spawn log on the test's thread. (Per-thread `set_default` subscribers lose events
/// when tests run in parallel.)
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(l) = c.borrow().as_ref() {
                l.0.lock().unwrap().extend_from_slice(b);
            }
        });
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

impl Logs {
    fn capture() -> (Logs, CaptureGuard) {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let sub = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("deskbot::adapters::teams=debug"))
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(sub).expect("no other global subscriber in the tests");
        });
        let logs = Logs::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
        (logs, CaptureGuard)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Token validation

#[tokio::test]
async fn tokens_that_are_not_genuine_or_not_for_us_are_refused() {
    let (logs, _guard) = Logs::capture();
    let rig = Rig::new().await;
    // A second published key that is endorsed for another channel only.
    rig.fake.jwks.lock().unwrap()["keys"].as_array_mut().unwrap().push(jwk(&keys().1, "key-webchat", &["webchat"]));
    let svc = rig.fake.service_url();
    let good = claims(&svc);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let (ours, theirs) = keys();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("key-1".into());
    let hs256 = jsonwebtoken::encode(&hs, &good, &EncodingKey::from_secret(b"guess").unwrap()).unwrap();
    let cases: Vec<(&str, Option<String>, u16)> = vec![
        ("no token", None, 401),
        ("not a JWT", Some("garbage".into()), 401),
        ("HS256", Some(hs256), 401),
        ("forged signature", Some(sign(theirs, "key-1", &good)), 401),
        ("unknown key", Some(sign(theirs, "key-unknown", &good)), 401),
        ("expired beyond the leeway", Some(sign(ours, "key-1", &with("exp", json!(now() - 400)))), 401),
        ("not yet valid", Some(sign(ours, "key-1", &with("nbf", json!(now() + 900)))), 401),
        ("wrong audience", Some(sign(ours, "key-1", &with("aud", json!("someone-else")))), 403),
        ("wrong issuer", Some(sign(ours, "key-1", &with("iss", json!("https://sts.windows.net/x/")))), 403),
        ("wrong serviceurl", Some(sign(ours, "key-1", &with("serviceurl", json!("https://evil.example/")))), 403),
        (
            "no serviceurl",
            Some(sign(ours, "key-1", &json!({"iss": good["iss"], "aud": APP_ID, "exp": now() + 60}))),
            403,
        ),
        ("key not endorsed for msteams", Some(sign(theirs, "key-webchat", &good)), 403),
    ];
    let tokens: Vec<String> = cases.iter().filter_map(|c| c.1.clone()).collect();
    for (what, token, want) in cases {
        let a = rig.dm(&format!("bad-{what}"), "ada", "my laptop screen is flickering");
        assert_eq!(rig.post_with(&a, token.as_deref()).await, want, "{what}");
    }
    let logged = logs.text();
    assert!(logged.contains("request refused") && logged.contains("audience"), "{logged}");
    for t in &tokens {
        // No token, nor its signature part, shows up in the logs.
        let sig = t.rsplit('.').next().unwrap();
        assert!(!logged.contains(t.as_str()) && (sig.len() < 8 || !logged.contains(sig)), "token logged: {logged}");
    }
    assert!(rig.tickets().await.is_empty(), "nothing refused was handled");
    assert!(rig.desk.store().platform_ref(Platform::Teams, "conv:a:chat-ada").await.unwrap().is_none());
    // The token is checked before the body is read: a malformed body with a forged or missing token is a 401,
    // and only a genuine caller learns that the body was malformed.
    let junk = json!("not an activity");
    assert_eq!(rig.post_with(&junk, Some(&sign(theirs, "key-1", &good))).await, 401, "forged token, junk body");
    assert_eq!(rig.post_with(&junk, None).await, 401, "no token, junk body");
    assert_eq!(rig.post(&junk).await, 400, "good token, junk body");

    // Within the leeway is fine, and a good token with an activity from another tenant is refused.
    let a = rig.dm("ok-1", "ada", "my laptop screen is flickering");
    assert_eq!(rig.post_with(&a, Some(&sign(ours, "key-1", &with("exp", json!(now() - 120))))).await, 200);
    let mut other = rig.dm("other-tenant", "ada", "my laptop screen is flickering");
    other["conversation"]["tenantId"] = json!("tenant-9999");
    assert_eq!(rig.post(&other).await, 403);
    assert_eq!(rig.tickets().await.len(), 1);
}

#[tokio::test]
async fn unknown_key_ids_refetch_the_keys_at_most_once_per_interval() {
    let rig = Rig::with_refetch(Duration::from_secs(3600)).await;
    assert_eq!(rig.post(&rig.dm("k-1", "ada", "hello")).await, 200);
    assert_eq!(rig.fake.metadata_hits.load(Ordering::SeqCst), 1);
    for i in 0..5 {
        let t = sign(&keys().1, &format!("made-up-{i}"), &claims(&rig.fake.service_url()));
        assert_eq!(rig.post_with(&rig.dm(&format!("flood-{i}"), "ada", "hi"), Some(&t)).await, 401);
    }
    assert_eq!(rig.fake.metadata_hits.load(Ordering::SeqCst), 1, "a flood of unknown kids does not refetch");

    // With no minimum interval, a rotated key is picked up on first sight.
    let rig = Rig::new().await;
    assert_eq!(rig.post(&rig.dm("r-1", "ada", "hello")).await, 200);
    rig.fake.jwks.lock().unwrap()["keys"].as_array_mut().unwrap().push(jwk(&keys().1, "key-2", &["msteams"]));
    let t = sign(&keys().1, "key-2", &claims(&rig.fake.service_url()));
    assert_eq!(rig.post_with(&rig.dm("r-2", "ada", "hello again"), Some(&t)).await, 200);
    assert_eq!(rig.fake.metadata_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unreachable_key_metadata_is_a_503_so_teams_retries() {
    let rig = Rig::new().await;
    let mut settings = (*rig.settings).clone();
    settings.openid_metadata_url = format!("{}/no-such-metadata", rig.fake.base());
    let inbound = Inbound::new(rig.desk.clone(), Arc::new(settings), rig.http.clone(), Arc::default());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{}", l.local_addr().unwrap(), teams::PATH);
    tokio::spawn(async move { axum::serve(l, teams::router(inbound)).await });
    let a = rig.dm("outage-1", "ada", "my laptop screen is flickering");
    let r = rig.http.post(&url).bearer_auth(rig.good_token()).json(&a).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(rig.tickets().await.is_empty());
    // Once the keys can be fetched, the same activity goes through.
    assert_eq!(rig.post(&a).await, 200);
    assert_eq!(rig.tickets().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// End to end

#[tokio::test]
async fn a_message_opens_a_ticket_and_a_claim_updates_its_card_in_place() {
    let (logs, _guard) = Logs::capture();
    let rig = Rig::new().await;
    assert_eq!(rig.post(&rig.installed_in(QUEUE)).await, 200);
    let stored = rig.desk.store().platform_ref(Platform::Teams, &format!("conv:{QUEUE}")).await.unwrap().unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["conversationType"], "channel");
    assert_eq!(stored["tenantId"], TENANT);
    assert_eq!(stored["serviceUrl"], rig.fake.service_url());
    // Added to the team: deskbot introduces itself in the helpdesk channel, once.
    assert_eq!(rig.post(&rig.installed_in(QUEUE)).await, 200, "a redelivery");
    assert_eq!(rig.deliver().await, 1, "one introduction");
    let intro = &rig.fake.connector_calls()[0];
    assert_eq!(intro.path, "/v3/conversations/19%3Ahelp%40thread.tacv2/activities");
    assert!(intro.body["text"].as_str().unwrap().contains("/ticket help"), "{:?}", intro.body);
    rig.fake.calls.lock().unwrap().retain(|c| !c.path.starts_with("/v3/"));

    // Ada writes to the bot in her 1:1 chat.
    assert_eq!(rig.post(&rig.dm("msg-1", "ada", "my laptop screen is flickering")).await, 200);
    let t = &rig.tickets().await[0];
    assert_eq!(t.requester.key(), "teams:aad-ada");
    assert_eq!(t.requester.name, "Ada Lovelace");
    assert!(rig.desk.store().seen("teams:msg-1").await.unwrap());

    assert_eq!(rig.deliver().await, 2);
    let calls = rig.fake.connector_calls();
    assert_eq!(
        paths(&calls),
        vec![
            "POST /v3/conversations/a%3Achat-ada/activities".to_string(),
            "POST /v3/conversations/19%3Aqueue%40thread.tacv2/activities".to_string(),
        ]
    );
    assert!(calls.iter().all(|c| c.auth.as_deref() == Some("Bearer bf-token-0")), "{calls:?}");
    insta::assert_json_snapshot!("teams_reply_to_requester", calls[0].body);
    insta::assert_json_snapshot!("teams_ticket_card", calls[1].body);
    let card_id = "act-3";

    // The token came from the configured tenant's endpoint, once, by client credentials.
    let tokens = rig.fake.token_calls();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].path, format!("/login/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(tokens[0].body["grant_type"], "client_credentials");
    assert_eq!(tokens[0].body["client_id"], APP_ID);
    assert_eq!(tokens[0].body["client_secret"], PASSWORD);
    assert_eq!(tokens[0].body["scope"], "https://api.botframework.com/.default");

    // Sam presses Claim on the card.
    rig.fake.clear();
    let claim = rig.submit("submit-1", "sam", QUEUE, card_id, json!({"action": "ticket:claim:1"}));
    assert_eq!(rig.post(&claim).await, 200);
    let t = &rig.tickets().await[0];
    assert_eq!(t.owner.as_ref().map(|o| o.key()), Some("teams:aad-sam".to_string()));
    assert_eq!(rig.deliver().await, 3);
    let calls = rig.fake.connector_calls();
    assert_eq!(
        paths(&calls),
        vec![
            // "You now own #1" is for Sam only: his 1:1 chat is opened, then the message sent there.
            "POST /v3/conversations".to_string(),
            "POST /v3/conversations/a%3Apersonal-4/activities".to_string(),
            "POST /v3/conversations/a%3Achat-ada/activities".to_string(),
            format!("PUT /v3/conversations/19%3Aqueue%40thread.tacv2/activities/{card_id}"),
        ]
    );
    insta::assert_json_snapshot!("teams_create_personal_conversation", calls[0].body);
    assert!(calls[1].body["text"].as_str().unwrap().starts_with("You now own #1"), "{:?}", calls[1].body);
    assert!(calls[2].body["text"].as_str().unwrap().contains("Sam Lee is now handling"), "{:?}", calls[2].body);
    insta::assert_json_snapshot!("teams_card_after_claim", calls[3].body);
    assert_eq!(rig.fake.token_calls().len(), 0, "the token is cached");

    // Teams retries the same activity: nothing happens twice.
    assert_eq!(rig.post(&claim).await, 200);
    assert_eq!(rig.deliver().await, 0);

    // Sam resolves from the card with a note: the submit carries the text box.
    rig.fake.clear();
    let resolve = rig.submit(
        "submit-2",
        "sam",
        QUEUE,
        card_id,
        json!({"action": "ticket:resolve:1", "text": "Replaced the display cable."}),
    );
    assert_eq!(rig.post(&resolve).await, 200);
    let t = &rig.tickets().await[0];
    assert_eq!(t.state, TicketState::Resolved);
    rig.deliver().await;
    let calls = rig.fake.connector_calls();
    // Sam's chat is known now: no second conversation is opened.
    assert!(!paths(&calls).contains(&"POST /v3/conversations".to_string()), "{:?}", paths(&calls));
    let to_ada: Vec<&Call> = calls.iter().filter(|c| c.path.contains("chat-ada")).collect();
    assert!(to_ada.iter().any(|c| c.body.to_string().contains("Replaced the display cable.")), "{to_ada:?}");
    let put = calls.iter().find(|c| c.method == "PUT").expect("the card is updated again");
    insta::assert_json_snapshot!("teams_card_after_resolve", put.body);
    let logged = logs.text();
    assert!(logged.contains("connector token obtained"), "{logged}");
    assert!(!logged.contains(PASSWORD) && !logged.contains("bf-token-0"), "a secret was logged: {logged}");
}

#[tokio::test]
async fn channel_mentions_are_stripped_and_replies_stay_in_the_thread() {
    let rig = Rig::new().await;
    assert_eq!(rig.post(&rig.installed_in(HELPDESK)).await, 200);
    assert_eq!(rig.post(&rig.installed_in(QUEUE)).await, 200);
    let post = rig.channel_post("1700000000001", "ada", HELPDESK, "1700000000001", "my laptop screen is flickering");
    assert_eq!(rig.post(&post).await, 200);
    let t = &rig.tickets().await[0];
    assert!(!t.title.contains("<at>") && !t.description.contains("Helpdesk"), "{t:?}");
    assert_eq!(t.origin.place.channel, "helpdesk", "the Teams channel is the logical helpdesk channel");
    rig.deliver().await;
    let calls = rig.fake.connector_calls();
    assert!(calls[0].body["text"].as_str().unwrap().contains("/ticket help"), "the introduction comes first");
    let reply = &calls[1];
    assert_eq!(
        reply.path,
        "/v3/conversations/19%3Ahelp%40thread.tacv2%3Bmessageid%3D1700000000001/activities/1700000000001"
    );
    assert!(reply.body["text"].as_str().unwrap().starts_with("Ticket #1 opened"));

    // A reply inside that thread is about the same ticket.
    let mut in_thread =
        rig.channel_post("1700000000002", "ada", HELPDESK, "1700000000001", "it is flickering even more now");
    in_thread["text"] = json!("it is flickering even more now");
    in_thread["entities"] = json!([]);
    assert_eq!(rig.post(&in_thread).await, 200);
    assert_eq!(rig.tickets().await.len(), 1);
    let events = rig.desk.store().events(TicketNo(1)).await.unwrap();
    assert!(format!("{events:?}").contains("it is flickering even more now"), "{events:?}");

    // A typed command in the queue channel works like the button, and refreshes the card too.
    rig.fake.clear();
    let cmd = rig.channel_post("1700000000003", "sam", QUEUE, "1700000000003", "/ticket claim 1");
    assert_eq!(rig.post(&cmd).await, 200);
    assert_eq!(rig.tickets().await[0].owner.as_ref().map(|o| o.id.clone()), Some("aad-sam".into()));
    rig.deliver().await;
    assert!(rig.fake.connector_calls().iter().any(|c| c.method == "PUT"), "{:?}", paths(&rig.fake.connector_calls()));
}

#[tokio::test]
async fn rate_limits_and_failures_are_reported_to_the_outbox() {
    let rig = Rig::new().await;
    assert_eq!(rig.post(&rig.dm("hello", "ada", "hello")).await, 200);
    rig.deliver().await;
    let m = outbound("Your ticket #7 was updated.");
    rig.fake.fail.lock().unwrap().extend([(429, Some("7")), (503, Some("2")), (500, None), (404, None)]);
    let e = rig.sink.deliver(&item(1, m.clone())).await.unwrap_err();
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)), "{e}");
    let e = rig.sink.deliver(&item(1, m.clone())).await.unwrap_err();
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)), "{e}");
    let e = rig.sink.deliver(&item(1, m.clone())).await.unwrap_err();
    assert_eq!(e.retry_after, None);
    assert!(e.error.contains("500"), "{e}");
    assert!(!e.error.contains(PASSWORD) && !e.error.contains("bf-token"), "{e}");
    assert!(rig.sink.deliver(&item(1, m.clone())).await.is_err());
    rig.sink.deliver(&item(1, m)).await.unwrap();

    // Through the worker: a 429 keeps the message and retries after the wait, not before.
    rig.desk
        .store()
        .commit(deskbot::store::Commit {
            at: Some(rig.clock.now()),
            outbox: vec![outbound("queued message")],
            ..Default::default()
        })
        .await
        .unwrap();
    rig.fake.fail.lock().unwrap().push_back((429, Some("30")));
    assert_eq!(rig.deliver().await, 0);
    rig.clock.set(rig.clock.now() + chrono::Duration::seconds(29));
    assert_eq!(rig.deliver().await, 0);
    rig.clock.set(rig.clock.now() + chrono::Duration::seconds(2));
    assert_eq!(rig.deliver().await, 1);

    // A channel nobody mapped cannot be reached, and says how to fix it.
    let m = Outbound::to_channel(Platform::Teams, "it-managers", "weekly report");
    let e = rig.sink.deliver(&item(2, m)).await.unwrap_err();
    assert!(e.error.contains("[teams.channels]"), "{e}");
}

#[tokio::test]
async fn reports_and_proactive_messages_reach_channels_and_people() {
    let rig = Rig::new().await;
    assert_eq!(rig.post(&rig.installed_in(QUEUE)).await, 200);
    // Mia is known from one message in a channel (member id 29:mia), but has no 1:1 chat with the bot yet.
    let post = rig.channel_post("1700000000100", "mia", QUEUE, "1700000000100", "/helpdesk report week");
    assert_eq!(rig.post(&post).await, 200);
    rig.fake.clear();
    rig.deliver().await;
    let calls = rig.fake.connector_calls();
    let report = calls.iter().find(|c| c.body["attachments"].is_array()).expect("the report went out");
    let att = &report.body["attachments"][0];
    assert_eq!(att["contentType"], "image/png");
    let png = att["contentUrl"].as_str().unwrap().strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Teams refuses messages over about 100 KB (the chart is ~40 KB, ~54 KB as base64 in the activity).
    assert!(report.body.to_string().len() < 100_000, "{} bytes", report.body.to_string().len());
    assert!(!report.body["text"].as_str().unwrap().is_empty(), "{:?}", report.body);

    // A notice to Mia by herself (an SLA warning, say) opens her 1:1 chat with her Teams member id.
    rig.fake.clear();
    let mia = UserRef::new(Platform::Teams, "aad-mia", "Mia");
    let m = Outbound::to_user(
        &mia,
        &Place { channel: "helpdesk-queue".into(), dm: true, ..Place::default() },
        "#3 is at 75%",
    );
    rig.sink.deliver(&item(3, m.clone())).await.unwrap();
    rig.sink.deliver(&item(4, m)).await.unwrap();
    let calls = rig.fake.connector_calls();
    assert_eq!(calls[0].path, "/v3/conversations");
    assert_eq!(calls[0].body["members"], json!([{"id": "29:mia"}]));
    assert_eq!(paths(&calls).iter().filter(|p| p.as_str() == "POST /v3/conversations").count(), 1, "opened once");
    assert_eq!(calls.len(), 3);

    // A post to the queue channel's logical name goes to the mapped Teams channel.
    rig.fake.clear();
    let m = Outbound::to_channel(Platform::Teams, "helpdesk-queue", "Ops: backups failed last night");
    rig.sink.deliver(&item(5, m)).await.unwrap();
    assert_eq!(paths(&rig.fake.connector_calls()), vec!["POST /v3/conversations/19%3Aqueue%40thread.tacv2/activities"]);
}

#[tokio::test]
async fn serve_routes_teams_and_runs_its_worker() {
    let rig = Rig::new().await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let opts = deskbot::serve::ServeOptions {
        listen: addr,
        token: deskbot::adapters::http::Secret::new("http-token"),
        callback: None,
        tick: Duration::from_millis(50),
        teams: Some((*rig.settings).clone()),
        discord: None,
        slack: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock: Arc<dyn Clock> = rig.clock.clone();
    let server = tokio::spawn(deskbot::serve::serve_on(l, rig.desk.clone(), clock, opts, async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{addr}{}", teams::PATH);
    let a = rig.dm("via-serve", "ada", "my laptop screen is flickering");
    assert_eq!(rig.http.post(&url).json(&a).send().await.unwrap().status(), 401);
    let r = rig.http.post(&url).bearer_auth(rig.good_token()).json(&a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The worker is woken by the handled activity; wait (bounded) for the reply to reach the fake connector.
    for _ in 0..200 {
        if rig.fake.connector_calls().iter().any(|c| c.path.contains("chat-ada")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(rig.fake.connector_calls().iter().any(|c| c.path.contains("chat-ada")), "the reply was delivered");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Everything we send, as JSON

#[test]
fn every_activity_shape_is_snapshotted() {
    let user = UserRef::new(Platform::Teams, "aad-ada", "Ada");
    let place = Place { channel: "a:chat-ada".into(), dm: true, ..Place::default() };
    insta::assert_json_snapshot!(
        "teams_plain_reply",
        cards::activity(&Outbound::to_user(&user, &place, "Ticket #4 opened: printing (P3 incident)."))
    );

    let choices = Outbound::to_user(&user, &place, "I want to get this to the right people. Which fits best?")
        .with_buttons(vec![
            Button::new("Printing", "triage:4:printing"),
            Button::new("Network", "triage:4:network"),
            Button::new("Something else", "triage:4:other"),
        ]);
    insta::assert_json_snapshot!("teams_choice_card", cards::activity(&choices));

    let mut card = Outbound::to_channel(
        Platform::Teams,
        "helpdesk-queue",
        "New ticket #4 · P3 · printing · from Ada: \"printer jam\" · response due in 4h",
    )
    .with_buttons(vec![
        Button::new("Claim", "ticket:claim:4").primary(),
        Button::new("Reply", "ticket:reply:4"),
        Button::new("Resolve", "ticket:resolve:4"),
        Button::new("Escalate", "ticket:escalate:4"),
    ])
    .kind(MessageKind::Card)
    .about(TicketNo(4));
    insta::assert_json_snapshot!("teams_card_with_every_button", cards::activity(&card));

    card.image = Some(Image { name: "helpdesk-week.png".into(), png: b"\x89PNG\r\n\x1a\nfake".to_vec() });
    card.kind = MessageKind::Reply;
    card.buttons.clear();
    card.text = "Helpdesk summary, week of 2 Mar 2026: 12 tickets".into();
    insta::assert_json_snapshot!("teams_report_with_chart", cards::activity(&card));

    insta::assert_json_snapshot!(
        "teams_create_conversation_body",
        teams::connector::create_conversation_body(APP_ID, "29:mia", TENANT)
    );
}

#[tokio::test]
async fn channel_posts_without_a_conversation_type_are_answered_in_their_thread() {
    let rig = Rig::new().await;
    // An older client's capture: no conversationType (the conversation id's thread suffix, isGroup and the channel
    // in channelData say where it is), and the bot's mention spelled differently in the entity.
    let mut post =
        rig.channel_post("1700000000301", "ada", HELPDESK, "1700000000301", "my laptop screen is flickering");
    post["conversation"].as_object_mut().unwrap().remove("conversationType");
    post["channelData"]["channel"] = json!({"id": HELPDESK});
    post["entities"] =
        json!([{"type": "mention", "text": "<at>@Helpdesk</at>", "mentioned": {"id": BOT, "name": "Helpdesk"}}]);
    assert_eq!(rig.post(&post).await, 200);
    let t = &rig.tickets().await[0];
    assert_eq!(t.title, "my laptop screen is flickering", "the mention is gone");
    assert_eq!((t.origin.place.channel.as_str(), t.origin.place.dm), ("helpdesk", false));
    rig.deliver().await;
    let calls = rig.fake.connector_calls();
    assert!(calls.iter().all(|c| c.path != "/v3/conversations"), "no new 1:1 chat: {:?}", paths(&calls));
    let reply = calls.iter().find(|c| c.body["text"].as_str().is_some_and(|t| t.starts_with("Ticket #1 opened")));
    assert_eq!(
        reply.map(|r| r.path.as_str()),
        Some("/v3/conversations/19%3Ahelp%40thread.tacv2%3Bmessageid%3D1700000000301/activities/1700000000301"),
        "{:?}",
        paths(&calls)
    );
}
