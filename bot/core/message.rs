//! Platform-neutral inbound events and outbound messages. Adapters translate to and from these; the core sees
//! nothing else of a chat platform.

use super::ids::{Place, Platform, TicketNo, UserRef};
use serde::{Deserialize, Serialize};

/// Starts text someone else wrote (a ticket title, a requester's message or answer) inside one of deskbot's
/// messages; [`QUOTED_END`] ends it. The core marks such text with [`quoted`], and when a message is committed each
/// platform escapes what is marked for its own markup ([`render`]): a title cannot turn bold, link or mention anyone
/// in an approver's prompt or a card, while deskbot's own formatting (a runbook's **bold**) stays. Private-use
/// characters, dropped from anything people send, so nobody can end a quote early.
pub const QUOTED_START: char = '\u{E000}';
/// Ends text marked by [`QUOTED_START`].
pub const QUOTED_END: char = '\u{E001}';

/// `s` marked as written by someone else (any markers inside it are dropped).
pub fn quoted(s: &str) -> String {
    let inner: String = s.chars().filter(|c| *c != QUOTED_START && *c != QUOTED_END).collect();
    format!("{QUOTED_START}{inner}{QUOTED_END}")
}

/// How a platform shows message text, and so how someone else's text is escaped in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Markup {
    /// Shown as it is (the console, replay, email).
    Plain,
    /// Slack `mrkdwn`: `*bold*`, `_italic_`, `~strike~`, `` `code` `` (`&`, `<`, `>` are escaped for the whole
    /// message by the Slack adapter). It has no escape character, so in quoted text those four become look-alikes.
    SlackMrkdwn,
    /// Markdown (Discord, Teams, the HTTP callback): quoted text gets a backslash before every character that could
    /// start something there (emphasis, code, links and images, tables and spoilers, HTML and autolinks, mentions).
    /// Headings and block quotes need a line of their own, which quoted text never has.
    Markdown,
}

impl Markup {
    pub fn of(platform: Platform) -> Markup {
        match platform {
            Platform::Console | Platform::Vendor | Platform::Alertmanager => Markup::Plain,
            Platform::Slack => Markup::SlackMrkdwn,
            Platform::Teams | Platform::Discord | Platform::Http => Markup::Markdown,
        }
    }

    /// `s` (someone else's text) escaped for this markup.
    pub fn escape(self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            match (self, c) {
                (Markup::SlackMrkdwn, '*') => out.push('\u{2217}'),
                (Markup::SlackMrkdwn, '_') => out.push('\u{02CD}'),
                (Markup::SlackMrkdwn, '~') => out.push('\u{223C}'),
                (Markup::SlackMrkdwn, '`') => out.push('\u{02CB}'),
                (Markup::Markdown, '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<' | '>' | '@') => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// `text` with every quoted part escaped for this markup and the markers removed.
    pub fn render(self, text: &str) -> String {
        if !text.contains(QUOTED_START) {
            return text.chars().filter(|c| *c != QUOTED_END).collect();
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        while let Some(start) = rest.find(QUOTED_START) {
            out.push_str(&rest[..start].replace(QUOTED_END, ""));
            let inner = &rest[start + QUOTED_START.len_utf8()..];
            let (quote, after) = match inner.find(QUOTED_END) {
                Some(end) => (&inner[..end], &inner[end + QUOTED_END.len_utf8()..]),
                None => (inner, ""),
            };
            out.push_str(&self.escape(quote));
            rest = after;
        }
        out.push_str(&rest.replace(QUOTED_END, ""));
        out
    }
}

/// `text` with the quote markers removed and nothing escaped.
pub fn plain(text: &str) -> String {
    Markup::Plain.render(text)
}

/// What a person did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// A chat message.
    Text { text: String },
    /// A slash command: `/ticket claim 4` is `name = "ticket"`, `args = "claim 4"`.
    Command { name: String, args: String },
    /// A button press, carrying the button's action id (`ticket:claim:4`).
    Action { action: String },
}

/// One inbound event, with the key that makes a second delivery of it a no-op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event on its platform (Slack event id, Discord interaction id, Teams activity id, …).
    pub dedupe_key: String,
    pub actor: UserRef,
    pub place: Place,
    /// The bot was @-mentioned.
    pub mentioned: bool,
    pub body: Body,
}

/// Who a bot message is for; used by replay output and by adapters to pick DM vs channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    User { user: UserRef },
    Channel { channel: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    #[default]
    Default,
    Primary,
    Danger,
}

/// A button: label shown to people, action id sent back when pressed (at most 100 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub action: String,
    #[serde(default)]
    pub style: ButtonStyle,
}

impl Button {
    pub fn new(label: impl Into<String>, action: impl Into<String>) -> Self {
        Button { label: label.into(), action: action.into(), style: ButtonStyle::Default }
    }
    pub fn primary(mut self) -> Self {
        self.style = ButtonStyle::Primary;
        self
    }
}

