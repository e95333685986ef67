//! Runbook walkthroughs in chat: a ticket whose intent has a runbook starts one; buttons and free-text answers move
//! it on; a step timeout reminds once then hands off; the end is either *fixed* (the ticket is resolved as
//! deflected) or a hand-off to the technicians' queue with the transcript. State lives in the conversations table,
//! so a walkthrough survives a restart.

use super::{Desk, DeskError, Flow, Refusal, Work, quote};
use crate::core::command;
use crate::core::conversation as chat;
use crate::core::duration::human;
use crate::core::ids::TicketNo;
use crate::core::message::{Button, Outbound};
use crate::core::roles::Role;
use crate::core::runbook::{self, ActionRef, Opening, Outcome, Runbook, Step, WalkRecord, Walkthrough};
use crate::core::ticket::{Event, EventKind, Priority, State, Ticket, Timestamp};
use crate::core::triage::Classification;
use crate::store::{Commit, Committed, Conversation, ConversationWrite, Store, StoreError};

/// Conversation keys of walkthroughs start with this, followed by the ticket number.
const KEY_PREFIX: &str = "rb:";

/// A requester may undo a self-service fix with "Still broken" for this long.
pub const REOPEN_DEFLECTED_WITHIN: chrono::Duration = chrono::Duration::hours(72);

/// A walkthrough starts on an intent no pattern of which matched (the model alone chose it) only this sure.
pub const MODEL_ONLY_WALK_CONFIDENCE: f64 = 0.8;

/// Whether triage is sure enough of a message's intent to walk the person through that intent's fix: the
/// category is confident (at least `confident`), and either one of the intent's own patterns matched and no rival
/// intent's patterns matched as often, or no pattern matched at all and the confidence is at least
/// [`MODEL_ONLY_WALK_CONFIDENCE`]. A rival is any other intent except those in `served` (the intents the runbook
/// serves too: a jam pattern and a "won't print" pattern both lead to `printer-queue`). Patterns of a rival
/// matching instead, or as strongly, mean the message may be about something else, and a technician is better than
/// the wrong walkthrough.
pub fn sure_of_intent(c: &Classification, confident: f64, served: &[String]) -> bool {
    let Some(intent) = c.intent.as_deref() else { return false };
    if c.confidence < confident {
        return false;
    }
    // `matched` holds one `intent: pattern` line per matching pattern.
    let owners: Vec<&str> = c.matched.iter().filter_map(|m| m.split_once(": ").map(|(i, _)| i)).collect();
    let hits = |id: &str| owners.iter().filter(|o| **o == id).count();
    let rival = |id: &str| id != intent && !served.iter().any(|s| s == id);
    let own = hits(intent);
    if own == 0 {
        return owners.iter().all(|o| !rival(o)) && c.confidence >= MODEL_ONLY_WALK_CONFIDENCE;
    }
    !owners.iter().any(|o| rival(o) && hits(o) >= own)
}

fn decode(c: &Conversation) -> Option<Walkthrough> {
    if !c.key.starts_with(KEY_PREFIX) {
        return None;
    }
    serde_json::from_str(&c.data).ok()
}

/// What `writes` does to ticket `n`'s walkthrough, the last write winning: `Some(true)` when it is stored running,
/// `Some(false)` when it is deleted or stored ended, `None` when it is not written.
pub(super) fn written(writes: &[ConversationWrite], n: TicketNo) -> Option<bool> {
    let key = format!("{KEY_PREFIX}{}", n.0);
    writes.iter().rev().find_map(|w| match w {
        ConversationWrite::Put(c) if c.key == key => Some(decode(c).is_some_and(|wt| wt.ended.is_none())),
        ConversationWrite::Delete { key: k, .. } if *k == key => Some(false),
        _ => None,
    })
}

fn put(conv: Option<&Conversation>, t: &Ticket, wt: &Walkthrough) -> ConversationWrite {
    ConversationWrite::Put(Conversation {
        key: format!("{KEY_PREFIX}{}", t.number.0),
        owner: t.requester.key(),
        ticket: Some(t.number),
        data: serde_json::to_string(wt).unwrap_or_default(),
        deadline: wt.deadline,
        version: conv.map(|c| c.version).unwrap_or(0),
    })
}

