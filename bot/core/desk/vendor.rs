//! Vendor escalation: `/ticket escalate`, the vendor case on the ticket (reference, updates, close), the case's
//! contract clock (75%, 90% and breach warnings, recorded as events), follow-up prompts with Chase and Snooze
//! buttons, the updates promised to the requester, and what the vendor worker reports back (sent, failed).
//!
//! The ticket keeps its one owner, and only the owner (or a lead or admin) acts on its vendor cases: escalate,
//! chase, snooze, close. Reassigning the ticket hands its open cases over; unclaiming it while a case is open is
//! refused. The vendor sees the public history of the ticket and what the technician wrote for them, never internal
//! notes. Sends to vendors are outbox messages of platform `vendor`; the follow-up schedule is a conversation row
//! `vendor:N` whose deadline is the earliest follow-up of the ticket's open cases, so it fires once (keyed by the
//! deadline) and survives restarts.

use super::{Desk, DeskError, Flow, Refusal, Work, quote, sentence};
use crate::core::command::{self, Command};
use crate::core::duration::human;
use crate::core::ids::UserRef;
use crate::core::message::{Button, MessageKind, Outbound};
use crate::core::recurring;
use crate::core::roles::Role;
use crate::core::ticket::{Event, EventKind, State, Ticket, Timestamp};
use crate::core::vendor::{
    CaseStatus, Contact, FollowUp, TELL_OWNER_AFTER_FAILURES, Target, Vendor, VendorCase, VendorMessage,
};
use crate::store::{Commit, Committed, Conversation, ConversationWrite, OutboxItem, Store, StoreError};
use serde_json::json;

/// Conversation keys of vendor follow-up schedules start with this, followed by the ticket number.
const KEY_PREFIX: &str = "vendor:";
/// The `owner` of every vendor schedule row (not a person: the schedule belongs to the ticket).
const SCHEDULE_OWNER: &str = "vendor-cases";
/// The first contract warning level: the owner alone hears it (above it, the leads too).
const WARN_FIRST: u8 = crate::core::vendor::WARN_LEVELS[0];

