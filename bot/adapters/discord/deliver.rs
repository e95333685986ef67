//! Outbound: delivers the outbox's Discord messages with serenity's [`Http`] client.
//!
//! - A message answering an interaction (its place carries `ix:<id>`) is a follow-up on that interaction while
//!   its token is fresh (ephemeral for [`MessageKind::Ephemeral`]); afterwards it falls back to the channel.
//! - An ephemeral notice that cannot be a follow-up (a refusal of a chat message, an expired interaction) goes to
//!   the person's DMs: Discord shows ephemeral messages only as interaction answers.
//! - A message in a ticket's thread goes to the Discord thread started from the requester's message; deskbot
//!   creates it the first time (named after the ticket) and remembers it in `platform_refs`.
//! - A ticket card ([`MessageKind::Card`] with a ticket) is posted once per channel and edited in place after.
//! - DMs (`place.dm`) go to the person's DM channel (opened once, remembered).
//! - Every message is sent with no allowed mentions and with `@everyone`/`@here` neutralised.
//!
//! Errors: 429 → [`Failure::rate_limited`] (serenity's rate limiter already waits out the `Retry-After` of a
//! route when it is on, and it does not expose the header, so a 429 that reaches us is retried after
//! [`RATE_LIMIT_WAIT`]); 400, 403 and 404 are permanent (a deleted channel, missing permissions, an unmapped
//! channel): logged as errors and not retried; anything else is retried with the outbox's backoff.

use super::{DiscordConfig, keys, safe_text};
use crate::core::desk::Desk;
use crate::core::ids::{Platform, TicketNo};
use crate::core::message::{Audience, ButtonStyle, MessageKind, Outbound};
use crate::outbox::{Deliver, Failure};
use crate::store::{OutboxItem, Store};
use serenity::all::{
    ButtonStyle as DButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton,
    CreateEmbed, CreateInteractionResponseFollowup, CreateMessage, EditMessage, Http, HttpError, MessageId, UserId,
};
use serenity::builder::Builder as _;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait after a 429 whose `Retry-After` serenity did not pass on.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);
/// Interaction tokens last 15 minutes; follow-ups stop a minute early.
const TOKEN_LIFETIME_SECS: i64 = 14 * 60;
/// Discord's error code for "a thread has already been created for this message".
const THREAD_EXISTS: isize = 160004;

/// The Discord delivery sink.
pub struct DiscordSink<S> {
    pub http: Arc<Http>,
    pub desk: Arc<Desk<S>>,
    pub config: DiscordConfig,
}

/// Why a delivery did not happen.
enum Error {
    /// Retry later (with the outbox's backoff, or after the wait for a rate limit).
    Retry(Failure),
    /// Retrying cannot help.
    Permanent(String),
}

impl From<serenity::Error> for Error {
    fn from(e: serenity::Error) -> Self {
        if let serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) = &e {
            let what =
                format!("Discord {} {}: {} (code {})", r.status_code.as_u16(), r.url, r.error.message, r.error.code);
            return match r.status_code.as_u16() {
                429 => Error::Retry(Failure::rate_limited(what, RATE_LIMIT_WAIT)),
                400 | 403 | 404 => Error::Permanent(what),
                _ => Error::Retry(Failure::from(what)),
            };
        }
        // Never the token: serenity's errors do not carry request headers.
        Error::Retry(Failure::from(format!("Discord request failed: {e}")))
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        Error::Retry(Failure::from(e.to_string()))
    }
}

/// A follow-up can reach Discord before the interaction's own answer (the HTTP endpoint answers after handing the
/// work over): "unknown webhook" then means "not yet", so it is retried (the token's age ends the retries).
fn follow_up_error(e: serenity::Error) -> Error {
    let not_yet =
        matches!(&e, serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 404);
    match Error::from(e) {
        Error::Permanent(why) if not_yet => Error::Retry(Failure::from(why)),
        other => other,
    }
}