/// Whether `text` names `person` ("Priya Raman"), in full or by first name ("Sue's mail to Jo Park").
pub(super) fn names_person(text: &str, person: &str) -> bool {
    let lower = text.to_lowercase();
    let word_at = |w: &str| {
        lower.match_indices(w).any(|(i, _)| {
            let before = lower[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
            let after = lower[i + w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
            before && after
        })
    };
    let full = person.to_lowercase();
    word_at(&full) || full.split_whitespace().next().is_some_and(word_at)
}

/// How long after a typed question a message in the channel (not its thread) may still be its answer.
pub const CHANNEL_ANSWER_WITHIN: chrono::Duration = chrono::Duration::minutes(30);

/// What a message in the channel answers among the person's walkthroughs waiting there.
enum ChannelAnswer {
    None,
    One(Box<Conversation>),
    /// Several it could answer: the person is asked which.
    Which(Vec<Ticket>),
}

impl<S: Store> Desk<S> {
    /// The walkthrough for a new ticket and the step it opens at, or `None`: when triage is not sure of the intent
    /// ([`sure_of_intent`]; intents its own runbook also serves are no rivals), when the intent has no runbook, or when the runbook sends this kind of message
    /// straight to a technician (a `handoff` entry). The intent's own runbook is asked first; another runbook that
    /// lists the intent is used when one of its entries fits the message and none of the own runbook's does. With
    /// no entry fitting, the own runbook opens at its first step.
    pub(super) fn runbook_for<'a>(&'a self, c: &Classification, text: &str) -> Option<(&'a Runbook, &'a Step)> {
        if crate::core::conversation::widespread(text) {
            // "wifi is dead on the whole floor": nothing at the person's own computer fixes that.
            return None;
        }
        let intent = c.intent.as_deref();
        let own = c.runbook.as_deref().and_then(|id| self.runbooks.get(id));
        let others = intent.map(|i| self.runbooks.for_intent(i)).unwrap_or_default();
        // Intents the candidate runbooks serve are no rivals: "new hire starting Monday, needs a laptop and
        // accounts" matches a hardware pattern too, and the joiner runbook serves both.
        let served: Vec<String> = match own {
            Some(rb) => rb.intents.clone(),
            None => others.iter().flat_map(|rb| rb.intents.iter().cloned()).collect(),
        };
        if !sure_of_intent(c, self.settings.triage.confident, &served) {
            return None;
        }
        for rb in own.into_iter().chain(others.into_iter().filter(|r| Some(r.id.as_str()) != c.runbook.as_deref())) {
            match rb.opening(intent, text) {
                Some(Opening::Step(step)) => return Some((rb, step)),
                Some(Opening::Handoff) => return None,
                None => {}
            }
        }
        own.and_then(|rb| rb.first_step().map(|step| (rb, step)))
    }

    /// Starts `rb` at its first step for ticket `t` (written by the same commit) and sends that step.
    pub(super) fn start_walk(&self, rb: &Runbook, t: &Ticket, now: Timestamp, w: &mut Work) {
        if let Some(first) = rb.first_step() {
            self.start_walk_at(rb, first, t, now, w);
        }
    }

    /// Starts `rb` at `first` (one of its steps, see [`Desk::runbook_for`]) for ticket `t` and sends that step.
    pub(super) fn start_walk_at(&self, rb: &Runbook, first: &Step, t: &Ticket, now: Timestamp, w: &mut Work) {
        self.start_walk_known(rb, first, t, std::collections::BTreeMap::new(), now, w);
    }

    /// [`Desk::start_walk_at`] with answers already known (see [`Walkthrough::known`]).
    pub(super) fn start_walk_known(
        &self,
        rb: &Runbook,
        first: &Step,
        t: &Ticket,
        known: std::collections::BTreeMap<String, String>,
        now: Timestamp,
        w: &mut Work,
    ) {
        let (wt, view) = runbook::start_known(rb, first, &self.settings.runbook_vars, now, known);
        w.send(self.step_message(t, &view));
        w.commit.conversations.push(put(None, t, &wt));
    }

    /// Starts `rb` at `first` for `t` in place of the walkthrough `running` (if any): that one is recorded as
    /// handed off (the requester said the ticket is about something else), and this one takes its place.
    pub(super) fn replace_walk(
        &self,
        rb: &Runbook,
        first: &Step,
        t: &Ticket,
        running: Option<&Conversation>,
        now: Timestamp,
        w: &mut Work,
    ) {
        if let Some(old) = running.and_then(decode).filter(|wt| wt.ended.is_none()) {
            let reason = "the requester said the ticket is about something else".to_string();
            w.events(t.number, vec![self.walk_event(&old, "handoff", Some(reason), now)]);
        }
        let (wt, view) =
            runbook::start_known(rb, first, &self.settings.runbook_vars, now, std::collections::BTreeMap::new());
        w.send(self.step_message(t, &view));
        w.commit.conversations.push(put(running, t, &wt));
    }

    /// A step for the requester. Its buttons carry the ticket number, so a press acts on that ticket's walkthrough
    /// only (and, once the ticket is merged away, says where the conversation went).
    fn step_message(&self, t: &Ticket, view: &runbook::View) -> Outbound {
        let buttons = view
            .buttons
            .iter()
            .map(|b| {
                let mut b = b.clone();
                if b.action.starts_with(runbook::ACTION_PREFIX) {
                    b.action = format!("{}:{}", b.action, t.number.0);
                }
                b
            })
            .collect();
        let mut text = view.full_text();
        if view.ask.is_some() {
            // Where to answer: the ticket's thread (an answer written in the channel is taken too), or this DM.
            text.push_str(if t.origin.place.dm || t.origin.place.thread.is_none() {
                "\n(Type your answer here.)"
            } else {
                "\n(Type your answer as a reply in this thread.)"
            });
        }
        Outbound::to_user(&t.requester, &t.origin.place, text).with_buttons(buttons).about(t.number)
    }

    /// After a message of the requester's was added to `t` outside its walkthrough ("Yes, add it to #1"): a
    /// walkthrough still waiting for them is shown again (its timeout still runs), so it does not sit unseen.
    pub(super) async fn walk_still_waiting(&self, t: &Ticket, w: &mut Work) -> Result<(), DeskError> {
        let Some(conv) = self.store.conversation_for_ticket(t.number).await? else { return Ok(()) };
        let Some(wt) = decode(&conv).filter(|wt| wt.ended.is_none()) else { return Ok(()) };
        let Some(rb) = self.runbooks.get(&wt.runbook) else { return Ok(()) };
        if let Ok(mut view) = runbook::view(rb, &wt, &self.settings.runbook_vars) {
            view.text = format!("{}'s walkthrough is still waiting for you:\n\n{}", t.number, view.text);
            w.send(self.step_message(t, &view));
        }
        Ok(())
    }

    /// The walkthrough running on ticket `n`, if any: what `/ticket show` lists while it is in progress.
    pub(super) async fn walk_in_progress(&self, n: TicketNo) -> Result<Option<WalkRecord>, DeskError> {
        Ok(self
            .store
            .conversation_for_ticket(n)
            .await?
            .and_then(|c| decode(&c))
            .filter(|wt| wt.ended.is_none())
            .map(|wt| WalkRecord::of(&wt, self.settings.timezone)))
    }

    /// The walkthrough of ticket `n`, if one is running: the approver role its runbook needs, when it needs one.
    pub(super) async fn approval_walk_running(&self, n: TicketNo) -> Result<Option<String>, DeskError> {
        let Some(conv) = self.store.conversation_for_ticket(n).await? else { return Ok(None) };
        let Some(rb) = decode(&conv).filter(|wt| wt.ended.is_none()).and_then(|wt| self.runbooks.get(&wt.runbook))
        else {
            return Ok(None);
        };
        let Some(a) = rb.approval.as_ref() else { return Ok(None) };
        if !a.unless_raised_by.is_empty()
            && let Some(t) = self.store.ticket(n).await?
            && !rb.needs_approval_from(self.role_of(&t.requester))
        {
            return Ok(None);
        }
        Ok(Some(a.approver.clone()))
    }

    /// The runbook that needs approval which this message asks for, the step it opens at, and the intent it serves:
    /// one that serves the message's intent and one of whose entries fits it ("I need a new laptop" is `new-laptop`;
    /// "can I get a new mouse" fits none). When triage could not tell the intent but the message is in the category
    /// of the runbook's intents (or `other`, "Something else"), the entries marked `unsure_intent` decide as if it had
    /// that intent: "I'd like a second laptop for home" must reach the approver however unusual its words. Whatever opens such a ticket (a
    /// confident message, the answer to the category question, a follow-up in a closed ticket's thread) starts this
    /// walkthrough, so the request reaches its approver.
    pub(super) fn approval_walk<'a>(
        &'a self,
        c: &Classification,
        text: &str,
    ) -> Option<(&'a Runbook, &'a Step, &'a str)> {
        let classifier = self.classifier();
        let category_of = |intent: &str| classifier.intents().find(|i| i.id == intent).map(|i| i.category.clone());
        self.runbooks.all().iter().filter(|rb| rb.approval.is_some()).find_map(|rb| {
            rb.intents.iter().find_map(|intent| {
                let step = match c.intent.as_deref() {
                    Some(i) if i == intent => match rb.opening(Some(intent), text) {
                        Some(Opening::Step(step)) => Some(step),
                        _ => None,
                    },
                    Some(_) => None,
                    None if c.category == "other" || category_of(intent).is_some_and(|cat| cat == c.category) => {
                        rb.opening_unsure(intent, text)
                    }
                    None => None,
                };
                step.map(|step| (rb, step, intent.as_str()))
            })
        })
    }

    /// A press of a runbook button (`rb:…`).
    pub(super) async fn on_walk_action(
        &self,
        env: &crate::core::message::Envelope,
        action: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        // `rb:RUNBOOK:STEP:CHOICE:N` names its ticket; buttons posted before that was added do not.
        let pressed = ActionRef::parse(action).map(|a| (a, None)).or_else(|| {
            let (base, n) = action.rsplit_once(':')?;
            Some((ActionRef::parse(base)?, Some(TicketNo::parse(n)?)))
        });
        let Some((ar, ticket)) = pressed else {
            return Ok(Flow::Refused(format!("unknown button `{action}`").into()));
        };
        let found = self
            .store
            .conversations_of(&env.actor.key())
            .await?
            .into_iter()
            .filter(|c| ticket.is_none() || c.ticket == ticket)
            .filter_map(|c| decode(&c).map(|wt| (c, wt)))
            .find(|(_, wt)| wt.runbook == ar.runbook && wt.ended.is_none());
        let Some((conv, mut wt)) = found else {
            if let Some(n) = ticket
                && let Some(mut t) = self.store.ticket(n).await?
                && t.requester.same_person(&env.actor)
            {
                // A ticket merged into another: its walkthrough ended there, and so does this conversation.
                if let Some(into) = t.merged_into {
                    return Ok(Flow::Refused(merged_away(n, into).into()));
                }
                // The walkthrough ended without them (a timeout handed it over, a technician took it over): the
                // ticket is with the technicians, and their late answer goes to it, not into a new walkthrough.
                if t.state.is_active() {
                    self.late_walk_answer(env, &mut t, &ar, now, w);
                    return Ok(Flow::Ok);
                }
                return Ok(Flow::Refused(
                    format!(
                        "That walkthrough has ended and {n} is {}. If the problem is back, write in {n}'s thread \
                         (or press Reopen) and a technician will pick it up.",
                        t.state
                    )
                    .into(),
                ));
            }
            return Ok(Flow::Refused(
                "That walkthrough has already ended. Describe the problem again if you still need help."
                    .to_string()
                    .into(),
            ));
        };
        let Some(rb) = self.runbooks.get(&wt.runbook) else {
            return Ok(Flow::Refused(format!("the runbook `{}` is no longer available", wt.runbook).into()));
        };
        match runbook::press(rb, &mut wt, &ar, &self.settings.runbook_vars, now) {
            Ok(outcome) => self.walk_outcome(&conv, wt, outcome, now, w).await,
            Err(e) => Ok(Flow::Refused(e.to_string().into())),
        }
    }

    /// A button of `t`'s walkthrough pressed after the walkthrough ended while the ticket is still being worked (a
    /// timeout handed it to the technicians, or one of them took it over) (#33): the requester is told it is already
    /// with the technicians (or waiting for its approval), and what they pressed is kept on the ticket as a note, of
    /// which its owner hears (folded like their other messages). Nothing restarts.
    fn late_walk_answer(
        &self,
        env: &crate::core::message::Envelope,
        t: &mut Ticket,
        ar: &ActionRef,
        now: Timestamp,
        w: &mut Work,
    ) {
        let n = t.number;
        let rb = self.runbooks.get(&ar.runbook);
        let label = match ar.choice {
            runbook::Choice::Person => runbook::TALK_TO_PERSON.to_string(),
            runbook::Choice::Button(i) => rb
                .and_then(|rb| rb.step(&ar.step))
                .and_then(|s| s.buttons.get(i))
                .map(|b| b.label.clone())
                .unwrap_or_else(|| format!("button {} of step \"{}\"", i + 1, ar.step)),
        };
        let title = rb.map(|rb| rb.title.clone()).unwrap_or_else(|| ar.runbook.clone());
        // Kept as plain text; `/ticket show` quotes notes when it shows them.
        let note = format!(
            "{} answered the self-service walkthrough ({title}) after it had ended: “{label}”",
            crate::core::message::plain(&env.actor.shown()),
        );
        w.events(n, vec![Event { at: now, actor: None, kind: EventKind::InternalNote { text: note } }]);
        let first =
            format!("{} answered {n}'s walkthrough after it was handed over: {}", env.actor.shown(), quote(&label));
        self.tell_owner_folded(t, &env.actor.shown(), &label, first, now, w);
        let with = match &t.awaiting_approval {
            Some(approver) => format!("{n} is already waiting for a {approver}'s approval"),
            None => format!("{n} is already with the technicians"),
        };
        let since = t
            .self_service
            .as_ref()
            .and_then(|s| s.to)
            .map(|at| format!(" (handed over {})", self.fmt_time(at)))
            .unwrap_or_default();
        let msg = format!(
            "{with}{since}, so that walkthrough has ended and nothing starts again. I've added your answer to {n} for \
             them: {}. Write in {n}'s thread if there's more.",
            quote(&label)
        );
        w.send(Outbound::to_user(&env.actor, &t.origin.place, msg).about(n));
        w.commit.updates.push(t.clone());
    }

    /// The walkthrough a message written in the channel (not a thread) answers, if any (#33 probe): only while
    /// exactly one question of theirs from this channel that it can answer waits, within [`CHANNEL_ANSWER_WITHIN`]
    /// of asking it, and never a question of their own ("anyone fancy a coffee?") or a clear new problem in another
    /// category ("my monitor is flickering" while a printer question waits): those are what they would be without
    /// the walkthrough. With two or more it could answer ("didn't work" while a printer and a VPN walkthrough both
    /// wait), nobody can tell which: `Which` lists them (probe D: it opened a security ticket "didn't work").
    async fn channel_answer_for(
        &self,
        env: &crate::core::message::Envelope,
        candidates: Vec<Conversation>,
        text: &str,
        now: Timestamp,
    ) -> Result<ChannelAnswer, DeskError> {
        // Most channel messages come from people with no walkthrough going: no triage run for them here.
        if text.contains('?') || candidates.is_empty() {
            return Ok(ChannelAnswer::None);
        }
        let c = self.classifier().classify(text);
        let clear = c.decide(&self.settings.triage) == crate::core::triage::Decision::Ticket;
        let mut waiting = vec![];
        for conv in candidates {
            let Some(wt) = decode(&conv) else { continue };
            let Some(rb) = self.runbooks.get(&wt.runbook) else { continue };
            let Some(step) = rb.step(&wt.step).filter(|_| wt.ended.is_none()) else { continue };
            let asked = wt.transcript.last().map(|e| e.at).unwrap_or(wt.started_at);
            if now - asked > CHANNEL_ANSWER_WITHIN {
                continue;
            }
            let Some(t) = (match conv.ticket {
                Some(n) => self.store.ticket(n).await?,
                None => None,
            }) else {
                continue;
            };
            if t.origin.place.dm || t.origin.place.channel != env.place.channel {
                continue;
            }
            // A step waiting for a button takes what clearly replies to it ("that didn't work", "yes", "talk to a
            // person", "it printed now"; that didn't work reads as a security problem to triage); a typed question
            // takes anything but a clear new problem of another kind.
            // Never a problem of another kind triage is all but sure of (probe E: "also the printer on floor 3 wont
            // print anything" pressed the slow laptop's "Still slow").
            // Nor someone else's departure or start ("new starter next Monday, Sam Lee…" while a leaver's question
            // waits: it was taken as the leaver's answer), though it is the same category and intent.
            // Nor someone else's departure or start said in so many words, however unsure triage is of the whole
            // (probe O: "Tom Baker and Sue Grey are both leaving on Friday 13 March" became Mark's handover answer).
            let others_named = rb.ticket_date.is_some()
                && (super::dated::departure_or_start(text) || super::dated::date_change_words(text))
                && wt.answers.get("name").is_some_and(|n| super::dated::names_someone_else(text, n));
            // At a typed question, another kind of thing is another problem only when it says something is wrong or
            // asks for something: "company iPhone and laptop LT-0318" at "which equipment do they return?" answers it
            // (probe P: an endpoint ticket).
            let other_kind = c.category != t.category && (step.ask.is_none() || c.trouble || c.asks || c.safety);
            let another = others_named
                || clear
                    && (other_kind
                        || self.runbook_for(&c, text).is_some_and(|(o, _)| {
                            // Nor a second leaver or joiner of the same kind for another person (probe M: "Tom Baker
                            // is leaving on the 20th" became Priya's handover answer).
                            let other_person = || {
                                super::dated::person_named(text)
                                    .is_some_and(|p| wt.answers.get("name").is_some_and(|n| *n != p))
                            };
                            o.ticket_date.is_some() && (o.id != rb.id || other_person())
                        }));
            let answers = if step.ask.is_none() {
                runbook::read_typed(rb, &wt, text) != runbook::Typed::Other
                    && !(another && c.confidence >= super::conversation::BURST_ELSE)
            } else {
                !another
            };
            if answers {
                waiting.push((conv, t));
            }
        }
        Ok(match waiting.len() {
            0 => ChannelAnswer::None,
            1 => ChannelAnswer::One(Box::new(waiting.remove(0).0)),
            // The one in the category it names ("nvm about the vpn", "the printer one didn't work"); else an
            // explicit "nvm" is left to the withdrawal, which picks its ticket the same way; else ("that fixed it",
            // probe E: it was taken as "nvm" on the newest) they are asked which.
            _ => {
                let named: Vec<usize> = (0..waiting.len()).filter(|&i| waiting[i].1.category == c.category).collect();
                if named.len() == 1 {
                    ChannelAnswer::One(Box::new(waiting.swap_remove(named[0]).0))
                } else if chat::never_mind(text) {
                    ChannelAnswer::None
                } else {
                    ChannelAnswer::Which(waiting.into_iter().map(|(_, t)| t).collect())
                }
            }
        })
    }

    /// If `text` answers an open `ask` step of this person's walkthrough (on `ticket`'s thread, or their latest
    /// walkthrough in a DM), applies it; at a step waiting for a button, typed text that reads as one presses it
    /// (and, written in the ticket's thread, `in_thread`, anything else shows the buttons again).
    pub(super) async fn try_walk_answer(
        &self,
        env: &crate::core::message::Envelope,
        ticket: Option<TicketNo>,
        in_thread: bool,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let me = env.actor.key();
        let ticket_arg = ticket;
        let candidates = match ticket {
            Some(n) => self.store.conversation_for_ticket(n).await?.into_iter().collect::<Vec<_>>(),
            None if env.place.dm => self.store.conversations_of(&me).await?,
            // In the channel, not the thread (#33): the answer to the question they were just asked, unless it says
            // it is about something else ("unrelated, but …").
            None if !crate::core::conversation::unrelated(text) => self.store.conversations_of(&me).await?,
            None => vec![],
        };
        let mut candidates: Vec<_> = candidates.into_iter().filter(|c| c.owner == me).collect();
        // The question asked last is the one answered.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.ticket.map(|n| n.0)));
        if ticket.is_none() && !env.place.dm {
            candidates = match self.channel_answer_for(env, candidates, text, now).await? {
                ChannelAnswer::None => vec![],
                ChannelAnswer::One(conv) => vec![*conv],
                ChannelAnswer::Which(tickets) => {
                    let list: Vec<String> =
                        tickets.iter().map(|t| format!("{} ({})", t.number, quote(&t.title))).collect();
                    let msg = format!(
                        "You have {} walkthroughs going: {}. Which one is that about? Answer in its thread, or press \
                         its buttons.",
                        tickets.len(),
                        list.join(" and ")
                    );
                    w.send(Outbound::to_user(&env.actor, &super::reply_place(env), msg));
                    return Ok(Some(Flow::Ok));
                }
            };
        }
        // In a DM that holds several joiners' or leavers' questions (one message named several people, probe P:
        // "Sue's mail and files to Jo Park" went to Ahmed's ticket): the one whose person it names; else asked which.
        if ticket.is_none() && env.place.dm {
            let mut named_walks: Vec<(Conversation, String)> = vec![];
            for conv in &candidates {
                let Some(wt) = decode(conv).filter(|wt| wt.ended.is_none()) else { continue };
                let Some(name) = wt.answers.get("name") else { continue };
                let Some(t) = (match conv.ticket {
                    Some(n) => self.store.ticket(n).await?,
                    None => None,
                }) else {
                    continue;
                };
                if t.origin.place.dm && t.origin.place.channel == env.place.channel {
                    named_walks.push((conv.clone(), name.clone()));
                }
            }
            if named_walks.len() > 1 {
                let said: Vec<&(Conversation, String)> =
                    named_walks.iter().filter(|(_, name)| names_person(text, name)).collect();
                if let [(conv, _)] = said.as_slice() {
                    candidates = vec![conv.clone()];
                } else {
                    let list: Vec<String> =
                        named_walks.iter().filter_map(|(c, name)| c.ticket.map(|n| format!("{n} ({name})"))).collect();
                    let msg = format!(
                        "Your questions for {} people are waiting here: {}. Which one is that about? Start with their \
                         name (\"{}: …\").",
                        named_walks.len(),
                        list.join(", "),
                        named_walks[0].1.split_whitespace().next().unwrap_or_default()
                    );
                    w.send(Outbound::to_user(&env.actor, &super::reply_place(env), msg));
                    return Ok(Some(Flow::Ok));
                }
            }
        }
        for conv in candidates {
            let Some(mut wt) = decode(&conv) else { continue };
            let Some(rb) = self.runbooks.get(&wt.runbook) else { continue };
            let Some(step) = rb.step(&wt.step).filter(|_| wt.ended.is_none()) else { continue };
            let ticket = match conv.ticket {
                Some(n) => self.store.ticket(n).await?,
                None => None,
            };
            // "nvm", "cancel that", and for a joiner or a leaver "she's staying", are no answer and press no button
            // (#33 probe: "nvm, she is staying" became the leaver's handover person): the message goes on to be
            // what it is, a withdrawal, which offers to close the ticket.
            let lifecycle = ticket.as_ref().is_some_and(super::conversation::is_lifecycle);
            let typed = runbook::read_typed(rb, &wt, text);
            let fixed_words = matches!(typed, runbook::Typed::Fixed)
                || matches!(typed, runbook::Typed::Button(i) if step.buttons.get(i).is_some_and(|b| b.next == runbook::FIXED));
            // "no jam" at "does its screen show a jam?" is its button [No jam, …], not "the jam is gone" (probe I:
            // "Glad it's sorted! Shall I close #1?").
            let a_button = matches!(typed, runbook::Typed::Button(_));
            let withdrawal = (lifecycle && chat::cancels_lifecycle(text))
                || chat::is_withdrawal(text)
                    && (step.ask.is_some() || chat::never_mind(text) || !fixed_words && !a_button);
            // "it's back up now" before any step was tried: it came back by itself, which is no fix by
            // self-service (probe K: closed "as fixed by you" and counted as deflected); offered to close instead.
            let came_back = typed == runbook::Typed::Fixed
                && !wt.tried()
                && (chat::is_withdrawal(text) || chat::signals(text).recovered);
            if came_back && let Some(mut t) = ticket.clone().filter(|t| t.state.is_active()) {
                self.offer_to_close(&env.actor, &mut t, text, now, w);
                w.commit.updates.push(t);
                return Ok(Some(Flow::Ok));
            }
            if withdrawal && typed != runbook::Typed::Person {
                return Ok(None);
            }
            // Outside the thread a step waiting for a button takes only what reads as a reply to it, and in a DM
            // only a walkthrough running in that DM ("thanks!!" in a DM is no answer to a printer step).
            // In its thread, anything else is shown the buttons again while nobody in IT is on the ticket yet; once
            // a technician is (a question to the requester, an owner), it is their conversation.
            let in_dm_of_other = env.place.dm && !ticket.as_ref().is_some_and(|t| t.origin.place.dm);
            let untouched = ticket.as_ref().is_some_and(|t| t.state == State::New && t.owner.is_none());
            let other_here = ticket_arg.is_some() && in_thread && untouched;
            if step.ask.is_none()
                && (typed == runbook::Typed::Other && !other_here || ticket_arg.is_none() && in_dm_of_other)
            {
                continue;
            }
            if step.ask.is_none() || typed == runbook::Typed::Person || typed == runbook::Typed::Later {
                // At a step that waits for a button, typed text is read as one (or the buttons are shown again),
                // and kept in the transcript either way (#33 probe).
                return Ok(Some(match runbook::typed(rb, &mut wt, text, typed, &self.settings.runbook_vars, now) {
                    Ok(outcome) => self.walk_outcome(&conv, wt, outcome, now, w).await?,
                    Err(e) => Flow::Refused(e.to_string().into()),
                }));
            }
            // A new date said while another question waits: the date changes, the question is asked again.
            if let Some(t) = ticket.as_ref()
                && let Some((field, new, said)) = self.date_corrected(rb, &wt, t, text, now)
            {
                wt.answers.insert(field, new);
                let place = super::reply_place(env);
                w.send(Outbound::to_user(&env.actor, &place, said).about(t.number));
                return Ok(Some(match runbook::view(rb, &wt, &self.settings.runbook_vars) {
                    Ok(view) => self.walk_outcome(&conv, wt, Outcome::Show { view }, now, w).await?,
                    Err(e) => Flow::Refused(e.to_string().into()),
                }));
            }
            // A date the ticket is worked to (a leaver's access end, a joiner's first day) must read as one: if it
            // doesn't, the step is asked again and nothing is lost.
            let dated = ticket
                .as_ref()
                .and_then(|t| self.read_dated_answer(rb, &wt, t, text, now))
                .or_else(|| self.read_name_answer(rb, &wt, text));
            let text = match dated {
                Some(Ok(read)) => read,
                Some(Err(again)) => {
                    let place = super::reply_place(env);
                    let mut m = Outbound::to_user(&env.actor, &place, again);
                    if let Some(n) = conv.ticket {
                        m = m.about(n);
                    }
                    w.send(m);
                    return Ok(Some(Flow::Ok));
                }
                None => text.to_string(),
            };
            let text = text.as_str();
            return Ok(Some(match runbook::answer(rb, &mut wt, text, &self.settings.runbook_vars, now) {
                Ok(outcome) => self.walk_outcome(&conv, wt, outcome, now, w).await?,
                Err(e) => Flow::Refused(e.to_string().into()),
            }));
        }
        Ok(None)
    }

    /// Applies what a step led to: the next step, a reminder, fixed or hand-off.
    async fn walk_outcome(
        &self,
        conv: &Conversation,
        wt: Walkthrough,
        outcome: Outcome,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let Some(mut t) = (match conv.ticket {
            Some(n) => self.store.ticket(n).await?,
            None => None,
        }) else {
            w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
            return Ok(Flow::Ok);
        };
        let requester = t.requester.clone();
        if let Some(into) = t.merged_into {
            // Merged while the walkthrough ran (its buttons from before the merge): nothing more happens on it.
            w.events(t.number, vec![self.walk_event(&wt, "handoff", Some(format!("merged into {into}")), now)]);
            w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
            w.send(Outbound::to_user(&requester, &t.origin.place, merged_away(t.number, into)).about(t.number));
            return Ok(Flow::Ok);
        }
        if !matches!(outcome, Outcome::Show { .. } | Outcome::Remind { .. } | Outcome::Wait { .. }) {
            // Ended: what it collected stays on the ticket for the technician, and its clocks start now.
            t.walk_record = Some(WalkRecord::of(&wt, self.settings.timezone));
            t.end_self_service(now);
        }
        match outcome {
            Outcome::Show { view } | Outcome::Remind { view } => {
                w.send(self.step_message(&t, &view));
                w.commit.conversations.push(put(Some(conv), &t, &wt));
                // An access end answered as "immediately" (or a moment gone) makes a leaver urgent now, not at the
                // hand-off (probe M: a dismissal stayed P4 with no card for two hours, and reached the queue late).
                if let Some(rb) = self.runbooks.get(&wt.runbook) {
                    let before = t.priority;
                    // (It records the priority change only when there is one.)
                    if let Some(urgent) = self.access_ends_now(rb, &mut t, &wt.answers, now, w)
                        && t.priority < before
                    {
                        self.policies.apply(&mut t);
                        let needs_approval = rb.needs_approval_from(self.role_of(&requester));
                        self.tell_urgent_leaver(rb, &t, urgent, needs_approval, now, w);
                        w.commit.updates.push(t);
                    }
                }
                return Ok(Flow::Ok);
            }
            Outcome::Wait { text } => {
                w.send(Outbound::to_user(&requester, &t.origin.place, text).about(t.number));
                w.commit.conversations.push(put(Some(conv), &t, &wt));
                return Ok(Flow::Ok);
            }
            Outcome::Fixed { .. } => {
                let note = format!("Fixed by self-service: {}", wt.title);
                let ev = match t.resolve(&requester, Some(&note), true, now) {
                    Ok(ev) => ev,
                    Err(e) => return Ok(Flow::Refused(Refusal::from(e))),
                };
                w.events(t.number, ev);
                let ended = self.walk_event(&wt, "fixed", None, now);
                t.walk_ended(&ended);
                w.events(t.number, vec![ended]);
                let msg = format!(
                    "Great, glad that worked! I've closed {} as fixed by you. If it comes back in the next {}, press Still broken.",
                    t.number,
                    human(REOPEN_DEFLECTED_WITHIN)
                );
                w.send(
                    Outbound::to_user(&requester, &t.origin.place, msg)
                        .with_buttons(vec![Button::new("Still broken", command::action("reopen", t.number))])
                        .about(t.number),
                );
                self.tell_merged(&t, "", w);
            }
            Outcome::NoAction { .. } => {
                let note = format!("No IT action needed: {}", wt.title);
                let ev = match t.resolve(&requester, Some(&note), false, now) {
                    Ok(ev) => ev,
                    Err(e) => return Ok(Flow::Refused(Refusal::from(e))),
                };
                t.no_it_action = true;
                w.events(t.number, ev);
                let ended = self.walk_event(&wt, "no_action", None, now);
                t.walk_ended(&ended);
                w.events(t.number, vec![ended]);
                let msg = format!(
                    "OK, nothing for IT to do then: I've closed {} as resolved. If you do need us after all, press \
                     Reopen or write here.",
                    t.number
                );
                w.send(
                    Outbound::to_user(&requester, &t.origin.place, msg)
                        .with_buttons(vec![Button::new("Reopen", command::action("reopen", t.number))])
                        .about(t.number),
                );
                self.tell_merged(&t, "", w);
            }
            Outcome::Handoff { reason, approval, priority, .. } => {
                w.events(t.number, vec![self.walk_event(&wt, "handoff", Some(reason.clone()), now)]);
                // A leaver raised by a manager needs no manager to approve it (`approval.unless_raised_by`).
                let rb = self.runbooks.get(&wt.runbook);
                let approval =
                    approval.filter(|_| rb.is_none_or(|rb| rb.needs_approval_from(self.role_of(&requester))));
                let dated = match rb {
                    Some(rb) => self.apply_work_date(rb, &wt, &mut t, now, w),
                    None => vec![],
                };
                if let Some(p) = priority {
                    self.walk_raises_priority(&mut t, p, now, w);
                }
                if let Some(req) = &approval {
                    // Nobody in IT may act until it is decided: its clocks pause until then (#33 probe).
                    t.await_approval(&req.approver, now);
                }
                self.policies.apply(&mut t);
                let due = t.first_response_due.map(|d| format!(" They'll respond by {}.", self.fmt_time(d)));
                if let Some(req) = &approval {
                    // The requester's answers, each on one line with nothing hidden and marked as quoted (escaped
                    // for the platform): they cannot fake lines, or bold "Pre-approved by the CFO", in the approver's
                    // message.
                    let details: Vec<String> = req
                        .details
                        .iter()
                        .map(|(k, v)| match crate::core::ids::clean_name_unbounded(v) {
                            v if v.is_empty() => format!("{k}: (not given)"),
                            v => format!("{k}: {}", crate::core::message::quoted(&v)),
                        })
                        .collect();
                    let text = format!(
                        "Approval needed for {} from {} ({}): {}",
                        t.number,
                        requester.shown(),
                        wt.title,
                        details.join("; ")
                    );
                    let said = if self.ask_for_approval(&t, &req.approver, text, w) {
                        format!(
                            "Thanks, I've sent {} for approval ({}). You'll hear here as soon as it's decided.",
                            t.number, req.approver
                        )
                    } else {
                        let (n, who) = (t.number, &req.approver);
                        let theirs = self.role_of(&requester);
                        if theirs.to_string() == *who || theirs == Role::Admin {
                            format!(
                                "{n} needs a {who}'s approval and nobody but you can give it here, so I've asked \
                                 the helpdesk to set up someone who can. You'll hear here as soon as it's decided."
                            )
                        } else {
                            format!(
                                "{n} needs a {who}'s approval and no {who} is set up here yet, so I've asked the \
                                 helpdesk to set one up. You'll hear here as soon as it's decided."
                            )
                        }
                    };
                    w.send(Outbound::to_user(&requester, &t.origin.place, said).about(t.number));
                } else {
                    w.send(
                        Outbound::to_user(&requester, &t.origin.place, {
                            // Nothing pressed or typed: nothing was tried (probe J: "with everything you tried"
                            // after a walkthrough nobody answered).
                            // A request's walkthrough (a leaver, a joiner) tried nothing: it collected details.
                            let with = match rb.map_or(t.ticket_type, |rb| rb.ticket_type) {
                                _ if !wt.tried() => "",
                                crate::core::ticket::TicketType::Request => " with your answers",
                                _ => " with everything you tried",
                            };
                            format!(
                                "Thanks, I've handed {} to a technician{with}.{}",
                                t.number,
                                due.unwrap_or_default()
                            )
                        })
                        .about(t.number),
                    );
                }
                let mut card = self.card(&t, now);
                for line in dated {
                    // Nobody acts on a leaver before it is approved (probe M: the card said both "waiting for a
                    // manager's approval" and "block sign-in straight away").
                    let line = match line.strip_prefix("ACCESS ENDS NOW") {
                        Some(rest) if approval.is_some() => format!(
                            "Access is to end now{}, once a manager approves it: do not act before (you'll be told).",
                            rest.split(':').next().unwrap_or("")
                        ),
                        _ => line,
                    };
                    card.text.push_str(&format!("\n{line}"));
                }
                w.send(card);
            }
        }
        w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// How `text` reads at the current step of `n`'s running self-help walkthrough, when that step waits for a
    /// button (`None`: no such step; a question that wants words takes any text, and requests such as a joiner's
    /// collect answers rather than fix anything).
    /// Whether ticket `n`'s walkthrough is running and waits for a typed answer (an `ask` step): whatever the
    /// requester writes in its thread is that answer (probe K: "every 10 minutes or so, mostly on teams calls" at
    /// "when does it drop?" opened a Teams ticket).
    pub(super) async fn walk_awaits_text(&self, n: TicketNo) -> Result<bool, DeskError> {
        let Some(conv) = self.store.conversation_for_ticket(n).await? else { return Ok(false) };
        let Some(wt) = decode(&conv).filter(|wt| wt.ended.is_none()) else { return Ok(false) };
        Ok(self.runbooks.get(&wt.runbook).and_then(|rb| rb.step(&wt.step)).is_some_and(|s| s.ask.is_some()))
    }

    pub(super) async fn walk_reading(&self, n: TicketNo, text: &str) -> Result<Option<runbook::Typed>, DeskError> {
        let Some(conv) = self.store.conversation_for_ticket(n).await? else { return Ok(None) };
        let Some(wt) = decode(&conv).filter(|wt| wt.ended.is_none()) else { return Ok(None) };
        let Some(rb) = self.runbooks.get(&wt.runbook).filter(|rb| rb.is_self_help()) else { return Ok(None) };
        if rb.step(&wt.step).is_none_or(|s| s.buttons.is_empty()) {
            return Ok(None);
        }
        Ok(Some(runbook::read_typed(rb, &wt, text)))
    }

    /// Tickets this commit changes that are P1 while a self-service walkthrough still runs on them (the requester's
    /// next message made it urgent, a technician raised it) go to the technicians now (#33): a P1 waits on nobody's
    /// self-service. The walkthrough ends as a hand-off (what it collected stays on the ticket), the card goes to
    /// the queue, and the requester is told. Requests (joiner, leaver, approvals) keep asking their questions.
    pub(super) async fn urgent_walks_to_queue(&self, now: Timestamp, w: &mut Work) -> Result<(), DeskError> {
        let mut urgent: Vec<TicketNo> = w
            .commit
            .updates
            .iter()
            .filter(|t| t.priority == Priority::P1 && t.state.is_active() && t.in_self_service())
            .map(|t| t.number)
            .collect();
        urgent.dedup();
        for n in urgent {
            // A walkthrough this very commit moves on or ends is left to what moves it.
            if written(&w.commit.conversations, n).is_some() {
                continue;
            }
            let Some(conv) = self.store.conversation_for_ticket(n).await? else { continue };
            let Some(wt) = decode(&conv).filter(|wt| wt.ended.is_none()) else { continue };
            if !self.runbooks.get(&wt.runbook).is_some_and(|rb| rb.is_self_help()) {
                continue;
            }
            self.end_walk(n, "urgent (P1): handed straight to a technician".to_string(), now, w).await?;
            let Some(t) = w.commit.updates.iter_mut().rev().find(|t| t.number == n) else { continue };
            t.end_self_service(now);
            self.policies.apply(t);
            let t = t.clone();
            let due = t.first_response_due.map(|d| format!(" They'll respond by {}.", self.fmt_time(d)));
            let msg = format!(
                "{} is urgent now, so I've stopped the walkthrough and handed it straight to a technician with what \
                 you tried.{}",
                t.number,
                due.unwrap_or_default()
            );
            w.send(Outbound::to_user(&t.requester, &t.origin.place, msg).about(n));
            w.send(self.card(&t, now));
        }
        Ok(())
    }

    /// A hand-off button with `priority` (mfa-new-phone's "Lost or stolen"): the ticket becomes at least that urgent
    /// (never less, and never over a technician's choice), with its SLA targets following; the requester hears it,
    /// and the hand-off message and card that follow give the new response time and priority.
    fn walk_raises_priority(&self, t: &mut Ticket, to: Priority, now: Timestamp, w: &mut Work) {
        if to >= t.priority {
            return;
        }
        let Some(ev) = t.auto_priority(to, now) else { return };
        w.events(t.number, vec![ev]);
        // The targets are recomputed from the start (the commit schedules the timers of the new ones).
        self.policies.apply(t);
        let msg = format!("{} is now {to}, so it's answered sooner.", t.number);
        w.send(Outbound::to_user(&t.requester, &t.origin.place, msg).about(t.number));
    }

    /// Sends `text` with Approve and Decline to everyone with the `approver` role (never the requester: nobody
    /// decides on their own request), or, with none, to the admins, who may decide any request. With nobody at all
    /// (the only manager's own request, say) the queue hears it without buttons nobody could use, and is told how
    /// it can be decided (#30).
    /// Returns whether anyone was sent the buttons.
    pub(super) fn ask_for_approval(&self, t: &Ticket, approver: &str, text: String, w: &mut Work) -> bool {
        let buttons = vec![
            Button::new("Approve", command::action("approve", t.number)).primary(),
            Button::new("Decline", command::action("decline", t.number)),
        ];
        let role = Role::parse(approver).unwrap_or(Role::Manager);
        let approvers = self.approvers_of(t, approver);
        if approvers.is_empty() {
            let nobody = if [role, Role::Admin].contains(&self.role_of(&t.requester)) {
                format!(
                    "Nobody but {} can approve it here: no other {approver} or admin is set up.",
                    t.requester.shown()
                )
            } else {
                format!("Nobody can approve it here: no {approver} or admin is set up.")
            };
            let text = format!(
                "{text}\n{nobody} Add one (`[roles.<platform>]` in deskbot.toml) and they can decide with /ticket \
                 approve {} or /ticket decline {}.",
                t.number.0, t.number.0
            );
            w.send(self.to_queue(t.origin.platform, text).about(t.number));
            return false;
        }
        for a in approvers {
            let place = crate::core::ids::Place { dm: true, ..self.staff_place() };
            w.send(Outbound::to_user(&a, &place, text.clone()).with_buttons(buttons.clone()).about(t.number));
        }
        true
    }

    /// A request that goes back to waiting for approval (reopened after it was withdrawn): its approvers are asked
    /// again, since the prompt they had may be long gone.
    pub(super) fn ask_again_for_approval(&self, t: &Ticket, approver: &str, w: &mut Work) {
        let text = format!(
            "Approval needed again for {} from {} ({}): it was withdrawn before anyone decided and has been reopened; \
             /ticket show {} has the answers they gave.",
            t.number,
            t.requester.shown(),
            quote(&t.title),
            t.number.0
        );
        self.ask_for_approval(t, approver, text, w);
    }

    /// Ends the ticket's walkthrough, if one is running, because a technician took the ticket over. A request that
    /// needs approval keeps its walkthrough (a technician's reply does not skip the approval; see
    /// [`Desk::before_approval`] for what waits).
    pub(super) async fn end_walk_taken_over(
        &self,
        n: TicketNo,
        by: &crate::core::ids::UserRef,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        if self.approval_walk_running(n).await?.is_some() {
            return Ok(());
        }
        self.end_walk(n, format!("{} took the ticket over", by.name), now, w).await
    }

    /// Ends the ticket's walkthrough, if one is running, recording why (no message to the requester).
    pub(super) async fn end_walk(
        &self,
        n: TicketNo,
        reason: String,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        if let Some(conv) = self.store.conversation_for_ticket(n).await?
            && let Some(mut wt) = decode(&conv)
        {
            w.events(n, vec![self.walk_event(&wt, "handoff", Some(reason.clone()), now)]);
            // What it collected so far stays on the ticket, when this commit writes it (before or after this call:
            // a major incident is written after its walkthrough ends).
            wt.ended = Some(runbook::Ending::Handoff { reason });
            w.ended_walks.push((n, WalkRecord::of(&wt, self.settings.timezone)));
            w.settle();
            w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        }
        Ok(())
    }

    fn walk_event(&self, wt: &Walkthrough, outcome: &str, reason: Option<String>, now: Timestamp) -> Event {
        Event {
            at: now,
            actor: None,
            kind: EventKind::Runbook {
                runbook: wt.runbook.clone(),
                outcome: outcome.to_string(),
                reason,
                transcript: runbook::transcript_text(wt, self.settings.timezone),
            },
        }
    }

    /// Step timeouts that fell due: a reminder, then a hand-off. Each is committed once (keyed by its deadline).
    pub(super) async fn walk_timeouts(&self, now: Timestamp) -> Result<usize, DeskError> {
        let mut done = 0;
        for conv in self.store.due_conversations(now, 100).await? {
            if Self::is_notice(&conv) {
                done += self.flush_notices(&conv, now).await?;
                continue;
            }
            if Self::is_unsure(&conv) {
                done += self.remind_unsure(&conv, now).await?;
                continue;
            }
            let Some(mut wt) = decode(&conv) else { continue };
            let deadline = conv.deadline.map(|d| d.timestamp_millis()).unwrap_or(0);
            let mut w = Work::new(Commit {
                dedupe_key: Some(format!("{}:timeout:{deadline}", conv.key)),
                at: Some(now),
                ..Commit::default()
            });
            // "Shall I close #N?" waits (the person said it is fixed): no reminder and no hand-off meanwhile (probe
            // J: it reminded, then handed off a ticket the person was about to close). Looked at again one step
            // timeout later; once the offer is answered or has expired, the walkthrough goes on as before.
            if let Some(n) = conv.ticket
                && let Some(t) = self.store.ticket(n).await?
                && t.state.is_active()
                && t.close_offered.is_some_and(|at| now - at <= super::workflow::QUESTION_EXPIRY)
                && let Some(step) = self.runbooks.get(&wt.runbook).and_then(|rb| rb.step(&wt.step))
            {
                wt.deadline = Some(now + step.timeout().unwrap_or_else(|| chrono::Duration::minutes(30)));
                w.commit.conversations.push(put(Some(&conv), &t, &wt));
                done += self.commit_timeout(w).await?;
                continue;
            }
            let outcome = self
                .runbooks
                .get(&wt.runbook)
                .and_then(|rb| runbook::tick(rb, &mut wt, &self.settings.runbook_vars, now));
            let flow = match outcome {
                Some(o) => self.walk_outcome(&conv, wt, o, now, &mut w).await?,
                None => {
                    // Nothing to do at this deadline (the runbook changed): stop looking at it.
                    let mut c = conv.clone();
                    c.deadline = None;
                    w.commit.conversations.push(ConversationWrite::Put(c));
                    Flow::Ok
                }
            };
            if let Flow::Refused(_) = flow {
                continue;
            }
            done += self.commit_timeout(w).await?;
        }
        Ok(done)
    }

    /// Commits what a timeout did: 1 when written, 0 when another replica did it first.
    async fn commit_timeout(&self, mut w: Work) -> Result<usize, DeskError> {
        self.schedule(&mut w.commit);
        match self.commit(w.commit).await {
            Ok(Committed::Written) => Ok(1),
            Ok(Committed::Duplicate) => Ok(0),
            Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// What the requester of a ticket merged into another hears when they press one of its walkthrough's buttons.
fn merged_away(n: TicketNo, into: TicketNo) -> String {
    format!(
        "{n} was merged into {into}, so its walkthrough has ended; the conversation continues on {into}: you'll hear \
         when it is resolved, and you can add to it in {into}'s thread."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ticket::{Priority, TicketType};

    fn classified(intent: Option<&str>, confidence: f64, matched: &[&str]) -> Classification {
        Classification {
            category: "endpoint".into(),
            intent: intent.map(str::to_string),
            ticket_type: TicketType::Incident,
            priority: Priority::P3,
            confidence,
            runbook: Some("slow-computer".into()),
            matched: matched.iter().map(|m| m.to_string()).collect(),
            alternatives: vec![],
            not_it: 0.0,
            trouble: false,
            asks: false,
            unfamiliar: false,
            safety: false,
            status_query: false,
        }
    }

    #[test]
    fn a_walkthrough_needs_a_confident_intent_backed_by_its_own_rule() {
        let slow = Some("endpoint.slow_computer");
        let own = "endpoint.slow_computer: \\b(laptop)\\b.{0,40}\\b(slow)";
        let other = "endpoint.peripheral: \\b(charger)\\b.{0,40}\\b(dead)";
        let sure = |c: &Classification| sure_of_intent(c, 0.6, &[]);
        assert!(sure(&classified(slow, 0.95, &[own])));
        // Not confident, or no intent at all.
        assert!(!sure(&classified(slow, 0.55, &[own])));
        assert!(!sure(&classified(None, 0.95, &[own])));
        // Another intent's rules matched as often: it may be about that instead.
        assert!(!sure(&classified(slow, 0.95, &[own, other])));
        // ... unless the runbook serves that intent too.
        assert!(sure_of_intent(&classified(slow, 0.95, &[own, other]), 0.6, &["endpoint.peripheral".to_string()]));
        // Fewer rules of another intent do not outweigh the intent's own.
        assert!(sure(&classified(slow, 0.95, &[own, own, other])));
        // Only another intent's rules matched: the model picked this intent against the rules.
        assert!(!sure(&classified(slow, 0.95, &[other])));
        // No rule at all: the model alone must be sure.
        assert!(!sure(&classified(slow, 0.7, &[])));
        assert!(sure(&classified(slow, MODEL_ONLY_WALK_CONFIDENCE, &[])));
    }
}
