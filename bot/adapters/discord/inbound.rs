//! Inbound Discord events → the core: messages (helpdesk channels, ticket threads, DMs, mentions) and
//! interactions (slash commands, autocomplete, buttons, modal submissions). Free of serenity's callbacks so tests
//! drive it with payloads in the shapes Discord documents.
//!
//! Interactions are answered at once ([`Answer::response`]: a deferral, a modal, autocomplete choices or an
//! ephemeral error) and only then handed to the desk ([`Discord::finish`]); what the core says back goes out
//! through the outbox as follow-ups to the interaction (its token is kept in `platform_refs` for that), so the
//! 3-second deadline never waits on the database.

use super::{DiscordConfig, keys};
use crate::core::desk::{Desk, DeskError, Handled};
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Body, Envelope};
use crate::core::roles::Role;
use crate::store::{Store, TicketFilter};
use serenity::all::{
    ActionRowComponent, CreateActionRow, CreateAutocompleteResponse, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, InputTextStyle, Interaction, Message, MessageType, User,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

/// Deskbot roles from `[roles.discord]`: user ids (`"123456789012345678" = "technician"`, looked up by the core)
/// and Discord role ids (`"role:987654321098765432" = "technician"`, resolved here from the member's roles in each
/// event). A person gets the highest role that any of their entries gives.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    users: HashMap<String, Role>,
    roles: HashMap<String, Role>,
}

impl Roles {
    pub fn from_config(entries: Option<&BTreeMap<String, Role>>) -> Roles {
        let mut r = Roles::default();
        for (k, role) in entries.into_iter().flatten() {
            match k.strip_prefix("role:") {
                Some(id) => r.roles.insert(id.trim().to_string(), *role),
                None => r.users.insert(k.trim().to_string(), *role),
            };
        }
        r
    }

    /// The highest role of a user with these Discord role ids.
    pub fn highest(&self, user_id: &str, member_roles: &[String]) -> Role {
        let by_role = member_roles.iter().filter_map(|id| self.roles.get(id)).copied();
        by_role.chain(self.users.get(user_id).copied()).max().unwrap_or_default()
    }

