//! The store conformance suite: every test body runs on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test in a schema of its own).

use crate::common;
use chrono::Duration;
use deskbot::core::desk::Handled;
use deskbot::core::ids::{Place, Platform, TicketNo};
use deskbot::core::message::Outbound;
use deskbot::core::ticket::{EventKind, NewTicket, Origin, Priority, State, Ticket, TicketType};
use deskbot::replay::default_start;
use deskbot::store::{Commit, Committed, LookAlikes, Problem, Store, StoreError, TicketFilter};
use std::collections::HashSet;
use std::sync::Arc;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (s, _dir) = crate::common::sqlite().await;
                    super::$name(s).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(deskbot_pg), ignore = "needs PostgreSQL: set TEST_DATABASE_URL (README, Tests)")]
                async fn $name() {
                    if let Some((s, schema)) = crate::common::postgres(stringify!($name)).await {
                        super::$name(s.clone()).await;
                        s.drop_schema(&schema).await.unwrap();
                    }
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    ticket_numbers_are_unique_under_concurrency,
    commit_round_trips_tickets_events_and_lookups,
    stale_update_conflicts_and_writes_nothing,
    redelivered_event_is_a_no_op,
    outbox_keeps_conversation_order_and_retries,
    concurrent_claims_exactly_one_wins,
    desk_dedupes_and_survives_bad_input,
    platform_refs_upsert,
    concurrent_workers_never_lease_the_same_message,
    leases_have_one_holder_until_they_expire,
    look_alikes_are_counted_up_to_the_cap_with_the_newest_and_the_problem,
    commits_arriving_together_each_get_their_own_answer,
    requester_recent_counts_openings_and_lists_active_tickets,
    conversation_writes_in_one_commit_keep_their_order,
    active_majors_lists_only_open_major_incidents,
    recent_in_category_lists_the_window_oldest_first,
    resolved_since_lists_a_requesters_recent_resolutions_latest_first,
    one_active_ticket_per_alert_group,
    a_message_that_always_fails_becomes_a_dead_letter_and_unblocks_its_conversation,
);

fn new_ticket(n: i64, requester: &str, thread: &str) -> (Ticket, Vec<deskbot::core::ticket::Event>) {
    Ticket::open(NewTicket {
        number: TicketNo(n),
        text: format!("printer {n} jammed"),
        requester: common::user(requester),
        origin: Origin {
            platform: Platform::Console,
            place: Place { channel: "helpdesk".into(), thread: Some(thread.into()), message: None, dm: false },
        },
        category: "printing".into(),
        intent: Some("printing.jam".into()),
        confidence: 0.9,
        ticket_type: TicketType::Incident,
        priority: Priority::P3,
        at: default_start(),
    })
}

fn commit_new(t: &Ticket, ev: Vec<deskbot::core::ticket::Event>, key: &str) -> Commit {
    Commit {
        dedupe_key: Some(key.into()),
        at: Some(default_start()),
        inserts: vec![t.clone()],
        events: ev.into_iter().map(|e| (t.number, e)).collect(),
        outbox: vec![Outbound::to_user(&t.requester, &t.origin.place, format!("opened {}", t.number))],
        ..Commit::default()
    }
}

async fn migrations_are_idempotent<S: Store>(s: S) {
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
}

async fn ticket_numbers_are_unique_under_concurrency<S: Store + Clone + 'static>(s: S) {
    let mut tasks = vec![];
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut v = vec![];
            for _ in 0..25 {
                v.push(s.next_ticket_number().await.unwrap().0);
            }
            v
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 200, "duplicate ticket numbers handed out");
    assert_eq!(*all.iter().max().unwrap(), 200);
}

async fn commit_round_trips_tickets_events_and_lookups<S: Store>(s: S) {
    let (t, ev) = new_ticket(1, "alice", "m1");
    assert_eq!(s.commit(commit_new(&t, ev.clone(), "k1")).await.unwrap(), Committed::Written);
    let back = s.ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(back.version, 1);
    assert_eq!(Ticket { version: 0, ..back.clone() }, t);
    assert_eq!(s.events(TicketNo(1)).await.unwrap(), ev);
    assert!(s.ticket(TicketNo(2)).await.unwrap().is_none());
    let place = Place { channel: "helpdesk".into(), thread: Some("m1".into()), message: None, dm: false };
    assert_eq!(s.ticket_by_thread(Platform::Console, &place).await.unwrap().unwrap().number, TicketNo(1));
    let other = Place { thread: Some("m9".into()), ..place.clone() };
    assert!(s.ticket_by_thread(Platform::Console, &other).await.unwrap().is_none());
    assert!(s.ticket_by_thread(Platform::Slack, &place).await.unwrap().is_none());

    // An owned, resolved second ticket for the filters.
    let (mut t2, ev2) = new_ticket(2, "bob", "m2");
    s.commit(commit_new(&t2, ev2, "k2")).await.unwrap();
    t2.version = 1;
    let mut evs = t2.claim(&common::user("sam"), default_start()).unwrap();
    evs.extend(t2.resolve(&common::user("sam"), Some("done"), false, default_start()).unwrap());
    let c = Commit {
        updates: vec![t2.clone()],
        events: evs.into_iter().map(|e| (t2.number, e)).collect(),
        ..Commit::default()
    };
    s.commit(c).await.unwrap();
    let all = s.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![1, 2]);
    let active = s.tickets(&TicketFilter { active_only: true, ..Default::default() }).await.unwrap();
    assert_eq!(active.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![1]);
    let sams = s.tickets(&TicketFilter { owner: Some("console:sam".into()), ..Default::default() }).await.unwrap();
    assert_eq!(sams.len(), 1);
    assert_eq!(sams[0].state, State::Resolved);
    assert_eq!(sams[0].version, 2);
    let bobs = s.tickets(&TicketFilter { requester: Some("console:bob".into()), ..Default::default() }).await.unwrap();
    assert_eq!(bobs[0].number, TicketNo(2));
    assert_eq!(
        s.events(TicketNo(2)).await.unwrap().len(),
        2 + 2 + 2,
        "created+classified, opened+owner, resolved+note"
    );
}

