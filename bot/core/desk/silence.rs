//! Silencing an alert ticket's group in Alertmanager from chat: `/ticket silence N DURATION [comment]` and the
//! card's "Silence 2h" button queue a silence for the silence worker (`adapters::silence`), which reports back here:
//! created (the card shows "Silenced until … by …"), failed (retried by the outbox; the technician is told after a
//! few failures, or at once when Alertmanager refuses it for good), and, by a scheduler timer, expired.

use super::{Desk, DeskError, Flow, Refusal, Work, bound_text};
use crate::core::alerts::{self, AlertInfo};
use crate::core::ids::UserRef;
use crate::core::message::{Envelope, MessageKind, Outbound};
use crate::core::silence::{Silence, SilenceRequest, SilenceState};
use crate::core::sla::Timer;
use crate::core::ticket::{Event, EventKind, SlaClock, Ticket, Timestamp};
use crate::store::{Commit, DueTimer, OutboxItem, Store, StoreError};
use chrono::Duration;

/// The technician who asked is told after this many failed attempts (deskbot goes on retrying).
pub const TELL_AFTER_FAILURES: i64 = 3;
/// Timers that tell a silence's end start with this.
const SILENCE_TIMER: &str = "silence:";
/// Longest comment sent to Alertmanager (characters).
const MAX_COMMENT: usize = 500;

impl<S: Store> Desk<S> {
    /// Why `t`'s group cannot be silenced from chat, if it cannot: not an alert ticket, not raised by Alertmanager,
    /// no `externalURL` to reach it at, or no group labels to match.
    fn unsilenceable(t: &Ticket) -> Option<String> {
        let n = t.number;
        let Some(a) = t.alert.as_deref() else {
            return Some(format!("{n} is not an alert ticket: silences are for tickets raised by Alertmanager"));
        };
        if a.group == "storm" {
            return Some(format!(
                "{n} collects an alert storm of many groups: silence those groups in Alertmanager itself"
            ));
        }
        if a.source != "alertmanager" {
            return Some(format!(
                "{n} was raised by {}, not Alertmanager: deskbot can create silences in Alertmanager alone",
                alerts::shown(&a.source)
            ));
        }
        match a.external_url.as_deref() {
            None => {
                return Some(format!(
                    "{n}'s Alertmanager did not send its address (externalURL), so deskbot cannot reach it: silence \
                     the group in Alertmanager itself"
                ));
            }
            Some(u) if !alerts::web_link(u) => {
                return Some(format!(
                    "{n}'s Alertmanager address (externalURL) is not an http or https URL: silence the group in \
                     Alertmanager itself"
                ));
            }
            Some(_) => {}
        }
        if a.group_labels.is_empty() {
            return Some(format!(
                "{n}'s alert group has no group labels (Alertmanager's group_by is empty), so a silence would match \
                 every alert: silence it in Alertmanager itself"
            ));
        }
        None
    }

    /// True when the card offers the "Silence 2h" button: an open ticket whose group fires and can be silenced.
    pub(super) fn silenceable(t: &Ticket) -> bool {
        t.state.is_active()
            && t.alert.as_deref().is_some_and(|a| a.firing_or_left_out() > 0)
            && Self::unsilenceable(t).is_none()
    }

