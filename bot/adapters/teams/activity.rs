//! Inbound Bot Framework activities and their translation into the core's envelopes, plus the conversation
//! references kept for proactive messages.

use crate::core::ids::{Place, Platform, UserRef};
use crate::core::message::{Body, Envelope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The parts of an activity deskbot reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Activity {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub channel_id: String,
    pub service_url: String,
    pub from: Option<Account>,
    pub recipient: Option<Account>,
    pub conversation: Option<ConversationAccount>,
    pub text: Option<String>,
    pub entities: Vec<Value>,
    pub channel_data: Option<Value>,
    /// `Action.Submit`: the action's `data` merged with the card's inputs.
    pub value: Option<Value>,
    pub reply_to_id: Option<String>,
    pub members_added: Vec<Account>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aad_object_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConversationAccount {
    pub id: String,
    /// `personal`, `channel` or `groupChat`; older clients and captures leave it out.
    pub conversation_type: Option<String>,
    /// True in channels and group chats.
    pub is_group: Option<bool>,
    pub tenant_id: Option<String>,
}

/// What deskbot remembers about a conversation to post into it later (`conv:<id>` in `platform_refs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    pub service_url: String,
    /// The conversation id, without a channel thread's `;messageid=…` suffix.
    pub conversation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// `personal`, `channel` or `groupChat`.
    pub conversation_type: String,
}

/// What deskbot remembers about a person (`user:<id>`): the Teams member id (`29:…`, needed to open a 1:1 chat)
/// and their 1:1 chat with the bot once known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntry {
    pub member_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<ConversationRef>,
}

impl Activity {
    /// `personal`, `channel` or `groupChat`: as Teams states it, else inferred the way the Bot Framework
    /// documents these conversations: a channel names its channel or team in `channelData` (`channel`, `team`,
    /// or the older `teamsChannelId`/`teamsTeamId`) and a post in it carries its thread root as a `;messageid=`
    /// suffix of the conversation id; any other conversation with `isGroup` is a group chat; the rest are 1:1.
    pub fn conversation_type(&self) -> &str {
        if let Some(t) =
            self.conversation.as_ref().and_then(|c| c.conversation_type.as_deref()).filter(|t| !t.is_empty())
        {
            return t;
        }
        let data = |key: &str| self.channel_data.as_ref().and_then(|d| d.get(key)).is_some_and(|v| !v.is_null());
        let threaded = self.conversation.as_ref().is_some_and(|c| thread_root(&c.id).is_some());
        if data("channel") || data("team") || data("teamsChannelId") || data("teamsTeamId") || threaded {
            "channel"
        } else if self.conversation.as_ref().and_then(|c| c.is_group) == Some(true) {
            "groupChat"
        } else {
            "personal"
        }
    }

    /// The tenant the activity comes from (`conversation.tenantId`, else `channelData.tenant.id`).
    pub fn tenant(&self) -> Option<String> {
        self.conversation
            .as_ref()
            .and_then(|c| c.tenant_id.clone())
            .or_else(|| self.channel_data.as_ref()?.pointer("/tenant/id").and_then(Value::as_str).map(str::to_string))
    }

    /// The reference to store for proactive messages, if the activity names a conversation.
    pub fn reference(&self) -> Option<ConversationRef> {
        let c = self.conversation.as_ref()?;
        if c.id.is_empty() || self.service_url.is_empty() {
            return None;
        }
        Some(ConversationRef {
            service_url: self.service_url.clone(),
            conversation_id: base_conversation(&c.id).to_string(),
            tenant_id: self.tenant(),
            conversation_type: self.conversation_type().to_string(),
        })
    }

