//! Vendor escalation: `/ticket escalate`, the vendor case on the ticket (reference, updates, close), follow-up
//! prompts with Chase and Snooze buttons, and what the vendor worker reports back (sent, failed).
//!
//! The ticket keeps its one owner. Sends to vendors are outbox messages of platform `vendor`; the follow-up
//! schedule is a conversation row `vendor:N` whose deadline is the earliest follow-up of the ticket's open cases,
//! so it fires once (keyed by the deadline) and survives restarts.

use super::{Desk, DeskError, Flow, Refusal, Work, quote, sentence};
use crate::core::command::{self, Command};
use crate::core::ids::Place;
use crate::core::message::{Button, MessageKind, Outbound};
use crate::core::recurring;
use crate::core::ticket::{Event, EventKind, State, Ticket, Timestamp};
use crate::core::vendor::{
    CaseStatus, Contact, FollowUp, TELL_OWNER_AFTER_FAILURES, Vendor, VendorCase, VendorMessage,
};
use crate::store::{Commit, Committed, Conversation, ConversationWrite, OutboxItem, Store, StoreError};
use serde_json::json;

/// Conversation keys of vendor follow-up schedules start with this, followed by the ticket number.
const KEY_PREFIX: &str = "vendor:";
/// The `owner` of every vendor schedule row (not a person: the schedule belongs to the ticket).
const SCHEDULE_OWNER: &str = "vendor-cases";

impl<S: Store> Desk<S> {
    fn staff_dm(&self) -> Place {
        Place { dm: true, ..self.staff_place() }
    }

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

    /// "Waiting on Acme (case ABC123); next update by Mon 9 Mar 10:00 UTC."
    fn waiting_line(&self, c: &VendorCase) -> String {
        let case =
            c.reference.as_deref().map(|r| format!("case {r}")).unwrap_or_else(|| "case reference to follow".into());
        let next = c.next_followup.map(|n| format!("; next update by {}", self.fmt_time(n))).unwrap_or_default();
        format!("Waiting on {} ({case}){next}.", c.name)
    }

    /// Recomputes each open case's next follow-up.
    fn replan(&self, t: &mut Ticket) {
        let vendors = self.settings.vendors.clone();
        for c in t.vendor_cases.iter_mut() {
            c.next_followup = vendors.get(&c.vendor).and_then(|v| v.next_followup(c)).map(|(at, _)| at);
        }
    }