/// Splits text into messages of at most `max` characters, at line ends where possible.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut parts = vec![String::new()];
    for line in text.split_inclusive('\n') {
        let mut line = line;
        loop {
            let cur = parts.last_mut().expect("never empty");
            let room = max - cur.chars().count();
            if line.chars().count() <= room {
                cur.push_str(line);
                break;
            }
            if !cur.is_empty() {
                parts.push(String::new());
                continue;
            }
            let cut = line.char_indices().nth(max).map(|(i, _)| i).unwrap_or(line.len());
            cur.push_str(&line[..cut]);
            line = &line[cut..];
            parts.push(String::new());
        }
    }
    let mut parts: Vec<String> =
        parts.into_iter().map(|p| p.trim_end().to_string()).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        parts.push(String::new());
    }
    parts
}

/// A message's parts in Discord's terms.
struct Rendered {
    /// The text, in one or more messages of at most 2000 characters.
    parts: Vec<String>,
    embed: Option<CreateEmbed>,
    rows: Vec<CreateActionRow>,
    files: Vec<CreateAttachment>,
}

/// Discord renders up to 5 rows of 5 buttons; labels up to 80 characters; custom ids up to 100.
fn render(m: &Outbound) -> Rendered {
    let buttons: Vec<CreateButton> = m
        .buttons
        .iter()
        .filter(|b| b.action.len() <= 100)
        .take(25)
        .map(|b| {
            let style = match b.style {
                ButtonStyle::Primary => DButtonStyle::Primary,
                ButtonStyle::Danger => DButtonStyle::Danger,
                ButtonStyle::Default => DButtonStyle::Secondary,
            };
            CreateButton::new(b.action.clone()).label(safe_text(&b.label, 80)).style(style)
        })
        .collect();
    let rows = buttons.chunks(5).map(|c| CreateActionRow::Buttons(c.to_vec())).collect();
    let files = m.image.iter().map(|i| CreateAttachment::bytes(i.png.clone(), i.name.clone())).collect();
    match (m.kind, m.ticket) {
        (MessageKind::Card, Some(n)) => Rendered {
            parts: vec![String::new()],
            embed: Some(CreateEmbed::new().title(format!("Ticket {n}")).description(safe_text(&m.text, 4096))),
            rows,
            files,
        },
        _ => Rendered { parts: split_text(&safe_text(&m.text, 20_000), 2000), embed: None, rows, files },
    }
}

fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

impl<S: Store> DiscordSink<S> {
    pub fn new(http: Arc<Http>, desk: Arc<Desk<S>>, config: DiscordConfig) -> Self {
        DiscordSink { http, desk, config }
    }

    async fn send(&self, m: &Outbound) -> Result<(), Error> {
        let ix = [m.place.message.as_deref(), m.place.thread.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|s| s.strip_prefix("ix:"));
        if let Some(ix) = ix
            && let Some(token) = self.fresh_token(ix).await?
        {
            return self.follow_up(&token, m).await;
        }
        let channel = self.target(m).await?;
        match (m.kind, m.ticket) {
            (MessageKind::Card, Some(n)) => self.card(channel, n, m).await,
            _ => {
                let r = render(m);
                // Text over Discord's 2000 characters goes in several messages; the last carries buttons and files.
                let (last, before) = r.parts.split_last().expect("at least one part");
                for part in before {
                    let b = CreateMessage::new().allowed_mentions(no_mentions()).content(part);
                    channel.send_message(&self.http, b).await?;
                }
                let mut b = CreateMessage::new().allowed_mentions(no_mentions()).components(r.rows).files(r.files);
                b = b.content(last);
                if let Some(e) = r.embed {
                    b = b.embed(e);
                }
                channel.send_message(&self.http, b).await?;
                Ok(())
            }
        }
    }

