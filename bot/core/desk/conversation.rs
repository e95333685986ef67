//! Conversation, not single messages: a person's burst of messages is one ticket, a follow-up joins (or asks about)
//! their ticket, a thank-you after a resolution is noted instead of reopening or opening anything, "nvm" offers to
//! close a fresh ticket, and many people reporting one problem become one major incident. The windows are
//! [`ConversationSettings`]; every decision reads the store, so it holds across restarts and replicas.

use super::{After, Desk, DeskError, Flow, Refusal, Work, quote, reply_place};
use crate::core::conversation::{self as conv, ConversationSettings};
use crate::core::ids::{Place, TicketNo, UserRef};
use crate::core::message::{Button, Envelope, MessageKind, Outbound};
use crate::core::recurring;
use crate::core::ticket::{EventKind, Priority, State, Ticket, TicketType, Timestamp};
use crate::core::triage::{Classification, Decision};
use crate::store::Store;

/// Button action prefix for the "nvm" offer: `conv:close:N`, `conv:keep:N`.
pub(super) const ACTION_PREFIX: &str = "conv:";

/// How long after a major incident is resolved an affected person's message where they reported it still
/// belongs to it (a thank-you is noted, "still down for me" opens a linked ticket).
const AFFECTED_REPLY_HORIZON: chrono::Duration = chrono::Duration::days(7);
/// How long after a major incident is resolved "still down for me" in the channel is about it.
const STILL_AFTER_MAJOR: chrono::Duration = chrono::Duration::hours(4);

/// `/ticket major N` folds reports of its kind from at least this far back.
const MANUAL_LOOK_BACK: chrono::Duration = chrono::Duration::hours(1);

/// A follow-up of a closed ticket keeps its category unless triage is at least this sure of another.
const CLEARLY_ELSE: f64 = 0.8;

/// In a burst (or a walkthrough's thread), a message opens a ticket of its own only when triage is at least this
/// sure of another category: above the model-only cap (0.9), so one of the category's rules must agree ("didn't
/// work" alone reads as security at 0.9).
pub(super) const BURST_ELSE: f64 = 0.95;

/// A correction is re-categorised at this confidence even below the ticket threshold: the first reading is known to
/// be wrong, so the best guess of the new one beats keeping it.
const CORRECTION_SURE: f64 = 0.5;

/// How long after raising a ticket (or last writing about it) a correction ("sorry, I meant the mouse") is about it.
const CORRECTION_WITHIN: chrono::Duration = chrono::Duration::hours(2);

/// How long after a report in the channel a bare "same here" there is about it.
const ME_TOO_WITHIN: chrono::Duration = chrono::Duration::hours(1);

/// Categories whose incidents several people share (a network, a printer, a cloud service, an application): a
/// colleague's "same here" in such a ticket's thread joins it. Elsewhere it is their own ticket.
const SHARED_CATEGORIES: &[&str] = &["network", "printing", "saas", "application"];

/// The ticket among `tickets` that `text` names by number ("#12").
pub(super) fn named_by_number<'a>(text: &str, tickets: &'a [Ticket]) -> Option<&'a Ticket> {
    text.match_indices('#').find_map(|(at, _)| {
        let digits: String = text[at + 1..].chars().take_while(char::is_ascii_digit).collect();
        let n = crate::core::ids::TicketNo::parse(&digits)?;
        tickets.iter().find(|t| t.number == n)
    })
}

