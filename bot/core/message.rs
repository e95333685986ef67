//! Platform-neutral inbound events and outbound messages. Adapters translate to and from these; the core sees
//! nothing else of a chat platform.

use super::ids::{Place, Platform, TicketNo, UserRef};
use serde::{Deserialize, Serialize};

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
