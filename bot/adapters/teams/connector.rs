//! The sending side: the Bot Connector REST API (v3) with a client-credentials token, as an
//! [`outbox::Deliver`] sink for `Platform::Teams`.
//!
//! Where a message goes:
//! - a direct message (`place.dm`), or an ephemeral notice for one person (Teams has no ephemeral messages in
//!   channels, so it goes to their 1:1 chat instead of the channel): the person's 1:1 chat with the bot, opened
//!   with `POST {serviceUrl}v3/conversations` when none is stored yet;
//! - anything else: the conversation named by `place.channel` (a logical channel mapped in `[teams.channels]`, or
//!   a conversation id), in the thread `place.thread` for channel conversations.
//!
//! Ticket cards (`kind = card` with a ticket) are posted once per channel and then updated in place
//! (`PUT …/activities/{id}`); their activity ids are kept in `platform_refs` (`card:<channel>:<ticket>`).
//! 429 and 503 answers with `Retry-After` become [`outbox::Failure::rate_limited`].

use super::activity::{ConversationRef, UserEntry};
use super::cards;
use super::{Settings, keys};
use crate::core::desk::Desk;
use crate::core::ids::Platform;
use crate::core::message::{Audience, Button, MessageKind, Outbound};
use crate::outbox::{self, Failure};
use crate::store::{OutboxItem, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The OAuth scope of Bot Connector tokens.
pub const SCOPE: &str = "https://api.botframework.com/.default";

/// A ticket card as posted: where it lives and what it showed (so a refresh can rebuild it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardRef {
    pub service_url: String,
    /// The conversation the card was posted to (with `;messageid=` when it was posted in a thread).
    pub conversation_id: String,
    pub activity_id: String,
    /// The core's card text and buttons, before any status line.
    pub text: String,
    pub buttons: Vec<Button>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// Sends outbox messages to Teams.
pub struct TeamsSink<S> {
    desk: Arc<Desk<S>>,
    http: reqwest::Client,
    settings: Arc<Settings>,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

struct Target {
    service_url: String,
    /// Full conversation id to post to (a channel thread carries `;messageid=ROOT`).
    conversation: String,
    /// The thread root to reply to, for channel threads.
    reply_to: Option<String>,
}

impl<S: Store> TeamsSink<S> {
    /// The technicians' queue channel, told about dead letters.
    pub fn queue_channel(&self) -> &str {
        &self.desk.settings().queue_channel
    }

    pub fn new(desk: Arc<Desk<S>>, settings: Arc<Settings>, http: reqwest::Client) -> Self {
        TeamsSink { desk, http, settings, token: tokio::sync::Mutex::new(None) }
    }

    /// A connector token, from the cache while it has more than five minutes left.
    async fn bearer(&self) -> Result<String, Failure> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let s = &self.settings;
        let url = format!("{}/{}/oauth2/v2.0/token", s.login_url.trim_end_matches('/'), s.tenant_id);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", s.app_id.as_str()),
            ("client_secret", s.password.expose()),
            ("scope", SCOPE),
        ];
        let r = self.http.post(&url).form(&form).send().await.map_err(|e| transport("token endpoint", e))?;
        if !r.status().is_success() {
            return Err(status_failure("token endpoint", &r));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: TokenAnswer = r.json().await.map_err(|e| format!("token endpoint: unreadable answer: {e}"))?;
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600));
        let refresh_at = Instant::now() + life.saturating_sub(Duration::from_secs(300)).max(Duration::from_secs(30));
        *cached = Some(CachedToken { value: t.access_token.clone(), refresh_at });
        tracing::debug!(expires_in = life.as_secs(), "teams: connector token obtained");
        Ok(t.access_token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: &Value, what: &str) -> Result<Value, Failure> {
        let token = self.bearer().await?;
        let r = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(what, e))?;
        let status = r.status();
        if status.is_success() {
            let text = r.text().await.unwrap_or_default();
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            self.forget_token().await;
        }
        Err(status_failure(what, &r))
    }

    async fn get_ref<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Failure> {
        let raw = self.desk.store().platform_ref(Platform::Teams, key).await.map_err(|e| e.to_string())?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    async fn put_ref<T: Serialize>(&self, key: &str, v: &T) -> Result<(), Failure> {
        let raw = serde_json::to_string(v).map_err(|e| e.to_string())?;
        self.desk
            .store()
            .put_platform_ref(Platform::Teams, key, &raw, self.desk.now())
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Any service URL we may post through: the last one Teams used, else the configured one.
    async fn fallback_service_url(&self) -> Result<String, Failure> {
        if let Some(u) =
            self.desk.store().platform_ref(Platform::Teams, keys::SERVICE_URL).await.map_err(|e| e.to_string())?
        {
            return Ok(u);
        }
        self.settings.service_url.clone().ok_or_else(|| {
            Failure::from(
                "no Teams service URL known yet: install the app (or message the bot) once, or set teams.service_url"
                    .to_string(),
            )
        })
    }

    async fn target(&self, m: &Outbound) -> Result<Target, Failure> {
        let private_to = match &m.to {
            Audience::User { user } if m.place.dm || m.kind == MessageKind::Ephemeral => Some(user),
            _ => None,
        };
        if let Some(user) = private_to {
            // A reply in the 1:1 chat the message came from.
            if m.place.dm
                && let Some(r) = self.get_ref::<ConversationRef>(&keys::conversation(&m.place.channel)).await?
                && r.conversation_type == "personal"
            {
                return Ok(Target { service_url: r.service_url, conversation: r.conversation_id, reply_to: None });
            }
            let entry = self.get_ref::<UserEntry>(&keys::user(&user.id)).await?;
            if let Some(r) = entry.as_ref().and_then(|e| e.personal.clone()) {
                return Ok(Target { service_url: r.service_url, conversation: r.conversation_id, reply_to: None });
            }
            let member = entry.map(|e| e.member_id).unwrap_or_else(|| user.id.clone());
            let r = self.open_personal(&user.id, &member).await?;
            return Ok(Target { service_url: r.service_url, conversation: r.conversation_id, reply_to: None });
        }
        let id = self.settings.channels.teams(&m.place.channel).to_string();
        let r = match self.get_ref::<ConversationRef>(&keys::conversation(&id)).await? {
            Some(r) => r,
            None if looks_like_conversation(&id) => ConversationRef {
                service_url: self.fallback_service_url().await?,
                conversation_id: id.clone(),
                tenant_id: Some(self.settings.tenant_id.clone()),
                conversation_type: if id.contains("@thread") { "channel".into() } else { "personal".into() },
            },
            None => {
                return Err(format!(
                    "no Teams conversation for channel `{}`: map it in [teams.channels] (and add the app to that team)",
                    m.place.channel
                )
                .into());
            }
        };
        match m.place.thread.as_deref().filter(|_| r.conversation_type == "channel") {
            Some(root) => Ok(Target {
                service_url: r.service_url,
                conversation: format!("{};messageid={root}", r.conversation_id),
                reply_to: Some(root.to_string()),
            }),
            None => Ok(Target { service_url: r.service_url, conversation: r.conversation_id, reply_to: None }),
        }
    }

    /// Opens (or finds, Teams answers with the existing one) the 1:1 chat between the bot and a person.
    async fn open_personal(&self, user_id: &str, member_id: &str) -> Result<ConversationRef, Failure> {
        let service_url = self.fallback_service_url().await?;
        let body = create_conversation_body(&self.settings.app_id, member_id, &self.settings.tenant_id);
        let url = format!("{}v3/conversations", with_slash(&service_url));
        let answer = self.call(reqwest::Method::POST, &url, &body, "create conversation").await?;
        let id = answer
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Failure::from("create conversation: the answer has no id".to_string()))?;
        let r = ConversationRef {
            service_url,
            conversation_id: id.to_string(),
            tenant_id: Some(self.settings.tenant_id.clone()),
            conversation_type: "personal".into(),
        };
        self.put_ref(&keys::user(user_id), &UserEntry { member_id: member_id.to_string(), personal: Some(r.clone()) })
            .await?;
        self.put_ref(&keys::conversation(id), &r).await?;
        tracing::info!("teams: opened a 1:1 chat for a proactive message");
        Ok(r)
    }

    async fn send(&self, m: &Outbound) -> Result<(), Failure> {
        let target = self.target(m).await?;
        let activity = cards::activity(m);
        let base =
            format!("{}v3/conversations/{}/activities", with_slash(&target.service_url), enc(&target.conversation));
        let card_key = match (m.kind, m.ticket) {
            (MessageKind::Card, Some(n)) => Some(keys::card(&m.place.channel, n.0)),
            _ => None,
        };
        if let Some(key) = &card_key
            && let Some(old) = self.get_ref::<CardRef>(key).await?
            && old.conversation_id == target.conversation
        {
            let mut update = activity.clone();
            update["id"] = Value::String(old.activity_id.clone());
            let url = format!("{base}/{}", enc(&old.activity_id));
            match self.call(reqwest::Method::PUT, &url, &update, "update card").await {
                Ok(_) => {
                    return self
                        .put_ref(key, &CardRef { text: m.text.clone(), buttons: m.buttons.clone(), ..old })
                        .await;
                }
                // The card was deleted in Teams: post it again below.
                Err(e) if e.error.contains("404") => tracing::info!("teams: card to update is gone; posting anew"),
                Err(e) => return Err(e),
            }
        }
        let url = match &target.reply_to {
            Some(root) => format!("{base}/{}", enc(root)),
            None => base,
        };
        let answer = self.call(reqwest::Method::POST, &url, &activity, "send").await?;
        if let Some(key) = card_key {
            let Some(id) = answer.get("id").and_then(Value::as_str) else {
                tracing::warn!("teams: card posted but the connector gave no activity id; it cannot be updated");
                return Ok(());
            };
            let (text, buttons) = (m.text.clone(), m.buttons.clone());
            let r = CardRef {
                service_url: target.service_url,
                conversation_id: target.conversation,
                activity_id: id.to_string(),
                text,
                buttons,
            };
            self.put_ref(&key, &r).await?;
        }
        Ok(())
    }
}

