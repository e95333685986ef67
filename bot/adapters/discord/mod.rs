//! The Discord adapter: the gateway for messages (and interactions, unless the HTTP interactions endpoint is
//! used), slash commands `/ticket` and `/helpdesk`, ticket cards with buttons and modals, one thread per ticket,
//! and delivery of the outbox through Discord's REST API. It only translates; the core decides everything.
//!
//! - [`Discord`] turns messages and interactions into [`Envelope`](crate::core::message::Envelope)s and hands them
//!   to the desk (the logic lives here, outside serenity's callbacks, so tests drive it directly);
//! - [`commands`]: the slash command definitions (one explicit table) and their mapping to core commands;
//! - [`deliver::DiscordSink`]: [`crate::outbox::Deliver`] for [`Platform::Discord`](crate::core::ids::Platform);
//! - [`endpoint`]: the optional `POST /discord/interactions` route (Ed25519-verified);
//! - [`gateway`]: the serenity client, held by one replica at a time through a store lease.
//!
//! Environment: `DISCORD_TOKEN` (the bot token; secret, never logged) turns the adapter on;
//! `DISCORD_APPLICATION_ID` (optional; fetched with the token when unset). Everything else is `[discord]` config.

pub mod commands;
pub mod deliver;
pub mod endpoint;
pub mod gateway;
mod inbound;

pub use deliver::DiscordSink;
pub use inbound::{Discord, Roles};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Environment variable with the bot token.
pub const TOKEN_VAR: &str = "DISCORD_TOKEN";
/// Environment variable with the application id (optional).
pub const APPLICATION_ID_VAR: &str = "DISCORD_APPLICATION_ID";

/// The bot's permissions, and nothing more: View Channels, Send Messages, Send Messages in Threads, Create Public
/// Threads, Embed Links (ticket cards), Attach Files (report charts), Read Message History (threads from
/// messages). 1024 + 2048 + 274877906944 + 34359738368 + 16384 + 32768 + 65536.
pub const INVITE_PERMISSIONS: u64 = 309_237_763_072;

/// The OAuth2 URL that adds the bot to a server with [`INVITE_PERMISSIONS`] and the `bot` and
/// `applications.commands` scopes.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&permissions={INVITE_PERMISSIONS}&scope=bot+applications.commands"
    )
}

/// `[discord]` in deskbot.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Logical channel (`helpdesk`, `helpdesk-queue`, … from `[channels]` and `[reports]`) → Discord channel id.
    /// Unmapped names are used as ids as they are.
    pub channels: BTreeMap<String, String>,
    /// Guild (server) ids to register `/ticket` and `/helpdesk` in at start-up (instant).
    pub guilds: Vec<String>,
    /// Also register the commands globally (all servers and DMs; Discord may take a while to show them).
    pub global_commands: bool,
    /// The application's public key (hex, from the Developer Portal; not a secret). When set, interactions are
    /// also accepted at `POST /discord/interactions`.
    pub public_key: Option<String>,
    /// How long the gateway lease lasts without renewal, in seconds (renewed every third of it).
    pub gateway_lease_seconds: u64,
    /// The REST API's base URL: requests go to `{api_url}/api/v10/…`. Anything other than [`DEFAULT_API_URL`]
    /// (a rate-limiting proxy such as twilight's http-proxy, or a fake in tests) turns serenity's own rate limiter
    /// off, since the proxy does that work (and serenity ignores the base URL while its limiter is on).
    pub api_url: String,
}

/// Discord's REST API base URL.
pub const DEFAULT_API_URL: &str = "https://discord.com";

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            channels: BTreeMap::new(),
            guilds: vec![],
            global_commands: false,
            public_key: None,
            gateway_lease_seconds: 30,
            api_url: DEFAULT_API_URL.into(),
        }
    }
}

impl DiscordConfig {
    /// Checks the ids and the public key.
    pub fn validate(&self) -> Result<(), String> {
        for (name, id) in &self.channels {
            if id.parse::<u64>().is_err() {
                return Err(format!("key `discord.channels.{name}`: `{id}` is not a Discord channel id (digits)"));
            }
        }
        for g in &self.guilds {
            if g.parse::<u64>().is_err() {
                return Err(format!("key `discord.guilds`: `{g}` is not a Discord guild id (digits)"));
            }
        }
        if let Some(k) = &self.public_key
            && endpoint::verifier(k).is_none()
        {
            return Err("key `discord.public_key`: not a 64-digit hex Ed25519 public key".into());
        }
        if self.gateway_lease_seconds < 6 {
            return Err("key `discord.gateway_lease_seconds`: at least 6".into());
        }
        match reqwest::Url::parse(&self.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.path().trim_end_matches('/').is_empty() => {}
            Ok(_) => {
                return Err(format!(
                    "key `discord.api_url`: `{}` must be a base URL like https://discord.com (no /api path)",
                    self.api_url
                ));
            }
            Err(e) => return Err(format!("key `discord.api_url`: not a URL: {e}")),
        }
        Ok(())
    }