    fn uses_roles(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// What to answer an interaction with now, and the work for the desk afterwards.
pub struct Answer {
    /// Sent at once, within Discord's 3 seconds.
    pub response: CreateInteractionResponse,
    /// For [`Discord::finish`], after the response is sent.
    pub work: Option<Work>,
}

/// An interaction's event for the desk.
#[derive(Debug, Clone)]
pub struct Work {
    pub envelope: Envelope,
    pub interaction_id: String,
    /// The interaction token (valid 15 minutes), kept for follow-ups.
    pub token: String,
    pub member_roles: Vec<String>,
}

/// The Discord adapter's inbound side.
pub struct Discord<S> {
    pub desk: Arc<Desk<S>>,
    pub config: DiscordConfig,
    pub roles: Roles,
    /// The bot's own user id (learnt at gateway `ready`), to see mentions and strip them.
    bot_user: OnceLock<u64>,
    /// Notified after each handled event, so the outbox worker delivers at once.
    pub wake: Arc<tokio::sync::Notify>,
}

impl<S: Store> Discord<S> {
    pub fn new(desk: Arc<Desk<S>>, config: DiscordConfig, roles: Roles) -> Self {
        Discord { desk, config, roles, bot_user: OnceLock::new(), wake: Arc::default() }
    }

    /// The bot joined (or, on every connection, is told again about) a server holding `channels`: when the
    /// helpdesk channel is one of them, deskbot introduces itself there, once ever (see
    /// [`crate::adapters::intro`]). True when the introduction was written now.
    pub async fn on_guild_join(&self, channels: &[u64]) -> Result<bool, crate::store::StoreError> {
        let helpdesk = self.desk.settings().helpdesk_channel.clone();
        let Some(id) = self.config.channel_id(&helpdesk) else { return Ok(false) };
        if !channels.contains(&id) {
            return Ok(false);
        }
        let written = crate::adapters::intro::post_once(
            self.desk.store(),
            crate::core::ids::Platform::Discord,
            &helpdesk,
            self.desk.now(),
        )
        .await?;
        if written {
            tracing::info!(channel = %helpdesk, "discord: in the helpdesk channel's server; introducing ourselves");
            self.wake.notify_one();
        }
        Ok(written)
    }

    /// Records the bot's user id (from the gateway's `ready`, or the application's bot user).
    pub fn set_bot_user(&self, id: u64) {
        let _ = self.bot_user.set(id);
    }

    /// Where an event in `channel` happened: a DM, a ticket thread (known from `platform_refs`: its parent's
    /// logical name and the message that started it), or a channel by its logical name.
    async fn place(&self, channel: u64, dm: bool, message: String) -> Result<Place, DeskError> {
        if dm {
            return Ok(Place { channel: channel.to_string(), thread: None, message: Some(message), dm: true });
        }
        let store = self.desk.store();
        if let Some(v) = store.platform_ref(Platform::Discord, &keys::parent(channel)).await?
            && let Some((parent, starter)) = v.split_once('\n')
        {
            return Ok(Place {
                channel: parent.to_string(),
                thread: Some(starter.to_string()),
                message: Some(message),
                dm: false,
            });
        }
        Ok(Place { channel: self.config.logical(channel), thread: None, message: Some(message), dm: false })
    }

    fn actor(user: &User, nick: Option<&str>) -> UserRef {
        let name = nick.or(user.global_name.as_deref()).unwrap_or(&user.name);
        UserRef::new(Platform::Discord, user.id.to_string(), name)
    }

    /// Gives the person their role from their Discord roles (only when role ids are configured; user ids are
    /// looked up by the core itself).
    fn apply_roles(&self, actor: &UserRef, member_roles: &[String]) {
        if self.roles.uses_roles() {
            self.desk.set_role(actor, self.roles.highest(&actor.id, member_roles));
        }
    }

    /// A message from the gateway. Bots (including deskbot itself), system messages and messages outside the
    /// helpdesk channels, ticket threads and DMs (unless deskbot is mentioned) are ignored: `Ok(None)`.
    pub async fn on_message(&self, msg: &Message) -> Result<Option<Handled>, DeskError> {
        if msg.author.bot
            || msg.webhook_id.is_some()
            || !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply)
        {
            return Ok(None);
        }
        let bot = self.bot_user.get().copied();
        let mentioned = bot.is_some_and(|b| msg.mentions.iter().any(|u| u.id.get() == b));
        let mut text = msg.content.clone();
        if let Some(b) = bot {
            text = text.replace(&format!("<@{b}>"), "").replace(&format!("<@!{b}>"), "");
        }
        let text = text.trim().to_string();
        if text.is_empty() {
            return Ok(None);
        }
        let place = self.place(msg.channel_id.get(), msg.guild_id.is_none(), msg.id.to_string()).await?;
        let helpdesk = &self.desk.settings().helpdesk_channel;
        if !(place.dm || mentioned || place.thread.is_some() || &place.channel == helpdesk) {
            return Ok(None);
        }
        let member = msg.member.as_deref();
        let actor = Self::actor(&msg.author, member.and_then(|m| m.nick.as_deref()));
        let roles: Vec<String> = member.map(|m| m.roles.iter().map(|r| r.to_string()).collect()).unwrap_or_default();
        self.apply_roles(&actor, &roles);
        let env = Envelope {
            dedupe_key: format!("discord:msg:{}", msg.id),
            actor,
            place,
            mentioned,
            body: Body::Text { text },
        };
        let handled = self.desk.handle(&env).await?;
        self.wake.notify_one();
        Ok(Some(handled))
    }

    /// The immediate answer to an interaction, and the work for [`Discord::finish`].
    pub async fn on_interaction(&self, i: &Interaction) -> Result<Answer, DeskError> {
        let (id, token, channel, dm, user, member) = match i {
            Interaction::Ping(_) => return Ok(Answer { response: CreateInteractionResponse::Pong, work: None }),
            Interaction::Command(c) | Interaction::Autocomplete(c) => {
                (c.id, &c.token, c.channel_id, c.guild_id.is_none(), &c.user, c.member.as_deref())
            }
            Interaction::Component(c) => {
                (c.id, &c.token, c.channel_id, c.guild_id.is_none(), &c.user, c.member.as_ref())
            }
            Interaction::Modal(c) => (c.id, &c.token, c.channel_id, c.guild_id.is_none(), &c.user, c.member.as_ref()),
            _ => {
                return Ok(Answer {
                    response: ephemeral("deskbot does not handle this kind of interaction"),
                    work: None,
                });
            }
        };
        let user = member.map(|m| &m.user).unwrap_or(user);
        let actor = Self::actor(user, member.and_then(|m| m.nick.as_deref()));
        let member_roles: Vec<String> =
            member.map(|m| m.roles.iter().map(|r| r.to_string()).collect()).unwrap_or_default();
        let body = match i {
            Interaction::Autocomplete(c) => {
                self.apply_roles(&actor, &member_roles);
                let typed = super::commands::focused_ticket(&c.data).unwrap_or_default();
                return Ok(Answer { response: self.autocomplete(&actor, &typed).await?, work: None });
            }
            Interaction::Command(c) => match super::commands::to_args(&c.data) {
                Ok((name, args)) => {
                    // People named in user options (`/ticket assign … to:@sam`) come with their roles: the core
                    // checks that an assignee is a technician.
                    for (id, m) in &c.data.resolved.members {
                        let roles: Vec<String> = m.roles.iter().map(|r| r.to_string()).collect();
                        let u = UserRef::new(Platform::Discord, id.to_string(), id.to_string());
                        self.apply_roles(&u, &roles);
                    }
                    Body::Command { name, args }
                }
                Err(e) => return Ok(Answer { response: ephemeral(&e), work: None }),
            },
            Interaction::Component(c) => {
                let action = c.data.custom_id.clone();
                if let Some(modal) = modal_for(&action) {
                    return Ok(Answer { response: CreateInteractionResponse::Modal(modal), work: None });
                }
                Body::Action { action }
            }
            Interaction::Modal(m) => {
                let fields: HashMap<String, String> = m
                    .data
                    .components
                    .iter()
                    .flat_map(|row| row.components.iter())
                    .filter_map(|c| match c {
                        ActionRowComponent::InputText(t) => {
                            Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
                        }
                        _ => None,
                    })
                    .collect();
                match modal_submission(&m.data.custom_id, &fields) {
                    Ok(body) => body,
                    Err(e) => return Ok(Answer { response: ephemeral(&e), work: None }),
                }
            }
            _ => unreachable!("handled above"),
        };
        // Buttons: acknowledge without a visible change (the card is edited through the outbox). Commands and
        // modals: "deskbot is thinking…", visible to the person only, replaced by the first follow-up.
        let response = match &body {
            Body::Action { .. } => CreateInteractionResponse::Acknowledge,
            _ => CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
        };
        let place = self.place(channel.get(), dm, keys::interaction_message(&id.to_string())).await?;
        let envelope = Envelope { dedupe_key: format!("discord:{id}"), actor, place, mentioned: false, body };
        Ok(Answer {
            response,
            work: Some(Work { envelope, interaction_id: id.to_string(), token: token.clone(), member_roles }),
        })
    }

    /// Hands an interaction's event to the desk (after the answer was sent). Keeps the interaction token for the
    /// follow-ups. (The core re-sends the ticket's card when the ticket changed; the sink edits it in place.)
    pub async fn finish(&self, work: Work) -> Result<Handled, DeskError> {
        let store = self.desk.store();
        let now = self.desk.now();
        let token = format!("{}:{}", now.timestamp(), work.token);
        store.put_platform_ref(Platform::Discord, &keys::interaction(&work.interaction_id), &token, now).await?;
        self.apply_roles(&work.envelope.actor, &work.member_roles);
        let handled = self.desk.handle(&work.envelope).await?;
        self.wake.notify_one();
        Ok(handled)
    }

    /// Up to 25 open tickets for the ticket-number autocomplete: all open tickets for technicians, the person's
    /// own for everyone else; matched by number prefix or by words of the title.
    async fn autocomplete(&self, actor: &UserRef, typed: &str) -> Result<CreateInteractionResponse, DeskError> {
        let staff = self.desk.role_of(actor).is_staff();
        let filter = TicketFilter {
            active_only: true,
            requester: (!staff).then(|| actor.key()),
            limit: Some(1000),
            ..TicketFilter::default()
        };
        let mut tickets = self.desk.store().tickets(&filter).await?;
        tickets.reverse();
        let typed = typed.trim().trim_start_matches('#').to_lowercase();
        let mut r = CreateAutocompleteResponse::new();
        for t in tickets
            .iter()
            .filter(|t| {
                typed.is_empty()
                    || t.number.0.to_string().starts_with(&typed)
                    || t.title.to_lowercase().contains(&typed)
            })
            .take(25)
        {
            let name = super::safe_text(&format!("{} · {} · {}", t.number, t.priority, t.title), 100);
            r = r.add_int_choice(name, t.number.0);
        }
        Ok(CreateInteractionResponse::Autocomplete(r))
    }
}

/// An ephemeral message as the immediate answer (errors and denials that need no desk).
fn ephemeral(text: &str) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(super::safe_text(text, 2000))
            .ephemeral(true)
            .allowed_mentions(serenity::all::CreateAllowedMentions::new()),
    )
}