    /// `/ticket silence N DURATION [comment]` (and the card's button): queues the silence for Alertmanager and
    /// shows it on the card as asked for. A silence in force is replaced (its id goes with the request).
    pub(super) fn silence_command(
        &self,
        env: &Envelope,
        length: Duration,
        comment: Option<String>,
        ticket: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Flow, DeskError> {
        let Some(mut t) = ticket else {
            return Ok(Flow::Refused("that command needs a ticket number".to_string().into()));
        };
        let n = t.number;
        if let Err(e) = crate::core::silence::check_length(length) {
            return Ok(Flow::Refused(Refusal::state(e)));
        }
        if let Some(why) = Self::unsilenceable(&t) {
            return Ok(Flow::Refused(Refusal::state(why)));
        }
        if !t.state.is_active() {
            return Ok(Flow::Refused(Refusal::state(format!("{n} is {}; reopen it first", t.state))));
        }
        let me = &env.actor;
        let info: &mut AlertInfo = t.alert.as_deref_mut().expect("checked above");
        let until = now + length;
        let said = comment.as_deref().map(bound_text).map(|c| c.trim().chars().take(MAX_COMMENT).collect::<String>());
        let comment = match said.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => format!("deskbot {n}: {c}"),
            None => format!("deskbot {n}: {}", info.summary.chars().take(MAX_COMMENT).collect::<String>()),
        };
        let replaces = info
            .silence
            .as_ref()
            .filter(|s| s.state == SilenceState::Active && s.ends_at > now)
            .and_then(|s| s.id.clone());
        let request = SilenceRequest {
            ticket: n,
            alertmanager: info.external_url.clone().expect("checked above"),
            matchers: info.group_labels.clone(),
            starts_at: now,
            ends_at: until,
            by: me.clone(),
            comment: comment.clone(),
            replaces,
        };
        let matchers = request.matcher_text();
        let host = request.alertmanager.clone();
        info.silence = Some(Silence {
            state: SilenceState::Requested,
            by: me.clone(),
            starts_at: now,
            ends_at: until,
            id: None,
            error: None,
        });
        let kind = EventKind::SilenceRequested { until, matchers: matchers.clone(), comment };
        w.events(n, vec![Event { at: now, actor: Some(me.clone()), kind }]);
        w.send(Outbound::to_alertmanager(request));
        w.send(
            Outbound::to_user(
                me,
                &env.place,
                format!(
                    "Asked Alertmanager ({host}) to silence {n}'s alert group ({matchers}) until {}; the card shows it \
                 once Alertmanager confirms.",
                    self.fmt_time(until)
                ),
            )
            .kind(MessageKind::Ephemeral)
            .about(n),
        );
        self.alert_card(&mut t, now, true, w);
        w.commit.updates.push(t);
        Ok(Flow::Ok)
    }

