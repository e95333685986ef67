//! Reports read one small facts value per ticket; tickets stored before facts were kept (no KPI history, NULL
//! facts column) are read in full with their events, and both give the same figures.

use crate::common;
use chrono::Duration;
use deskbot::core::ids::{Place, Platform, TicketNo};
use deskbot::core::report::PeriodKind;
use deskbot::core::ticket::{NewTicket, Origin, Priority, Ticket, TicketType};
use deskbot::replay::default_start;
use deskbot::store::{Commit, Store};

fn lifecycle(n: i64, keep_history: bool) -> (Ticket, Vec<deskbot::core::ticket::Event>) {
    let at = default_start() + Duration::hours(n);
    let (mut t, mut ev) = Ticket::open(NewTicket {
        number: TicketNo(n),
        text: format!("vpn down at site {n}"),
        requester: common::user("alice"),
        origin: Origin { platform: Platform::Console, place: Place::default() },
        category: "network".into(),
        intent: None,
        confidence: 0.9,
        ticket_type: TicketType::Incident,
        priority: Priority::P3,
        at,
    });
    if !keep_history {
        t.kpi = None;
    }
    let sam = common::user("sam");
    ev.extend(t.reply(&sam, "looking", at + Duration::minutes(10)).unwrap());
    ev.extend(t.resolve(&sam, None, false, at + Duration::hours(1)).unwrap());
    ev.extend(t.reopen(&common::user("alice"), Some("back again"), at + Duration::hours(2)).unwrap());
    ev.extend(t.resolve(&sam, None, false, at + Duration::hours(3)).unwrap());
    (t, ev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_and_event_logs_give_the_same_report() {
    let mut reports = vec![];
    for keep in [true, false] {
        let (store, _dir) = common::sqlite().await;
        let mut c = Commit { at: Some(default_start()), ..Commit::default() };
        for n in 1..=4 {
            let (t, ev) = lifecycle(n, keep);
            c.events.extend(ev.into_iter().map(|e| (t.number, e)));
            c.inserts.push(t);
        }
        store.commit(c).await.unwrap();
        let facts = store.facts_touched(default_start() - Duration::days(30), default_start() + Duration::days(7));
        let facts = facts.await.unwrap();
        assert_eq!(facts.len(), 4);
        assert!(facts.iter().all(|(_, _, f)| f.is_some() == keep), "facts stored only with the history");
        let clock = common::clock();
        clock.set(default_start() + Duration::days(2));
        let desk = common::desk(store, clock, &[]);
        let r = desk.report(PeriodKind::Week, default_start().date_naive()).await.unwrap();
        assert_eq!(r.volume.total, 4);
        assert_eq!(r.reopen_rate.count, 4, "every ticket was reopened once");
        reports.push(serde_json::to_value(&r).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
}

/// A long-running recurring issue names its ten newest look-alikes and counts the rest, so the notice stays short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurring_notices_name_the_newest_look_alikes() {
    use deskbot::outbox::{self, Deliver, Failure, Worker};
    use std::sync::Mutex;
    #[derive(Default)]
    struct Collect(Mutex<Vec<String>>);
    impl Deliver for Collect {
        async fn deliver(&self, item: &deskbot::store::OutboxItem) -> Result<(), Failure> {
            self.0.lock().unwrap().push(item.message.text.clone());
            Ok(())
        }
    }
    let (store, _dir) = common::sqlite().await;
    let clock = common::clock();
    let desk = common::desk(store, clock.clone(), &[]);
    for i in 0..13 {
        desk.handle(&common::say(&format!("user{i}"), "meeting room b audio not working")).await.unwrap();
        clock.set(deskbot::core::clock::Clock::now(clock.as_ref()) + Duration::minutes(5));
    }
    let sent = Collect::default();
    outbox::drain(desk.store(), &sent, clock.as_ref(), Worker::in_order("t", None)).await.unwrap();
    let notices: Vec<String> = sent.0.lock().unwrap().iter().filter(|t| t.starts_with("Recurring:")).cloned().collect();
    assert_eq!(notices.len(), 11, "from the third look-alike on");
    let last = notices.last().unwrap();
    assert!(last.contains("look-alike number 13"), "{last}");
    assert!(last.contains("3 earlier and #4, #5, #6, #7, #8, #9, #10, #11, #12, #13"), "{last}");
    assert!(!last.contains("#3,"), "{last}");
}
