//! Monitoring alerts into tickets: one ticket per alert group while it fires, updated (not re-opened) by
//! repeats and new alerts of the group, resolved by the alert's resolution when no person has touched it,
//! reopened when it flaps, and folded into one storm ticket past a per-source hourly cap.
//!
//! One process handles one group at a time (a lock per group), and storage keeps at most one active ticket per
//! group (a unique index), so parallel notifications of a group, or two replicas, never open two tickets.

use super::{Desk, DeskError, Work, quote};
use crate::core::alerts::{self, AlertGroup, AlertInfo, AlertRule, MONITOR_PREFIX, MergedGroup, shown};
use crate::core::duration::human;
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::{Outbound, quoted};
use crate::core::sla::Timer;
use crate::core::ticket::{Event, EventKind, NewTicket, Origin, Priority, SlaClock, Ticket, TicketType, Timestamp};
use crate::store::{Commit, Committed, DueTimer, Store, StoreError};
use chrono::Duration;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// How alerts become tickets (from `[alerts]` in the configuration).
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Whose queue channel gets alert tickets' cards (and where owners are told).
    pub platform: Platform,
    /// A group that fires again within this long after its ticket was resolved reopens that ticket.
    pub reopen_within: Duration,
    /// New alert tickets per source per hour; past it, groups fold into one storm ticket.
    pub max_new_tickets_per_hour: i64,
    /// Reopens of a flapping group are told on the first flap, then every this many (the card follows each).
    pub flap_notice_every: u32,
    /// Category when no rule or label says.
    pub default_category: String,
    /// Label rules, first match wins.
    pub rules: Vec<AlertRule>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            platform: Platform::Http,
            reopen_within: Duration::minutes(30),
            max_new_tickets_per_hour: 20,
            flap_notice_every: 5,
            default_category: "other".into(),
            rules: vec![],
        }
    }
}

/// What one alert notification did (the intake answers with it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertOutcome {
    pub opened: Vec<TicketNo>,
    pub updated: Vec<TicketNo>,
    pub resolved: Vec<TicketNo>,
    pub reopened: Vec<TicketNo>,
    /// Groups folded into the storm ticket.
    pub folded: u64,
    /// Resolved alerts with no open ticket (already handled), and repeats that changed nothing.
    pub unchanged: u64,
    /// The same notification was already handled.
    pub duplicate: bool,
}

/// Card updates for one ticket are posted at most this often, unless its state changes; one held back is posted
/// at the end of the minute.
const CARD_EVERY: Duration = Duration::seconds(60);
/// An Alertmanager notification identical to one handled this recently (at least; at most twice this) is a
/// redelivery of it (a retry, an HA pair's twin); later, it is Alertmanager's `repeat_interval` notification.
pub const REDELIVERY_WINDOW: Duration = Duration::minutes(5);
/// Timers that post a held-back card start with this (the rest are SLA timers).
const CARD_TIMER: &str = "card:";
/// Timers that tell a flapping ticket's settled state start with this.
const SETTLE_TIMER: &str = "settle:";
/// How long after the last flap notice held back the owner (or the queue) is told the state the ticket settled in.
const SETTLE_AFTER: Duration = Duration::minutes(10);
/// Folded groups named on the storm ticket.
const STORM_EXAMPLES: usize = 20;
/// Alerts of a group named on its card (the rest are counted).
const CARD_ALERTS: usize = 5;
/// Longest description on a card (characters; the ticket keeps what was sent).
const CARD_DESCRIPTION: usize = 300;
/// Most alerts' own source links on a card, when they differ.
const CARD_SOURCES: usize = 3;
/// Longest "what tells it apart" beside an alert's source link (characters).
const CARD_SOURCE_LABELS: usize = 100;
/// Labels of a group shown on its card (the rest are counted).
const CARD_LABELS: usize = 8;
/// Values of a label that differs among a group's alerts shown on its card (the rest are counted).
const CARD_VALUES: usize = 3;

/// Tickets read or made while handling one notification: each at most once (by number), with what was read, so
/// that only tickets that changed are written.
#[derive(Default)]
struct Batch {
    tickets: HashMap<TicketNo, Ticket>,
    /// As read from the store; `None` for tickets made in this batch.
    read: HashMap<TicketNo, Option<Ticket>>,
    order: Vec<TicketNo>,
    /// A group's (or storm's) origin thread → its current ticket.
    by_thread: HashMap<String, TicketNo>,
    opened_this_hour: HashMap<String, i64>,
}

impl Batch {
    fn add(&mut self, t: Ticket, new: bool) -> TicketNo {
        let n = t.number;
        if !self.tickets.contains_key(&n) {
            self.read.insert(n, (!new).then(|| t.clone()));
            self.order.push(n);
            self.tickets.insert(n, t);
        }
        n
    }
    fn get(&self, n: TicketNo) -> Option<&Ticket> {
        self.tickets.get(&n)
    }
    fn get_mut(&mut self, n: TicketNo) -> Option<&mut Ticket> {
        self.tickets.get_mut(&n)
    }
    fn is_new(&self, n: TicketNo) -> bool {
        matches!(self.read.get(&n), Some(None))
    }
    /// New tickets and changed ones into the commit.
    fn into_commit(mut self, c: &mut Commit) {
        for n in self.order {
            let Some(t) = self.tickets.remove(&n) else { continue };
            match self.read.remove(&n) {
                Some(None) => c.inserts.push(t),
                Some(Some(before)) if before != t => c.updates.push(t),
                _ => {}
            }
        }
    }
}

/// One lock per alert group (and storm) in this process: notifications of one group are handled one after the
/// other, so two at once cannot both find no ticket and open one each.
#[derive(Default)]
pub(super) struct GroupLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl GroupLocks {
    /// Locks every key (in order, so two callers cannot wait on each other).
    async fn lock(&self, mut keys: Vec<String>) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        keys.sort();
        keys.dedup();
        let mut held = Vec::with_capacity(keys.len());
        for k in keys {
            let m = self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(k).or_default().clone();
            held.push(m.lock_owned().await);
        }
        held
    }
    /// Forgets locks nobody holds or waits for.
    fn tidy(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, m| Arc::strong_count(m) > 1);
    }
}

impl<S: Store> Desk<S> {
    /// Turns alert groups into ticket changes, all in one commit. `dedupe_key` makes a redelivered notification a
    /// no-op; without one, a repeat still changes nothing (alerts already firing are not news).
    pub async fn alerts(&self, groups: &[AlertGroup], dedupe_key: Option<&str>) -> Result<AlertOutcome, DeskError> {
        self.alerts_keyed(groups, dedupe_key, &[]).await
    }

    /// An Alertmanager notification (`body` as sent, `group` parsed from it). The same body again within
    /// [`REDELIVERY_WINDOW`] is a redelivery and changes nothing; the same body later is Alertmanager repeating the
    /// group (`repeat_interval`) and is handled as such: if a technician resolved the ticket while the alerts still
    /// fired, it opens a new one. `serve` and `replay` both come here.
    pub async fn alertmanager_notification(&self, body: &[u8], group: AlertGroup) -> Result<AlertOutcome, DeskError> {
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(body).iter().take(16).map(|b| format!("{b:02x}")).collect();
        let window = self.clock.now().timestamp().div_euclid(REDELIVERY_WINDOW.num_seconds());
        if self.store.seen(&format!("alertmanager:{digest}:{}", window - 1)).await? {
            return Ok(AlertOutcome { duplicate: true, ..AlertOutcome::default() });
        }
        self.alerts_keyed(&[group], Some(&format!("alertmanager:{digest}:{window}")), &[]).await
    }

    /// [`Desk::alerts`], recording `also` (keys that mark what was handled, such as an Idempotency-Key's body) with
    /// the dedupe key.
    pub async fn alerts_keyed(
        &self,
        groups: &[AlertGroup],
        dedupe_key: Option<&str>,
        also: &[String],
    ) -> Result<AlertOutcome, DeskError> {
        let keys = groups.iter().map(|g| Self::alert_place(&g.source, &g.key).thread.unwrap_or_default()).collect();
        let held = self.alert_locks.lock(keys).await;
        let result = self.alerts_locked(groups, dedupe_key, also).await;
        drop(held);
        self.alert_locks.tidy();
        result
    }