impl<S: Store> outbox::Deliver for TeamsSink<S> {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        self.send(&item.message).await
    }
}

/// The body that opens a 1:1 chat with `member` (a `29:` id or an Entra object id).
pub fn create_conversation_body(app_id: &str, member: &str, tenant: &str) -> Value {
    json!({
        "bot": {"id": format!("28:{app_id}")},
        "isGroup": false,
        "members": [{"id": member}],
        "tenantId": tenant,
        "channelData": {"tenant": {"id": tenant}},
    })
}

fn looks_like_conversation(id: &str) -> bool {
    ["19:", "a:", "8:", "29:"].iter().any(|p| id.starts_with(p))
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') { url.to_string() } else { format!("{url}/") }
}

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn transport(what: &str, e: reqwest::Error) -> Failure {
    let why = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.without_url().to_string()
    };
    format!("{what}: {why}").into()
}

fn status_failure(what: &str, r: &reqwest::Response) -> Failure {
    let status = r.status();
    let error = format!("{what}: answered {status}");
    let wait = r.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
    match wait.and_then(outbox::parse_retry_after) {
        Some(wait) if status.as_u16() == 429 || status.as_u16() == 503 => Failure::rate_limited(error, wait),
        _ => error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("19:abc@thread.tacv2;messageid=1"), "19%3Aabc%40thread.tacv2%3Bmessageid%3D1");
        assert_eq!(enc("a:1-x_y.z~"), "a%3A1-x_y.z~");
    }
}
