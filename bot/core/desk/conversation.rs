//! Conversation, not single messages: a person's burst of messages is one ticket, a follow-up joins (or asks about)
//! their ticket, a thank-you after a resolution is noted instead of reopening or opening anything, "nvm" offers to
//! close a fresh ticket, and many people reporting one problem become one major incident. The windows are
//! [`ConversationSettings`]; every decision reads the store, so it holds across restarts and replicas.

use super::{Desk, DeskError, Flow, Refusal, Work, quote, reply_place};
use crate::core::conversation::{self as conv, ConversationSettings};
use crate::core::ids::{Place, TicketNo, UserRef};
use crate::core::message::{Button, Envelope, MessageKind, Outbound};
use crate::core::recurring;
use crate::core::ticket::{Priority, State, Ticket, TicketType, Timestamp};
use crate::core::triage::{Classification, Decision};
use crate::store::Store;

/// Button action prefix for the "nvm" offer: `conv:close:N`, `conv:keep:N`.
pub(super) const ACTION_PREFIX: &str = "conv:";

/// How long after a major incident is resolved an affected person's message where they reported it still
/// belongs to it (a thank-you is noted, "still down for me" opens a linked ticket).
const AFFECTED_REPLY_HORIZON: chrono::Duration = chrono::Duration::days(7);

/// A follow-up of a closed ticket keeps its category unless triage is at least this sure of another.
const CLEARLY_ELSE: f64 = 0.8;

impl<S: Store> Desk<S> {
    fn windows(&self) -> &ConversationSettings {
        &self.settings.conversation
    }

    /// A message outside any ticket's thread, before triage: a message in the thread where an affected person
    /// reported a major incident, a thank-you after a resolution, "nvm" on a fresh ticket, or the next message of
    /// a burst (joining the ticket or the question the burst started). `open` is the requester's active tickets.
    pub(super) async fn before_triage(
        &self,
        env: &Envelope,
        text: &str,
        open: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if env.place.thread.is_some()
            && let Some(flow) = self.affected_thread_message(env, text, now, w).await?
        {
            return Ok(Some(flow));
        }
        if conv::is_gratitude(text) {
            // Thanks never join a ticket or open one; noted on the ticket just resolved, if any.
            return Ok(self.thanks_after_resolution(env, text, now, w).await?.then_some(Flow::Ok));
        }
        let recent =
            |t: &&Ticket, window: chrono::Duration| now - t.last_requester_at.unwrap_or(t.created_at) <= window;
        if on(self.windows().withdraw_window)
            && conv::is_withdrawal(text)
            && let Some(t) =
                open.iter().rev().find(|t| !t.major && now - t.created_at <= self.windows().withdraw_window)
        {
            // Recorded on the ticket like a message in its thread; `thread_message` then makes the offer.
            let mut t = t.clone();
            let mut in_thread = env.clone();
            in_thread.place = t.origin.place.clone();
            return Ok(Some(self.thread_message(&in_thread, &mut t, text, now, w)));
        }
        let here = reply_place(env);
        let burst = open
            .iter()
            .rev()
            .filter(|t| t.origin.platform == env.actor.platform)
            .filter(|t| t.origin.place.channel == here.channel && t.origin.place.dm == here.dm)
            .find(|t| on(self.windows().burst_window) && recent(t, self.windows().burst_window));
        if let Some(t) = burst {
            let mut t = t.clone();
            return Ok(Some(self.add_to_ticket(env, &mut t, text, now, w)));
        }
        if on(self.windows().burst_window)
            && self.join_pending_question(env, text, now, self.windows().burst_window, w).await?
        {
            return Ok(Some(Flow::Ok));
        }
        Ok(None)
    }