async fn stale_update_conflicts_and_writes_nothing<S: Store>(s: S) {
    let (t, ev) = new_ticket(1, "alice", "m1");
    s.commit(commit_new(&t, ev, "k1")).await.unwrap();
    let read = s.ticket(TicketNo(1)).await.unwrap().unwrap();
    let (mut a, mut b) = (read.clone(), read);
    let ea = a.claim(&common::user("sam"), default_start()).unwrap();
    let eb = b.claim(&common::user("kim"), default_start()).unwrap();
    let first = Commit {
        dedupe_key: Some("a".into()),
        updates: vec![a],
        events: ea.into_iter().map(|e| (TicketNo(1), e)).collect(),
        ..Commit::default()
    };
    assert_eq!(s.commit(first).await.unwrap(), Committed::Written);
    let second = Commit {
        dedupe_key: Some("b".into()),
        updates: vec![b],
        events: eb.into_iter().map(|e| (TicketNo(1), e)).collect(),
        outbox: vec![Outbound::to_channel(Platform::Console, "q", "should not be stored")],
        ..Commit::default()
    };
    assert!(matches!(s.commit(second).await, Err(StoreError::Conflict(TicketNo(1)))));
    let now = s.ticket(TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(now.owner.unwrap().id, "sam");
    assert!(!s.seen("b").await.unwrap(), "a failed commit must not record its dedupe key");
    let owners: Vec<_> = s
        .events(TicketNo(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::OwnerChanged { .. }))
        .collect();
    assert_eq!(owners.len(), 1);
    let out = s.lease_outbox("w", None, default_start(), default_start() + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(out.len(), 1, "only the first ticket's message is queued");
}

async fn redelivered_event_is_a_no_op<S: Store>(s: S) {
    let (t, ev) = new_ticket(1, "alice", "m1");
    assert_eq!(s.commit(commit_new(&t, ev.clone(), "same")).await.unwrap(), Committed::Written);
    assert!(s.seen("same").await.unwrap());
    let (t2, ev2) = new_ticket(2, "alice", "m1");
    assert_eq!(s.commit(commit_new(&t2, ev2, "same")).await.unwrap(), Committed::Duplicate);
    assert!(s.ticket(TicketNo(2)).await.unwrap().is_none());
    let out = s.lease_outbox("w", None, default_start(), default_start() + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(out.len(), 1);
}

async fn outbox_keeps_conversation_order_and_retries<S: Store>(s: S) {
    let now = default_start();
    let a = Place { channel: "c".into(), thread: Some("a".into()), message: None, dm: false };
    let b = Place { channel: "c".into(), thread: Some("b".into()), message: None, dm: false };
    let u = common::user("alice");
    let c = Commit {
        at: Some(now),
        outbox: vec![Outbound::to_user(&u, &a, "a1"), Outbound::to_user(&u, &a, "a2"), Outbound::to_user(&u, &b, "b1")],
        ..Commit::default()
    };
    s.commit(c).await.unwrap();
    let lease = Duration::seconds(60);
    // A worker for another platform takes nothing (and leases nothing away from the console's worker).
    assert!(s.lease_outbox("slack", Some(Platform::Slack), now, now + lease, 10).await.unwrap().is_empty());
    let got = s.lease_outbox("w1", Some(Platform::Console), now, now + lease, 10).await.unwrap();
    let texts: Vec<_> = got.iter().map(|i| i.message.text.as_str()).collect();
    assert_eq!(texts, vec!["a1", "b1"], "only the head of each conversation");
    // Leased messages are not handed to a second worker.
    assert!(s.lease_outbox("w2", None, now, now + lease, 10).await.unwrap().is_empty());
    s.mark_failed(got[0].id, "platform down", now + Duration::seconds(10)).await.unwrap();
    s.mark_delivered(got[1].id, now).await.unwrap();
    // a1 waits for its retry, and a2 waits behind it.
    assert!(s.lease_outbox("w1", None, now + Duration::seconds(5), now + lease, 10).await.unwrap().is_empty());
    let retry = s.lease_outbox("w1", None, now + Duration::seconds(11), now + lease, 10).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].message.text, "a1");
    assert_eq!(retry[0].attempts, 1);
    s.mark_delivered(retry[0].id, now).await.unwrap();
    let next = s.lease_outbox("w1", None, now + Duration::seconds(12), now + lease, 10).await.unwrap();
    assert_eq!(next.iter().map(|i| i.message.text.as_str()).collect::<Vec<_>>(), vec!["a2"]);
    // An expired lease (crashed worker) is taken over.
    let later = now + Duration::seconds(200);
    let again = s.lease_outbox("w2", None, later, later + lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message.text, "a2");
}

/// A sink that refuses every message whose text starts with "poison".
struct Refuses(std::sync::Mutex<Vec<String>>);

impl deskbot::outbox::Deliver for Refuses {
    async fn deliver(&self, item: &deskbot::store::OutboxItem) -> Result<(), deskbot::outbox::Failure> {
        if item.message.text.starts_with("poison") {
            return Err(deskbot::outbox::Failure::from("400 invalid_blocks".to_string()));
        }
        self.0.lock().unwrap().push(item.message.text.clone());
        Ok(())
    }
}

async fn a_message_that_always_fails_becomes_a_dead_letter_and_unblocks_its_conversation<S: Store>(s: S) {
    use deskbot::core::clock::{Clock, ManualClock};
    use deskbot::outbox::{MAX_ATTEMPTS, Worker, drain};
    let start = default_start();
    let clock = ManualClock::new(start);
    let (t, ev) = new_ticket(1, "alice", "m1");
    let mut owned = t.clone();
    owned.owner = Some(common::user("sam"));
    let mut c = commit_new(&owned, ev, "k1");
    let place = owned.origin.place.clone();
    c.outbox = vec![
        Outbound::to_user(&owned.requester, &place, "poison card").about(owned.number),
        Outbound::to_user(&owned.requester, &place, "after the poison"),
    ];
    s.commit(c).await.unwrap();
    let sink = Refuses(Default::default());
    let worker = Worker::in_order("w", None).telling("helpdesk-queue");
    // Every attempt but the last is retried after its backoff, and the message behind it waits.
    for attempt in 1..MAX_ATTEMPTS {
        assert_eq!(drain(&s, &sink, &clock, worker).await.unwrap(), 0, "attempt {attempt}");
        assert!(s.dead_letters(10).await.unwrap().is_empty());
        clock.set(clock.now() + deskbot::outbox::backoff(attempt - 1));
    }
    assert!(sink.0.lock().unwrap().is_empty(), "nothing behind the failing message went out");
    // The last attempt sets it aside: the conversation goes on and the owner is told, by DM, without its text.
    assert_eq!(drain(&s, &sink, &clock, worker).await.unwrap(), 2);
    let sent = sink.0.lock().unwrap().clone();
    assert_eq!(sent[0], "after the poison");
    assert!(
        sent[1].starts_with("⚠️ Undelivered: a console message to alice in helpdesk about #1 failed 20 times"),
        "{}",
        sent[1]
    );
    assert!(!sent[1].contains("poison"), "the notice does not repeat the message");
    let dead = s.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].item.message.text.as_str(), dead[0].item.attempts), ("poison card", MAX_ATTEMPTS));
    assert_eq!((dead[0].last_error.as_str(), dead[0].failed_at), ("400 invalid_blocks", clock.now()));
    assert!(sent[1].contains(&format!("deskbot outbox retry {}", dead[0].item.id)), "{}", sent[1]);
    // Retry puts it back with fresh attempts; an unknown or live id is not a dead letter.
    assert!(!s.retry_dead(dead[0].item.id + 100, clock.now()).await.unwrap());
    assert!(s.retry_dead(dead[0].item.id, clock.now()).await.unwrap());
    assert!(!s.retry_dead(dead[0].item.id, clock.now()).await.unwrap(), "already back in line");
    assert!(s.dead_letters(10).await.unwrap().is_empty());
    let again = s.lease_outbox("w", None, clock.now(), clock.now() + Duration::seconds(60), 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 0));
}