    /// The person who acted: their Entra object id when Teams gives it (stable, what admins see, used in
    /// `[roles.teams]`), else the Teams member id.
    pub fn actor(&self) -> Option<UserRef> {
        let f = self.from.as_ref()?;
        let id = f.aad_object_id.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| f.id.clone());
        if id.is_empty() {
            return None;
        }
        let name = f.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| id.clone());
        Some(UserRef::new(Platform::Teams, id, name))
    }

    /// True for the `conversationUpdate` Teams sends when the bot itself is added to a team (the bot among
    /// `membersAdded`, in a channel conversation); not when a person installs it for themselves or in a group chat.
    pub fn bot_added_to_team(&self) -> bool {
        let bot = self.recipient.as_ref().map(|r| r.id.as_str()).unwrap_or("");
        self.kind == "conversationUpdate"
            && !bot.is_empty()
            && self.members_added.iter().any(|m| m.id == bot)
            && self.conversation_type() == "channel"
    }

    /// True if one of the activity's mentions is of the bot.
    pub fn mentions_bot(&self) -> bool {
        let bot = self.recipient.as_ref().map(|r| r.id.as_str()).unwrap_or("");
        self.mentions().any(|(id, _, _)| !bot.is_empty() && id == bot)
    }

    /// Mention entities: (mentioned id, the entity's `text`, the mentioned name).
    fn mentions(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.entities.iter().filter(|e| e.get("type").and_then(Value::as_str) == Some("mention")).filter_map(|e| {
            let id = e.pointer("/mentioned/id").and_then(Value::as_str)?;
            let text = e.get("text").and_then(Value::as_str).unwrap_or("");
            let name = e.pointer("/mentioned/name").and_then(Value::as_str).unwrap_or("");
            Some((id, text, name))
        })
    }

    /// The message text as the person meant it. Every mention the `entities` describe is found by its `text`, or,
    /// when the message spells it differently, as `<at>Name</at>` or `<at>@Name</at>`; the bot's is removed, the
    /// others become `@id` (known people: `members` maps Teams member ids to user ids) or `@Name`. A leading
    /// `@BotName` typed as plain text goes too. Any `<at>` tag left over is removed and simple HTML undone.
    pub fn clean_text(&self, members: &BTreeMap<String, String>) -> String {
        let mut text = self.text.clone().unwrap_or_default();
        let bot = self.recipient.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        for (id, at, name) in self.mentions() {
            let name = name.trim();
            let tagged = strip_tags(at);
            let tagged = tagged.trim().trim_start_matches('@');
            let shown = if tagged.is_empty() { name } else { tagged };
            let is_bot = !bot.is_empty() && id == bot;
            let with = match (is_bot, members.get(id)) {
                (true, _) => String::new(),
                (false, Some(user)) => format!("@{user}"),
                (false, None) => format!("@{shown}"),
            };
            let spellings = [
                at.to_string(),
                format!("<at>{shown}</at>"),
                format!("<at>@{shown}</at>"),
                format!("<at>{name}</at>"),
                format!("<at>@{name}</at>"),
            ];
            let found =
                spellings.iter().find(|s| !s.is_empty() && s.as_str() != "<at></at>" && text.contains(s.as_str()));
            if let Some(found) = found {
                text = text.replacen(found.as_str(), &with, 1);
            } else if is_bot && !name.is_empty() {
                let typed = format!("@{name}");
                if let Some(rest) = text.trim_start().strip_prefix(&typed) {
                    text = rest.to_string();
                }
            }
        }
        // Any mention tag the entities did not describe.
        let text = remove_at_tags(&text);
        let text = strip_tags(&text.replace("<br>", "\n").replace("<br/>", "\n").replace("</p>", "\n"));
        let text = decode_entities(&text);
        text.split('\n').map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string()
    }

    /// The core's envelope for a `message` activity; `None` when there is nothing to act on.
    pub fn envelope(&self, channels: &ChannelMap, members: &BTreeMap<String, String>) -> Option<Envelope> {
        let id = self.id.clone().filter(|i| !i.is_empty())?;
        let actor = self.actor()?;
        let conv = self.conversation.as_ref()?;
        let kind = self.conversation_type();
        let dm = kind == "personal";
        let base = base_conversation(&conv.id);
        let thread = if kind == "channel" {
            // A channel post's conversation id names its thread root (`;messageid=ROOT`); a new post is its own root.
            thread_root(&conv.id).filter(|root| *root != id).map(str::to_string)
        } else {
            None
        };
        let place = Place { channel: channels.logical(base), thread, message: Some(id.clone()), dm };
        let body = match self.value.as_ref().filter(|v| v.is_object()) {
            Some(v) => submit_body(v)?,
            None => {
                let text = self.clean_text(members);
                if text.is_empty() {
                    return None;
                }
                text_body(&text)
            }
        };
        Some(Envelope { dedupe_key: format!("teams:{id}"), actor, place, mentioned: dm || self.mentions_bot(), body })
    }
}

