//! Owner notices of messages on a ticket, folded: a ticket's owner hears of the first message at once and of the
//! rest at most once per [`NOTICE_FOLD`] ("alice added 3 more messages to #1"), so a requester writing fifty lines
//! in their thread sends the owner two DMs, not fifty. Every message is still on the ticket.

use super::{Desk, DeskError, Work, quote};
use crate::core::ids::{Place, TicketNo, UserRef};
use crate::core::message::Outbound;
use crate::core::ticket::{Event, EventKind, NoticeFold, Ticket, Timestamp};
use crate::store::{Commit, Committed, Conversation, ConversationWrite, Store, StoreError};

/// After telling an owner of a message, further messages on the ticket within this long are told together once it
/// has passed.
pub const NOTICE_FOLD: chrono::Duration = chrono::Duration::minutes(5);

/// Conversation key prefix of a pending folded notice: `notice:<ticket>:<told_at ms>`, due at the end of the fold.
const KEY_PREFIX: &str = "notice:";
/// The `owner` of every such row (not a person: the notice belongs to the ticket).
const NOTICE_OWNER: &str = "owner-notices";

impl<S: Store> Desk<S> {
    /// `who` wrote `text` on `t`: its owner (if any) is told now, or, within [`NOTICE_FOLD`] of the last notice,
    /// with the others when it has passed.
    pub(super) fn tell_owner_of_message(&self, t: &mut Ticket, who: &str, text: &str, now: Timestamp, w: &mut Work) {
        let first = format!("{who} added to {}: {}", t.number, quote(text));
        self.tell_owner_folded(t, who, text, first, now, w);
    }

    /// [`Desk::tell_owner_of_message`] with `first` as the notice told at once (a colleague's "+1": "bob reported
    /// #1 too (3 affected): …"); what follows within [`NOTICE_FOLD`] is folded the same way, so a hundred "+1"s
    /// are two notices, not a hundred (#30).
    pub(super) fn tell_owner_folded(
        &self,
        t: &mut Ticket,
        who: &str,
        text: &str,
        first: String,
        now: Timestamp,
        w: &mut Work,
    ) {
        let Some(owner) = t.owner.clone() else { return };
        match &mut t.owner_notices {
            Some(f) if now - f.told_at < NOTICE_FOLD => {
                f.add(who, text);
                if f.untold == 1 {
                    // The first message held back: the rest of the fold is told when it ends.
                    w.commit.conversations.push(ConversationWrite::Put(Conversation {
                        key: format!("{KEY_PREFIX}{}:{}", t.number.0, f.told_at.timestamp_millis()),
                        owner: NOTICE_OWNER.to_string(),
                        ticket: None,
                        data: String::new(),
                        deadline: Some(f.told_at + NOTICE_FOLD),
                        version: 0,
                    }));
                }
            }
            _ => {
                w.send(Outbound::to_user(&owner, &Place { dm: true, ..self.staff_place() }, first).about(t.number));
                t.owner_notices = Some(NoticeFold::starting(now));
            }
        }
    }

