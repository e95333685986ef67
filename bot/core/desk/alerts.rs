//! Monitoring alerts into tickets: one ticket per alert group while it fires, updated (not re-opened) by
//! repeats and new alerts of the group, resolved by the alert's resolution when no person has touched it,
//! reopened when it flaps, and folded into one storm ticket past a per-source hourly cap.

use super::{Desk, DeskError, Work, quote};
use crate::core::alerts::{self, AlertGroup, AlertInfo, AlertRule, MONITOR_PREFIX, shown};
use crate::core::duration::human;
use crate::core::ids::{Place, Platform, TicketNo, UserRef};
use crate::core::message::Outbound;
use crate::core::ticket::{Event, EventKind, NewTicket, Origin, Priority, Ticket, TicketType, Timestamp};
use crate::store::{Commit, Committed, Store, StoreError};
use chrono::Duration;
use serde::Serialize;
use std::collections::HashMap;

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

/// Card updates for one ticket are sent at most this often, unless its state changes.
const CARD_EVERY: Duration = Duration::seconds(60);
/// Folded groups named on the storm ticket.
const STORM_EXAMPLES: usize = 20;
/// Alerts of a group named on its card (the rest are counted).
const CARD_ALERTS: usize = 5;
/// Labels of a group shown on its card (the rest are counted).
const CARD_LABELS: usize = 8;

/// Tickets read or made while handling one notification, by origin thread.
#[derive(Default)]
struct Batch {
    tickets: HashMap<String, (Ticket, bool)>,
    order: Vec<String>,
    opened_this_hour: HashMap<String, i64>,
}