async fn concurrent_claims_exactly_one_wins<S: Store + Clone + 'static>(s: S)
where
    common::DbStore: From<S>,
{
    let clock = common::clock();
    let desk = Arc::new(common::desk(s.clone(), clock, &[("sam", "technician"), ("kim", "technician")]));
    desk.handle(&common::say("alice", "the printer on floor 2 is jammed again")).await.unwrap();
    for round in 0..5 {
        let (d1, d2) = (desk.clone(), desk.clone());
        let n = if round == 0 { 1 } else { round + 1 };
        if round > 0 {
            // A different requester each round: the same person would be asked "Is this about #N?".
            desk.handle(&common::say(&format!("user{round}"), "outlook not syncing")).await.unwrap();
        }
        let a = tokio::spawn(async move { d1.handle(&common::cmd("sam", &format!("claim {n}"))).await.unwrap() });
        let b = tokio::spawn(async move { d2.handle(&common::cmd("kim", &format!("claim {n}"))).await.unwrap() });
        assert_eq!(a.await.unwrap(), Handled::Done);
        assert_eq!(b.await.unwrap(), Handled::Done);
        let t = s.ticket(TicketNo(n)).await.unwrap().unwrap();
        let owner = t.owner.unwrap().id;
        assert!(owner == "sam" || owner == "kim");
        let claims = s
            .events(TicketNo(n))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::OwnerChanged { .. }))
            .count();
        assert_eq!(claims, 1, "exactly one claim wins on ticket {n}");
    }
}