    /// Adds the requester's message to their ticket (the owner is told, as for a message in its thread) and says
    /// where it went.
    fn add_to_ticket(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) -> Flow {
        let mut in_thread = env.clone();
        in_thread.place = t.origin.place.clone();
        let flow = self.thread_message(&in_thread, t, text, now, w);
        if matches!(flow, Flow::Ok) {
            w.send(Outbound::to_user(&env.actor, &reply_place(env), conv::added_to(t.number)).about(t.number));
        }
        flow
    }

    /// After triage, before a new ticket: a follow-up ("also …") or a message in the category of a ticket the
    /// person raised within the follow-up window joins it or asks "Is this about #N?"; otherwise an open ticket
    /// whose words look alike is asked about. Returns true when the message was taken care of.
    pub(super) fn follow_up(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        open: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> bool {
        let window = self.windows().follow_up_window;
        if !on(window) {
            return self.ask_if_same(env, text, &c.category, open, w);
        }
        let vague = c.category == "other" || c.confidence < self.settings.triage.confident;
        // Of the person's tickets in the window, the one in this message's category, else the newest.
        let in_window: Vec<&Ticket> =
            open.iter().rev().filter(|t| now - t.last_requester_at.unwrap_or(t.created_at) <= window).collect();
        let recent = in_window.iter().find(|t| !vague && t.category == c.category).or(in_window.first()).copied();
        if conv::is_follow_up(text) {
            match recent {
                Some(t) if t.category == c.category || vague => {
                    let mut t = t.clone();
                    // A refusal cannot happen on an active ticket's requester message; keep the flow anyway.
                    if let Flow::Refused(r) = self.add_to_ticket(env, &mut t, text, now, w) {
                        w.send(Outbound::to_user(&env.actor, &reply_place(env), r.text).kind(MessageKind::Ephemeral));
                    }
                    return true;
                }
                Some(t) => {
                    self.ask_about(env, text, t, w);
                    return true;
                }
                None => {
                    if let Some(t) = open.last() {
                        self.ask_about(env, text, t, w);
                        return true;
                    }
                }
            }
        } else if let Some(t) = recent.filter(|t| t.category == c.category && !vague) {
            self.ask_about(env, text, t, w);
            return true;
        }
        self.ask_if_same(env, text, &c.category, open, w)
    }

    /// The person thanked us outside a ticket's thread: noted on their ticket resolved within the thanks window.
    async fn thanks_after_resolution(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        if !on(self.windows().thanks_window) {
            return Ok(false);
        }
        let since = now - self.windows().thanks_window;
        let Some(mut t) = self.store.resolved_since(&env.actor.key(), since).await?.into_iter().next() else {
            return Ok(false);
        };
        self.note_thanks(env, &mut t, text, now, w);
        Ok(true)
    }

    /// Records a thank-you on a resolved ticket (it stays resolved) and answers it.
    pub(super) fn note_thanks(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let ev = t.thanked(&env.actor, text, now);
        w.events(t.number, vec![ev]);
        w.send(Outbound::to_user(&env.actor, &reply_place(env), conv::welcome(t.number)).about(t.number));
        w.commit.updates.push(t.clone());
    }

    /// "nvm" on a fresh ticket: offer to close it.
    pub(super) fn offer_to_close(&self, who: &UserRef, t: &Ticket, w: &mut Work) {
        w.send(Outbound::to_user(who, &t.origin.place, conv::offer_to_close(t.number)).about(t.number).with_buttons(
            vec![
                Button::new("Close it", format!("{ACTION_PREFIX}close:{}", t.number.0)).primary(),
                Button::new("Keep it open", format!("{ACTION_PREFIX}keep:{}", t.number.0)),
            ],
        ));
    }

    /// Whether a message in a ticket's thread from its requester is "nvm" soon enough after raising it.
    pub(super) fn withdraws(&self, t: &Ticket, text: &str, now: Timestamp) -> bool {
        let window = self.windows().withdraw_window;
        // A major incident is everyone's: one person's "nvm, it's back for me" must not close it for the others.
        on(window) && t.state.is_active() && !t.major && now - t.created_at <= window && conv::is_withdrawal(text)
    }

    /// The answer to "Shall I close #N?".
    pub(super) async fn on_conversation_action(
        &self,
        env: &Envelope,
        action: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let rest = action.trim_start_matches(ACTION_PREFIX);
        let (verb, n) = rest.split_once(':').unwrap_or((rest, ""));
        let Some(n) = TicketNo::parse(n).filter(|_| matches!(verb, "close" | "keep")) else {
            return Ok(Flow::Refused(format!("unknown button `{action}`").into()));
        };
        let mut t = match self.load(n).await? {
            Ok(t) => t,
            Err(r) => return Ok(Flow::Refused(r)),
        };
        if !t.requester.same_person(&env.actor) {
            return Ok(Flow::Refused(Refusal {
                text: format!("only the person who raised {n} can answer that"),
                audit: Some((n, format!("withdraw-{verb}"))),
            }));
        }
        if !t.state.is_active() {
            return Ok(Flow::Refused(format!("{n} is already {}.", t.state).into()));
        }
        let here = t.origin.place.clone();
        if verb == "keep" {
            let owner = t.owner.as_ref().map(|o| o.name.as_str());
            w.send(Outbound::to_user(&env.actor, &here, conv::kept_open(n, owner)).about(n));
            return Ok(Flow::Ok);
        }
        match t.withdraw(&env.actor, None, now) {
            Ok(ev) => w.events(n, ev),
            Err(e) => return Ok(Flow::Refused(e.into())),
        }
        self.end_walk(n, format!("{} closed the ticket", env.actor.name), now, w).await?;
        if let Some(owner) = &t.owner {
            let place = Place { dm: true, ..self.staff_place() };
            w.send(Outbound::to_user(owner, &place, conv::requester_closed(&env.actor.name, n)).about(n));
        }
        w.send(Outbound::to_user(&env.actor, &here, conv::closed_for_you(n)).about(n));
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    // -----------------------------------------------------------------------------------------------------------
    // Major incidents

    /// Whether `t` is the same kind of problem as `text`, classified `c`: a fault (requests are never an
    /// outage) in the same category and the same intent or outage group ("internet is down" and "wifi's dead" are
    /// one outage; a message with no intent matches on its category, but never `other`), and no two different
    /// places ("printer on floor 2" and "printer on floor 3" are two problems; a message naming no place matches
    /// any).
    fn same_kind(&self, t: &Ticket, c: &Classification, text: &str) -> bool {
        if c.category == "other" || c.category == "none" || t.category != c.category {
            return false;
        }
        if c.ticket_type != TicketType::Incident || t.ticket_type != TicketType::Incident {
            return false;
        }
        let places = (recurring::place(&t.description), recurring::place(text));
        let same_place = match places {
            (Some(a), Some(b)) => a == b,
            // Computers and devices are personal: three laptops failing in ten minutes are three problems unless
            // the reports name one place (the boardroom screen).
            _ => t.category != "endpoint",
        };
        self.same_outage(&t.intent, &c.intent) && same_place
    }

    /// The same intent, or intents of one outage group.
    fn same_outage(&self, a: &Option<String>, b: &Option<String>) -> bool {
        let classifier = self.classifier();
        let group = |i: &Option<String>| i.as_deref().and_then(|i| classifier.outage_group(i));
        a == b || group(a).is_some() && group(a) == group(b)
    }

    /// A confident report of the same kind as an active major incident joins it: the person is added to the
    /// affected people (no ticket, no runbook) and told it is being worked on.
    pub(super) async fn join_major(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        if c.confidence < self.settings.triage.confident {
            return Ok(false);
        }
        let Some(mut t) = self.store.active_majors().await?.into_iter().find(|t| self.same_kind(t, c, text)) else {
            return Ok(false);
        };
        self.add_affected(env, &mut t, text, now, w);
        w.commit.updates.push(t);
        Ok(true)
    }

    /// Adds the person to a major incident's affected people (or records their message if they already are one),
    /// tells them and the owner.
    fn add_affected(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let place = reply_place(env);
        let (added, ev) = t.affected_report(&env.actor, &place, text, now);
        w.events(t.number, vec![ev]);
        let reply = if added || t.requester.same_person(&env.actor) {
            conv::we_know(t.number)
        } else {
            conv::already_on_it(t.number)
        };
        w.send(Outbound::to_user(&env.actor, &place, reply).about(t.number));
        if let Some(owner) = &t.owner {
            let staff_dm = Place { dm: true, ..self.staff_place() };
            let msg = format!(
                "{} reported {} too ({} affected): {}",
                env.actor.name,
                t.number,
                conv::people(t.people_affected()),
                quote(text)
            );
            w.send(Outbound::to_user(owner, &staff_dm, msg).about(t.number));
        }
    }

    /// A message in the thread where someone reported an active major incident they are affected by: it goes to
    /// that incident (the owner is told), never to a new ticket.
    async fn affected_thread_message(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let here = &env.place;
        let reported_here = |t: &Ticket| {
            t.affected.iter().any(|a| {
                a.user.same_person(&env.actor) && a.place.channel == here.channel && a.place.thread == here.thread
            })
        };
        if let Some(mut t) = self.store.active_majors().await?.into_iter().find(reported_here) {
            self.affected_message(env, &mut t, text, now, w);
            return Ok(Some(Flow::Ok));
        }
        // After the resolution ("If it's still not working for you, reply here"): thanks are noted; anything else
        // is this person's problem now, a ticket of their own linked to the incident.
        let since = now - AFFECTED_REPLY_HORIZON;
        let Some(mut t) = self.store.majors_resolved_since(since).await?.into_iter().find(reported_here) else {
            return Ok(None);
        };
        if conv::is_gratitude(text) {
            self.note_thanks(env, &mut t, text, now, w);
            return Ok(Some(Flow::Ok));
        }
        Ok(Some(self.follow_up_ticket(env, &t, text, now, w).await?))
    }

    /// A message in the thread of a closed ticket, from anyone but a technician: a thank-you is noted (from the
    /// requester) or let be; anything else is a problem again, and a closed ticket stays closed, so a new ticket
    /// opens, linked to it. Returns None for what the thread handles as before.
    pub(super) async fn closed_thread_message(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let is_requester = t.requester.same_person(&env.actor);
        if t.state != State::Closed || (!is_requester && self.role_of(&env.actor).is_staff()) {
            return Ok(None);
        }
        if conv::is_gratitude(text) || !text.chars().any(char::is_alphanumeric) {
            return Ok(if is_requester { None } else { Some(Flow::Ok) });
        }
        // A ticket folded into a major incident: the follow-up is of the incident.
        let parent = match t.parent {
            Some(p) => self.store.ticket(p).await?,
            None => None,
        };
        Ok(Some(self.follow_up_ticket(env, parent.as_ref().unwrap_or(t), text, now, w).await?))
    }

    /// A new ticket for a problem reported where the old ticket can no longer take it (closed, or a major
    /// incident resolved for everyone else), linked to the old one. It keeps the old ticket's category unless the
    /// message clearly says something else; the old ticket's owner is told.
    async fn follow_up_ticket(
        &self,
        env: &Envelope,
        old: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let mut c = self.classifier().classify(text);
        let same_again = conv::same_again(text);
        if same_again
            || c.decide(&self.settings.triage) != Decision::Ticket
            || c.category == "other"
            || c.confidence < CLEARLY_ELSE
        {
            // "still down for me", "still nothing on my laptop": the old problem unless it clearly names another.
            c.category = old.category.clone();
            c.intent = old.intent.clone();
            c.ticket_type = old.ticket_type;
            // One person's problem after an incident fixed for everyone else is not the incident's urgency.
            c.priority = if old.major { old.priority.max(Priority::P2) } else { old.priority };
            c.confidence = 1.0;
            c.runbook = None;
        }
        if let Some(owner) = &old.owner {
            let staff_dm = Place { dm: true, ..self.staff_place() };
            let msg = format!("{} wrote after {} was {}: {}", env.actor.name, old.number, old.state, quote(text));
            w.send(Outbound::to_user(owner, &staff_dm, msg).about(old.number));
        }
        self.open_ticket_after(env, text, c, Some(old.number), now, w).await?;
        Ok(Flow::Ok)
    }

    /// An affected person's later message on a major incident: recorded, the owner told.
    fn affected_message(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let place = env.place.clone();
        let (_, ev) = t.affected_report(&env.actor, &place, text, now);
        w.events(t.number, vec![ev]);
        if let Some(owner) = &t.owner {
            let staff_dm = Place { dm: true, ..self.staff_place() };
            let msg = format!("{} added to {}: {}", env.actor.name, t.number, quote(text));
            w.send(Outbound::to_user(owner, &staff_dm, msg).about(t.number));
        }
        w.commit.updates.push(t.clone());
    }

    /// A message in the thread of a ticket that was folded into a major incident goes to the major incident.
    pub(super) async fn child_thread_message(
        &self,
        env: &Envelope,
        child: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let Some(parent) = child.parent else { return Ok(None) };
        let Some(mut t) = self.store.ticket(parent).await? else { return Ok(None) };
        if !t.state.is_active() || !child.requester.same_person(&env.actor) {
            return Ok(None);
        }
        self.affected_message(env, &mut t, text, now, w);
        w.send(Outbound::to_user(&env.actor, &reply_place(env), conv::added_to(t.number)).about(t.number));
        Ok(Some(Flow::Ok))
    }

    /// Before opening a ticket for a confident report: if, with it, `major_threshold` different people reported
    /// the same kind of problem within `major_window`, the oldest of their tickets becomes a major incident, the
    /// others are folded into it and this person joins it. Returns true when that happened.
    pub(super) async fn declare_if_many(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        let threshold = self.windows().major_threshold;
        if threshold == 0 || c.confidence < self.settings.triage.confident || c.category == "other" {
            return Ok(false);
        }
        let alike = self.alike_recent(&c.category, |t| self.same_kind(t, c, text), now).await?;
        let mut people: Vec<&UserRef> = vec![&env.actor];
        for t in &alike {
            if !people.iter().any(|p| p.same_person(&t.requester)) {
                people.push(&t.requester);
            }
        }
        if people.len() < threshold {
            return Ok(false);
        }
        let reports = people.len();
        let mut alike = alike.into_iter();
        let Some(mut major) = alike.next() else { return Ok(false) };
        let ev = match major.declare_major(None, reports, now) {
            Ok(ev) => ev,
            Err(_) => return Ok(false),
        };
        w.events(major.number, ev);
        self.fold_children(&mut major, alike.collect(), now, w).await?;
        self.add_affected(env, &mut major, text, now, w);
        self.announce_major(&major, None, now, w);
        w.commit.updates.push(major);
        Ok(true)
    }

    /// The active tickets of the major window in `category` that `keep` accepts (not alerts, not already part of
    /// a major incident), oldest first.
    async fn alike_recent(
        &self,
        category: &str,
        keep: impl Fn(&Ticket) -> bool,
        now: Timestamp,
    ) -> Result<Vec<Ticket>, DeskError> {
        let since = now - self.windows().major_window;
        Ok(self
            .store
            .recent_in_category(category, since)
            .await?
            .into_iter()
            .filter(|t| t.state.is_active() && t.parent.is_none() && t.alert.is_none() && !t.major && keep(t))
            .collect())
    }

    /// Folds earlier reporters' tickets into the major incident: each is closed as part of it, linked, and its
    /// requester joins the affected people and is told.
    async fn fold_children(
        &self,
        major: &mut Ticket,
        children: Vec<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        self.end_walk(major.number, "it became a major incident".to_string(), now, w).await?;
        for mut child in children {
            let Ok(ev) = child.fold_into_major(major.number, now) else { continue };
            w.events(child.number, ev);
            self.end_walk(child.number, format!("part of major incident {}", major.number), now, w).await?;
            if !major.links.contains(&child.number) {
                major.links.push(child.number);
            }
            let (_, ev) = major.affected_report(&child.requester, &child.origin.place, &child.description, now);
            w.events(major.number, vec![ev]);
            w.send(
                Outbound::to_user(
                    &child.requester,
                    &child.origin.place,
                    conv::folded_into_major(child.number, major.number),
                )
                .about(child.number),
            );
            // A technician working the folded ticket hears where it went, unless they own the incident anyway.
            if let Some(owner) = child.owner.as_ref().filter(|o| major.owner.as_ref().is_none_or(|m| !m.same_person(o)))
            {
                let staff_dm = Place { dm: true, ..self.staff_place() };
                w.send(
                    Outbound::to_user(
                        owner,
                        &staff_dm,
                        conv::yours_folded(child.number, major.number, major.owner.as_ref().map(|o| o.name.as_str())),
                    )
                    .about(child.number),
                );
            }
            w.commit.updates.push(child);
        }
        Ok(())
    }

    /// Tells the queue (with the card) and the major incident's requester.
    fn announce_major(&self, t: &Ticket, by: Option<&UserRef>, now: Timestamp, w: &mut Work) {
        let what = conv::kind_of(&t.category, t.intent.as_deref());
        let text = conv::major_declared(
            t.number,
            t.people_affected(),
            &what,
            self.windows().major_window,
            by.map(|u| u.name.as_str()),
        );
        w.send(self.to_queue(t.origin.platform, text).about(t.number));
        w.send(self.card(t, now));
        w.send(self.to_requester(t, conv::became_major(t.number, by.is_some())));
    }

    /// `/ticket major N`: a technician marks the ticket a major incident; recent reports of the same kind are
    /// folded into it.
    pub(super) async fn mark_major(
        &self,
        env: &Envelope,
        t: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let Some(mut t) = t else {
            return Ok(Flow::Refused("that command needs a ticket number".to_string().into()));
        };
        let me = &env.actor;
        let ev = match t.declare_major(Some(me), t.people_affected(), now) {
            Ok(ev) => ev,
            Err(e) => return Ok(Flow::Refused(e.into())),
        };
        w.events(t.number, ev);
        let (category, intent, number) = (t.category.clone(), t.intent.clone(), t.number);
        let alike = self
            .alike_recent(
                &category,
                |x| x.number != number && self.same_outage(&x.intent, &intent) && category != "other",
                now,
            )
            .await?;
        self.fold_children(&mut t, alike, now, w).await?;
        self.announce_major(&t, Some(me), now, w);
        w.send(
            Outbound::to_user(
                me,
                &env.place,
                format!("{} is now a major incident ({} affected).", t.number, conv::people(t.people_affected())),
            )
            .kind(MessageKind::Ephemeral),
        );
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// A public reply or the resolution of a major incident, to every affected person where they reported it.
    pub(super) fn tell_affected(&self, t: &Ticket, text: &str, w: &mut Work) {
        for a in &t.affected {
            w.send(Outbound::to_user(&a.user, &a.place, text).about(t.number));
        }
    }

    /// Whether a resolved ticket's thread message from its requester is a thank-you (it does not reopen).
    pub(super) fn is_thanks_for(&self, t: &Ticket, text: &str) -> bool {
        matches!(t.state, State::Resolved | State::Closed) && conv::is_gratitude(text)
    }
}

/// A window of zero turns its feature off.
fn on(window: chrono::Duration) -> bool {
    window > chrono::Duration::zero()
}
