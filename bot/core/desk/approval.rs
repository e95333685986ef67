//! Requests waiting for an approver's decision (#33 probe): who the approvers are, the one reminder when a business
//! day passes without a decision, telling the technicians of a decline, and what the Approve and Decline buttons of
//! a request its requester withdrew before anyone decided say (nothing changes).
//!
//! While a request waits its SLA clocks are paused (see [`crate::core::ticket::Pause::approval`]): nobody in IT may
//! act on it, as ServiceNow and Jira Service Management models have it (an approval state is a pause condition, or
//! the clocks start at approval), and an automatic acknowledgement is no first response (`itsm-model.md`).

use super::{Desk, DeskError, Work, quote};
use crate::core::duration::Span;
use crate::core::ids::UserRef;
use crate::core::message::Outbound;
use crate::core::roles::Role;
use crate::core::sla::Timer;
use crate::core::ticket::{Event, EventKind, SlaClock, Ticket, Timestamp};
use crate::store::{Commit, DueTimer, Store};

/// Key prefix of the timer that reminds the approvers: `approval:<ticket>:<ms the wait began>`.
const APPROVAL_TIMER: &str = "approval:";

/// How long a request waits for a decision before its approvers are reminded, once: a business day of the office
/// calendar of its SLA policy.
const REMIND_AFTER: Span = Span { days: 1, time: chrono::Duration::zero() };

impl<S: Store> Desk<S> {
    /// Who decides a request waiting for `approver` (a role): everyone with that role but its requester (nobody
    /// decides on their own request), or, with none, the admins (who may decide any request).
    pub(super) fn approvers_of(&self, t: &Ticket, approver: &str) -> Vec<UserRef> {
        let role = Role::parse(approver).unwrap_or(Role::Manager);
        let others = |role: Role| -> Vec<UserRef> {
            self.people_with(role, t.origin.platform).into_iter().filter(|a| !a.same_person(&t.requester)).collect()
        };
        let approvers = others(role);
        if approvers.is_empty() && role != Role::Admin { others(Role::Admin) } else { approvers }
    }

    /// The timer that reminds the approvers of a request still undecided a business day after it began to wait;
    /// none once that wait's reminder has been sent.
    pub(super) fn approval_timer(&self, t: &Ticket) -> Option<Timer> {
        t.awaiting_approval.as_ref().filter(|_| t.state.is_active())?;
        let since = t.approval_wait_since()?;
        if t.approval_reminded == Some(since) {
            return None;
        }
        let at = self.policies.pick(&t.category, t.priority, t.ticket_type).calendar.due_span(since, REMIND_AFTER);
        Some(Timer {
            ticket: t.number,
            clock: SlaClock::FirstResponse,
            percent: 0,
            at,
            due: at,
            key: format!("{APPROVAL_TIMER}{}:{}", t.number.0, since.timestamp_millis()),
        })
    }

    /// True for an approval-reminder timer.
    pub(super) fn is_approval_timer(timer: &DueTimer) -> bool {
        timer.key.starts_with(APPROVAL_TIMER)
    }

    /// A business day has passed without a decision: the approvers are asked again, once, with fresh Approve and
    /// Decline buttons (the first prompt may be long buried). False for a stale timer (decided, withdrawn, asked
    /// again since).
    pub(super) async fn fire_approval_reminder(
        &self,
        mut t: Ticket,
        timer: &DueTimer,
        now: Timestamp,
    ) -> Result<bool, DeskError> {
        let (Some(current), Some(approver), Some(since)) =
            (self.approval_timer(&t), t.awaiting_approval.clone(), t.approval_wait_since())
        else {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        };
        if current.key != timer.key {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        t.approval_reminded = Some(since);
        let mut w = Work::new(Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        });
        let text = format!(
            "Reminder: {} {} from {} has waited since {} for a {approver}'s decision, and nobody in IT may act on it \
             until then. /ticket show {} has the details.",
            t.number,
            quote(&t.title),
            t.requester.shown(),
            self.fmt_time(since),
            t.number.0
        );
        self.ask_for_approval(&t, &approver, text, &mut w);
        let mut c = w.commit;
        c.events.push((
            t.number,
            Event {
                at: now,
                actor: None,
                kind: EventKind::InternalNote {
                    text: format!("approval reminder sent: no {approver}'s decision in a business day"),
                },
            },
        ));
        c.updates.push(t);
        self.schedule(&mut c);
        self.commit_timer(c, &timer.key, true).await
    }

    /// Why Approve or Decline does nothing on a request its requester withdrew before anyone decided, if it was.
    pub(super) fn withdrawn_undecided(t: &Ticket) -> Option<String> {
        t.awaiting_approval.as_ref().filter(|_| t.withdrawn && !t.state.is_active())?;
        Some(format!(
            "{} was withdrawn by {} before anyone decided: there is nothing to approve or decline, and nothing was \
             changed.",
            t.number,
            t.requester.shown()
        ))
    }

    /// A decline, told to the technicians: the queue saw the request arrive, and its owner (if it has one) works it.
    pub(super) fn tell_declined(&self, t: &Ticket, by: &UserRef, why: &str, w: &mut Work) {
        let text =
            format!("{} declined {} ({}){why}. It is closed: nothing to do.", by.shown(), t.number, quote(&t.title));
        w.send(self.to_queue(t.origin.platform, text.clone()).about(t.number));
        if let Some(o) = t.owner.as_ref().filter(|o| !o.same_person(by)) {
            w.send(Outbound::to_user(o, &self.staff_dm(), text).about(t.number));
        }
    }

    /// A request withdrawn while it waited for a decision: its approvers hear that there is nothing to decide (their
    /// buttons say so too, and change nothing).
    pub(super) fn tell_approvers_withdrawn(&self, t: &Ticket, w: &mut Work) {
        let Some(approver) = &t.awaiting_approval else { return };
        let text = format!(
            "{} withdrew {} ({}) before it was decided: no decision is needed.",
            t.requester.shown(),
            t.number,
            quote(&t.title)
        );
        let approvers = self.approvers_of(t, approver);
        if approvers.is_empty() {
            // Nobody could be asked, and the queue was told so: it hears this instead.
            w.send(self.to_queue(t.origin.platform, text).about(t.number));
            return;
        }
        for a in approvers {
            w.send(Outbound::to_user(&a, &self.staff_dm(), text.clone()).about(t.number));
        }
    }
}