    /// A fold that ended (`conv`, a due `notice:` row): the owner hears how many messages came and the latest.
    /// Committed once (keyed by the row).
    pub(super) async fn flush_notices(&self, conv: &Conversation, now: Timestamp) -> Result<usize, DeskError> {
        if conv.key.starts_with(DENIED_PREFIX) {
            return self.flush_denied(conv, now).await;
        }
        let mut w =
            Work::new(Commit { dedupe_key: Some(format!("{}:told", conv.key)), at: Some(now), ..Commit::default() });
        w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        let mut parts = conv.key.trim_start_matches(KEY_PREFIX).split(':');
        let n = parts.next().and_then(TicketNo::parse);
        let since = parts.next().and_then(|ms| ms.parse::<i64>().ok());
        let ticket = match n {
            Some(n) => self.store.ticket(n).await?,
            None => None,
        };
        if let Some(mut t) = ticket
            && let Some(f) = t.owner_notices.clone().filter(|f| Some(f.told_at.timestamp_millis()) == since)
            && f.untold > 0
        {
            if let (Some(owner), Some((latest_by, text))) = (&t.owner, &f.latest) {
                let more =
                    if f.untold == 1 { "1 more message".to_string() } else { format!("{} more messages", f.untold) };
                // Everyone who wrote is named, not only the last of them (#30).
                let who = f.who_wrote();
                let latest = if f.writers.len() > 1 || f.more_writers > 0 {
                    format!("the latest, from {latest_by}")
                } else {
                    "the latest".to_string()
                };
                let msg = format!(
                    "{who} added {more} to {} since your last notice, {latest}: {} (/ticket show {} has them all)",
                    t.number,
                    quote(text),
                    t.number.0
                );
                w.send(Outbound::to_user(owner, &Place { dm: true, ..self.staff_place() }, msg).about(t.number));
            }
            t.owner_notices = Some(NoticeFold::starting(now));
            w.commit.updates.push(t);
        }
        match self.commit(w.commit).await {
            Ok(Committed::Written) => Ok(1),
            Ok(Committed::Duplicate) | Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a conversation row is a pending folded notice (or a folded refusal count).
    pub(super) fn is_notice(conv: &Conversation) -> bool {
        conv.key.starts_with(KEY_PREFIX) || conv.key.starts_with(DENIED_PREFIX)
    }

    /// The same refusal again within the fold window of the `denied` event recorded at `since`: counted in a row
    /// due when the window ends, when the count is recorded as one event (#30: a thousand refused claims are two
    /// events that say so, not a thousand and not one).
    pub(super) async fn count_denied(
        &self,
        n: TicketNo,
        who: &UserRef,
        action: &str,
        reason: &str,
        since: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        let key = format!("{DENIED_PREFIX}{}:{}:{}:{action}", n.0, since.timestamp_millis(), who.key());
        let row = self.store.conversations_of(&key).await?.into_iter().find(|c| c.key == key);
        let mut fold =
            row.as_ref().and_then(|c| serde_json::from_str::<DeniedFold>(&c.data).ok()).unwrap_or_else(|| DeniedFold {
                who: who.clone(),
                action: action.to_string(),
                reason: reason.to_string(),
                count: 0,
            });
        fold.count += 1;
        w.commit.conversations.push(ConversationWrite::Put(Conversation {
            key: key.clone(),
            owner: key,
            ticket: None,
            data: serde_json::to_string(&fold).unwrap_or_default(),
            deadline: Some(since + super::DENIED_FOLD_WINDOW),
            version: row.map(|c| c.version).unwrap_or(0),
        }));
        Ok(())
    }

    /// A folded refusal count that fell due: one `denied` event with the count. Committed once (keyed by the row).
    async fn flush_denied(&self, conv: &Conversation, now: Timestamp) -> Result<usize, DeskError> {
        let mut w =
            Work::new(Commit { dedupe_key: Some(format!("{}:told", conv.key)), at: Some(now), ..Commit::default() });
        w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        let n = conv.key.trim_start_matches(DENIED_PREFIX).split(':').next().and_then(TicketNo::parse);
        if let (Some(n), Ok(f)) = (n, serde_json::from_str::<DeniedFold>(&conv.data))
            && f.count > 0
        {
            let kind = EventKind::Denied { action: f.action, reason: f.reason, repeated: f.count };
            w.events(n, vec![Event { at: now, actor: Some(f.who), kind }]);
        }
        match self.commit(w.commit).await {
            Ok(Committed::Written) => Ok(1),
            Ok(Committed::Duplicate) | Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Conversation key prefix of a folded refusal count: `denied:<ticket>:<first ms>:<who>:<action>`.
const DENIED_PREFIX: &str = "denied:";

/// What a folded refusal count row holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct DeniedFold {
    who: UserRef,
    action: String,
    reason: String,
    count: u32,
}
