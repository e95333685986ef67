//! Typed identifiers shared by the core and every adapter, so that no bare `i64`/`String` crosses a module boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The chat surface an event came from or a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Slack,
    Teams,
    Discord,
    Http,
    /// Messages to vendors (email or webhook), sent by the vendor worker.
    Vendor,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Slack => "slack",
            Platform::Teams => "teams",
            Platform::Discord => "discord",
            Platform::Http => "http",
            Platform::Vendor => "vendor",
        }
    }

    /// Platforms whose adapters update a posted message in place (ticket cards follow the ticket).
    pub fn edits_in_place(self) -> bool {
        matches!(self, Platform::Slack | Platform::Teams | Platform::Discord)
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Some(match s {
            "console" => Platform::Console,
            "slack" => Platform::Slack,
            "teams" => Platform::Teams,
            "discord" => Platform::Discord,
            "http" => Platform::Http,
            "vendor" => Platform::Vendor,
            _ => return None,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's human number, shown as `#42`. It is also the ticket's identity in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct TicketNo(pub i64);

impl fmt::Display for TicketNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl TicketNo {
    /// Parses `42` or `#42`.
    pub fn parse(s: &str) -> Option<TicketNo> {
        let n: i64 = s.trim().trim_start_matches('#').parse().ok()?;
        (n > 0).then_some(TicketNo(n))
    }
}

/// A person on one platform: the platform's own user id plus the name we show.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    pub platform: Platform,
    /// The platform's stable id (Slack `U…`, Discord snowflake, Teams `29:…`, console name).
    pub id: String,
    /// Display name; may change, never used for identity.
    pub name: String,
}

impl UserRef {
    pub fn new(platform: Platform, id: impl Into<String>, name: impl Into<String>) -> Self {
        UserRef { platform, id: id.into(), name: name.into() }
    }

    /// `platform:id`, the key used in storage and role lookups.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.id)
    }

    pub fn same_person(&self, other: &UserRef) -> bool {
        self.platform == other.platform && self.id == other.id
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Where a message lives on its platform: channel, optional thread, optional message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Place {
    /// Channel or conversation id (Slack `C…`/`D…`, Discord channel id, Teams conversation id, console `helpdesk`).
    pub channel: String,
    /// Thread root (Slack `thread_ts`, Discord thread id, Teams reply chain), if any.
    pub thread: Option<String>,
    /// The message itself, if the platform gives it an id.
    pub message: Option<String>,
    /// True for a direct message with the bot.
    pub dm: bool,
}