    /// Writes the ticket's follow-up schedule row: the earliest follow-up of its open cases (deleted when none).
    async fn sync_schedule(&self, t: &Ticket, w: &mut Work) -> Result<(), DeskError> {
        let key = format!("{KEY_PREFIX}{}", t.number.0);
        let existing = self.store.conversations_of(SCHEDULE_OWNER).await?.into_iter().find(|c| c.key == key);
        let deadline = if t.state.is_active() {
            t.vendor_cases.iter().filter(|c| c.status == CaseStatus::Open).filter_map(|c| c.next_followup).min()
        } else {
            None
        };
        w.commit.conversations.retain(|c| !matches!(c, ConversationWrite::Put(x) if x.key == key));
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

    /// The case text sent to the vendor: the ticket's facts and what was tried.
    async fn case_text(&self, t: &Ticket, summary: Option<&str>) -> Result<(String, serde_json::Value), DeskError> {
        let mut tried = vec![];
        for e in self.store.events(t.number).await? {
            match e.kind {
                EventKind::Runbook { runbook, transcript, .. } if !transcript.trim().is_empty() => {
                    tried.push(format!("self-service `{runbook}`: {}", transcript.trim()))
                }
                EventKind::InternalNote { text } => tried.push(text),
                _ => {}
            }
        }
        let place = recurring::place(&t.description);
        let mut body = format!("Ticket {} from {}: {}\n", t.number, t.requester.name, t.title);
        if let Some(s) = summary {
            body.push_str(&format!("Summary: {s}\n"));
        }
        body.push_str(&format!("Category: {}\nPriority: {} ({})\n", t.category, t.priority, t.ticket_type));
        if let Some(p) = &place {
            body.push_str(&format!("Site/place: {p}\n"));
        }
        body.push_str(&format!("Reported: {}\n\nDescription:\n{}\n", self.fmt_time(t.created_at), t.description));
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
            "category": t.category,
            "priority": t.priority.as_str(),
            "type": t.ticket_type.as_str(),
            "place": place,
            "requester": t.requester.name,
            "description": t.description,
            "tried": tried,
            "reported_at": t.created_at.to_rfc3339(),
        });
        Ok((body, j))
    }

    /// A command on a ticket's vendor cases (already loaded and authorised).
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
        match cmd {
            Command::Escalate(_, None, _) => {
                let mut vs = self.settings.vendors.covering(&t.category);
                if vs.is_empty() {
                    vs = self.settings.vendors.all().iter().collect();
                }
                if vs.is_empty() {
                    return Ok(Flow::Refused(
                        "no vendors are configured (`[[vendors]]` in deskbot.toml)".to_string().into(),
                    ));
                }
                let buttons = vs
                    .iter()
                    .map(|v| {
                        Button::new(format!("Escalate to {}", v.name), command::vendor_action("escalate", n, &v.id))
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
                if t.vendor_cases.iter().any(|c| c.vendor == v.id && c.status == CaseStatus::Open) {
                    return Ok(Flow::Refused(format!("{n} already has an open case with {}", v.name).into()));
                }
                if t.owner.is_none() {
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
                let (body, facts) = self.case_text(&t, summary.as_deref()).await?;
                let case = v.open_case(me, now);
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
                match (&v.contact, v.contact.via()) {
                    (_, Some(via)) => w.send(Outbound::to_vendor(VendorMessage {
                        vendor: v.id.clone(),
                        ticket: n,
                        via,
                        what: "case".into(),
                        subject,
                        body,
                        json: json!({"event": "case", "vendor": v.id, "case": facts}),
                    })),
                    (Contact::Manual(m), None) => {
                        let ring = m.phone.as_deref().map(|p| format!(" Ring {p}")).unwrap_or_default();
                        let portal = m.portal.as_deref().map(|p| format!(" Portal: {p}")).unwrap_or_default();
                        let text = format!(
                            "{} is contacted by hand.{ring}{portal} Then record their reference with /ticket vendor-ref {} REF. Text to paste:\n{subject}\n{body}",
                            v.name, n.0
                        );
                        w.send(Outbound::to_user(&owner, &self.staff_dm(), text).about(n));
                    }
                    (_, None) => unreachable!("only manual vendors have no automatic contact"),
                }
                let how = match &v.contact {
                    Contact::Manual(_) => "by hand (see the text to paste)".to_string(),
                    c => format!("by {}", c.label()),
                };
                w.send(here(format!("Escalated {n} to {} {how}; {} stays the owner. {dues}.", v.name, owner.name)));
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
                let (vendor, text) = if named && !rest.is_empty() {
                    (Some(first), rest.to_string())
                } else {
                    (None, text.trim().to_string())
                };
                let text = super::bound_text(&text);
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
                        format!("Update from {} on {n}: {}\n{}", c.name, sentence(&text), self.waiting_line(&c)),
                    ));
                }
                if let Some(owner) = t.owner.as_ref().filter(|o| !o.same_person(me)) {
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
            Command::VendorClose(_, vendor) => {
                let case = match self.pick_case(&mut t, vendor.as_deref()) {
                    Ok(c) => c,
                    Err(r) => return Ok(Flow::Refused(r)),
                };
                case.status = CaseStatus::Closed;
                case.closed_at = Some(now);
                case.next_followup = None;
                let (vid, name) = (case.vendor.clone(), case.name.clone());
                w.events(n, vec![ev(EventKind::VendorClosed { vendor: vid })]);
                let still_open = t.vendor_cases.iter().any(|c| c.status == CaseStatus::Open);
                if !still_open && t.state == State::PendingVendor {
                    match t.resume(me, now) {
                        Ok(e) => w.events(n, e),
                        Err(e) => return Ok(Flow::Refused(e.into())),
                    }
                }
                w.send(here(format!("The case with {name} on {n} is closed.")));
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
                let subject = format!("Re: [deskbot {n}] {}{reference}", t.title);
                let since = case.last_update_at.unwrap_or(case.opened_at);
                let body = format!(
                    "Hello {},\n\nWe are still waiting on {}{reference}, raised {}. Our last update was {}. \
                     Please send an update; your resolution target is {}.\n\n{} for the IT helpdesk",
                    v.name,
                    t.title,
                    self.fmt_time(case.opened_at),
                    self.fmt_time(since),
                    self.fmt_time(case.resolution_due),
                    me.name
                );
                let j = json!({"event": "chase", "vendor": v.id, "ticket": n.0, "reference": case.reference, "message": body});
                w.events(n, vec![ev(EventKind::VendorChased { vendor: v.id.clone() })]);
                match (&v.contact, v.contact.via()) {
                    (_, Some(via)) => w.send(Outbound::to_vendor(VendorMessage {
                        vendor: v.id.clone(),
                        ticket: n,
                        via,
                        what: "chase".into(),
                        subject,
                        body,
                        json: j,
                    })),
                    (Contact::Manual(m), None) => {
                        let ring = m.phone.as_deref().map(|p| format!(" Ring {p}.")).unwrap_or_default();
                        w.send(here(format!("Chase {} by hand.{ring} Text:\n{subject}\n{body}", v.name)));
                    }
                    (_, None) => unreachable!("only manual vendors have no automatic contact"),
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
                w.send(here(format!("Follow-ups for {name} on {n} snoozed until {}.", self.fmt_time(until))));
            }
            _ => return Ok(Flow::Refused("not a vendor command".to_string().into())),
        }
        self.sync_schedule(&t, w).await?;
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// Follow-up prompts that fell due: the owner gets Chase vendor and Snooze buttons. Each schedule deadline
    /// fires once; returns how many fired.
    pub(super) async fn vendor_followups(&self, now: Timestamp) -> Result<usize, DeskError> {
        let mut fired = 0;
        for conv in self.store.due_conversations(now, 100).await? {
            let Some(n) = conv.key.strip_prefix(KEY_PREFIX).and_then(crate::core::ids::TicketNo::parse) else {
                continue;
            };
            let deadline = conv.deadline.map(|d| d.timestamp_millis()).unwrap_or(0);
            let mut w = Work {
                commit: Commit {
                    dedupe_key: Some(format!("{}:due:{deadline}", conv.key)),
                    at: Some(now),
                    ..Commit::default()
                },
            };
            let Some(mut t) = self.store.ticket(n).await? else {
                w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
                let _ = self.commit(w.commit).await;
                continue;
            };
            let vendors = self.settings.vendors.clone();
            let mut prompts = vec![];
            if t.state.is_active() {
                for c in t.vendor_cases.iter_mut().filter(|c| c.status == CaseStatus::Open) {
                    let Some(v) = vendors.get(&c.vendor) else { continue };
                    let Some((at, why)) = v.next_followup(c) else { continue };
                    if at > now {
                        continue;
                    }
                    match why {
                        FollowUp::Response | FollowUp::Resolution => c.warned.push(why.key().into()),
                        FollowUp::Quiet => {}
                    }
                    c.last_prompt_at = Some(now);
                    let case = c.reference.as_deref().map(|r| format!(" (case {r})")).unwrap_or_default();
                    let text = match why {
                        FollowUp::Response => format!(
                            "{} has used 75% of its {} response target on {n}{case} with no answer (due {}).",
                            v.name,
                            v.response,
                            self.fmt_time(c.response_due)
                        ),
                        FollowUp::Resolution => format!(
                            "{} has used 75% of its {} resolution target on {n}{case} (due {}).",
                            v.name,
                            v.resolution,
                            self.fmt_time(c.resolution_due)
                        ),
                        FollowUp::Quiet => {
                            let since = [Some(c.opened_at), c.last_update_at]
                                .into_iter()
                                .flatten()
                                .max()
                                .unwrap_or(c.opened_at);
                            format!("No update from {} on {n}{case} since {}.", v.name, self.fmt_time(since))
                        }
                    };
                    prompts.push((v.id.clone(), why, text));
                }
            }
            for (vid, why, text) in prompts {
                w.events(
                    n,
                    vec![Event {
                        at: now,
                        actor: None,
                        kind: EventKind::VendorFollowUpDue { vendor: vid.clone(), reason: why.key().into() },
                    }],
                );
                let buttons = vec![
                    Button::new("Chase vendor", command::vendor_action("chase", n, &vid)).primary(),
                    Button::new("Snooze", command::vendor_action("snooze", n, &vid)),
                ];
                let m = match &t.owner {
                    Some(o) => Outbound::to_user(o, &self.staff_dm(), text).about(n),
                    None => self.to_queue(t.origin.platform, text).about(n),
                };
                w.send(m.with_buttons(buttons));
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
            if let Some(v) = self.vendor_of(c) {
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
}