async fn desk_dedupes_and_survives_bad_input<S: Store + Clone + 'static>(s: S)
where
    common::DbStore: From<S>,
{
    let desk = common::desk(s.clone(), common::clock(), &[("sam", "technician")]);
    let env = common::say("alice", "printer jammed on floor 3");
    assert_eq!(desk.handle(&env).await.unwrap(), Handled::Done);
    assert_eq!(desk.handle(&env).await.unwrap(), Handled::Duplicate);
    assert_eq!(s.tickets(&TicketFilter::default()).await.unwrap().len(), 1);
    // The redelivery is refused at the commit; the number it was given is not used up where the store can
    // take it back (a sequence cannot: PostgreSQL's numbers may have gaps).
    desk.handle(&common::say("bob", "vpn keeps dropping at home")).await.unwrap();
    let bob = s.tickets(&TicketFilter { requester: Some(common::user("bob").key()), ..TicketFilter::default() }).await;
    let bob = bob.unwrap()[0].number.0;
    assert!(bob >= 2);
    if std::any::type_name::<S>().contains("Sqlite") {
        assert_eq!(bob, 2, "no gap after a redelivery");
    }
    // 100 KB, control characters, emoji only: graceful, bounded, nothing lost.
    let huge = "printer jammed ".repeat(7000);
    desk.handle(&common::say("alice", &huge)).await.unwrap();
    desk.handle(&common::say("alice", "\u{0}\u{1}\u{7}\u{1b}[31m")).await.unwrap();
    desk.handle(&common::say("alice", "🔥🔥🔥")).await.unwrap();
    let all = s.tickets(&TicketFilter::default()).await.unwrap();
    assert!(all.iter().all(|t| t.description.len() <= deskbot::core::desk::MAX_STORED_TEXT + 64));
    assert!(all.iter().all(|t| !t.description.chars().any(|c| c.is_control() && c != '\n' && c != '\t')));
    assert_eq!(s.ticket(TicketNo(1)).await.unwrap().unwrap().title, "printer jammed on floor 3");
}

async fn platform_refs_upsert<S: Store>(s: S) {
    let t0 = default_start();
    assert_eq!(s.platform_ref(Platform::Slack, "card:C1:7").await.unwrap(), None);
    s.put_platform_ref(Platform::Slack, "card:C1:7", "1700000000.000100", t0).await.unwrap();
    s.put_platform_ref(Platform::Teams, "card:C1:7", "other platform", t0).await.unwrap();
    assert_eq!(s.platform_ref(Platform::Slack, "card:C1:7").await.unwrap().as_deref(), Some("1700000000.000100"));
    s.put_platform_ref(Platform::Slack, "card:C1:7", "1700000000.000200", t0 + Duration::seconds(1)).await.unwrap();
    assert_eq!(s.platform_ref(Platform::Slack, "card:C1:7").await.unwrap().as_deref(), Some("1700000000.000200"));
    assert_eq!(s.platform_ref(Platform::Teams, "card:C1:7").await.unwrap().as_deref(), Some("other platform"));
    // Listing by prefix: only that platform's keys that start with it (`_` and `%` are no wildcards), by key.
    s.put_platform_ref(Platform::Http, "name:u_2", "Tom", t0).await.unwrap();
    s.put_platform_ref(Platform::Http, "name:u-1", "Sam", t0).await.unwrap();
    s.put_platform_ref(Platform::Http, "namex", "not a name", t0).await.unwrap();
    s.put_platform_ref(Platform::Slack, "name:u-3", "other platform", t0).await.unwrap();
    assert_eq!(
        s.platform_refs_with_prefix(Platform::Http, "name:").await.unwrap(),
        [("name:u-1".to_string(), "Sam".to_string()), ("name:u_2".to_string(), "Tom".to_string())]
    );
    assert!(s.platform_refs_with_prefix(Platform::Http, "name:u%").await.unwrap().is_empty());
}

async fn leases_have_one_holder_until_they_expire<S: Store>(s: S) {
    let t0 = default_start();
    let until = t0 + Duration::seconds(30);
    assert!(s.acquire_lease("discord-gateway", "a", t0, until).await.unwrap());
    assert!(!s.acquire_lease("discord-gateway", "b", t0 + Duration::seconds(10), until).await.unwrap());
    // The holder renews; the other still cannot take it before the renewed lease runs out.
    assert!(
        s.acquire_lease("discord-gateway", "a", t0 + Duration::seconds(20), t0 + Duration::seconds(60)).await.unwrap()
    );
    assert!(
        !s.acquire_lease("discord-gateway", "b", t0 + Duration::seconds(40), t0 + Duration::seconds(70)).await.unwrap()
    );
    // Expired: taken over.
    assert!(
        s.acquire_lease("discord-gateway", "b", t0 + Duration::seconds(60), t0 + Duration::seconds(90)).await.unwrap()
    );
    assert!(
        !s.acquire_lease("discord-gateway", "a", t0 + Duration::seconds(61), t0 + Duration::seconds(91)).await.unwrap()
    );
    // Released by its holder only.
    s.release_lease("discord-gateway", "a").await.unwrap();
    assert!(
        !s.acquire_lease("discord-gateway", "a", t0 + Duration::seconds(62), t0 + Duration::seconds(92)).await.unwrap()
    );
    s.release_lease("discord-gateway", "b").await.unwrap();
    assert!(
        s.acquire_lease("discord-gateway", "a", t0 + Duration::seconds(63), t0 + Duration::seconds(93)).await.unwrap()
    );
    // Leases are independent by name.
    assert!(s.acquire_lease("other", "b", t0, until).await.unwrap());
}