    async fn alerts_locked(
        &self,
        groups: &[AlertGroup],
        dedupe_key: Option<&str>,
        also: &[String],
    ) -> Result<AlertOutcome, DeskError> {
        let mut last_conflict = TicketNo(0);
        for _ in 0..8 {
            if let Some(k) = dedupe_key
                && self.store.seen(k).await?
            {
                return Ok(AlertOutcome { duplicate: true, ..AlertOutcome::default() });
            }
            let now = self.clock.now();
            let mut w = Work::new(Commit {
                dedupe_key: dedupe_key.map(str::to_string),
                also_keys: also.to_vec(),
                at: Some(now),
                ..Commit::default()
            });
            let mut out = AlertOutcome::default();
            let mut batch = Batch::default();
            for g in groups {
                self.alert_group(g, now, &mut w, &mut batch, &mut out).await?;
            }
            batch.into_commit(&mut w.commit);
            self.schedule(&mut w.commit);
            // Highest first: a number can only be taken back while it is the last one handed out.
            let numbers: Vec<TicketNo> = w.commit.inserts.iter().map(|t| t.number).rev().collect();
            // Cards are posted here as the alerts decide (at most once a minute), not on every change.
            let result = self.commit_with(w.commit, false).await;
            if matches!(
                result,
                Ok(Committed::Duplicate) | Err(StoreError::Conflict(_) | StoreError::AlertGroupTaken(_))
            ) {
                for n in numbers {
                    self.store.unused_ticket_number(n).await;
                }
            }
            match result {
                Ok(Committed::Written) => return Ok(out),
                Ok(Committed::Duplicate) => return Ok(AlertOutcome { duplicate: true, ..AlertOutcome::default() }),
                // Someone changed one of the tickets, or (another replica) opened the group's ticket first.
                Err(StoreError::Conflict(n)) => last_conflict = n,
                Err(StoreError::AlertGroupTaken(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Busy(last_conflict))
    }

    fn monitor(&self, source: &str) -> UserRef {
        let name = match source {
            "alertmanager" => "Alertmanager".to_string(),
            other => other.to_string(),
        };
        UserRef::new(self.settings.alerts.platform, format!("{MONITOR_PREFIX}{source}"), name)
    }

    /// The origin thread that identifies a group's ticket.
    fn alert_place(source: &str, group: &str) -> Place {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(group.as_bytes());
        let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        Place { channel: "alerts".into(), thread: Some(format!("{source}:{hex}")), message: None, dm: false }
    }

    /// Where group `g`'s ticket lives. A group is its source's key and, for Alertmanager, the Alertmanager that
    /// sent it: two clusters with one routing config send the same groupKey. The first Alertmanager to send a
    /// groupKey has the key's own place; another one whose notification carries an alert already on that ticket
    /// with the same `startsAt` is an HA peer of it (peers see the same alerts) and joins it, remembered as a peer;
    /// any other has a place of its own (the groupKey and its `externalURL`).
    async fn group_place(&self, g: &AlertGroup, batch: &mut Batch) -> Result<Place, DeskError> {
        let shared = Self::alert_place(&g.source, &g.key);
        let Some(url) = g.external_url.as_deref() else { return Ok(shared) };
        let own = Self::alert_place(&g.source, &format!("{}\n@{url}", g.key));
        if self.group_ticket(&own, batch).await?.is_some() {
            return Ok(own);
        }
        let Some(n) = self.group_ticket(&shared, batch).await? else { return Ok(shared) };
        let t = batch.get_mut(n).expect("read above");
        let Some(info) = t.alert.as_deref_mut() else { return Ok(shared) };
        if info.from_alertmanager(url) {
            return Ok(shared);
        }
        if info.shares_an_alert(g) {
            if info.peers.len() < alerts::MAX_PEERS {
                info.peers.push(url.to_string());
            }
            return Ok(shared);
        }
        Ok(own)
    }

    /// What marks the resolution of `alerts` (each by fingerprint and `startsAt`) of the group at `place` as seen,
    /// when no ticket keeps it: `None` when one of them has no `startsAt` (or there are none).
    fn resolution_key<'a>(place: &Place, alerts: impl Iterator<Item = &'a alerts::Alert>) -> Option<String> {
        use sha2::Digest;
        let mut seen: Vec<(&str, Timestamp)> = vec![];
        for a in alerts {
            seen.push((a.fingerprint.as_str(), a.starts_at?));
        }
        if seen.is_empty() {
            return None;
        }
        seen.sort_unstable();
        let mut h = sha2::Sha256::new();
        for (f, at) in seen {
            h.update(f.as_bytes());
            h.update([0]);
            h.update(at.timestamp_millis().to_be_bytes());
        }
        let hex: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
        Some(format!("alert-resolved:{}:{hex}", place.thread.as_deref().unwrap_or_default()))
    }

    /// The group's current ticket (made or changed earlier in this batch, else the latest stored one).
    async fn group_ticket(&self, place: &Place, batch: &mut Batch) -> Result<Option<TicketNo>, DeskError> {
        let key = place.thread.clone().unwrap_or_default();
        if let Some(n) = batch.by_thread.get(&key) {
            return Ok(Some(*n));
        }
        match self.store.ticket_by_thread(self.settings.alerts.platform, place).await? {
            Some(t) => {
                let n = batch.add(t, false);
                batch.by_thread.insert(key, n);
                Ok(Some(n))
            }
            None => Ok(None),
        }
    }

    /// Ticket `n`, read into the batch if it is not there yet.
    async fn batch_ticket(&self, n: TicketNo, batch: &mut Batch) -> Result<Option<TicketNo>, DeskError> {
        if batch.get(n).is_some() {
            return Ok(Some(n));
        }
        Ok(self.store.ticket(n).await?.map(|t| batch.add(t, false)))
    }

    /// The group's mapping: category, runbook and notes from its labels, priority from its most severe alert.
    fn group_mapping<'g>(&self, g: &'g AlertGroup) -> (alerts::Mapping, Option<&'g alerts::Alert>) {
        let s = &self.settings.alerts;
        let classifier = self.classifier();
        alerts::map_group(&s.rules, g, |c| classifier.category(c).is_some(), &s.default_category)
    }

    async fn alert_group(
        &self,
        g: &AlertGroup,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
    ) -> Result<(), DeskError> {
        let monitor = self.monitor(&g.source);
        let place = self.group_place(g, batch).await?;
        let current = self.group_ticket(&place, batch).await?;
        // A `firing` for an alert whose resolution was already seen, with the same `startsAt`, is a stale delivery
        // (Alertmanager gives an alert that fires again a new `startsAt`): it neither reopens nor opens a ticket.
        let fresh =
            current.and_then(|n| batch.get(n)).and_then(|t| t.alert.as_deref()).and_then(|a| a.without_stale(g));
        let fresh_group;
        let g = match fresh {
            Some(f) if f.alerts.is_empty() => {
                out.unchanged += 1;
                return Ok(());
            }
            Some(f) => {
                fresh_group = f;
                &fresh_group
            }
            None => g,
        };
        let fires = g.firing().next().is_some();
        // A ticket merged into another: the group's alerts are followed on the ticket it was merged into.
        if let Some(n) = current
            && batch.get(n).is_some_and(|t| t.merged_into.is_some())
        {
            return self.merged_group(g, n, place, &monitor, now, w, batch, out).await;
        }
        let active = current.and_then(|n| batch.get(n)).is_some_and(|t| t.state.is_active());
        // A group collected on a storm ticket stays there while the storm lasts, however late it repeats.
        if !active && fires && self.storm_repeat(g, &monitor, now, w, batch, out).await? {
            return Ok(());
        }
        let Some(n) = current else {
            if fires {
                // The group's resolution was the first deskbot saw of it: a firing copy of the same alerts with the
                // same `startsAt` (an HA peer's late one) is stale too, and opens nothing.
                if let Some(key) = Self::resolution_key(&place, g.firing())
                    && self.store.seen(&key).await?
                {
                    out.unchanged += 1;
                    return Ok(());
                }
                return self.open_alert_ticket(g, &monitor, place, now, w, batch, out, None).await;
            }
            if !self.storm_resolution(g, &monitor, now, w, batch, out).await? {
                if let Some(key) = Self::resolution_key(&place, g.resolved()) {
                    w.commit.also_keys.push(key);
                }
                out.unchanged += 1
            }
            return Ok(());
        };
        let t = batch.get_mut(n).expect("read above");
        if active {
            return self.update_alert_ticket(t, g, &monitor, now, w, out).await;
        }
        let was_firing = t.alert.as_deref().is_some_and(|a| a.firing_count() > 0);
        if !fires && was_firing {
            // Resolved (by a person) while its alerts still fired, and now monitoring says they have all resolved:
            // noted on the ticket, so that a later firing counts as the group firing again.
            let info = t.alert.get_or_insert_default();
            info.notifications += 1;
            info.apply(g);
            if info.all_clear(g) {
                let text = format!("Monitoring: every alert of this group has resolved ({}).", self.fmt_time(now));
                w.events(t.number, t.note(&monitor, &text, now).unwrap_or_default());
                out.updated.push(t.number);
            } else {
                out.unchanged += 1;
            }
            return Ok(());
        }
        if fires && !was_firing && t.resolved_at.is_some_and(|r| now - r <= self.settings.alerts.reopen_within) {
            let why = format!("the alert fired again within {}", human(self.settings.alerts.reopen_within));
            match self.reopen(t, &monitor, Some(&why), now) {
                Ok(ev) => w.events(t.number, ev),
                Err(e) => {
                    tracing::warn!(ticket = %t.number, error = %e, "alert: cannot reopen");
                    out.unchanged += 1;
                    return Ok(());
                }
            }
            let info = t.alert.get_or_insert_default();
            info.flaps += 1;
            info.notifications += 1;
            info.firing.clear();
            info.resolved.clear();
            info.labels = g.labels().clone();
            info.apply(g);
            self.tell_flap(t, g, "reopened", now, w);
            self.raise_for(t, g, &monitor, now, w);
            self.alert_card(t, now, true, w);
            out.reopened.push(t.number);
            return Ok(());
        }
        if fires {
            // A new ticket that follows this one (resolved while its alerts still fired, or longer ago than
            // `reopen_within`), linked to it.
            return self.open_alert_ticket(g, &monitor, place, now, w, batch, out, Some(n)).await;
        }
        if !self.storm_resolution(g, &monitor, now, w, batch, out).await? {
            out.unchanged += 1
        }
        Ok(())
    }

    /// Raises `t`'s priority when the group now maps to a higher one (a critical alert joined, a generic alert
    /// was sent again as critical): its SLA targets follow, as with `/ticket priority`. Never lowers it.
    fn raise_for(&self, t: &mut Ticket, g: &AlertGroup, monitor: &UserRef, now: Timestamp, w: &mut Work) -> bool {
        let (m, by) = self.group_mapping(g);
        if m.priority >= t.priority {
            return false;
        }
        let why = match by {
            Some(a) => {
                let severity =
                    a.labels.get("severity").map(|s| format!(" with severity {}", shown(s))).unwrap_or_default();
                format!("{} fires{severity}", quote(&shown(&a.summary())))
            }
            None => "the group's labels now say so".to_string(),
        };
        self.raise_priority(t, m.priority, &why, monitor, now, w)
    }

    /// Raises `t` to `to` (never lowers it), with a note saying why and a message to the owner or the queue (an
    /// edited card notifies nobody).
    fn raise_priority(
        &self,
        t: &mut Ticket,
        to: Priority,
        why: &str,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
    ) -> bool {
        let from = t.priority;
        if to >= from {
            return false;
        }
        match t.set_priority(to, monitor, now) {
            Ok(ev) => w.events(t.number, ev),
            Err(_) => return false,
        }
        // A storm ticket says its priority in its title and summary: they follow it.
        if let Some(info) = t.alert.as_deref_mut().filter(|a| a.group == "storm") {
            info.summary = info.summary.replacen(&format!("({from})"), &format!("({to})"), 1);
            t.title = t.title.replacen(&format!("further {from} "), &format!("further {to} "), 1);
        }
        // The targets are recomputed from the start (the commit schedules the timers of the new ones).
        self.policies.apply(t);
        // A stored note keeps the words, not the quote markers (they are for rendering a message).
        let text = crate::core::message::plain(&format!(
            "Priority raised from {from} to {to}: {why}. Its SLA targets follow."
        ));
        w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
        let what = if t.alert.is_some() { "Alert ticket" } else { "Ticket" };
        let msg = format!("{what} {} is now {to} (was {from}): {why}.", t.number);
        w.send(self.tell_owner_or_queue(t, msg));
        true
    }

    /// A message about `t` to its owner, else to the queue channel.
    pub(super) fn tell_owner_or_queue(&self, t: &Ticket, text: String) -> Outbound {
        match &t.owner {
            Some(owner) => Outbound::to_user(owner, &Place { dm: true, ..self.staff_place() }, text),
            None => self.to_queue(t.origin.platform, text),
        }
        .about(t.number)
    }

    /// Shows `t`'s current state on its card: at once when `at_once` (the ticket opened, resolved or reopened, or
    /// its priority rose) or when none was posted in the last minute; otherwise at the end of that minute (a
    /// scheduler timer), showing the ticket as it is then. A group that changes every few seconds posts one card a
    /// minute, and the last change always shows.
    pub(super) fn alert_card(&self, t: &mut Ticket, now: Timestamp, at_once: bool, w: &mut Work) {
        let Some(info) = t.alert.as_deref_mut() else { return };
        if at_once || info.card_at.is_none_or(|at| now - at >= CARD_EVERY) {
            info.card_at = Some(now);
            info.card_due = None;
            let card = self.card(t, now);
            // One card per ticket in a batch: the last state.
            w.commit.outbox.retain(|m| !(m.kind == card.kind && m.ticket == card.ticket));
            w.send(card);
        } else if info.card_due.is_none() {
            info.card_due = info.card_at.map(|at| at + CARD_EVERY);
        }
    }

    /// The timer that posts `t`'s held-back card, if it has one (see [`Self::alert_card`]).
    pub(super) fn card_timer(t: &Ticket) -> Option<Timer> {
        Some(alert_timer(t, CARD_TIMER, t.alert.as_deref()?.card_due?))
    }

    /// True for the timer of a held-back card.
    pub(super) fn is_card_timer(timer: &DueTimer) -> bool {
        timer.key.starts_with(CARD_TIMER)
    }

    /// The timer that tells `t`'s settled state after held-back flap notices, if it has one.
    pub(super) fn settle_timer(t: &Ticket) -> Option<Timer> {
        Some(alert_timer(t, SETTLE_TIMER, t.alert.as_deref()?.settle_due?))
    }

    /// True for the timer of a settled-state notice.
    pub(super) fn is_settle_timer(timer: &DueTimer) -> bool {
        timer.key.starts_with(SETTLE_TIMER)
    }

    /// Flap notices were held back and the group has been quiet since: if the state it settled in (firing, or
    /// resolved) is not what the owner (or the queue) was last told, one message says it. False for a stale timer
    /// or when there was nothing to tell.
    pub(super) async fn fire_settle(&self, mut t: Ticket, timer: &DueTimer, now: Timestamp) -> Result<bool, DeskError> {
        if Self::settle_timer(&t).is_none_or(|x| x.key != timer.key) {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        let Some(info) = t.alert.as_deref_mut() else { return Ok(false) };
        info.settle_due = None;
        let firing = t.state.is_active() && info.firing_or_left_out() > 0;
        let told = info.told_firing.unwrap_or(true);
        info.told_firing = Some(firing);
        let (flaps, summary) = (info.flaps, quote(&info.summary));
        let mut c = Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        };
        let told_now = told != firing;
        if told_now {
            let text = if firing {
                format!(
                    "Alert ticket {} has settled firing: {summary} fires again (it fired again {flaps} time(s) after \
                     resolving; the last notices were held back).",
                    t.number
                )
            } else {
                let stays = match (&t.owner, t.state.is_active()) {
                    (Some(_), true) => " The ticket stays yours; resolve it when you are done.",
                    (None, true) => " Someone worked on the ticket, so it stays open.",
                    _ => "",
                };
                format!(
                    "Alert ticket {} has settled resolved: {summary} has resolved (it fired again {flaps} time(s) \
                     after resolving; the last notices were held back).{stays}",
                    t.number
                )
            };
            c.outbox.push(self.tell_owner_or_queue(&t, text));
        }
        c.updates.push(t);
        self.schedule(&mut c);
        Ok(self.commit_timer(c, &timer.key, false).await? && told_now)
    }

    /// Posts a held-back card (its timer fell due), showing the ticket as it is now. False for a stale timer.
    pub(super) async fn fire_card(&self, mut t: Ticket, timer: &DueTimer, now: Timestamp) -> Result<bool, DeskError> {
        if Self::card_timer(&t).is_none_or(|x| x.key != timer.key) {
            self.store.drop_timer(&timer.key).await?;
            return Ok(false);
        }
        if let Some(info) = t.alert.as_deref_mut() {
            info.card_at = Some(now);
            info.card_due = None;
        }
        let mut c = Commit {
            dedupe_key: Some(timer.key.clone()),
            at: Some(now),
            drop_timers: vec![timer.key.clone()],
            ..Commit::default()
        };
        c.outbox.push(self.card(&t, now));
        c.updates.push(t);
        self.schedule(&mut c);
        self.commit_timer(c, &timer.key, false).await
    }

    async fn update_alert_ticket(
        &self,
        t: &mut Ticket,
        g: &AlertGroup,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        out: &mut AlertOutcome,
    ) -> Result<(), DeskError> {
        let info = t.alert.get_or_insert_default();
        info.notifications += 1;
        // Where to reach its Alertmanager (the one that raised it; an HA peer's notifications join it but do not
        // move the card's link), and what it groups by, as the latest notification says.
        if info.external_url.is_none() {
            info.external_url = g.external_url.clone();
        }
        if !g.group_labels.is_empty() {
            info.group_labels = g.group_labels.clone();
        }
        // What the latest notification says of the group's description and dashboard (a rule changed since).
        if let Some(d) = g.description() {
            info.description = Some(d);
        }
        if let Some(d) = g.dashboards().iter().find_map(|d| alerts::card_link(d)) {
            info.dashboard = Some(d);
        }
        let labels_changed = info.labels != *g.labels();
        info.labels = g.labels().clone();
        // The card reads what fires now (a generic alert sent again with a new title, the group's summary).
        if g.firing().next().is_some() {
            info.summary = g.summary();
        }
        let untracked_before = info.untracked;
        let truncated_before = info.truncated;
        // Every alert had resolved (the ticket stayed open, someone works on it) and one fires again: a flap.
        let was_clear = info.firing_count() == 0 && info.truncated == 0 && !info.resolved.is_empty();
        let (new, ended) = info.apply(g);
        let flapped = was_clear && !new.is_empty();
        if flapped {
            info.flaps += 1;
        }
        // Alerts past what is kept by name are news only by their count.
        let new_untracked = info.untracked.saturating_sub(untracked_before) as usize;
        let counts_changed = info.untracked != untracked_before || info.truncated != truncated_before;
        let ended_count = ended.len();
        let all_clear = info.all_clear(g);
        let merged_firing: Vec<TicketNo> = info.merged.iter().filter(|m| m.firing > 0).map(|m| m.ticket).collect();
        // Every alert sent has resolved, but the sender left some out: they may still fire.
        let only_left_out = !all_clear && info.firing_count() == 0 && info.truncated > 0;
        let left_out = info.truncated;
        if !new.is_empty() || new_untracked > 0 {
            let names: Vec<String> = new.iter().take(5).map(|a| self.alert_line(g, a)).collect();
            let count = new.len() + new_untracked;
            let more = if count > names.len() { format!(" and {} more", count - names.len()) } else { String::new() };
            let text = format!("{count} new alert(s) firing: {}{more}", names.join("; "));
            w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
        }
        if flapped {
            self.tell_flap(t, g, "fired again", now, w);
        }
        let raised = self.raise_for(t, g, monitor, now, w);
        if !ended.is_empty() && !all_clear && !only_left_out {
            let info = t.alert.get_or_insert_default();
            let (resolved, total) = (info.resolved.len(), info.total());
            let names: Vec<String> = ended.iter().take(5).map(|a| self.alert_line(g, a)).collect();
            let more = if ended.len() > 5 { format!(" and {} more", ended.len() - 5) } else { String::new() };
            let text = format!("{resolved} of {total} alerts resolved: {}{more}", names.join("; "));
            w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
        }
        if only_left_out && !ended.is_empty() {
            // The ticket stays open until the group as a whole is reported resolved.
            let text = format!(
                "Every alert {} sent has resolved, but it left out {left_out} more (truncatedAlerts) that may still \
                 fire; the ticket stays open until the whole group resolves.",
                monitor.name
            );
            w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
        }
        if all_clear && !merged_firing.is_empty() {
            // Its own group has resolved, but a group merged into it still fires: the ticket stays open.
            let names: Vec<String> = merged_firing.iter().map(|n| n.to_string()).collect();
            let text = format!(
                "Monitoring: every alert of this group has resolved ({}); the alert group of merged {} still fires.",
                self.fmt_time(now),
                names.join(", ")
            );
            w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
            self.alert_card(t, now, false, w);
            out.updated.push(t.number);
            return Ok(());
        }
        if all_clear {
            let text = format!("Monitoring: every alert of this group has resolved ({}).", self.fmt_time(now));
            return self.alerts_stopped(t, g, &text, monitor, now, w, out).await;
        }
        if new.is_empty() && ended_count == 0 && !counts_changed && !raised && !labels_changed {
            out.unchanged += 1;
            return Ok(());
        }
        // Alerts came or went: the card shows it within the minute (Alertmanager may not send the group again for
        // hours, so a change held back is posted, never dropped).
        self.alert_card(t, now, raised, w);
        out.updated.push(t.number);
        Ok(())
    }

    /// Everything `t` follows has stopped firing (its group, and any merged into it): a ticket nobody worked on is
    /// resolved; otherwise `note` goes on it and its owner (or the queue) is told that it stays open.
    #[allow(clippy::too_many_arguments)]
    async fn alerts_stopped(
        &self,
        t: &mut Ticket,
        g: &AlertGroup,
        note: &str,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        out: &mut AlertOutcome,
    ) -> Result<(), DeskError> {
        if self.touched_by_people(t).await? {
            w.events(t.number, t.note(monitor, note, now).unwrap_or_default());
            let msg = match &t.owner {
                Some(_) => format!(
                    "The alert behind {} has resolved: {}. The ticket stays yours; resolve it when you are done.",
                    t.number,
                    quote(&g.summary())
                ),
                None => format!(
                    "The alert behind {} has resolved: {}. Someone worked on the ticket, so it stays open: claim it \
                     or resolve it when that work is done.",
                    t.number,
                    quote(&g.summary())
                ),
            };
            if self.flap_told(t) {
                w.send(self.tell_owner_or_queue(t, msg));
                if let Some(info) = t.alert.as_deref_mut() {
                    info.told_firing = Some(false);
                }
            } else if let Some(info) = t.alert.as_deref_mut() {
                // Held back: the owner hears the settled state later, not "fired again" for ever.
                info.settle_due = Some(now + SETTLE_AFTER);
            }
            self.alert_card(t, now, true, w);
            out.updated.push(t.number);
            return Ok(());
        }
        let why = "The alert resolved; nobody had worked on the ticket.";
        match t.resolve(monitor, Some(why), false, now) {
            Ok(ev) => w.events(t.number, ev),
            Err(e) => {
                tracing::warn!(ticket = %t.number, error = %e, "alert: cannot resolve");
                out.unchanged += 1;
                return Ok(());
            }
        }
        self.alert_card(t, now, true, w);
        out.resolved.push(t.number);
        Ok(())
    }

    /// A notification of a group whose ticket (`own`) was merged into another: what fires is kept on `own`, and
    /// told on the ticket it was merged into (following merges). That ticket resolves by itself once its own group
    /// and every group merged into it have stopped (a merge is not work on it). If it was resolved, the group
    /// firing again reopens it (within `reopen_within`) or opens a new ticket linked to it.
    #[allow(clippy::too_many_arguments)]
    async fn merged_group(
        &self,
        g: &AlertGroup,
        own: TicketNo,
        place: Place,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
    ) -> Result<(), DeskError> {
        let mut home = own;
        for _ in 0..16 {
            let Some(into) = batch.get(home).and_then(|t| t.merged_into) else { break };
            match self.batch_ticket(into, batch).await? {
                Some(n) if n != own => home = n,
                _ => break,
            }
        }
        let fires = g.firing().next().is_some();
        let Some(mine) = batch.get_mut(own) else { return Ok(()) };
        let info = mine.alert.get_or_insert_default();
        info.notifications += 1;
        info.labels = g.labels().clone();
        let was_clear = info.is_clear();
        let (new, ended) = info.apply(g);
        let new_lines: Vec<String> = new.iter().take(5).map(|a| self.alert_line(g, a)).collect();
        let ended_lines: Vec<String> = ended.iter().take(5).map(|a| self.alert_line(g, a)).collect();
        let (new_count, ended_count) = (new.len(), ended.len());
        let (resolved, total) = (info.resolved.len(), info.total());
        let clear = info.all_clear(g);
        let firing = info.firing_or_left_out();
        if home == own {
            // The ticket it was merged into is gone: as a group whose ticket was resolved.
            if fires && (was_clear || new_count > 0) {
                return self.open_alert_ticket(g, monitor, place, now, w, batch, out, Some(own)).await;
            }
            out.unchanged += 1;
            return Ok(());
        }
        let h = batch.get_mut(home).expect("read above");
        if !h.state.is_active() {
            if !(fires && (was_clear || new_count > 0)) {
                out.unchanged += 1;
                return Ok(());
            }
            let flap = h.merged_into.is_none()
                && h.resolved_at.is_some_and(|r| now - r <= self.settings.alerts.reopen_within)
                && h.alert.as_deref().is_some_and(|a| a.firing_count() == 0);
            if !flap {
                return self.open_alert_ticket(g, monitor, place, now, w, batch, out, Some(home)).await;
            }
            let why = format!(
                "the alert group of merged {own} fired again within {}",
                human(self.settings.alerts.reopen_within)
            );
            match self.reopen(h, monitor, Some(&why), now) {
                Ok(ev) => w.events(h.number, ev),
                Err(e) => {
                    tracing::warn!(ticket = %h.number, error = %e, "alert: cannot reopen");
                    out.unchanged += 1;
                    return Ok(());
                }
            }
            let hi = h.alert.get_or_insert_default();
            hi.flaps += 1;
            set_merged(hi, own, firing);
            self.tell_flap(h, g, "reopened", now, w);
            self.raise_for(h, g, monitor, now, w);
            self.alert_card(h, now, true, w);
            out.reopened.push(home);
            return Ok(());
        }
        if let Some(hi) = h.alert.as_deref_mut() {
            set_merged(hi, own, firing);
        }
        let from = format!("Alert group of merged {own}");
        if new_count > 0 {
            let more = if new_count > new_lines.len() {
                format!(" and {} more", new_count - new_lines.len())
            } else {
                String::new()
            };
            let text = format!("{from}: {new_count} new alert(s) firing: {}{more}", new_lines.join("; "));
            w.events(home, h.note(monitor, &text, now).unwrap_or_default());
        }
        if ended_count > 0 && !clear {
            let more = if ended_count > 5 { format!(" and {} more", ended_count - 5) } else { String::new() };
            let text = format!("{from}: {resolved} of {total} alerts resolved: {}{more}", ended_lines.join("; "));
            w.events(home, h.note(monitor, &text, now).unwrap_or_default());
        }
        let raised = self.raise_for(h, g, monitor, now, w);
        if clear && !was_clear {
            let note =
                format!("Monitoring: every alert of the group of merged {own} has resolved ({}).", self.fmt_time(now));
            let everything = h.alert.as_deref().is_none_or(|a| a.is_clear() && a.merged.iter().all(|m| m.firing == 0));
            if everything {
                return self.alerts_stopped(h, g, &note, monitor, now, w, out).await;
            }
            w.events(home, h.note(monitor, &note, now).unwrap_or_default());
        }
        if new_count == 0 && ended_count == 0 && !raised {
            out.unchanged += 1;
            return Ok(());
        }
        self.alert_card(h, now, raised, w);
        out.updated.push(home);
        Ok(())
    }

    /// True when a flapping group's change is told: on the first flap, then on every `flap_notice_every`th
    /// (1, 5, 10, … with the default 5).
    fn flap_told(&self, t: &Ticket) -> bool {
        let flaps = t.alert.as_deref().map(|a| a.flaps).unwrap_or(0);
        flaps <= 1 || flaps.is_multiple_of(self.settings.alerts.flap_notice_every.max(1))
    }

    /// A card edited in place notifies nobody: a group firing again after resolving is told as a message of its
    /// own, to the owner or else the queue, damped by [`Self::flap_told`] so that a flapping alert cannot flood chat.
    ///
    /// A notice held back leaves whoever was told last with a state that may no longer hold: [`SETTLE_AFTER`] after
    /// the last one held back, they are told the state the ticket has settled in (see [`Self::fire_settle`]).
    fn tell_flap(&self, t: &mut Ticket, g: &AlertGroup, what: &str, now: Timestamp, w: &mut Work) {
        if !self.flap_told(t) {
            if let Some(info) = t.alert.as_deref_mut() {
                info.settle_due = Some(now + SETTLE_AFTER);
            }
            return;
        }
        if let Some(info) = t.alert.as_deref_mut() {
            info.told_firing = Some(true);
        }
        let flaps = t.alert.as_deref().map(|a| a.flaps).unwrap_or(0);
        let every = self.settings.alerts.flap_notice_every.max(1);
        let summary = quote(&g.summary());
        let text = if flaps <= 1 {
            let later =
                if every > 1 { format!(" (if it keeps flapping, told every {every} times)") } else { String::new() };
            format!("Alert ticket {} {what}: {summary} fired again after resolving{later}.", t.number)
        } else {
            format!(
                "Alert ticket {} is flapping: {summary} has fired again {flaps} times after resolving (told every \
                 {every} times).",
                t.number
            )
        };
        w.send(self.tell_owner_or_queue(t, text));
    }

    /// True when someone other than the monitoring source works on the ticket: owns it, or wrote on it or changed
    /// it. A merge into it (with the note that carries the duplicate's text), a link, or a refused command is not
    /// work on it.
    async fn touched_by_people(&self, t: &Ticket) -> Result<bool, DeskError> {
        if t.owner.is_some() {
            return Ok(true);
        }
        let events = self.store.events(t.number).await?;
        let mut merge: Option<(Timestamp, &UserRef)> = None;
        Ok(events.iter().any(|e| {
            let Some(by) = e.actor.as_ref().filter(|a| !alerts::is_monitor(a)) else { return false };
            match &e.kind {
                EventKind::MergedFrom { .. } => {
                    merge = Some((e.at, by));
                    false
                }
                EventKind::InternalNote { .. } if merge.is_some_and(|(at, who)| at == e.at && who == by) => false,
                EventKind::Linked { .. } | EventKind::Denied { .. } => false,
                _ => true,
            }
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_alert_ticket(
        &self,
        g: &AlertGroup,
        monitor: &UserRef,
        place: Place,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
        previous: Option<TicketNo>,
    ) -> Result<(), DeskError> {
        // The hourly cap is per source, and for Alertmanager per Alertmanager (`externalURL`): one site's storm
        // never collects another's alerts.
        let bucket = match &g.external_url {
            Some(url) => format!("{}\n@{url}", g.source),
            None => g.source.clone(),
        };
        let opened = match batch.opened_this_hour.get(&bucket) {
            Some(n) => *n,
            None => self.opened_this_hour(g, monitor, now).await?,
        };
        if opened >= self.settings.alerts.max_new_tickets_per_hour {
            return self.fold_into_storm(g, monitor, now, w, batch, out).await;
        }
        batch.opened_this_hour.insert(bucket, opened + 1);
        let s = &self.settings.alerts;
        let (m, _) = self.group_mapping(g);
        // Monitoring reports something broken: an incident, whatever the category's usual type (`other` is a
        // request category; an alert routed there is still an outage).
        let ticket_type = TicketType::Incident;
        let summary = g.summary();
        let mut text = summary.clone();
        if let Some(d) = g.annotation("description").filter(|d| *d != summary) {
            text.push_str(&format!("\n\n{d}"));
        }
        let labels: Vec<String> = g.labels().iter().map(|(k, v)| format!("{}={}", shown(k), shown(v))).collect();
        text.push_str(&format!("\n\nAlert from {}: {}", monitor.name, labels.join(", ")));
        // Every alert of the group, with what tells it apart, its state and since when.
        text.push_str(&format!("\n\nAlerts ({}):", g.alerts.len()));
        // Firing ones first: past the first 100, resolved alerts are only counted, never one that fires.
        for a in g.firing().chain(g.resolved()).take(alerts::MAX_MEMBERS) {
            text.push_str(&format!("\n- {}", self.alert_line(g, a)));
        }
        if g.alerts.len() > alerts::MAX_MEMBERS {
            text.push_str(&format!("\n- and {} more", g.alerts.len() - alerts::MAX_MEMBERS));
        }
        if g.truncated > 0 {
            text.push_str(&format!("\n- and {} more that {} left out (truncatedAlerts)", g.truncated, monitor.name));
        }
        let number = self.store.next_ticket_number().await?;
        let (mut t, ev) = Ticket::open(NewTicket {
            number,
            text,
            requester: monitor.clone(),
            origin: Origin { platform: s.platform, place: place.clone() },
            category: m.category.clone(),
            intent: None,
            confidence: 1.0,
            ticket_type,
            priority: m.priority,
            at: now,
        });
        w.events(number, ev);
        for note in &m.notes {
            w.events(number, t.note(monitor, note, now).unwrap_or_default());
        }
        // Only web links are shown on the card: a `javascript:` or `file:` link is dropped, and said; so is one too
        // long to show even without its query.
        let mut link = |what: &str, url: Option<String>| -> Option<String> {
            let url = url?;
            if let Some(l) = alerts::card_link(&url) {
                return Some(l);
            }
            let shown_url: String = shown(&url).chars().take(200).collect();
            let note = if alerts::web_link(&url) {
                format!("The alert's {what} `{shown_url}` is not shown: it is too long.")
            } else {
                format!("The alert's {what} `{shown_url}` is not shown: only http and https links are.")
            };
            w.events(number, t.note(monitor, &note, now).unwrap_or_default());
            None
        };
        let source_link = link("link", g.link());
        let runbook_url = link("runbook link", g.annotation("runbook_url").or_else(|| g.annotation("runbook")));
        let dashboard = g.dashboards().into_iter().find_map(|d| link("dashboard link", Some(d)));
        t.fingerprint = Some(format!("{}|alert:{}|-", m.category, g.labels().get("alertname").unwrap_or(&summary)));
        t.alert = Some(Box::new(AlertInfo {
            source: g.source.clone(),
            group: g.key.clone(),
            summary,
            labels: g.labels().clone(),
            starts_at: g.starts_at(),
            link: source_link,
            runbook: m.runbook,
            runbook_url,
            dashboard,
            description: g.description(),
            notifications: 1,
            card_at: Some(now),
            external_url: g.external_url.clone(),
            group_labels: g.group_labels.clone(),
            ..AlertInfo::default()
        }));
        if let Some(info) = t.alert.as_deref_mut() {
            info.apply(g);
        }
        if let Some(p) = previous.and_then(|n| batch.get_mut(n)) {
            // The group fires again after its ticket was resolved: the new ticket says which one it follows.
            let still = p.alert.as_deref().is_some_and(|a| a.firing_count() > 0);
            let when = p.resolved_at.or(p.closed_at).map(|r| format!(" {}", self.fmt_time(r))).unwrap_or_default();
            let text = if still {
                format!(
                    "Follows {}, resolved{when} while its alerts still fired; monitoring still reports them firing.",
                    p.number
                )
            } else {
                format!("Follows {} (resolved{when}): the same alert group fired again.", p.number)
            };
            // Resolutions already seen stay known: a stale `firing` of the old ticket's alerts is not news here either.
            if let (Some(info), Some(pa)) = (t.alert.as_deref_mut(), p.alert.as_deref()) {
                for (f, at) in &pa.resolved_starts {
                    info.resolved_starts.entry(f.clone()).or_insert(*at);
                }
                // So are its Alertmanager's HA peers.
                if info.external_url == pa.external_url {
                    info.peers = pa.peers.clone();
                }
            }
            t.links.push(p.number);
            p.links.push(number);
            let linked = |with| Event { at: now, actor: Some(monitor.clone()), kind: EventKind::Linked { with } };
            w.events(number, vec![linked(p.number)]);
            w.events(number, t.note(monitor, &text, now).unwrap_or_default());
            w.events(p.number, vec![linked(number)]);
        }
        self.policies.apply(&mut t);
        w.send(self.card(&t, now));
        out.opened.push(number);
        batch.add(t, true);
        batch.by_thread.insert(place.thread.unwrap_or_default(), number);
        Ok(())
    }

    /// How many tickets `g`'s source opened in the hour before `now`; for Alertmanager, those its Alertmanager
    /// (`externalURL`) opened. Read from the database, so that replicas share the count.
    async fn opened_this_hour(&self, g: &AlertGroup, monitor: &UserRef, now: Timestamp) -> Result<i64, DeskError> {
        let since = now - Duration::hours(1);
        let all = self.store.count_opened_by(&monitor.key(), since).await?;
        let Some(url) = g.external_url.as_deref() else { return Ok(all) };
        if all < self.settings.alerts.max_new_tickets_per_hour {
            // Fewer from every Alertmanager together: none of them is past the cap.
            return Ok(all);
        }
        let tickets = self.store.opened_by(&monitor.key(), since).await?;
        let from_it = |t: &Ticket| t.alert.as_deref().is_some_and(|a| a.external_url.as_deref() == Some(url));
        Ok(tickets.iter().filter(|t| from_it(t)).count() as i64)
    }

    /// The storm ticket's place for a source (for Alertmanager, each one by its `externalURL`) and priority: storms
    /// are bucketed by priority, so a critical alert is never collected on (and hidden in) a storm of lower ones,
    /// and by Alertmanager, so one site's storm does not swallow another's alerts.
    fn storm_place(g: &AlertGroup, p: Priority) -> Place {
        match &g.external_url {
            Some(url) => Self::alert_place(&g.source, &format!("storm:{url}:{p}")),
            None => Self::alert_place(&g.source, &format!("storm:{p}")),
        }
    }

    /// A short stable id for a group folded into a storm (its key can be long).
    fn storm_member(g: &AlertGroup) -> String {
        use sha2::Digest;
        // Storm tickets are per Alertmanager already; the key alone tells its groups apart.
        sha2::Sha256::digest(g.key.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The active storm ticket of `g`'s source that collected `g`, if any.
    async fn storm_of(&self, g: &AlertGroup, batch: &mut Batch) -> Result<Option<TicketNo>, DeskError> {
        let member = Self::storm_member(g);
        for p in [Priority::P1, Priority::P2, Priority::P3, Priority::P4] {
            let Some(n) = self.group_ticket(&Self::storm_place(g, p), batch).await? else { continue };
            let collected = batch.get(n).is_some_and(|t| {
                t.state.is_active()
                    && t.alert.as_deref().is_some_and(|a| a.firing.contains(&member) || a.resolved.contains(&member))
            });
            if collected {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// A group a storm ticket collected fires (a repeat, or again after resolving): it stays with that storm
    /// ticket while the storm lasts, whatever the time, so it opens no ticket of its own and the storm can recover.
    /// A group more severe than the storm ticket raises it. False when no active storm holds the group.
    async fn storm_repeat(
        &self,
        g: &AlertGroup,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
    ) -> Result<bool, DeskError> {
        let Some(n) = self.storm_of(g, batch).await? else { return Ok(false) };
        let fresh = batch.is_new(n);
        let t = batch.get_mut(n).expect("read above");
        self.collect_on_storm(t, g, fresh, monitor, now, w, out);
        Ok(true)
    }

    /// Past the hourly cap, a group is recorded on one storm ticket per source and priority: one card and one
    /// message to the escalation channel when the storm starts, then quiet updates. A group already collected and
    /// still firing is a repeat and changes nothing.
    async fn fold_into_storm(
        &self,
        g: &AlertGroup,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
    ) -> Result<(), DeskError> {
        let (m, _) = self.group_mapping(g);
        let priority = m.priority;
        let place = Self::storm_place(g, priority);
        let from = Self::storm_from(g, monitor);
        let current = self.group_ticket(&place, batch).await?;
        let active = current.filter(|n| batch.get(*n).is_some_and(|t| t.state.is_active()));
        // The storm goes on after its ticket ended (it recovered, or someone resolved it): within
        // `alerts.reopen_within` that ticket is reopened; later, a new one follows it, linked and not announced again.
        let mut reopened = false;
        let mut previous = None;
        if active.is_none()
            && let Some(p) = current.and_then(|n| batch.get_mut(n))
            && p.merged_into.is_none()
        {
            let within = p.resolved_at.is_some_and(|r| now - r <= self.settings.alerts.reopen_within);
            let why =
                format!("the alert storm from {from} went on within {}", human(self.settings.alerts.reopen_within));
            match within.then(|| self.reopen(p, monitor, Some(&why), now)) {
                Some(Ok(ev)) => {
                    w.events(p.number, ev);
                    let text = format!(
                        "Alert storm ticket {} reopened: the alert storm from {from} goes on; further {priority} alert \
                         groups are collected here again.",
                        p.number
                    );
                    w.send(self.tell_owner_or_queue(p, text));
                    out.reopened.push(p.number);
                    reopened = true;
                }
                _ => previous = Some(p.number),
            }
        }
        let n = match active.or(current.filter(|_| reopened)) {
            Some(n) => n,
            None => {
                let cap = self.settings.alerts.max_new_tickets_per_hour;
                let text = format!(
                    "Alert storm: more than {cap} alert tickets from {from} in an hour; further {priority} alert \
                     groups are collected here instead of opening tickets."
                );
                let number = self.store.next_ticket_number().await?;
                let (mut t, ev) = Ticket::open(NewTicket {
                    number,
                    text,
                    requester: monitor.clone(),
                    origin: Origin { platform: self.settings.alerts.platform, place: place.clone() },
                    category: self.settings.alerts.default_category.clone(),
                    intent: None,
                    confidence: 1.0,
                    ticket_type: TicketType::Incident,
                    priority,
                    at: now,
                });
                w.events(number, ev);
                t.alert = Some(Box::new(AlertInfo {
                    source: g.source.clone(),
                    group: "storm".into(),
                    summary: format!("Alert storm from {from} ({priority})"),
                    card_at: Some(now),
                    ..AlertInfo::default()
                }));
                self.policies.apply(&mut t);
                match previous.and_then(|p| batch.get_mut(p)) {
                    // The same storm, on a new ticket: linked to the one before, and not announced as a new storm.
                    Some(p) => {
                        let when =
                            p.resolved_at.or(p.closed_at).map(|r| format!(" {}", self.fmt_time(r))).unwrap_or_default();
                        let text = format!("Follows {} (resolved{when}): the same alert storm goes on.", p.number);
                        t.links.push(p.number);
                        p.links.push(number);
                        let linked =
                            |with| Event { at: now, actor: Some(monitor.clone()), kind: EventKind::Linked { with } };
                        w.events(number, vec![linked(p.number)]);
                        w.events(number, t.note(monitor, &text, now).unwrap_or_default());
                        w.events(p.number, vec![linked(number)]);
                    }
                    None => {
                        let mut notice = Outbound::to_channel(
                            t.origin.platform,
                            &self.settings.escalation_channel,
                            format!(
                                "Alert storm from {from}: over {cap} alert tickets in an hour. New {priority} alert \
                                 groups are collected on {number} instead of opening tickets each."
                            ),
                        )
                        .about(number);
                        notice.place = Place { channel: self.settings.escalation_channel.clone(), ..Place::default() };
                        w.send(notice);
                    }
                }
                batch.add(t, true);
                batch.by_thread.insert(place.thread.clone().unwrap_or_default(), number);
                out.opened.push(number);
                number
            }
        };
        // A reopened storm ticket, like a new one, shows on its card at once.
        let fresh = batch.is_new(n) || reopened;
        let t = batch.get_mut(n).expect("read or made above");
        self.collect_on_storm(t, g, fresh, monitor, now, w, out);
        Ok(())
    }

    /// Who a storm comes from: the monitoring source, and for Alertmanager which one (its `externalURL`'s host).
    fn storm_from(g: &AlertGroup, monitor: &UserRef) -> String {
        match g.external_url.as_deref().map(url_host).filter(|h| !h.is_empty()) {
            Some(host) => format!("{} {host}", monitor.name),
            None => monitor.name.clone(),
        }
    }

    /// Records group `g` firing on storm ticket `t` (`fresh`: made in this batch).
    #[allow(clippy::too_many_arguments)]
    fn collect_on_storm(
        &self,
        t: &mut Ticket,
        g: &AlertGroup,
        fresh: bool,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        out: &mut AlertOutcome,
    ) {
        let info = t.alert.get_or_insert_default();
        info.notifications += 1;
        let member = Self::storm_member(g);
        let raised = self.raise_for(t, g, monitor, now, w);
        let info = t.alert.get_or_insert_default();
        if info.firing.contains(&member) {
            if raised {
                self.alert_card(t, now, true, w);
                out.updated.push(t.number);
            } else {
                out.unchanged += 1;
            }
            return;
        }
        out.folded += 1;
        let again = info.resolved.remove(&member);
        if info.firing.len() < alerts::MAX_FIRING {
            info.firing.insert(member);
        } else {
            info.untracked += 1;
        }
        if !again {
            info.folded += 1;
            if info.folded_examples.len() < STORM_EXAMPLES {
                info.folded_examples.push(shown(&g.summary()));
            }
        }
        // The storm card follows at most once a minute (one card per storm ticket in a batch).
        self.alert_card(t, now, fresh || raised, w);
        if !fresh && !out.updated.contains(&t.number) {
            out.updated.push(t.number);
        }
    }

    /// A resolved notification for a group with no ticket of its own: if a storm ticket of its source collected
    /// it, it is counted resolved there; when every group of the storm has resolved, the storm's recovery is
    /// posted where it was announced and the storm ticket is resolved (or, if someone works on it, they are told).
    /// False when no storm holds the group.
    async fn storm_resolution(
        &self,
        g: &AlertGroup,
        monitor: &UserRef,
        now: Timestamp,
        w: &mut Work,
        batch: &mut Batch,
        out: &mut AlertOutcome,
    ) -> Result<bool, DeskError> {
        let member = Self::storm_member(g);
        let Some(n) = self.storm_of(g, batch).await? else { return Ok(false) };
        let t = batch.get_mut(n).expect("read above");
        let info = t.alert.get_or_insert_default();
        info.notifications += 1;
        if !info.firing.remove(&member) {
            // Counted resolved already: a repeat.
            out.unchanged += 1;
            return Ok(true);
        }
        info.resolved.insert(member);
        let (firing, folded) = (info.firing_count(), info.folded);
        if firing > 0 {
            self.alert_card(t, now, false, w);
            if !out.updated.contains(&t.number) {
                out.updated.push(t.number);
            }
            return Ok(true);
        }
        // Recovered: every group the storm collected has resolved.
        let recovered = format!(
            "Alert storm from {} ({}) on {} has recovered: {folded}/{folded} alert groups resolved.",
            Self::storm_from(g, monitor),
            t.priority,
            t.number
        );
        let mut notice =
            Outbound::to_channel(t.origin.platform, &self.settings.escalation_channel, recovered).about(t.number);
        notice.place = Place { channel: self.settings.escalation_channel.clone(), ..Place::default() };
        w.send(notice);
        if self.touched_by_people(t).await? {
            let text = format!("Monitoring: every alert group of this storm has resolved ({}).", self.fmt_time(now));
            w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
            out.updated.push(t.number);
        } else {
            let why = "Every alert group of the storm resolved; nobody had worked on the ticket.";
            match t.resolve(monitor, Some(why), false, now) {
                Ok(ev) => w.events(t.number, ev),
                Err(e) => tracing::warn!(ticket = %t.number, error = %e, "alert: cannot resolve the storm"),
            }
            out.resolved.push(t.number);
        }
        self.alert_card(t, now, true, w);
        Ok(true)
    }

    /// One alert of a group for notes and the ticket: its summary, what tells it apart, its state and time.
    fn alert_line(&self, g: &AlertGroup, a: &alerts::Alert) -> String {
        format!("{} ({})", shown(&a.summary()), self.member_text(&g.member(a), usize::MAX))
    }

    /// `instance=fw1: firing since Mon 2 Mar 09:58 UTC` (at most `max_labels` labels).
    fn member_text(&self, m: &alerts::AlertMember, max_labels: usize) -> String {
        let state = match (m.status, m.starts_at, m.ends_at) {
            (alerts::AlertStatus::Firing, Some(s), _) => format!("firing since {}", self.fmt_time(s)),
            (alerts::AlertStatus::Firing, None, _) => "firing".to_string(),
            (alerts::AlertStatus::Resolved, _, Some(e)) => format!("resolved {}", self.fmt_time(e)),
            (alerts::AlertStatus::Resolved, _, None) => "resolved".to_string(),
        };
        let labels = m.label_text(max_labels);
        if labels.is_empty() { state } else { format!("{labels}: {state}") }
    }

    /// The lines of an alert card that say what the alert is about and where to look (#36): its description, the
    /// runbook (deskbot's, and the `runbook_url` annotation), the dashboard, each alert's source (`generatorURL`,
    /// the generic `link`: one line when they all share it, else one per alert for the first
    /// [`CARD_SOURCES`], with what tells it apart) and the group's page in the Alertmanager that sent it. Each is
    /// one line, bounded: the description is flattened and cut, links are [`alerts::card_link`]s.
    fn alert_card_links(&self, a: &AlertInfo) -> Vec<String> {
        let mut lines = vec![];
        if let Some(d) = a.description.as_deref().map(shown).filter(|d| !d.trim().is_empty()) {
            let mut d: String = d.trim().to_string();
            if d.chars().count() > CARD_DESCRIPTION {
                d = d.chars().take(CARD_DESCRIPTION - 1).collect::<String>().trim_end().to_string() + "…";
            }
            lines.push(format!("Description: {}", quoted(&d)));
        }
        if let Some(id) = &a.runbook {
            let title = self.runbooks.get(id).map(|r| r.title.clone()).unwrap_or_else(|| id.clone());
            lines.push(format!("Runbook: {title}"));
        }
        if let Some(u) = &a.runbook_url {
            lines.push(format!("Runbook: {u}"));
        }
        if let Some(u) = &a.dashboard {
            lines.push(format!("Dashboard: {u}"));
        }
        // Each alert's own link, firing ones first; the ticket's first link where its alerts kept none.
        let firing = a.alerts.iter().filter(|m| m.status == alerts::AlertStatus::Firing);
        let resolved = a.alerts.iter().filter(|m| m.status != alerts::AlertStatus::Firing);
        let mut sources: Vec<(&str, String)> = vec![];
        for m in firing.chain(resolved) {
            if let Some(l) = &m.link
                && !sources.iter().any(|(s, _)| s == l)
            {
                sources.push((l, m.label_text(2)));
            }
        }
        match sources.len() {
            0 => lines.extend(a.link.as_ref().map(|l| format!("Source: {l}"))),
            1 => lines.push(format!("Source: {}", sources[0].0)),
            n => {
                for (l, which) in sources.iter().take(CARD_SOURCES) {
                    let which: String = which.chars().take(CARD_SOURCE_LABELS).collect();
                    match which.is_empty() {
                        true => lines.push(format!("Source: {l}")),
                        false => lines.push(format!("Source ({}): {l}", quoted(&which))),
                    }
                }
                if n > CARD_SOURCES {
                    lines.push(format!("Sources: {} more not shown", n - CARD_SOURCES));
                }
            }
        }
        if let Some(l) = a.external_url.as_deref().and_then(|u| alerts::alertmanager_link(u, &a.group_labels)) {
            lines.push(format!("Alertmanager: {l}"));
        }
        lines
    }

    /// The card text of an alert ticket: what fires, where, since when, and what to follow.
    pub(super) fn alert_card_text(&self, t: &Ticket, now: Timestamp) -> String {
        let Some(a) = t.alert.as_deref() else { return String::new() };
        let state = if !t.state.is_active() {
            t.state.to_string()
        } else if a.group == "storm" {
            let resolved =
                if a.resolved.is_empty() { String::new() } else { format!(", {} resolved", a.resolved.len()) };
            format!("{} alert group(s) collected{resolved}", a.folded)
        } else if a.firing_count() == 0 && a.truncated == 0 {
            // Its own group has resolved; one merged into it may still fire.
            let merged: Vec<String> = a.merged.iter().filter(|m| m.firing > 0).map(|m| m.ticket.to_string()).collect();
            if merged.is_empty() {
                "alerts resolved".to_string()
            } else {
                format!("FIRING (merged {})", merged.join(", "))
            }
        } else {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let n = a.firing_count();
            // Alerts the sender left out may fire or not: counted, never taken for resolved.
            let t = a.truncated as usize;
            let mut s = match (n, t) {
                (n, 0) => format!("FIRING ({n} alert{})", plural(n)),
                (0, t) => format!("FIRING (+{t} alert{} not sent)", plural(t)),
                (n, t) => format!("FIRING ({n} alert{} +{t} more not sent)", plural(n)),
            };
            if !a.resolved.is_empty() {
                let sent = if t > 0 { " sent" } else { "" };
                s.push_str(&format!(" · {} of {}{sent} resolved", a.resolved.len(), a.total()));
            }
            s
        };
        let mut text =
            format!("Alert ticket {} · {} · {} · {}: {}", t.number, t.priority, t.category, state, quote(&a.summary));
        if t.state.is_active() {
            text.push_str(&format!(" · {}", self.due_phrase(t, now)));
        }
        // What it is about and where to look, before the labels and alerts, so that no platform's length limit
        // (Discord's 4096) can cut them off (#36): every part is bounded.
        for line in self.alert_card_links(a) {
            text.push('\n');
            text.push_str(&line);
        }
        // The group's labels as they are now, then those that differ among its alerts (with their values): a
        // group of three hosts shows `instance=srv1|srv2|srv3`, a mixed one `severity=critical|warning`.
        let skip = |k: &str| matches!(k, "alertname" | "__name__");
        let varying: Vec<(String, Vec<String>)> =
            if a.group == "storm" { vec![] } else { a.varying().into_iter().filter(|(k, _)| !skip(k)).collect() };
        // Past the alerts kept in detail, more values exist than are known: "+many", not a count that is wrong.
        let all_values = a.varying_complete();
        let labels: Vec<String> = a
            .labels
            .iter()
            .filter(|(k, _)| !skip(k) && !varying.iter().any(|(vk, _)| vk == *k))
            .map(|(k, v)| format!("{}={}", shown(k), shown(v)))
            .chain(varying.iter().map(|(k, values)| {
                let mut shown_values: Vec<String> = values.iter().take(CARD_VALUES).map(|v| shown(v)).collect();
                if values.len() > CARD_VALUES {
                    shown_values.push(if all_values {
                        format!("+{}", values.len() - CARD_VALUES)
                    } else {
                        "+many".to_string()
                    });
                }
                format!("{}={}", shown(k), shown_values.join("|"))
            }))
            .collect();
        let mut on_card: Vec<String> = labels.iter().take(CARD_LABELS).cloned().collect();
        if labels.len() > CARD_LABELS {
            on_card.push(format!("+{} more", labels.len() - CARD_LABELS));
        }
        // Label values are the monitoring's text: escaped for the platform, so `*boom*`, `<@U123>` or `[x](url)`
        // in a value shows as written and cannot format, mention or link.
        if !on_card.is_empty() {
            text.push_str(&format!("\nLabels: {}", quoted(&on_card.join(", "))));
        }
        if !a.merged.is_empty() {
            let merged: Vec<String> = a
                .merged
                .iter()
                .map(|m| match m.firing {
                    0 => format!("{} (resolved)", m.ticket),
                    n => format!("{} ({n} firing)", m.ticket),
                })
                .collect();
            text.push_str(&format!("\nMerged alert groups: {}", merged.join(", ")));
        }
        if let Some(s) = a.starts_at {
            text.push_str(&format!("\nSince {}", self.fmt_time(s)));
        }
        if a.flaps > 0 {
            text.push_str(&format!(" · fired again {} time(s) after resolving", a.flaps));
        }
        if let Some(line) = self.silence_line(t) {
            text.push_str(&format!("\n{line}"));
        }
        // The group's alerts, firing first: what tells each apart and its state.
        if a.alerts.len() > 1 || a.alerts.iter().any(|m| !m.labels.is_empty()) {
            let firing = a.alerts.iter().filter(|m| m.status == alerts::AlertStatus::Firing);
            let resolved = a.alerts.iter().filter(|m| m.status == alerts::AlertStatus::Resolved);
            let shown: Vec<String> = firing.chain(resolved).take(CARD_ALERTS).map(|m| self.member_text(m, 2)).collect();
            let known = a.total().max(a.alerts.len()) + a.truncated as usize;
            let more = known.saturating_sub(shown.len());
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            text.push_str(&format!("\nAlerts: {}{tail}", quoted(&shown.join("; "))));
        }
        if a.group == "storm" && !a.folded_examples.is_empty() {
            let more = a.folded.saturating_sub(a.folded_examples.len() as u64);
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            text.push_str(&format!("\nCollected: {}{tail}", quoted(&a.folded_examples.join("; "))));
        }
        text
    }
}

/// Records how many alerts of merged ticket `ticket`'s group fire now, on the ticket it was merged into.
fn set_merged(info: &mut AlertInfo, ticket: TicketNo, firing: u64) {
    match info.merged.iter_mut().find(|m| m.ticket == ticket) {
        Some(m) => m.firing = firing,
        None => info.merged.push(MergedGroup { ticket, firing }),
    }
}

/// `am-b.example:9093` of `https://am-b.example:9093/alertmanager`: letters, digits, `.`, `-` and `:` only, so it
/// can stand in a message or a ticket's title without escaping.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    host.chars().filter(|c| c.is_ascii_alphanumeric() || ".-:".contains(*c)).take(100).collect()
}

/// A one-off timer of an alert ticket at `due`, keyed by `prefix`, the ticket and the instant (so a moved instant is
/// a new timer).
fn alert_timer(t: &Ticket, prefix: &str, due: Timestamp) -> Timer {
    Timer {
        ticket: t.number,
        clock: SlaClock::Resolution,
        percent: 0,
        at: due,
        due,
        key: format!("{prefix}{}:{}", t.number.0, due.timestamp_millis()),
    }
}