    /// The silence on `item`'s ticket asked for at `r.starts_at`, if it is still the ticket's latest.
    fn current_silence<'t>(t: &'t mut Ticket, r: &SilenceRequest) -> Option<&'t mut Silence> {
        t.alert.as_deref_mut()?.silence.as_mut().filter(|s| s.starts_at == r.starts_at && s.by.same_person(&r.by))
    }

    /// Called by the silence worker when Alertmanager created the silence (`id`: its `silenceID`): an event, the
    /// card shows it, the technician is told, and its end is a scheduler timer.
    pub async fn silence_created(&self, item: &OutboxItem, id: &str) -> Result<(), DeskError> {
        let Some(r) = item.message.silence.as_deref() else { return Ok(()) };
        let id: String = id.trim().chars().filter(|c| !c.is_control()).take(100).collect();
        for _ in 0..8 {
            let now = self.clock.now();
            let Some(mut t) = self.store.ticket(r.ticket).await? else { return Ok(()) };
            let mut w = Work::new(Commit {
                dedupe_key: Some(format!("silence-created:{}", item.id)),
                at: Some(now),
                ..Commit::default()
            });
            let kind = EventKind::Silenced { id: id.clone(), until: r.ends_at, attempts: item.attempts + 1 };
            w.events(t.number, vec![Event { at: now, actor: None, kind }]);
            // A request overtaken by a later one is only recorded: the card follows the latest.
            if let Some(s) = Self::current_silence(&mut t, r) {
                s.state = SilenceState::Active;
                s.id = Some(id.clone());
                s.error = None;
                let text = format!(
                    "Alertmanager silenced {}'s alert group ({}) until {} (silence {id}).",
                    t.number,
                    r.matcher_text(),
                    self.fmt_time(r.ends_at)
                );
                w.send(Outbound::to_user(&r.by, &self.staff_dm(), text).about(t.number));
                if t.state.is_active() {
                    self.alert_card(&mut t, now, true, &mut w);
                }
                w.commit.updates.push(t);
                self.schedule(&mut w.commit);
            }
            match self.commit(w.commit).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Busy(r.ticket))
    }

    /// Called by the silence worker when creating the silence failed. `gave_up`: Alertmanager refused it for good
    /// (a 4xx) or the outbox is out of retries: the card says so and the technician is told at once. Otherwise the
    /// outbox retries, and the technician is told once, after [`TELL_AFTER_FAILURES`] failures.
    pub async fn silence_failed(&self, item: &OutboxItem, error: &str, gave_up: bool) -> Result<(), DeskError> {
        let Some(r) = item.message.silence.as_deref() else { return Ok(()) };
        let attempt = item.attempts + 1;
        let error = bound_text(error);
        for _ in 0..8 {
            let now = self.clock.now();
            let Some(mut t) = self.store.ticket(r.ticket).await? else { return Ok(()) };
            let n = t.number;
            let mut w = Work::new(Commit {
                dedupe_key: Some(format!("silence-failed:{}:{attempt}", item.id)),
                at: Some(now),
                ..Commit::default()
            });
            let kind = EventKind::SilenceFailed { attempt, error: error.clone(), gave_up };
            w.events(n, vec![Event { at: now, actor: None, kind }]);
            let current = Self::current_silence(&mut t, r).is_some();
            let tell = if gave_up {
                Some(format!(
                    "Alertmanager did not create the silence for {n} ({}) after {attempt} attempt(s): {error}. Nothing \
                     was silenced; silence the group in Alertmanager itself, or try again.",
                    r.matcher_text()
                ))
            } else if attempt == TELL_AFTER_FAILURES {
                Some(format!(
                    "Creating the silence for {n} in Alertmanager has failed {attempt} times (last error: {error}). \
                     deskbot keeps retrying; silence the group in Alertmanager itself if it is urgent."
                ))
            } else {
                None
            };
            if let Some(text) = tell {
                w.send(Outbound::to_user(&r.by, &self.staff_dm(), text).about(n));
            }
            if gave_up && current {
                if let Some(s) = Self::current_silence(&mut t, r) {
                    s.state = SilenceState::Failed;
                    s.error = Some(error.clone());
                }
                if t.state.is_active() {
                    self.alert_card(&mut t, now, true, &mut w);
                }
                w.commit.updates.push(t);
                self.schedule(&mut w.commit);
            }
            match self.commit(w.commit).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Busy(r.ticket))
    }

    /// The timer at the end of `t`'s silence in force, if it has one.
    pub(super) fn silence_timer(t: &Ticket) -> Option<Timer> {
        let s = t.alert.as_deref()?.silence.as_ref().filter(|s| s.state == SilenceState::Active)?;
        Some(Timer {
            ticket: t.number,
            clock: SlaClock::Resolution,
            percent: 0,
            at: s.ends_at,
            due: s.ends_at,
            key: format!("{SILENCE_TIMER}{}:{}", t.number.0, s.ends_at.timestamp_millis()),
        })
    }

    /// True for the timer at a silence's end.
    pub(super) fn is_silence_timer(timer: &DueTimer) -> bool {
        timer.key.starts_with(SILENCE_TIMER)
    }

    /// A silence ended: if the ticket is still open, its owner (or the queue) is told and the card says so; a
    /// ticket that ended meanwhile only records it. False for a stale timer or a ticket no longer open.
    pub(super) async fn fire_silence(
        &self,
        mut t: Ticket,
        timer: &DueTimer,
        now: Timestamp,
    ) -> Result<bool, DeskError> {
        if Self::silence_timer(&t).is_none_or(|x| x.key != timer.key) {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        let mut w = Work::new(Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        });
        let Some(info) = t.alert.as_deref_mut() else { return Ok(false) };
        let firing = info.firing_or_left_out();
        let Some(s) = info.silence.as_mut() else { return Ok(false) };
        s.state = SilenceState::Expired;
        let (by, until): (UserRef, Timestamp) = (s.by.clone(), s.ends_at);
        let open = t.state.is_active();
        if open {
            w.events(t.number, vec![Event { at: now, actor: None, kind: EventKind::SilenceExpired { until } }]);
            let now_firing = match firing {
                0 => "monitoring reports none of its alerts firing now".to_string(),
                n => format!("{n} alert(s) of the group still firing, so Alertmanager notifies about them again"),
            };
            let text = format!(
                "The silence on {} expired ({} set it until {}): {now_firing}.",
                t.number,
                by.shown(),
                self.fmt_time(until)
            );
            w.send(self.tell_owner_or_queue(&t, text));
            self.alert_card(&mut t, now, true, &mut w);
        }
        w.commit.updates.push(t);
        self.schedule(&mut w.commit);
        Ok(self.commit_timer(w.commit, &timer.key, false).await? && open)
    }

    /// The card's silence line (open tickets): asked for, in force, failed, or expired.
    pub(super) fn silence_line(&self, t: &Ticket) -> Option<String> {
        let s = t.alert.as_deref()?.silence.as_ref().filter(|_| t.state.is_active())?;
        let (by, until) = (s.by.shown(), self.fmt_time(s.ends_at));
        Some(match s.state {
            SilenceState::Requested => format!("Silence until {until} asked by {by}; waiting for Alertmanager"),
            SilenceState::Active => format!("Silenced until {until} by {by}"),
            SilenceState::Failed => format!(
                "Silence asked by {by} failed: {}",
                crate::core::message::quoted(s.error.as_deref().unwrap_or("Alertmanager did not create it"))
            ),
            SilenceState::Expired => format!("Silence by {by} expired {until}"),
        })
    }
}