/// Several workers (replicas) leasing at once: every message goes to exactly one of them. On PostgreSQL this needs
/// the lease condition re-checked on the locked row (READ COMMITTED), which this test caught missing.
async fn concurrent_workers_never_lease_the_same_message<S: Store + Clone + 'static>(s: S) {
    let now = default_start();
    let u = common::user("alice");
    let outbox: Vec<Outbound> = (0..200)
        .map(|i| {
            let place = Place { channel: "c".into(), thread: Some(format!("t{i}")), message: None, dm: false };
            Outbound::to_user(&u, &place, format!("m{i}"))
        })
        .collect();
    s.commit(Commit { at: Some(now), outbox, ..Commit::default() }).await.unwrap();
    let mut workers = vec![];
    for w in 0..8 {
        let s = s.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = vec![];
            loop {
                let got = s.lease_outbox(&format!("w{w}"), None, now, now + Duration::seconds(60), 7).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|i| i.id));
            }
        }));
    }
    let mut all = vec![];
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 200, "every message leased");
    assert_eq!(all.len(), 200, "no message leased by two workers");
}

/// #30 insider probe, item 3: the per-source intake budget is counted in the database, not in a process's memory,
/// so processes (replicas) on one database share it: alternating between two, twelve people in a minute open the
/// budget's five tickets, not five each; the queue is told once.
#[tokio::test]
async fn the_intake_budget_is_shared_by_processes_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = deskbot::store::SqliteStore::connect(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = deskbot::store::SqliteStore::connect(&url).await.unwrap();
    let toml = "[conversation]\nmajor_threshold = 0\n\n[triage]\nintake_budget_per_minute = 5\n";
    let config = deskbot::config::Config::from_parts("test", toml, &[]).unwrap();
    let clock: Arc<dyn deskbot::core::clock::Clock> = common::clock();
    let desk_a = deskbot::app::desk(&config, deskbot::store::Db::Sqlite(a.clone()), clock.clone()).unwrap();
    let desk_b = deskbot::app::desk(&config, deskbot::store::Db::Sqlite(b), clock).unwrap();
    for i in 0..12 {
        let desk = if i % 2 == 0 { &desk_a } else { &desk_b };
        let env = common::say(&format!("user{i}"), "my monitor is flickering badly");
        assert_eq!(desk.handle(&env).await.unwrap(), Handled::Done);
    }
    let tickets = a.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(tickets.len(), 5, "the budget is one for both processes");
    // The outbox hands out one message per conversation at a time: deliver them all, in order.
    let far = chrono::Utc::now() + Duration::days(30);
    let mut sent = vec![];
    loop {
        let got = a.lease_outbox("check", None, far, far, 1000).await.unwrap();
        if got.is_empty() {
            break;
        }
        for m in got {
            a.mark_delivered(m.id, far).await.unwrap();
            sent.push(m.message.text);
        }
    }
    let texts: Vec<&str> = sent.iter().map(String::as_str).collect();
    let notices = texts.iter().filter(|t| t.starts_with("Intake budget reached")).count();
    assert_eq!(notices, 1, "the queue is told once: {texts:?}");
}

