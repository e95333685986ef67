//! The Slack outbox sink: posts replies in their thread, keeps one card per ticket in the queue channel (posted
//! once, then updated in place with `chat.update`), sends ephemeral notices, and uploads the report chart with the
//! external upload flow (`files.getUploadURLExternal`, upload, `files.completeUploadExternal`).
//!
//! A card follows its ticket: the core re-sends a ticket's card whenever the ticket changes, and this sink updates
//! the posted one (`chat.update`) with the card's text, buttons and a status line (state, owner) read from the
//! stored ticket. The card's Slack `ts` and what it shows are kept in `platform_refs` (`card:<channel>:<ticket>`),
//! shared by all replicas.
//!
//! A 429 becomes [`Failure::rate_limited`] with Slack's `Retry-After`, so the outbox retries after exactly that
//! wait; every other failure is retried with backoff. Delivery is at least once.

use super::Slack;
use super::blocks::{self, CardStatus};
use crate::core::clock::Clock;
use crate::core::ids::{Platform, TicketNo};
use crate::core::message::{Audience, Button, Image, MessageKind, Outbound};
use crate::outbox::{self, Deliver, Failure};
use crate::store::{OutboxItem, Store, StoreError};
use serde::{Deserialize, Serialize};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// Messages leased per round.
pub const BATCH: i64 = 8;
/// Longest one delivery (a few Web API calls) may take before it counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Wait used when Slack answers 429 without a `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What is remembered about a posted card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRef {
    /// The channel id Slack answered with (the card may have been posted by name).
    #[serde(default)]
    pub channel: String,
    pub ts: String,
    /// The core's card text and buttons, re-rendered with a new status on refresh.
    pub text: String,
    #[serde(default)]
    pub buttons: Vec<Button>,
    /// The status the card shows now.
    pub status: Option<CardStatus>,
}

/// Maps a Web API error to an outbox failure (429 → retry after Slack's wait).
pub fn failure(e: SlackClientError) -> Failure {
    match e {
        SlackClientError::RateLimitError(r) => Failure::rate_limited(
            format!("slack rate limited{}", r.code.map(|c| format!(" ({c})")).unwrap_or_default()),
            r.retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        ),
        SlackClientError::ApiError(a) => Failure::from(format!("slack API error: {}", a.code)),
        SlackClientError::HttpError(h) => Failure::from(format!("slack answered HTTP {}", h.status_code)),
        other => Failure::from(format!("slack request failed: {other}")),
    }
}

fn api_code(e: &SlackClientError) -> Option<&str> {
    match e {
        SlackClientError::ApiError(a) => Some(a.code.as_str()),
        _ => None,
    }
}

/// Delivers Slack outbox messages.
pub struct SlackSink<S> {
    slack: Arc<Slack<S>>,
}