    /// The interaction's token while it is still valid.
    async fn fresh_token(&self, ix: &str) -> Result<Option<String>, Error> {
        let Some(v) = self.desk.store().platform_ref(Platform::Discord, &keys::interaction(ix)).await? else {
            return Ok(None);
        };
        let Some((at, token)) = v.split_once(':') else { return Ok(None) };
        let fresh = at.parse::<i64>().is_ok_and(|at| self.desk.now().timestamp() - at < TOKEN_LIFETIME_SECS);
        Ok(fresh.then(|| token.to_string()))
    }

    async fn follow_up(&self, token: &str, m: &Outbound) -> Result<(), Error> {
        let r = render(m);
        let ephemeral = m.kind == MessageKind::Ephemeral;
        let (last, before) = r.parts.split_last().expect("at least one part");
        let followup = || CreateInteractionResponseFollowup::new().allowed_mentions(no_mentions()).ephemeral(ephemeral);
        for part in before {
            followup().content(part).execute(&self.http, (None, token)).await.map_err(follow_up_error)?;
        }
        let mut b = followup().components(r.rows).files(r.files);
        if !last.is_empty() {
            b = b.content(last);
        }
        if let Some(e) = r.embed {
            b = b.embed(e);
        }
        b.execute(&self.http, (None, token)).await.map_err(follow_up_error)?;
        Ok(())
    }

    /// The channel (or thread, or DM) a message goes to, when it is not a follow-up on a live interaction.
    async fn target(&self, m: &Outbound) -> Result<ChannelId, Error> {
        let to_user = match &m.to {
            Audience::User { user } if user.platform == Platform::Discord => Some(user),
            _ => None,
        };
        // Only interactions can answer ephemerally; any other notice for one person's eyes goes to their DMs.
        if let Some(user) = to_user
            && (m.place.dm || m.kind == MessageKind::Ephemeral)
        {
            return self.dm_channel(&user.id).await;
        }
        let Some(channel) = self.config.channel_id(&m.place.channel) else {
            return Err(Error::Permanent(format!(
                "channel `{}` is not a Discord channel id; map it in [discord.channels]",
                m.place.channel
            )));
        };
        match m.place.thread.as_deref() {
            Some(starter) if !starter.starts_with("ix:") && !m.place.dm => {
                self.thread(channel, starter, m.ticket).await
            }
            _ => Ok(ChannelId::new(channel)),
        }
    }

    async fn dm_channel(&self, user: &str) -> Result<ChannelId, Error> {
        let store = self.desk.store();
        if let Some(id) = store.platform_ref(Platform::Discord, &keys::dm(user)).await?
            && let Ok(id) = id.parse::<u64>()
        {
            return Ok(ChannelId::new(id));
        }
        let uid = user
            .parse::<u64>()
            .ok()
            .filter(|id| *id != 0)
            .ok_or_else(|| Error::Permanent(format!("`{user}` is not a Discord user id")))?;
        let dm = UserId::new(uid).create_dm_channel(&self.http).await?;
        store.put_platform_ref(Platform::Discord, &keys::dm(user), &dm.id.to_string(), self.desk.now()).await?;
        Ok(dm.id)
    }