/// Two processes on one SQLite file: each hands out ticket numbers from its own memory, so they clash; the clash
/// fails the later commit as a conflict, which the desk retries with a fresh number. No ticket is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_processes_sharing_a_file_never_share_a_ticket_number() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = deskbot::store::SqliteStore::connect(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = deskbot::store::SqliteStore::connect(&url).await.unwrap();
    let desk_a = Arc::new(common::desk(a.clone(), common::clock(), &[]));
    let desk_b = Arc::new(common::desk(b, common::clock(), &[]));
    let mut tasks = vec![];
    for i in 0..40 {
        let desk = if i % 2 == 0 { desk_a.clone() } else { desk_b.clone() };
        tasks.push(tokio::spawn(async move {
            let env = common::say(&format!("user{i}"), "xero won't load since the update");
            desk.handle(&env).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Handled::Done);
    }
    let tickets = a.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(tickets.len(), 40);
    let numbers: HashSet<i64> = tickets.iter().map(|t| t.number.0).collect();
    assert_eq!(numbers.len(), 40);
    let requesters: HashSet<String> = tickets.iter().map(|t| t.requester.id.clone()).collect();
    assert_eq!(requesters.len(), 40);
}

async fn look_alikes_are_counted_up_to_the_cap_with_the_newest_and_the_problem<S: Store>(s: S) {
    for n in 1..=5 {
        let (mut t, ev) = new_ticket(n, &format!("u{n}"), &format!("m{n}"));
        t.created_at = default_start() + Duration::minutes(n);
        t.fingerprint = Some("printing|printing.jam|-".into());
        s.commit(commit_new(&t, ev, &format!("k{n}"))).await.unwrap();
    }
    let fp = "printing|printing.jam|-";
    let since = default_start();
    let all = s.look_alikes(fp, since, 10, 100).await.unwrap();
    assert_eq!((all.count, all.newest), (5, (1..=5).rev().map(TicketNo).collect::<Vec<_>>()));
    assert_eq!(all.problem, None);
    let capped = s.look_alikes(fp, since, 2, 3).await.unwrap();
    assert_eq!((capped.count, capped.newest), (3, vec![TicketNo(5), TicketNo(4)]));
    let later = s.look_alikes(fp, default_start() + Duration::minutes(4), 10, 100).await.unwrap();
    assert_eq!((later.count, later.newest), (2, vec![TicketNo(5), TicketNo(4)]));
    let problem = Problem {
        id: 7,
        fingerprint: fp.into(),
        title: "Floor printer jams".into(),
        created_at: default_start(),
        created_by: Some("console:sam".into()),
    };
    s.commit(Commit { problems: vec![problem.clone()], ..Commit::default() }).await.unwrap();
    assert_eq!(s.look_alikes(fp, since, 1, 100).await.unwrap().problem, Some(problem));
    assert_eq!(s.look_alikes("nothing|like|this", since, 10, 100).await.unwrap(), LookAlikes::default());
}

async fn requester_recent_counts_openings_and_lists_active_tickets<S: Store>(s: S) {
    for n in 1..=4 {
        let (mut t, ev) = new_ticket(n, "alice", &format!("m{n}"));
        t.created_at = default_start() + Duration::minutes(10 * n);
        s.commit(commit_new(&t, ev, &format!("k{n}"))).await.unwrap();
    }
    let (t, ev) = new_ticket(9, "bob", "m9");
    s.commit(commit_new(&t, ev, "k9")).await.unwrap();
    let mut done = s.ticket(TicketNo(2)).await.unwrap().unwrap();
    let ev = done.resolve(&common::user("sam"), Some("fixed"), false, default_start() + Duration::hours(1)).unwrap();
    s.commit(Commit {
        updates: vec![done],
        events: ev.into_iter().map(|e| (TicketNo(2), e)).collect(),
        ..Commit::default()
    })
    .await
    .unwrap();
    let alice = common::user("alice").key();
    let (opened, active) = s.requester_recent(&alice, default_start() + Duration::minutes(25)).await.unwrap();
    assert_eq!(opened, 2, "tickets 3 and 4 were opened since");
    assert_eq!(active.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![1, 3, 4], "resolved 2 is not active");
    assert_eq!(active[0].version, 1);
    let (opened, active) = s.requester_recent("console:nobody", default_start()).await.unwrap();
    assert_eq!((opened, active.len()), (0, 0));
}

/// Many commits at once go to the store's writer together: new tickets, redeliveries of the same event and
/// competing updates of one ticket. Each caller still gets what a commit of its own would have given.
async fn commits_arriving_together_each_get_their_own_answer<S: Store + Clone + 'static>(s: S) {
    let (t, ev) = new_ticket(1000, "owner", "m0");
    s.commit(commit_new(&t, ev, "first")).await.unwrap();
    let read = s.ticket(TicketNo(1000)).await.unwrap().unwrap();
    let mut tasks = vec![];
    for i in 0..120_i64 {
        let s = s.clone();
        let read = read.clone();
        tasks.push(tokio::spawn(async move {
            let c = match i % 4 {
                // 30 updates of ticket 1000, all read at the same version: one may win.
                0 => {
                    let mut x = read;
                    let e = x.claim(&common::user(&format!("tech{i}")), default_start()).unwrap();
                    Commit {
                        dedupe_key: Some(format!("claim{i}")),
                        at: Some(default_start()),
                        updates: vec![x],
                        events: e.into_iter().map(|e| (TicketNo(1000), e)).collect(),
                        outbox: vec![Outbound::to_channel(Platform::Console, "q", format!("claimed by {i}"))],
                        ..Commit::default()
                    }
                }
                // 30 deliveries of 10 events (each sent three times), 60 distinct events.
                1 => {
                    let (t, ev) = new_ticket(i, "dup", &format!("d{i}"));
                    commit_new(&t, ev, &format!("dup{}", (i / 4) % 10))
                }
                _ => {
                    let (t, ev) = new_ticket(i, &format!("u{i}"), &format!("n{i}"));
                    commit_new(&t, ev, &format!("new{i}"))
                }
            };
            (i, s.commit(c).await)
        }));
    }
    let (mut claims, mut dup_written, mut dup_skipped) = (0, 0, 0);
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match (i % 4, r) {
            (0, Ok(Committed::Written)) => claims += 1,
            (0, Err(StoreError::Conflict(TicketNo(1000)))) => {}
            (1, Ok(Committed::Written)) => dup_written += 1,
            (1, Ok(Committed::Duplicate)) => dup_skipped += 1,
            (_, Ok(Committed::Written)) => {}
            (i, r) => panic!("commit {i}: unexpected {r:?}"),
        }
    }
    assert_eq!(claims, 1, "exactly one of the competing claims wins");
    assert_eq!((dup_written, dup_skipped), (10, 20), "each redelivered event is written once");
    let owners = s
        .events(TicketNo(1000))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::OwnerChanged { .. }))
        .count();
    assert_eq!(owners, 1);
    let stored = s.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 1 + 10 + 60, "the first ticket, one per redelivered event, and 60 new ones");
    let out = s.lease_outbox("w", None, default_start(), default_start() + Duration::seconds(60), 500).await.unwrap();
    assert_eq!(out.len(), 1 + 1 + 10 + 60, "a message per written commit and none for refused ones");
}

/// A store may outlive the runtime its writer task was started on (opened in one runtime, used in another): the
/// next commit starts a new writer instead of waiting for the old one forever.
#[test]
fn a_store_keeps_committing_after_its_first_runtime_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rt.db").display());
    let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = runtime();
    let s = first.block_on(async {
        let s = deskbot::store::SqliteStore::connect(&url).await.unwrap();
        s.migrate().await.unwrap();
        let (t, ev) = new_ticket(1, "alice", "m1");
        assert_eq!(s.commit(commit_new(&t, ev, "k1")).await.unwrap(), Committed::Written);
        s
    });
    drop(first);
    runtime().block_on(async {
        let (t, ev) = new_ticket(2, "bob", "m2");
        let wait = std::time::Duration::from_secs(20);
        let r = tokio::time::timeout(wait, s.commit(commit_new(&t, ev, "k2"))).await.expect("the commit was answered");
        assert_eq!(r.unwrap(), Committed::Written);
        assert!(s.ticket(TicketNo(2)).await.unwrap().is_some());
    });
}