impl<S: Store> Desk<S> {
    pub(super) fn windows(&self) -> &ConversationSettings {
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
        majors: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        // Where they reported a major incident: in the thread of their report, or in a DM when the message is
        // about it (thanks, "still down", "also …"); a new problem in a DM is a new problem.
        let about_it = || conv::is_gratitude(text) || conv::same_again(text) || conv::is_follow_up(text);
        if (env.place.thread.is_some() || env.place.dm && about_it())
            && let Some(flow) = self.affected_thread_message(env, text, majors, now, w).await?
        {
            return Ok(Some(flow));
        }
        if let Some(flow) = self.me_too_major(env, text, majors, now, w).await? {
            return Ok(Some(flow));
        }
        // The next message of someone just told "We know — #N is being worked on" belongs to #N.
        if let Some(flow) = self.affected_burst(env, text, majors, now, w) {
            return Ok(Some(flow));
        }
        let recent =
            |t: &&Ticket, window: chrono::Duration| now - t.last_requester_at.unwrap_or(t.created_at) <= window;
        // "nvm the printer, it's actually the scanner": what the ticket just raised is about,
        // corrected (before "nvm": it is no withdrawal).
        if let Some(instead) = conv::correction(text)
            && let Some(t) = open
                .iter()
                .rev()
                .filter(|t| t.origin.platform == env.actor.platform)
                .filter(|t| t.origin.place.channel == reply_place(env).channel && t.origin.place.dm == env.place.dm)
                // "sorry i meant the mouse" 50 minutes on is still about the last thing they raised (probe J:
                // silence, nothing recorded).
                .find(|t| recent(t, self.windows().follow_up_window.max(CORRECTION_WITHIN)))
        {
            if let Some(flow) = self.correct_ticket(env, t, text, &instead, now, w).await? {
                return Ok(Some(flow));
            }
            // A correction that cannot change the ticket (a technician has it, or it names no new problem) is
            // still about it: added for whoever has it to read (probe I: "sorry I meant teams not outlook" after a
            // claim was asked "Is this about #1?", and the next correction was taken for an answer to that).
            let mut t = t.clone();
            return Ok(Some(self.add_to_ticket(env, &mut t, text, now, w)));
        }
        // "nvm" first: "nvm its fine now" is also thankful, but it is about the ticket just raised.
        if let Some(t) = self.withdrawn(text, open, now) {
            // Recorded on the ticket like a message in its thread; `thread_message` then makes the offer.
            return Ok(Some(self.in_its_thread(env, t, text, now, w)));
        }
        // "nvm" too late to withdraw by themselves (a technician has it, or the window has passed): recorded on
        // their ticket here and answered with who decides, as in its thread (probe D: silence in the channel).
        if conv::is_withdrawal(text) || open.iter().any(|t| self.never_minds(t, text)) {
            let here = reply_place(env);
            // In a DM, any of theirs (probe E: "fixed it myself, reinstalled teams" in a DM about a ticket raised in
            // the channel opened a second ticket); in a channel, those raised there.
            let mine: Vec<Ticket> = open
                .iter()
                .rev()
                .filter(|t| !t.major && t.origin.platform == env.actor.platform)
                .filter(|t| here.dm || t.origin.place.channel == here.channel && !t.origin.place.dm)
                .cloned()
                .collect();
            if let Some(t) = self.about(text, &mine) {
                return Ok(Some(self.in_its_thread(env, t, text, now, w)));
            }
        }
        if conv::is_gratitude(text) {
            // "thanks @jo for the biscuits" thanks a colleague (probe J: "glad #1 is sorted!").
            if text.contains('@') {
                return Ok(Some(Flow::Ok));
            }
            // Thanks never join a ticket or open one; noted on the ticket just resolved, if any.
            return Ok(self.thanks_after_resolution(env, text, now, w).await?.then_some(Flow::Ok));
        }
        // "jammed again" outside the thread, soon after a fix: the fixed ticket reopens.
        if conv::same_again(text)
            && let Some(flow) = self.broken_again(env, text, now, w).await?
        {
            return Ok(Some(flow));
        }
        let here = reply_place(env);
        // "unrelated but the printer on 3 is out of toner": a second problem, for triage.
        let in_burst: Vec<&Ticket> = open
            .iter()
            .rev()
            .filter(|t| t.origin.platform == env.actor.platform)
            // A detail sent in a DM a minute after a report in the channel is about it (probe J: "it's the left one
            // btw, the dell" was "not an IT problem").
            .filter(|t| here.dm || t.origin.place.channel == here.channel && !t.origin.place.dm)
            .filter(|t| on(self.windows().burst_window) && recent(t, self.windows().burst_window))
            .filter(|_| !conv::unrelated(text))
            .collect();
        let burst = self.burst_ticket(text, &in_burst);
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

    /// The requester corrects what their fresh ticket is about ("nvm the printer, it's actually the scanner that
    /// won't send to email"; probe H: it was added to the printer ticket, whose printer walkthrough went on). While
    /// nobody in IT has touched it and triage is sure what `instead` is about (another category or intent), the
    /// ticket becomes that: category, intent, title and priority (never lowered); a walkthrough about the first
    /// reading ends and the one for the new one, if any, starts. None leaves the message to the burst or triage.
    pub(super) async fn correct_ticket(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        instead: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if t.state != State::New || t.owner.is_some() || t.major || t.alert.is_some() || t.priority_by_staff {
            return Ok(None);
        }
        // "teams not outlook" on "outlook won't open": the title with the one word for the other ("teams won't
        // open"; probe I: "teams not outlook" alone left the Outlook ticket as it was).
        // "oops I meant teams" on the same title: the thing named for the title's own (probe O).
        let swapped = conv::swapped_in(&t.title, instead).or_else(|| conv::thing_swapped(&t.title, instead));
        let instead = swapped.as_deref().unwrap_or(instead);
        let c = self.classifier().classify(instead);
        // The correction must say what is wrong (or ask for something): "wait, it's the other laptop, the dell one
        // in meeting room b" names a device, not a new problem (probe I: it became a meeting-room ticket).
        let says_problem = c.trouble || c.asks || conv::troubled(instead) || conv::has_symptom(instead);
        if !says_problem || c.category == "none" {
            return Ok(None);
        }
        // Fairly sure of another kind of problem: the ticket becomes it. ("sorry, I meant my laptop won't switch on
        // at all and I have a client presentation in 10 min" is endpoint at 0.59; probe J: the mouse title stayed on
        // a P1 card.)
        let another = (c.decide(&self.settings.triage) == Decision::Ticket || c.confidence >= CORRECTION_SURE)
            && c.category != "other"
            && (c.category != t.category || c.intent != t.intent);
        let mut t = t.clone();
        match t.requester_message(&env.actor, text, now) {
            Ok(ev) => w.events(t.number, ev),
            Err(_) => return Ok(None),
        }
        if !another {
            // Same kind, or unsure which: what it is about is what they said now ("sorry i meant the mouse, it double
            // clicks on its own" on a keyboard ticket); category and walkthrough stay.
            t.title = crate::core::ticket::title_from(instead);
            let mut said = format!("Got it: {} is now about {}.", t.number, quote(&t.title));
            if c.priority < t.priority
                && let Some(ev) = t.auto_priority(c.priority, now)
            {
                w.events(t.number, vec![ev]);
                said.push_str(&format!(" It's now {}, so it's answered sooner.", c.priority));
            }
            w.send(Outbound::to_user(&env.actor, &t.origin.place, said).about(t.number));
            w.commit.updates.push(t);
            return Ok(Some(Flow::Ok));
        }
        if let Ok(ev) = t.set_category(&c.category, &env.actor, now) {
            w.events(t.number, ev);
        }
        t.intent = c.intent.clone();
        t.ticket_type = c.ticket_type;
        t.title = crate::core::ticket::title_from(instead);
        if c.priority < t.priority
            && let Some(ev) = t.auto_priority(c.priority, now)
        {
            w.events(t.number, vec![ev]);
        }
        if t.ticket_type == TicketType::Incident {
            t.fingerprint = Some(recurring::fingerprint(&t.category, t.intent.as_deref(), instead));
        }
        let what =
            self.classifier().category(&t.category).map(|c| c.label.clone()).unwrap_or_else(|| t.category.clone());
        let said = format!("Got it: {} is now about {} ({what}).", t.number, quote(&t.title));
        let walk = self.runbook_for(&c, instead).filter(|(rb, _)| t.priority != Priority::P1 || !rb.is_self_help());
        let running = self.store.conversation_for_ticket(t.number).await?;
        match walk {
            Some((rb, first)) => {
                w.send(
                    Outbound::to_user(&env.actor, &t.origin.place, format!("{said} Let's try this instead:"))
                        .about(t.number),
                );
                self.replace_walk(rb, first, &t, running.as_ref(), now, w);
                w.commit.updates.push(t);
            }
            None => {
                w.commit.updates.push(t.clone());
                self.end_walk(t.number, format!("{} said it is about something else", env.actor.name), now, w).await?;
                w.send(
                    Outbound::to_user(
                        &env.actor,
                        &t.origin.place,
                        format!("{said} A technician will take it from here."),
                    )
                    .about(t.number),
                );
                // Off its walkthrough, the ticket reaches the queue now (probe O: the technicians first heard of it
                // from its 75 % SLA warning).
                if running.is_some() {
                    w.send(self.card(&t, now));
                }
            }
        }
        Ok(Some(Flow::Ok))
    }

    /// The ticket of `in_burst` (newest first) the next message of a burst joins: the one in the category the
    /// message clearly names, else the newest, unless the message is clearly a problem of another kind ("my
    /// monitor is flickering" a minute after a printer ticket; probe D: it was "Added to #1"). A joiner or a
    /// leaver takes it anyway: "she'll need a laptop too" is part of the request.
    fn burst_ticket<'a>(&self, text: &str, in_burst: &[&'a Ticket]) -> Option<&'a Ticket> {
        let newest = *in_burst.first()?;
        // Chatter said to the room a minute after a report ("who borrowed the hdmi adapter from room 3?", "love the
        // new coffee machine") is not part of it (probe S: added to the ticket). A joiner's or leaver's details
        // may read as anything.
        let said = conv::signals(text);
        if (said.colleagues || said.praise || said.facilities || said.announcement) && !is_lifecycle(newest) {
            return None;
        }
        let c = self.classifier().classify(text);
        // Someone else's departure or start is its own request ("also Tom Baker's last day is the 20th" two minutes
        // after Priya's leaver; probe O: "Added to #1").
        let lifecycle: Vec<&&Ticket> = in_burst.iter().filter(|t| is_lifecycle(t)).collect();
        if !lifecycle.is_empty() && lifecycle.iter().all(|t| self.another_person(&c, text, t)) {
            return None;
        }
        let clear = c.decide(&self.settings.triage) == Decision::Ticket;
        if let Some(t) = in_burst.iter().find(|t| clear && t.category == c.category) {
            return Some(*t);
        }
        // A detail of the first ("the error says CRITICAL_PROCESS_DIED" reads as an application error at 0.69) is
        // no new problem: only a message triage is all but sure of (`BURST_ELSE`) is one.
        // "to xero" after "can't log in" finishes the sentence before it (probe K: a Xero ticket of its own).
        let another = clear
            && c.confidence >= BURST_ELSE
            && c.category != newest.category
            && newest.category != "other"
            && !conv::continues_sentence(text);
        (is_lifecycle(newest) || !another).then_some(newest)
    }

    /// The ticket a "nvm" outside its thread is about, among those it may withdraw (see [`Desk::withdraws`]: a
    /// fresh one, a request still waiting for its approval however long, a joiner or a leaver called off): the only
    /// one; else a joiner or leaver whose person the message names ("Sarah Connor is staying after all"); else the
    /// one in the category the message names ("nvm about the vpn"), none when it names a category none of them is
    /// in; else the newest (#33 probe: "nvm, she's staying" in the channel was dropped without a word while the
    /// leaver waited for its approval, and then went ahead).
    fn withdrawn<'a>(&self, text: &str, open: &'a [Ticket], now: Timestamp) -> Option<&'a Ticket> {
        let fresh: Vec<&Ticket> = open.iter().rev().filter(|t| self.withdraws(t, text, now)).collect();
        if fresh.len() <= 1 {
            return fresh.first().copied();
        }
        let said = text.to_lowercase();
        let names = |t: &Ticket| {
            let title = t.title.to_lowercase();
            let person = title.split_once(':').map(|(_, p)| p.split(',').next().unwrap_or("")).unwrap_or("");
            person.split_whitespace().any(|w| w.chars().count() >= 3 && said.contains(w))
        };
        let named: Vec<&Ticket> = fresh.iter().copied().filter(|t| is_lifecycle(t) && names(t)).collect();
        if named.len() == 1 {
            return named.first().copied();
        }
        // "nvm the vpn, it's fine now" names the ticket by a word of its title (probe I: the printer ticket raised
        // after it was offered for closing).
        let content: Vec<String> = said
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3 && !conv::is_small_word(w))
            .map(str::to_string)
            .collect();
        let by_title: Vec<&Ticket> = fresh
            .iter()
            .copied()
            .filter(|t| {
                let title = t.title.to_lowercase();
                title.split(|c: char| !c.is_alphanumeric()).any(|w| content.iter().any(|c| c == w))
            })
            .collect();
        if by_title.len() == 1 {
            return by_title.first().copied();
        }
        let c = self.classifier().classify(text);
        let named = c.category != "none" && c.category != "other" && c.confidence >= self.settings.triage.confident;
        if !named {
            return fresh.first().copied();
        }
        fresh.into_iter().find(|t| t.category == c.category)
    }

    /// The ticket a message outside any thread is about among `tickets`: one it names by number ("any update on
    /// #2?"; probe S: both were answered), else the one in the category triage sees in
    /// it (a thank-you's most likely IT category counts: "thanks for fixing the printer"), else the first.
    pub(super) fn about<'a>(&self, text: &str, tickets: &'a [Ticket]) -> Option<&'a Ticket> {
        if let Some(t) = named_by_number(text, tickets) {
            return Some(t);
        }
        if tickets.len() <= 1 {
            return tickets.first();
        }
        let c = self.classifier().classify(text);
        let named = if c.category == "none" || c.category == "other" {
            // A thank-you is `none`, but the device it names still leans its way ("thanks for fixing the printer").
            c.alternatives.first().filter(|a| a.1 >= 0.03).map(|a| a.0.clone())
        } else {
            Some(c.category.clone())
        };
        named.and_then(|cat| tickets.iter().find(|t| t.category == cat)).or(tickets.first())
    }

    /// "it's jammed again" outside the thread within the thanks window of a resolution: that ticket (in the
    /// category the message names, else the latest) reopens as if said in its thread.
    async fn broken_again(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if !on(self.windows().thanks_window) {
            return Ok(None);
        }
        let since = now - self.windows().thanks_window;
        // A ticket they closed themselves a moment ago ("nvm got it" … "wait no, still freezing"; probe F: asked
        // which category, as if new) is theirs to go on with too: its thread follows it up.
        let corrected = |t: &Ticket| {
            t.state == State::Closed
                && t.withdrawn
                && now - t.updated_at <= self.windows().burst_window.max(chrono::Duration::minutes(10))
        };
        let resolved: Vec<Ticket> = self
            .store
            .resolved_since(&env.actor.key(), since)
            .await?
            .into_iter()
            .filter(|t| (t.state == State::Resolved || corrected(t)) && t.parent.is_none())
            .collect();
        let Some(t) = self.about(text, &resolved) else { return Ok(None) };
        if t.state == State::Closed {
            // Closed stays closed: the correction follows it up, as it would in its thread.
            return self.closed_thread_message(&super::in_thread_of(env, t), t, text, now, w).await;
        }
        Ok(Some(self.in_its_thread(env, t, text, now, w)))
    }

    /// Someone added to an active major incident's affected people within the burst window, writing again in the
    /// same place: the message goes to the incident (the owner is told), not to triage.
    fn affected_burst(
        &self,
        env: &Envelope,
        text: &str,
        majors: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Option<Flow> {
        if !on(self.windows().burst_window) || conv::new_topic(text) {
            return None;
        }
        let here = reply_place(env);
        let mut t = majors
            .iter()
            .find(|t| {
                t.affected.iter().any(|a| {
                    a.user.same_person(&env.actor)
                        && a.place.channel == here.channel
                        && a.place.dm == here.dm
                        && now - a.at <= self.windows().burst_window
                })
            })?
            .clone();
        self.affected_message(env, &mut t, text, now, w);
        w.send(Outbound::to_user(&env.actor, &here, conv::added_to(t.number)).about(t.number));
        Some(Flow::Ok)
    }

    /// Adds the requester's message to their ticket (the owner is told, as for a message in its thread) and says
    /// where it went.
    /// A message that makes it more urgent ("payroll has to go out today, the whole team is blocked") raises the
    /// ticket's priority as if it had been said at first.
    pub(super) fn add_to_ticket(
        &self,
        env: &Envelope,
        t: &mut Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Flow {
        let in_thread = super::in_thread_of(env, t);
        let both = format!("{}\n{text}", t.description);
        let urgent = self.classifier().priority_of(t.intent.as_deref(), &both);
        // Once a technician has set the priority, it is theirs: "this is urgent!!" does not override it (#30).
        let raised = t.state.is_active() && urgent < t.priority && !t.priority_by_staff;
        // "sorry, not urgent actually, no rush" from the requester takes the urgency back (probe I: it stayed P2),
        // to what the ticket would be had the first message said so.
        let calmed = t.state.is_active()
            && urgent > t.priority
            && !t.priority_by_staff
            && conv::can_wait(text)
            && t.requester.same_person(&env.actor);
        if (raised || calmed)
            && let Some(ev) = t.auto_priority(urgent, now)
        {
            w.events(t.number, vec![ev]);
        }
        // "help" / "my screen" / "it's all black": the first message that says something names the ticket (probe J:
        // the queue card said "help").
        if t.state == State::New
            && t.requester.same_person(&env.actor)
            && !crate::core::ticket::says_something(&t.title)
            && crate::core::ticket::says_something(text)
        {
            t.title = crate::core::ticket::title_from(text);
        }
        let flow = self.thread_message(&in_thread, t, text, now, w);
        if matches!(flow, Flow::Ok) {
            let mut reply = conv::added_to(t.number);
            if calmed {
                reply = format!("{reply} Noted that it can wait: it's now {urgent}.");
            }
            if raised {
                reply = format!("{reply} It's now {urgent}, so it's answered sooner.");
                if let Some(owner) = &t.owner {
                    let staff_dm = Place { dm: true, ..self.staff_place() };
                    let msg = format!("{} is now {urgent}: {}", t.number, quote(text));
                    w.send(Outbound::to_user(owner, &staff_dm, msg).about(t.number));
                }
            }
            w.send(Outbound::to_user(&env.actor, &reply_place(env), reply).about(t.number));
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
        // "unrelated but …", "and separately …": another matter, whatever it shares with an open ticket.
        if conv::unrelated(text) {
            return false;
        }
        // Someone else joining or leaving is a request of its own, whatever words it shares with open tickets
        // ("Rosa Diaz is leaving on the 1st, please remove her access" after Priya's leaver: "Is this about #4?").
        if !open.is_empty() && open.iter().all(|t| self.another_person(c, text, t)) {
            return false;
        }
        let window = self.windows().follow_up_window;
        if !on(window) {
            return self.ask_if_same(env, text, &c.category, open, w);
        }
        let vague = c.category == "other" || c.category == "none" || c.confidence < self.settings.triage.confident;
        // Of the person's tickets in the window, the one in this message's category, else the newest.
        let in_window: Vec<&Ticket> =
            open.iter().rev().filter(|t| now - t.last_requester_at.unwrap_or(t.created_at) <= window).collect();
        let recent = in_window.iter().find(|t| !vague && t.category == c.category).or(in_window.first()).copied();
        // "outlook is still not opening" an hour later: their ticket in that category, joined within the window and
        // asked about after it.
        if conv::same_again(text)
            && !vague
            && let Some(t) = open.iter().rev().find(|t| t.category == c.category)
        {
            if in_window.iter().any(|x| x.number == t.number) {
                let mut t = t.clone();
                if let Flow::Refused(r) = self.add_to_ticket(env, &mut t, text, now, w) {
                    w.send(Outbound::to_user(&env.actor, &reply_place(env), r.text).kind(MessageKind::Ephemeral));
                }
            } else {
                self.ask_about(env, text, t, w);
            }
            return true;
        }
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
                    // Outside the window: the open ticket in this message's category, else the newest.
                    let same = open.iter().rev().find(|t| !vague && t.category == c.category);
                    if let Some(t) = same.or(open.last()) {
                        self.ask_about(env, text, t, w);
                        return true;
                    }
                }
            }
        } else if let Some(t) = recent.filter(|t| t.category == c.category && !vague) {
            // Someone else joining or leaving is a request of its own ("Sam Lee starts next Monday…" after a leaver:
            // it was asked "Is this about #1?").
            if self.another_person(c, text, t) {
                return false;
            }
            self.ask_about(env, text, t, w);
            return true;
        }
        self.ask_if_same(env, text, &c.category, open, w)
    }

    /// Whether `text` starts a joiner or a leaver for a person `t` does not name: another request, however alike.
    pub(super) fn another_person(&self, c: &Classification, text: &str, t: &Ticket) -> bool {
        let starts_dated = self.runbook_for(c, text).is_some_and(|(rb, _)| rb.ticket_date.is_some());
        // ("Tom Baker and Sue Grey are both leaving": two others, probe O.)
        starts_dated
            && super::dated::people_named(text)
                .iter()
                .any(|p| !t.title.contains(p.as_str()) && !t.description.contains(p.as_str()))
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
        let mut resolved: Vec<Ticket> = vec![];
        for t in self.store.resolved_since(&env.actor.key(), since).await? {
            // A ticket folded into a major incident: the thanks are for the incident.
            let t = match t.parent {
                Some(p) => self.store.ticket(p).await?.unwrap_or(t),
                None => t,
            };
            if !resolved.iter().any(|r| r.number == t.number) {
                resolved.push(t);
            }
        }
        // Major incidents the person was affected by, without a ticket of their own.
        for t in self.store.majors_resolved_since(since).await? {
            if t.affected.iter().any(|a| a.user.same_person(&env.actor))
                && !resolved.iter().any(|r| r.number == t.number)
            {
                resolved.push(t);
            }
        }
        resolved.sort_by_key(|t| std::cmp::Reverse(t.resolved_at));
        let Some(t) = self.about(text, &resolved) else { return Ok(false) };
        let mut t = t.clone();
        self.note_thanks(env, &mut t, text, now, w);
        Ok(true)
    }

    /// Records a thank-you on a resolved ticket (it stays resolved) and answers it.
    pub(super) fn note_thanks(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let ev = t.thanked(&env.actor, text, now);
        w.events(t.number, vec![ev]);
        // Outside a DM only the person sees it: a thread under every "thanks!" in the channel is noise for everyone
        // else (probe O).
        let mut welcome = Outbound::to_user(&env.actor, &reply_place(env), conv::welcome(t.number)).about(t.number);
        if !env.place.dm {
            welcome = welcome.kind(MessageKind::Ephemeral);
        }
        w.send(welcome);
        w.commit.updates.push(t.clone());
    }

    /// "nvm" on a fresh ticket: offer to close it.
    pub(super) fn offer_to_close(&self, who: &UserRef, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        // Part done, it cannot simply be closed: say so instead of offering a button that would refuse (#33 probe).
        if let Some(text) = part_done(t) {
            w.send(Outbound::to_user(who, &t.origin.place, text).about(t.number));
            return;
        }
        // Said twice ("fixed it" … "yep all fixed"): the offer above stands (probe H: two offers, four buttons).
        if t.close_offered.is_some_and(|at| now - at <= super::walk::CHANNEL_ANSWER_WITHIN) {
            let text = format!("Noted. Press Close it above (or say \"yes, close it\") and I'll close {}.", t.number);
            w.send(Outbound::to_user(who, &t.origin.place, text).about(t.number));
            return;
        }
        let offer = if is_lifecycle(t) {
            conv::offer_to_cancel(t.number, &quote(&t.title))
        } else {
            conv::offer_to_close_after(t.number, text)
        };
        w.send(Outbound::to_user(who, &t.origin.place, offer).about(t.number).with_buttons(vec![
            Button::new("Close it", format!("{ACTION_PREFIX}close:{}", t.number.0)).primary(),
            Button::new("Keep it open", format!("{ACTION_PREFIX}keep:{}", t.number.0)),
        ]));
        // The caller stores the ticket: a typed "yes" answers this offer (see `typed_close_reply`).
        t.close_offered = Some(now);
        t.close_offer_after = Some(text.trim().chars().take(200).collect());
    }

    /// A typed "yes" or "keep it open" from the requester while "Shall I close #N?" waits (probe D: "yes" was
    /// stored as the answer to the walkthrough question asked before the offer): pressed as the button would be.
    /// `thread` is the ticket whose thread it was written in; outside a thread, the one offer waiting in this
    /// channel or DM, if there is exactly one, and in a channel only for [`super::walk::CHANNEL_ANSWER_WITHIN`].
    pub(super) async fn typed_close_reply(
        &self,
        env: &Envelope,
        thread: Option<&Ticket>,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<TypedClose, DeskError> {
        // "yes close it, but can you also reset my password": the answer, and then the rest as its own message.
        let (yes, rest) = match conv::typed_close_answer(text) {
            Some(yes) => (yes, None),
            None => match conv::typed_close_answer_and_rest(text) {
                Some((yes, mut rest)) => {
                    // "yes, yes close it, reset my password": the answer once; the rest is read once, below.
                    while let Some((_, more)) = conv::typed_close_answer_and_rest(rest) {
                        rest = more;
                    }
                    if conv::typed_close_answer(rest).is_some() { (yes, None) } else { (yes, Some(rest)) }
                }
                None => return Ok(TypedClose::No),
            },
        };
        // In the channel a bare "yes" may be to anyone, so it answers only a fresh offer; "yes close it" / "keep it
        // open" names what it answers and counts as long as the offer does (probe H: "yes close it" 35 minutes on
        // was ignored).
        let names_it = {
            let l = text.to_lowercase();
            ["close", "keep", "open"].iter().any(|w| l.contains(w))
        };
        let within = if thread.is_some() || env.place.dm || names_it {
            super::workflow::QUESTION_EXPIRY
        } else {
            super::walk::CHANNEL_ANSWER_WITHIN
        };
        let offered_within = |t: &Ticket, within: chrono::Duration| {
            t.requester.same_person(&env.actor)
                && t.state.is_active()
                && t.close_offered.is_some_and(|at| now - at <= within)
        };
        let candidates: Vec<Ticket> = match thread {
            Some(t) => vec![t.clone()],
            None => {
                let (_, open) = self.store.requester_recent(&env.actor.key(), now).await?;
                let here = reply_place(env);
                open.into_iter()
                    .filter(|t| t.origin.platform == env.actor.platform)
                    // In a DM with deskbot, the one offer waiting anywhere (probe I: "yes close it" in a DM about
                    // an offer made in the channel was offered again).
                    .filter(|t| env.place.dm || t.origin.place.channel == here.channel && t.origin.place.dm == here.dm)
                    .collect()
            }
        };
        let offered: Vec<(TicketNo, String)> =
            candidates.iter().filter(|t| offered_within(t, within)).map(|t| (t.number, t.category.clone())).collect();
        let offered = (offered.len() == 1).then(|| offered[0].clone());
        let Some((n, category)) = offered else {
            // "keep it open" once the offer has expired: the ticket is open anyway, so say so (probe I: it was read
            // as a new message and got the category question).
            let expired: Vec<&Ticket> =
                candidates.iter().filter(|t| offered_within(t, chrono::Duration::MAX)).collect();
            // "keep it open, it's stopped again": kept open with what it says (probe J: read as a new message).
            let more_of_it = rest.is_none_or(|r| {
                let said = conv::signals(r);
                said.trouble || said.asks
            });
            if !yes && names_it && more_of_it && expired.len() == 1 {
                let mut t = expired[0].clone();
                let ev = t.kept_open(&env.actor, Some(text), now);
                w.events(t.number, vec![ev]);
                let said = conv::kept_open(t.number, t.owner.as_ref().map(|o| o.name.as_str()));
                w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
                w.commit.updates.push(t);
                return Ok(TypedClose::Done(Flow::Ok));
            }
            return Ok(TypedClose::No);
        };
        // What follows the answer: a problem of another kind is a message of its own once the offer is answered;
        // "the jam is cleared now" adds nothing to the answer; "yes, but tray 2 still jams" says it is not over: the
        // ticket stays open and the rest is read as any message about it would be.
        let other = match rest {
            None => None,
            Some(rest) => {
                let c = self.classifier().classify(rest);
                let said = conv::signals(rest);
                if c.decide(&self.settings.triage) == Decision::Ticket && c.category != category {
                    Some(rest)
                } else if said.trouble || said.asks {
                    return Ok(TypedClose::Instead(rest.to_string()));
                } else {
                    None
                }
            }
        };
        let verb = if yes { "close" } else { "keep" };
        let action = format!("{ACTION_PREFIX}{verb}:{}", n.0);
        let flow = self.on_conversation_action(env, &action, Some(text), now, w).await?;
        match other {
            Some(rest) => Box::pin(self.on_text(env, rest, now, w)).await.map(TypedClose::Done),
            None => Ok(TypedClose::Done(flow)),
        }
    }

    /// A clear problem of another kind written by the requester in the thread of a ticket nobody in IT has touched
    /// yet (its walkthrough may be waiting): "also my outlook isn't syncing" in a printer ticket's thread (probe E:
    /// it became the printer question's answer, or was dropped). It opens its own ticket in the channel, and the
    /// thread is told, so the first ticket's questions go on in its thread.
    pub(super) async fn other_problem_in_thread(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if let Some(flow) = self.another_leaver_in_thread(env, t, text, now, w).await? {
            return Ok(Some(flow));
        }
        // "unrelated but my monitor just went black" says it is another problem, whoever has the ticket and however
        // sure triage is of its kind (probe J: the jam buttons again; on a claimed ticket, filed there silently).
        let unrelated = conv::unrelated(text);
        if !unrelated && (t.state != State::New || t.owner.is_some() || t.category == "other")
            || !t.state.is_active()
            || t.major
            || is_lifecycle(t)
            || env.place.dm
            || !t.requester.same_person(&env.actor)
        {
            return Ok(None);
        }
        if !unrelated && self.walk_awaits_text(t.number).await? {
            return Ok(None);
        }
        let c = self.classifier().classify(text);
        let decision = c.decide(&self.settings.triage);
        let sure = decision == Decision::Ticket && c.confidence >= BURST_ELSE && c.category != t.category;
        if !(sure || unrelated && decision != Decision::NotIt && c.category != "none") {
            return Ok(None);
        }
        let mut top = env.clone();
        top.place.thread = None;
        top.place.message = None;
        if decision == Decision::Ask {
            self.ask_category(&top, text, &c, w);
            let said = format!(
                "That sounds like a separate problem, so I've asked about it in the channel. This thread stays about {}.",
                t.number
            );
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
            return Ok(Some(Flow::Ok));
        }
        let before = w.commit.outbox.len();
        self.open_ticket(&top, text, c, now, w).await?;
        let opened = w.commit.outbox[before..].iter().find_map(|m| m.ticket).filter(|&n| n != t.number);
        if let Some(n) = opened {
            let said = format!(
                "That sounds like a separate problem, so I've opened {n} for it in the channel. This thread stays about {}.",
                t.number
            );
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
        }
        Ok(Some(Flow::Ok))
    }

    /// "Jamal Odum is also leaving, his last day is Friday 20th" in another leaver's (or joiner's) thread, from its
    /// requester: someone else's departure or start, a ticket of its own (probe P: it was stored as the handover
    /// answer), one per person named.
    async fn another_leaver_in_thread(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if !is_lifecycle(t)
            || !t.state.is_active()
            || env.place.dm
            || !t.requester.same_person(&env.actor)
            || !super::dated::departure_or_start(text)
        {
            return Ok(None);
        }
        let people = super::dated::people_named(text);
        let others: Vec<String> = people
            .into_iter()
            .filter(|p| !t.title.contains(p.as_str()) && !t.description.contains(p.as_str()))
            .collect();
        if others.is_empty() || others.len() > super::MAX_PEOPLE_PER_MESSAGE {
            return Ok(None);
        }
        let mut c = self.classifier().classify(text);
        if c.decide(&self.settings.triage) != Decision::Ticket || c.category != t.category {
            c.category = t.category.clone();
            c.intent = t.intent.clone();
            c.ticket_type = t.ticket_type;
            c.priority = self.classifier().priority_of(t.intent.as_deref(), text);
            c.confidence = 1.0;
            c.runbook = None;
        }
        let mut top = env.clone();
        top.place.thread = None;
        top.place.message = None;
        let before = w.commit.inserts.len();
        self.open_ticket_per_person(&top, text, &c, &others, now, w).await?;
        let opened: Vec<String> = w.commit.inserts[before..].iter().map(|n| n.number.to_string()).collect();
        if !opened.is_empty() {
            let said = format!(
                "That's someone else, so {} has a ticket of its own: {}. This thread stays about {}.",
                others.join(" and "),
                opened.join(", "),
                t.number
            );
            w.send(Outbound::to_user(&env.actor, &reply_place(env), said).about(t.number));
        }
        Ok(Some(Flow::Ok))
    }

    /// Whether a message in a ticket's thread from its requester is "nvm" soon enough after raising it. For a joiner
    /// or a leaver, "she's staying" says the same; and a request still waiting for its approval can be withdrawn
    /// however long it has waited, since nobody has acted on it (#33 probe).
    /// "nvm", "fixed it myself", or "nvm about the vpn" when `t` is the VPN ticket (probe I: that asked "Is this
    /// about #1?").
    pub(super) fn never_minds(&self, t: &Ticket, text: &str) -> bool {
        if conv::is_withdrawal(text) {
            return true;
        }
        let named = conv::never_mind_about(text);
        let title = t.title.to_lowercase();
        !named.is_empty() && title.split(|c: char| !c.is_alphanumeric()).any(|w| named.iter().any(|n| n == w))
    }

    pub(super) fn withdraws(&self, t: &Ticket, text: &str, now: Timestamp) -> bool {
        let window = self.windows().withdraw_window;
        let lifecycle = is_lifecycle(t);
        let called_off = lifecycle && conv::cancels_lifecycle(text);
        // A joiner or a leaver called off ("she's staying after all") can be withdrawn until an item is ticked,
        // however long after raising it (`offer_to_close` says so when it is part done); a ticket still in its
        // requester's walkthrough, which no technician has seen, as long as that runs (probe I: "nvm" 45 minutes on
        // was told "the technicians have #1").
        let in_walk =
            t.state == State::New && t.owner.is_none() && t.self_service.as_ref().is_some_and(|s| s.to.is_none());
        // "it's back now" a couple of minutes after "wifi is down" (probe I: silence, nothing recorded), or while
        // the walkthrough still runs (probe K: 40 minutes on, silence).
        // "nvm, I'll use the old one" on a request waiting for its approval (probe L: ignored, and the manager's
        // Approve stayed live): the never-mind words are enough, whatever else it says.
        let waiting_or_walking = t.awaiting_approval.is_some() || in_walk;
        // Never mind said with trouble ("never mind the printer, my laptop won't boot now", "nvm Jen showed me, but
        // now the printer is jammed"; probe U: only the close offer came, the new problem was lost) is news.
        let signals = conv::signals(text);
        let said = self.never_minds(t, text)
            || waiting_or_walking && conv::never_mind(text) && !signals.trouble
            || conv::asks_to_close(text)
            || called_off
            || signals.recovered
                && (in_walk || now - t.created_at <= self.windows().burst_window.max(chrono::Duration::minutes(10)));
        let in_time = now - t.created_at <= window || t.awaiting_approval.is_some() || called_off || in_walk;
        // A major incident is everyone's: one person's "nvm, it's back for me" must not close it for the others.
        on(window) && t.state.is_active() && !t.major && in_time && said
    }

    /// The answer to "Shall I close #N?".
    pub(super) async fn on_conversation_action(
        &self,
        env: &Envelope,
        action: &str,
        typed: Option<&str>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let rest = action.trim_start_matches(ACTION_PREFIX);
        let (verb, n) = rest.split_once(':').unwrap_or((rest, ""));
        let n = n.split(':').next().unwrap_or(n);
        let Some(n) = TicketNo::parse(n).filter(|_| matches!(verb, "close" | "keep" | "mine" | "notmine")) else {
            return Ok(Flow::Refused(format!("unknown button `{action}`").into()));
        };
        if matches!(verb, "mine" | "notmine") {
            // The question expires like the others (its buttons carry when it was asked).
            let asked = rest.rsplit(':').next().and_then(|ms| ms.parse::<i64>().ok());
            let asked = asked.and_then(chrono::DateTime::from_timestamp_millis);
            if asked.is_none_or(|a| now - a > super::workflow::QUESTION_EXPIRY) {
                w.send(
                    Outbound::to_user(&env.actor, &env.place, super::workflow::EXPIRED_QUESTION)
                        .kind(MessageKind::Ephemeral)
                        .about(n),
                );
                return Ok(Flow::Ok);
            }
            return self.on_same_problem_answer(env, verb == "mine", n, now, w).await;
        }
        let mut t = match self.load(n).await? {
            Ok(t) => t,
            Err(r) => return Ok(Flow::Refused(r)),
        };
        if !t.requester.same_person(&env.actor) {
            let text = format!("only the person who raised {n} can answer that");
            return Ok(Flow::Refused(Refusal::audited(text, n, &format!("withdraw-{verb}"))));
        }
        if !t.state.is_active() {
            return Ok(Flow::Refused(format!("{n} is already {}.", t.state).into()));
        }
        let here = t.origin.place.clone();
        // An offer expires a day after it was made (#30): a click then changes nothing. (It may come later than
        // `withdraw_window` after raising the ticket: "nvm" during its walkthrough, "it's back up now".)
        let offered_at = t.close_offered.unwrap_or(t.created_at + self.windows().withdraw_window);
        if now - offered_at > super::workflow::QUESTION_EXPIRY && t.awaiting_approval.is_none() {
            // "describe it again" is wrong advice to someone who wants it closed (probe J).
            let said = if verb == "close" {
                format!(
                    "That offer has expired (it was made more than 24 hours ago), so I haven't closed {n}. If you \
                     still want it closed, say so in its thread and the technicians will close it."
                )
            } else {
                super::workflow::EXPIRED_QUESTION.to_string()
            };
            w.send(Outbound::to_user(&env.actor, &here, said).kind(MessageKind::Ephemeral).about(n));
            return Ok(Flow::Ok);
        }
        // Answered already (probe E: "Close it" still closed the ticket after "Keep it open"): the first answer
        // stands.
        if t.close_offered.is_none() {
            let text = format!("You've answered that already: {n} stays open. If you no longer need it, say so here.");
            w.send(Outbound::to_user(&env.actor, &here, text).kind(MessageKind::Ephemeral).about(n));
            return Ok(Flow::Ok);
        }
        // Answered: a later "yes" is no longer about the offer.
        t.close_offered = None;
        t.close_offer_after = None;
        if verb == "keep" {
            let owner = t.owner.as_ref().map(|o| o.name.as_str());
            // Still in its walkthrough, nobody in IT has it yet (probe F: "a technician will pick it up" while the
            // steps went on): the steps are where it goes next.
            let walking = owner.is_none() && t.self_service.as_ref().is_some_and(|s| s.to.is_none());
            let said = if walking { conv::kept_open_walking(n) } else { conv::kept_open(n, owner) };
            w.send(Outbound::to_user(&env.actor, &here, said).about(n));
            let ev = t.kept_open(&env.actor, typed, now);
            w.events(n, vec![ev]);
            w.commit.updates.push(t);
            return Ok(Flow::Ok);
        }
        // A joiner or leaver already part done is not simply closed: access half removed, or an account half made,
        // must be wound back by the technician who did it (#33).
        if let Some(text) = part_done(&t) {
            w.send(Outbound::to_user(&env.actor, &here, text).about(n));
            return Ok(Flow::Ok);
        }
        // The queue has seen it (handed off, or approved and "ready for a technician") and nobody owns it: the
        // queue hears it is off (probe L: a cancelled leaver could still be worked from the approval notice).
        // Requests only (a leaver, a laptop): work someone may start from the notice alone.
        let queue_saw = t.owner.is_none()
            && !t.in_self_service()
            && t.awaiting_approval.is_none()
            && (is_lifecycle(&t) || t.ticket_type == TicketType::Request);
        match t.withdraw(&env.actor, None, now) {
            Ok(ev) => w.events(n, ev),
            Err(e) => return Ok(Flow::Refused(e.into())),
        }
        if queue_saw {
            let text =
                format!("{} withdrew {} ({}): it is closed, nothing to do.", env.actor.shown(), n, quote(&t.title));
            w.send(self.to_queue(t.origin.platform, text).about(n));
        }
        // Its approvers, if it was waiting for them, have nothing left to decide.
        self.tell_approvers_withdrawn(&t, w);
        self.end_walk(n, format!("{} closed the ticket", env.actor.name), now, w).await?;
        self.tell_merged_ended(&t, "was closed by its requester", w);
        // Its open vendor cases end with it; each vendor is sent a closure note.
        let ended =
            self.end_cases(&mut t, None, "the person who raised it no longer needs it", true, now, &mut w.commit);
        if let Some(owner) = &t.owner {
            let place = Place { dm: true, ..self.staff_place() };
            w.send(Outbound::to_user(owner, &place, conv::requester_closed(&env.actor.shown(), n)).about(n));
            if !ended.is_empty() {
                let text = format!(
                    "That closed the vendor case{} on {n} with {}; each vendor is sent a closure note.",
                    if ended.len() == 1 { "" } else { "s" },
                    ended.join(", ")
                );
                w.send(Outbound::to_user(owner, &place, text).about(n));
            }
        }
        w.send(Outbound::to_user(&env.actor, &here, conv::closed_for_you(n)).about(n));
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// The answer to "Do you have the same problem yourself?" after a bare "+1" on someone's own ticket.
    async fn on_same_problem_answer(
        &self,
        env: &Envelope,
        mine: bool,
        n: TicketNo,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let here = |text: String| Outbound::to_user(&env.actor, &env.place, text).about(n);
        if !mine {
            w.send(here("OK, nothing opened. If it happens to you, describe it here and I'll open a ticket.".into()));
            return Ok(Flow::Ok);
        }
        let mut t = match self.store.ticket(n).await? {
            Some(t) => t,
            None => return Ok(Flow::Refused(format!("there is no ticket {n}").into())),
        };
        // Merged since: the question is about the ticket it went into.
        if let Some(into) = t.merged_into {
            let end = self.end_of_merges(into).await?;
            if let Some(e) = self.store.ticket(end).await? {
                t = e;
            }
        }
        if t.requester.same_person(&env.actor) {
            return Ok(Flow::Refused(format!("{} is your own ticket already", t.number).into()));
        }
        // Since asked, the ticket may have become (or been folded into) a major incident: join that instead.
        let major = if t.major { Some(t.clone()) } else { self.active_parent(&t).await? };
        if let Some(mut m) = major.filter(|m| m.state.is_active()) {
            self.add_affected(env, &mut m, "same here", now, w);
            w.commit.updates.push(m);
            return Ok(Flow::Ok);
        }
        if !t.state.is_active() {
            // Fixed for its requester, but not for them: a ticket of their own, linked.
            let own = format!("same here (same as {}: {})", t.number, t.title);
            return self.follow_up_ticket(env, &t, &own, now, w).await;
        }
        self.same_problem_as(env, &t, "same here", now, w).await
    }

    /// The active major incident `t` was folded into, if any.
    async fn active_parent(&self, t: &Ticket) -> Result<Option<Ticket>, DeskError> {
        Ok(match t.parent {
            Some(p) => self.store.ticket(p).await?.filter(|m| m.state.is_active()),
            None => None,
        })
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

    /// "can I get Acrobat installed please" asks for something and says nothing is wrong: a request, whatever intent
    /// triage gave it, and requests are never an outage.
    fn a_request(c: &Classification) -> bool {
        c.asks && !c.trouble
    }

    /// The same intent, or intents of one outage group.
    fn same_outage(&self, a: &Option<String>, b: &Option<String>) -> bool {
        let classifier = self.classifier();
        let group = |i: &Option<String>| i.as_deref().and_then(|i| classifier.outage_group(i));
        a == b || group(a).is_some() && group(a) == group(b)
    }

    /// A confident report of the same kind as an active major incident joins it: the person is added to the
    /// affected people (no ticket, no runbook) and told it is being worked on.
    pub(super) fn join_major(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        majors: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> bool {
        if c.confidence < self.settings.triage.confident || Self::a_request(c) {
            return false;
        }
        let Some(t) = majors.iter().find(|t| self.same_kind(t, c, text)) else {
            return false;
        };
        let mut t = t.clone();
        self.add_affected(env, &mut t, text, now, w);
        w.commit.updates.push(t);
        true
    }

    /// Adds the person to a major incident's affected people (or records their message if they already are one),
    /// tells them and the owner.
    fn add_affected(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let place = reply_place(env);
        let (added, ev) = t.affected_report(&env.actor, &place, text, now);
        w.events(t.number, vec![ev]);
        let reply = if added || t.requester.same_person(&env.actor) {
            conv::we_know(t.number, &quote(&t.title), t.owner.is_some() || t.major)
        } else {
            conv::already_on_it(t.number)
        };
        w.send(Outbound::to_user(&env.actor, &place, reply).about(t.number));
        let first = format!(
            "{} reported {} too ({} affected): {}",
            env.actor.shown(),
            t.number,
            conv::people(t.people_affected()),
            quote(text)
        );
        self.tell_owner_folded(t, &env.actor.shown(), text, first, now, w);
    }

    /// A message in the thread where someone reported an active major incident they are affected by: it goes to
    /// that incident (the owner is told), never to a new ticket.
    async fn affected_thread_message(
        &self,
        env: &Envelope,
        text: &str,
        majors: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let here = &env.place;
        let reported_here = |t: &Ticket| {
            t.affected.iter().any(|a| {
                a.user.same_person(&env.actor) && a.place.channel == here.channel && a.place.thread == here.thread
            })
        };
        if let Some(t) = majors.iter().find(|t| reported_here(t)) {
            let mut t = t.clone();
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
        if let Some(flow) = self.after_fix_without_trouble(env, &t, text, true, now, w) {
            return Ok(Some(flow));
        }
        Ok(Some(self.follow_up_ticket(env, &t, text, now, w).await?))
    }

    /// Someone other than the requester (and not a technician) writes in a ticket's thread. "same here" / "+1"
    /// makes them one of a major or shared-category incident's affected people (they hear its replies and
    /// resolution, the owner sees the count); on someone's own ticket it is their own linked ticket when it says
    /// what is wrong, and a question ("Do you have the same problem yourself?") when it does not; on a resolved
    /// ticket a sign of trouble is their own ticket, linked; a different problem ("unrelated but …") is their own.
    /// Their own tickets live in a DM with them. None for what the thread handles after (refused for outsiders).
    pub(super) async fn colleague_in_thread(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if t.requester.same_person(&env.actor) || self.role_of(&env.actor).is_staff() || t.state == State::Closed {
            return Ok(None);
        }
        // A ticket of the colleague's own lives in a DM with them: the thread stays the other ticket's.
        let own_place = own_place(env);
        let env = &own_place;
        if t.state == State::Resolved {
            if conv::is_gratitude(text) {
                return Ok(Some(Flow::Ok));
            }
            if let Some(flow) = self.after_fix_without_trouble(env, t, text, false, now, w) {
                return Ok(Some(flow));
            }
            if conv::me_too(text) && !self.describes_a_problem(text) {
                // A bare "+1" after the fix: asked, as on an open ticket (a ticket titled "+1" helps nobody).
                self.ask_if_theirs_too(env, t, now, w);
                return Ok(Some(Flow::Ok));
            }
            if conv::me_too(text) || conv::troubled(text) || conv::same_again(text) {
                return Ok(Some(self.follow_up_ticket(env, t, text, now, w).await?));
            }
            return Ok(None);
        }
        if conv::me_too(text) || conv::me_too_report(text) {
            // A personal ticket (a request, a locked account, someone's laptop) is nobody else's to join: its
            // replies may carry personal details. "Same here" there is the colleague's own ticket, linked.
            if !t.major && (t.ticket_type == TicketType::Request || !SHARED_CATEGORIES.contains(&t.category.as_str())) {
                // A "+1" that describes no problem of its own ("+1", "+1 lol", "same here!!! urgent") may be
                // sympathy as much as the same problem: it opens nothing until they say it is theirs, so a flood of
                // "+1"s is no flood of tickets, owner notices or false outages (#30).
                if !self.describes_a_problem(text) {
                    self.ask_if_theirs_too(env, t, now, w);
                    return Ok(Some(Flow::Ok));
                }
                return Ok(Some(self.same_problem_as(env, t, text, now, w).await?));
            }
            let mut t = t.clone();
            self.add_affected(env, &mut t, text, now, w);
            // Enough people with the same problem on one ticket make it a major incident, as enough tickets do
            // (probe G: three people on one Wi-Fi ticket were told "we know, it is being worked on" while it sat
            // unowned in its requester's walkthrough, off the queue).
            let threshold = self.windows().major_threshold;
            let major = !t.major && threshold > 0 && t.people_affected() >= threshold && t.parent.is_none();
            if major && let Ok(ev) = t.declare_major(None, t.people_affected(), now) {
                w.events(t.number, ev);
                self.policies.apply(&mut t);
                w.commit.updates.push(t.clone());
                self.end_walk(t.number, "it became a major incident".to_string(), now, w).await?;
                self.announce_major(&t, None, now, w);
                return Ok(Some(Flow::Ok));
            }
            w.commit.updates.push(t);
            return Ok(Some(Flow::Ok));
        }
        if conv::unrelated(text) {
            let c = self.classifier().classify(text);
            match c.decide(&self.settings.triage) {
                Decision::Ticket => self.open_ticket(env, text, c, now, w).await?,
                Decision::Ask => self.ask_category(env, text, &c, w),
                Decision::NotIt => return Ok(None),
            }
            return Ok(Some(Flow::Ok));
        }
        Ok(None)
    }

    /// Whether `text` clearly reports a problem of another kind than `t`'s (a ticket of its own in another IT
    /// category), whatever "too" it ends with. See also [`names_another_thing`].
    fn another_kind(&self, text: &str, t: &Ticket) -> bool {
        let c = self.classifier().classify(text);
        c.decide(&self.settings.triage) == Decision::Ticket
            && c.category != t.category
            && c.category != "none"
            && c.category != "other"
    }

    /// Whether a "+1"-style message also says what is wrong ("same here, I can't log in either"), as opposed to
    /// agreement alone ("+1", "+1 lol", "same here!!! urgent", "+1 approved").
    fn describes_a_problem(&self, text: &str) -> bool {
        if conv::troubled(text) {
            return true;
        }
        let c = self.classifier().classify(text);
        c.trouble && c.decide(&self.settings.triage) == Decision::Ticket
    }

    /// "Do you have the same problem yourself?", in a DM, with Yes/No buttons that expire like other questions.
    fn ask_if_theirs_too(&self, env: &Envelope, t: &Ticket, now: Timestamp, w: &mut Work) {
        let text = format!(
            "{} is {}'s own ticket, so I haven't added you to it. Do you have the same problem yourself?",
            t.number,
            t.requester.shown()
        );
        let asked = now.timestamp_millis();
        let buttons = vec![
            Button::new("Yes, open a ticket for me", format!("{ACTION_PREFIX}mine:{}:{asked}", t.number.0)).primary(),
            Button::new("No, just agreeing", format!("{ACTION_PREFIX}notmine:{}:{asked}", t.number.0)),
        ];
        w.send(Outbound::to_user(&env.actor, &own_place(env).place, text).with_buttons(buttons).about(t.number));
    }

    /// A colleague has `t`'s (personal) problem too: a ticket of their own, linked, unless enough people now have
    /// it at once for an outage (several people who cannot sign in), when the oldest ticket becomes a major incident
    /// as it would from fresh reports.
    async fn same_problem_as(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        // They already have a ticket of their own for it (an earlier "Yes", a "same here"): the message joins it,
        // never a second ticket for one problem.
        for n in &t.links {
            if let Some(mut mine) = self.store.ticket(*n).await?
                && mine.requester.same_person(&env.actor)
                && mine.state.is_active()
                && mine.links.contains(&t.number)
            {
                if conv::me_too(text) && !self.describes_a_problem(text) {
                    let said = format!("You have {} for that already; I'll keep you posted there.", mine.number);
                    w.send(Outbound::to_user(&env.actor, &env.place, said).about(mine.number));
                    return Ok(Flow::Ok);
                }
                return Ok(self.thread_message(env, &mut mine, text, now, w));
            }
        }
        let own = format!("{text} (same as {}: {})", t.number, t.title);
        if t.ticket_type == TicketType::Incident && t.state.is_active() {
            let mut c = self.classifier().classify(&t.description);
            c.category = t.category.clone();
            c.intent = t.intent.clone();
            c.ticket_type = t.ticket_type;
            c.confidence = 1.0;
            c.asks = false;
            c.trouble = true;
            if self.declare_if_many(env, &own, &c, now, w).await? {
                return Ok(Flow::Ok);
            }
        }
        self.follow_up_ticket(env, t, &own, now, w).await
    }

    /// "same here" outside any thread while a major incident is active: one more affected person (the newest
    /// incident; with none active it is left to triage). Not when a colleague reported something in this channel
    /// after the incident's last report: "same here" is about what is just above it (probe K: it joined the
    /// floor-3 outage, not the floor-4 Wi-Fi report written twenty minutes before).
    async fn me_too_major(
        &self,
        env: &Envelope,
        text: &str,
        majors: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if !conv::me_too(text) {
            return Ok(None);
        }
        let Some(major) = majors.last() else { return Ok(None) };
        // "my printer is broken here too" during a VPN outage is a printer problem (probe N).
        if self.another_kind(text, major) || names_another_thing(text, major) {
            return Ok(None);
        }
        let last_report =
            major.affected.iter().map(|a| a.at).chain([major.created_at]).max().unwrap_or(major.created_at);
        if !env.place.dm
            && env.place.thread.is_none()
            && self.newest_colleague_report(env, now).await?.is_some_and(|t| t.created_at > last_report)
        {
            return Ok(None);
        }
        let mut t = major.clone();
        self.add_affected(env, &mut t, text, now, w);
        w.commit.updates.push(t);
        Ok(Some(Flow::Ok))
    }

    /// "same here" or "+1" written in the channel, not a thread, within the major-incident window of a colleague
    /// raising a ticket there (probe E: nobody answered it, and it counted for nothing): handled as if written in
    /// that ticket's thread (joined as affected where many share such problems, else asked whether it is theirs
    /// too). The newest such ticket; none when nobody raised one there lately.
    pub(super) async fn me_too_in_channel(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        let report = !conv::me_too(text) && conv::me_too_report(text);
        if env.place.dm
            || env.place.thread.is_some()
            || !(conv::me_too(text) || report)
            || !on(self.windows().major_window)
        {
            return Ok(None);
        }
        let Some(t) = self.newest_colleague_report(env, now).await? else { return Ok(None) };
        // "vpn not working for me also" is about the colleague's report only when it is the same kind of problem.
        // Nor a request: "could you install adobe acrobat for me too?" is a request of one's own (three installs
        // are three requests).
        if report && (self.classifier().classify(text).category != t.category || t.ticket_type == TicketType::Request)
            || self.another_kind(text, &t)
            || names_another_thing(text, &t)
        {
            return Ok(None);
        }
        self.colleague_in_thread(env, &t, text, now, w).await
    }

    /// "still down for me" written in the channel (not a thread) soon after a major incident was resolved (probe
    /// O: silence): that person's own ticket, linked to the incident, as in the incident's thread ("If it's still not
    /// working for you, reply here"). Only when the message says the trouble goes on ("still", "again"), is not
    /// plainly of another kind, and they have no active ticket of that kind; "is it still down?" hears where the
    /// incident stands instead. The incident is the newest resolved within [`STILL_AFTER_MAJOR`], one they reported
    /// or were affected by first.
    pub(super) async fn still_broken_after_major(
        &self,
        env: &Envelope,
        text: &str,
        open: &[Ticket],
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        // ("is the internet fixed now?", "is it back yet?": a question whether it is fixed, probe Q: P3 tickets.)
        if env.place.dm || env.place.thread.is_some() || !(conv::same_again(text) || conv::asks_if_fixed(text)) {
            return Ok(None);
        }
        let sig = conv::signals(text);
        let question = conv::asks_if_fixed(text);
        let trouble = conv::trouble_beside_questions(text);
        if sig.gratitude || sig.recovered || !(question || trouble) {
            return Ok(None);
        }
        let c = self.classifier().classify(text);
        let sure = c.decide(&self.settings.triage) == Decision::Ticket;
        let mut majors: Vec<Ticket> = self
            .store
            .majors_resolved_since(now - STILL_AFTER_MAJOR)
            .await?
            .into_iter()
            .filter(|t| t.state == State::Resolved && (!sure || t.category == c.category))
            .collect();
        majors.sort_by_key(|t| std::cmp::Reverse(t.resolved_at));
        let theirs = |t: &Ticket| {
            t.requester.same_person(&env.actor) || t.affected.iter().any(|a| a.user.same_person(&env.actor))
        };
        let Some(t) = majors.iter().find(|t| theirs(t)).or(majors.first()).cloned() else { return Ok(None) };
        if open.iter().any(|o| o.state.is_active() && o.category == t.category) {
            return Ok(None);
        }
        // "still can't get online, is it meant to be fixed?" says what is wrong: a ticket (probe P: only asked).
        if !trouble {
            w.send(Outbound::to_user(&env.actor, &reply_place(env), fixed_status(&t, now)).about(t.number));
            return Ok(Some(Flow::Ok));
        }
        Ok(Some(self.follow_up_ticket(env, &t, text, now, w).await?))
    }

    /// A reply to a resolved ticket or incident that reports nothing wrong (probe P: "yep back for me" and "is it
    /// fixed now?" opened P2 tickets "following up #1"): thanks or "back for me" are noted (`thanks`), a question
    /// hears where it stands. `None` when the message says something is (still) wrong, or is neither.
    fn after_fix_without_trouble(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        thanks: bool,
        now: Timestamp,
        w: &mut Work,
    ) -> Option<Flow> {
        let sig = conv::signals(text);
        // "S drive is back but now outlook is asking for my password every 5 minutes": thanks, and a new problem
        // (probe Q: only noted as thanks).
        let then_more = text.split_once(" but ").is_some_and(|(_, after)| {
            conv::trouble_beside_questions(after)
                || self.classifier().classify(after).decide(&self.settings.triage) == Decision::Ticket
        });
        if (sig.gratitude || sig.recovered) && !then_more {
            if thanks {
                let mut t = t.clone();
                self.note_thanks(env, &mut t, text, now, w);
            }
            return Some(Flow::Ok);
        }
        if !conv::asks_if_fixed(text) {
            return None;
        }
        w.send(Outbound::to_user(&env.actor, &reply_place(env), fixed_status(t, now)).about(t.number));
        Some(Flow::Ok)
    }

    /// The newest active ticket someone else raised in this channel (not a thread, not a DM) lately, which a
    /// "same here" there is about.
    async fn newest_colleague_report(&self, env: &Envelope, now: Timestamp) -> Result<Option<Ticket>, DeskError> {
        // The window's tickets, each category's (the store keeps no cross-category "recent" read; a "+1" is rare).
        // A "same here" twenty minutes after the report is still about it (probe I: it was dropped); the major
        // incident window is for counting reports, not for how long a colleague may take to see one.
        let since = now - self.windows().major_window.max(ME_TOO_WITHIN);
        let mut recent = vec![];
        for cat in self.classifier().categories().iter().filter(|c| c.id != "none" && c.id != "other") {
            recent.extend(self.store.recent_in_category(&cat.id, since).await?);
        }
        Ok(recent
            .into_iter()
            .filter(|t| t.state.is_active())
            .filter(|t| t.origin.platform == env.actor.platform && !t.origin.place.dm)
            .filter(|t| t.origin.place.channel == env.place.channel && t.created_at >= since)
            .filter(|t| !t.requester.same_person(&env.actor) && t.parent.is_none() && !t.major)
            .max_by_key(|t| t.number.0))
    }

    /// In a resolved ticket's thread its requester moves on ("thanks! also my monitor is flickering", "unrelated but
    /// can I get Acrobat?"): thanks are noted on the ticket, which stays resolved, and a new problem is a new
    /// ticket (or the category question), not a reopen. None for what the thread handles as before.
    pub(super) async fn moved_on_in_thread(
        &self,
        env: &Envelope,
        t: &Ticket,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<Flow>, DeskError> {
        if t.state != State::Resolved
            || !t.requester.same_person(&env.actor)
            || conv::same_again(text)
            || !conv::new_topic(text)
        {
            return Ok(None);
        }
        let c = self.classifier().classify(text);
        let decision = c.decide(&self.settings.triage);
        // With thanks for the fix, "also …" is something else even in the same category (probe G: "thanks!! also
        // my keyboard has a key missing now" reopened the monitor ticket).
        if decision != Decision::NotIt && c.category == t.category && !c.asks && !conv::thanks_in(text) {
            // "also it's making a noise now" about the same thing: the fix did not hold.
            return Ok(None);
        }
        let mut t = t.clone();
        if conv::thanks_in(text) {
            let ev = t.thanked(&env.actor, text, now);
            w.events(t.number, vec![ev]);
            w.commit.updates.push(t.clone());
        }
        match decision {
            Decision::NotIt => {
                if !conv::thanks_in(text) {
                    return Ok(None);
                }
                w.send(Outbound::to_user(&env.actor, &reply_place(env), conv::welcome(t.number)).about(t.number));
            }
            Decision::Ask => self.ask_category(env, text, &c, w),
            Decision::Ticket => self.open_ticket(env, text, c, now, w).await?,
        }
        Ok(Some(Flow::Ok))
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
        // A self-service fix too old to undo is as closed to its requester (probe L: "printer jammed again" three
        // days on was told to describe the problem again, and nothing opened).
        let too_late = t.state == State::Resolved && is_requester && self.may_reopen(t, &env.actor, now).is_err();
        if t.state != State::Closed && !too_late || (!is_requester && self.role_of(&env.actor).is_staff()) {
            return Ok(None);
        }
        if conv::is_gratitude(text) || !text.chars().any(char::is_alphanumeric) {
            return Ok(if is_requester { None } else { Some(Flow::Ok) });
        }
        // A declined request stays declined once closed too: "please reconsider" in its thread opens no request
        // round its approver. Asking again is a new request, which goes to the approver again.
        if is_requester && let Some(by) = &t.declined_by {
            return Ok(Some(Flow::Refused(Refusal::state(super::declined_text(t.number, by)))));
        }
        // A merged duplicate: the conversation goes on on the ticket it was merged into (the end of a chain of
        // merges). While that is open the message is added to it, never a new duplicate (#30); after it, a new
        // problem follows it up.
        let mut target = match t.merged_into {
            Some(n) => self.store.ticket(self.end_of_merges(n).await?).await?,
            None => None,
        };
        // The surviving ticket may itself have been folded into a major incident: the conversation is there then.
        if let Some(major) = target.as_ref().and_then(|b| b.parent.filter(|_| !b.state.is_active())) {
            target = self.store.ticket(major).await?.or(target);
        }
        if let Some(mut b) = target.clone()
            && b.state.is_active()
            && (is_requester || self.on_ticket(&b, &env.actor))
        {
            return Ok(Some(self.thread_message(env, &mut b, text, now, w)));
        }
        // The surviving ticket was resolved and the problem is back ("still flickering"): it is the same problem, so
        // the surviving ticket reopens, as it would from its own thread, rather than a new ticket opening (#30).
        if let Some(mut b) = target.clone()
            && b.state == State::Resolved
            && !b.major
            && t.merged_into.is_some()
            && (is_requester || self.on_ticket(&b, &env.actor))
            && (conv::same_again(text) || conv::troubled(text) || !conv::new_topic(text))
            && self.may_reopen(&b, &env.actor, now).is_ok()
            && let Ok(ev) = self.reopen(&mut b, &env.actor, Some(text), now)
        {
            w.events(b.number, ev);
            let said = format!(
                "{} (whose {} was merged into {}) reopened {}: {}",
                env.actor.shown(),
                t.number,
                b.number,
                b.number,
                quote(text)
            );
            match &b.owner {
                Some(owner) => {
                    w.send(Outbound::to_user(owner, &Place { dm: true, ..self.staff_place() }, said).about(b.number))
                }
                None => w.send(self.card(&b, now)),
            }
            w.send(
                Outbound::to_user(
                    &env.actor,
                    &reply_place(env),
                    format!(
                        "{} (which your ticket was merged into) is open again; a technician will pick it up.",
                        b.number
                    ),
                )
                .about(b.number),
            );
            if !b.requester.same_person(&env.actor) {
                w.send(self.to_requester(
                    &b,
                    format!("{} is open again: {} says the problem is back.", b.number, env.actor.shown()),
                ));
            }
            w.commit.updates.push(b);
            return Ok(Some(Flow::Ok));
        }
        // A ticket folded into a major incident: the follow-up is of the incident.
        let parent = match t.parent {
            Some(p) => self.store.ticket(p).await?,
            None => target,
        };
        // "yep back for me", "is it fixed now?" after the fix: noted or answered, no ticket (probe P: P2 tickets).
        let about = parent.as_ref().unwrap_or(t);
        if !about.state.is_active()
            && let Some(flow) = self.after_fix_without_trouble(env, about, text, is_requester, now, w)
        {
            return Ok(Some(flow));
        }
        // Someone else's chatter in the thread ("close it please", "reopen it") is no problem of their own: it opens
        // nothing and tells nobody; a problem they describe gets a ticket of their own below.
        if !is_requester && self.classifier().classify(text).decide(&self.settings.triage) != Decision::Ticket {
            return Ok(Some(Flow::Refused(Refusal::state(format!(
                "{} is someone else's closed ticket. To report a problem of your own, describe it in the helpdesk \
                 channel or here and I'll open a ticket for you.",
                t.number
            )))));
        }
        // The thread stays its requester's: someone else's problem there is a ticket of their own in a DM with
        // them, so a stranger cannot take the thread over (#30) and lock the requester out of it.
        let theirs = own_place(env);
        let env = if is_requester { env } else { &theirs };
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
        // At the hourly limit no ticket follows: the person is told so, and the old owner is not told of one.
        if self.over_limit_now(env, now, w).await? {
            return Ok(Flow::Ok);
        }
        let mut c = self.classifier().classify(text);
        let same_again = conv::same_again(text);
        // Asking for something that needs approval ("can I just get a new laptop instead?") is that request,
        // whatever the old ticket was about: it must reach the approver.
        let needs_approval = self.approval_walk(&c, text).is_some();
        let vague = same_again
            || c.decide(&self.settings.triage) != Decision::Ticket
            || c.category == "other"
            || c.confidence < CLEARLY_ELSE;
        if vague && !needs_approval {
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
            let msg = if old.state.is_active() {
                format!(
                    "{} has the same problem as {}: {} (a ticket of their own follows)",
                    env.actor.shown(),
                    old.number,
                    quote(text)
                )
            } else {
                format!("{} wrote after {} was {}: {}", env.actor.shown(), old.number, old.state, quote(text))
            };
            w.send(Outbound::to_user(owner, &staff_dm, msg).about(old.number));
        }
        let before = w.commit.inserts.len();
        self.open_ticket_after(env, text, c, Some(After::FollowUp(old.number)), now, w).await?;
        self.link_back(old, before, now, w);
        Ok(Flow::Ok)
    }

    /// Links the ticket just opened (an insert after the first `before`) back to `old`.
    fn link_back(&self, old: &Ticket, before: usize, now: Timestamp, w: &mut Work) {
        if let Some(new) = w.commit.inserts.get(before..).and_then(|i| i.last()).map(|t| t.number) {
            let mut old = old.clone();
            if !old.links.contains(&new) {
                old.links.push(new);
            }
            w.events(
                old.number,
                vec![crate::core::ticket::Event { at: now, actor: None, kind: EventKind::Linked { with: new } }],
            );
            w.commit.updates.retain(|t| t.number != old.number);
            w.commit.updates.push(old);
        }
    }

    /// A colleague's report of the same kind, in a category many people share (a printer, the network, an
    /// application), raised in the major-incident window: the newest such active ticket. Two people reporting one
    /// printer a minute apart in different words were two unlinked tickets (probe N); at the third report the
    /// major incident takes them all (see [`Desk::declare_if_many`]).
    pub(super) async fn reported_alongside(
        &self,
        env: &Envelope,
        text: &str,
        c: &Classification,
        now: Timestamp,
    ) -> Result<Option<Ticket>, DeskError> {
        if self.windows().major_threshold == 0
            || c.intent.is_none()
            || !SHARED_CATEGORIES.contains(&c.category.as_str())
            || c.confidence < self.settings.triage.confident
            || Self::a_request(c)
        {
            return Ok(None);
        }
        let fingerprint = recurring::fingerprint(&c.category, c.intent.as_deref(), text);
        let alike = self
            .alike_recent(
                &c.category,
                |t| {
                    // The same fingerprint: the same intent, and the same place (or, for software, product) or
                    // none named by either. "printer on floor 4 is jammed" and "the printer in the post room is
                    // jammed" may be two printers, Outlook crashing and Teams freezing are two problems (a major
                    // incident counts reports more loosely; a link says "the same problem").
                    t.fingerprint.as_ref() == Some(&fingerprint)
                        && self.same_kind(t, c, text)
                        && !t.requester.same_person(&env.actor)
                        && t.origin.platform == env.actor.platform
                },
                now,
            )
            .await?;
        Ok(alike.into_iter().max_by_key(|t| t.created_at))
    }

    /// Opens the report as a ticket of its own, linked to `old` (a colleague's, a few minutes before); the
    /// requester hears which, and `old`'s owner that someone else has it too. The reports stay two tickets, each
    /// with its walkthrough: a second problem that only looked the same is not lost in someone else's.
    pub(super) async fn open_alongside(
        &self,
        env: &Envelope,
        text: &str,
        c: Classification,
        old: &Ticket,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let after = After::Alongside(old.number, old.requester.shown(), old.created_at);
        let before = w.commit.inserts.len();
        self.open_ticket_after(env, text, c, Some(after), now, w).await?;
        if let Some(owner) = &old.owner
            && let Some(new) = w.commit.inserts.get(before..).and_then(|i| i.last()).map(|t| t.number)
        {
            let msg = format!(
                "{} reported what looks like the same problem as {} ({}): {}",
                env.actor.shown(),
                old.number,
                new,
                quote(text)
            );
            w.send(Outbound::to_user(owner, &self.staff_dm(), msg).about(old.number));
        }
        self.link_back(old, before, now, w);
        Ok(Flow::Ok)
    }

    /// An affected person's later message on a major incident: recorded, the owner told.
    fn affected_message(&self, env: &Envelope, t: &mut Ticket, text: &str, now: Timestamp, w: &mut Work) {
        let place = env.place.clone();
        let (_, ev) = t.affected_report(&env.actor, &place, text, now);
        w.events(t.number, vec![ev]);
        self.tell_owner_of_message(t, &env.actor.shown(), text, now, w);
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
        if !child.requester.same_person(&env.actor) {
            return Ok(None);
        }
        if !t.state.is_active() {
            // After the incident's resolution, thanks are for the incident; anything else follows it up.
            if conv::is_gratitude(text) {
                self.note_thanks(env, &mut t, text, now, w);
                return Ok(Some(Flow::Ok));
            }
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
        if threshold == 0
            || c.confidence < self.settings.triage.confident
            || c.category == "other"
            || Self::a_request(c)
        {
            return Ok(false);
        }
        let alike = self.alike_recent(&c.category, |t| self.same_kind(t, c, text), now).await?;
        // Everyone on those tickets counts: their requesters and the colleagues who said "same here" on them (probe
        // H: the third person of an outage, after a second had joined the first ticket, got a ticket of her own).
        let mut people: Vec<&UserRef> = vec![&env.actor];
        for t in &alike {
            for who in std::iter::once(&t.requester).chain(t.affected.iter().map(|a| &a.user)) {
                if !people.iter().any(|p| p.same_person(who)) {
                    people.push(who);
                }
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
        // Its clocks follow the raised priority before the card shows them.
        self.policies.apply(&mut major);
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
        self.alike_since(category, keep, now - self.windows().major_window).await
    }

    /// [`Self::alike_recent`] from `since`.
    async fn alike_since(
        &self,
        category: &str,
        keep: impl Fn(&Ticket) -> bool,
        since: Timestamp,
    ) -> Result<Vec<Ticket>, DeskError> {
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
            // The people whose tickets were merged into it follow the incident too: they hear its updates and its
            // resolution, and are told where their problem went (#30).
            for cc in child.cc.iter().filter(|c| !c.same_person(&child.requester)) {
                let place = own_place_of(cc);
                let (_, ev) = major.affected_report(cc, &place, &child.description, now);
                w.events(major.number, vec![ev]);
                let text = format!(
                    "{} (which your ticket was merged into) is now part of major incident {}: you'll get its updates \
                     here.",
                    child.number, major.number
                );
                w.send(Outbound::to_user(cc, &place, text).about(major.number));
            }
            // So do the people who said they have it too on the folded ticket (probe P: "yep email's not working here
            // too" on #2 heard neither the incident's updates nor its resolution).
            for a in child.affected.iter().filter(|a| !a.user.same_person(&child.requester)) {
                let (added, ev) = major.affected_report(&a.user, &a.place, &child.description, now);
                w.events(major.number, vec![ev]);
                if added {
                    w.send(
                        Outbound::to_user(&a.user, &a.place, conv::folded_into_major(child.number, major.number))
                            .about(major.number),
                    );
                }
            }
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
        // By hand a technician may be late to see it: reports of the last hour (or the major window) are folded.
        let since = now - self.windows().major_window.max(MANUAL_LOOK_BACK);
        let alike = self
            .alike_since(
                &category,
                |x| x.number != number && self.same_outage(&x.intent, &intent) && category != "other",
                since,
            )
            .await?;
        self.fold_children(&mut t, alike, now, w).await?;
        self.policies.apply(&mut t);
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
        // "fixed it", "fixed!", "all working now" after the resolution agree with it (probe I: they reopened it).
        let agrees = || {
            let s = conv::signals(text);
            let ws: Vec<String> = text
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            let fixed_word = ws.len() <= 4
                && ws
                    .iter()
                    .any(|w| ["fixed", "sorted", "working", "works", "resolved", "solved"].contains(&w.as_str()))
                && !conv::troubled(text);
            (conv::is_withdrawal(text) || s.recovered || fixed_word) && !s.trouble && !conv::same_again(text)
        };
        matches!(t.state, State::Resolved | State::Closed) && (conv::is_gratitude(text) || agrees())
    }
}

/// A window of zero turns its feature off.
fn on(window: chrono::Duration) -> bool {
    window > chrono::Duration::zero()
}

/// A DM with `who`.
/// Where a resolved ticket stands, for someone who asks whether it is fixed.
fn fixed_status(t: &Ticket, now: Timestamp) -> String {
    let when = t.resolved_at.map(|at| format!(" {} ago", crate::core::duration::human(now - at))).unwrap_or_default();
    format!(
        "{} ({}) was marked fixed{when}. If it's still not working for you, say so here and I'll open a ticket for you.",
        t.number,
        quote(&t.title)
    )
}

pub(super) fn own_place_of(who: &UserRef) -> Place {
    Place { dm: true, channel: format!("dm-{}", who.id), thread: None, message: None }
}

/// `env` moved to a DM with its sender: where a ticket of their own lives when they wrote in someone else's
/// ticket's thread (the thread stays that ticket's).
pub(super) fn own_place(env: &Envelope) -> Envelope {
    Envelope { place: own_place_of(&env.actor), ..env.clone() }
}

/// Why a joiner or leaver with checklist items already ticked cannot simply be closed by its requester, if so.
fn part_done(t: &Ticket) -> Option<String> {
    let cl = t.checklist.as_ref().filter(|cl| cl.items.iter().any(|i| i.is_done()))?;
    let done = cl.items.iter().filter(|i| i.is_done()).count();
    let who = t.owner.as_ref().map(|o| o.shown()).unwrap_or_else(|| "the technicians".to_string());
    Some(format!(
        "{} is already being worked on ({done} of {} checklist items done), so it can't just be closed: I've left \
         it open, and {who} will see your message here and wind back what was done.",
        t.number,
        cl.items.len()
    ))
}

/// A joiner or a leaver: its checklist is there from the hand-off (or from `/ticket start`) on, its date once
/// known, and its intent from the message that raised it (while its questions are still asked).
/// What [`Desk::typed_close_reply`] made of a message.
pub(super) enum TypedClose {
    /// No answer to a close offer: the message goes on as it is.
    No,
    /// Answered (and whatever followed the answer handled).
    Done(Flow),
    /// "yes, but tray 2 still jams": no answer; the message goes on as this, its part after the "yes".
    Instead(String),
}

pub(super) fn is_lifecycle(t: &Ticket) -> bool {
    t.checklist.is_some() || t.work_date.is_some() || t.intent.as_deref() == Some("identity.account_lifecycle")
}

/// "outlook keeps crashing for me too" after a Teams report, "floor 1 printer is jammed for me too" after floor 3's:
/// the "too" names another product or place than the ticket's, so it is not that ticket's problem (probe O: both
/// joined the newest ticket).
fn names_another_thing(text: &str, t: &Ticket) -> bool {
    let differs = |a: Option<String>, b: Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
    differs(recurring::place(text), recurring::place(&t.description))
        || differs(recurring::product(text), recurring::product(&t.description))
}