impl<S: Store + 'static> SlackSink<S> {
    pub fn new(slack: Arc<Slack<S>>) -> Self {
        SlackSink { slack }
    }

    fn session(&self) -> SlackClientSession<'_, SlackClientHyperHttpsConnector> {
        self.slack.session()
    }

    /// Channel, thread and mention for a message. Direct messages go to the user's id (Slack opens the DM);
    /// a reply to a person in a channel outside any thread mentions them so they are notified.
    fn target(&self, m: &Outbound) -> (String, Option<String>, Option<String>) {
        match &m.to {
            Audience::User { user } if m.place.dm => (user.id.clone(), m.place.thread.clone(), None),
            Audience::User { user } => {
                let mention = (m.place.thread.is_none() && m.kind == MessageKind::Reply).then(|| user.id.clone());
                (self.slack.channels.slack(&m.place.channel), m.place.thread.clone(), mention)
            }
            Audience::Channel { .. } => (self.slack.channels.slack(&m.place.channel), m.place.thread.clone(), None),
        }
    }

    /// Posts a message; returns Slack's channel id and the message's `ts`.
    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        content: SlackMessageContent,
    ) -> Result<(String, SlackTs), Failure> {
        let mut req = SlackApiChatPostMessageRequest::new(channel.to_string().into(), content);
        req.thread_ts = thread.map(|t| t.to_string().into());
        self.session().chat_post_message(&req).await.map(|r| (r.channel.to_string(), r.ts)).map_err(failure)
    }

    async fn reply(&self, m: &Outbound) -> Result<(), Failure> {
        let (channel, thread, mention) = self.target(m);
        self.post(&channel, thread.as_deref(), blocks::message(m, mention.as_deref())).await.map(drop)
    }

    async fn ephemeral(&self, m: &Outbound) -> Result<(), Failure> {
        let Audience::User { user } = &m.to else { return self.reply(m).await };
        let content = blocks::message(m, None);
        if m.place.dm {
            // Only they can see their DM anyway.
            return self.post(&user.id, m.place.thread.as_deref(), content).await.map(drop);
        }
        let channel = self.slack.channels.slack(&m.place.channel);
        let mut req = SlackApiChatPostEphemeralRequest::new(channel.into(), user.id.clone().into(), content.clone());
        req.thread_ts = m.place.thread.clone().map(Into::into);
        match self.session().chat_post_ephemeral(&req).await {
            Ok(_) => Ok(()),
            // The bot is not in that channel (a slash command typed anywhere): tell them in a DM instead.
            Err(e) if matches!(api_code(&e), Some("channel_not_found" | "not_in_channel" | "user_not_in_channel")) => {
                self.post(&user.id, None, content).await.map(drop)
            }
            Err(e) => Err(failure(e)),
        }
    }

    fn card_key(&self, channel: &str, n: TicketNo) -> String {
        format!("card:{channel}:{}", n.0)
    }

    async fn status_of(&self, n: TicketNo) -> Result<Option<CardStatus>, Failure> {
        let t = self.slack.desk.store().ticket(n).await.map_err(|e| Failure::from(format!("store: {e}")))?;
        Ok(t.as_ref().map(CardStatus::of))
    }

    async fn load_ref(&self, key: &str) -> Result<Option<CardRef>, Failure> {
        let v = self
            .slack
            .desk
            .store()
            .platform_ref(Platform::Slack, key)
            .await
            .map_err(|e| Failure::from(format!("store: {e}")))?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()))
    }

    async fn save_ref(&self, key: &str, r: &CardRef) -> Result<(), Failure> {
        let v = serde_json::to_string(r).map_err(|e| Failure::from(e.to_string()))?;
        let now = self.slack.desk.now();
        self.slack
            .desk
            .store()
            .put_platform_ref(Platform::Slack, key, &v, now)
            .await
            .map_err(|e| Failure::from(format!("store: {e}")))
    }

    /// Posts a ticket's card, or updates the one already posted.
    async fn card(&self, m: &Outbound, n: TicketNo) -> Result<(), Failure> {
        let (channel, thread, _) = self.target(m);
        let key = self.card_key(&channel, n);
        let status = self.status_of(n).await?;
        let content = blocks::card(m, status.as_ref());
        let mut r = CardRef {
            channel: String::new(),
            ts: String::new(),
            text: m.text.clone(),
            buttons: m.buttons.clone(),
            status,
        };
        if let Some(old) = self.load_ref(&key).await? {
            let at = if old.channel.is_empty() { channel.clone() } else { old.channel.clone() };
            let req = SlackApiChatUpdateRequest::new(at.clone().into(), content.clone(), old.ts.clone().into());
            match self.session().chat_update(&req).await {
                Ok(_) => {
                    (r.channel, r.ts) = (at, old.ts);
                    return self.save_ref(&key, &r).await;
                }
                Err(e) if matches!(api_code(&e), Some("message_not_found" | "cant_update_message")) => {
                    tracing::info!(ticket = n.0, "slack: card was deleted; posting it again");
                }
                Err(e) => return Err(failure(e)),
            }
        }
        let (at, ts) = self.post(&channel, thread.as_deref(), content).await?;
        (r.channel, r.ts) = (at, ts.to_string());
        self.save_ref(&key, &r).await
    }

    /// The external upload flow: get an upload URL, send the bytes, then share the file in the conversation with
    /// the message text as its comment.
    async fn upload(&self, m: &Outbound, image: &Image) -> Result<(), Failure> {
        let (mut channel, mut thread, _) = self.target(m);
        let s = self.session();
        if let Audience::User { user } = &m.to
            && channel == user.id
        {
            // Files are shared into a conversation, not to a user id: open (or find) the DM.
            channel = self.dm_channel(&user.id).await?;
        }
        let get = SlackApiFilesGetUploadUrlExternalRequest::new(image.name.clone(), image.png.len());
        let url = s.get_upload_url_external(&get).await.map_err(failure)?;
        let put = SlackApiFilesUploadViaUrlRequest::new(url.upload_url, image.png.clone(), "image/png".into());
        s.files_upload_via_url(&put).await.map_err(failure)?;
        let comment = blocks::escape(&m.text);
        let comment: String =
            if comment.chars().count() > 3900 { comment.chars().take(3899).chain(['…']).collect() } else { comment };
        for attempt in 0..2 {
            let file = SlackApiFilesComplete::new(url.file_id.clone()).with_title(image.name.clone());
            let mut done = SlackApiFilesCompleteUploadExternalRequest::new(vec![file])
                .with_channel_id(channel.clone().into())
                .with_initial_comment(comment.clone());
            done.thread_ts = thread.clone().map(Into::into);
            match s.files_complete_upload_external(&done).await {
                Ok(_) => return Ok(()),
                // `/helpdesk report` typed in a channel the bot is not in: the report goes to the asker's DM.
                Err(e)
                    if attempt == 0
                        && matches!(api_code(&e), Some("channel_not_found" | "not_in_channel"))
                        && matches!(m.to, Audience::User { .. }) =>
                {
                    let Audience::User { user } = &m.to else { unreachable!() };
                    channel = self.dm_channel(&user.id).await?;
                    thread = None;
                }
                Err(e) => return Err(failure(e)),
            }
        }
        Err(Failure::from("slack: could not share the chart".to_string()))
    }

    /// The DM conversation with `user` (`conversations.open`).
    async fn dm_channel(&self, user: &str) -> Result<String, Failure> {
        let req = SlackApiConversationsOpenRequest::new().with_users(vec![user.to_string().into()]);
        let r = self.session().conversations_open(&req).await.map_err(failure)?;
        Ok(r.channel.id.to_string())
    }

    async fn send(&self, m: &Outbound) -> Result<(), Failure> {
        if let Some(img) = &m.image {
            return self.upload(m, img).await;
        }
        match (m.kind, m.ticket) {
            (MessageKind::Card, Some(n)) => self.card(m, n).await,
            (MessageKind::Ephemeral, _) => self.ephemeral(m).await,
            _ => self.reply(m).await,
        }
    }
}

impl<S: Store + 'static> Deliver for SlackSink<S> {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        match tokio::time::timeout(DELIVERY_TIMEOUT, self.send(&item.message)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::from("slack delivery timed out".to_string())),
        }
    }
}

/// Delivers every due Slack message; returns how many were delivered.
pub async fn deliver_due<S: Store + 'static>(sink: &SlackSink<S>, clock: &dyn Clock) -> Result<usize, StoreError> {
    let name = format!("slack-{}", std::process::id());
    let lease = chrono::Duration::from_std(DELIVERY_TIMEOUT).unwrap_or(chrono::Duration::seconds(20)) * (BATCH as i32)
        + chrono::Duration::seconds(5);
    let queue = &sink.slack.desk.settings().queue_channel;
    let worker = outbox::Worker {
        name: &name,
        platform: Some(Platform::Slack),
        batch: BATCH,
        lease,
        dead_letters_to: Some(queue),
    };
    outbox::drain(sink.slack.desk.store(), sink, clock, worker).await
}