/// The writer keeps a connection of its own between commits; closing the store must still finish (closing a pool
/// waits for every connection to come back), and a closed store refuses commits instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_has_written_closes_promptly() {
    let wait = std::time::Duration::from_secs(20);
    let (s, _dir) = common::sqlite().await;
    let (t, ev) = new_ticket(1, "alice", "m1");
    assert_eq!(s.commit(commit_new(&t, ev, "k1")).await.unwrap(), Committed::Written);
    tokio::time::timeout(wait, s.close()).await.expect("SQLite store closed");
    let (t, ev) = new_ticket(2, "bob", "m2");
    let after = tokio::time::timeout(wait, s.commit(commit_new(&t, ev, "k2"))).await.expect("answered");
    assert!(after.is_err(), "a closed store writes nothing: {after:?}");
}

/// [`a_store_that_has_written_closes_promptly`] on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(deskbot_pg), ignore = "needs PostgreSQL: set TEST_DATABASE_URL (README, Tests)")]
async fn a_postgres_store_that_has_written_closes_promptly() {
    let wait = std::time::Duration::from_secs(20);
    if let Some((s, schema)) = common::postgres("a_postgres_store_that_has_written_closes_promptly").await {
        let (t, ev) = new_ticket(1, "alice", "m1");
        assert_eq!(s.commit(commit_new(&t, ev, "k1")).await.unwrap(), Committed::Written);
        s.drop_schema(&schema).await.unwrap();
        tokio::time::timeout(wait, s.close()).await.expect("PostgreSQL store closed");
    }
}

async fn conversation_writes_in_one_commit_keep_their_order<S: Store>(s: S) {
    use deskbot::store::{Conversation, ConversationWrite};
    let conv = |data: &str, version: i64| Conversation {
        key: "walk:alice".into(),
        owner: "console:alice".into(),
        ticket: None,
        data: data.into(),
        deadline: None,
        version,
    };
    let write = |w: Vec<ConversationWrite>| Commit { conversations: w, ..Commit::default() };
    s.commit(write(vec![ConversationWrite::Put(conv("first", 0))])).await.unwrap();
    // Ending a conversation and starting the next under the same key, in one commit.
    let restart = vec![
        ConversationWrite::Delete { key: "walk:alice".into(), version: 1 },
        ConversationWrite::Put(conv("second", 0)),
    ];
    assert_eq!(s.commit(write(restart)).await.unwrap(), Committed::Written);
    let now = s.conversations_of("console:alice").await.unwrap();
    assert_eq!((now.len(), now[0].data.as_str(), now[0].version), (1, "second", 1));
    // Two starts of one conversation in one commit: the second finds it taken.
    let bob = |data: &str| ConversationWrite::Put(Conversation { key: "walk:bob".into(), ..conv(data, 0) });
    let twice = vec![bob("a"), bob("b")];
    assert!(matches!(s.commit(write(twice)).await, Err(StoreError::ConversationConflict(k)) if k == "walk:bob"));
}

/// The major flag is a column: set by an update, read back by [`Store::active_majors`], gone once resolved.
async fn active_majors_lists_only_open_major_incidents<S: Store>(s: S) {
    for n in 1..=3 {
        let (t, ev) = new_ticket(n, "alice", &format!("m{n}"));
        s.commit(commit_new(&t, ev, &format!("k{n}"))).await.unwrap();
    }
    assert!(s.active_majors().await.unwrap().is_empty());
    let at = default_start() + Duration::minutes(5);
    for n in [3, 1] {
        let mut t = s.ticket(TicketNo(n)).await.unwrap().unwrap();
        let mut ev = t.declare_major(None, 3, at).unwrap();
        let (added, e) = t.affected_report(&common::user("bob"), &Place::default(), "no internet here", at);
        assert!(added);
        ev.push(e);
        s.commit(Commit {
            updates: vec![t],
            events: ev.into_iter().map(|e| (TicketNo(n), e)).collect(),
            ..Commit::default()
        })
        .await
        .unwrap();
    }
    let majors = s.active_majors().await.unwrap();
    assert_eq!(majors.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![1, 3]);
    assert!(majors[0].major && majors[0].affected.len() == 1 && majors[0].affected[0].user.id == "bob");
    assert_eq!(majors[0].people_affected(), 2);
    let mut done = majors[0].clone();
    let ev = done.resolve(&common::user("sam"), None, false, at).unwrap();
    s.commit(Commit {
        updates: vec![done],
        events: ev.into_iter().map(|e| (TicketNo(1), e)).collect(),
        ..Commit::default()
    })
    .await
    .unwrap();
    let majors = s.active_majors().await.unwrap();
    assert_eq!(majors.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![3], "a resolved major is not active");
    let resolved = s.majors_resolved_since(at).await.unwrap();
    assert_eq!(resolved.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![1], "resolved majors are found");
    assert!(s.majors_resolved_since(at + Duration::minutes(1)).await.unwrap().is_empty(), "only since `since`");
    let events = s.events(TicketNo(3)).await.unwrap();
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::MajorIncident { reports: 3 })));
    assert!(events.iter().any(|e| matches!(&e.kind, EventKind::AffectedReport { text } if text == "no internet here")));
}