/// A text message: `/ticket …` and `/helpdesk …` are commands, anything else is text.
fn text_body(text: &str) -> Body {
    match text.strip_prefix('/') {
        Some(cmd) if cmd.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            let (name, args) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
            Body::Command { name: name.to_ascii_lowercase(), args: args.trim().to_string() }
        }
        _ => Body::Text { text: text.to_string() },
    }
}

/// The field of a card's text input ([`super::cards`]).
pub const INPUT_FIELD: &str = "text";

/// An `Action.Submit` value: `{"action": "ticket:claim:4"}` is that button; with a non-empty text input
/// (`{"action": "ticket:resolve:4", "text": "new toner"}`) it is the matching `/ticket` command.
fn submit_body(v: &Value) -> Option<Body> {
    let action = v.get("action").and_then(Value::as_str)?.trim();
    if action.is_empty() || action.len() > 100 {
        return None;
    }
    let input = v.get(INPUT_FIELD).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
    if let (Some(text), Some(rest)) = (input, action.strip_prefix("ticket:")) {
        let mut parts = rest.split(':');
        if let (Some(verb), Some(n)) = (parts.next(), parts.next())
            && super::cards::input_for(verb).is_some()
        {
            let vendor = parts.next().map(|v| format!(" {v}")).unwrap_or_default();
            return Some(Body::Command { name: "ticket".into(), args: format!("{verb} {n}{vendor} {text}") });
        }
    }
    Some(Body::Action { action: action.to_string() })
}

/// `19:abc@thread.tacv2;messageid=123` → `19:abc@thread.tacv2`.
pub fn base_conversation(id: &str) -> &str {
    id.split(";messageid=").next().unwrap_or(id)
}

/// `19:abc@thread.tacv2;messageid=123` → `123`.
pub fn thread_root(id: &str) -> Option<&str> {
    id.split_once(";messageid=").map(|(_, r)| r).filter(|r| !r.is_empty())
}

/// Logical channel names (`helpdesk`, `helpdesk-queue`, …) and the Teams channel conversations they stand for.
#[derive(Debug, Clone, Default)]
pub struct ChannelMap {
    to_teams: BTreeMap<String, String>,
}

impl ChannelMap {
    pub fn new(map: &BTreeMap<String, String>) -> ChannelMap {
        let to_teams = map.iter().map(|(k, v)| (k.clone(), base_conversation(v.trim()).to_string())).collect();
        ChannelMap { to_teams }
    }

    /// The Teams conversation for a logical name (the name itself when unmapped).
    pub fn teams<'a>(&'a self, logical: &'a str) -> &'a str {
        self.to_teams.get(logical).map(String::as_str).unwrap_or(logical)
    }

    /// The logical name of a Teams conversation (the id itself when unmapped).
    pub fn logical(&self, conversation: &str) -> String {
        self.to_teams.iter().find(|(_, v)| *v == conversation).map(|(k, _)| k.clone()).unwrap_or(conversation.into())
    }
}

