//! The console adapter end to end: an employee opens a ticket, a technician sees it in the queue and claims it
//! with a numbered button.

use crate::common;
use deskbot::core::clock::Clock;
use deskbot::store::{Store, TicketFilter};

#[tokio::test]
async fn employee_opens_technician_sees_queue_and_claims() {
    let (s, _dir) = common::sqlite().await;
    let clock = common::clock();
    let desk = common::desk(s.clone(), clock.clone(), &[]);
    let input = "the printer on floor 2 is jammed again\n/as sam technician\n/ticket queue\n/ticket claim 1\n/as alice\n/ticket queue\n9\n/as bob\nxero won't load\n/as sam\n5\n/quit\nnever read\n";
    let mut out = Vec::new();
    let c: &dyn Clock = clock.as_ref();
    deskbot::adapters::console::run(&desk, c, input.as_bytes(), &mut out, "alice", false).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("bot -> alice: Ticket #1 opened: printing (P3 incident). A technician will respond by Mon 2 Mar 13:00 UTC (within 4h)"),
        "{out}"
    );
    // A jam opens the walkthrough on clearing it.
    assert!(out.contains("[1] Jam cleared and it printed"), "{out}");
    assert!(out.contains("You are now sam (technician)."), "{out}");
    assert!(out.contains("That role lasts until you quit; to keep it, add `sam = \"technician\"`"), "{out}");
    // The runbook's **bold** is shown as plain words on a pipe: no asterisks, no escape codes.
    assert!(out.contains("What you should see now: the jam message disappears"), "{out}");
    assert!(!out.contains("**") && !out.contains('\x1b'), "{out}");
    assert!(out.contains("bot -> sam: Queue: 1 open, most urgent first"), "{out}");
    assert!(out.contains("#1 P3 printing · new (requester in self-service) · unowned · response due in 4h"), "{out}");
    assert!(out.contains("bot -> sam: You now own #1"), "{out}");
    assert!(out.contains("bot -> alice: sam is now handling your ticket #1."), "{out}");
    assert!(out.contains("bot -> alice: only technicians and managers can see the queue"), "{out}");
    assert!(out.contains("there is no button [9] for alice"), "{out}");
    // bob's ticket has no runbook: its card's Claim button is choice 5 (after the four runbook buttons).
    assert!(out.contains("[5] Claim"), "{out}");
    assert!(out.contains("bot -> sam: You now own #2"), "{out}");
    let ts = s.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[0].owner.as_ref().unwrap().id, "sam");
    assert_eq!(ts[1].owner.as_ref().unwrap().id, "sam");
}

/// A manager's `/ticket help` lists `/helpdesk report`, and the report's chart is saved outside the directory the
/// console was started in (often the repository), at a path the console prints.
#[tokio::test]
async fn a_managers_help_and_report_chart() {
    let (s, _dir) = common::sqlite().await;
    let clock = common::clock();
    let desk = common::desk(s.clone(), clock.clone(), &[]);
    let input = "/ticket help\n/as mia manager\n/ticket help\n/helpdesk report\n/quit\n";
    let mut out = Vec::new();
    let c: &dyn Clock = clock.as_ref();
    deskbot::adapters::console::run(&desk, c, input.as_bytes(), &mut out, "alice", false).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches("/helpdesk report [week|month]").count(), 1, "only mia's help lists it: {out}");
    let dir = std::env::temp_dir().join("deskbot-charts");
    let saved = format!("[chart saved to {}", dir.display());
    let at = out.find(&saved).unwrap_or_else(|| panic!("no chart path under {}: {out}", dir.display()));
    let name = out[at + saved.len()..].split(']').next().unwrap().trim_start_matches(std::path::MAIN_SEPARATOR);
    assert!(name.starts_with("helpdesk-week-of-") && name.ends_with(".png"), "{name}");
    assert!(dir.join(name).exists());
    assert!(!std::path::Path::new(name).exists(), "nothing written where the console runs");
}