async fn recent_in_category_lists_the_window_oldest_first<S: Store>(s: S) {
    for (n, minutes, category) in [(1, 0, "printing"), (2, 20, "network"), (3, 30, "printing"), (4, 25, "printing")] {
        let (mut t, ev) = new_ticket(n, "alice", &format!("m{n}"));
        t.created_at = default_start() + Duration::minutes(minutes);
        t.category = category.into();
        s.commit(commit_new(&t, ev, &format!("k{n}"))).await.unwrap();
    }
    let since = default_start() + Duration::minutes(20);
    let got = s.recent_in_category("printing", since).await.unwrap();
    assert_eq!(got.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![4, 3], "created 25 then 30 minutes in");
    assert_eq!(got[0].version, 1);
    assert_eq!(s.recent_in_category("network", since).await.unwrap().len(), 1, "the window's start is included");
    assert!(s.recent_in_category("saas", default_start()).await.unwrap().is_empty());
}

async fn resolved_since_lists_a_requesters_recent_resolutions_latest_first<S: Store>(s: S) {
    for (n, who) in [(1, "alice"), (2, "alice"), (3, "alice"), (4, "bob")] {
        let (t, ev) = new_ticket(n, who, &format!("m{n}"));
        s.commit(commit_new(&t, ev, &format!("k{n}"))).await.unwrap();
    }
    // Resolved at 10, 50 and 30 minutes; #3 is then closed, which keeps its resolution time.
    for (n, minutes) in [(1, 10), (2, 50), (3, 30), (4, 40)] {
        let mut t = s.ticket(TicketNo(n)).await.unwrap().unwrap();
        let at = default_start() + Duration::minutes(minutes);
        let mut ev = t.resolve(&common::user("sam"), None, false, at).unwrap();
        if n == 3 {
            ev.extend(t.close(&common::user("alice"), at).unwrap());
        }
        s.commit(Commit {
            updates: vec![t],
            events: ev.into_iter().map(|e| (TicketNo(n), e)).collect(),
            ..Commit::default()
        })
        .await
        .unwrap();
    }
    let alice = common::user("alice").key();
    let got = s.resolved_since(&alice, default_start() + Duration::minutes(20)).await.unwrap();
    assert_eq!(got.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![2, 3], "latest resolved first; #1 too early");
    assert_eq!(got[1].state, State::Closed);
    // Reopened: no longer resolved.
    let mut t = s.ticket(TicketNo(2)).await.unwrap().unwrap();
    let ev = t.reopen(&common::user("alice"), Some("broken again"), default_start() + Duration::hours(1)).unwrap();
    s.commit(Commit {
        updates: vec![t],
        events: ev.into_iter().map(|e| (TicketNo(2), e)).collect(),
        ..Commit::default()
    })
    .await
    .unwrap();
    let got = s.resolved_since(&alice, default_start()).await.unwrap();
    assert_eq!(got.iter().map(|t| t.number.0).collect::<Vec<_>>(), vec![3, 1]);
}

/// Two writers (replicas) that both found no ticket for an alert group and both open one: storage keeps one.
async fn one_active_ticket_per_alert_group<S: Store + Clone + 'static>(s: S) {
    let alert_ticket = |n: i64, thread: &str| {
        let (mut t, ev) = new_ticket(n, "monitor:alertmanager", thread);
        t.origin.place.channel = "alerts".into();
        t.alert = Some(Box::new(deskbot::core::alerts::AlertInfo {
            source: "alertmanager".into(),
            group: thread.into(),
            ..Default::default()
        }));
        (t, ev)
    };
    let (a, ea) = alert_ticket(1, "alertmanager:g1");
    let (b, eb) = alert_ticket(2, "alertmanager:g1");
    let (s1, s2) = (s.clone(), s.clone());
    let (ra, rb) = tokio::join!(async move { s1.commit(commit_new(&a, ea, "a")).await }, async move {
        s2.commit(commit_new(&b, eb, "b")).await
    });
    let results = [ra, rb];
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(Committed::Written))).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::AlertGroupTaken(_)))), "{results:?}");
    let winner = if results[0].is_ok() { TicketNo(1) } else { TicketNo(2) };
    // Another group, and a ticket of people in the same thread, are not held back.
    let (c, ec) = alert_ticket(3, "alertmanager:g2");
    assert_eq!(s.commit(commit_new(&c, ec, "c")).await.unwrap(), Committed::Written);
    let (d, ed) = new_ticket(4, "alice", "alertmanager:g1");
    assert_eq!(s.commit(commit_new(&d, ed, "d")).await.unwrap(), Committed::Written);
    // Once the group's ticket is resolved, the group may open another.
    let mut first = s.ticket(winner).await.unwrap().unwrap();
    let ev = first.resolve(&common::user("sam"), Some("fixed"), false, default_start()).unwrap();
    let update = Commit {
        dedupe_key: Some("resolve".into()),
        updates: vec![first],
        events: ev.into_iter().map(|e| (winner, e)).collect(),
        ..Commit::default()
    };
    assert_eq!(s.commit(update).await.unwrap(), Committed::Written);
    let (e, ee) = alert_ticket(5, "alertmanager:g1");
    assert_eq!(s.commit(commit_new(&e, ee, "e")).await.unwrap(), Committed::Written);
}