/// What kind of message this is, so adapters can render it natively (card vs plain reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Reply,
    /// A ticket card in the technicians' queue channel.
    Card,
    /// A notice that only the addressee should see (errors, denials).
    Ephemeral,
}

/// One outbound chat message, as written to the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    pub platform: Platform,
    pub to: Audience,
    /// Where to post it: channel and thread (or the DM).
    pub place: Place,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(default)]
    pub kind: MessageKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNo>,
    /// A picture to upload with the message (the report chart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// A message to a vendor (platform `vendor`): how it travels and what it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<Box<super::vendor::VendorMessage>>,
    /// A silence to create in Alertmanager (platform `alertmanager`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<Box<super::silence::SilenceRequest>>,
    /// The report this message carries, as its JSON (schema in `core::report`): chat shows the text and chart,
    /// `deskbot replay --json` lists it under `reports`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<serde_json::Value>>,
}

/// An image attached to a message: a file name and the PNG bytes (base64 in storage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub name: String,
    #[serde(with = "b64")]
    pub png: Vec<u8>,
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

impl Outbound {
    /// A message to `user` at `place`.
    pub fn to_user(user: &UserRef, place: &Place, text: impl Into<String>) -> Self {
        Outbound {
            platform: user.platform,
            to: Audience::User { user: user.clone() },
            place: place.clone(),
            text: text.into(),
            buttons: vec![],
            kind: MessageKind::Reply,
            ticket: None,
            image: None,
            vendor: None,
            silence: None,
            report: None,
        }
    }

    /// A post in a channel that is not addressed to one person.
    pub fn to_channel(platform: Platform, channel: &str, text: impl Into<String>) -> Self {
        Outbound {
            platform,
            to: Audience::Channel { channel: channel.to_string() },
            place: Place { channel: channel.to_string(), ..Place::default() },
            text: text.into(),
            buttons: vec![],
            kind: MessageKind::Reply,
            ticket: None,
            image: None,
            vendor: None,
            silence: None,
            report: None,
        }
    }

    /// A message to a vendor, delivered by the vendor worker.
    pub fn to_vendor(m: super::vendor::VendorMessage) -> Self {
        let channel = format!("vendor:{}", m.vendor);
        Outbound {
            platform: Platform::Vendor,
            to: Audience::Channel { channel: channel.clone() },
            place: Place { channel, ..Place::default() },
            text: m.subject.clone(),
            buttons: vec![],
            kind: MessageKind::Reply,
            ticket: Some(m.ticket),
            image: None,
            vendor: Some(Box::new(m)),
            silence: None,
            report: None,
        }
    }

    /// A silence for Alertmanager, created by the silence worker.
    pub fn to_alertmanager(r: super::silence::SilenceRequest) -> Self {
        let channel = format!("alertmanager:{}", r.alertmanager);
        Outbound {
            platform: Platform::Alertmanager,
            to: Audience::Channel { channel: channel.clone() },
            place: Place { channel, ..Place::default() },
            text: format!("Silence {} until {}", r.matcher_text(), r.ends_at.to_rfc3339()),
            buttons: vec![],
            kind: MessageKind::Reply,
            ticket: Some(r.ticket),
            image: None,
            vendor: None,
            silence: Some(Box::new(r)),
            report: None,
        }
    }

    pub fn with_buttons(mut self, b: Vec<Button>) -> Self {
        self.buttons = b;
        self
    }
    pub fn kind(mut self, k: MessageKind) -> Self {
        self.kind = k;
        self
    }
    pub fn about(mut self, t: TicketNo) -> Self {
        self.ticket = Some(t);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_is_escaped_for_each_platform_and_nothing_else_is() {
        let title = "<!channel> @everyone **URGENT** [reset here](http://evil.example) _x_ `y` ~z~";
        let text = format!("**Approval** needed: {}", quoted(title));
        assert_eq!(Markup::Plain.render(&text), format!("**Approval** needed: {title}"));
        assert_eq!(
            Markup::Markdown.render(&text),
            "**Approval** needed: \\<!channel\\> \\@everyone \\*\\*URGENT\\*\\* \\[reset here\\](http://evil.example) \\_x\\_ \\`y\\` \\~z\\~"
        );
        assert_eq!(
            Markup::SlackMrkdwn.render(&text),
            "**Approval** needed: <!channel> @everyone \u{2217}\u{2217}URGENT\u{2217}\u{2217} [reset here](http://evil.example) \u{02CD}x\u{02CD} \u{02CB}y\u{02CB} \u{223C}z\u{223C}"
        );
        // Markers inside quoted text cannot end the quote early; a stray end marker is dropped.
        let sneaky = format!("a {} b {QUOTED_END}", quoted(&format!("x{QUOTED_END} **y**")));
        assert_eq!(Markup::Markdown.render(&sneaky), "a x \\*\\*y\\*\\* b ");
        assert_eq!(plain(&sneaky), "a x **y** b ");
    }
}