/// Buttons that need text open a modal instead of reaching the core: Reply, Note, Resolve (with an optional
/// note) and Escalate (vendor and summary).
pub fn modal_for(action: &str) -> Option<CreateModal> {
    let mut parts = action.splitn(4, ':');
    let (Some("ticket"), Some(verb), Some(n)) = (parts.next(), parts.next(), parts.next()) else { return None };
    let n = TicketNo::parse(n)?;
    let vendor = parts.next();
    let input = |id: &str, label: &str, style: InputTextStyle, required: bool| {
        CreateActionRow::InputText(CreateInputText::new(style, label, id).required(required).max_length(if required {
            4000
        } else {
            1000
        }))
    };
    let (title, rows) = match (verb, vendor) {
        ("reply", None) => {
            (format!("Reply on {n}"), vec![input("text", "Reply to the requester", InputTextStyle::Paragraph, true)])
        }
        ("note", None) => (
            format!("Internal note on {n}"),
            vec![input("text", "Note (not shown to the requester)", InputTextStyle::Paragraph, true)],
        ),
        ("resolve", None) => (
            format!("Resolve {n}"),
            vec![input("note", "What fixed it (shown to the requester)", InputTextStyle::Paragraph, false)],
        ),
        ("escalate", None) => (
            format!("Escalate {n} to a vendor"),
            vec![
                input("vendor", "Vendor id (empty: choose from a list)", InputTextStyle::Short, false),
                input("summary", "What the vendor should know", InputTextStyle::Paragraph, false),
            ],
        ),
        ("escalate", Some(v)) => (
            format!("Escalate {n} to {v}"),
            vec![input("summary", "What the vendor should know", InputTextStyle::Paragraph, false)],
        ),
        _ => return None,
    };
    let id = match vendor {
        Some(v) => format!("modal:{verb}:{}:{v}", n.0),
        None => format!("modal:{verb}:{}", n.0),
    };
    Some(CreateModal::new(id, super::safe_text(&title, 45)).components(rows))
}