impl<S: Store> Desk<S> {
    /// The open case a command means: the named vendor's, or the only open one.
    fn pick_case<'a>(&self, t: &'a mut Ticket, vendor: Option<&str>) -> Result<&'a mut VendorCase, Refusal> {
        let open: Vec<usize> = t
            .vendor_cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.status == CaseStatus::Open)
            .filter(|(_, c)| vendor.is_none_or(|v| c.vendor.eq_ignore_ascii_case(v)))
            .map(|(i, _)| i)
            .collect();
        match (open.as_slice(), vendor) {
            ([i], _) => Ok(&mut t.vendor_cases[*i]),
            ([], Some(v)) => Err(format!("{} has no open case with vendor `{v}`", t.number).into()),
            ([], None) => Err(format!("{} has no open vendor case; escalate it first", t.number).into()),
            _ => Err(format!("{} has several open vendor cases; name the vendor", t.number).into()),
        }
    }

    fn vendor_of(&self, case: &VendorCase) -> Option<&Vendor> {
        self.settings.vendors.get(&case.vendor)
    }

    /// "Waiting on Acme (case ABC123); next update by Mon 9 Mar 10:00 UTC." The time is when the requester is
    /// sent the next word on the case, whatever has happened by then (see [`FollowUp::Requester`]).
    fn waiting_line(&self, c: &VendorCase) -> String {
        let case =
            c.reference.as_deref().map(|r| format!("case {r}")).unwrap_or_else(|| "case reference to follow".into());
        let next = c.requester_update_due.map(|n| format!("; next update by {}", self.fmt_time(n))).unwrap_or_default();
        format!("Waiting on {} ({case}){next}.", c.name)
    }

    /// The ticket's working hours (its SLA policy's calendar): prompts and requester updates on its vendor cases
    /// wait for them.
    fn hours(&self, t: &Ticket) -> crate::core::calendar::Calendar {
        self.policies.pick(&t.category, t.priority, t.ticket_type).calendar.clone()
    }

    /// Recomputes each open case's next follow-up.
    fn replan(&self, t: &mut Ticket) {
        let vendors = self.settings.vendors.clone();
        let hours = self.hours(t);
        for c in t.vendor_cases.iter_mut() {
            c.next_followup = vendors.get(&c.vendor).and_then(|v| v.next_followup(c, &hours)).map(|(at, _)| at);
        }
    }

    /// Writes the ticket's follow-up schedule row: the earliest follow-up of its open cases (deleted when none).
    pub(super) async fn sync_schedule(&self, t: &Ticket, w: &mut Work) -> Result<(), DeskError> {
        let key = format!("{KEY_PREFIX}{}", t.number.0);
        let existing = self.store.conversations_of(SCHEDULE_OWNER).await?.into_iter().find(|c| c.key == key);
        let deadline = if t.state.is_active() {
            t.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open).filter_map(|c| c.next_followup).min()
        } else {
            None
        };
        w.commit.conversations.retain(|c| match c {
            ConversationWrite::Put(x) => x.key != key,
            ConversationWrite::Delete { key: k, .. } => *k != key,
        });
        match (deadline, existing) {
            (None, None) => {}
            (None, Some(c)) => w.commit.conversations.push(ConversationWrite::Delete { key, version: c.version }),
            (Some(d), existing) => {
                let version = existing.map(|c| c.version).unwrap_or(0);
                w.commit.conversations.push(ConversationWrite::Put(Conversation {
                    key,
                    owner: SCHEDULE_OWNER.into(),
                    ticket: None,
                    data: "{}".into(),
                    deadline: Some(d),
                    version,
                }));
            }
        }
        Ok(())
    }

    /// The case text sent to the vendor: the ticket's facts, the summary the technician wrote for the vendor, and
    /// its public history: what self-service tried, what the technicians told the requester and what the requester
    /// added. Internal notes (and pending reasons, kept as notes) never leave the helpdesk.
    async fn case_text(
        &self,
        t: &Ticket,
        v: &Vendor,
        summary: Option<&str>,
    ) -> Result<(String, serde_json::Value), DeskError> {
        let mut tried = vec![];
        let mut added = vec![];
        for e in self.store.events(t.number).await? {
            let by_requester = e.actor.as_ref().is_some_and(|a| a.same_person(&t.requester));
            match e.kind {
                EventKind::Runbook { runbook, transcript, .. } if !transcript.trim().is_empty() => {
                    tried.push(format!("self-service `{runbook}`: {}", transcript.trim()))
                }
                // A public reply by a person on the helpdesk's side: what was tried with the requester.
                EventKind::PublicReply { text } if e.actor.is_some() && !by_requester => tried.push(text),
                EventKind::RequesterMessage { text } if by_requester => added.push(text),
                _ => {}
            }
        }
        let place = recurring::place(&t.description);
        let mut body = format!("Ticket {} from {}: {}\n", t.number, t.requester.name, t.title);
        if let Some(a) = &v.account {
            body.push_str(&format!("Our account: {a}\n"));
        }
        if let Some(s) = summary {
            body.push_str(&format!("Summary: {s}\n"));
        }
        body.push_str(&format!("Category: {}\nPriority: {} ({})\n", t.category, t.priority, t.ticket_type));
        if let Some(p) = &place {
            body.push_str(&format!("Site/place: {p}\n"));
        }
        body.push_str(&format!("Reported: {}\n\nDescription:\n{}\n", self.fmt_time(t.created_at), t.description));
        if !added.is_empty() {
            body.push_str("\nThe requester added:\n");
            for x in &added {
                body.push_str(&format!("- {x}\n"));
            }
        }
        if !tried.is_empty() {
            body.push_str("\nAlready tried:\n");
            for x in &tried {
                body.push_str(&format!("- {x}\n"));
            }
        }
        let j = json!({
            "ticket": t.number.0,
            "title": t.title,
            "summary": summary,
            "account": v.account,
            "category": t.category,
            "priority": t.priority.as_str(),
            "type": t.ticket_type.as_str(),
            "place": place,
            "requester": t.requester.name,
            "description": t.description,
            "requester_added": added,
            "tried": tried,
            "reported_at": t.created_at.to_rfc3339(),
        });
        Ok((body, j))
    }

    /// Only the ticket's owner, or a lead or admin, acts on its vendor cases (escalate, chase, snooze, close); on
    /// a ticket nobody owns, escalating makes the technician its owner.
    fn may_act_on_cases(&self, t: &Ticket, me: &UserRef, verb: &str) -> Result<(), Refusal> {
        match &t.owner {
            Some(o) if !o.same_person(me) && !self.role_of(me).can_reassign() => Err(Refusal::audited(
                format!(
                    "{} is owned by {}: only the owner or a lead can {verb} its vendor cases. Ask {} (or a lead, to \
                     reassign it to you); you can still record what the vendor said with /ticket vendor-update.",
                    t.number, o.name, o.name
                ),
                t.number,
                verb,
            )),
            _ => Ok(()),
        }
    }

    /// A message to vendor `v` about ticket `n`: sent by deskbot (email, webhook), or, for a manual vendor, the text
    /// given to `owner` with the number to ring (`intro` says what to do with it).
    #[allow(clippy::too_many_arguments)]
    fn to_vendor_or_owner(
        &self,
        v: &Vendor,
        t: &Ticket,
        owner: Option<&UserRef>,
        what: &str,
        subject: String,
        body: String,
        json: serde_json::Value,
        intro: &str,
    ) -> Outbound {
        let n = t.number;
        match (&v.contact, v.contact.via()) {
            (_, Some(via)) => Outbound::to_vendor(VendorMessage {
                vendor: v.id.clone(),
                ticket: n,
                via,
                what: what.into(),
                subject,
                body,
                json,
            }),
            (Contact::Manual(m), _) => {
                let ring = m.phone.as_deref().map(|p| format!(" Ring {p}.")).unwrap_or_default();
                let portal = m.portal.as_deref().map(|p| format!(" Portal: {p}")).unwrap_or_default();
                let text = format!("{intro}{ring}{portal} Text:\n{subject}\n{body}");
                match owner {
                    Some(o) => Outbound::to_user(o, &self.staff_dm(), text).about(n),
                    None => self.to_queue(t.origin.platform, text).about(n),
                }
            }
            (_, None) => unreachable!("only manual vendors have no automatic contact"),
        }
    }

    /// The closure note for case `c` of ticket `t` (`why`: "resolved: …", "merged into #4"), signed by `by`.
    fn closure_message(&self, t: &Ticket, v: &Vendor, c: &VendorCase, why: &str, by: Option<&str>) -> Outbound {
        self.closure_note(t, v, c, "our ticket", why, by)
    }

    /// [`Desk::closure_message`] for the case raised under `t` only, the ticket itself going on (`/ticket
    /// vendor-close`, or a duplicate case closed when two tickets with cases at one vendor are merged).
    fn case_closure_message(&self, t: &Ticket, v: &Vendor, c: &VendorCase, why: &str, by: Option<&str>) -> Outbound {
        self.closure_note(t, v, c, "the case we raised for our ticket", why, by)
    }

    fn closure_note(
        &self,
        t: &Ticket,
        v: &Vendor,
        c: &VendorCase,
        what: &str,
        why: &str,
        by: Option<&str>,
    ) -> Outbound {
        let n = t.number;
        let reference = c.reference.as_deref().map(|r| format!(" (your ref {r})")).unwrap_or_default();
        let subject = format!("Re: [deskbot {n}] {}{reference}", c.title_for_vendor(n));
        let account = v.account.as_deref().map(|a| format!(" Our account: {a}.")).unwrap_or_default();
        let body = format!(
            "Hello {},\n\nWe have closed {what} {n}{reference} on our side: {}. No further work is needed on this \
             case; please close it on yours.{account}\n\nThank you,\n{}",
            v.name,
            why.trim_end_matches('.'),
            by.map(|b| format!("{b} for the IT helpdesk")).unwrap_or_else(|| "The IT helpdesk".into())
        );
        let j = json!({"event": "closed", "vendor": v.id, "ticket": n.0, "reference": c.reference, "reason": why, "message": body});
        let intro = format!("{} is contacted by hand: tell them the case on {n} is closed.", v.name);
        self.to_vendor_or_owner(v, t, t.owner.as_ref(), "closed", subject, body, j, &intro)
    }

    /// Tells vendor `v` that `to` is now the helpdesk's contact for case `c` of `t`.
    fn contact_change_message(&self, t: &Ticket, v: &Vendor, c: &VendorCase, to: &UserRef) -> Outbound {
        let n = t.number;
        let reference = c.reference.as_deref().map(|r| format!(" (your ref {r})")).unwrap_or_default();
        let title = c.title_for_vendor(n);
        let subject = format!("Re: [deskbot {n}] {title}{reference}");
        let account = v.account.as_deref().map(|a| format!(" Our account: {a}.")).unwrap_or_default();
        let body = format!(
            "Hello {},\n\n{} is now our contact for our ticket {n}{reference} (\"{title}\"). Please keep replying to \
             this address and quote the ticket number; nothing else changes on the case.{account}\n\nThe IT helpdesk",
            v.name, to.name
        );
        let j = json!({"event": "contact", "vendor": v.id, "ticket": n.0, "reference": c.reference, "contact": to.name, "message": body});
        self.to_vendor_or_owner(v, t, Some(to), "contact change", subject, body, j, "")
    }

    /// Closes every open case of `t` (the ticket ended: resolved, withdrawn, monitoring resolved it), each with a
    /// closure note to its vendor. Returns what the technicians are told, e.g. "PrintCo (case PC-1)".
    /// `withdrawn`: the requester no longer needs the ticket, so no case ends with the vendor's fix (nor does one
    /// the vendor never answered, whatever ended the ticket).
    pub(super) fn end_cases(
        &self,
        t: &mut Ticket,
        by: Option<&UserRef>,
        why: &str,
        withdrawn: bool,
        now: Timestamp,
        c: &mut Commit,
    ) -> Vec<String> {
        let mut ended = vec![];
        let open: Vec<usize> =
            (0..t.vendor_cases.len()).filter(|&i| t.vendor_cases[i].status == CaseStatus::Open).collect();
        for i in open {
            let case = {
                let x = &mut t.vendor_cases[i];
                x.status = CaseStatus::Closed;
                x.closed_at = Some(now);
                x.next_followup = None;
                x.ended_by_us = withdrawn || x.responded_at.is_none();
                x.clone()
            };
            let kind = EventKind::VendorClosed { vendor: case.vendor.clone() };
            c.events.push((t.number, Event { at: now, actor: by.cloned(), kind }));
            if let Some(v) = self.vendor_of(&case) {
                c.outbox.push(self.closure_message(t, v, &case, why, by.map(|b| b.name.as_str())));
            }
            let r = case.reference.as_deref().map(|r| format!(" (case {r})")).unwrap_or_default();
            ended.push(format!("{}{r}", case.name));
        }
        ended
    }

    /// Unclaiming a ticket with an open vendor case would leave the case with nobody to chase it.
    pub(super) fn refuse_unclaim_with_cases(&self, t: &Ticket) -> Result<(), Refusal> {
        let open: Vec<&str> =
            t.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open).map(|c| c.name.as_str()).collect();
        if open.is_empty() {
            return Ok(());
        }
        Err(Refusal::state(format!(
            "{} has an open case with {}: someone must own it while the vendor works on it. Hand it over with \
             /ticket assign {} NAME, or end the case first with /ticket vendor-close {}",
            t.number,
            open.join(" and "),
            t.number.0,
            t.number.0
        )))
    }

    /// The ticket's open cases pass from `from` to `to` (assign, claim): an event per case, and both technicians
    /// are told which cases, with their dues and the next follow-up.
    pub(super) fn hand_over_cases(
        &self,
        t: &Ticket,
        from: Option<&UserRef>,
        to: &UserRef,
        by: &UserRef,
        now: Timestamp,
        w: &mut Work,
    ) {
        self.hand_over(t, from, to, by, now, w, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn hand_over(
        &self,
        t: &Ticket,
        from: Option<&UserRef>,
        to: &UserRef,
        by: &UserRef,
        now: Timestamp,
        w: &mut Work,
        tell_from: bool,
    ) {
        let open: Vec<&VendorCase> = t.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open).collect();
        if open.is_empty() || from.is_some_and(|f| f.same_person(to)) {
            return;
        }
        let n = t.number;
        let mut lines = vec![];
        for c in &open {
            w.events(
                n,
                vec![Event {
                    at: now,
                    actor: Some(by.clone()),
                    kind: EventKind::VendorHandedOver { vendor: c.vendor.clone(), from: from.cloned(), to: to.clone() },
                }],
            );
            let r = c.reference.as_deref().map(|r| format!(", case {r}")).unwrap_or_default();
            let next = c.next_followup.map(|x| format!(", next follow-up {}", self.fmt_time(x))).unwrap_or_default();
            lines.push(format!(
                "{}{r}: response due {}, resolution due {}{next}",
                c.name,
                self.fmt_time(c.response_due),
                self.fmt_time(c.resolution_due)
            ));
        }
        let names: Vec<&str> = open.iter().map(|c| c.name.as_str()).collect();
        // A new owner (assign, claim) is the vendor's new contact: a vendor reached by email or webhook is told
        // whom its updates now concern, so it does not keep addressing someone who no longer works the case. (A
        // manual vendor is rung by the new owner, who gets the case list below.) A merge tells the vendor itself.
        if tell_from {
            for c in &open {
                if let Some(v) = self.vendor_of(c).filter(|v| v.contact.via().is_some()) {
                    w.send(self.contact_change_message(t, v, c, to));
                }
            }
        }
        w.send(
            Outbound::to_user(
                to,
                &self.staff_dm(),
                format!(
                    "You now own the open vendor case{} on {n}; the follow-ups come to you:\n{}",
                    if open.len() == 1 { "" } else { "s" },
                    lines.join("\n")
                ),
            )
            .about(n),
        );
        if let Some(f) = from.filter(|_| tell_from) {
            w.send(
                Outbound::to_user(
                    f,
                    &self.staff_dm(),
                    format!(
                        "Your open vendor case{} on {n} ({}) passed to {}; you get no more follow-ups for {}.",
                        if open.len() == 1 { "" } else { "s" },
                        names.join(", "),
                        to.name,
                        if open.len() == 1 { "it" } else { "them" }
                    ),
                )
                .about(n),
            );
        }
    }

    /// Merging `a` into `b`: `a`'s open cases move to `b` (the vendor is told the ticket number to quote), or,
    /// where `b` already has an open case with the same vendor, end with a closure note. `b` waits on the vendor
    /// while a case is open.
    pub(super) async fn move_cases(
        &self,
        a: &mut Ticket,
        b: &mut Ticket,
        me: &UserRef,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<(), DeskError> {
        let open: Vec<VendorCase> = a.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open).cloned().collect();
        if open.is_empty() {
            return Ok(());
        }
        let ev = |kind: EventKind| Event { at: now, actor: Some(me.clone()), kind };
        let mut moved = vec![];
        for case in open {
            let Some(v) = self.vendor_of(&case).cloned() else { continue };
            let twin = b.vendor_cases.iter().find(|x| x.vendor == case.vendor && x.status == CaseStatus::Open).cloned();
            // Both tickets have a case with this vendor: the one the vendor is working on stays (it has their
            // reference or their answer); keeping the other would close the vendor's own case and then report it
            // unanswered (#35).
            let ahead = |x: &VendorCase| (x.responded_at.is_some(), x.reference.is_some());
            if let Some(twin) = twin.clone().filter(|twin| ahead(&case) > ahead(twin)) {
                let x = b.vendor_cases.iter_mut().find(|x| x.vendor == case.vendor && x.status == CaseStatus::Open);
                if let Some(x) = x {
                    x.status = CaseStatus::Closed;
                    x.closed_at = Some(now);
                    x.next_followup = None;
                }
                w.events(b.number, vec![ev(EventKind::VendorClosed { vendor: twin.vendor.clone() })]);
                let r = case.reference.as_deref().map(|r| format!("your case {r} (")).unwrap_or_default();
                let end = if r.is_empty() { "" } else { ")" };
                let why = format!(
                    "it is the same issue as {r}our ticket {}{end}, which stays open with you; we will quote [deskbot \
                     {}] on it from now on",
                    a.number, b.number
                );
                w.send(self.case_closure_message(b, &v, &twin, &why, Some(&me.name)));
            } else if let Some(twin) = twin {
                let x = a.vendor_cases.iter_mut().find(|x| x.vendor == case.vendor && x.status == CaseStatus::Open);
                if let Some(x) = x {
                    x.status = CaseStatus::Closed;
                    x.closed_at = Some(now);
                    x.next_followup = None;
                }
                w.events(a.number, vec![ev(EventKind::VendorClosed { vendor: case.vendor.clone() })]);
                let r = twin.reference.as_deref().map(|r| format!(", your case {r}")).unwrap_or_default();
                let why = format!("it is the same issue as our ticket {}{r}, which stays open with you", b.number);
                w.send(self.closure_message(a, &v, &case, &why, Some(&me.name)));
                continue;
            }
            a.vendor_cases.retain(|x| !(x.vendor == case.vendor && x.status == CaseStatus::Open));
            w.events(
                a.number,
                vec![ev(EventKind::VendorCaseMoved { vendor: case.vendor.clone(), from: a.number, to: b.number })],
            );
            w.events(
                b.number,
                vec![ev(EventKind::VendorCaseMoved { vendor: case.vendor.clone(), from: a.number, to: b.number })],
            );
            let reference = case.reference.as_deref().map(|r| format!(" (your ref {r})")).unwrap_or_default();
            // The vendor hears the case's own title, never the surviving ticket's (its requester's words were not
            // escalated), and who its contact is now when that changes with the merge.
            let title = case.title_for_vendor(a.number);
            let subject = format!("Re: [deskbot {}] {title}{reference}", b.number);
            let contact = b.owner.clone().or_else(|| a.owner.clone());
            let contact_line = match (&contact, &a.owner) {
                (Some(c), Some(before)) if !c.same_person(before) => {
                    format!(" {} is now our contact for it; please keep replying to this address.", c.name)
                }
                (Some(c), None) => {
                    format!(" {} is now our contact for it; please keep replying to this address.", c.name)
                }
                _ => String::new(),
            };
            let body = format!(
                "Hello {},\n\nOur ticket {} (\"{title}\"{}) is now part of our ticket {}. Please quote [deskbot {}] \
                 from now on; nothing else changes on the case.{contact_line}\n\nThe IT helpdesk",
                v.name,
                a.number,
                case.reference.as_deref().map(|r| format!(", your ref {r}")).unwrap_or_default(),
                b.number,
                b.number
            );
            let j = json!({"event": "moved", "vendor": v.id, "ticket": b.number.0, "previous_ticket": a.number.0, "reference": case.reference, "message": body});
            let intro = format!("{} is contacted by hand: tell them {} is now {}.", v.name, a.number, b.number);
            let owner = b.owner.clone().or_else(|| a.owner.clone());
            w.send(self.to_vendor_or_owner(&v, b, owner.as_ref(), "moved", subject, body, j, &intro));
            let mut case = case;
            case.title = Some(title);
            moved.push(case.clone());
            // The surviving ticket's requester is promised word on it from now.
            case.requester_update_due = Some(v.requester_update_after(now, &self.hours(b)));
            w.send(self.to_requester(b, format!("{} is also with {}. {}", b.number, v.name, self.waiting_line(&case))));
            b.vendor_cases.push(case);
        }
        if moved.is_empty() {
            return Ok(());
        }
        if matches!(b.state, State::New | State::Open)
            && let Ok(e) = b.pending(State::PendingVendor, me, now)
        {
            w.events(b.number, e);
        }
        self.replan(b);
        let names: Vec<String> = moved.iter().map(|c| c.name.clone()).collect();
        // Whoever owns the surviving ticket now owns the moved cases.
        match b.owner.clone() {
            Some(to) => {
                let from = a.owner.clone();
                let mut only_moved = b.clone();
                only_moved
                    .vendor_cases
                    .retain(|c| moved.iter().any(|m| m.vendor == c.vendor) && c.status == CaseStatus::Open);
                self.hand_over(&only_moved, from.as_ref(), &to, me, now, w, false);
                if let Some(f) = from.as_ref().filter(|f| !f.same_person(&to)) {
                    let text = format!(
                        "{} was merged into {}: your open vendor case{} on it ({}) moved there, and {} owns {} now.",
                        a.number,
                        b.number,
                        if names.len() == 1 { "" } else { "s" },
                        names.join(", "),
                        to.name,
                        if names.len() == 1 { "it" } else { "them" }
                    );
                    w.send(Outbound::to_user(f, &self.staff_dm(), text).about(a.number));
                }
            }
            None if a.owner.is_some() => {
                // One owner for the vendor cases: whoever owned them owns the ticket they moved to.
                let to = a.owner.clone().expect("checked");
                if let Ok(e) = b.assign(&to, me, now) {
                    w.events(b.number, e);
                }
                let text = format!(
                    "You now own {} ({}): {} was merged into it with its open vendor {} with {}, which {} yours.",
                    b.number,
                    quote(&b.title),
                    a.number,
                    if names.len() == 1 { "case" } else { "cases" },
                    names.join(", "),
                    if names.len() == 1 { "stays" } else { "stay" }
                );
                w.send(Outbound::to_user(&to, &self.staff_dm(), text).about(b.number));
                w.send(self.to_requester(b, format!("{} is now handling your ticket {}.", to.name, b.number)));
            }
            None => {
                let text = format!(
                    "{} was merged into {}, which nobody owns, with its open case{} with {}: claim {} to chase {}.",
                    a.number,
                    b.number,
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    b.number,
                    if names.len() == 1 { "it" } else { "them" }
                );
                w.send(self.to_queue(b.origin.platform, text).about(b.number));
            }
        }
        self.sync_schedule(b, w).await?;
        self.sync_schedule(a, w).await?;
        Ok(())
    }

    /// A command on a ticket's vendor cases (already loaded and authorised as staff).
    pub(super) async fn vendor_command(
        &self,
        env: &crate::core::message::Envelope,
        cmd: Command,
        ticket: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let Some(mut t) = ticket else {
            return Ok(Flow::Refused("that command needs a ticket number".to_string().into()));
        };
        let me = &env.actor;
        let n = t.number;
        let here = |text: String| Outbound::to_user(me, &env.place, text).kind(MessageKind::Ephemeral).about(n);
        let ev = |kind: EventKind| Event { at: now, actor: Some(me.clone()), kind };
        if !t.state.is_active() {
            return Ok(Flow::Refused(format!("{n} is {}; reopen it first", t.state).into()));
        }
        let verb = cmd.verb();
        // Escalating, chasing, snoozing and closing are the owner's (or a lead's); recording what the vendor said
        // is anyone's on the desk, and the owner hears of it.
        // The vendor list too: a non-owner pressing Escalate was offered vendors only to be refused on picking one.
        let acting =
            matches!(cmd, Command::Escalate(..) | Command::VendorClose(..) | Command::Chase(..) | Command::Snooze(..));
        if acting && let Err(r) = self.may_act_on_cases(&t, me, verb) {
            return Ok(Flow::Refused(r));
        }
        let other_owner = t.owner.clone().filter(|o| !o.same_person(me));
        match cmd {
            Command::Escalate(_, None, _) => {
                let mut vs = self.settings.vendors.covering(&t.category);
                let anyway = vs.is_empty();
                if vs.is_empty() {
                    vs = self.settings.vendors.all().iter().collect();
                }
                if vs.is_empty() {
                    return Ok(Flow::Refused(
                        "no vendors are configured (`[[vendors]]` in deskbot.toml)".to_string().into(),
                    ));
                }
                // With no vendor for the category, every vendor is offered: picking one is the choice made knowingly.
                let buttons = vs
                    .iter()
                    .map(|v| {
                        let id = if anyway { format!("{}:anyway", v.id) } else { v.id.clone() };
                        Button::new(format!("Escalate to {}", v.name), command::vendor_action("escalate", n, &id))
                    })
                    .collect();
                w.send(here(format!("Escalate {n} ({}) to which vendor?", t.category)).with_buttons(buttons));
                return Ok(Flow::Ok);
            }
            Command::Escalate(_, Some(id), summary) => {
                let Some(v) = self.settings.vendors.get(&id) else {
                    let ids: Vec<&str> = self.settings.vendors.all().iter().map(|v| v.id.as_str()).collect();
                    let known = if ids.is_empty() {
                        "none are configured".to_string()
                    } else {
                        format!("known: {}", ids.join(", "))
                    };
                    return Ok(Flow::Refused(format!("unknown vendor `{id}` ({known})").into()));
                };
                // `anyway` first confirms a vendor outside the ticket's category.
                let (anyway, summary) = match summary.as_deref().map(str::trim) {
                    Some(s) if s.eq_ignore_ascii_case("anyway") => (true, None),
                    Some(s) if s.len() > 7 && s[..7].eq_ignore_ascii_case("anyway ") => {
                        (true, Some(s[7..].trim().to_string()).filter(|s| !s.is_empty()))
                    }
                    _ => (false, summary),
                };
                if !anyway && !v.categories.is_empty() && !v.categories.contains(&t.category) {
                    let others: Vec<&str> =
                        self.settings.vendors.covering(&t.category).iter().map(|v| v.id.as_str()).collect();
                    let others = if others.is_empty() {
                        format!("no vendor covers {}", t.category)
                    } else {
                        format!("for {}: {}", t.category, others.join(", "))
                    };
                    let rest = summary.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
                    return Ok(Flow::Refused(
                        format!(
                            "{} covers {}, not {} ({n}'s category; {others}). Nothing was sent. To escalate to {} \
                             anyway: /ticket escalate {} {} anyway{rest}",
                            v.name,
                            v.categories.join(", "),
                            t.category,
                            v.name,
                            n.0,
                            v.id
                        )
                        .into(),
                    ));
                }
                if t.vendor_cases.iter().any(|c| c.vendor == v.id && c.status == CaseStatus::Open) {
                    return Ok(Flow::Refused(format!("{n} already has an open case with {}", v.name).into()));
                }
                // A vendor case needs one owner: escalating a ticket nobody owns takes it, said out loud.
                let claimed = t.owner.is_none();
                if claimed {
                    match t.claim(me, now) {
                        Ok(e) => w.events(n, e),
                        Err(e) => return Ok(Flow::Refused(e.into())),
                    }
                }
                if t.state != State::PendingVendor {
                    match t.pending(State::PendingVendor, me, now) {
                        Ok(e) => w.events(n, e),
                        Err(e) => return Ok(Flow::Refused(e.into())),
                    }
                }
                let summary = summary.map(|s| super::bound_text(&s));
                let (body, facts) = self.case_text(&t, v, summary.as_deref()).await?;
                let mut case = v.open_case(me, now, &self.hours(&t));
                case.title = Some(t.title.clone());
                w.events(
                    n,
                    vec![ev(EventKind::VendorEscalated {
                        vendor: v.id.clone(),
                        via: v.contact.label().into(),
                        summary: summary.clone(),
                    })],
                );
                let subject = format!("[deskbot {n}] {}", t.title);
                let owner = t.owner.clone().unwrap_or_else(|| me.clone());
                let dues = format!(
                    "{}'s response is due {}, resolution {}",
                    v.name,
                    self.fmt_time(case.response_due),
                    self.fmt_time(case.resolution_due)
                );
                let intro = format!(
                    "{} is contacted by hand. Then record their reference with /ticket vendor-ref {} REF.",
                    v.name, n.0
                );
                w.send(self.to_vendor_or_owner(
                    v,
                    &t,
                    Some(&owner),
                    "case",
                    subject,
                    body,
                    json!({"event": "case", "vendor": v.id, "case": facts}),
                    &intro,
                ));
                let how = match &v.contact {
                    Contact::Manual(_) => "by hand (see the text to paste)".to_string(),
                    c => format!("by {}", c.label()),
                };
                if claimed {
                    w.send(here(format!("Escalated {n} to {} {how}; you own {n} now (nobody did). {dues}.", v.name)));
                    w.send(self.to_requester(&t, format!("{} is now handling your ticket {n}.", me.name)));
                } else {
                    w.send(here(format!("Escalated {n} to {} {how}; {} stays the owner. {dues}.", v.name, owner.name)));
                }
                t.vendor_cases.push(case);
                self.replan(&mut t);
                let c = t.vendor_cases.last().expect("just pushed").clone();
                w.send(self.to_requester(&t, format!("{n} has been passed to {}. {}", v.name, self.waiting_line(&c))));
            }
            Command::VendorRef(_, ref text) | Command::VendorUpdate(_, ref text) => {
                let is_ref = matches!(cmd, Command::VendorRef(..));
                let (first, rest) = text
                    .trim()
                    .split_once(char::is_whitespace)
                    .map(|(a, b)| (a, b.trim()))
                    .unwrap_or((text.trim(), ""));
                let named =
                    t.vendor_cases.iter().any(|c| c.status == CaseStatus::Open && c.vendor.eq_ignore_ascii_case(first));
                if named && rest.is_empty() {
                    // "/ticket vendor-update 1 lessor": the vendor named and nothing said; not an update "lessor".
                    let what = if is_ref { "their case reference" } else { "what they said" };
                    return Ok(Flow::Refused(format!("add {what} after `{first}`").into()));
                }
                let (vendor, text) =
                    if named { (Some(first), rest.to_string()) } else { (None, text.trim().to_string()) };
                let text = super::bound_text(&text);
                let vendors = self.settings.vendors.clone();
                let hours = self.hours(&t);
                let case = match self.pick_case(&mut t, vendor) {
                    Ok(c) => c,
                    Err(r) => return Ok(Flow::Refused(r)),
                };
                if is_ref && text.contains(char::is_whitespace) {
                    return Ok(Flow::Refused("a vendor reference is one word (e.g. ABC123)".to_string().into()));
                }
                case.responded_at.get_or_insert(now);
                let vendor = case.vendor.clone();
                if is_ref {
                    case.reference = Some(text.clone());
                    w.events(
                        n,
                        vec![ev(EventKind::VendorReference { vendor: vendor.clone(), reference: text.clone() })],
                    );
                } else {
                    case.last_update_at = Some(now);
                    case.last_update = Some(text.clone());
                    // The requester hears now, so the next promised word is a chase interval away.
                    if let Some(v) = vendors.get(&vendor) {
                        case.requester_update_due = Some(v.requester_update_after(now, &hours));
                    }
                    w.events(n, vec![ev(EventKind::VendorUpdate { vendor: vendor.clone(), text: text.clone() })]);
                }
                self.replan(&mut t);
                let c = t
                    .vendor_cases
                    .iter()
                    .find(|c| c.vendor == vendor && c.status == CaseStatus::Open)
                    .expect("picked")
                    .clone();
                if is_ref {
                    w.send(here(format!("{n}: {}'s reference is {text}.", c.name)));
                } else {
                    w.send(here(format!("{n}: update from {} recorded.", c.name)));
                    w.send(self.to_requester(
                        &t,
                        format!("Update from {} on {n}: {}\n{}", c.name, quote(&cut(&text)), self.waiting_line(&c)),
                    ));
                }
                if let Some(owner) = &other_owner {
                    let what = if is_ref { format!("reference {text}") } else { format!("update {}", quote(&text)) };
                    w.send(
                        Outbound::to_user(
                            owner,
                            &self.staff_dm(),
                            format!("{} recorded {}'s {what} on {n}.", me.name, c.name),
                        )
                        .about(n),
                    );
                }
            }
            Command::VendorClose(_, vendor, tell_vendor) => {
                let case = match self.pick_case(&mut t, vendor.as_deref()) {
                    Ok(c) => c,
                    Err(r) => return Ok(Flow::Refused(r)),
                };
                case.status = CaseStatus::Closed;
                case.closed_at = Some(now);
                case.next_followup = None;
                let case = case.clone();
                let (vid, name) = (case.vendor.clone(), case.name.clone());
                w.events(n, vec![ev(EventKind::VendorClosed { vendor: vid })]);
                let told = match self.vendor_of(&case).filter(|_| tell_vendor) {
                    Some(v) => {
                        // Only the case ends; our ticket goes on (it said "We have closed our ticket #1" while #1
                        // stayed open).
                        let why = format!("{} ended the case", me.name);
                        w.send(self.case_closure_message(&t, v, &case, &why, Some(&me.name)));
                        match v.contact {
                            Contact::Manual(_) => " Tell them by hand (see the text).".to_string(),
                            _ => format!(" {name} is sent a closure note."),
                        }
                    }
                    None => format!(" {name} was not told."),
                };
                let still_open = t.vendor_cases.iter().any(|c| c.status == CaseStatus::Open);
                if !still_open && t.state == State::PendingVendor {
                    match t.resume(me, now) {
                        Ok(e) => w.events(n, e),
                        Err(e) => return Ok(Flow::Refused(e.into())),
                    }
                }
                w.send(here(format!("The case with {name} on {n} is closed.{told}")));
                w.send(self.to_requester(&t, format!("{name} has finished their part of {n}.")));
            }
            Command::Chase(_, vendor) => {
                let case = match self.pick_case(&mut t, vendor.as_deref()) {
                    Ok(c) => c,
                    Err(r) => return Ok(Flow::Refused(r)),
                };
                case.last_chase_at = Some(now);
                case.snoozed_until = None;
                let case = case.clone();
                let Some(v) = self.vendor_of(&case) else {
                    return Ok(Flow::Refused(format!("vendor `{}` is no longer configured", case.vendor).into()));
                };
                let reference = case.reference.as_deref().map(|r| format!(" (your ref {r})")).unwrap_or_default();
                let title = case.title_for_vendor(n);
                let subject = format!("Re: [deskbot {n}] {title}{reference}");
                let since = case.last_update_at.unwrap_or(case.opened_at);
                let account = v.account.as_deref().map(|a| format!(" Our account: {a}.")).unwrap_or_default();
                let body = format!(
                    "Hello {},\n\nWe are still waiting on {}{reference}, raised {}. Our last update was {}. \
                     Please send an update; your resolution target is {}.{account}\n\n{} for the IT helpdesk",
                    v.name,
                    title,
                    self.fmt_time(case.opened_at),
                    self.fmt_time(since),
                    self.fmt_time(case.resolution_due),
                    me.name
                );
                let j = json!({"event": "chase", "vendor": v.id, "ticket": n.0, "reference": case.reference, "message": body});
                w.events(n, vec![ev(EventKind::VendorChased { vendor: v.id.clone() })]);
                match v.contact {
                    Contact::Manual(_) => {
                        let intro = format!("Chase {} by hand.", v.name);
                        let m = self.to_vendor_or_owner(v, &t, Some(me), "chase", subject, body, j, &intro);
                        w.send(here(m.text));
                    }
                    _ => w.send(self.to_vendor_or_owner(v, &t, Some(me), "chase", subject, body, j, "")),
                }
                self.replan(&mut t);
                w.send(here(format!("Chased {} on {n}{reference}.", v.name)));
            }
            Command::Snooze(_, vendor) => {
                let vendors = self.settings.vendors.clone();
                let case = match self.pick_case(&mut t, vendor.as_deref()) {
                    Ok(c) => c,
                    Err(r) => return Ok(Flow::Refused(r)),
                };
                let Some(v) = vendors.get(&case.vendor) else {
                    return Ok(Flow::Refused(format!("vendor `{}` is no longer configured", case.vendor).into()));
                };
                let until = v.snooze_until(now);
                case.snoozed_until = Some(until);
                case.last_prompt_at = Some(now);
                let name = case.name.clone();
                w.events(n, vec![ev(EventKind::VendorSnoozed { vendor: v.id.clone(), until })]);
                self.replan(&mut t);
                w.send(here(format!(
                    "Follow-ups for {name} on {n} snoozed until {} (contract warnings still come).",
                    self.fmt_time(until)
                )));
            }
            _ => return Ok(Flow::Refused("not a vendor command".to_string().into())),
        }
        // A lead (or an admin, who says so) acting on someone else's ticket: the owner hears it from deskbot.
        if acting && let Some(o) = &other_owner {
            let msg = format!("{} used /ticket {verb} on {n}, which you own.", self.acting_name(me));
            w.send(Outbound::to_user(o, &self.staff_dm(), msg).about(n));
        }
        self.sync_schedule(&t, w).await?;
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// What fell due on the vendor cases of tickets whose schedule deadline passed: contract warnings (75% to the
    /// owner, 90% to the owner and the leads, the breach to the escalation channel, the managers, the owner and the
    /// vendor's escalation contact; all recorded as `vendor_warning` events), quiet-chase prompts to the owner with
    /// Chase vendor and Snooze buttons, and the update promised to the requester. Each schedule deadline fires
    /// once; returns how many fired.
    pub(super) async fn vendor_followups(&self, now: Timestamp) -> Result<usize, DeskError> {
        let mut fired = 0;
        for conv in self.store.due_conversations(now, 100).await? {
            let Some(n) = conv.key.strip_prefix(KEY_PREFIX).and_then(crate::core::ids::TicketNo::parse) else {
                continue;
            };
            let deadline = conv.deadline.map(|d| d.timestamp_millis()).unwrap_or(0);
            let mut w = Work::new(Commit {
                dedupe_key: Some(format!("{}:due:{deadline}", conv.key)),
                at: Some(now),
                ..Commit::default()
            });
            let Some(mut t) = self.store.ticket(n).await? else {
                w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
                let _ = self.commit(w.commit).await;
                continue;
            };
            let vendors = self.settings.vendors.clone();
            let staff_dm = self.staff_dm();
            let owner = t.owner.clone();
            let platform = t.origin.platform;
            let (requester, origin) = (t.requester.clone(), t.origin.place.clone());
            // The requesters of duplicates merged into the ticket were promised the same word (#35).
            let merged: Vec<UserRef> = t.cc.iter().filter(|c| !c.same_person(&t.requester)).cloned().collect();
            let managers = self.people_for(Role::Manager, &t);
            let leads = self.people_for(Role::Lead, &t);
            let to_owner = |text: String| match &owner {
                Some(o) => Outbound::to_user(o, &staff_dm, text).about(n),
                None => self.to_queue(platform, text).about(n),
            };
            let mut out: Vec<Outbound> = vec![];
            let mut events: Vec<Event> = vec![];
            let title = t.title.clone();
            let owner_name = t.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "nobody".into());
            let hours = self.hours(&t);
            if t.state.is_active() {
                for c in t.vendor_cases.iter_mut().filter(|c| c.status == CaseStatus::Open) {
                    let Some(v) = vendors.get(&c.vendor) else { continue };
                    let case = c.reference.as_deref().map(|r| format!(" (case {r})")).unwrap_or_default();
                    let buttons = || {
                        vec![
                            Button::new("Chase vendor", command::vendor_action("chase", n, &v.id)).primary(),
                            Button::new("Snooze", command::vendor_action("snooze", n, &v.id)),
                        ]
                    };
                    // Contract warnings: after downtime only the highest level due of each target is announced;
                    // the lower ones are marked given.
                    let mut warned_now = false;
                    for target in [Target::Response, Target::Resolution] {
                        let mut top: Option<(u8, Timestamp)> = None;
                        while let Some((at, FollowUp::Target(_, p))) = v
                            .due_followups(c, now, &hours)
                            .into_iter()
                            .find(|(_, f)| matches!(f, FollowUp::Target(x, _) if *x == target))
                        {
                            c.warned.push(format!("{}:{p}", target.key()));
                            top = Some((p, at));
                        }
                        let Some((percent, at)) = top else { continue };
                        warned_now = true;
                        let due = v.level_at(c, target, 100);
                        let late = now - at > chrono::Duration::minutes(1);
                        events.push(Event {
                            at: now,
                            actor: None,
                            kind: EventKind::VendorWarning {
                                vendor: v.id.clone(),
                                target: target.key().into(),
                                percent,
                                due,
                                late,
                            },
                        });
                        let span = match target {
                            Target::Response => v.response,
                            Target::Resolution => v.resolution,
                        };
                        let unanswered = if target == Target::Response { " with no answer" } else { "" };
                        let late_note = if late {
                            format!(
                                " (late: this fell due {}, {} ago, while deskbot was not running)",
                                self.fmt_time(at),
                                human(now - at)
                            )
                        } else {
                            String::new()
                        };
                        if percent >= 100 {
                            let esc = v.escalation.as_ref();
                            let esc_note = match esc {
                                Some(e) if e.via.is_some() => {
                                    format!(" Their escalation contact {} is sent the breach.", e.describe())
                                }
                                Some(e) => format!(" Ring their escalation contact: {}.", e.describe()),
                                None => String::new(),
                            };
                            let text = format!(
                                "Vendor breach: {} missed its {span} {} target on {n}{case}{unanswered} (owner \
                                 {owner_name}, due {}): {}.{esc_note}{late_note}",
                                v.name,
                                target.key(),
                                self.fmt_time(due),
                                quote(&title)
                            );
                            let mut m = Outbound::to_channel(platform, &self.settings.escalation_channel, text.clone());
                            m.ticket = Some(n);
                            out.push(m);
                            for u in &managers {
                                out.push(Outbound::to_user(u, &staff_dm, text.clone()).about(n));
                            }
                            out.push(to_owner(text).with_buttons(buttons()));
                            if let Some(via) = esc.and_then(|e| e.via.clone()) {
                                let reference =
                                    c.reference.as_deref().map(|r| format!(" (your ref {r})")).unwrap_or_default();
                                let account =
                                    v.account.as_deref().map(|a| format!(" Our account: {a}.")).unwrap_or_default();
                                let hello = esc.and_then(|e| e.name.clone()).unwrap_or_else(|| v.name.clone());
                                let body = format!(
                                    "Hello {hello},\n\nOur case with {}{reference} for ticket {n} ({}), raised \
                                     {}, has passed its contract {} target of {span} (due {}){unanswered}. Please \
                                     see that it is dealt with and tell us when we will hear.{account}\n\nThe IT \
                                     helpdesk",
                                    v.name,
                                    c.title_for_vendor(n),
                                    self.fmt_time(c.opened_at),
                                    target.key(),
                                    self.fmt_time(due)
                                );
                                let j = json!({"event": "breach", "vendor": v.id, "ticket": n.0, "reference": c.reference,
                                    "target": target.key(), "due": due.to_rfc3339(), "account": v.account, "message": body});
                                out.push(Outbound::to_vendor(VendorMessage {
                                    vendor: v.id.clone(),
                                    ticket: n,
                                    via,
                                    what: "breach".into(),
                                    subject: format!(
                                        "[deskbot {n}] Missed {} target: {}{reference}",
                                        target.key(),
                                        c.title_for_vendor(n)
                                    ),
                                    body,
                                    json: j,
                                }));
                            }
                        } else {
                            let left = due - now;
                            let when = if left > chrono::Duration::zero() {
                                format!("in {}", human(left))
                            } else {
                                format!("{} ago", human(-left))
                            };
                            let text = format!(
                                "Vendor warning: {} has used {percent}% of its {span} {} target on {n}{case}{unanswered} \
                                 — due {} ({when}).{late_note}",
                                v.name,
                                target.key(),
                                self.fmt_time(due)
                            );
                            out.push(to_owner(text.clone()).with_buttons(buttons()));
                            if percent > WARN_FIRST {
                                for u in &leads {
                                    if !owner.as_ref().is_some_and(|o| o.same_person(u)) {
                                        out.push(Outbound::to_user(u, &staff_dm, text.clone()).about(n));
                                    }
                                }
                            }
                        }
                    }
                    // The quiet-chase prompt (a warning just now prompted the owner already).
                    if v.due_followups(c, now, &hours).iter().any(|(_, f)| *f == FollowUp::Quiet) {
                        if !warned_now {
                            let since = [Some(c.opened_at), c.last_update_at]
                                .into_iter()
                                .flatten()
                                .max()
                                .unwrap_or(c.opened_at);
                            events.push(Event {
                                at: now,
                                actor: None,
                                kind: EventKind::VendorFollowUpDue { vendor: v.id.clone(), reason: "quiet".into() },
                            });
                            out.push(
                                to_owner(format!(
                                    "No update from {} on {n}{case} since {}.",
                                    v.name,
                                    self.fmt_time(since)
                                ))
                                .with_buttons(buttons()),
                            );
                        }
                        c.last_prompt_at = Some(now);
                    } else if warned_now {
                        c.last_prompt_at = Some(now);
                    }
                    // The word promised to the requester, whatever happened.
                    if v.due_followups(c, now, &hours).iter().any(|(_, f)| *f == FollowUp::Requester) {
                        let next = v.requester_update_after(now, &hours);
                        c.requester_update_due = Some(next);
                        let news = match (&c.last_update, c.last_update_at) {
                            (Some(u), Some(at)) => {
                                format!("Their last update ({}): {}", self.fmt_time(at), sentence(u))
                            }
                            _ if c.responded_at.is_some() => "They have the case and are working on it.".into(),
                            _ => "They have not answered yet; we are following up with them.".into(),
                        };
                        let reference = c.reference.as_deref().map(|r| format!(" (case {r})")).unwrap_or_default();
                        events.push(Event {
                            at: now,
                            actor: None,
                            kind: EventKind::VendorFollowUpDue { vendor: v.id.clone(), reason: "requester".into() },
                        });
                        let said = format!(
                            "{n} is still with {}{reference}. {news} Next update by {}.",
                            v.name,
                            self.fmt_time(next)
                        );
                        for cc in &merged {
                            let text =
                                format!("{n} (which your ticket was merged into) {}", &said[n.to_string().len() + 1..]);
                            out.push(Outbound::to_user(cc, &super::conversation::own_place_of(cc), text).about(n));
                        }
                        out.push(Outbound::to_user(&requester, &origin, said).about(n));
                    }
                }
            }
            w.events(n, events);
            for m in out {
                w.send(m);
            }
            self.replan(&mut t);
            self.sync_schedule(&t, &mut w).await?;
            if !w.commit.events.is_empty() {
                w.commit.updates.push(t);
            }
            self.schedule(&mut w.commit);
            match self.commit(w.commit).await {
                Ok(Committed::Written) => fired += 1,
                Ok(Committed::Duplicate) => {}
                Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(fired)
    }

    /// Called by the vendor worker when a vendor message was delivered: an event on the ticket, and the
    /// vendor's reference if their webhook answered with one.
    pub async fn vendor_delivered(&self, item: &OutboxItem, reference: Option<String>) -> Result<(), DeskError> {
        let Some(m) = item.message.vendor.as_deref() else { return Ok(()) };
        for _ in 0..8 {
            let now = self.clock.now();
            let mut c =
                Commit { dedupe_key: Some(format!("vendor-sent:{}", item.id)), at: Some(now), ..Commit::default() };
            let kind =
                EventKind::VendorSent { vendor: m.vendor.clone(), what: m.what.clone(), attempts: item.attempts + 1 };
            c.events.push((m.ticket, Event { at: now, actor: None, kind }));
            if let Some(r) =
                reference.as_deref().map(str::trim).filter(|r| !r.is_empty() && !r.contains(char::is_whitespace))
                && let Some(mut t) = self.store.ticket(m.ticket).await?
                && let Some(case) =
                    t.vendor_cases.iter_mut().find(|x| x.vendor == m.vendor && x.status == CaseStatus::Open)
                && case.reference.is_none()
            {
                case.reference = Some(r.to_string());
                let kind = EventKind::VendorReference { vendor: m.vendor.clone(), reference: r.to_string() };
                c.events.push((m.ticket, Event { at: now, actor: None, kind }));
                c.updates.push(t);
                self.schedule(&mut c);
            }
            match self.commit(c).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Busy(m.ticket))
    }

    /// Called by the vendor worker when a send failed (the outbox retries it): an event on the ticket, and after
    /// [`TELL_OWNER_AFTER_FAILURES`] failed attempts of one message, a message to the owner (once).
    pub async fn vendor_send_failed(&self, item: &OutboxItem, error: &str) -> Result<(), DeskError> {
        let Some(m) = item.message.vendor.as_deref() else { return Ok(()) };
        let now = self.clock.now();
        let attempt = item.attempts + 1;
        let mut c = Commit {
            dedupe_key: Some(format!("vendor-failed:{}:{attempt}", item.id)),
            at: Some(now),
            ..Commit::default()
        };
        let error = super::bound_text(error);
        let kind = EventKind::VendorSendFailed {
            vendor: m.vendor.clone(),
            what: m.what.clone(),
            attempt,
            error: error.clone(),
        };
        c.events.push((m.ticket, Event { at: now, actor: None, kind }));
        if attempt == TELL_OWNER_AFTER_FAILURES
            && let Some(t) = self.store.ticket(m.ticket).await?
        {
            let name = self.settings.vendors.get(&m.vendor).map(|v| v.name.clone()).unwrap_or_else(|| m.vendor.clone());
            let text = format!(
                "Sending the {} for {} to {name} by {} has failed {attempt} times (last error: {error}). deskbot keeps retrying; reach them another way if it is urgent.",
                m.what,
                m.ticket,
                m.via.label()
            );
            c.outbox.push(match &t.owner {
                Some(o) => Outbound::to_user(o, &self.staff_dm(), text).about(t.number),
                None => self.to_queue(t.origin.platform, text).about(t.number),
            });
        }
        self.commit(c).await?;
        Ok(())
    }

    /// The vendor lines of `/ticket show`.
    pub(super) fn vendor_lines(&self, t: &Ticket, now: Timestamp) -> String {
        let mut s = String::new();
        for c in &t.vendor_cases {
            let r = c.reference.as_deref().map(|r| format!(", case {r}")).unwrap_or_default();
            let status = match c.status {
                CaseStatus::Open => "open",
                CaseStatus::Closed => "closed",
            };
            s.push_str(&format!(
                "\nVendor {} ({}){r}: {status}, opened {}",
                c.name,
                c.vendor,
                self.fmt_time(c.opened_at)
            ));
            if c.status == CaseStatus::Closed {
                // A closed case: whether the vendor met its targets, not a clock that no longer runs.
                let met = |at: Option<Timestamp>, due: Timestamp| match at {
                    Some(at) if at <= due => format!("met ({})", self.fmt_time(at)),
                    Some(at) => format!("missed (due {}, {})", self.fmt_time(due), self.fmt_time(at)),
                    None if c.closed_at.is_some_and(|at| at < due) => "none (closed before it was due)".to_string(),
                    None => format!("missed (due {}, never)", self.fmt_time(due)),
                };
                let closed = c.closed_at.map(|at| format!(" on {}", self.fmt_time(at))).unwrap_or_default();
                s.push_str(&format!(
                    "; closed{closed}; response {}, resolution {}",
                    met(c.responded_at, c.response_due),
                    met(c.closed_at, c.resolution_due)
                ));
            } else if let Some(v) = self.vendor_of(c) {
                let k = v.clock(c, now);
                s.push_str(&format!(
                    "; response due {} ({}% used), resolution due {} ({}% used)",
                    self.fmt_time(k.response_due),
                    k.response_used,
                    self.fmt_time(k.resolution_due),
                    k.resolution_used
                ));
            }
            if let (Some(at), Some(u)) = (c.last_update_at, &c.last_update) {
                s.push_str(&format!("; last update {}: {}", self.fmt_time(at), quote(u)));
            }
            if let Some(nf) = c.next_followup.filter(|_| c.status == CaseStatus::Open) {
                s.push_str(&format!("; next follow-up {}", self.fmt_time(nf)));
            }
        }
        s
    }

    /// The vendor lines of `/ticket sla`: each case's contract clocks, and the warnings and breaches recorded.
    pub(super) fn vendor_sla_lines(&self, t: &Ticket, now: Timestamp) -> String {
        let mut s = String::new();
        for c in &t.vendor_cases {
            let Some(v) = self.vendor_of(c) else { continue };
            let k = v.clock(c, now);
            let status = |target: Target, due: Timestamp, done: Option<Timestamp>, used: i32| {
                let breached = if c.breached(target) { ", BREACHED" } else { "" };
                match done {
                    Some(at) if at <= due && !c.breached(target) => {
                        format!("met at {} (due {})", self.fmt_time(at), self.fmt_time(due))
                    }
                    Some(at) => format!("missed: done {} (due {})", self.fmt_time(at), self.fmt_time(due)),
                    None if c.status == CaseStatus::Closed => format!("ended unmet (due {})", self.fmt_time(due)),
                    None if due >= now => format!("running, due {} ({used}% used)", self.fmt_time(due)),
                    None => format!("overdue since {} ({} ago){breached}", self.fmt_time(due), human(now - due)),
                }
            };
            let r = c.reference.as_deref().map(|r| format!(", case {r}")).unwrap_or_default();
            s.push_str(&format!(
                "\n· vendor {}{r} on `{}` hours, response target {}: {}",
                c.name,
                v.calendar.name,
                v.response,
                status(Target::Response, k.response_due, c.responded_at, k.response_used)
            ));
            s.push_str(&format!(
                "\n· vendor {}{r}, resolution target {}: {}",
                c.name,
                v.resolution,
                status(Target::Resolution, k.resolution_due, c.closed_at, k.resolution_used)
            ));
            let warned: Vec<String> = [Target::Response, Target::Resolution]
                .iter()
                .flat_map(|&tg| {
                    crate::core::vendor::WARN_LEVELS.iter().filter(move |&&p| c.warned_at(tg, p)).map(move |&p| {
                        if p >= 100 { format!("{} breached", tg.key()) } else { format!("{} {p}%", tg.key()) }
                    })
                })
                .collect();
            if !warned.is_empty() {
                s.push_str(&format!("\n· vendor {} warnings: {}", c.name, warned.join(", ")));
            }
        }
        s
    }

    /// `/helpdesk vendors`: the vendor directory for the desk (technicians, leads, admins and managers): contact,
    /// account number, contract hours, targets, escalation contact, and the cases open with each now.
    pub(super) async fn vendor_directory(
        &self,
        env: &crate::core::message::Envelope,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let role = self.role_of(&env.actor);
        if !role.is_staff() && role != Role::Manager {
            return Ok(Flow::Refused(
                format!("only technicians and managers can see the vendor directory (you are a {role})").into(),
            ));
        }
        let vendors = self.settings.vendors.all();
        if vendors.is_empty() {
            w.send(
                Outbound::to_user(&env.actor, &env.place, "No vendors are configured (`[[vendors]]` in deskbot.toml).")
                    .kind(MessageKind::Ephemeral),
            );
            return Ok(Flow::Ok);
        }
        let active = self
            .store
            .tickets(&crate::store::TicketFilter { active_only: true, ..crate::store::TicketFilter::default() })
            .await?;
        let mut s = format!("Vendors ({}):", vendors.len());
        for v in vendors {
            let contact = match &v.contact {
                Contact::Email(e) => format!("email {e}"),
                Contact::Webhook { url, .. } => format!("webhook {url}"),
                Contact::Manual(m) => {
                    let mut x = vec![];
                    x.extend(m.phone.as_ref().map(|p| format!("phone {p}")));
                    x.extend(m.portal.as_ref().map(|p| format!("portal {p}")));
                    format!("by hand: {}", x.join(", "))
                }
            };
            let cats = if v.categories.is_empty() { "any category".to_string() } else { v.categories.join(", ") };
            s.push_str(&format!("\n{} (`{}`) · {cats} · {contact}", v.name, v.id));
            if let Some(a) = &v.account {
                s.push_str(&format!(" · account {a}"));
            }
            s.push_str(&format!(
                "\n  hours: {} · response {}, resolution {}, chased every {}",
                v.calendar.hours(),
                v.response,
                v.resolution,
                v.chase_every
            ));
            if let Some(e) = &v.escalation {
                s.push_str(&format!("\n  escalation: {}", e.describe()));
            }
            let open: Vec<String> = active
                .iter()
                .flat_map(|t| {
                    t.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open && c.vendor == v.id).map(move |c| {
                        let r = c.reference.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                        format!("{}{r}", t.number)
                    })
                })
                .collect();
            if !open.is_empty() {
                s.push_str(&format!("\n  open cases: {}", open.join(", ")));
            }
        }
        w.send(Outbound::to_user(&env.actor, &env.place, s).kind(MessageKind::Ephemeral));
        Ok(Flow::Ok)
    }
}

/// How much of a vendor's update the requester sees in chat; the whole text stays on the ticket.
const UPDATE_SHOWN: usize = 600;

/// `text` cut to [`UPDATE_SHOWN`] bytes on a character boundary, saying so.
fn cut(text: &str) -> String {
    if text.len() <= UPDATE_SHOWN {
        return text.to_string();
    }
    format!("{}… (the rest is on the ticket)", crate::core::model::prefix(text, UPDATE_SHOWN).trim_end())
}