    /// The REST base URL when it is not Discord's own (then requests go through it with the rate limiter off).
    pub fn proxy(&self) -> Option<&str> {
        let url = self.api_url.trim_end_matches('/');
        (url != DEFAULT_API_URL).then_some(url)
    }

    /// The Discord channel id for a logical channel name (or the name itself when it is an id).
    pub fn channel_id(&self, logical: &str) -> Option<u64> {
        self.channels.get(logical).map(String::as_str).unwrap_or(logical).parse().ok().filter(|id| *id != 0)
    }

    /// The logical name of a Discord channel id (the id itself when unmapped).
    pub fn logical(&self, id: u64) -> String {
        let id = id.to_string();
        self.channels.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone()).unwrap_or(id)
    }
}

/// Keys of deskbot's Discord rows in `platform_refs` (shared by all replicas).
pub mod keys {
    use crate::core::ids::TicketNo;

    /// A ticket's card in a channel → the card's message id.
    pub fn card(channel: u64, n: TicketNo) -> String {
        format!("card:{channel}:{}", n.0)
    }
    /// The thread started from message `starter` in `channel` → the thread's channel id.
    pub fn thread(channel: u64, starter: &str) -> String {
        format!("thread:{channel}:{starter}")
    }
    /// A thread deskbot created → `<logical parent channel>\n<starter message id>`, to map messages back.
    pub fn parent(thread: u64) -> String {
        format!("thread-parent:{thread}")
    }
    /// An interaction → `<unix time>:<token>` for follow-ups (tokens last 15 minutes).
    pub fn interaction(id: &str) -> String {
        format!("ix:{id}")
    }
    /// The `Place::message` marker of an event that came as an interaction: replies to it are follow-ups.
    pub fn interaction_message(id: &str) -> String {
        format!("ix:{id}")
    }
    /// A user → their DM channel id.
    pub fn dm(user: &str) -> String {
        format!("dm:{user}")
    }
}

/// The text as sent to Discord: `@everyone` and `@here` broken with a zero-width space (they would not ping anyway,
/// since every message is sent with no allowed mentions, but they should not even look like a ping), cut to `max`
/// characters.
pub fn safe_text(text: &str, max: usize) -> String {
    let t = text.replace("@everyone", "@\u{200B}everyone").replace("@here", "@\u{200B}here");
    if t.chars().count() <= max {
        return t;
    }
    let mut out: String = t.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_and_here_are_neutralised_and_long_text_cut() {
        assert_eq!(safe_text("hi @everyone and @here", 2000), "hi @\u{200B}everyone and @\u{200B}here");
        assert_eq!(safe_text("abcdef", 4), "abc…");
        assert_eq!(safe_text("<@123> hi", 2000), "<@123> hi");
    }

    #[test]
    fn invite_asks_for_exactly_the_permissions_used() {
        use serenity::all::Permissions as P;
        let wanted = P::VIEW_CHANNEL
            | P::SEND_MESSAGES
            | P::SEND_MESSAGES_IN_THREADS
            | P::CREATE_PUBLIC_THREADS
            | P::EMBED_LINKS
            | P::ATTACH_FILES
            | P::READ_MESSAGE_HISTORY;
        assert_eq!(wanted.bits(), INVITE_PERMISSIONS);
        let readme = include_str!("../../../README.md");
        assert!(readme.contains(&invite_url(123).replace("123", "APPLICATION_ID")), "README shows the invite URL");
    }

    #[test]
    fn channels_map_both_ways() {
        let mut c = DiscordConfig::default();
        c.channels.insert("helpdesk".into(), "111".into());
        assert_eq!(c.channel_id("helpdesk"), Some(111));
        assert_eq!(c.channel_id("222"), Some(222));
        assert_eq!(c.channel_id("helpdesk-queue"), None);
        assert_eq!(c.logical(111), "helpdesk");
        assert_eq!(c.logical(333), "333");
        assert!(c.validate().is_ok());
        c.channels.insert("queue".into(), "#queue".into());
        assert!(c.validate().unwrap_err().contains("discord.channels.queue"));
    }
}