impl<S: Store> Desk<S> {
    /// Turns alert groups into ticket changes, all in one commit. `dedupe_key` makes a redelivered notification a
    /// no-op; without one, a repeat still changes nothing (alerts already firing are not news).
    pub async fn alerts(&self, groups: &[AlertGroup], dedupe_key: Option<&str>) -> Result<AlertOutcome, DeskError> {
        let mut last_conflict = TicketNo(0);
        for _ in 0..8 {
            if let Some(k) = dedupe_key
                && self.store.seen(k).await?
            {
                return Ok(AlertOutcome { duplicate: true, ..AlertOutcome::default() });
            }
            let now = self.clock.now();
            let mut w = Work {
                commit: Commit { dedupe_key: dedupe_key.map(str::to_string), at: Some(now), ..Commit::default() },
            };
            let mut out = AlertOutcome::default();
            let mut batch = Batch::default();
            for g in groups {
                self.alert_group(g, now, &mut w, &mut batch, &mut out).await?;
            }
            for key in batch.order.drain(..) {
                if let Some((t, new)) = batch.tickets.remove(&key) {
                    if new { w.commit.inserts.push(t) } else { w.commit.updates.push(t) }
                }
            }
            self.schedule(&mut w.commit);
            match self.commit(w.commit).await {
                Ok(Committed::Written) => return Ok(out),
                Ok(Committed::Duplicate) => return Ok(AlertOutcome { duplicate: true, ..AlertOutcome::default() }),
                Err(StoreError::Conflict(n)) => last_conflict = n,
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

    /// The group's current ticket (made or changed earlier in this batch, else the latest stored one).
    async fn group_ticket(&self, place: &Place, batch: &mut Batch) -> Result<Option<String>, DeskError> {
        let key = place.thread.clone().unwrap_or_default();
        if batch.tickets.contains_key(&key) {
            return Ok(Some(key));
        }
        match self.store.ticket_by_thread(self.settings.alerts.platform, place).await? {
            Some(t) => {
                batch.tickets.insert(key.clone(), (t, false));
                batch.order.push(key.clone());
                Ok(Some(key))
            }
            None => Ok(None),
        }
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
        let place = Self::alert_place(&g.source, &g.key);
        let fires = g.firing().next().is_some();
        let key = self.group_ticket(&place, batch).await?;
        let current = key.as_ref().and_then(|k| batch.tickets.get_mut(k)).map(|(t, _)| t);
        match current {
            Some(t) if t.state.is_active() && t.merged_into.is_none() => {
                self.update_alert_ticket(t, g, &monitor, now, w, out).await?;
            }
            // Resolved (by a person) while its alerts still fired, and now monitoring says they have all resolved:
            // noted on the ticket, so that a later firing counts as the group firing again.
            Some(t) if !fires && t.alert.as_deref().is_some_and(|a| a.firing_count() > 0) => {
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
            }
            Some(t)
                if fires
                    && t.merged_into.is_none()
                    && t.alert.as_deref().is_none_or(|a| a.firing_count() == 0)
                    && t.resolved_at.is_some_and(|r| now - r <= self.settings.alerts.reopen_within) =>
            {
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
                info.apply(g);
                info.card_at = Some(now);
                self.tell_flap(t, g, "reopened", w);
                w.send(self.card(t, now));
                out.reopened.push(t.number);
            }
            // A new ticket; one that follows an earlier ticket of the group (resolved while its alerts still fired,
            // or longer ago than `reopen_within`) is linked to it.
            Some(_) if fires => {
                let k = key.unwrap_or_default();
                let previous = batch.tickets.remove(&k);
                batch.order.retain(|o| *o != k);
                self.open_alert_ticket(g, &monitor, place, now, w, batch, out, previous).await?
            }
            _ if fires => self.open_alert_ticket(g, &monitor, place, now, w, batch, out, None).await?,
            _ => {
                if !self.storm_resolution(g, &monitor, now, w, batch, out).await? {
                    out.unchanged += 1
                }
            }
        }
        Ok(())
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
            self.tell_flap(t, g, "fired again", w);
        }
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
        if all_clear {
            if self.touched_by_people(t).await? {
                let text = format!("Monitoring: every alert of this group has resolved ({}).", self.fmt_time(now));
                w.events(t.number, t.note(monitor, &text, now).unwrap_or_default());
                let msg = format!(
                    "The alert behind {} has resolved: {}. The ticket stays yours; resolve it when you are done.",
                    t.number,
                    quote(&g.summary())
                );
                let tell = match &t.owner {
                    Some(owner) => Outbound::to_user(owner, &Place { dm: true, ..self.staff_place() }, msg),
                    None => self.to_queue(t.origin.platform, msg),
                };
                if self.flap_told(t) {
                    w.send(tell.about(t.number));
                }
                t.alert.get_or_insert_default().card_at = Some(now);
                w.send(self.card(t, now));
                out.updated.push(t.number);
            } else {
                let why = "The alert resolved; nobody had worked on the ticket.";
                match t.resolve(monitor, Some(why), false, now) {
                    Ok(ev) => w.events(t.number, ev),
                    Err(e) => {
                        tracing::warn!(ticket = %t.number, error = %e, "alert: cannot resolve");
                        out.unchanged += 1;
                        return Ok(());
                    }
                }
                t.alert.get_or_insert_default().card_at = Some(now);
                w.send(self.card(t, now));
                out.resolved.push(t.number);
            }
            return Ok(());
        }
        if new.is_empty() && ended_count == 0 && !counts_changed {
            out.unchanged += 1;
            return Ok(());
        }
        // Alerts came or went: the card shows it now (an edit in place), however recently it was posted, since
        // Alertmanager may not send the group again for hours.
        t.alert.get_or_insert_default().card_at = Some(now);
        w.send(self.card(t, now));
        out.updated.push(t.number);
        Ok(())
    }

    /// True when a flapping group's change is told: on the first flap, then every `flap_notice_every` flaps.
    fn flap_told(&self, t: &Ticket) -> bool {
        let flaps = t.alert.as_deref().map(|a| a.flaps).unwrap_or(0);
        flaps <= 1 || flaps.is_multiple_of(self.settings.alerts.flap_notice_every.max(1))
    }

    /// A card edited in place notifies nobody: a group firing again after resolving is told as a message of its
    /// own, to the owner or else the queue, damped by [`Self::flap_told`] so that a flapping alert cannot flood chat.
    fn tell_flap(&self, t: &Ticket, g: &AlertGroup, what: &str, w: &mut Work) {
        if !self.flap_told(t) {
            return;
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
        let tell = match t.owner.clone() {
            Some(owner) => Outbound::to_user(&owner, &Place { dm: true, ..self.staff_place() }, text),
            None => self.to_queue(t.origin.platform, text),
        };
        w.send(tell.about(t.number));
    }

    /// True when someone other than the monitoring source owns the ticket or wrote on it.
    async fn touched_by_people(&self, t: &Ticket) -> Result<bool, DeskError> {
        if t.owner.is_some() {
            return Ok(true);
        }
        let events = self.store.events(t.number).await?;
        Ok(events.iter().any(|e| e.actor.as_ref().is_some_and(|a| !alerts::is_monitor(a))))
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
        previous: Option<(Ticket, bool)>,
    ) -> Result<(), DeskError> {
        let opened = match batch.opened_this_hour.get(&g.source) {
            Some(n) => *n,
            None => self.store.count_opened_by(&monitor.key(), now - Duration::hours(1)).await?,
        };
        if opened >= self.settings.alerts.max_new_tickets_per_hour {
            if let Some((p, new)) = previous {
                let k = place.thread.clone().unwrap_or_default();
                batch.tickets.insert(k.clone(), (p, new));
                batch.order.push(k);
            }
            return self.fold_into_storm(g, monitor, now, w, batch, out).await;
        }
        batch.opened_this_hour.insert(g.source.clone(), opened + 1);
        let s = &self.settings.alerts;
        let classifier = self.classifier();
        let m = alerts::map(&s.rules, g.labels(), |c| classifier.category(c).is_some(), &s.default_category);
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
        for a in g.alerts.iter().take(alerts::MAX_MEMBERS) {
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
        if let Some(note) = &m.note {
            w.events(number, t.note(monitor, note, now).unwrap_or_default());
        }
        t.fingerprint = Some(format!("{}|alert:{}|-", m.category, g.labels().get("alertname").unwrap_or(&summary)));
        t.alert = Some(Box::new(AlertInfo {
            source: g.source.clone(),
            group: g.key.clone(),
            summary,
            labels: g.labels().clone(),
            starts_at: g.starts_at(),
            link: g.link(),
            runbook: m.runbook,
            runbook_url: g.annotation("runbook_url").or_else(|| g.annotation("runbook")),
            notifications: 1,
            card_at: Some(now),
            ..AlertInfo::default()
        }));
        if let Some(info) = t.alert.as_deref_mut() {
            info.apply(g);
        }
        if let Some((mut p, p_new)) = previous {
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
            t.links.push(p.number);
            p.links.push(number);
            let linked = |with| Event { at: now, actor: Some(monitor.clone()), kind: EventKind::Linked { with } };
            w.events(number, vec![linked(p.number)]);
            w.events(number, t.note(monitor, &text, now).unwrap_or_default());
            w.events(p.number, vec![linked(number)]);
            if p_new { w.commit.inserts.push(p) } else { w.commit.updates.push(p) }
        }
        self.policies.apply(&mut t);
        w.send(self.card(&t, now));
        out.opened.push(number);
        let key = place.thread.unwrap_or_default();
        batch.tickets.insert(key.clone(), (t, true));
        batch.order.push(key);
        Ok(())
    }

    /// The storm ticket's place for a source and priority: storms are bucketed by priority, so a critical alert is
    /// never collected on (and hidden in) a storm of lower ones.
    fn storm_place(source: &str, p: Priority) -> Place {
        Self::alert_place(source, &format!("storm:{p}"))
    }

    /// A short stable id for a group folded into a storm (its key can be long).
    fn storm_member(g: &AlertGroup) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(g.key.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
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
        let s = &self.settings.alerts;
        let classifier = self.classifier();
        let priority =
            alerts::map(&s.rules, g.labels(), |c| classifier.category(c).is_some(), &s.default_category).priority;
        let place = Self::storm_place(&g.source, priority);
        let key = self.group_ticket(&place, batch).await?;
        let active = key.as_ref().and_then(|k| batch.tickets.get(k)).is_some_and(|(t, _)| t.state.is_active());
        if !active {
            let cap = self.settings.alerts.max_new_tickets_per_hour;
            let text = format!(
                "Alert storm: more than {cap} alert tickets from {} in an hour; further {priority} alert groups are \
                 collected here instead of opening tickets.",
                monitor.name
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
                summary: format!("Alert storm from {} ({priority})", monitor.name),
                card_at: Some(now),
                ..AlertInfo::default()
            }));
            self.policies.apply(&mut t);
            let mut notice = Outbound::to_channel(
                t.origin.platform,
                &self.settings.escalation_channel,
                format!(
                    "Alert storm from {}: over {cap} alert tickets in an hour. New {priority} alert groups are \
                     collected on {} instead of opening tickets each.",
                    monitor.name, number
                ),
            )
            .about(number);
            notice.place = Place { channel: self.settings.escalation_channel.clone(), ..Place::default() };
            w.send(notice);
            let k = place.thread.clone().unwrap_or_default();
            if let Some(old) = batch.tickets.remove(&k) {
                // The storm ticket before this one (resolved): kept as read, replaced in this batch.
                if old.1 {
                    w.commit.inserts.push(old.0)
                } else {
                    w.commit.updates.push(old.0)
                }
                batch.order.retain(|o| *o != k);
            }
            batch.tickets.insert(k.clone(), (t, true));
            batch.order.push(k);
        }
        let k = place.thread.clone().unwrap_or_default();
        let Some((t, new)) = batch.tickets.get_mut(&k) else { return Ok(()) };
        let info = t.alert.get_or_insert_default();
        info.notifications += 1;
        let member = Self::storm_member(g);
        if info.firing.contains(&member) {
            out.unchanged += 1;
            return Ok(());
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
        let send_card = *new || info.card_at.is_none_or(|at| now - at >= CARD_EVERY);
        if send_card {
            info.card_at = Some(now);
            let card = self.card(t, now);
            // One card per storm ticket in this batch.
            w.commit.outbox.retain(|m| !(m.kind == card.kind && m.ticket == card.ticket));
            w.send(card);
        }
        if !*new && !out.updated.contains(&t.number) {
            out.updated.push(t.number);
        }
        if *new && !out.opened.contains(&t.number) {
            out.opened.push(t.number);
        }
        Ok(())
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
        for p in [Priority::P1, Priority::P2, Priority::P3, Priority::P4] {
            let place = Self::storm_place(&g.source, p);
            let Some(k) = self.group_ticket(&place, batch).await? else { continue };
            let Some((t, _)) = batch.tickets.get_mut(&k) else { continue };
            if !t.state.is_active() || !t.alert.as_deref().is_some_and(|a| a.firing.contains(&member)) {
                continue;
            }
            let info = t.alert.get_or_insert_default();
            info.notifications += 1;
            info.firing.remove(&member);
            info.resolved.insert(member);
            let (firing, folded) = (info.firing_count(), info.folded);
            if firing > 0 {
                if info.card_at.is_none_or(|at| now - at >= CARD_EVERY) {
                    info.card_at = Some(now);
                    let card = self.card(t, now);
                    w.commit.outbox.retain(|m| !(m.kind == card.kind && m.ticket == card.ticket));
                    w.send(card);
                }
                if !out.updated.contains(&t.number) {
                    out.updated.push(t.number);
                }
                return Ok(true);
            }
            // Recovered: every group the storm collected has resolved.
            let recovered = format!(
                "Alert storm from {} ({p}) on {} has recovered: {folded}/{folded} alert groups resolved.",
                monitor.name, t.number
            );
            let mut notice =
                Outbound::to_channel(t.origin.platform, &self.settings.escalation_channel, recovered).about(t.number);
            notice.place = Place { channel: self.settings.escalation_channel.clone(), ..Place::default() };
            w.send(notice);
            if self.touched_by_people(t).await? {
                let text =
                    format!("Monitoring: every alert group of this storm has resolved ({}).", self.fmt_time(now));
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
            t.alert.get_or_insert_default().card_at = Some(now);
            let card = self.card(t, now);
            w.commit.outbox.retain(|m| !(m.kind == card.kind && m.ticket == card.ticket));
            w.send(card);
            return Ok(true);
        }
        Ok(false)
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
            "alerts resolved".to_string()
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
        let labels: Vec<_> = a.labels.iter().filter(|(k, _)| !matches!(k.as_str(), "alertname" | "__name__")).collect();
        let mut on_card: Vec<String> =
            labels.iter().take(CARD_LABELS).map(|(k, v)| format!("{}={}", shown(k), shown(v))).collect();
        if labels.len() > CARD_LABELS {
            on_card.push(format!("+{} more", labels.len() - CARD_LABELS));
        }
        if !on_card.is_empty() {
            text.push_str(&format!("\nLabels: {}", on_card.join(", ")));
        }
        if let Some(s) = a.starts_at {
            text.push_str(&format!("\nSince {}", self.fmt_time(s)));
        }
        if a.flaps > 0 {
            text.push_str(&format!(" · fired again {} time(s) after resolving", a.flaps));
        }
        // The group's alerts, firing first: what tells each apart and its state.
        if a.alerts.len() > 1 || a.alerts.iter().any(|m| !m.labels.is_empty()) {
            let firing = a.alerts.iter().filter(|m| m.status == alerts::AlertStatus::Firing);
            let resolved = a.alerts.iter().filter(|m| m.status == alerts::AlertStatus::Resolved);
            let shown: Vec<String> = firing.chain(resolved).take(CARD_ALERTS).map(|m| self.member_text(m, 2)).collect();
            let known = a.total().max(a.alerts.len()) + a.truncated as usize;
            let more = known.saturating_sub(shown.len());
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            text.push_str(&format!("\nAlerts: {}{tail}", shown.join("; ")));
        }
        if let Some(id) = &a.runbook {
            let title = self.runbooks.get(id).map(|r| r.title.clone()).unwrap_or_else(|| id.clone());
            text.push_str(&format!("\nRunbook: {title}"));
        }
        if let Some(u) = &a.runbook_url {
            text.push_str(&format!("\nRunbook: {u}"));
        }
        if let Some(l) = &a.link {
            text.push_str(&format!("\nSource: {l}"));
        }
        if a.group == "storm" && !a.folded_examples.is_empty() {
            let more = a.folded.saturating_sub(a.folded_examples.len() as u64);
            let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
            text.push_str(&format!("\nCollected: {}{tail}", a.folded_examples.join("; ")));
        }
        text
    }
}
