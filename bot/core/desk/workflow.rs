//! Technician workflow that spans several tickets: merge duplicates, link related tickets, recurring-issue
//! detection and problem records, and "Is this about #42?" for a requester's look-alike messages.

use super::{Desk, DeskError, Refusal, Work, quote};
use crate::core::command::{self, Command};
use crate::core::ids::{Place, TicketNo};
use crate::core::message::{Button, Envelope, MessageKind, Outbound};
use crate::core::recurring::{self, THRESHOLD, WINDOW_DAYS};
use crate::core::ticket::{Event, EventKind, Ticket, Timestamp};
use crate::core::triage::Decision;
use crate::store::{Commit, Committed, Conversation, ConversationWrite, Problem, Store, StoreError};
use chrono::Duration;

/// Conversation key prefix for a pending "Is this about #N?" question.
const SIMILAR: &str = "sim:";
/// Word overlap at which a new message is probably about an open ticket.
const SIMILAR_AT: f64 = 0.34;
/// Look-alike tickets named in a recurring-issue notice (the newest); the rest are counted.
const LISTED: usize = 10;
/// Look-alikes counted at most when a ticket opens.
const COUNTED: usize = 100;

/// A pending "Is this about #N?" question: the message to act on once the requester answers.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    text: String,
    candidate: TicketNo,
    place: Place,
    /// When it was asked or last added to (`None`: stored before this was kept).
    #[serde(default)]
    at: Option<Timestamp>,
}