/// A submitted modal as the `/ticket` command it stands for.
pub fn modal_submission(custom_id: &str, fields: &HashMap<String, String>) -> Result<Body, String> {
    let mut parts = custom_id.splitn(4, ':');
    let (Some("modal"), Some(verb), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("unknown form `{custom_id}`"));
    };
    let n = TicketNo::parse(n).ok_or_else(|| format!("form `{custom_id}` has no ticket number"))?;
    let field = |k: &str| fields.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let join = |words: &[String]| words.iter().filter(|w| !w.is_empty()).cloned().collect::<Vec<_>>().join(" ");
    let cmd = |args: String| Ok(Body::Command { name: "ticket".into(), args });
    match (verb, parts.next()) {
        ("reply" | "note", None) => {
            let text = field("text");
            if text.is_empty() {
                return Err("the text is empty; nothing was sent".into());
            }
            cmd(join(&[verb.into(), n.0.to_string(), text]))
        }
        ("resolve", None) => cmd(join(&["resolve".into(), n.0.to_string(), field("note")])),
        ("escalate", None) if field("vendor").is_empty() => {
            Ok(Body::Action { action: crate::core::command::action("escalate", n) })
        }
        ("escalate", None) => cmd(join(&["escalate".into(), n.0.to_string(), field("vendor"), field("summary")])),
        ("escalate", Some(v)) => cmd(join(&["escalate".into(), n.0.to_string(), v.to_string(), field("summary")])),
        _ => Err(format!("unknown form `{custom_id}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_take_the_highest_of_user_and_discord_roles() {
        let mut m = BTreeMap::new();
        m.insert("role:10".to_string(), Role::Technician);
        m.insert("role:20".to_string(), Role::Lead);
        m.insert("555".to_string(), Role::Manager);
        let r = Roles::from_config(Some(&m));
        assert_eq!(r.highest("1", &[]), Role::Requester);
        assert_eq!(r.highest("1", &["10".into()]), Role::Technician);
        assert_eq!(r.highest("1", &["10".into(), "20".into(), "99".into()]), Role::Lead);
        assert_eq!(r.highest("555", &["10".into()]), Role::Manager);
    }

    #[test]
    fn modals_open_for_buttons_that_need_text_and_map_back() {
        assert!(modal_for("ticket:claim:4").is_none());
        assert!(modal_for("ticket:reply:4").is_some());
        let f = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let c = |args: &str| Body::Command { name: "ticket".into(), args: args.into() };
        assert_eq!(modal_submission("modal:reply:4", &f(&[("text", " it works\n")])), Ok(c("reply 4 it works")));
        assert!(modal_submission("modal:reply:4", &f(&[("text", "  ")])).is_err());
        assert_eq!(modal_submission("modal:resolve:4", &f(&[("note", "")])), Ok(c("resolve 4")));
        assert_eq!(
            modal_submission("modal:escalate:4", &f(&[("vendor", "acme"), ("summary", "down")])),
            Ok(c("escalate 4 acme down"))
        );
        assert_eq!(
            modal_submission("modal:escalate:4", &f(&[("vendor", ""), ("summary", "down")])),
            Ok(Body::Action { action: "ticket:escalate:4".into() })
        );
        assert_eq!(modal_submission("modal:escalate:4:acme", &f(&[])), Ok(c("escalate 4 acme")));
        assert!(modal_submission("modal:frobnicate:4", &f(&[])).is_err());
    }
}