/// Removes `<at>…</at>` and `<at id="0">…</at>` mentions with what they enclose.
fn remove_at_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<at") {
        let opens = matches!(rest[i + 3..].chars().next(), Some('>' | ' '));
        match rest[i..].find("</at>").filter(|_| opens) {
            Some(j) => {
                out.push_str(&rest[..i]);
                rest = &rest[i + j + "</at>".len()..];
            }
            None => {
                out.push_str(&rest[..i + 3]);
                rest = &rest[i + 3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' if !in_tag => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    // A lone `<` (e.g. "x < 3") never closed: keep the text as it was.
    if in_tag { s.to_string() } else { out }
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn activity(v: Value) -> Activity {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mention_of_the_bot_is_removed_and_others_kept() {
        let a = activity(json!({
            "type": "message", "id": "1", "text": "<at>Helpdesk</at> printer on floor 2 &amp; <at>Sam Lee</at> knows",
            "recipient": {"id": "28:bot"},
            "entities": [
                {"type": "mention", "text": "<at>Helpdesk</at>", "mentioned": {"id": "28:bot", "name": "Helpdesk"}},
                {"type": "mention", "text": "<at>Sam Lee</at>", "mentioned": {"id": "29:sam", "name": "Sam Lee"}}
            ]
        }));
        assert!(a.mentions_bot());
        assert_eq!(a.clean_text(&BTreeMap::new()), "printer on floor 2 & @Sam Lee knows");
        let known = BTreeMap::from([("29:sam".to_string(), "aad-sam".to_string())]);
        assert_eq!(a.clean_text(&known), "printer on floor 2 & @aad-sam knows");
    }

    #[test]
    fn conversation_kind_is_inferred_when_teams_does_not_state_it() {
        let kind = |conversation: Value, channel_data: Value| {
            let a = activity(json!({"type": "message", "id": "9", "conversation": conversation,
                                    "channelData": channel_data, "from": {"id": "29:ada", "aadObjectId": "aad-ada"},
                                    "text": "printer jammed"}));
            (a.conversation_type().to_string(), a)
        };
        let tenant = json!({"tenant": {"id": "t"}});
        let (k, a) = kind(json!({"id": "19:c@thread.skype;messageid=5", "isGroup": true}), tenant.clone());
        assert_eq!(k, "channel", "the thread suffix");
        let e = a.envelope(&ChannelMap::default(), &BTreeMap::new()).unwrap();
        assert_eq!(
            (e.place.dm, e.place.thread.as_deref(), e.place.channel.as_str()),
            (false, Some("5"), "19:c@thread.skype")
        );
        let (k, _) = kind(
            json!({"id": "19:c@thread.skype", "isGroup": true}),
            json!({"channel": {"id": "19:c@thread.skype"}, "team": {"id": "19:t@thread.skype"}}),
        );
        assert_eq!(k, "channel", "channelData names the channel");
        let (k, _) = kind(json!({"id": "19:c@thread.tacv2"}), json!({"teamsChannelId": "19:c@thread.tacv2"}));
        assert_eq!(k, "channel", "the older teamsChannelId");
        let (k, a) = kind(json!({"id": "19:g@thread.v2", "isGroup": true}), tenant.clone());
        assert_eq!(k, "groupChat");
        assert!(!a.envelope(&ChannelMap::default(), &BTreeMap::new()).unwrap().place.dm);
        let (k, a) = kind(json!({"id": "a:1x"}), tenant.clone());
        assert_eq!(k, "personal");
        assert!(a.envelope(&ChannelMap::default(), &BTreeMap::new()).unwrap().place.dm);
        let (k, _) = kind(json!({"id": "19:c@thread.skype;messageid=5", "conversationType": "groupChat"}), tenant);
        assert_eq!(k, "groupChat", "what Teams states wins");
    }

    #[test]
    fn mentions_are_found_by_their_entities_however_they_are_spelled() {
        let with = |text: &str, entities: Value| {
            activity(
                json!({"type": "message", "id": "1", "text": text, "recipient": {"id": "28:bot", "name": "Helpdesk"},
                            "entities": entities}),
            )
            .clean_text(&BTreeMap::new())
        };
        let bot = |t: &str| json!({"type": "mention", "text": t, "mentioned": {"id": "28:bot", "name": "Helpdesk"}});
        let sam = |t: &str| json!({"type": "mention", "text": t, "mentioned": {"id": "29:sam", "name": "Sam Lee"}});
        // The entity spells the tag with an @ the text does not have (as in the Teams documentation's sample).
        assert_eq!(
            with(
                "<at>Helpdesk</at> printer down, ask <at>Sam Lee</at>",
                json!([bot("<at>@Helpdesk</at>"), sam("<at>@Sam Lee</at>")])
            ),
            "printer down, ask @Sam Lee"
        );
        // The entity's text is not a tag at all.
        assert_eq!(with("Helpdesk printer down", json!([bot("Helpdesk")])), "printer down");
        // A client that typed the name: no tag, the entity without text.
        assert_eq!(with("@Helpdesk printer down", json!([bot("")])), "printer down");
        // A tag with attributes the entities do not describe.
        assert_eq!(with("<at id=\"0\">Helpdesk</at>&nbsp;printer down", json!([])), "printer down");
        assert_eq!(remove_at_tags("<attachment> then <at>Sam</at>!"), "<attachment> then !");
    }

    #[test]
    fn only_the_bot_added_to_a_team_counts_as_an_install_there() {
        let update = |conversation: Value, added: &str, channel_data: Value| {
            activity(json!({"type": "conversationUpdate", "recipient": {"id": "28:bot"}, "conversation": conversation,
                            "membersAdded": [{"id": added}], "channelData": channel_data}))
            .bot_added_to_team()
        };
        let team = json!({"team": {"id": "19:t@thread.skype"}, "eventType": "teamMemberAdded"});
        assert!(update(
            json!({"id": "19:t@thread.skype", "isGroup": true, "conversationType": "channel"}),
            "28:bot",
            team.clone()
        ));
        assert!(update(json!({"id": "19:t@thread.skype", "isGroup": true}), "28:bot", team.clone()), "older shape");
        assert!(!update(json!({"id": "19:t@thread.skype", "conversationType": "channel"}), "29:ada", team), "a person");
        assert!(!update(json!({"id": "a:1", "conversationType": "personal"}), "28:bot", json!({})), "a 1:1 install");
        assert!(!update(json!({"id": "19:g@thread.v2", "isGroup": true}), "28:bot", json!({})), "a group chat");
    }

    #[test]
    fn submits_become_actions_or_commands() {
        assert_eq!(
            submit_body(&json!({"action": "ticket:claim:4"})),
            Some(Body::Action { action: "ticket:claim:4".into() })
        );
        assert_eq!(
            submit_body(&json!({"action": "ticket:resolve:4", "text": " new toner "})),
            Some(Body::Command { name: "ticket".into(), args: "resolve 4 new toner".into() })
        );
        assert_eq!(
            submit_body(&json!({"action": "ticket:reply:4", "text": ""})),
            Some(Body::Action { action: "ticket:reply:4".into() })
        );
        assert_eq!(submit_body(&json!({"text": "x"})), None);
    }

    #[test]
    fn commands_and_threads() {
        assert_eq!(text_body("/ticket claim 4"), Body::Command { name: "ticket".into(), args: "claim 4".into() });
        assert_eq!(text_body("/ 5"), Body::Text { text: "/ 5".into() });
        assert_eq!(base_conversation("19:a@thread.tacv2;messageid=9"), "19:a@thread.tacv2");
        assert_eq!(thread_root("19:a@thread.tacv2;messageid=9"), Some("9"));
        assert_eq!(thread_root("a:1"), None);
        let m = ChannelMap::new(&BTreeMap::from([("helpdesk".to_string(), "19:h@thread.tacv2".to_string())]));
        assert_eq!(m.logical("19:h@thread.tacv2"), "helpdesk");
        assert_eq!(m.logical("19:x@thread.tacv2"), "19:x@thread.tacv2");
        assert_eq!(m.teams("helpdesk"), "19:h@thread.tacv2");
        assert_eq!(m.teams("other"), "other");
    }
}