impl<S: Store> Desk<S> {
    /// Merge, link, problems and problem: commands that read or change more than one ticket.
    pub(super) async fn workflow(
        &self,
        env: &Envelope,
        cmd: Command,
        ticket: Option<Ticket>,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Result<(), Refusal>, DeskError> {
        let me = &env.actor;
        let here = |text: String| Outbound::to_user(me, &env.place, text).kind(MessageKind::Ephemeral);
        match cmd {
            Command::Merge(_, into) | Command::Link(_, into) => {
                let Some(mut a) = ticket else {
                    return Ok(Err("that command needs a ticket number".to_string().into()));
                };
                let Some(mut b) = self.store.ticket(into).await? else {
                    return Ok(Err(format!("there is no ticket {into}").into()));
                };
                if matches!(cmd, Command::Link(..)) {
                    if a.links.contains(&b.number) {
                        return Ok(Err(format!("{} and {} are already linked", a.number, b.number).into()));
                    }
                    a.links.push(b.number);
                    b.links.push(a.number);
                    w.events(
                        a.number,
                        vec![Event { at: now, actor: Some(me.clone()), kind: EventKind::Linked { with: b.number } }],
                    );
                    w.events(
                        b.number,
                        vec![Event { at: now, actor: Some(me.clone()), kind: EventKind::Linked { with: a.number } }],
                    );
                    w.send(here(format!("Linked {} and {}.", a.number, b.number)));
                } else {
                    // Say which one was merged and where its chain ends, so the technician can merge there (#30).
                    if let Some(into) = a.merged_into {
                        let end = self.end_of_merges(into).await?;
                        return Ok(Err(Refusal::state(format!(
                            "{} was already merged into {end}; nothing is left to merge",
                            a.number
                        ))));
                    }
                    if let Some(into) = b.merged_into {
                        let end = self.end_of_merges(into).await?;
                        if end == a.number {
                            return Ok(Err(Refusal::state(format!(
                                "{} was already merged into {}; there is nothing left to merge",
                                b.number, a.number
                            ))));
                        }
                        return Ok(Err(Refusal::state(format!(
                            "{} was merged into {end}; merge into {end} instead (/ticket merge {} into {})",
                            b.number, a.number.0, end.0
                        ))));
                    }
                    if !b.state.is_active() {
                        return Ok(Err(Refusal::state(format!(
                            "{} is {}; merge into an open ticket",
                            b.number, b.state
                        ))));
                    }
                    // A request waiting for a decision takes nobody else's problem: a decline would end it too.
                    if let Some(approver) = self.awaiting_decision(&b).await? {
                        return Ok(Err(Refusal::state(format!(
                            "{} is waiting for a {approver}'s approval, so nothing can be merged into it until it \
                             is decided; link the two instead (/ticket link {} {})",
                            b.number, a.number.0, b.number.0
                        ))));
                    }
                    // A duplicate is closed by the merge: a joiner or leaver with work left on its checklist would
                    // end with access still to remove (#33).
                    if let Some(cl) = &a.checklist
                        && let Err(why) = cl.check_done(&format!("merge {} into {}", a.number, b.number))
                    {
                        return Ok(Err(Refusal::state(format!(
                            "{why}; tick them off first, or link the two instead (/ticket link {} {})",
                            a.number.0, b.number.0
                        ))));
                    }
                    // Its open vendor cases go on on the surviving ticket (the vendor is told the number to quote).
                    self.move_cases(&mut a, &mut b, me, now, w).await?;
                    // The duplicate is closed; its requester follows the surviving ticket.
                    let note = format!("merged into {}", b.number);
                    let mut ev = match a.resolve(me, Some(&note), false, now) {
                        Ok(ev) => ev,
                        Err(e) => return Ok(Err(e.into())),
                    };
                    if let Ok(more) = a.close(me, now) {
                        ev.extend(more);
                    }
                    ev.push(a.merged(me, b.number, now));
                    w.events(a.number, ev);
                    // The duplicate's walkthrough ends: its buttons say where the conversation went (see walk.rs).
                    self.end_walk(a.number, format!("merged into {}", b.number), now, w).await?;
                    // An alert ticket merged into another alert ticket: its group's notifications go on there (see
                    // alerts.rs), and that ticket resolves by itself only once every group it follows has stopped.
                    if let (Some(from), Some(to)) = (a.alert.as_deref(), b.alert.as_deref_mut()) {
                        let mut moved = from.merged.clone();
                        moved.push(crate::core::alerts::MergedGroup {
                            ticket: a.number,
                            firing: from.firing_or_left_out(),
                        });
                        for m in moved {
                            to.merged.retain(|x| x.ticket != m.ticket);
                            to.merged.push(m);
                        }
                    }
                    // The duplicate's requester follows the surviving ticket, and so does everyone who followed the
                    // duplicate (its own merged duplicates: in a chain A into B, B into C, A's requester hears of C).
                    for who in std::iter::once(&a.requester).chain(a.cc.iter()) {
                        if !b.requester.same_person(who) && !b.cc.iter().any(|c| c.same_person(who)) {
                            b.cc.push(who.clone());
                        }
                    }
                    // Across categories the note names both, so nobody wonders later why a printer jam is on an
                    // account lockout.
                    let categories = if a.category == b.category {
                        String::new()
                    } else {
                        format!(" ({} into {})", a.category, b.category)
                    };
                    let text = format!("From merged {}{categories}: {}", a.number, a.description);
                    let mut evb = vec![Event {
                        at: now,
                        actor: Some(me.clone()),
                        kind: EventKind::MergedFrom { from: a.number },
                    }];
                    if let Ok(more) = b.note(me, &text, now) {
                        evb.extend(more);
                    }
                    w.events(b.number, evb);
                    w.send(
                        Outbound::to_user(
                            &a.requester,
                            &a.origin.place,
                            format!(
                                "{} is the same issue as {}, so I've merged them; you'll hear when {} is resolved.",
                                a.number, b.number, b.number
                            ),
                        )
                        .about(a.number),
                    );
                    w.send(here(format!("Merged {} into {}{categories}.", a.number, b.number)));
                    // The owners hear of it from whoever did it: the duplicate's, whose ticket is gone, and the
                    // surviving ticket's, who has one more person waiting.
                    let staff_dm = Place { dm: true, ..self.staff_place() };
                    if let Some(o) = a.owner.as_ref().filter(|o| !o.same_person(me)) {
                        let msg = format!(
                            "{} merged {}, which you own, into {}{categories}.",
                            me.shown(),
                            a.number,
                            b.number
                        );
                        w.send(Outbound::to_user(o, &staff_dm, msg).about(a.number));
                    }
                    if let Some(o) = b.owner.as_ref().filter(|o| !o.same_person(me))
                        && !a.owner.as_ref().is_some_and(|x| x.same_person(o))
                    {
                        let msg =
                            format!("{} merged {} into {}, which you own{categories}.", me.shown(), a.number, b.number);
                        w.send(Outbound::to_user(o, &staff_dm, msg).about(b.number));
                    }
                }
                w.commit.updates.push(a);
                w.commit.updates.push(b);
            }
            Command::Problems => {
                let since = now - Duration::days(WINDOW_DAYS);
                let groups: Vec<(String, i64)> = self
                    .store
                    .fingerprint_counts(since, now + Duration::minutes(1))
                    .await?
                    .into_iter()
                    .filter(|(_, n)| *n >= THRESHOLD as i64)
                    .collect();
                let problems = self.store.problems().await?;
                let mut s = String::new();
                if groups.is_empty() && problems.is_empty() {
                    s.push_str(&format!(
                        "No recurring issues: nothing has come up {THRESHOLD} or more times in {WINDOW_DAYS} days."
                    ));
                } else {
                    s.push_str(&format!(
                        "Recurring issues ({THRESHOLD}+ tickets in {WINDOW_DAYS} days): {}",
                        groups.len()
                    ));
                    for (fp, n) in &groups {
                        let linked =
                            problems.iter().find(|p| &p.fingerprint == fp).map(|p| format!(" · problem P-{}", p.id));
                        s.push_str(&format!("\n{} × {}{}", n, recurring::describe(fp), linked.unwrap_or_default()));
                    }
                    if !problems.is_empty() {
                        s.push_str(&format!("\nProblem records: {}", problems.len()));
                        for p in &problems {
                            s.push_str(&format!(
                                "\nP-{} {} ({})",
                                p.id,
                                quote(&p.title),
                                recurring::describe(&p.fingerprint)
                            ));
                        }
                    }
                }
                w.send(here(s));
            }
            Command::Problem(_) => {
                let Some(t) = ticket else { return Ok(Err("that command needs a ticket number".to_string().into())) };
                let Some(fp) = t.fingerprint.clone() else {
                    return Ok(Err(format!("{} has no recurring-issue fingerprint", t.number).into()));
                };
                let (problem, created) = match self.store.problem_for(&fp).await? {
                    Some(p) => (p, false),
                    None => {
                        let p = Problem {
                            id: self.store.next_problem_id().await?,
                            fingerprint: fp.clone(),
                            title: t.title.clone(),
                            created_at: now,
                            created_by: Some(me.key()),
                        };
                        w.commit.problems.push(p.clone());
                        (p, true)
                    }
                };
                let since = now - Duration::days(WINDOW_DAYS);
                let mut linked = vec![];
                for n in self.store.tickets_with_fingerprint(&fp, since).await? {
                    let Some(mut x) = self.store.ticket(n).await? else { continue };
                    if x.problem == Some(problem.id) {
                        continue;
                    }
                    x.problem = Some(problem.id);
                    w.events(
                        n,
                        vec![Event {
                            at: now,
                            actor: Some(me.clone()),
                            kind: EventKind::ProblemLinked { problem: problem.id },
                        }],
                    );
                    linked.push(n.to_string());
                    w.commit.updates.push(x);
                }
                let what = if created { "Created" } else { "Updated" };
                w.send(here(format!(
                    "{what} problem P-{} {} ({}); linked {}.",
                    problem.id,
                    quote(&problem.title),
                    recurring::describe(&fp),
                    if linked.is_empty() { "no new tickets".to_string() } else { linked.join(", ") }
                )));
            }
            _ => return Ok(Err("not a workflow command".to_string().into())),
        }
        Ok(Ok(()))
    }

    /// The ticket at the end of a chain of merges that starts by merging into `into` (`into` itself when it was
    /// not merged on); at most 16 links are followed.
    pub(super) async fn end_of_merges(&self, into: TicketNo) -> Result<TicketNo, DeskError> {
        let mut end = into;
        for _ in 0..16 {
            match self.store.ticket(end).await?.and_then(|t| t.merged_into) {
                Some(next) => end = next,
                None => break,
            }
        }
        Ok(end)
    }

    /// After a ticket opens: if it is the [`THRESHOLD`]th or later look-alike in the window, tell its owner (the
    /// queue while unowned) and offer a problem record.
    pub(super) async fn check_recurring(&self, t: &Ticket, now: Timestamp, w: &mut Work) -> Result<(), DeskError> {
        let Some(fp) = &t.fingerprint else { return Ok(()) };
        let since = now - Duration::days(WINDOW_DAYS);
        // Counted in the store; only the newest look-alikes are read (a long-running recurring issue would
        // otherwise list and load thousands). This ticket is not stored yet: it is the newest.
        let found = self.store.look_alikes(fp, since, LISTED as i64, COUNTED as i64).await?;
        let (stored, mut newest) = (found.count, found.newest);
        let count = stored + 1;
        if count < THRESHOLD {
            return Ok(());
        }
        // Past COUNTED the exact figure tells nobody anything, and counting it would cost every new ticket more.
        let beyond = stored >= COUNTED;
        let position = if beyond {
            format!("one of more than {COUNTED} look-alikes")
        } else {
            format!("look-alike number {count}")
        };
        w.events(
            t.number,
            vec![Event { at: now, actor: None, kind: EventKind::Recurring { fingerprint: fp.clone(), count } }],
        );
        newest.insert(0, t.number);
        newest.truncate(LISTED);
        newest.reverse();
        let names: Vec<String> = newest.iter().map(|n| n.to_string()).collect();
        let listed = match count.saturating_sub(LISTED) {
            0 => names.join(", "),
            _ if beyond => format!("more than {} earlier and {}", COUNTED - LISTED, names.join(", ")),
            earlier => format!("{earlier} earlier and {}", names.join(", ")),
        };
        let problem = found.problem;
        let text = match &problem {
            Some(p) => format!(
                "Recurring: {} is {position} in {WINDOW_DAYS} days ({}); problem P-{} {} covers it.",
                t.number,
                recurring::describe(fp),
                p.id,
                quote(&p.title)
            ),
            None => format!(
                "Recurring: {} is {position} in {WINDOW_DAYS} days ({}): {}. Link them to a problem record?",
                t.number,
                recurring::describe(fp),
                listed
            ),
        };
        let mut m = self.to_queue(t.origin.platform, text).about(t.number);
        if problem.is_none() {
            m = m.with_buttons(vec![Button::new("Link to a problem", command::action("problem", t.number))]);
        }
        w.send(m);
        Ok(())
    }

    /// Before opening a new ticket: if the requester has an open ticket that looks like the same thing, ask.
    /// `open` is the requester's active tickets. Returns true when the question was asked (the message waits for
    /// the answer).
    pub(super) fn ask_if_same(
        &self,
        env: &Envelope,
        text: &str,
        category: &str,
        open: &[Ticket],
        w: &mut Work,
    ) -> bool {
        let best = open
            .iter()
            .map(|t| {
                let mut score = recurring::similarity(text, &t.description);
                if t.category == category && category != "other" {
                    score += 0.15;
                }
                (score, t)
            })
            .filter(|(score, _)| *score >= SIMILAR_AT)
            .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.number.cmp(&b.1.number)));
        let Some((_, t)) = best else { return false };
        self.ask_about(env, text, t, w);
        true
    }

    /// Asks "Is this about #N?" with buttons; the message waits for the answer.
    pub(super) fn ask_about(&self, env: &Envelope, text: &str, t: &Ticket, w: &mut Work) {
        let id = format!("{:08x}", fnv(&env.dedupe_key));
        let key = format!("{SIMILAR}{id}");
        let place = super::reply_place(env);
        let at = w.commit.at;
        let pending = Pending { text: text.to_string(), candidate: t.number, place: place.clone(), at };
        w.commit.conversations.push(ConversationWrite::Put(Conversation {
            key: key.clone(),
            owner: env.actor.key(),
            ticket: None,
            data: serde_json::to_string(&pending).unwrap_or_default(),
            deadline: None,
            version: 0,
        }));
        w.send(
            Outbound::to_user(&env.actor, &place, format!("Is this about {} {}?", t.number, quote(&t.title)))
                .with_buttons(vec![
                    Button::new(format!("Yes, add it to {}", t.number), format!("similar:yes:{id}")).primary(),
                    Button::new("No, it's something new", format!("similar:no:{id}")),
                ]),
        );
    }

    /// "yes" or "no, it's something new" typed to "Is this about #N?" where it was asked (probe F: it went to a
    /// running walkthrough as its answer, and the new problem was lost): pressed as the button would be. Only the
    /// person's newest such question in this place, within [`QUESTION_EXPIRY`].
    pub(super) async fn typed_similar_reply(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<Option<super::Flow>, DeskError> {
        let Some(yes) = crate::core::conversation::typed_same_answer(text) else { return Ok(None) };
        let here = super::reply_place(env);
        let mut asked: Vec<(Timestamp, String)> = vec![];
        for conv in self.store.conversations_of(&env.actor.key()).await? {
            let Some(id) = conv.key.strip_prefix(SIMILAR) else { continue };
            let Ok(p) = serde_json::from_str::<Pending>(&conv.data) else { continue };
            let Some(at) = p.at.filter(|&at| now - at <= QUESTION_EXPIRY) else { continue };
            if p.place.channel == here.channel && p.place.dm == here.dm {
                asked.push((at, id.to_string()));
            }
        }
        let Some((_, id)) = asked.into_iter().max() else { return Ok(None) };
        let answer = if yes { "yes" } else { "no" };
        self.on_similar_answer(env, &format!("similar:{answer}:{id}"), now, w).await.map(Some)
    }

    /// The answer to "Is this about #N?".
    pub(super) async fn on_similar_answer(
        &self,
        env: &Envelope,
        action: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<super::Flow, DeskError> {
        let mut parts = action.splitn(3, ':');
        let (Some("similar"), Some(answer), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(super::Flow::Refused(format!("unknown button `{action}`").into()));
        };
        let key = format!("{SIMILAR}{id}");
        let Some(conv) = self.pending_question(env, &key).await? else {
            return Ok(super::Flow::Refused("That question was already answered.".to_string().into()));
        };
        let Ok(p) = serde_json::from_str::<Pending>(&conv.data) else {
            return Ok(super::Flow::Refused("That question can no longer be answered.".to_string().into()));
        };
        w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        if p.at.is_some_and(|at| now - at > QUESTION_EXPIRY) {
            w.send(Outbound::to_user(&env.actor, &p.place, EXPIRED_QUESTION).kind(MessageKind::Ephemeral));
            return Ok(super::Flow::Ok);
        }
        if answer == "yes"
            && let Some(mut t) = self.store.ticket(p.candidate).await?
            && t.state.is_active()
        {
            let mut env2 = env.clone();
            env2.place = p.place.clone();
            // The answer its walkthrough was waiting for, written in the channel (#33).
            if let Some(flow) = self.try_walk_answer(&env2, Some(t.number), false, &p.text, now, w).await? {
                return Ok(flow);
            }
            let flow = self.thread_message(&env2, &mut t, &p.text, now, w);
            if let super::Flow::Ok = flow {
                w.send(Outbound::to_user(&env.actor, &p.place, format!("Added to {}.", t.number)).about(t.number));
                // A walkthrough still waiting on a button is shown again, so it does not sit there unseen.
                self.walk_still_waiting(&t, w).await?;
            }
            return Ok(flow);
        }
        let c = self.classifier().classify(&p.text);
        let mut env2 = env.clone();
        env2.place = Place { message: None, ..p.place };
        self.open_ticket(&env2, &p.text, c, now, w).await?;
        Ok(super::Flow::Ok)
    }
}

/// A message waiting for the requester to pick its category.
#[derive(serde::Serialize, serde::Deserialize)]
struct Unsure {
    text: String,
    place: Place,
    /// When it was asked or last added to (`None`: stored before this was kept).
    #[serde(default)]
    at: Option<Timestamp>,
    /// The categories of the buttons, in order (empty: stored before this was kept), so that a typed "2" is the
    /// button the person saw, whatever the model says by then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    offered: Vec<String>,
    /// Who was asked (`None`: stored before this was kept; they get no reminder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    who: Option<crate::core::ids::UserRef>,
    /// When they were reminded (once): a typed answer counts from then too; the question still expires
    /// [`QUESTION_EXPIRY`] after it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reminded_at: Option<Timestamp>,
}

/// An unanswered "which of these is it about?" is asked again once, after this much of the office's business time
/// (probe H: a question nobody answered let the problem lapse without a word).
const UNSURE_REMINDER: Duration = Duration::hours(2);

/// The reminder: the buttons are still above it, and a typed answer works too.
pub(super) const UNSURE_REMINDED: &str = "Still need a hand with this? Pick one of the options above, or tell me what \
    it's about (\"email\", \"printer\", \"not IT\"). If it's sorted, there's no need to answer.";

/// Conversation key prefix for a pending "which of these is it about?" question.
const UNSURE: &str = "tri:";

/// How long a question deskbot asked (which category, "Is this about #N?", "Close it?") can be answered: a click a
/// day later answers a conversation everyone has moved on from, so it only says the question expired (#30).
pub(super) const QUESTION_EXPIRY: Duration = Duration::hours(24);

/// Said to a click on a question older than [`QUESTION_EXPIRY`].
pub(super) const EXPIRED_QUESTION: &str = "That question has expired (it was asked more than 24 hours ago), so I \
    haven't acted on it. If it still matters, describe it again and I'll take it from there.";

impl<S: Store> Desk<S> {
    /// Triage is unsure: ask the requester to pick among the top three categories or "Something else".
    pub(super) fn ask_category(
        &self,
        env: &Envelope,
        text: &str,
        c: &crate::core::triage::Classification,
        w: &mut Work,
    ) {
        let id = format!("{:08x}", fnv(&env.dedupe_key));
        let place = super::reply_place(env);
        let classifier = self.classifier();
        let mut buttons: Vec<Button> = c
            .alternatives
            .iter()
            .take(3)
            .filter_map(|(cat, _)| classifier.category(cat))
            .map(|cat| Button::new(cat.label.clone(), format!("triage:{id}:{}", cat.id)))
            .collect();
        buttons.push(Button::new("Something else", format!("triage:{id}:other")));
        buttons.push(Button::new("Not an IT problem", format!("triage:{id}:none")));
        w.commit.conversations.push(ConversationWrite::Put(Conversation {
            key: format!("{UNSURE}{id}"),
            owner: env.actor.key(),
            ticket: None,
            data: serde_json::to_string(&Unsure {
                text: text.to_string(),
                place: place.clone(),
                at: w.commit.at,
                offered: buttons.iter().filter_map(|b| b.action.rsplit(':').next().map(str::to_string)).collect(),
                who: Some(env.actor.clone()),
                reminded_at: None,
            })
            .unwrap_or_default(),
            deadline: w.commit.at.map(|at| self.unsure_reminder_due(at)),
            version: 0,
        }));
        w.send(
            Outbound::to_user(&env.actor, &place, "To get this to the right person: which of these is it about?")
                .with_buttons(buttons),
        );
    }

    /// This person's category question in this place that can still be answered, if any.
    async fn standing_question(
        &self,
        env: &Envelope,
        now: Timestamp,
    ) -> Result<Option<(Conversation, Unsure)>, DeskError> {
        let here = super::reply_place(env);
        for conv in self.store.conversations_of(&env.actor.key()).await? {
            if !conv.key.starts_with(UNSURE) {
                continue;
            }
            let Ok(u) = serde_json::from_str::<Unsure>(&conv.data) else { continue };
            if u.place.channel == here.channel
                && u.place.dm == here.dm
                && self.unsure_stands_until(&u).is_some_and(|until| now <= until)
            {
                return Ok(Some((conv, u)));
            }
        }
        Ok(None)
    }

    /// Another unsure message while their category question still stands here: it joins that question instead of
    /// asking a second one (probe J: three vague messages 40 minutes apart got three questions and three reminders).
    /// Returns true when it did.
    pub(super) async fn join_standing_question(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        let Some((mut conv, mut u)) = self.standing_question(env, now).await? else { return Ok(false) };
        u.text = format!("{}\n{text}", u.text);
        u.at = Some(now);
        let asked_in = u.place.clone();
        conv.data = serde_json::to_string(&u).unwrap_or_default();
        w.commit.conversations.push(ConversationWrite::Put(conv));
        w.send(
            Outbound::to_user(&env.actor, &asked_in, crate::core::conversation::ADDED_TO_QUESTION)
                .kind(MessageKind::Ephemeral),
        );
        Ok(true)
    }

    /// Whether a category question asked of this person in this place can still be answered.
    pub(super) async fn category_question_stands(&self, env: &Envelope, now: Timestamp) -> Result<bool, DeskError> {
        Ok(self.standing_question(env, now).await?.is_some())
    }

    /// A pending "which of these is it about?" question (its deadline is the reminder).
    pub(super) fn is_unsure(conv: &Conversation) -> bool {
        conv.key.starts_with(UNSURE)
    }

    /// When an unanswered category question asked at `at` is asked again: [`UNSURE_REMINDER`] of the business time
    /// of the office's default policy (a question at 17:30 is not repeated at night).
    fn unsure_reminder_due(&self, at: Timestamp) -> Timestamp {
        let p =
            self.policies.pick("other", crate::core::ticket::Priority::P3, crate::core::ticket::TicketType::Incident);
        p.calendar.due(at, UNSURE_REMINDER)
    }

    /// Until when a category question can be answered: [`QUESTION_EXPIRY`] after it was asked, or after its
    /// reminder (due or sent), whichever is later (probe I: a question asked on Friday at 16:30 expired on Saturday,
    /// before its reminder on Monday morning, and Monday's click was refused).
    fn unsure_stands_until(&self, u: &Unsure) -> Option<Timestamp> {
        let at = u.at?;
        Some(self.unsure_reminder_due(at).max(u.reminded_at.unwrap_or(at)).max(at) + QUESTION_EXPIRY)
    }

    /// An unanswered category question fell due: the person is reminded once where it was asked (a typed answer
    /// then counts from the reminder). Returns how many commits were written.
    pub(super) async fn remind_unsure(&self, conv: &Conversation, now: Timestamp) -> Result<usize, DeskError> {
        let mut next = conv.clone();
        next.deadline = None;
        let mut w = Work::new(Commit {
            dedupe_key: Some(format!("{}:reminded", conv.key)),
            at: Some(now),
            ..Commit::default()
        });
        // Someone who has raised a ticket since, where they were asked, got on without the answer (probe I: the
        // reminder came after their clear "outlook won't open", and answering it opened a second ticket).
        let parsed = serde_json::from_str::<Unsure>(&conv.data).ok();
        let moved_on = match parsed.as_ref().and_then(|u| u.at.map(|at| (u, at))) {
            Some((u, at)) => {
                let (_, open) = self.store.requester_recent(&conv.owner, at).await?;
                open.iter().any(|t| {
                    t.created_at >= at && t.origin.place.channel == u.place.channel && t.origin.place.dm == u.place.dm
                })
            }
            None => false,
        };
        if moved_on {
            w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
            return match self.commit(w.commit).await {
                Ok(Committed::Written) => Ok(1),
                Ok(Committed::Duplicate) => Ok(0),
                Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => Ok(0),
                Err(e) => Err(e.into()),
            };
        }
        if let Some(mut u) = parsed
            && u.reminded_at.is_none()
            && self.unsure_stands_until(&u).is_none_or(|until| now < until)
            && let Some(who) = u.who.clone()
        {
            w.send(Outbound::to_user(&who, &u.place, UNSURE_REMINDED));
            u.reminded_at = Some(now);
            next.data = serde_json::to_string(&u).unwrap_or_default();
        }
        w.commit.conversations.push(ConversationWrite::Put(next));
        match self.commit(w.commit).await {
            Ok(Committed::Written) => Ok(1),
            Ok(Committed::Duplicate) => Ok(0),
            Err(StoreError::Conflict(_) | StoreError::ConversationConflict(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// The requester picked a category for an unsure message: open the ticket there.
    pub(super) async fn on_category_pick(
        &self,
        env: &Envelope,
        action: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<super::Flow, DeskError> {
        let mut parts = action.splitn(3, ':');
        let (Some("triage"), Some(id), Some(cat)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(super::Flow::Refused(format!("unknown button `{action}`").into()));
        };
        let key = format!("{UNSURE}{id}");
        let Some(conv) = self.pending_question(env, &key).await? else {
            return Ok(super::Flow::Refused("That question was already answered.".to_string().into()));
        };
        let Ok(p) = serde_json::from_str::<Unsure>(&conv.data) else {
            return Ok(super::Flow::Refused("That question can no longer be answered.".to_string().into()));
        };
        if self.unsure_stands_until(&p).is_some_and(|until| now > until) {
            w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
            w.send(Outbound::to_user(&env.actor, &p.place, EXPIRED_QUESTION).kind(MessageKind::Ephemeral));
            return Ok(super::Flow::Ok);
        }
        if self.classifier().category(cat).is_none() {
            return Ok(super::Flow::Refused(format!("unknown category `{cat}`").into()));
        }
        self.answer_category(env, &conv, p, cat, now, w).await
    }

    /// The category question answered with `cat` (a known category): the question ends, and the ticket opens there
    /// ("none": no ticket).
    async fn answer_category(
        &self,
        env: &Envelope,
        conv: &Conversation,
        p: Unsure,
        cat: &str,
        now: Timestamp,
        w: &mut Work,
    ) -> Result<super::Flow, DeskError> {
        let classifier = self.classifier();
        let Some(spec) = classifier.category(cat) else { return Ok(super::Flow::Ok) };
        w.commit.conversations.push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
        if spec.id == "none" {
            w.send(Outbound::to_user(&env.actor, &p.place, "OK, no ticket. I'm here if something IT-related breaks."));
            return Ok(super::Flow::Ok);
        }
        // The person's choice is the category; keep the classifier's intent only if it agrees.
        let mut c = classifier.classify(&p.text);
        if c.category != spec.id {
            c.intent = None;
            c.runbook = None;
            c.ticket_type = spec.ticket_type;
        }
        c.category = spec.id.clone();
        c.confidence = 1.0;
        let mut env2 = env.clone();
        env2.place = Place { message: None, ..p.place };
        self.open_ticket(&env2, &p.text, c, now, w).await?;
        Ok(super::Flow::Ok)
    }
}

impl<S: Store> Desk<S> {
    /// A message from someone whose triage question ("which of these is it about?" or "Is this about #N?") in the same place
    /// was asked or added to within `window`: the text joins that question's message, so the answer covers both.
    /// Returns true when it did.
    pub(super) async fn join_pending_question(
        &self,
        env: &Envelope,
        text: &str,
        now: Timestamp,
        window: Duration,
        w: &mut Work,
    ) -> Result<bool, DeskError> {
        let here = super::reply_place(env);
        let same_place = |p: &Place| p.channel == here.channel && p.dm == here.dm;
        let recent = |at: Option<Timestamp>| at.is_some_and(|at| now - at <= window);
        let answer_within = if here.dm { QUESTION_EXPIRY } else { super::walk::CHANNEL_ANSWER_WITHIN };
        let answerable = |at: Option<Timestamp>| at.is_some_and(|at| now - at <= answer_within);
        for mut conv in self.store.conversations_of(&env.actor.key()).await? {
            let (data, asked_in) = if conv.key.starts_with(UNSURE) {
                match serde_json::from_str::<Unsure>(&conv.data) {
                    Ok(mut u)
                        if same_place(&u.place)
                            && if here.dm {
                                self.unsure_stands_until(&u).is_some_and(|until| now <= until)
                            } else {
                                answerable(u.at.max(u.reminded_at))
                            } =>
                    {
                        // "2", "email", "not an IT problem, sorry": the question answered by typing (probe H: even
                        // the exact label was "just pick the option above"), as long as a button answer would be
                        // taken in a channel (a DM's question waits for its answer).
                        if let Some(cat) = self.typed_category(&u, text) {
                            u.text = if cat == "none" { u.text } else { format!("{}\n{text}", u.text) };
                            return self.answer_category(env, &conv, u, &cat, now, w).await.map(|_| true);
                        }
                        // Anything else joins the question only in the burst that asked it.
                        if !recent(u.at) {
                            continue;
                        }
                        // Chatter meanwhile ("anyone up for lunch at 1?") is no part of the answer.
                        let said = self.classifier().classify(text);
                        // (Only what is clearly chatter: a detail such as "it just spins on the home page" reads as
                        // not IT at 0.37 and belongs to the question.)
                        if said.category == "none" && said.not_it >= 0.9 && !said.trouble && !said.asks {
                            continue;
                        }
                        u.text = format!("{}\n{text}", u.text);
                        u.at = Some(now);
                        // The answer typed instead of pressed ("it's email mostly, outlook"; probe G: told to pick
                        // an option that was not there, and the problem was lost): when the whole now reads clearly
                        // as one category, that is the answer.
                        let c = self.classifier().classify(&u.text);
                        if c.decide(&self.settings.triage) == Decision::Ticket && c.category != "none" {
                            w.commit
                                .conversations
                                .push(ConversationWrite::Delete { key: conv.key.clone(), version: conv.version });
                            let mut env2 = env.clone();
                            env2.place = Place { message: None, ..u.place };
                            self.open_ticket(&env2, &u.text, c, now, w).await?;
                            return Ok(true);
                        }
                        (serde_json::to_string(&u).unwrap_or_default(), u.place)
                    }
                    _ => continue,
                }
            } else if conv.key.starts_with(SIMILAR) {
                match serde_json::from_str::<Pending>(&conv.data) {
                    Ok(mut p) if same_place(&p.place) && recent(p.at) => {
                        p.text = format!("{}\n{text}", p.text);
                        p.at = Some(now);
                        (serde_json::to_string(&p).unwrap_or_default(), p.place)
                    }
                    _ => continue,
                }
            } else {
                continue;
            };
            conv.data = data;
            w.commit.conversations.push(ConversationWrite::Put(conv));
            w.send(
                Outbound::to_user(&env.actor, &asked_in, crate::core::conversation::ADDED_TO_QUESTION)
                    .kind(MessageKind::Ephemeral),
            );
            return Ok(true);
        }
        Ok(false)
    }

    /// A typed answer to "which of these is it about?" asked about `asked`: the number of a button, a category's
    /// name or label ("email", "Network, Wi-Fi and VPN"), or "not an IT problem" / "forget it" (`none`).
    fn typed_category(&self, asked: &Unsure, typed: &str) -> Option<String> {
        let classifier = self.classifier();
        let t = typed.trim().trim_end_matches(['.', '!']).to_lowercase();
        let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        if words.is_empty() || words.len() > 6 {
            return None;
        }
        let line = format!(" {} ", words.join(" "));
        let no = ["not an it", "not it", "forget it", "no ticket", "never mind", "nevermind", "nvm", "none of these"];
        if no.iter().any(|p| line.contains(&format!(" {p} "))) || crate::core::conversation::never_mind(typed) {
            return Some("none".to_string());
        }
        // The buttons as asked (for a question stored before they were kept: as they would be asked now).
        let offered: Vec<String> = if asked.offered.is_empty() {
            let alternatives = classifier.classify(&asked.text).alternatives;
            alternatives.iter().take(3).map(|(c, _)| c.clone()).chain(["other".into(), "none".into()]).collect()
        } else {
            asked.offered.clone()
        };
        if let Ok(k) = t.parse::<usize>() {
            return (1..=offered.len()).contains(&k).then(|| offered[k - 1].clone());
        }
        // The button's own words (probe I: "something else" was no answer).
        if line.contains(" something else ") {
            return Some("other".to_string());
        }
        let named: Vec<&str> = classifier
            .categories()
            .iter()
            .filter(|c| c.id != "none" && c.id != "other")
            .filter(|c| {
                let label = c.label.to_lowercase();
                let first = label.split(|ch: char| !ch.is_alphanumeric()).next().unwrap_or("").to_string();
                t == label || words.contains(&c.id.as_str()) || (first.len() >= 4 && words.contains(&first.as_str()))
            })
            .map(|c| c.id.as_str())
            .collect();
        if named.len() == 1 {
            return Some(named[0].to_string());
        }
        // A word or two triage is sure of: "printer", "the vpn" (probe I: the reminder suggests "printer", and
        // typing it opened a ticket titled "printer" beside the question).
        if named.is_empty() && words.len() <= 2 {
            let c = classifier.classify(typed);
            if c.category != "none" && c.category != "other" && c.confidence >= self.settings.triage.confident {
                return Some(c.category);
            }
        }
        None
    }

    /// The person's pending question (a conversation row) with this key, if it is still open.
    async fn pending_question(&self, env: &Envelope, key: &str) -> Result<Option<Conversation>, DeskError> {
        Ok(self.store.conversations_of(&env.actor.key()).await?.into_iter().find(|c| c.key == key))
    }
}

/// FNV-1a, for short stable ids in button actions.
fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