    /// The thread for a ticket started from message `starter` in `channel`; created (public, archived after a
    /// week of quiet) the first time.
    async fn thread(&self, channel: u64, starter: &str, ticket: Option<TicketNo>) -> Result<ChannelId, Error> {
        let store = self.desk.store();
        let key = keys::thread(channel, starter);
        if let Some(id) = store.platform_ref(Platform::Discord, &key).await?
            && let Ok(id) = id.parse::<u64>()
        {
            return Ok(ChannelId::new(id));
        }
        let Some(message) = starter.parse::<u64>().ok().filter(|id| *id != 0) else {
            return Ok(ChannelId::new(channel));
        };
        let title = match ticket {
            Some(n) => match store.ticket(n).await? {
                Some(t) => format!("{n} {}", t.title),
                None => format!("Ticket {n}"),
            },
            None => "Helpdesk".to_string(),
        };
        let name = safe_text(&title.replace('\n', " "), 100);
        let body = serde_json::json!({ "name": name, "auto_archive_duration": 10080 });
        let thread = match self
            .http
            .create_thread_from_message(ChannelId::new(channel), MessageId::new(message), &body, None)
            .await
        {
            Ok(t) => t.id,
            // Another replica (or a person) started it already: a thread started from a message has its id.
            Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) if r.error.code == THREAD_EXISTS => {
                ChannelId::new(message)
            }
            Err(e) => return Err(e.into()),
        };
        let now = self.desk.now();
        store.put_platform_ref(Platform::Discord, &key, &thread.to_string(), now).await?;
        let logical = self.config.logical(channel);
        store
            .put_platform_ref(Platform::Discord, &keys::parent(thread.get()), &format!("{logical}\n{starter}"), now)
            .await?;
        Ok(thread)
    }

    /// Posts the ticket's card the first time, edits the same message afterwards (posting anew if it was deleted).
    async fn card(&self, channel: ChannelId, n: TicketNo, m: &Outbound) -> Result<(), Error> {
        let store = self.desk.store();
        let key = keys::card(channel.get(), n);
        if let Some(id) = store.platform_ref(Platform::Discord, &key).await?
            && let Ok(id) = id.parse::<u64>()
        {
            let r = render(m);
            let mut b = EditMessage::new().allowed_mentions(no_mentions()).components(r.rows).content("");
            if let Some(e) = r.embed {
                b = b.embed(e);
            }
            match channel.edit_message(&self.http, MessageId::new(id), b).await {
                Ok(_) => return Ok(()),
                Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) if r.status_code.as_u16() == 404 => {
                    tracing::warn!(ticket = n.0, "the ticket's card was deleted; posting it again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let r = render(m);
        let mut b = CreateMessage::new().allowed_mentions(no_mentions()).components(r.rows).files(r.files);
        if let Some(e) = r.embed {
            b = b.embed(e);
        }
        let posted = channel.send_message(&self.http, b).await?;
        store.put_platform_ref(Platform::Discord, &key, &posted.id.to_string(), self.desk.now()).await?;
        Ok(())
    }
}

impl<S: Store> Deliver for DiscordSink<S> {
    async fn deliver(&self, item: &OutboxItem) -> Result<(), Failure> {
        match self.send(&item.message).await {
            Ok(()) => Ok(()),
            Err(Error::Retry(f)) => Err(f),
            Err(Error::Permanent(why)) => {
                tracing::error!(outbox_id = item.id, error = %why, "Discord refused the message; not retrying");
                Ok(())
            }
        }
    }
}

/// Delivers every due Discord message; returns how many were delivered.
pub async fn deliver_due<S: Store>(
    sink: &DiscordSink<S>,
    clock: &dyn crate::core::clock::Clock,
) -> Result<usize, crate::store::StoreError> {
    let worker = crate::outbox::Worker {
        name: "discord",
        platform: Some(Platform::Discord),
        batch: 8,
        lease: crate::outbox::LEASE,
        dead_letters_to: Some(&sink.desk.settings().queue_channel),
    };
    crate::outbox::drain(sink.desk.store(), sink, clock, worker).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_at_line_ends_within_the_limit() {
        assert_eq!(split_text("", 10), [""]);
        assert_eq!(split_text("short", 10), ["short"]);
        assert_eq!(split_text("aaaa\nbbbb\ncccc\n", 10), ["aaaa\nbbbb", "cccc"]);
        assert_eq!(split_text("abcdefghijklmnopqrstuvwxy", 10), ["abcdefghij", "klmnopqrst", "uvwxy"]);
        let report = "line of text\n".repeat(400);
        let parts = split_text(&report, 2000);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat().replace('\n', ""), report.replace('\n', ""));
    }
}
