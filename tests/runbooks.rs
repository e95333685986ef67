//! Every shipped runbook, walked through the real desk (via replay) to each of its endings: every button or
//! answer that leads to `fixed`, `no-action` or `handoff`, plus "Talk to a person" at the first step. Snapshots hold
//! what the user sees on each path.

use crate::common;
use deskbot::core::runbook::{Next, Runbook, TALK_TO_PERSON};
use deskbot::replay;
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// How a path ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Fixed,
    NoAction,
    Handoff,
}

fn end_of(next: Next<'_>) -> Option<End> {
    match next {
        Next::Fixed => Some(End::Fixed),
        Next::NoAction => Some(End::NoAction),
        Next::Handoff { .. } => Some(End::Handoff),
        Next::Step(_) => None,
    }
}

#[derive(Clone, Debug)]
enum Act {
    Click(String),
    Answer(String),
}

/// Shortest list of actions from the first step to `target` (a step id).
fn path_to(rb: &Runbook, target: &str) -> Option<Vec<Act>> {
    let first = rb.steps.first()?.id.clone();
    let mut prev: HashMap<String, (String, Act)> = HashMap::new();
    let mut queue = VecDeque::from([first.clone()]);
    let mut seen = vec![first.clone()];
    while let Some(id) = queue.pop_front() {
        if id == target {
            let mut acts = vec![];
            let mut cur = id;
            while let Some((p, a)) = prev.get(&cur) {
                acts.push(a.clone());
                cur = p.clone();
            }
            acts.reverse();
            return Some(acts);
        }
        let step = rb.step(&id)?;
        let mut nexts: Vec<(String, Act)> = vec![];
        for b in &step.buttons {
            if let Next::Step(n) = b.target() {
                nexts.push((n.to_string(), Act::Click(b.label.clone())));
            }
        }
        if let Some(ask) = &step.ask
            && let Next::Step(n) = ask.target()
        {
            nexts.push((n.to_string(), Act::Answer(ask.field.clone())));
        }
        for (n, a) in nexts {
            if !seen.contains(&n) {
                seen.push(n.clone());
                prev.insert(n.clone(), (id.clone(), a));
                queue.push_back(n);
            }
        }
    }
    None
}

/// Every ending: (description, actions, how it ends).
fn endings(rb: &Runbook) -> Vec<(String, Vec<Act>, End)> {
    let mut out = vec![];
    for step in &rb.steps {
        let Some(to_step) = path_to(rb, &step.id) else { continue };
        for b in &step.buttons {
            if let Some(end) = end_of(b.target()) {
                let mut acts = to_step.clone();
                acts.push(Act::Click(b.label.clone()));
                out.push((format!("{} / \"{}\"", step.id, b.label), acts, end));
            }
        }
        if let Some(ask) = &step.ask
            && let Some(end) = end_of(ask.target())
        {
            let mut acts = to_step.clone();
            acts.push(Act::Answer(ask.field.clone()));
            out.push((format!("{} / answer {}", step.id, ask.field), acts, end));
        }
    }
    if !rb.steps[0].buttons.iter().any(|b| matches!(b.target(), Next::Handoff { .. })) {
        out.push((
            format!("{} / \"{TALK_TO_PERSON}\"", rb.steps[0].id),
            vec![Act::Click(TALK_TO_PERSON.into())],
            End::Handoff,
        ));
    }
    out
}

#[tokio::test]
async fn every_shipped_runbook_reaches_each_ending_through_the_desk() {
    let (s, _dir) = common::sqlite().await;
    let desk = common::desk(s, common::clock(), &[]);
    let mut runbooks: Vec<Runbook> = desk.runbooks().all().to_vec();
    runbooks.sort_by(|a, b| a.id.cmp(&b.id));
    assert!(runbooks.len() >= 13, "only {} runbooks shipped", runbooks.len());
    for rb in &runbooks {
        let ends = endings(rb);
        assert!(
            ends.iter().any(|(_, _, end)| *end == End::Fixed)
                || rb.ticket_type == deskbot::core::ticket::TicketType::Request,
            "{} has no fixed ending",
            rb.id
        );
        let mut shown = String::new();
        for (what, acts, end) in &ends {
            let mut script =
                format!("@now 2026-03-02T09:00:00Z\n@role alice manager\nalice: /ticket start {}\n", rb.id);
            for a in acts {
                match a {
                    Act::Click(label) => script.push_str(&format!("alice clicks \"{label}\"\n")),
                    // The answer that dates a joiner or leaver must read as a date (#33), or it is asked again.
                    Act::Answer(field) if rb.ticket_date.as_ref().is_some_and(|d| d.field == *field) => {
                        script.push_str("alice (thread #1): 13 March\n")
                    }
                    Act::Answer(field) => script.push_str(&format!("alice (thread #1): my answer for {field}\n")),
                }
            }
            let out = replay::run_script(&script, &format!("{}.replay", rb.id), Path::new("."))
                .await
                .unwrap_or_else(|e| panic!("{}: path {what}: {e}", rb.id));
            let j = out.json().await.unwrap();
            let t = &j["tickets"][0];
            let ended: Vec<_> =
                t["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "runbook").cloned().collect();
            assert_eq!(ended.len(), 1, "{}: path {what} did not end the walkthrough exactly once", rb.id);
            match end {
                End::Fixed => {
                    assert_eq!(t["state"], "resolved", "{}: {what}", rb.id);
                    assert_eq!(t["deflected"], true, "{}: {what}", rb.id);
                    assert_eq!(ended[0]["outcome"], "fixed");
                }
                End::NoAction => {
                    // Resolved, but self-service fixed nothing: not deflected (#33).
                    assert_eq!(t["state"], "resolved", "{}: {what}", rb.id);
                    assert_eq!(t["deflected"], false, "{}: {what}", rb.id);
                    assert_eq!(ended[0]["outcome"], "no_action");
                }
                End::Handoff => {
                    assert_ne!(t["state"], "resolved", "{}: {what}", rb.id);
                    assert_eq!(t["deflected"], false);
                    assert_eq!(ended[0]["outcome"], "handoff");
                    assert!(ended[0]["transcript"].as_str().unwrap().contains(&rb.title), "{}: transcript", rb.id);
                }
            }
            let label = match end {
                End::Fixed => "fixed",
                End::NoAction => "no IT action",
                End::Handoff => "handoff",
            };
            shown.push_str(&format!("=== {what} ({label})\n"));
            for line in out.text().lines().filter(|l| l.starts_with("bot -> alice:") || l.starts_with("bot -> #")) {
                shown.push_str(line);
                shown.push('\n');
            }
        }
        insta::assert_snapshot!(format!("runbook_{}", rb.id), shown);
    }
}
