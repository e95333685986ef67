//! Replay: golden snapshots of whole conversations, determinism, and errors that name the line.

use deskbot::replay;
use serde_json::json;
use std::path::Path;

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay").join(name)
}

#[tokio::test]
async fn basic_flow_text_and_json_snapshots() {
    let out = replay::run_file(&script("basic_flow.replay")).await.unwrap();
    insta::assert_snapshot!("basic_flow_text", out.text());
    insta::assert_json_snapshot!("basic_flow_json", out.json().await.unwrap());
}

#[tokio::test]
async fn same_script_gives_byte_identical_output() {
    let a = replay::run_file(&script("basic_flow.replay")).await.unwrap();
    let b = replay::run_file(&script("basic_flow.replay")).await.unwrap();
    assert_eq!(a.text(), b.text());
    assert_eq!(
        serde_json::to_string(&a.json().await.unwrap()).unwrap(),
        serde_json::to_string(&b.json().await.unwrap()).unwrap()
    );
}

#[tokio::test]
async fn json_tickets_carry_the_documented_fields() {
    let out = replay::run_file(&script("basic_flow.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    for k in [
        "number",
        "category",
        "type",
        "priority",
        "state",
        "owner",
        "requester",
        "created_at",
        "first_response_due",
        "resolution_due",
        "first_response_at",
        "resolved_at",
        "deflected",
        "events",
    ] {
        assert!(t.get(k).is_some(), "ticket JSON lacks `{k}`");
    }
    assert_eq!(t["state"], "closed");
    assert_eq!(t["owner"], "sam");
    assert_eq!(t["first_response_at"], "2026-03-02T09:30:00Z", "the note did not count, the reply did");
    assert_eq!(t["first_response_due"], "2026-03-02T13:00:00Z");
}

#[tokio::test]
async fn bad_line_is_an_error_naming_its_line() {
    let e = replay::run_script("@now 2026-03-02T09:00:00Z\nalice: hi\n@advance 5x\n", "s.replay", Path::new("."))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("s.replay:3: @advance"), "{e}");
    let e = replay::run_script("alice: printer jammed\nbob clicks \"Nope\"\n", "s.replay", Path::new("."))
        .await
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "s.replay:2: no message to bob has a button \"Nope\"");
    let e = replay::run_script("alice (thread #9): hi\n", "s.replay", Path::new(".")).await.err().unwrap();
    assert_eq!(e.to_string(), "s.replay:1: there is no ticket #9");
}

#[tokio::test]
async fn config_directive_loads_relative_file_and_rejects_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.toml"), "[roles.console]\nsam = \"technician\"\n").unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[roles.console]\nsam = 3\n").unwrap();
    let out = replay::run_script("@config ok.toml\nalice: printer jammed\nsam: /ticket claim 1\n", "s", dir.path())
        .await
        .unwrap();
    assert!(out.text().contains("bot -> sam: You now own #1"), "{}", out.text());
    let e = replay::run_script("@config bad.toml\nalice: hi\n", "s", dir.path()).await.err().unwrap();
    assert!(e.to_string().starts_with("s:1: ") && e.to_string().contains("roles.console.sam"), "{e}");
}

#[tokio::test]
async fn advance_moves_the_clock_for_later_messages() {
    let out = replay::run_script(
        "@now 2026-03-02T09:00:00Z\n@role sam technician\nalice: printer jammed\n@advance 5h\nsam: /ticket queue\n",
        "s",
        Path::new("."),
    )
    .await
    .unwrap();
    assert!(out.text().contains("response overdue by 1h"), "{}", out.text());
}

#[tokio::test]
async fn business_hours_and_pause_snapshot() {
    let out = replay::run_file(&script("sla_pause.replay")).await.unwrap();
    insta::assert_snapshot!("sla_pause_text", out.text());
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    // Opened Fri 15:30 GMT; 2h first response = 30m Friday + 1h30m Monday from 08:30 BST (07:30 UTC) = 09:00 UTC.
    // The question of `/ticket pending 1 user …` at 15:40 is the first response.
    assert_eq!(t["created_at"], "2026-03-27T15:30:00Z");
    assert_eq!(t["first_response_at"], "2026-03-27T15:40:00Z");
    assert_eq!(t["first_response_due"], "2026-03-30T09:00:00Z");
    // Resolution 2d = two working days: 7h into Friday's opening (08:30) → 7h into Tuesday's, 15:30 BST; plus the
    // business time it waited on alice: Fri 15:40-16:00 (20m) and Mon 07:30-08:00 UTC (30m) → 16:20 BST.
    assert_eq!(t["resolution_due"], "2026-03-31T15:20:00Z");
    assert_eq!(t["state"], "resolved");
}

#[tokio::test]
async fn sla_warnings_escalate_once_each() {
    let out = replay::run_file(&script("sla_warnings.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("sla_warnings_text", text);
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    // 75%: unowned, so the queue channel; 90%: owner and lead; 100%: escalation channel, manager and owner.
    assert_eq!(count("bot -> #helpdesk-queue: SLA warning: #1"), 1);
    assert_eq!(count("used 90% of its first response"), 2);
    assert_eq!(count("SLA breach: #1"), 3);
    assert!(text.contains("bot -> #helpdesk-escalations: SLA breach: #1"));
    assert!(text.contains("bot -> max: SLA breach: #1"));
    assert!(text.contains("bot -> lena: SLA warning: #1"));
    assert_eq!(count("used 75% of its next response"), 1, "next response clock warned the owner once");
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    assert_eq!(t["breaches"][0]["clock"], "first_response");
    let warnings: Vec<(String, u64, String, String)> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sla_warning")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("clock"), e["percent"].as_u64().unwrap(), s("at"), s("due"))
        })
        .collect();
    // By hand: opened 09:00, P3 first response 4h on 24x7 → due 13:00; 75% = 3h → 12:00; 90% = 3h36m → 12:36.
    // alice writes at 13:30 (09:00 + 3h30m + 1h) after sam's reply: next response 4h → due 17:30, 75% → 16:30.
    let w = |clock: &str, pct: u64, at: &str, due: &str| (clock.into(), pct, at.into(), due.into());
    assert_eq!(
        warnings,
        vec![
            w("first_response", 75, "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z"),
            w("first_response", 90, "2026-03-02T12:36:00Z", "2026-03-02T13:00:00Z"),
            w("first_response", 100, "2026-03-02T13:00:00Z", "2026-03-02T13:00:00Z"),
            w("next_response", 75, "2026-03-02T16:30:00Z", "2026-03-02T17:30:00Z"),
        ]
    );
}

/// #33 probe, item 2: see `walk_sla_deferred.replay`. Expected by hand: nothing at 15:00 (75%) or 16:12 (90%) while
/// the requester is in the walkthrough; at the 16:30 hand-off the card, then one 90% warning (queue and lead), not
/// the 75% one; the breach at 17:00 as usual.
#[tokio::test]
async fn sla_warnings_wait_for_the_hand_off_of_a_walkthrough() {
    let out = replay::run_file(&script("walk_sla_deferred.replay")).await.unwrap();
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
    let card = at("bot -> #helpdesk-queue: New ticket #1").expect("the hand-off posts the card");
    let first_sla = at("SLA warning: #1").expect("a warning after the hand-off");
    assert!(card < first_sla, "the card comes before any warning: {text}");
    assert!(at("Still there?").is_some_and(|r| r < card), "the 13:00 reminder came during the walkthrough: {text}");
    assert!(!text.contains("used 75%"), "a point passed in the walkthrough is not announced late: {text}");
    let ninety: Vec<&&str> =
        lines.iter().filter(|l| l.contains("used 90% of its first response target of 8h")).collect();
    assert_eq!(ninety.len(), 2, "queue and lead: {text}");
    assert!(ninety.iter().all(|l| l.contains("due Mon 2 Mar 17:00 UTC (in 30m)")), "{ninety:?}");
    assert_eq!(lines.iter().filter(|l| l.contains("SLA breach: #1")).count(), 3, "{text}");
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    assert_eq!(t["first_response_due"], "2026-03-02T17:00:00Z", "the clock runs from the request");
    let warnings = t["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "sla_warning").count();
    assert_eq!(warnings, 2, "90 at the hand-off, then the breach");
}

#[tokio::test]
async fn overdue_warnings_fire_once_after_restart_marked_late() {
    let out = replay::run_file(&script("sla_restart.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("sla_restart_text", text);
    // 75%, 90% and the breach all fell due while deskbot was down: only the breach is announced, once, late,
    // saying when it fell due.
    assert_eq!(text.lines().filter(|l| l.contains("SLA warning: #1")).count(), 0, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("bot -> sam: SLA breach: #1") && l.contains("(late:")).count(), 1);
    assert!(
        text.contains("(late: this fell due Mon 2 Mar 13:00 UTC, 1h ago,"),
        "a late breach says when it fell due: {text}"
    );
    let j = out.json().await.unwrap();
    let events = j["tickets"][0]["events"].as_array().unwrap().clone();
    let late: Vec<_> = events.iter().filter(|e| e["kind"] == "sla_warning").map(|e| e["late"].clone()).collect();
    assert_eq!(late.len(), 1, "fired exactly once across two restarts");
    assert!(late.iter().all(|l| l == true));
}

#[tokio::test]
async fn reopen_continues_or_starts_a_new_cycle() {
    let out = replay::run_file(&script("sla_reopen.replay")).await.unwrap();
    insta::assert_snapshot!("sla_reopen_text", out.text());
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    // Default P3 resolution 2d on the built-in office calendar (Mon-Fri 09:00-17:30 UTC). After the 10-day gap a
    // new cycle starts at the reopen, Fri 13 Mar 09:00: the opening counts as Thursday's close, so 2 working days
    // later is the close of Monday 16 Mar (on 24x7 it was Sun 15 Mar 09:00).
    assert_eq!(t["state"], "open");
    assert_eq!(t["resolution_due"], "2026-03-16T17:30:00Z");
    assert!(out.text().contains("(new cycle since Fri 13 Mar 09:00 UTC)"), "{}", out.text());
}

#[tokio::test]
async fn sla_rules_days_reopens_responses_and_pauses() {
    let out = replay::run_file(&script("sla_rules.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("sla_rules_text", text);
    let j = out.json().await.unwrap();
    let t = |n: usize| j["tickets"][n - 1].clone();
    let events = |n: usize, kind: &str| -> Vec<serde_json::Value> {
        t(n)["events"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).cloned().collect()
    };
    // #1, resolved 09:10 with no word (10 of 60 minutes used), reopened Tue 09:00: the 50 minutes left run from
    // there. Warnings at 45 and 54 business minutes, the breach at 60, each once and none late.
    assert_eq!(t(1)["first_response_at"], serde_json::Value::Null);
    assert_eq!(t(1)["first_response_due"], "2026-03-03T09:50:00Z");
    let fr: Vec<_> = events(1, "sla_warning")
        .into_iter()
        .filter(|e| e["clock"] == "first_response")
        .map(|e| (e["percent"].as_u64().unwrap(), e["at"].as_str().unwrap().to_string(), e["late"].clone()))
        .collect();
    assert_eq!(
        fr,
        [
            (75, "2026-03-03T09:35:00Z".to_string(), serde_json::Value::Bool(false)),
            (90, "2026-03-03T09:44:00Z".to_string(), serde_json::Value::Bool(false)),
            (100, "2026-03-03T09:50:00Z".to_string(), serde_json::Value::Bool(false)),
        ]
    );
    // #2: a resolution text is a response; #3: the pending question is a public reply and a response.
    assert_eq!(t(2)["first_response_at"], "2026-03-02T09:10:00Z");
    assert_eq!(t(3)["first_response_at"], "2026-03-02T09:15:00Z");
    assert_eq!(t(3)["state"], "pending_user");
    assert_eq!(events(3, "public_reply").len(), 1);
    assert!(events(3, "internal_note").is_empty(), "the question is not stored as a note");
    // #4: erin's message is recorded but resumes nothing; dave's own answer at 09:30 does.
    let resumed: Vec<_> = events(4, "state_changed").into_iter().filter(|e| e["from"] == "pending_user").collect();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0]["actor"], "dave");
    assert_eq!(resumed[0]["at"], "2026-03-02T09:30:00Z");
    // #5: the reopen at exactly 2 days continued the cycle; the one after 2d1h started a new one at Fri 11:00,
    // whose two working days end Tue 10 Mar 11:00. Each requester reopen starts the next-response clock (2h).
    assert_eq!(events(5, "reopened").len(), 2);
    assert!(text.contains("(new cycle since Fri 6 Mar 11:00 UTC)"), "{text}");
    assert_eq!(t(5)["resolution_due"], "2026-03-10T11:00:00Z");
    assert_eq!(t(5)["next_response_due"], "2026-03-06T13:00:00Z");
    assert!(!text.contains("(new cycle since Wed"), "{text}");
    // #6: raised to P1 at 09:40, after its 15-minute point: one breach, right away, not late, and no warnings.
    let w6 = events(6, "sla_warning");
    assert_eq!(w6.len(), 1, "{w6:?}");
    assert_eq!((w6[0]["percent"].as_u64(), w6[0]["late"].as_bool()), (Some(100), Some(false)));
    assert_eq!(w6[0]["at"], "2026-03-02T09:40:00Z");
    assert!(!text.lines().any(|l| l.contains("#6") && l.contains("(late")), "{text}");
}

#[tokio::test]
async fn sla_new_cycle_from_resolution_unanswered_messages_and_late_warnings() {
    let out = replay::run_file(&script("sla_more.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("sla_more_text", text);
    assert!(
        text.contains("next response, target 2h: waiting since Mon 2 Mar 09:00 UTC: running, due Mon 2 Mar 11:10 UTC"),
        "{text}"
    );
    let late: Vec<_> = text.lines().filter(|l| l.contains("SLA warning: #3") && l.contains("first response")).collect();
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(late[0].contains("has used 90%"), "{late:?}");
    assert!(
        late[0].contains("(late: this fell due Mon 2 Mar 09:54 UTC, 2m ago, while deskbot was not running)"),
        "{late:?}"
    );
    assert!(text.contains("(new cycle since Wed 4 Mar 11:10 UTC)"), "{text}");
    let j = out.json().await.unwrap();
    let t1 = &j["tickets"][0];
    assert_eq!(t1["resolution_due"], "2026-03-06T11:10:00Z");
    assert_eq!(t1["next_response_due"], "2026-03-04T13:00:00Z");
}

#[tokio::test]
async fn outsiders_self_approval_and_declined_requests_are_refused() {
    let out = replay::run_file(&script("authz_threads.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("authz_threads_text", text);
    let j = out.json().await.unwrap();
    let events = |n: usize| j["tickets"][n - 1]["events"].as_array().unwrap().clone();
    // #1: eve's three messages add nothing and change nothing; one `denied` event records her.
    let e1 = events(1);
    let by_eve: Vec<_> =
        e1.iter().filter(|e| e["actor"] == "eve").map(|e| (e["kind"].clone(), e["action"].clone())).collect();
    // One for her three thread messages, and one each for her /ticket show and claim attempts at the end.
    assert_eq!(
        by_eve,
        [("denied", "add to ticket"), ("denied", "show"), ("denied", "claim")].map(|(k, a)| (json!(k), json!(a)))
    );
    assert!(!e1.iter().any(|e| e["kind"] == "requester_message"));
    assert_eq!(j["tickets"][0]["state"], "pending_user", "eve's message did not resume alice's paused ticket");
    assert_eq!(text.matches("bot -> eve: #1 is alice's ticket").count(), 3);
    assert!(!text.contains("bot -> sam: eve"), "the owner/queue is not told about eve's messages");
    // #2: mona is never asked to approve her own request, and cannot; sam cannot claim before the decision; lena
    // is not a manager. max declines; mona's "please reconsider" and /ticket reopen leave it declined.
    assert!(!text.contains("bot -> mona: Approval needed"), "{text}");
    assert!(text.contains("bot -> max: Approval needed for #2"));
    assert!(text.contains("bot -> mona: you raised #2, so someone else must decide on it; ask max"));
    let e2 = events(2);
    let denied: Vec<_> = e2.iter().filter(|e| e["kind"] == "denied").map(|e| e["actor"].as_str().unwrap()).collect();
    // ... and mona's /ticket reopen of the declined request, refused because of its state, is recorded too.
    assert_eq!(denied, ["mona", "sam", "lena", "mona"]);
    let approvals: Vec<_> = e2.iter().filter(|e| e["kind"] == "approval").collect();
    assert_eq!(approvals.len(), 1);
    assert_eq!((approvals[0]["actor"].as_str(), approvals[0]["approved"].as_bool()), (Some("max"), Some(false)));
    // Declined is closed as declined: no resolution.
    assert_eq!(j["tickets"][1]["state"], "closed");
    assert_eq!(j["tickets"][1]["resolved_at"], serde_json::Value::Null);
    assert_eq!(j["tickets"][1]["reopen_count"], 0);
    assert_eq!(text.matches("#2 was declined by max and stays declined").count(), 2);
    // Probing: the same answer for a ticket that does not exist and one that is not eve's.
    let to_eve: Vec<&str> = text.lines().filter(|l| l.starts_with("bot -> eve:")).collect();
    let n = to_eve.len();
    assert_eq!(to_eve[n - 4], to_eve[n - 3], "{to_eve:?}");
    assert_eq!(to_eve[n - 2], to_eve[n - 1], "{to_eve:?}");
    assert!(!text.contains("there is no ticket #999"), "{text}");
    assert!(text.contains("bot -> sam: lena used /ticket reply on #1, which you own."), "{text}");
    // bob's "same here" on alice's locked account is his own ticket, linked; alice's replies never reach him.
    assert!(!text.lines().any(|l| l.starts_with("bot -> bob:") && l.contains("Winter2026")), "{text}");
    assert_eq!(j["tickets"][2]["requester"], "bob");
    assert_eq!(j["tickets"][2]["category"], "identity");
}

#[tokio::test]
async fn the_hourly_limit_counts_tickets_started_with_a_command() {
    let out = replay::run_file(&script("limit_paths.replay")).await.unwrap();
    let text = out.text();
    assert_eq!(text.matches("so I won't open more for now").count(), 1, "{text}");
    let j = out.json().await.unwrap();
    let created: Vec<_> = j["tickets"].as_array().unwrap().iter().map(|t| t["created_at"].clone()).collect();
    assert_eq!(created, ["2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z", "2026-03-02T10:01:00Z"]);
}

/// The lines of `text` to `who`, in order.
fn lines_to<'a>(text: &'a str, who: &str) -> Vec<&'a str> {
    let prefix = format!("bot -> {who}: ");
    text.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).collect()
}

/// `(actor, action)` of each `denied` event on ticket `n` of a replay's JSON.
fn denied_on(j: &serde_json::Value, n: usize) -> Vec<(String, String)> {
    j["tickets"][n - 1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "denied")
        .map(|e| (e["actor"].as_str().unwrap().to_string(), e["action"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// #30: a laptop asked for in the channel, and a laptop asked for in a closed ticket's thread, go through the
/// new-laptop request and its approval; a declined request stays declined after it is closed; a mouse needs none.
#[tokio::test]
async fn every_path_to_a_request_that_needs_approval_goes_through_it() {
    let out = replay::run_file(&script("approval_paths.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let to_alice = lines_to(&text, "alice");
    assert_eq!(
        to_alice[0],
        "Ticket #1 opened: New laptop request (endpoint P4 request). A few questions first, then it goes to a \
         manager for approval:"
    );
    assert!(to_alice[1].starts_with("Happy to help you get a new computer."), "{to_alice:?}");
    assert!(text.contains(
        "bot -> max: Approval needed for #1 from alice (New laptop request): model: MacBook Air; reason: mine is 6 \
         years old; needed_by: 2026-03-20 [Approve] [Decline]"
    ));
    assert!(lines_to(&text, "sam")[0].starts_with("#1 is waiting for a manager's approval"), "{text}");
    // Declined, closed, then "please reconsider" in its thread: told it stays declined, and no new ticket.
    assert_eq!(
        to_alice.last().copied(),
        Some("#1 was declined by max and stays declined; start a new request if things have changed"),
        "{to_alice:?}"
    );
    let tickets = j["tickets"].as_array().unwrap();
    let by = |who: &str| tickets.iter().filter(|t| t["requester"] == who).count();
    assert_eq!(by("alice"), 1, "{text}");
    assert_eq!((tickets[0]["state"].as_str(), tickets[0]["owner"].as_str()), (Some("closed"), None));
    // bob's mouse: a plain request for the queue, nobody asked to approve it.
    assert_eq!(tickets[1]["requester"], "bob");
    assert!(!text.contains("Approval needed for #2"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("bot -> #helpdesk-queue: New ticket #2") && l.contains("[Claim]")));
    // carol's follow-up asks for a laptop: #4, linked to #3, is the new-laptop request; sam cannot take it over
    // while carol is still answering its questions.
    assert_eq!((tickets[3]["requester"].as_str(), tickets[3]["owner"].as_str()), (Some("carol"), None));
    assert!(tickets[3]["events"].as_array().unwrap().iter().any(|e| e["kind"] == "linked" && e["with"] == 3));
    assert!(lines_to(&text, "carol").iter().any(|l| l.starts_with("Happy to help you get a new computer.")));
    assert!(
        lines_to(&text, "sam")
            .last()
            .unwrap()
            .starts_with("#4 needs a manager's approval and carol is still answering"),
        "{text}"
    );
    assert!(text.contains("Which model do you need?"));
}

/// #30: while a request waits for approval a technician may reply and note, but not set it pending, change its
/// priority, assign or resolve it; after the approval they may.
#[tokio::test]
async fn a_request_waiting_for_approval_is_talked_about_not_worked() {
    let out = replay::run_file(&script("approval_wait.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    assert!(text.contains("bot -> alice: sam on #1: do you need a docking station as well?"));
    assert!(text.contains("bot -> sam: Internal note added to #1"));
    let waiting = |who: &str| {
        lines_to(&text, who).iter().filter(|l| l.starts_with("#1 is waiting for a manager's approval")).count()
    };
    // pending user, pending vendor, priority, resolve; lena's assign.
    assert_eq!((waiting("sam"), waiting("lena")), (4, 1), "{text}");
    assert!(!text.contains("waiting on a vendor"), "{text}");
    // The only question that parks it is the one after the approval.
    let asked: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("needs something from you on #1"))
        .map(|(i, _)| i)
        .collect();
    let approved = text.lines().position(|l| l.starts_with("bot -> alice: max approved your request #1")).unwrap();
    assert_eq!(asked.len(), 1, "{text}");
    assert!(asked[0] > approved);
    let t = &j["tickets"][0];
    assert_eq!(
        (t["priority"].as_str(), t["owner"].as_str(), t["state"].as_str()),
        (Some("P2"), Some("sam"), Some("pending_user"))
    );
    // Every refusal recorded (the second "pending" folded into the first: same action, same reason).
    assert_eq!(
        denied_on(&j, 1),
        pairs(&[("sam", "pending"), ("sam", "priority"), ("lena", "assign"), ("sam", "resolve")])
    );
}

/// #30: merging a ticket ends its walkthrough: its buttons no longer act on it, its requester is told where the
/// conversation continues, and no step reminder follows.
#[tokio::test]
async fn a_merged_tickets_walkthrough_buttons_point_to_the_surviving_ticket() {
    let out = replay::run_file(&script("merged_walk.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let to_bob = lines_to(&text, "bob");
    let merged = to_bob.iter().position(|l| l.starts_with("#2 is the same issue as #1")).unwrap();
    assert_eq!(
        &to_bob[merged + 1..],
        [
            "#2 was merged into #1, so its walkthrough has ended; the conversation continues on #1: you'll hear \
             when it is resolved, and you can add to it in #1's thread.",
            "#1 (which your ticket was merged into) is resolved."
        ],
        "{text}"
    );
    let e2 = j["tickets"][1]["events"].as_array().unwrap();
    let walk: Vec<_> = e2.iter().filter(|e| e["kind"] == "runbook").collect();
    assert_eq!(walk.len(), 1, "{e2:?}");
    assert_eq!((walk[0]["outcome"].as_str(), walk[0]["reason"].as_str()), (Some("handoff"), Some("merged into #1")));
    assert_eq!(j["tickets"][1]["state"], "closed");
    assert_eq!(j["tickets"][0]["state"], "resolved");
}

/// #30: someone at the hourly new-ticket limit still joins an outage as an affected person (that opens no
/// ticket); their next new problem is refused.
#[tokio::test]
async fn the_hourly_limit_does_not_stop_joining_an_outage() {
    let out = replay::run_file(&script("limit_outage.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    assert_eq!(
        lines_to(&text, "carol")[3..],
        [
            "We know — #3 (“the wifi is down on floor 3”) is being worked on; you'll get updates here.",
            "You've opened 2 tickets in the last hour, so I won't open more for now. Add details in the threads of \
             your open tickets (/ticket mine lists them), or ask a technician directly."
        ],
        "{text}"
    );
    assert_eq!(j["tickets"].as_array().unwrap().len(), 4);
    let e3 = j["tickets"][2]["events"].as_array().unwrap();
    assert!(e3.iter().any(|e| e["actor"] == "carol"), "carol is on #3: {e3:?}");
}

/// #30: refusals because of the ticket's state are recorded like refusals by role, folded within the hour.
#[tokio::test]
async fn refusals_because_of_state_are_recorded() {
    let out = replay::run_file(&script("denied_states.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    assert_eq!(denied_on(&j, 1), pairs(&[("tom", "claim"), ("max", "approve"), ("sam", "close"), ("tom", "claim")]));
    let reasons: Vec<_> = j["tickets"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "denied")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reasons,
        [
            "#1 is already owned by sam",
            "#1 is not waiting for approval",
            "#1 is open; it cannot go to closed",
            "#1 is already owned by sam"
        ]
    );
}

/// A thousand refused commands from one person in a minute: bounded replies and one recorded refusal.
#[tokio::test]
async fn refusal_floods_are_bounded() {
    let mut script =
        String::from("@now 2026-03-02T09:00:00Z\n@role sam technician\nalice: my laptop screen is flickering\n");
    for _ in 0..1000 {
        script.push_str("eve: /ticket claim 1\n");
    }
    script.push_str("@advance 2m\neve: /ticket claim 1\n");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let out = replay::run_script(&script, "flood.replay", &dir).await.unwrap();
    let text = out.text();
    let to_eve = text.lines().filter(|l| l.starts_with("bot -> eve:")).count();
    // 60 refusals in the first minute, one notice that the rest were dropped, and one refusal after it.
    assert_eq!(to_eve, deskbot::core::desk::COMMANDS_PER_MINUTE as usize + 2, "{to_eve} replies to eve");
    assert_eq!(text.matches("faster than I can take them").count(), 1);
    let j = out.json().await.unwrap();
    let denied = j["tickets"][0]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "denied").count();
    assert_eq!(denied, 1, "identical refusals are recorded once");
    assert_eq!(j["tickets"][0]["owner"], serde_json::Value::Null);
    // When the hour has passed, the repeats are recorded once, with their count (#30 item 15): the 59 refused
    // within the first minute's pace and the one after it.
    let script = format!("{script}@advance 61m\n");
    let out = replay::run_script(&script, "flood.replay", &dir).await.unwrap();
    let j = out.json().await.unwrap();
    let denied: Vec<_> =
        j["tickets"][0]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "denied").cloned().collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].get("repeated"), None);
    assert_eq!(denied[1]["repeated"], deskbot::core::desk::COMMANDS_PER_MINUTE as u64, "{denied:?}");
    assert_eq!(denied[1]["actor"], "eve");
}

#[tokio::test]
async fn workflow_scenario() {
    let out = replay::run_file(&script("workflow.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("workflow_text", text);
    let j = out.json().await.unwrap();
    let t = |n: usize| j["tickets"][n - 1].clone();
    // Assignment: tom, then (lead) sam; the technician could not take it from tom.
    assert_eq!(t(1)["owner"], "sam");
    assert!(text.contains("bot -> sam: only a lead can reassign a ticket that tom owns"));
    assert!(text.contains("bot -> sam: nobody is not a technician"));
    assert_eq!(t(1)["priority"], "P2");
    // Merge: #2 closed into #1, bob told, and told again when #1 is resolved.
    assert_eq!(t(2)["state"], "closed");
    assert!(text.contains("bot -> bob: #2 is the same issue as #1"));
    assert!(text.contains("bot -> bob: #1 (which your ticket was merged into) is resolved"));
    // "Is this about #1?" yes → added to #1; no → a new ticket.
    assert!(text.contains("bot -> alice: Is this about #1"));
    assert!(text.contains("bot -> alice: Added to #1."));
    // Recurring meeting-room audio: the third look-alike is flagged and linked to a problem record.
    assert!(text.contains("Recurring: #6 is look-alike number 3"), "{text}");
    assert!(text.contains("Created problem P-1"), "{text}");
    // CSAT stored on the ticket; only the requester may rate.
    let events = t(1)["events"].as_array().unwrap().clone();
    assert!(
        events.iter().any(|e| e["kind"] == "rated" && e["good"] == true && e["comment"] == "quick and clear, thanks")
    );
    assert!(text.contains("bot -> bob: only the person who raised the ticket can rate it"));
}

#[tokio::test]
async fn triage_asks_when_unsure_and_ignores_chit_chat() {
    let out = replay::run_file(&script("triage.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("triage_text", text);
    let j = out.json().await.unwrap();
    let cats: Vec<_> =
        j["tickets"].as_array().unwrap().iter().map(|t| t["category"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        cats,
        ["identity", "other", "network", "network"],
        "confident, picked 'Something else', picked, confident"
    );
    assert_eq!(j["tickets"][3]["priority"], "P1", "boosters: whole office + client call in 10 min");
    assert_eq!(text.matches("which of these is it about?").count(), 4, "alice, bob, frank and hugo are asked");
    assert!(text.contains("bot -> frank: OK, no ticket."), "'Not an IT problem' opens nothing");
    assert!(!text.contains("bot -> #helpdesk: "), "chit-chat in the channel gets no reply");
    let to_carol: Vec<&str> = text.lines().filter(|l| l.starts_with("bot -> carol:")).collect();
    assert_eq!(
        to_carol.len(),
        3,
        "five messages in the channel get nothing, three DMs get short replies: {to_carol:?}"
    );
    assert!(to_carol[0].contains("doesn't look like an IT problem") && to_carol[1].contains("You're welcome"));
    assert!(!text.contains("bot -> sam: Ticket"), "a technician's announcement in the channel is not a request");
    assert!(!text.contains("bot -> gail:"), "a status line and a notice get no reply in the channel: {text}");
    assert!(
        !text.contains("P2 · endpoint · from hugo") && !text.contains("hugo: Ticket #5 opened: endpoint (P2"),
        "{text}"
    );
}

#[tokio::test]
async fn runbooks_open_on_the_branch_the_message_describes() {
    let out = replay::run_file(&script("runbook_fit.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("runbook_fit_text", text);
    // What the bot says to `who` right after "Ticket #N opened …": the walkthrough's first step, if any.
    let opening = |who: &str| -> Option<String> {
        let prefix = format!("bot -> {who}: ");
        let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
        let opened = lines.next().unwrap_or_else(|| panic!("nothing to {who}"));
        assert!(opened.contains("opened"), "{opened}");
        lines.next().map(|l| l[prefix.len()..].to_string())
    };
    for (who, first) in [
        ("alice", "Sorry it keeps crashing, restarting or switching off."),
        ("carol", "Sorry it's crawling."),
        ("dave", "Sorry about the blue screen"),
        ("erin", "Sorry about the jam, let's clear it:"),
        ("frank", "Let's look at your print queue"),
        ("gina", "Your computer says the printer is **offline**?"),
        ("hank", "Let's change it."),
        ("ivan", "No problem, you can reset it yourself"),
        ("judy", "Let's make room in your mailbox"),
    ] {
        let got = opening(who).unwrap_or_else(|| panic!("{who} got no walkthrough"));
        assert!(got.starts_with(first), "{who}: wanted {first:?}, got {got:?}");
    }
    assert!(!text.contains("alice: Sorry it's crawling"), "no crawling for a laptop that keeps restarting");
    // A laptop that won't switch on, and a message two intents' rules fit equally: a technician, no walkthrough.
    for who in ["bob", "kate"] {
        assert_eq!(opening(who), None, "{who} should get no walkthrough");
        assert!(!text.lines().any(|l| l.starts_with(&format!("bot -> {who}: ")) && l.contains("Talk to a person")));
    }
    assert!(text.contains("bot -> #helpdesk-queue: New ticket #2"), "{text}");
    // Both were understood as computer trouble, whose runbook was held back: for bob by its hand-off entry, for
    // kate because a peripheral pattern fits as well as the computer one.
    let j = out.json().await.unwrap();
    for n in [1, 10] {
        assert_eq!(j["tickets"][n]["intent"], "endpoint.slow_computer", "ticket {}", n + 1);
        assert_eq!(j["tickets"][n]["state"], "new", "ticket {}", n + 1);
    }
}

#[tokio::test]
async fn reports_on_request_and_weekly_exactly_once() {
    let out = replay::run_file(&script("reports.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("reports_text", text);
    let weekly: Vec<_> = text.lines().filter(|l| l.starts_with("bot -> #it-managers:")).collect();
    assert_eq!(weekly.len(), 1, "one weekly post for the week of 2 Mar, none twice after the restart");
    assert!(weekly[0].contains("week of 2 Mar 2026") && weekly[0].contains("[image helpdesk-week-of-2-Mar-2026.png"));
    let asked: Vec<_> = text.lines().filter(|l| l.starts_with("bot -> max: IT helpdesk report")).collect();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].contains("Tickets: 3"), "{}", asked[0]);
    assert!(text.contains("bot -> alice: only managers and leads can see reports"));
    // Both charts decode whole as 1200 x 675 PNGs (what chat previews show), with pixels that are not all one colour.
    let images: Vec<_> = out.messages.iter().filter_map(|m| m.msg.image.as_ref()).collect();
    assert_eq!(images.len(), 2, "the report asked for and the weekly post");
    for img in images {
        let mut reader = png::Decoder::new(std::io::Cursor::new(&img.png[..])).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1200, 675), "{}", img.name);
        let first = &buf[..info.line_size / info.width as usize];
        assert!(buf[..info.buffer_size()].chunks(first.len()).any(|px| px != first), "{} is blank", img.name);
    }
}

#[tokio::test]
async fn office_history_trains_triage_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let mut rows = String::from("subject,team\n");
    for t in [
        "badge reader at the back door rejects my card",
        "door badge not working",
        "my access badge stopped opening doors",
        "badge won't open the side door",
        "card reader at reception rejects badges",
        "new starter needs a door badge",
        "my badge doesn't work on the second floor door",
        "the badge reader on the car park gate rejects everyone",
        "access card stopped working after the weekend",
        "lost my door badge and need a new one",
        "badge lets me into the lobby and not the office",
        "visitor badge won't open the meeting room door",
    ] {
        rows.push_str(&format!("{t},facilities-access\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let with = format!(
        "[catalog]\ntrain_csv = \"{}\"\ntrain_text_column = \"subject\"\ntrain_label_column = \"team\"\ntrain_map = [\"facilities-access=identity\"]\n",
        csv.display()
    );
    std::fs::write(dir.path().join("with.toml"), with).unwrap();
    let script = |cfg: &str| format!("@config {cfg}\nalice: the badge reader by the lift rejects my badge\n");
    std::fs::write(dir.path().join("without.toml"), "").unwrap();
    let trained = replay::run_script(&script("with.toml"), "s", dir.path()).await.unwrap().text();
    let untrained = replay::run_script(&script("without.toml"), "s", dir.path()).await.unwrap().text();
    // Door badges are facilities, not IT, for the shipped intents: silence. In this office IT runs the badges, and
    // twelve rows of its history (mapped from its own label) make them sign-in tickets.
    assert!(trained.contains("Ticket #1 opened: identity"), "{trained}");
    assert!(untrained.is_empty(), "{untrained}");
    let bad = "[catalog]\ntrain_csv = \"/nonexistent/history.csv\"\n";
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let e = replay::run_script(&script("bad.toml"), "s", dir.path()).await.err().unwrap();
    assert!(e.to_string().contains("catalog.train_csv"), "{e}");
}

#[tokio::test]
async fn a_flood_from_one_person_opens_a_bounded_number_of_tickets() {
    let mut script = String::from("@now 2026-03-02T09:00:00Z\n");
    let distinct = [
        "the printer on floor 2 is jammed",
        "outlook stopped syncing my inbox",
        "vpn disconnects constantly from home",
        "wifi in room b is not connecting",
        "my laptop is very slow and freezing",
        "i clicked a phishing link by mistake",
        "xero won't load after the update",
        "my account is locked out",
        "need a new monitor for my desk",
        "teams keeps crashing during calls",
        "scanner won't send to email",
        "projector in the boardroom shows no picture",
    ];
    for i in 0..60 {
        script.push_str(&format!("mallory: {}\n", distinct[i % distinct.len()]));
    }
    script.push_str("@advance 1h1m\nmallory: my work phone was stolen on the train\n");
    // With the defaults the flood is one burst: a message joins the burst's ticket of its own kind, and a clear
    // problem of another kind opens one (probe D), so the ten messages are seven tickets, one per category
    // (printing, saas, network, endpoint, security, application, identity), every later message added to one.
    let out = replay::run_script(&script, "flood.replay", Path::new(".")).await.unwrap();
    let j = out.json().await.unwrap();
    let cats: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["category"].as_str().unwrap()).collect();
    assert_eq!(cats.len(), 8, "seven in the burst, then the phone an hour later: {cats:?}");
    let mut kinds = cats[..7].to_vec();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), 7, "one per kind: {cats:?}");
    // With bursts and follow-ups off, the per-person limit is what bounds it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("off.toml"), "[conversation]\nburst_window = \"0s\"\nfollow_up_window = \"0s\"\n")
        .unwrap();
    let out = replay::run_script(&format!("@config off.toml\n{script}"), "flood.replay", dir.path()).await.unwrap();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap().len();
    assert_eq!(tickets, 11, "10 in the first hour (the default limit), 1 after it:\n{}", out.text());
    let told = out.text().lines().filter(|l| l.contains("I won't open more for now")).count();
    assert_eq!(told, 1, "told once, not once per message");
}

#[tokio::test]
async fn alerts_in_chat() {
    let out = replay::run_file(&script("alerts.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("alerts_text", text);
    let cards = |n: &str| {
        text.lines().filter(|l| l.starts_with(&format!("bot -> #helpdesk-queue: Alert ticket {n} · "))).count()
    };
    // Opened, second alert, resolved, reopened, alerts resolved (the repeat and the claim send none).
    assert_eq!(cards("#1"), 5);
    assert!(text.contains("bot -> sam: The alert behind #1 has resolved"), "the owner is told");
    assert_eq!(text.lines().filter(|l| l.starts_with("bot -> #helpdesk-escalations: Alert storm from rmm")).count(), 1);
    assert!(!text.contains("monitor:"), "nothing addressed to the monitoring source");
    assert!(!text.contains("(late:"), "no stale warning for a threshold passed while the ticket was resolved");
}

/// Events of ticket `n` (1-based) of a replay's JSON, by kind.
fn event_kinds(j: &serde_json::Value, n: usize) -> Vec<String> {
    j["tickets"][n - 1]["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_burst_is_one_ticket_and_joins_the_question_it_started() {
    let out = replay::run_file(&script("bursts.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("bursts_text", text);
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    let who: Vec<&str> = tickets.iter().map(|t| t["requester"].as_str().unwrap()).collect();
    assert_eq!(who, ["dave", "bob", "erin", "dave"], "dave's burst is one ticket; after the window, a new one");
    let messages = event_kinds(&j, 1).iter().filter(|k| *k == "requester_message").count();
    assert_eq!(messages, 2, "both later messages joined #1");
    assert!(text.contains("bot -> sam: dave added to #1: “the error says CRITICAL_PROCESS_DIED”"), "{text}");
    assert_eq!(text.matches("bot -> bob: To get this to the right person").count(), 1, "one question for bob");
    assert!(text.contains("bot -> bob: Got it, I'll add that."), "{text}");
    use deskbot::store::Store as _;
    let bobs = out.desk.store().ticket(deskbot::core::ids::TicketNo(2)).await.unwrap().unwrap();
    assert_eq!(bobs.description, "nothing loads since the update\nit just spins on the home page");
}

#[tokio::test]
async fn a_follow_up_joins_or_asks_and_never_opens_silently() {
    let out = replay::run_file(&script("follow_up.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("follow_up_text", text);
    let j = out.json().await.unwrap();
    assert_eq!(
        j["tickets"].as_array().unwrap().len(),
        3,
        "the printer, after answering 'something new', and the monitor"
    );
    assert!(text.contains("bot -> alice: Is this about #1") || text.contains("bot -> alice: Added to #1."), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(!last.contains("#3"), "'also outlook …' is about #1 (saas), not the newest ticket #3: {last}");
    assert!(text.contains("bot -> alice: Added to #1."), "{text}");
    assert_eq!(text.matches("Is this about #1").count(), 2, "{text}");
    let messages = event_kinds(&j, 1).iter().filter(|k| *k == "requester_message").count();
    assert_eq!(messages, 3, "'also …' (twice) and the confirmed look-alike joined #1");
}

#[tokio::test]
async fn thanks_after_a_resolution_do_not_reopen_but_broken_again_does() {
    let out = replay::run_file(&script("thanks.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("thanks_text", text);
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 1, "thanks outside the thread opened nothing");
    let t = &j["tickets"][0];
    assert_eq!(t["reopen_count"], 1, "only 'broken again' reopened");
    assert_eq!(t["state"], "resolved");
    assert_eq!(event_kinds(&j, 1).iter().filter(|k| *k == "thanked").count(), 4);
    let report = text.lines().find(|l| l.starts_with("bot -> max: IT helpdesk report")).unwrap();
    assert!(report.contains("reopened 100.0%"), "one reopen of one resolved ticket: {report}");
}

#[tokio::test]
async fn never_mind_offers_to_close_and_closing_is_the_requesters() {
    let out = replay::run_file(&script("withdraw.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("withdraw_text", text);
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "closed");
    assert!(event_kinds(&j, 1).contains(&"withdrawn".to_string()));
    assert_eq!(j["tickets"][0]["breaches"].as_array().unwrap().len(), 0);
    assert_eq!(j["tickets"][1]["state"], "resolved", "carol kept hers open; sam resolved it");
    assert_eq!(text.matches("Shall I close").count(), 2, "not for the late 'nvm': {text}");
    let report = text.lines().find(|l| l.starts_with("bot -> max: IT helpdesk report")).unwrap();
    assert!(report.contains("Resolved: 1 ") && report.contains("Closed by the requester before we got to it: 1"));
}

#[tokio::test]
async fn a_major_incident_gathers_everyone_and_tells_them_all() {
    let out = replay::run_file(&script("major.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("major_text", text);
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 3, "ann's (major), ben's (folded in) and eve's; cat, dan and fay opened none");
    assert_eq!(tickets[1]["state"], "closed");
    for who in ["ann", "ben", "cat", "dan"] {
        let to = |needle: &str| text.lines().any(|l| l.starts_with(&format!("bot -> {who}: ")) && l.contains(needle));
        assert!(to("our provider is on it"), "{who} got the update:\n{text}");
        assert!(to("The provider repaired the line"), "{who} got the resolution:\n{text}");
    }
    for who in ["cat", "dan", "fay"] {
        assert!(text.contains(&format!("bot -> {who}: We know — ")), "{who}:\n{text}");
    }
    assert!(text.contains("· 3 people affected ·"), "the card counts people: {text}");
    assert!(text.contains("bot -> sam: Reply sent to everyone affected (4 people) on #1."), "{text}");
    for who in ["cat", "dan", "fay"] {
        assert!(!text.contains(&format!("bot -> {who}: Ticket #")), "no ticket and no runbook for {who}");
    }
    assert_eq!(tickets[0]["reopen_count"], 0, "ann's thanks did not reopen");
    let report = text.lines().find(|l| l.starts_with("bot -> max: IT helpdesk report")).unwrap();
    assert!(report.contains("Tickets: 2 "), "ben's folded ticket is no ticket of its own: {report}");
    assert!(report.contains("Major incidents: 2, 6 people affected"), "{report}");
}

#[tokio::test]
async fn after_a_fix_denials_thank_closed_tickets_follow_up_and_outages_are_one() {
    let out = replay::run_file(&script("after_fix.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("after_fix_text", text);
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    let ticket = |n: u64| tickets.iter().find(|t| t["number"] == n).unwrap_or_else(|| panic!("no #{n}:\n{text}"));
    let kinds = |n: usize| event_kinds(&j, n);
    // "not freezing anymore" is a thank-you; "not working anymore" reopens.
    assert_eq!(ticket(1)["reopen_count"], 1, "only the real problem reopened #1:\n{text}");
    assert!(kinds(1).iter().any(|k| k == "thanked"), "{:?}", kinds(1));
    // The closed ticket stays closed; the problem in its thread is #2, linked to it, with no runbook.
    assert_eq!(ticket(1)["state"], "closed");
    assert!(text.contains("bot -> ann: Ticket #2 opened: saas") && text.contains("following up #1"), "{text}");
    assert!(text.contains("bot -> sam: ann wrote after #1 was closed"), "the old owner heard:\n{text}");
    // Three wordings, one outage: #3 is major (P2 at least), #4 and dan's report joined it.
    assert_eq!(ticket(3)["priority"], "P1", "whole-office outage kept its P1:\n{text}");
    assert_eq!(ticket(4)["state"], "closed", "cat's wifi ticket folded into the outage:\n{text}");
    assert!(!text.contains("bot -> dan: Ticket #"), "dan joined, no ticket of his own:\n{text}");
    assert!(text.contains("bot -> tom: #4, which you own, is now part of major incident #3"), "{text}");
    let queue = text.lines().find(|l| l.starts_with("bot -> sam: Queue:")).expect("queue listed");
    assert!(queue.contains("| MAJOR (3 people affected) #3 "), "{queue}");
    // After the resolution: dan's thanks are noted on #3, cat's "still nothing" is #5, linked to #3.
    assert!(kinds(3).iter().any(|k| k == "thanked"), "{:?}", kinds(3));
    assert_eq!(ticket(3)["reopen_count"], 0);
    assert_eq!(ticket(5)["requester"], "cat");
    assert!(text.contains("bot -> cat: Ticket #5 opened: network") && text.contains("following up #3"), "{text}");
}

#[tokio::test]
async fn conversation_edges_from_the_technicians_probe() {
    let out = replay::run_file(&script("conversation_edges.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("conversation_edges_text", text);
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    let ticket = |n: u64| tickets.iter().find(|t| t["number"] == n).unwrap_or_else(|| panic!("no #{n}:\n{text}"));
    let kinds = |n: usize| event_kinds(&j, n);
    // Thanks and a new problem: #1 thanked and still resolved, the monitor is #2.
    assert_eq!((ticket(1)["state"].as_str(), ticket(1)["reopen_count"].as_u64()), (Some("resolved"), Some(0)));
    assert!(kinds(1).iter().any(|k| k == "thanked"), "{:?}", kinds(1));
    assert_eq!((ticket(2)["category"].as_str(), ticket(2)["requester"].as_str()), (Some("endpoint"), Some("alice")));
    // The vague "also it's …" joined bob's #3.
    assert!(text.contains("bot -> bob: Added to #3."), "{text}");
    // "nvm about the vpn" closed the VPN ticket #4, not the printer #5.
    assert_eq!(ticket(4)["state"], "closed");
    assert!(ticket(5)["state"] != "closed", "{text}");
    // "jammed again" outside the thread reopened dora's #6.
    assert_eq!(ticket(6)["reopen_count"], 1);
    // gus: his second message joined #7, fay's thanks in her folded ticket's thread went to #7, gus's "still down"
    // by DM after the fix is #9, linked to #7.
    assert!(text.contains("bot -> gus: Added to #7."), "{text}");
    assert!(kinds(7).iter().any(|k| k == "thanked"), "{:?}", kinds(7));
    assert_eq!(ticket(9)["requester"], "gus");
    assert!(kinds(9).iter().any(|k| k == "linked") && kinds(7).iter().any(|k| k == "linked"), "{:?}", kinds(9));
    // Praise that sounds like trouble: thanked twice, never reopened.
    assert_eq!(ticket(10)["reopen_count"], 0, "{text}");
    assert_eq!(kinds(10).iter().filter(|k| *k == "thanked").count(), 2, "{:?}", kinds(10));
    // Three install requests: three tickets, no major incident.
    for n in [11, 12, 13] {
        assert_eq!(ticket(n)["state"], "new", "#{n}:\n{text}");
    }
    assert!(!text.contains("Major incident: 3 people reported application"), "{text}");
    // lea: "payroll … blocked" raised #14 to P2; the unrelated toner request is #15.
    assert_eq!(ticket(14)["priority"], "P2");
    assert_eq!((ticket(15)["requester"].as_str(), ticket(15)["category"].as_str()), (Some("lea"), Some("printing")));
    // ned's "same here" made him affected: he heard the resolution.
    assert!(text.contains("bot -> ned: #16 is fixed: reset the scan profile."), "{text}");
    assert_eq!(tickets.len(), 16, "{text}");
}

/// The reports a replay produced, from `--json`: `(to, report)` in order.
async fn reports_of(name: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    let out = replay::run_file(&script(name)).await.unwrap();
    let j = out.json().await.unwrap();
    j["reports"].as_array().unwrap().iter().map(|r| (r["to"].clone(), r["report"].clone())).collect()
}

/// The SLA figures of one clock: (met, breached, breached tickets).
fn clock(r: &serde_json::Value, name: &str) -> (u64, u64, serde_json::Value) {
    let c = r["sla"].as_array().unwrap().iter().find(|c| c["clock"] == name).unwrap();
    (c["met"].as_u64().unwrap(), c["breached"].as_u64().unwrap(), c["breached_tickets"].clone())
}

#[tokio::test]
async fn monday_post_after_downtime_counts_breaches_that_fell_due_meanwhile() {
    let reports = reports_of("report_downtime.replay").await;
    assert_eq!(reports.len(), 2, "the Monday post and the one asked for");
    let (to, posted) = &reports[0];
    assert_eq!(to, &json!({"channel": "it-managers"}));
    let (_, asked) = &reports[1];
    for r in [posted, asked] {
        assert_eq!(r["period"]["start"], "2026-03-02T00:00:00Z");
        // #1 raised Tue 10:00, answered 10:30: 30 business minutes, within 2h.
        assert_eq!(clock(r, "first_response"), (1, 0, json!([])));
        assert_eq!(r["first_response"]["median_minutes"], 30);
        // Resolution 2 working days from Tue 10:00 = Thu 10:00, passed while deskbot was down: breached, and
        // recorded before the post was built.
        assert_eq!(clock(r, "resolution"), (0, 1, json!([1])));
        // Still open at the week's end (Mon 9 Mar 00:00), 5d 14h old.
        assert_eq!(r["backlog"]["open"], 1);
        assert_eq!(r["backlog"]["age"]["from_3d_to_7d"], 1);
        assert_eq!(r["backlog"]["live"], false);
        assert_eq!(r["as_of"], "2026-03-09T00:00:00Z");
        assert_eq!(r["generated_at"], "2026-03-09T09:00:00Z");
    }
}

#[tokio::test]
async fn reports_across_a_week_boundary() {
    let out = replay::run_file(&script("report_carryover.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let reports: Vec<&serde_json::Value> = j["reports"].as_array().unwrap().iter().map(|r| &r["report"]).collect();
    assert_eq!(reports.len(), 3, "{text}");
    let (posted, this_week, asked_later) = (reports[0], reports[1], reports[2]);
    assert_eq!(j["reports"][0]["to"], json!({"channel": "it-managers"}));
    assert_eq!(j["reports"][0]["at"], "2026-03-09T08:00:00Z");

    // Week of 2 Mar, posted Mon 9 Mar 08:00. #1: answered after 20 min, carol wrote back, answered again,
    // resolved; no policy has a next-response target, so that clock is not measured (it used to read 1/1).
    assert_eq!(posted["first_response"]["median_minutes"], 20);
    assert_eq!(clock(posted, "first_response"), (1, 0, json!([])));
    assert_eq!(clock(posted, "next_response"), (0, 0, json!([])));
    assert_eq!(posted["sla"][1]["percent"], serde_json::Value::Null);
    assert_eq!(clock(posted, "resolution"), (1, 0, json!([])));
    assert!(!text.contains("next response 100.0%"), "{text}");
    // Open at the week's end (Mon 00:00): #2 (Fri 15:30, 2d 8h30m old) and #3 (Fri 16:00, 2d 8h); #2's first
    // response is not due until Mon 09:30.
    assert_eq!(posted["backlog"]["open"], 2);
    assert_eq!(posted["backlog"]["age"]["from_1d_to_3d"], 2);
    assert_eq!(posted["backlog"]["unanswered_past_target"], 0);

    // Week of 9 Mar, asked Mon 09:30. #2, raised Fri 15:30 and never touched, breached Mon 09:30 (2h on the
    // office calendar: 1h30m Fri + 30m Mon): it counts in this week. #3 answered Mon 09:30, in time.
    assert_eq!(clock(this_week, "first_response"), (1, 1, json!([2])));
    assert_eq!(this_week["sla_by_priority"][0]["key"], "P3");
    assert_eq!(this_week["sla_by_priority"][0]["sla"][0]["breached"], 1);
    // #3's first response on its own policy's calendar: Fri 16:00–17:00 (60) + Mon 09:00–09:30 (30) = 90
    // business minutes, not the 65h30m of the 24x7 catch-all.
    assert_eq!(this_week["first_response"]["median_minutes"], 90);
    assert!(text.contains("First response: median 1h 30m"), "{text}");
    // The running week's backlog is live: #2 and #3, #2 unanswered past target; 2 at the end of last week.
    assert_eq!(this_week["backlog"]["live"], true);
    assert_eq!(this_week["backlog"]["open"], 2);
    assert_eq!(this_week["backlog"]["unanswered_past_target_tickets"], json!([2]));
    assert_eq!(this_week["backlog"]["previous_open"], 2);
    assert_eq!(this_week["as_of"], "2026-03-09T09:30:00Z");

    // The week of 2 Mar asked again on Tue 10 Mar, with #4 and #5 raised since and #3 resolved: still the backlog
    // at that week's end (today's is #2, #4, #5), and every other figure as posted.
    assert_eq!(asked_later["backlog"], posted["backlog"]);
    assert_eq!(asked_later["generated_at"], "2026-03-10T09:30:00Z");
    let mut a = asked_later.clone();
    a["generated_at"] = posted["generated_at"].clone();
    assert_eq!(&a, posted, "a past week's report does not change with later activity");
}

#[tokio::test]
async fn first_contact_needs_a_person_and_deflection_no_recontact() {
    let reports = reports_of("report_contacts.replay").await;
    assert_eq!(reports.len(), 1);
    let r = &reports[0].1;
    // Resolved this week by the helpdesk: #1 and #2 (walkthrough "fixed"), #4 (resolved with a note to bob), #5
    // (resolved with nothing said) = 4; #3, an alert that resolved itself, is reported with the alerts.
    assert_eq!(r["resolved"]["tickets"], 4);
    assert_eq!(r["alerts"]["raised"], 1);
    assert_eq!((r["alerts"]["resolved"].as_u64(), r["alerts"]["auto_resolved"].as_u64()), (Some(1), Some(1)));
    // Deflected: #2 only. alice raised the same jam again (#6, Wed 10:00) 49h after #1's "fixed" (Mon 09:00),
    // within 72h → 1 / 4 = 25%.
    assert_eq!(r["deflection"]["count"], 1);
    assert_eq!(r["deflection"]["of"], 4);
    assert_eq!(r["deflection"]["percent"], 25.0);
    // First contact, of people's tickets resolved by the helpdesk (#4, #5; the alert is no person's contact): #4
    // was answered by its resolution note, #5 never answered → 1 / 2 = 50%.
    assert_eq!(r["first_contact_resolution"]["count"], 1);
    assert_eq!(r["first_contact_resolution"]["of"], 2);
    assert_eq!(r["first_contact_resolution"]["percent"], 50.0);
    // The alert is an incident.
    assert_eq!(r["volume"]["by_type"], json!([{"key": "incident", "count": 6, "previous": 0, "change": 6}]));
}

#[tokio::test]
async fn json_lists_every_report_with_the_documented_keys() {
    let out = replay::run_file(&script("reports.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let reports = j["reports"].as_array().unwrap();
    // max's asked-for report, then the Monday post (alice was refused; `fortnight` is no period).
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["to"], json!({"user": "max"}));
    assert_eq!(reports[1]["to"], json!({"channel": "it-managers"}));
    assert_eq!(reports[1]["at"], "2026-03-09T08:00:00Z");
    for r in reports {
        let r = &r["report"];
        for k in [
            "schema_version",
            "period",
            "as_of",
            "generated_at",
            "volume",
            "first_response",
            "sla",
            "sla_by_category",
            "sla_by_priority",
            "backlog",
            "resolved",
            "major_incidents",
            "reopen_rate",
            "first_contact_resolution",
            "deflection",
            "csat",
            "recurring",
            "vendors",
            "operations",
            "days",
        ] {
            assert!(r.get(k).is_some(), "report JSON lacks `{k}`");
        }
    }
    // The text each carries is the message's.
    let asked = j["messages"].as_array().unwrap().iter().find(|m| m["to"] == json!({"user": "max"})).unwrap();
    assert!(asked["text"].as_str().unwrap().starts_with("IT helpdesk report, week of 2 Mar 2026"));
}

/// The replay's `--json` output and its reports, in order.
async fn replay_json(name: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let out = replay::run_file(&script(name)).await.unwrap();
    let j = out.json().await.unwrap();
    let reports = j["reports"].as_array().unwrap().iter().map(|r| r["report"].clone()).collect();
    (j, reports)
}

/// `(count, of)` of a rate.
fn rate(r: &serde_json::Value, name: &str) -> (u64, u64) {
    (r[name]["count"].as_u64().unwrap(), r[name]["of"].as_u64().unwrap())
}

#[tokio::test]
async fn next_response_cycles_reopens_and_a_month_against_its_weeks() {
    let (j, reports) = replay_json("report_cycles.replay").await;
    assert_eq!(reports.len(), 3, "{j:#}");
    let (w1, w2, month) = (&reports[0], &reports[1], &reports[2]);
    assert_eq!(w1["period"]["start"], "2026-02-02T00:00:00Z");
    assert_eq!(w2["period"]["start"], "2026-02-09T00:00:00Z");
    assert_eq!(month["period"]["start"], "2026-02-01T00:00:00Z");

    // Item 1: every next-response cycle counts where it was answered or fell due (target 2h, Mon-Fri 09-17).
    // Week of 2 Feb: A (#1, Mon 09:20 → 09:40) met, A2 (#1, 10:30 → 11:00) met, B (#2 reopened Tue 10:00 →
    // 11:00) met, C (#3, Tue 13:00, due 15:00, answered only Mon 9 Feb) breached → 3 met, 1 breached = 75.0%.
    // D (#1, Fri 16:00, due Mon 10:00 = 1h Fri + 1h Mon) is answered next week.
    assert_eq!(clock(w1, "next_response"), (3, 1, json!([3])));
    assert_eq!(w1["sla"][1]["percent"], 75.0);
    // Week of 9 Feb: D answered Mon 09:30 (met), C answered Mon 09:50 after its target (breached, again), E (#4
    // reopened Fri 13 Feb 11:00, due 13:00) answered by the resolution's text at 11:30 (met) → 2 met, 1 breached.
    assert_eq!(clock(w2, "next_response"), (2, 1, json!([3])));
    assert_eq!(w2["sla"][1]["previous_percent"], 75.0);
    // February: A, A2, B, D, E met; C breached, once → 5 / 6.
    assert_eq!(clock(month, "next_response"), (5, 1, json!([3])));

    // Item 3: a resolution reopened later counts as reopened where it was resolved, and a ticket ever reopened is
    // no first-contact resolution. Week of 2 Feb: resolved #2 (Mon 10:00, reopened Tue) and #4 (Thu 5 Feb 10:20,
    // reopened Fri 13 Feb, 8 days later) → reopened 2 of 2; first contact: #2 had two replies, #4 was reopened
    // → 0 of 2.
    assert_eq!(w1["resolved"]["tickets"], 2);
    assert_eq!(rate(w1, "reopen_rate"), (2, 2));
    assert_eq!(w1["reopen_rate"]["percent"], 100.0);
    assert_eq!(rate(w1, "first_contact_resolution"), (0, 2));
    // Week of 9 Feb: #4 resolved again Fri 13 Feb, not reopened since → 0 of 1; ever reopened → no first contact.
    assert_eq!(rate(w2, "reopen_rate"), (0, 1));
    assert_eq!(rate(w2, "first_contact_resolution"), (0, 1));
    // February: #2 and #4 resolved, both fixes reopened → 2 of 2; first contact 0 of 2.
    assert_eq!(rate(month, "reopen_rate"), (2, 2));
    assert_eq!(rate(month, "first_contact_resolution"), (0, 2));

    // Item 4: resolution counts each resolution cycle. Week of 2 Feb: #2's cycle (resolved Mon, reopened Tue
    // within 7 days, resolved again: one cycle, met), #4 (Thu, due Mon 9 Feb 10:00) met; #1 and #3 breached Tue
    // 17:00 (Mon 09:00 + 2 working days) and still open → 2 met, 2 breached. Week of 9 Feb: #4's second cycle
    // (from Fri 13 Feb 11:00) resolved 11:30, met → 1 / 1. February = the two weeks: 3 met, 2 breached.
    assert_eq!(clock(w1, "resolution"), (2, 2, json!([1, 3])));
    assert_eq!(clock(w2, "resolution"), (1, 0, json!([])));
    assert_eq!(clock(month, "resolution"), (3, 2, json!([1, 3])));

    // Item 8: first responses 10 (#1), 45 (#2), 50 (#3), 10 (#4) → 10 10 45 50: median (10 + 45) / 2 = 27.5,
    // rounded half up to 28; p90 nearest rank ceil(0.9 × 4) = 4 → 50.
    for r in [w1, month] {
        assert_eq!(r["first_response"]["answered"], 4);
        assert_eq!(r["first_response"]["median_minutes"], 28);
        assert_eq!(r["first_response"]["p90_minutes"], 50);
    }
    assert_eq!(w2["first_response"]["previous_median_minutes"], 28);
}

#[tokio::test]
async fn a_merge_keeps_the_past_and_its_breaches() {
    let (j, reports) = replay_json("report_merge.replay").await;
    assert_eq!(reports.len(), 2, "{j:#}");
    let (past, now) = (&reports[0], &reports[1]);
    // Week of 16 Feb, asked Wed 25 Feb: #1 (bob, Thu 09:00) was merged into #2 only on Tue 24 Feb, so up to then it
    // counts like any ticket: raised this week, its first response breached Thu 10:00 and never came.
    assert_eq!(past["volume"]["total"], 2);
    assert_eq!(past["first_response"]["answered"], 1);
    assert_eq!(past["first_response"]["median_minutes"], 10);
    assert_eq!(clock(past, "first_response"), (1, 1, json!([1])));
    assert_eq!(past["first_response"]["unanswered_past_target_tickets"], json!([1]));
    // Its resolution target (Thu 09:00 + 2 working days = Fri 20 Feb 17:00) passed this week too: breached, kept.
    assert_eq!(clock(past, "resolution"), (0, 1, json!([1])));
    // The backlog at the week's end (Mon 23 Feb 00:00): #1 (3d 15h old) and #2 (3d 14h 30m), #1 unanswered.
    assert_eq!(past["backlog"]["live"], false);
    assert_eq!(past["backlog"]["open"], 2);
    assert_eq!(past["backlog"]["age"]["from_3d_to_7d"], 2);
    assert_eq!(past["backlog"]["unanswered_past_target_tickets"], json!([1]));
    // Week of 23 Feb: #2's resolution target passed Mon 09:30 and it was resolved Tue → breached. The merge
    // cancelled #1's clocks and is no resolution: #1 is not counted again, and 1 ticket was resolved (#2).
    assert_eq!(clock(now, "resolution"), (0, 1, json!([2])));
    assert_eq!(now["resolved"]["tickets"], 1);
    assert_eq!(now["volume"]["previous"], 2);
    assert_eq!(now["backlog"]["open"], 0);
    assert_eq!(now["backlog"]["previous_open"], 2);
}

#[tokio::test]
async fn first_response_line_names_tickets_breaching_in_the_week_and_future_periods_are_refused() {
    let (j, reports) = replay_json("report_unanswered.replay").await;
    let text = j["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap_or("")).collect::<Vec<_>>();
    let text = text.join("\n");
    assert_eq!(reports.len(), 2, "{text}");
    let (this_week, last_week) = (&reports[0], &reports[1]);
    // Item 5: #1 (Fri 9 Jan 16:30) breached its first response Mon 12 Jan 09:30 (30 min Friday + 30 Monday) and is
    // still unanswered: on this week's first-response line, as in its past-target list. #2 (Fri 16:45) answered
    // Mon 09:20: 15 + 20 = 35 business minutes, within its 09:45 target.
    assert_eq!(clock(this_week, "first_response"), (1, 1, json!([1])));
    assert_eq!(this_week["first_response"]["unanswered_past_target"], 1);
    assert_eq!(this_week["first_response"]["unanswered_past_target_tickets"], json!([1]));
    assert_eq!(this_week["first_response"]["median_minutes"], 35);
    assert_eq!(this_week["backlog"]["unanswered_past_target_tickets"], json!([1]));
    assert!(text.contains("1 unanswered past target (#1)"), "{text}");
    // Last week nothing fell due: the backlog at its end (Mon 12 Jan 00:00) is #1 and #2, about 2d 7h old.
    assert_eq!(clock(last_week, "first_response"), (0, 0, json!([])));
    assert_eq!(last_week["first_response"]["unanswered_past_target"], 0);
    assert_eq!(last_week["backlog"]["open"], 2);
    assert_eq!(last_week["backlog"]["age"]["from_1d_to_3d"], 2);

    // Item 6: each category and priority names its breached tickets, as `sla` does.
    let category = |n: u64| {
        let t = j["tickets"].as_array().unwrap().iter().find(|t| t["number"] == n).unwrap();
        t["category"].as_str().unwrap().to_string()
    };
    let group = |key: &str, by: &str| {
        let g = this_week[by].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap().clone();
        g["sla"].as_array().unwrap().iter().find(|c| c["clock"] == "first_response").unwrap().clone()
    };
    let p3 = group("P3", "sla_by_priority");
    assert_eq!((p3["met"].as_u64(), p3["breached"].as_u64()), (Some(1), Some(1)));
    assert_eq!(p3["breached_tickets"], json!([1]));
    assert_ne!(category(1), category(2));
    assert_eq!(group(&category(1), "sla_by_category")["breached_tickets"], json!([1]));
    assert_eq!(group(&category(2), "sla_by_category")["breached_tickets"], json!([]));

    // Item 7: a period that has not begun is refused, with no report.
    assert!(text.contains("the week of 7 Dec 2026 has not started yet (it starts Mon 7 Dec 2026 00:00 GMT)"), "{text}");
    assert!(text.contains("the month of February 2026 has not started yet"), "{text}");
}

#[tokio::test]
async fn workload_per_technician_and_csat_response_rate() {
    let (j, reports) = replay_json("report_workload.replay").await;
    assert_eq!(reports.len(), 1, "{j:#}");
    let r = &reports[0];
    // sam owns #1 (answered 09:10: 10 min, resolved) and #3 (answered 09:40: 40 min, open): median (10 + 40) / 2
    // = 25. tess owns #2 (answered 09:30: 30 min, resolved).
    assert_eq!(
        r["workload"],
        json!([
            {"technician": "sam", "owned": 2, "resolved": 1, "median_first_response_minutes": 25},
            {"technician": "tess", "owned": 1, "resolved": 1, "median_first_response_minutes": 30},
        ])
    );
    // Resolved #1 and #2, each asked; bob answered (good) → 1 of 2 answered = 50%, 1 of 1 positive.
    assert_eq!(rate(r, "csat_response"), (1, 2));
    assert_eq!(r["csat_response"]["percent"], 50.0);
    assert_eq!(rate(r, "csat"), (1, 1));
    let text = j["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect::<Vec<_>>();
    let text = text.join("\n");
    assert!(text.contains("Workload: sam 2 owned, 1 resolved, first response 25 min; tess 1 owned"), "{text}");
    assert!(text.contains("50.0% of resolved tickets answered the survey"), "{text}");
}

#[tokio::test]
async fn a_report_shows_the_weeks_and_months_before_it() {
    let (j, reports) = replay_json("report_trend.replay").await;
    assert_eq!(reports.len(), 2, "{j:#}");
    let row = |p: &serde_json::Value| {
        json!([
            p["label"],
            p["tickets"],
            p["first_response_median_minutes"],
            p["first_response_sla_percent"],
            p["resolution_sla_percent"],
            p["backlog_open"]
        ])
    };
    let rows = |r: &serde_json::Value| r["trend"].as_array().unwrap().iter().map(row).collect::<Vec<_>>();
    // Hand-computed from the script: first-response minutes 20 | 30, 120 | 45 | – | 10; resolution met #1, #2,
    // breached #3 (14 Jan), #4 (22 Jan); open at each week's end: –, #3, #3 #4, #3 #4, and now #3 #4 #5.
    assert_eq!(
        rows(&reports[0]),
        vec![
            json!(["week of 5 Jan 2026", 1, 20, 100.0, 100.0, 0]),
            json!(["week of 12 Jan 2026", 2, 75, 50.0, 50.0, 1]),
            json!(["week of 19 Jan 2026", 1, 45, 100.0, 0.0, 2]),
            json!(["week of 26 Jan 2026", 0, null, null, null, 2]),
            json!(["week of 2 Feb 2026", 1, 10, 100.0, null, 3]),
        ]
    );
    // January: 4 tickets, first responses 20 30 45 120 → median (30 + 45) / 2 rounded up = 38, 3 of 4 on time;
    // resolution 2 of 4; open at its end #3 #4.
    assert_eq!(
        rows(&reports[1]),
        vec![
            json!(["November 2025", 0, null, null, null, 0]),
            json!(["December 2025", 0, null, null, null, 0]),
            json!(["January 2026", 4, 38, 75.0, 50.0, 2]),
            json!(["February 2026", 1, 10, 100.0, null, 3]),
        ]
    );
    // The trend's last point is the report's own headline.
    assert_eq!(reports[0]["volume"]["total"], 1);
    assert_eq!(reports[0]["backlog"]["open"], 3);
    let text = j["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect::<Vec<_>>();
    let text = text.join("\n");
    assert!(
        text.contains(
            "Trend, the 4 weeks before → this week: tickets 1, 2, 1, 0 → 1; first response median 20 min, 1h 15m, \
             45 min, – → 10 min; first response on time 100%, 50%, 100%, – → 100%; resolved on time 100%, 50%, 0%, – \
             → –; open at the end 0, 1, 2, 2 → 3"
        ),
        "{text}"
    );
    assert!(text.contains("Trend, the 3 months before → this month: tickets 0, 0, 4 → 1"), "{text}");
}

#[tokio::test]
async fn recurring_issues_are_named_split_by_product_and_list_their_tickets() {
    let (j, reports) = replay_json("report_recurring.replay").await;
    assert_eq!(reports.len(), 1, "{j:#}");
    let r = &reports[0]["recurring"];
    // Three Xero errors (#1 #3 #5) recur; the two Excel problems (#2 #4) do not reach three.
    assert_eq!(r["count"], 1, "{r:#}");
    let top = &r["top"][0];
    assert_eq!(top["fingerprint"], "application|application.error|xero");
    assert_eq!(top["name"], "application error · xero");
    assert_eq!((top["tickets"].as_u64(), top["ticket_numbers"].clone()), (Some(3), json!([1, 3, 5])));
    let text = j["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect::<Vec<_>>();
    let text = text.join("\n");
    assert!(
        text.contains(
            "Recurring issues (3+ tickets in 30 days): 1 (0 vs last week) — application error · xero 3 (+3) (#1 #3 #5)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn vendor_response_on_the_contract_calendar_against_its_target() {
    let (j, reports) = replay_json("report_vendor.replay").await;
    assert_eq!(reports.len(), 1, "{j:#}");
    // #1: Fri 16:00 → Mon 10:30 = 3,990 wall minutes, 150 on the contract's office hours, after its Mon 10:00
    // target; #2: 60 minutes, before its 13:00 target. Medians (3990 + 60) / 2 = 2025 and (150 + 60) / 2 = 105.
    assert_eq!(
        reports[0]["vendors"],
        json!([{
            "vendor": "PrintCo", "opened": 1, "closed": 0, "responses": 2,
            "median_response_minutes": 2025, "median_response_business_minutes": 105,
            "response_on_time": {"count": 1, "of": 2, "percent": 50.0, "previous_percent": null},
            "response_late_tickets": [1],
            // No case closed, so no resolution is measured; #1's late answer is its one contract breach.
            "resolution_on_time": {"count": 0, "of": 0, "percent": null, "previous_percent": null},
            "resolution_late_tickets": [], "breaches": 1
        }])
    );
}

#[tokio::test]
async fn a_reply_at_the_due_instant_after_the_breach_is_missed_everywhere() {
    let (j, reports) = replay_json("sla_due_instant.replay").await;
    let text = j["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect::<Vec<_>>();
    let text = text.join("\n");
    assert!(text.contains("SLA breach: #1"), "{text}");
    assert!(
        text.contains("first response, target 1h: missed: done Mon 12 Jan 10:00 GMT (due Mon 12 Jan 10:00 GMT)"),
        "{text}"
    );
    let fr = &reports[0]["sla"][0];
    assert_eq!((fr["met"].as_u64(), fr["breached"].as_u64()), (Some(0), Some(1)), "{fr}");
}

/// Lines of a replay's text output that start with `prefix`.
fn lines_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[tokio::test]
async fn a_truncated_alert_group_is_not_resolved_while_alertmanager_says_it_fires() {
    let out = replay::run_file(&script("alerts_truncated.replay")).await.unwrap();
    let text = out.text();
    let cards = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #1");
    assert_eq!(cards.len(), 3, "{text}");
    assert!(cards[0].contains("FIRING (1 alert +3 more not sent)"), "{}", cards[0]);
    assert!(cards[0].contains("Alerts: instance=nas1: firing since Mon 2 Mar 09:58 UTC and 3 more"), "{}", cards[0]);
    // The one alert sent resolved; the three left out may still fire: still open, still counted.
    assert!(cards[1].contains("FIRING (+3 alerts not sent) · 1 of 1 sent resolved"), "{}", cards[1]);
    assert!(cards[1].ends_with("[Claim] [Resolve] [Silence 2h]"), "{}", cards[1]);
    // Alertmanager reports the whole group resolved: now the ticket is.
    assert!(cards[2].contains("· resolved:") && cards[2].ends_with("[Reopen]"), "{}", cards[2]);
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    assert_eq!(t["resolved_at"], "2026-03-02T10:10:00Z");
    let notes: Vec<&str> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "internal_note")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(
            &"Every alert Alertmanager sent has resolved, but it left out 3 more (truncatedAlerts) that may still \
              fire; the ticket stays open until the whole group resolves."
        ),
        "{notes:?}"
    );
    use deskbot::store::Store as _;
    let d = out.desk.store().ticket(deskbot::core::ids::TicketNo(1)).await.unwrap().unwrap().description;
    assert!(d.contains("- and 3 more that Alertmanager left out (truncatedAlerts)"), "{d}");
}

#[tokio::test]
async fn resolving_an_alert_that_still_fires_warns_and_the_next_ticket_is_linked() {
    let out = replay::run_file(&script("alerts_resolve_firing.replay")).await.unwrap();
    let text = out.text();
    assert!(
        text.contains(
            "bot -> sam: Resolved #1, but monitoring has not reported its alert resolved: 1 alert of its group \
             still firing. If it is still firing when Alertmanager reports the group again, deskbot opens a new \
             ticket linked to #1."
        ),
        "{text}"
    );
    // Four hours later Alertmanager repeats the group, still firing: a new ticket that says which one it follows.
    assert_eq!(lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #2 · ").len(), 2, "{text}");
    let show = lines_with(&text, "bot -> sam: #2 ")[0];
    assert!(show.contains("linked to #1"), "{show}");
    let j = out.json().await.unwrap();
    let two = &j["tickets"][1];
    assert!(
        two["events"].as_array().unwrap().iter().any(|e| e["kind"] == "internal_note"
            && e["text"]
                == "Follows #1, resolved Mon 2 Mar 10:10 UTC while its alerts still fired; monitoring still reports \
                    them firing."),
        "{two}"
    );
    assert!(j["tickets"][0]["events"].as_array().unwrap().iter().any(|e| e["kind"] == "linked"));
    // #2 resolved by hand, then the group resolves and fires again 10 minutes later: a flap, #2 reopens (no #3).
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2);
    assert_eq!((two["state"].as_str(), two["reopen_count"].as_i64()), (Some("open"), Some(1)));
    assert!(
        two["events"].as_array().unwrap().iter().any(|e| e["kind"] == "internal_note"
            && e["text"] == "Monitoring: every alert of this group has resolved (Mon 2 Mar 14:15 UTC)."),
        "{two}"
    );
}

#[tokio::test]
async fn claiming_or_assigning_an_alert_ticket_is_its_response() {
    let out = replay::run_file(&script("alerts_ack.replay")).await.unwrap();
    let text = out.text();
    assert!(!text.contains("first response target"), "no first-response warning or breach after the claim:\n{text}");
    assert!(!text.contains("Reply sent"), "{text}");
    assert!(
        text.contains(
            "bot -> sam: #1 was raised by Alertmanager, so there is nobody to reply to: your text is saved on it as \
             an internal note, and the alert counts as acknowledged."
        ),
        "{text}"
    );
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["first_response_at"], "2026-03-02T10:05:00Z", "the claim");
    assert_eq!(j["tickets"][1]["first_response_at"], "2026-03-02T10:05:00Z", "the assignment");
    let kinds = event_kinds(&j, 1);
    assert!(!kinds.iter().any(|k| k == "public_reply"), "{kinds:?}");
    assert!(text.contains("first response, target 30m: met at Mon 2 Mar 10:05 UTC"), "{text}");
}

#[tokio::test]
async fn alert_rules_match_like_alertmanager_and_labels_cannot_forge_a_card() {
    let out = replay::run_file(&script("alerts_rules.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let filed: Vec<(&str, &str)> = j["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["category"].as_str().unwrap(), t["priority"].as_str().unwrap()))
        .collect();
    assert_eq!(
        filed,
        [
            ("application", "P2"), // service=~"db-.*", env prod
            ("other", "P3"),       // env="staging" is excluded by env!="staging"
            ("other", "P3"),       // category="none": never a ticket in `none`
            ("other", "P3"),       // an unknown category
            ("other", "P3"),
            ("other", "P3"),
        ]
    );
    for (n, label) in [(3, "none"), (4, "storage")] {
        let note = format!(
            "The alert's category label `{label}` is not a category tickets are filed under; filed under `other`."
        );
        let t = &j["tickets"][n - 1];
        assert!(t["events"].as_array().unwrap().iter().any(|e| e["text"] == note.as_str()), "#{n}: {t}");
    }
    // The newline in the label value is shown as \n: the card has no forged "Source:" line.
    let forged = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #5")[0];
    assert!(forged.contains("Labels: env=prod\\nSource: https://evil.example, severity=warning"), "{forged}");
    assert!(!forged.contains(" | Source:"), "{forged}");
    let wide = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #6")[0];
    assert!(wide.contains("l006=6, l007=7, +193 more"), "{wide}");
}

#[tokio::test]
async fn a_reopen_from_flapping_is_told_and_damped() {
    let out = replay::run_file(&script("alerts_flapping.replay")).await.unwrap();
    let text = out.text();
    // Every reopen edits the card (the console posts each): eleven flaps, one open, eleven resolutions before the
    // claim only (after it the ticket stays open and the card follows each change).
    let cards = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #1 · ");
    assert!(cards.len() >= 13, "{text}");
    let told: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("Alert ticket #1 · ") && (l.contains("fired again") || l.contains("has resolved")))
        .collect();
    assert_eq!(
        told,
        [
            "bot -> #helpdesk-queue: Alert ticket #1 reopened: “Switch port Gi1/0/24 flapping” fired again after \
             resolving (if it keeps flapping, told every 5 times).",
            "bot -> #helpdesk-queue: Alert ticket #1 is flapping: “Switch port Gi1/0/24 flapping” has fired again 5 \
             times after resolving (told every 5 times).",
            "bot -> sam: Alert ticket #1 is flapping: “Switch port Gi1/0/24 flapping” has fired again 10 times after \
             resolving (told every 5 times).",
            "bot -> sam: The alert behind #1 has resolved: “Switch port Gi1/0/24 flapping”. The ticket stays yours; \
             resolve it when you are done.",
        ],
        "{text}"
    );
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(j["tickets"][0]["reopen_count"], 6);
}

#[tokio::test]
async fn storms_are_bucketed_by_priority_count_each_group_once_and_recover() {
    let out = replay::run_file(&script("alerts_storm.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets: Vec<(&str, &str)> = j["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["priority"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    // Two tickets (the cap), the warnings' storm (resolved once all three recovered), the critical alert's own.
    assert_eq!(tickets, [("P3", "new"), ("P3", "new"), ("P3", "resolved"), ("P1", "new")], "{text}");
    let escalations = lines_with(&text, "bot -> #helpdesk-escalations: ");
    assert_eq!(
        escalations,
        [
            "bot -> #helpdesk-escalations: Alert storm from rmm: over 2 alert tickets in an hour. New P3 alert groups \
             are collected on #3 instead of opening tickets each.",
            "bot -> #helpdesk-escalations: Alert storm from rmm: over 2 alert tickets in an hour. New P1 alert groups \
             are collected on #4 instead of opening tickets each.",
            "bot -> #helpdesk-escalations: Alert storm from rmm (P3) on #3 has recovered: 3/3 alert groups resolved.",
        ]
    );
    // The repeat of srv-c was not counted again.
    let last = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #3 · ").pop().unwrap();
    assert!(
        last.contains("· resolved:")
            && last.contains("Collected: Disk full on srv-c; Disk full on srv-d; Disk full on srv-e [Reopen]"),
        "{last}"
    );
    use deskbot::store::Store as _;
    let storm = out.desk.store().ticket(deskbot::core::ids::TicketNo(3)).await.unwrap().unwrap();
    assert_eq!(storm.alert.as_ref().unwrap().folded, 3);
    let critical = out.desk.store().ticket(deskbot::core::ids::TicketNo(4)).await.unwrap().unwrap();
    assert_eq!(critical.alert.as_ref().unwrap().folded_examples, ["UPS on battery in the server room"]);
}

/// Internal notes of ticket `n` (1-based) of a replay's JSON.
fn notes_of(j: &serde_json::Value, n: usize) -> Vec<String> {
    j["tickets"][n - 1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "internal_note")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn alert_priority_follows_the_most_severe_alert_and_only_rises() {
    let out = replay::run_file(&script("alerts_priority.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let priorities: Vec<&str> =
        j["tickets"].as_array().unwrap().iter().map(|t| t["priority"].as_str().unwrap()).collect();
    // A critical and a warning alert: P1. A warning group a critical alert joined: raised to P1, and kept there
    // after the critical one resolved. A generic alert sent again as critical: raised from P4. `priority=P0`: P4.
    assert_eq!(priorities, ["P1", "P1", "P1", "P4"], "{text}");
    let first = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #1 · ")[0];
    assert!(first.contains("Labels: cluster=prod, instance=n1|n2, severity=warning|critical"), "{first}");
    // The raise is an event and a note, the queue hears it, and the SLA follows (30m from the start for P1).
    let disk = &j["tickets"][1];
    let raised: Vec<&serde_json::Value> =
        disk["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "priority_changed").collect();
    assert_eq!((raised.len(), &raised[0]["from"], &raised[0]["to"]), (1, &json!("P3"), &json!("P1")));
    assert!(
        notes_of(&j, 2).contains(
            &"Priority raised from P3 to P1: “DiskFull on n2” fires with severity critical. Its SLA targets follow."
                .to_string()
        ),
        "{:?}",
        notes_of(&j, 2)
    );
    assert_eq!(disk["first_response_due"], "2026-03-02T09:30:00Z");
    assert!(
        text.contains(
            "bot -> #helpdesk-queue: Alert ticket #2 is now P1 (was P3): “DiskFull on n2” fires with severity critical."
        ),
        "{text}"
    );
    let grown = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #2 · ")[1];
    assert!(
        grown.contains("· P1 ·") && grown.contains("Labels: cluster=prod, instance=n1|n2, severity=warning|critical"),
        "{grown}"
    );
    let toner = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #3 · ").pop().unwrap();
    assert!(toner.contains("· P1 ·") && toner.contains("“Printer toner EMPTY on floor 2”"), "{toner}");
    assert!(toner.contains("Labels: severity=critical"), "{toner}");
    assert_eq!(
        notes_of(&j, 4),
        ["The alert's priority label `P0` is not understood (P1, P2, P3 or P4); the priority is P4 as its severity \
          `info` says."]
    );
}

#[tokio::test]
async fn only_web_links_reach_the_alert_card() {
    let out = replay::run_file(&script("alerts_links.replay")).await.unwrap();
    let text = out.text();
    let cards = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #");
    assert!(!cards[0].contains("Source:") && !cards[0].contains("Runbook:"), "{}", cards[0]);
    assert!(!cards[2].contains("Source:") && !text.contains("javascript:") && !text.contains("file:"), "{text}");
    assert!(
        cards[1].contains("Runbook: https://wiki.example/backup | Source: https://rmm.example/alerts/2"),
        "{}",
        cards[1]
    );
    let j = out.json().await.unwrap();
    assert_eq!(
        notes_of(&j, 1),
        [
            "The alert's link `javascript:alert(1)` is not shown: only http and https links are.",
            "The alert's runbook link `file:///etc/passwd` is not shown: only http and https links are."
        ]
    );
    assert_eq!(
        notes_of(&j, 3),
        ["The alert's link `javascript:fetch('//evil')` is not shown: only http and https links are."]
    );
}

#[tokio::test]
async fn storm_groups_that_repeat_hours_later_stay_on_the_storm_and_it_recovers() {
    let out = replay::run_file(&script("alerts_storm_late.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 3, "two tickets and the storm, no ticket for a late repeat: {text}");
    assert_eq!(j["tickets"][2]["state"], "resolved", "{text}");
    assert!(
        text.contains("bot -> #helpdesk-escalations: Alert storm from Alertmanager alertmanager:9093 (P3) on #3 has recovered: 2/2 alert groups resolved."),
        "{text}"
    );
}

#[tokio::test]
async fn an_unclaimed_alert_ticket_escalates_to_the_lead_and_managers() {
    let out = replay::run_file(&script("alerts_escalation.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> lee: SLA warning: #1 (P1 other, owner nobody) has used 90%"), "{text}");
    assert!(text.contains("bot -> meg: SLA breach: #1 (P1 other, owner nobody) missed its first response"), "{text}");
}

#[tokio::test]
async fn a_merged_alert_group_follows_the_ticket_it_was_merged_into() {
    let out = replay::run_file(&script("alerts_merge.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let states: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap()).collect();
    // #2 merged into #1; its group's next notification went to #1 (no #3 for it); #1 resolved once both groups
    // had (nobody worked on it: the merge does not count). #3, with a technician's note, is left to people.
    assert_eq!(states, ["resolved", "closed", "new"], "{text}");
    assert!(
        notes_of(&j, 1)
            .iter()
            .any(|n| n.starts_with("Alert group of merged #2: 1 new alert(s) firing: DBReplicaLag on db3")),
        "{:?}",
        notes_of(&j, 1)
    );
    let after_own = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #1 · ");
    assert!(after_own.iter().any(|c| c.contains("FIRING (merged #2)")), "{after_own:?}");
    assert!(text.contains("bot -> sam: #1 was raised by Alertmanager: there is nobody to wait on"), "{text}");
    assert!(!text.contains("waiting on Alertmanager"), "{text}");
    assert!(!text.contains("stays yours"), "nobody owns these tickets: {text}");
    assert!(
        text.contains(
            "bot -> #helpdesk-queue: The alert behind #3 has resolved: “CertExpiry on web1”. Someone worked on the \
             ticket, so it stays open: claim it or resolve it when that work is done."
        ),
        "{text}"
    );
}

#[tokio::test]
async fn an_identical_alertmanager_body_is_a_redelivery_for_minutes_and_a_repeat_after() {
    let out = replay::run_file(&script("alerts_redelivery.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{}", out.text());
    // The body a minute after the resolution was a redelivery; four hours later it was the repeat.
    assert_eq!(tickets[1]["created_at"], "2026-03-02T13:02:00Z");
    assert!(
        notes_of(&j, 2)
            .iter()
            .any(|n| n.starts_with("Follows #1, resolved Mon 2 Mar 09:01 UTC while its alerts still fired")),
        "{:?}",
        notes_of(&j, 2)
    );
}

/// #30 probe, item 1: five hundred messages in one's own ticket's thread in a minute are held to the command pace,
/// and the owner hears of them in two notices (the first message, then the rest folded), not five hundred.
#[tokio::test]
async fn a_flood_in_ones_own_thread_is_throttled_and_its_owner_notices_folded() {
    let mut script = String::from(
        "@now 2026-03-02T09:00:00Z\n@role sam technician\nalice: my laptop screen is flickering\nsam: /ticket claim 1\n\
         @advance 1m\n",
    );
    for i in 0..500 {
        script.push_str(&format!("alice (thread #1): spam {i} lorem ipsum dolor sit amet\n"));
    }
    script.push_str("@advance 10m\n");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let out = replay::run_script(&script, "thread_flood.replay", &dir).await.unwrap();
    let text = out.text();
    let to_sam = lines_to(&text, "sam");
    let told: Vec<&&str> = to_sam.iter().filter(|l| l.contains("added")).collect();
    assert_eq!(
        told,
        [
            &"alice added to #1: “spam 0 lorem ipsum dolor sit amet”",
            &"alice added 59 more messages to #1 since your last notice, the latest: “spam 59 lorem ipsum dolor sit \
              amet” (/ticket show 1 has them all)"
        ],
        "{to_sam:?}"
    );
    let to_alice = lines_to(&text, "alice");
    assert_eq!(to_alice.iter().filter(|l| l.contains("faster than I can take them")).count(), 1, "{to_alice:?}");
    let j = out.json().await.unwrap();
    let messages =
        j["tickets"][0]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "requester_message").count();
    assert_eq!(messages, deskbot::core::desk::COMMANDS_PER_MINUTE as usize, "messages stored");
    assert!(j["tickets"][0]["events"].as_array().unwrap().len() < 80);
}

/// #30 probe, item 1: a few messages close together reach the owner as the first one, then one notice with the
/// rest when five minutes have passed; a message after that is told at once again.
#[tokio::test]
async fn owner_notices_of_a_threads_messages_are_folded_for_five_minutes() {
    let script = "@now 2026-03-02T09:00:00Z\n@role sam technician\nalice: my laptop screen is flickering\n\
                  sam: /ticket claim 1\nalice (thread #1): it started after the update\n@advance 1m\n\
                  alice (thread #1): also the colours are off\n@advance 1m\nalice (thread #1): it's the left half\n\
                  @advance 10m\nalice (thread #1): any news?\n";
    let out = replay::run_script(script, "fold.replay", std::path::Path::new(".")).await.unwrap();
    let text = out.text();
    let told: Vec<&str> = lines_to(&text, "sam").into_iter().filter(|l| l.contains("added")).collect();
    assert_eq!(
        told,
        [
            "alice added to #1: “it started after the update”",
            "alice added 2 more messages to #1 since your last notice, the latest: “it's the left half” (/ticket \
             show 1 has them all)",
            "alice added to #1: “any news?”",
        ],
        "{text}"
    );
}

/// #30 probe, items 2, 7 and 3: see `merge_approval.replay`.
#[tokio::test]
async fn merges_wait_for_approval_end_visibly_and_stay_merged() {
    let out = replay::run_file(&script("merge_approval.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let to_sam = lines_to(&text, "sam");
    // Into a request waiting for approval, or out of it: refused and recorded, nothing merged.
    assert!(
        to_sam.contains(
            &"#1 is waiting for a manager's approval, so nothing can be merged into it until it is decided; link the \
              two instead (/ticket link 2 1)"
        ),
        "{to_sam:?}"
    );
    assert!(to_sam.iter().any(|l| l.starts_with("#1 is waiting for a manager's approval: until it is decided")));
    assert_eq!(denied_on(&j, 1), pairs(&[("sam", "merge")]));
    assert_eq!(denied_on(&j, 2), pairs(&[("sam", "merge")]));
    assert_eq!(j["tickets"][1]["state"], "new", "bob's ticket was not merged away");
    // Across categories, the owners of both tickets hear it from tom, and the note names both categories.
    assert!(to_sam.contains(&"tom merged #3, which you own, into #4 (printing into identity)."), "{to_sam:?}");
    let notes: Vec<&str> = j["tickets"][3]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "internal_note")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(notes.iter().any(|n| n.starts_with("From merged #3 (printing into identity): ")), "{notes:?}");
    // carol cannot undo the merge; she is pointed to #4.
    let to_carol = lines_to(&text, "carol");
    assert!(to_carol.iter().any(|l| l.starts_with("#3 was merged into #4, where it is being worked on")), "{text}");
    assert!(!to_carol.iter().any(|l| l.contains("/ticket show")), "no advice carol cannot follow: {text}");
    assert_eq!(j["tickets"][2]["state"], "closed");
    assert_eq!(j["tickets"][2]["reopen_count"], 0);
    // dave closes #4 himself: carol hears that her problem has no ticket now.
    assert_eq!(
        to_carol.last().copied(),
        Some(
            "#4 (which your ticket was merged into) was closed by its requester. If your problem is still there, \
             describe it again and I'll open a new ticket for it."
        ),
        "{to_carol:?}"
    );
}

/// #30 probe, item 3, 11 and the doubt about `/ticket show`: see `tech_vs_tech.replay`.
#[tokio::test]
async fn owners_hear_what_other_technicians_do_to_their_tickets() {
    let out = replay::run_file(&script("tech_vs_tech.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let to_sam = lines_to(&text, "sam");
    assert!(to_sam.contains(&"tom used /ticket close on #1, which you own."), "{to_sam:?}");
    assert!(to_sam.contains(&"lee unclaimed #2, which you owned; it is back in the queue."), "{to_sam:?}");
    assert!(to_sam.contains(&"tom used /ticket major on #2, which you own."), "{to_sam:?}");
    assert!(
        lines_to(&text, "erin")
            .contains(&"#2 is back in the technicians' queue; you'll hear when someone picks it up."),
        "{text}"
    );
    // `none` is no category for a ticket; extra arguments are refused, not ignored.
    let to_tom = lines_to(&text, "tom");
    assert!(to_tom.iter().any(|l| l.starts_with("`none` means \"not an IT request\"")), "{to_tom:?}");
    assert!(to_tom.contains(&"`/ticket claim 2` takes nothing after the number (`3`); usage: /ticket claim N"));
    assert_eq!(j["tickets"][1]["category"], "saas");
    assert_eq!(j["tickets"][1]["owner"], "sam");
    // The requester's /ticket show lists the public history; sam's adds the internal note.
    let shown = |who: &str| lines_to(&text, who).into_iter().rfind(|l| l.starts_with("#1 ")).unwrap().to_string();
    let (dave, sam) = (shown("dave"), shown("sam"));
    for s in [&dave, &sam] {
        assert!(s.contains(" | History: | "), "{s}");
        assert!(s.contains("sam replied: “can you try the other profile?”"), "{s}");
        assert!(s.contains("sam resolved it: “fixed the profile”"), "{s}");
        assert!(s.contains("tom closed it"), "{s}");
    }
    assert!(!dave.contains("checked the firewall logs"), "{dave}");
    assert!(sam.contains("sam noted (internal): “checked the firewall logs”"), "{sam}");
}

/// #30 probe, items 6, 8 and 12: see `declined.replay`.
#[tokio::test]
async fn a_declined_request_is_declined_not_resolved_and_a_reopened_one_is_asked_again() {
    let out = replay::run_file(&script("declined.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let t1 = &j["tickets"][0];
    assert_eq!(t1["state"], "closed");
    assert_eq!(t1["resolved_at"], serde_json::Value::Null);
    let kinds = event_kinds(&j, 1);
    assert!(kinds.contains(&"declined".to_string()) && !kinds.contains(&"resolved".to_string()), "{kinds:?}");
    assert_eq!((t1["priority"].as_str(), t1["category"].as_str()), (Some("P4"), Some("endpoint")));
    // Who may approve reads the same for the requester and the lead: the runbook's role, or an admin.
    assert!(
        lines_to(&text, "alice").contains(&"only a manager or an admin can approve requests (you are a requester)")
    );
    assert!(lines_to(&text, "lee").contains(&"only a manager or an admin can approve requests (you are a lead)"));
    assert!(
        lines_to(&text, "alice").contains(
            &"#1 was declined by mona, so there is no fix to rate; start a new request if things have changed"
        ),
        "{text}"
    );
    let to_sam = lines_to(&text, "sam");
    assert!(to_sam.contains(
        &"#1 was declined by mona, so its priority stays as it was; start a new request if things have changed"
    ));
    assert!(to_sam.contains(
        &"#1 was declined by mona, so its category stays as it was; start a new request if things have changed"
    ));
    // bob's withdrawn request, reopened: mona is asked again, and it still waits (sam cannot claim it).
    assert!(
        lines_to(&text, "mona")
            .iter()
            .any(|l| l.starts_with("Approval needed again for #2 from bob") && l.ends_with("[Approve] [Decline]")),
        "{text}"
    );
    assert!(to_sam.iter().any(|l| l.starts_with("#2 is waiting for a manager's approval")), "{to_sam:?}");
    assert_eq!(j["tickets"][1]["owner"], serde_json::Value::Null);
    // The report counts #1 as raised, never as resolved.
    let report = &j["reports"][0]["report"];
    assert_eq!(report["volume"]["total"], 2);
    assert_eq!(report["resolved"]["tickets"], 0, "{}", report["resolved"]);
    assert_eq!(report["backlog"]["open"], 1, "only bob's reopened #2 is open");
}

/// #30 probe, item 9: past the hourly limit every way of asking gets an answer.
#[tokio::test]
async fn past_the_hourly_limit_every_way_of_asking_is_answered() {
    let out = replay::run_file(&script("limit_answers.replay")).await.unwrap();
    let text = out.text();
    let limit: Vec<&str> =
        lines_to(&text, "alice").into_iter().filter(|l| l.contains("so I won't open more for now")).collect();
    // The channel message, both /ticket start, the first DM (not the second) and the closed ticket's thread.
    assert_eq!(limit.len(), 5, "{text}");
    assert!(!text.contains("alice wrote after #1 was closed"), "no ticket follows, so the owner is not told one does");
    assert_eq!(out.json().await.unwrap()["tickets"].as_array().unwrap().len(), 2);
}

/// #30 probe, item 4: a computer asked for in any words goes to a manager; things for a computer do not. The
/// phrasings were written before looking at which of them passed.
#[tokio::test]
async fn every_way_of_asking_for_a_computer_needs_approval() {
    let out = replay::run_file(&script("laptop_phrasings.replay")).await.unwrap();
    let text = out.text();
    let approval = "A few questions first, then it goes to a manager for approval:";
    let asked = "To get this to the right person: which of these is it about?";
    let script_text = std::fs::read_to_string(script("laptop_phrasings.replay")).unwrap();
    let mut wrong = vec![];
    for line in script_text.lines().filter(|l| l.starts_with('a') || l.starts_with('n')) {
        let Some((who, said)) = line.split_once(": ") else { continue };
        let first = lines_to(&text, who).first().copied().unwrap_or("");
        let ok = if who.starts_with('a') {
            if first.starts_with(asked) {
                // Unsure of the category: whichever the person picks for it, the request still reaches a manager.
                let mut ok = true;
                for pick in ["Computers, devices and meeting rooms", "Something else"] {
                    let s = format!("@role mona manager\n{who}: {said}\n{who} clicks \"{pick}\"\n");
                    let o = replay::run_script(&s, "pick.replay", Path::new(".")).await.unwrap().text();
                    ok &= lines_to(&o, who).get(1).is_some_and(|l| l.ends_with(approval));
                }
                ok
            } else {
                first.ends_with(approval)
            }
        } else {
            !first.ends_with(approval)
        };
        if !ok {
            wrong.push(format!("{said:?}: {first}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// #33 probe, item 1: a departure in any words starts the leaver walkthrough (a manager approves it, and it asks when
/// access ends); a new starter in any words starts the joiner walkthrough; going home early, an out-of-office or a
/// mailing list is no leaver. The phrasings were written before looking at which of them passed.
#[tokio::test]
async fn every_way_of_saying_someone_leaves_or_joins_starts_its_walkthrough() {
    let out = replay::run_file(&script("lifecycle_phrasings.replay")).await.unwrap();
    let text = out.text();
    let approval = "A few questions first, then it goes to a manager for approval:";
    let leaver_first = "Sorry to see them go. Who is leaving (full name)?";
    let joiner = "New starter (joiner) (identity P4 request). A few questions first, then it goes to a technician:";
    let asked = "To get this to the right person: which of these is it about?";
    let script_text = std::fs::read_to_string(script("lifecycle_phrasings.replay")).unwrap();
    // #33 probe, item 4: a full name the message gives clearly is not asked again.
    let named = "From your message: **Name:** ";
    let (mut wrong, mut counts) = (vec![], [0usize; 4]);
    for line in script_text.lines() {
        let Some((who, said)) = line.split_once(": ") else { continue };
        let kind = match &who[..2] {
            "le" => 0,
            "jo" => 1,
            "nm" => 2,
            "lk" => 3,
            _ => continue,
        };
        counts[kind] += 1;
        let to = lines_to(&text, who);
        let opened = |to: &[&str], at: usize, what: &str| {
            to.get(at).is_some_and(|l| l.starts_with("Ticket #") && l.contains(" opened: ") && l.ends_with(what))
        };
        let ok = match kind {
            0 if to.first().is_some_and(|l| l.starts_with(asked)) => {
                // Unsure of the category: whichever the person picks, the leaver still reaches a manager.
                let mut ok = true;
                for pick in ["Sign-in and accounts", "Something else"] {
                    let s = format!("{who}: {said}\n{who} clicks \"{pick}\"\n");
                    let o = replay::run_script(&s, "pick.replay", Path::new(".")).await.unwrap().text();
                    let to = lines_to(&o, who);
                    ok &= opened(&to, 1, approval) && to.get(2).is_some_and(|l| l.starts_with(leaver_first));
                }
                ok
            }
            0 => {
                opened(&to, 0, approval)
                    && to.get(1).is_some_and(|l| l.starts_with(leaver_first) || l.starts_with(named))
            }
            1 if to.first().is_some_and(|l| l.starts_with(asked)) => false,
            1 => opened(&to, 0, joiner),
            2 => !to.iter().any(|l| l.contains("(leaver)") || l.starts_with(leaver_first)),
            // A lockout: the account-locked ticket at P2, no leaver.
            _ => {
                to.first().is_some_and(|l| l.starts_with("Ticket #") && l.contains(" opened: identity (P2 incident)"))
                    && !to.iter().any(|l| l.contains("(leaver)") || l.starts_with(leaver_first))
            }
        };
        if !ok {
            wrong.push(format!("{who} {said:?}: {:?}", to.iter().take(2).collect::<Vec<_>>()));
        }
    }
    assert!(counts[0] >= 30 && counts[1] >= 15 && counts[2] >= 10 && counts[3] >= 4, "{counts:?}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// #33 item 3: every shipped runbook is reached from chat by at least three phrasings of our own. What the bot says
/// right after "Ticket #N opened …" must be a step of the runbook the phrasing is for (entries may open past the
/// first step); the two-letter prefix of each person's name says which runbook.
#[tokio::test]
async fn every_runbook_is_reached_by_three_phrasings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    // Per runbook, each step's first line as its literal pieces around `{{ placeholders }}`, which the bot fills in.
    let mut steps: Vec<(String, Vec<Vec<String>>)> = vec![];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let rb = deskbot::core::runbook::parse(&path.display().to_string(), &text).unwrap();
            let pieces = |say: &str| -> Vec<String> {
                let first = say.lines().next().unwrap_or("");
                let mut out = vec![];
                for (i, part) in first.split("{{").enumerate() {
                    let literal = if i == 0 { part } else { part.split_once("}}").map_or("", |(_, rest)| rest) };
                    out.push(literal.trim_end().to_string());
                }
                out
            };
            steps.push((rb.id.clone(), rb.steps.iter().map(|s| pieces(&s.say)).collect()));
        }
    }
    // A line is that step when it starts with the first piece and holds the others in order.
    let is_step = |line: &str, pieces: &[String]| {
        if pieces.iter().map(|p| p.len()).sum::<usize>() < 12 || !line.starts_with(pieces[0].as_str()) {
            return false;
        }
        let mut rest = &line[pieces[0].len()..];
        pieces[1..].iter().all(|p| match rest.find(p.as_str()) {
            Some(at) => {
                rest = &rest[at + p.len()..];
                true
            }
            None => false,
        })
    };
    let which = |prefix: &str| match prefix {
        "al" => "account-locked",
        "jo" => "joiner",
        "le" => "leaver",
        "av" => "meeting-room-av",
        "mf" => "mfa-new-phone",
        "nl" => "new-laptop",
        "os" => "outlook-sync",
        "pe" => "password-expired",
        "po" => "printer-offline",
        "pq" => "printer-queue",
        "se" => "scan-to-email",
        "sc" => "slow-computer",
        "vp" => "vpn-dropping",
        "wf" => "wifi-connect",
        other => panic!("no runbook for prefix {other}"),
    };
    let out = replay::run_file(&script("runbook_reach.replay")).await.unwrap();
    let text = out.text();
    let script_text = std::fs::read_to_string(script("runbook_reach.replay")).unwrap();
    let mut per_runbook: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut wrong = vec![];
    for line in script_text.lines().filter(|l| !l.starts_with('#') && !l.starts_with('@') && l.contains(": ")) {
        let (who, said) = line.split_once(": ").unwrap();
        let want = which(&who[..2]);
        let to = lines_to(&text, who);
        // A step the message already answered is skipped (#33 probe: a leaver's name and date); the step shown
        // then starts with what was taken ("From your message: … |  | ").
        let shown = |l: &&str| -> String {
            match l.strip_prefix("From your message: ").and_then(|r| r.split_once(" |  | ")) {
                Some((_, step)) => step.to_string(),
                None => l.to_string(),
            }
        };
        let reached = to.first().is_some_and(|l| l.contains("opened"))
            && to
                .get(1)
                .map(shown)
                .is_some_and(|l| steps.iter().any(|(id, says)| id == want && says.iter().any(|p| is_step(&l, p))));
        if reached {
            *per_runbook.entry(want).or_default() += 1;
        } else {
            wrong.push(format!("{who} {said:?} should open {want}; got {:?}", to.iter().take(2).collect::<Vec<_>>()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(per_runbook.len(), steps.len(), "every shipped runbook has phrasings here: {per_runbook:?}");
    assert!(per_runbook.values().all(|&n| n >= 3), "{per_runbook:?}");
}

// -------------------------------------------------------------------------------------------------------------------
// Vendor coordination (#35)

/// Every message sent to a vendor in a replay: (vendor, what, subject + body + JSON as one text).
fn vendor_sends(out: &replay::Outcome) -> Vec<(String, String, String)> {
    out.messages
        .iter()
        .filter_map(|s| s.msg.vendor.as_deref())
        .map(|v| (v.vendor.clone(), v.what.clone(), format!("{}\n{}\n{}", v.subject, v.body, v.json)))
        .collect()
}

/// The events of ticket `n` (1-based) of kind `kind` in a replay's JSON.
fn events_of(j: &serde_json::Value, n: usize, kind: &str) -> Vec<serde_json::Value> {
    j["tickets"][n - 1]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).cloned().collect()
}

#[tokio::test]
async fn vendor_gets_the_public_history_never_internal_notes() {
    let out = replay::run_file(&script("vendor_private.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_private_text", text);
    let sends = vendor_sends(&out);
    assert_eq!(sends.len(), 2, "PrintCo by email and NetCo by webhook: {sends:?}");
    for (vendor, what, all) in &sends {
        assert_eq!(what, "case");
        assert!(!all.contains("hunter2"), "an internal note or pending reason reached {vendor}: {all}");
        assert!(!all.contains("admin/"), "{all}");
    }
    let (_, _, printco) = &sends[0];
    assert!(printco.contains("I've reseated the fuser"), "the public reply is what was tried: {printco}");
    assert!(printco.contains("the test page jams too"), "what the requester added: {printco}");
    assert!(printco.contains("fuser error 50.1 after reseating") && printco.contains("PC-ACC-7781"), "{printco}");
    let (_, _, netco) = &sends[1];
    let json: serde_json::Value = serde_json::from_str(netco.lines().last().unwrap()).unwrap();
    let tried = json["case"]["tried"].to_string();
    assert!(tried.contains("I restarted the access point") && !tried.contains("hunter2"), "{tried}");
    // The text to paste for the manual vendor is the same public text.
    let paste = text.lines().find(|l| l.starts_with("bot -> sam: CopierFix is contacted by hand")).unwrap();
    assert!(paste.contains("I've reseated the fuser") && !paste.contains("hunter2"), "{paste}");
}

#[tokio::test]
async fn a_silent_vendor_warns_then_breaches_up_the_chain() {
    let out = replay::run_file(&script("vendor_breach.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_breach_text", text);
    let count = |needle: &str| text.lines().filter(|l| l.starts_with(needle)).count();
    // Response and resolution: 75% to sam, 90% to sam and lena, the breach to the channel, max and sam.
    assert_eq!(count("bot -> sam: Vendor warning: PrintCo has used 75%"), 2);
    assert_eq!(count("bot -> sam: Vendor warning: PrintCo has used 90%"), 2);
    assert_eq!(count("bot -> lena: Vendor warning: PrintCo has used 90%"), 2);
    assert_eq!(count("bot -> lena: Vendor warning: PrintCo has used 75%"), 0, "75% is the owner's alone");
    assert_eq!(count("bot -> #helpdesk-escalations: Vendor breach: PrintCo missed its 4h response target"), 1);
    assert_eq!(count("bot -> #helpdesk-escalations: Vendor breach: PrintCo missed its 1d resolution target"), 1);
    assert_eq!(count("bot -> max: Vendor breach: PrintCo"), 2);
    assert_eq!(count("bot -> sam: Vendor breach: PrintCo"), 2);
    // The escalation contact is sent each breach.
    let breaches: Vec<_> = vendor_sends(&out).into_iter().filter(|(_, w, _)| w == "breach").collect();
    assert_eq!(breaches.len(), 2, "{breaches:?}");
    assert!(breaches[0].2.contains("Hello PrintCo duty manager") && breaches[0].2.contains("PC-ACC-7781"));
    // Recorded: three levels of each target, none late, the breaches due at the contract's instants.
    let j = out.json().await.unwrap();
    let w: Vec<(String, u64, String, bool)> = events_of(&j, 1, "vendor_warning")
        .iter()
        .map(|e| {
            (
                e["target"].as_str().unwrap().to_string(),
                e["percent"].as_u64().unwrap(),
                e["at"].as_str().unwrap().to_string(),
                e["late"].as_bool().unwrap(),
            )
        })
        .collect();
    let at = |s: &str| s.to_string();
    assert_eq!(
        w,
        vec![
            (at("response"), 75, at("2026-03-02T12:00:00Z"), false),
            (at("response"), 90, at("2026-03-02T12:36:00Z"), false),
            (at("response"), 100, at("2026-03-02T13:00:00Z"), false),
            (at("resolution"), 75, at("2026-03-03T03:00:00Z"), false),
            (at("resolution"), 90, at("2026-03-03T06:36:00Z"), false),
            (at("resolution"), 100, at("2026-03-03T09:00:00Z"), false),
        ]
    );
    assert!(text.contains("vendor PrintCo warnings: response 75%, response 90%, response breached"), "{text}");
    assert_eq!(j["tickets"][0]["state"], "pending_vendor");
}

#[tokio::test]
async fn only_the_owner_or_a_lead_acts_on_vendor_cases() {
    let out = replay::run_file(&script("vendor_owner.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_owner_text", text);
    for verb in ["escalate", "chase", "snooze", "vendor-close"] {
        assert!(
            text.contains(&format!("bot -> tia: #1 is owned by sam: only the owner or a lead can {verb} its vendor")),
            "{verb}: {text}"
        );
    }
    assert_eq!(
        text.lines().filter(|l| l.contains("has an open case with PrintCo: someone must own it")).count(),
        2,
        "unclaim refused for the owner and for the lead"
    );
    assert!(text.contains("bot -> sam: lena used /ticket chase on #1, which you own."));
    assert!(text.contains("bot -> tia: You now own the open vendor case on #1; the follow-ups come to you:"));
    assert!(text.contains("bot -> sam: Your open vendor case on #1 (PrintCo) passed to tia"));
    assert!(text.contains("bot -> sam: #1 is owned by tia: only the owner or a lead can chase"), "sam's old button");
    assert!(text.contains("bot -> tia: sam recorded PrintCo's update"), "anyone may record; the owner is told");
    // After the handover the prompts go to tia, never sam.
    let after = text.split("lena reassigned #1 from you to tia.").nth(1).unwrap();
    assert!(after.contains("bot -> tia: No update from PrintCo on #1"), "{after}");
    assert!(!after.lines().any(|l| l.starts_with("bot -> sam: No update") || l.starts_with("bot -> sam: Vendor")));
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["owner"], "tia");
    assert_eq!(events_of(&j, 1, "vendor_handed_over").len(), 1);
    assert_eq!(vendor_sends(&out).iter().filter(|(_, w, _)| w == "chase").count(), 1, "only lena's chase went out");
    // #35: PrintCo (email) is told its new contact once, at the reassignment; the claim before it had no case yet.
    let contact: Vec<_> = vendor_sends(&out).into_iter().filter(|(_, w, _)| w == "contact change").collect();
    assert_eq!(contact.len(), 1, "{contact:?}");
    assert!(
        contact[0].2.contains("tia is now our contact for our ticket #1 (\"the printer on floor 2"),
        "{}",
        contact[0].2
    );
    assert!(contact[0].2.contains("\"contact\":\"tia\""), "{}", contact[0].2);
}

#[tokio::test]
async fn vendor_reprobe_reason_private_update_cut_escalation_and_merge_keep_one_owner() {
    let out = replay::run_file(&script("vendor_reprobe.replay")).await.unwrap();
    let text = out.text();
    // The pending-vendor reason is an internal note: bob hears only that a vendor has it.
    assert!(text.contains("bot -> bob: #1 is waiting on a vendor; you'll hear here when it moves."), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("bot -> bob") && l.contains("hunter2")), "{text}");
    let j = out.json().await.unwrap();
    let notes = events_of(&j, 1, "internal_note");
    assert!(notes.iter().any(|e| e.to_string().contains("hunter2")), "kept for staff: {notes:?}");
    // tia escalated #2, which nobody owned: she owns it now and carl is told who handles it.
    assert!(text.contains("bot -> tia: Escalated #2 to PrintCo by email; you own #2 now (nobody did)."), "{text}");
    assert!(text.contains("bot -> carl: tia is now handling your ticket #2."), "{text}");
    // The update reaches carl quoted and cut at 600 bytes; the whole of it stays on the ticket.
    let update = text.lines().find(|l| l.starts_with("bot -> carl: Update from PrintCo on #2")).unwrap();
    assert!(
        update.contains("“engineer booked for Tuesday 10:00.") && update.contains("… (the rest is on the ticket)”")
    );
    assert!(!update.contains("END-OF-UPDATE") && update.len() < 600 + 200, "{update}");
    assert!(events_of(&j, 2, "vendor_update").iter().any(|e| e.to_string().contains("END-OF-UPDATE")));
    // #2 (tia's, with its PrintCo case) merged by sam into #3, which nobody owned: tia owns #3 and the case.
    assert!(
        text.contains("bot -> tia: You now own #3 (“the printer on floor 5 is jammed and blinking”): #2 was merged into it with its open vendor case with PrintCo, which stays yours."),
        "{text}"
    );
    assert!(text.contains("bot -> dora: tia is now handling your ticket #3."), "{text}");
    let three = j["tickets"].as_array().unwrap().iter().find(|t| t["number"] == 3).unwrap();
    assert_eq!(three["owner"], "tia");
    assert!(!text.contains("which nobody owns"), "{text}");
    // The escalation at 09:00, the update at 09:00 (the response), resolved at 10:01: both targets met.
    assert!(
        text.contains("Vendor PrintCo (printco): closed, opened Mon 2 Mar 09:00 UTC; closed on Mon 2 Mar 10:01 UTC; response met (Mon 2 Mar 09:00 UTC), resolution met (Mon 2 Mar 10:01 UTC)"),
        "{text}"
    );
    assert!(!text.contains("% used"), "{text}");
}

#[tokio::test]
async fn the_requesters_answer_puts_a_vendor_ticket_back_to_pending_vendor() {
    let out = replay::run_file(&script("vendor_pending_user.replay")).await.unwrap();
    insta::assert_snapshot!("vendor_pending_user_text", out.text());
    let j = out.json().await.unwrap();
    let moves: Vec<(String, String)> = events_of(&j, 1, "state_changed")
        .iter()
        .map(|e| (e["from"].as_str().unwrap().to_string(), e["to"].as_str().unwrap().to_string()))
        .collect();
    let m = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        moves,
        vec![
            m("new", "open"),
            m("open", "pending_vendor"),
            m("pending_vendor", "pending_user"),
            // alice answered while PrintCo's case was open: back to waiting on the vendor.
            m("pending_user", "pending_vendor"),
            // The case ended: open; waiting on alice again, and her answer now opens it.
            m("pending_vendor", "open"),
            m("open", "pending_user"),
            m("pending_user", "open"),
        ]
    );
    assert!(out.text().contains("pending_vendor Mon 2 Mar 10:00 UTC – now"), "{}", out.text());
}

#[tokio::test]
async fn vendor_cases_end_with_a_note_and_move_on_merge() {
    let out = replay::run_file(&script("vendor_close.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_close_text", text);
    let sends = vendor_sends(&out);
    let closed: Vec<&(String, String, String)> = sends.iter().filter(|(_, w, _)| w == "closed").collect();
    // #1 vendor-close (PrintCo) and #3's resolve (PrintCo); NetCo's `quiet` close sends nothing; CopierFix is by hand.
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert!(closed[0].2.contains("(your ref PC-48213)") && closed[0].2.contains("please close it on yours"));
    // The resolution text was written to the requester: the vendor hears only that it is resolved (#35).
    assert!(closed[1].2.contains("[deskbot #3]") && closed[1].2.contains("on our side: it is resolved."));
    assert!(!closed[1].2.contains("toner cartridge fitted"), "{}", closed[1].2);
    assert!(!sends.iter().any(|(v, w, _)| v == "netco" && w != "case"), "quiet: {sends:?}");
    assert!(text.contains("bot -> sam: CopierFix is contacted by hand: tell them the case on #3 is closed."));
    assert!(text.contains("bot -> sam: lena resolved #3, which closed your vendor cases with PrintCo, CopierFix."));
    let moved: Vec<_> = sends.iter().filter(|(_, w, _)| w == "moved").collect();
    assert_eq!(moved.len(), 1);
    assert!(moved[0].2.contains("Please quote [deskbot #5]") && moved[0].2.contains("PC-50001"));
    let j = out.json().await.unwrap();
    // The case left #4 (merged) for #5, which waits on PrintCo and is chased there.
    assert_eq!(j["tickets"][3]["state"], "closed");
    assert_eq!(j["tickets"][4]["state"], "pending_vendor");
    assert_eq!(events_of(&j, 4, "vendor_case_moved").len(), 1);
    assert_eq!(events_of(&j, 5, "vendor_case_moved").len(), 1);
    assert!(text.contains("bot -> sam: No update from PrintCo on #5 (case PC-50001)"), "{text}");
    assert!(!text.contains("on #4 (case PC-50001) since"), "no chasers on the merged ticket");
    assert!(text.contains("bot -> erin: #5 is also with PrintCo."), "{text}");
}

#[tokio::test]
async fn a_vendor_outside_the_category_is_confirmed_first() {
    let out = replay::run_file(&script("vendor_category.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_category_text", text);
    assert!(
        text.contains(
            "bot -> sam: PrintCo covers printing, not network (#1's category; for network: netco). Nothing was sent."
        ),
        "{text}"
    );
    let sends = vendor_sends(&out);
    assert_eq!(sends.len(), 1, "only the confirmed escalation went out (CopierFix is by hand): {sends:?}");
    assert!(sends[0].2.contains("Summary: their managed AP is down"), "`anyway` is not part of the summary");
    assert!(text.contains("Escalated #2 to CopierFix by hand"), "{text}");
}

#[tokio::test]
async fn the_requester_gets_the_update_they_were_promised() {
    let out = replay::run_file(&script("vendor_requester.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_requester_text", text);
    // Promised 15:00 at the escalation; sent at 15:00 with the next time; the vendor's update resets it.
    assert!(text.contains("next update by Mon 2 Mar 15:00 UTC"), "{text}");
    let at = |who: &str, needle: &str| {
        out.messages
            .iter()
            .find(|s| replay::render_line(&s.msg).starts_with(who) && s.msg.text.contains(needle))
            .map(|s| replay::rfc3339(s.at))
    };
    assert_eq!(at("bot -> alice", "is still with PrintCo").as_deref(), Some("2026-03-02T15:00:00Z"));
    assert!(text.contains("bot -> alice: #1 is still with PrintCo. They have not answered yet; we are following up with them. Next update by Mon 2 Mar 21:00 UTC."));
    assert!(
        text.contains("Waiting on PrintCo (case reference to follow); next update by Mon 2 Mar 21:00 UTC."),
        "{text}"
    );
    assert!(text.contains("Their last update (Mon 2 Mar 15:00 UTC): engineer booked for tomorrow 10:00. Next update by Tue 3 Mar 03:00 UTC."), "{text}");
}

#[tokio::test]
async fn vendor_directory_and_scorecard() {
    let out = replay::run_file(&script("vendor_directory.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("vendor_directory_text", text);
    assert!(text.contains("bot -> sam: Vendors (3):"), "{text}");
    assert!(text.contains("account PC-ACC-7781"));
    assert!(text.contains("hours: Mon–Fri 09:00–17:00 (Europe/London)"), "{text}");
    assert!(text.contains("escalation: PrintCo duty manager (escalations@printco.test, +44 20 7946 0101)"));
    assert!(text.contains("bot -> alice: only technicians and managers can see the vendor directory"));
    assert!(text.contains("open cases: #2"), "{text}");
    let (_, reports) = replay_json("vendor_directory.replay").await;
    let v = reports[0]["vendors"].as_array().unwrap();
    let printco = v.iter().find(|x| x["vendor"] == "PrintCo").unwrap();
    let netco = v.iter().find(|x| x["vendor"] == "NetCo").unwrap();
    assert_eq!(rate(printco, "response_on_time"), (1, 1));
    assert_eq!(rate(printco, "resolution_on_time"), (1, 1));
    assert_eq!(printco["breaches"], 0);
    // NetCo never answered: its 2h response (office hours) and 2-day resolution both passed by 10 Mar.
    assert_eq!(rate(netco, "response_on_time"), (0, 1));
    assert_eq!(rate(netco, "resolution_on_time"), (0, 1));
    assert_eq!(netco["breaches"], 2);
    assert!(text.contains("Vendor NetCo: 1 opened, 0 closed"), "{text}");
}

/// #30 insider probe, item 1: a stranger's problem in a closed ticket's thread is a ticket of their own in a DM
/// with them; the thread stays the requester's, so the requester's next message there still follows up their own
/// ticket instead of being turned away as someone else's.
#[tokio::test]
async fn a_stranger_cannot_take_over_a_closed_tickets_thread() {
    let out = replay::run_file(&script("thread_takeover.replay")).await.unwrap();
    let text = out.text();
    let to_eve = lines_to(&text, "eve");
    assert!(to_eve.iter().any(|l| l.starts_with("Ticket #2 opened: endpoint")), "{to_eve:?}");
    let to_alice = lines_to(&text, "alice");
    assert!(!to_alice.iter().any(|l| l.contains("eve's ticket")), "alice was locked out of her thread: {to_alice:?}");
    assert!(
        to_alice.iter().any(|l| l.starts_with("Ticket #3 opened") && l.contains("following up #1")),
        "{to_alice:?}"
    );
    let j = out.json().await.unwrap();
    let t2 = &j["tickets"][1];
    assert_eq!(t2["requester"], "eve");
    let t3 = &j["tickets"][2];
    assert_eq!(t3["requester"], "alice");
    // Eve's ticket lives in a DM with her; the thread of #1 still leads to alice's tickets.
    let out2 = replay::run_script(
        &(std::fs::read_to_string(script("thread_takeover.replay")).unwrap()
            + "alice (thread #1): thanks, sorted now\n"),
        "s",
        &script(""),
    )
    .await
    .unwrap();
    assert!(!lines_to(&out2.text(), "alice").iter().any(|l| l.contains("eve's ticket")), "{}", out2.text());
}

/// #30 insider probe, item 3: two hundred made-up identities in a minute open at most the source's intake budget
/// of tickets; the rest are held back (each sender told once) and the queue hears of it once.
#[tokio::test]
async fn an_intake_flood_from_many_identities_is_held_to_the_sources_budget() {
    let mut script = String::from("@config intake.toml\n@now 2026-03-02T09:00:00Z\n");
    let problems = ["my monitor is flickering badly", "my keyboard has stopped working", "my laptop battery dies fast"];
    for i in 0..200 {
        script.push_str(&format!("user{i}: {} (desk {i})\n", problems[i % problems.len()]));
    }
    script.push_str("@advance 2m\nlate: my mouse stopped working\n");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let out = replay::run_script(&script, "intake_flood.replay", &dir).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    // The budget (5 a minute here), then one more once the minute has passed.
    assert_eq!(tickets.len(), 6, "{} tickets", tickets.len());
    assert_eq!(tickets[5]["requester"], "late");
    let queue: Vec<&str> = text.lines().filter(|l| l.starts_with("bot -> #helpdesk-queue:")).collect();
    assert_eq!(queue.iter().filter(|l| l.contains("Intake budget reached on console")).count(), 1, "{queue:?}");
    assert!(queue.len() <= 8, "{} queue posts: {queue:?}", queue.len());
    assert_eq!(text.matches("held yours back").count(), 200 - 5, "each held sender is told once");
}

/// #30 insider probe, item 4: messages in the channel and in DMs count against the same per-person pace as
/// commands and thread messages: a burst of a hundred is taken sixty a minute, with one notice.
#[tokio::test]
async fn channel_and_dm_bursts_are_held_to_the_per_person_pace() {
    for way in ["", " (dm)"] {
        let mut script = String::from("@now 2026-03-02T09:00:00Z\n");
        for i in 0..100 {
            script.push_str(&format!("mallory{way}: my vpn keeps dropping, attempt {i}\n"));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
        let out = replay::run_script(&script, "burst.replay", &dir).await.unwrap();
        let text = out.text();
        let to_mallory = lines_to(&text, "mallory");
        assert_eq!(
            to_mallory.iter().filter(|l| l.contains("faster than I can take them")).count(),
            1,
            "{way}: {to_mallory:?}"
        );
        let j = out.json().await.unwrap();
        let events: usize =
            j["tickets"].as_array().unwrap().iter().map(|t| t["events"].as_array().unwrap().len()).sum();
        assert!(events <= 2 * deskbot::core::desk::COMMANDS_PER_MINUTE as usize, "{way}: {events} events stored");
        assert!(
            to_mallory.len() <= deskbot::core::desk::COMMANDS_PER_MINUTE as usize + 2,
            "{way}: {}",
            to_mallory.len()
        );
    }
}

/// #30 insider probe, item 5: a hundred colleagues' "+1" on a shared ticket reach its owner as two notices (the
/// first at once, the rest folded), not a hundred; everyone is still recorded as affected.
#[tokio::test]
async fn a_hundred_plus_ones_are_folded_for_the_owner() {
    let mut script = String::from(
        "@now 2026-03-02T09:00:00Z\n@role sam technician\nalice: the printer on floor 2 is jammed again\n\
         sam: /ticket claim 1\n",
    );
    for i in 0..100 {
        script.push_str(&format!("colleague{i} (thread #1): +1\n"));
    }
    script.push_str("@advance 10m\n");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let out = replay::run_script(&script, "plus_ones.replay", &dir).await.unwrap();
    let text = out.text();
    let to_sam: Vec<&str> = lines_to(&text, "sam").into_iter().filter(|l| l.contains("#1")).collect();
    let about_plus_ones: Vec<&&str> = to_sam.iter().filter(|l| l.contains("colleague")).collect();
    assert_eq!(about_plus_ones.len(), 2, "{about_plus_ones:?}");
    assert!(about_plus_ones[0].starts_with("colleague0 reported #1 too"), "{about_plus_ones:?}");
    assert!(about_plus_ones[1].contains("99 more messages"), "{about_plus_ones:?}");
}

/// #30 insider probe, item 13: the owner hears when another technician adds a note to their ticket, with what it
/// says.
#[tokio::test]
async fn the_owner_is_told_of_another_technicians_note() {
    let out = replay::run_script(
        "@now 2026-03-02T09:00:00Z\n@role sam technician\n@role tom technician\nalice: my laptop screen is flickering\n\
         sam: /ticket claim 1\ntom: /ticket note 1 saw this on the same model last week, it's the cable\n\
         sam: /ticket note 1 ordering a cable\n",
        "s",
        std::path::Path::new("."),
    )
    .await
    .unwrap();
    let text = out.text();
    let to_sam = lines_to(&text, "sam");
    assert!(
        to_sam
            .contains(&"tom added a note to #1, which you own: “saw this on the same model last week, it's the cable”"),
        "{to_sam:?}"
    );
    // Their own note tells them nothing new.
    assert!(!to_sam.iter().any(|l| l.contains("sam added a note")), "{to_sam:?}");
}

/// #30 insider probe, items 7 and 9: see `tests/replay/merge_chain.replay`.
#[tokio::test]
async fn a_merge_chain_tells_the_first_requester_and_merged_duplicates_stay_closed() {
    let out = replay::run_file(&script("merge_chain.replay")).await.unwrap();
    let text = out.text();
    let to_alice = lines_to(&text, "alice");
    assert!(
        to_alice.iter().any(|l| l.starts_with("#3 (which your ticket was merged into) is resolved")),
        "{to_alice:?}"
    );
    let to_sam = lines_to(&text, "sam");
    assert!(to_sam.iter().any(|l| l.starts_with("#1 was merged into #3 and cannot be reopened")), "{to_sam:?}");
    assert!(to_sam.contains(&"#1 is merged into #3 and is worked there: /ticket claim 3 …"), "{to_sam:?}");
    assert!(to_sam.contains(&"#1 is merged into #3 and is worked there: /ticket pending 3 …"), "{to_sam:?}");
    assert!(!to_sam.iter().any(|l| l.contains("reopen it first")), "{to_sam:?}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "closed");
    // Every refusal is recorded, those pointing to the end of the chain too (#30 probe a05).
    assert_eq!(denied_on(&j, 1), pairs(&[("sam", "reopen"), ("sam", "claim"), ("sam", "pending")]));
}

/// #30 insider probe, item 8: see `tests/replay/merged_thread.replay`.
#[tokio::test]
async fn a_message_in_a_merged_duplicates_thread_goes_to_the_merge_target() {
    let out = replay::run_file(&script("merged_thread.replay")).await.unwrap();
    let text = out.text();
    assert!(lines_to(&text, "alice").contains(&"Added to #2."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2, "no new duplicate");
    let on_2 = events_of(&j, 2, "requester_message");
    assert!(on_2.iter().any(|e| e["text"] == "it's flickering even more now"), "{on_2:?}");
}

/// #30 insider probe, item 6: see `tests/replay/merged_major.replay`.
#[tokio::test]
async fn merged_requesters_follow_their_ticket_into_a_major_incident() {
    let out = replay::run_file(&script("merged_major.replay")).await.unwrap();
    let to_alice = lines_to(&out.text(), "alice").join("\n");
    assert!(to_alice.contains("#2 (which your ticket was merged into) is now part of major incident #3"), "{to_alice}");
    assert!(to_alice.contains("Update on #3 from sam: the access point is being replaced"), "{to_alice}");
    assert!(to_alice.contains("#3 is fixed: new access point installed"), "{to_alice}");
}

/// #30 insider probe, item 10: see `tests/replay/staff_priority.replay`.
#[tokio::test]
async fn requester_wording_does_not_override_a_technicians_priority() {
    let out = replay::run_file(&script("staff_priority.replay")).await.unwrap();
    assert!(!out.text().contains("It's now P"), "{}", out.text());
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["priority"], "P4");
}

/// #30 insider probe, items 11 and 12: see `tests/replay/question_expiry.replay`.
#[tokio::test]
async fn questions_expire_after_a_day_and_waiting_on_the_requester_needs_a_question() {
    let out = replay::run_file(&script("question_expiry.replay")).await.unwrap();
    let text = out.text();
    let to_alice = lines_to(&text, "alice");
    assert!(to_alice.last().unwrap().starts_with("That question has expired"), "{to_alice:?}");
    let to_bob = lines_to(&text, "bob");
    // (A late Close it says how to still have it closed: probe J.)
    assert!(to_bob.iter().any(|l| l.starts_with("That offer has expired")), "{to_bob:?}");
    assert!(!to_bob.iter().any(|l| l.contains("withdrawn") || l.starts_with("Closed")), "{to_bob:?}");
    let to_sam = lines_to(&text, "sam");
    assert!(
        to_sam.iter().any(|l| l.starts_with("say what you need from bob: /ticket pending 1 user QUESTION")),
        "{to_sam:?}"
    );
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    // alice's late answer opened nothing; bob's ticket was not withdrawn, and waits on him only once asked.
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["requester"], "bob");
    assert_eq!(tickets[0]["state"], "pending_user");
    let moves = events_of(&j, 1, "state_changed");
    assert_eq!(moves.iter().filter(|e| e["to"] == "pending_user").count(), 1, "{moves:?}");
}

#[tokio::test]
async fn keeping_the_priority_locks_it_and_a_question_needs_words() {
    let out = replay::run_file(&script("staff_priority_kept.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> sam: #1 stays P3; the requester's wording no longer changes it."), "{text}");
    assert!(!text.contains("It's now P1") && !text.contains("is now P1"), "the wording did not raise it: {text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["priority"], "P3");
    assert_eq!(text.matches("say what you need from alice").count(), 2, "\"?\" and \"ok\" are refused: {text}");
    assert!(text.contains("bot -> alice: sam needs something from you on #1: serial number?"), "{text}");
    assert_eq!(j["tickets"][0]["state"], "pending_user");
}

#[tokio::test]
async fn staff_cannot_reopen_a_ticket_folded_into_a_major_incident() {
    let out = replay::run_file(&script("major_child_reopen.replay")).await.unwrap();
    let text = out.text();
    assert!(
        text.contains("bot -> sam: #1 is part of major incident #2 and cannot be reopened on its own; work on #2"),
        "{text}"
    );
    assert!(text.contains("bot -> sam: #2 is new, not resolved or closed: nothing to reopen"), "{text}");
    let j = out.json().await.unwrap();
    assert_ne!(j["tickets"][0]["state"], "open", "{}", j["tickets"][0]);
    assert!(events_of(&j, 2, "reopened").is_empty(), "no reopen counted on a ticket that never ended");
}

#[tokio::test]
async fn strangers_chatter_in_a_closed_thread_opens_nothing_and_merged_threads_reach_the_incident() {
    let out = replay::run_file(&script("closed_thread_strangers.replay")).await.unwrap();
    let text = out.text();
    // Two pieces of chatter: refused, nobody told, no ticket; the real problem: a ticket of eve's own.
    assert_eq!(text.matches("bot -> eve: #1 is someone else's closed ticket.").count(), 2, "{text}");
    assert_eq!(text.matches("bot -> sam: eve wrote after #1 was closed").count(), 1, "{text}");
    assert!(text.contains("bot -> eve: Ticket #2 opened: endpoint (P3 incident), following up #1."), "{text}");
    // carol's duplicate #3 was merged into #4, which was folded into major incident #5: her message joins #5.
    assert!(text.contains("bot -> carol: Added to #5."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 5, "no ticket for the chatter or carol's message");
}

/// #30 re-probe D3, D5, D7, D8: see `tests/replay/merged_reprobe.replay`.
#[tokio::test]
async fn merged_duplicates_reopen_their_target_and_refusals_name_the_end_of_the_chain() {
    let out = replay::run_file(&script("merged_reprobe.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    // D3: "still flickering" in #1's thread (merged into #2, since resolved) reopens #2; no third ticket.
    assert!(text.contains("bot -> sam: alice (whose #1 was merged into #2) reopened #2"), "{text}");
    assert!(text.contains("bot -> alice: #2 (which your ticket was merged into) is open again"), "{text}");
    assert!(text.contains("bot -> bob: #2 is open again: alice says the problem is back."), "{text}");
    assert_eq!(j["tickets"][1]["state"], "open");
    assert_eq!(events_of(&j, 2, "reopened").len(), 1);
    // D5: merging into a merged ticket names where the chain ends.
    assert!(
        text.contains("bot -> sam: #3 was merged into #4; merge into #4 instead (/ticket merge 5 into 4)"),
        "{text}"
    );
    assert_eq!(j["tickets"][4]["state"], "new", "#5 was not merged");
    // D8: a merged duplicate's priority and category stay.
    assert_eq!(j["tickets"][2]["priority"], "P3");
    assert_eq!(j["tickets"][2]["category"], "endpoint");
    assert_eq!(denied_on(&j, 3), pairs(&[("sam", "priority"), ("sam", "category")]));
    // D7: the folded notice names both writers.
    assert!(
        text.contains(
            "bot -> sam: carol and dan added 2 more messages to #4 since your last notice, the latest, from dan"
        ),
        "{text}"
    );
    assert_eq!(j["tickets"].as_array().unwrap().len(), 5);
}

/// #30 re-probe D2: see `tests/replay/plus_one_personal.replay`.
#[tokio::test]
async fn plus_ones_on_a_personal_ticket_open_nothing_until_the_problem_is_theirs() {
    let out = replay::run_file(&script("plus_one_personal.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    // Five "+1"s on alice's cracked screen: five questions, no ticket, no owner notice, nothing in the queue.
    for who in ["bob", "carol", "dan", "erin", "fred"] {
        assert_eq!(
            lines_to(&text, who),
            [
                "#1 is alice's own ticket, so I haven't added you to it. Do you have the same problem yourself? [Yes, open a ticket for me] [No, just agreeing]"
            ],
            "{who}"
        );
    }
    assert_eq!(text.matches("bot -> sam:").count(), 2 + 3, "{text}");
    // gina's sign-in trouble: hank's confirmed "+1" is a ticket of his own; ivy's is nothing; jo's description
    // makes three people, an outage: #2 becomes a major incident, #3 is folded into it, kim joins it.
    assert!(text.contains("bot -> ivy: OK, nothing opened."), "{text}");
    assert_eq!(j["tickets"].as_array().unwrap().len(), 3, "{text}");
    assert_eq!(events_of(&j, 2, "major_incident").len(), 1);
    assert_eq!(events_of(&j, 3, "part_of_major").len(), 1);
    let affected: Vec<_> =
        events_of(&j, 2, "affected_report").iter().map(|e| e["actor"].as_str().unwrap().to_string()).collect();
    assert_eq!(affected, ["hank", "jo", "kim"]);
}

/// #30 item 17: see `tests/replay/approval_only_manager.replay`.
#[tokio::test]
async fn the_only_managers_own_request_posts_no_buttons_nobody_can_use() {
    let out = replay::run_file(&script("approval_only_manager.replay")).await.unwrap();
    let text = out.text();
    let queue: Vec<_> = text.lines().filter(|l| l.contains("Approval needed for #1")).collect();
    assert_eq!(queue.len(), 1, "{text}");
    assert!(queue[0].starts_with("bot -> #helpdesk-queue:") && !queue[0].contains("[Approve]"), "{}", queue[0]);
    assert!(queue[0].contains("Nobody but max can approve it here"), "{}", queue[0]);
    assert!(text.contains("bot -> max: #1 needs a manager's approval and nobody but you can give it here"), "{text}");
    assert!(text.contains("bot -> max: ada approved your request #1."), "{text}");
    // An admin deciding in a manager's place says so; each refusal is audited as what was tried.
    assert!(text.contains("bot -> ada: Approved #1 (as admin)."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(denied_on(&j, 1), pairs(&[("sam", "approve"), ("max", "approve"), ("max", "decline")]));
}

/// #35 probe items 5 and 6: see `tests/replay/vendor_merge_twins.replay`.
#[tokio::test]
async fn merging_two_cases_at_one_vendor_keeps_the_one_they_work_on_and_merged_requesters_hear_updates() {
    let out = replay::run_file(&script("vendor_merge_twins.replay")).await.unwrap();
    let text = out.text();
    // #2's own case (no reference yet) is closed, naming PrintCo's case that stays; #1's case moves to #2.
    assert!(
        text.contains(
            "We have closed the case we raised for our ticket #2 on our side: it is the same issue as your case \
             PC-55501 (our ticket #1), which stays open with you"
        ),
        "{text}"
    );
    // The moved case keeps its own title (#35).
    assert!(
        text.contains(
            "Our ticket #1 (\"the printer on the 5th floor shows error 50.1 and wont print\", your ref PC-55501) is now \
             part of our ticket #2"
        ),
        "{text}"
    );
    assert!(text.contains("case PC-55501: open"), "{text}");
    // No vendor breach: the case kept is the one PrintCo answered.
    assert!(!text.contains("Vendor breach"), "{text}");
    // Both requesters get the promised word.
    assert!(
        text.contains("bot -> carl: #2 (which your ticket was merged into) is still with PrintCo (case PC-55501)."),
        "{text}"
    );
    assert!(text.contains("bot -> dora: #2 is still with PrintCo (case PC-55501)."), "{text}");
}

/// #33 item 1: see `tests/replay/walk_collected.replay`.
#[tokio::test]
async fn the_technician_sees_the_answers_and_steps_a_walkthrough_collected() {
    let out = replay::run_file(&script("walk_collected.replay")).await.unwrap();
    let text = out.text();
    let card = lines_to(&text, "#helpdesk-queue").into_iter().find(|l| l.contains("New ticket #1")).unwrap();
    assert!(card.contains("| Answers: |   printer_error: **SC542** fuser error"), "{card}");
    assert!(card.contains("lot more tex… | Steps taken: |   09:00 [printer-error] answered printer_error"), "{card}");
    assert!(!card.contains("every word"), "a long answer is cut: {card}");
    let shows = lines_to(&text, "sam");
    assert!(
        shows[0].contains("Self-service: “Print job stuck or paper jam” — printer shows an error | Answers:"),
        "{shows:?}"
    );
    assert!(
        shows[1]
            .contains("in progress at step \"what-is-busy\" | Steps taken: |   09:02 [slow] pressed \"Still slow\"")
    );
    insta::assert_snapshot!("walk_collected_text", text);
}

/// #33 item 2: see `tests/replay/walk_never_stuck.replay`.
#[tokio::test]
async fn walkthroughs_time_out_to_the_queue_and_take_an_answer_from_the_channel() {
    let out = replay::run_file(&script("walk_never_stuck.replay")).await.unwrap();
    let text = out.text();
    let queue = lines_to(&text, "#helpdesk-queue");
    assert!(queue.iter().any(|l| l.starts_with("New ticket #1") && l.contains("no answer at step \"start\" for 30m")));
    assert!(
        queue.iter().any(|l| l.starts_with("New ticket #2") && l.contains("printer_error: it says SC542 fuser error"))
    );
    assert!(lines_to(&text, "bob").iter().any(|l| l.contains("(Type your answer as a reply in this thread.)")));
    assert!(!text.contains("Is this about #2"), "{text}");
    assert!(lines_to(&text, "carol").iter().any(|l| l.starts_with("#3's walkthrough is still waiting for you:")));
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 3, "the channel answer opened no ticket");
    insta::assert_snapshot!("walk_never_stuck_text", text);
}

/// #33 item 4: see `tests/replay/still_broken.replay`.
#[tokio::test]
async fn still_broken_after_self_service_goes_back_to_the_queue_with_the_transcript() {
    let out = replay::run_file(&script("still_broken.replay")).await.unwrap();
    let text = out.text();
    let queue = lines_to(&text, "#helpdesk-queue");
    assert!(
        queue.iter().any(|l| l.starts_with("Reopened ticket #1")
            && l.contains("| Reopened by alice after self-service |")
            && l.contains("pressed \"Jam cleared and it printed\"")),
        "{queue:?}"
    );
    assert!(
        queue.iter().any(|l| l.contains("Reopened by bob after self-service: “still broken, it went offline again”"))
    );
    insta::assert_snapshot!("still_broken_text", text);
}

/// #33 item 5: see `tests/replay/no_it_action.replay`.
#[tokio::test]
async fn no_it_action_endings_resolve_without_counting_as_deflected() {
    let out = replay::run_file(&script("no_it_action.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let t = j["tickets"].as_array().unwrap();
    for n in [0, 1] {
        assert_eq!((t[n]["state"].as_str(), t[n]["deflected"].as_bool()), (Some("resolved"), Some(false)), "{}", t[n]);
        assert_eq!(events_of(&j, n + 1, "runbook")[0]["outcome"], "no_action");
    }
    assert_eq!(t[2]["deflected"], true);
    assert!(out.text().contains("deflected by runbooks 33.3%"), "{}", out.text());
}

/// #33 item 6: see `tests/replay/lost_phone_priority.replay`.
#[tokio::test]
async fn a_lost_or_stolen_phone_is_p1_like_the_triage_of_a_stolen_phone() {
    let out = replay::run_file(&script("lost_phone_priority.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let t = j["tickets"].as_array().unwrap();
    let prio: Vec<_> = t.iter().map(|t| t["priority"].as_str().unwrap().to_string()).collect();
    assert_eq!(prio, ["P1", "P3", "P1"]);
    assert_eq!(t[0]["first_response_due"], t[2]["first_response_due"], "the same 30-minute target");
    assert!(out.text().contains("bot -> alice: #1 is now P1, so it's answered sooner."));
}

// -------------------------------------------------------------------------------------------------------------------
// Joiners and leavers (#33 items 1, 6 and 7)

/// The first message to `who` that starts with `prefix`.
fn first_to<'a>(text: &'a str, who: &str, prefix: &str) -> Option<&'a str> {
    lines_to(text, who).into_iter().find(|l| l.starts_with(prefix))
}

/// #33: see `leaver_dated.replay`.
#[tokio::test]
async fn a_dated_leaver_is_read_titled_alerted_on_time_and_cannot_be_ended_early() {
    let out = replay::run_file(&script("leaver_dated.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("leaver_dated", text);
    let j = out.json().await.unwrap();
    let to_mona = lines_to(&text, "mona");
    // Ambiguous or unreadable dates are asked again, and the walkthrough stays on the step.
    let again: Vec<&&str> =
        to_mona.iter().filter(|l| l.starts_with("I couldn't use that as the time access ends")).collect();
    assert_eq!(again.len(), 3, "{to_mona:?}");
    assert!(again[0].contains("\"next Friday\" could be Fri 13 Mar or Fri 20 Mar"), "{}", again[0]);
    assert!(again[1].contains("\"03/04\" could be 3 April or 4 March"), "{}", again[1]);
    assert!(
        to_mona.iter().any(|l| l.contains("**Access ends:** Fri 13 Mar 2026 16:00 GMT (“end of day Friday 13 March”)"))
    );
    let t = &j["tickets"][0];
    assert_eq!(t["title"], "Leaver: Priya Raman, Fri 13 Mar");
    // /ticket start gives the runbook's intent's priority, as the same leaver from chat gets (#33 probe).
    assert_eq!(t["priority"], "P4");
    // The resolution target (2 business days) runs from the access end, not from Monday's request.
    assert_eq!(t["resolution_due"], "2026-03-17T17:30:00Z");
    assert!(!t["breaches"].as_array().unwrap().iter().any(|b| b["clock"] == "resolution"));
    // Resolve, close and merge are refused, naming the open items; unticking works once.
    let to_sam = lines_to(&text, "sam");
    for verb in ["cannot resolve: 15 checklist item(s) still open", "cannot close: 15", "cannot merge #1 into #2: 15"] {
        assert!(to_sam.iter().any(|l| l.starts_with(verb)), "{verb}: {to_sam:?}");
    }
    assert_eq!(t["state"], "open");
    assert_eq!(j["tickets"][1]["state"], "new", "nothing was merged");
    assert!(to_sam.contains(&"\"licences\" is not ticked"), "{to_sam:?}");
    let unticked: Vec<&serde_json::Value> =
        t["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "checklist_unticked").collect();
    assert_eq!(unticked.len(), 1);
    // The owner is alerted when access ends, once, and not before.
    let alerts: Vec<&&str> = to_sam.iter().filter(|l| l.starts_with("Access removal due now: #1")).collect();
    assert_eq!(alerts.len(), 1, "{to_sam:?}");
    let noted = t["events"].as_array().unwrap().iter().find(|e| e["kind"] == "internal_note").unwrap();
    assert_eq!(noted["at"], "2026-03-13T16:00:00Z");
}

/// #33: see `leaver_urgent.replay`.
#[tokio::test]
async fn an_immediate_leaver_is_p2_a_dismissal_p1_and_a_technicians_leaver_waits_for_a_manager() {
    let out = replay::run_file(&script("leaver_urgent.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("leaver_urgent", text);
    let j = out.json().await.unwrap();
    let t = |n: usize| &j["tickets"][n - 1];
    assert_eq!(
        (t(1)["title"].as_str(), t(1)["priority"].as_str()),
        (Some("Leaver: Tom Baker, immediately"), Some("P2"))
    );
    assert_eq!(
        (t(2)["title"].as_str(), t(2)["priority"].as_str()),
        (Some("Leaver: Jack Frost, immediately"), Some("P1"))
    );
    let queue = lines_to(&text, "#helpdesk-queue");
    assert!(queue.iter().any(|l| l.starts_with("New ticket #1 · P2") && l.contains("ACCESS ENDS NOW:")), "{queue:?}");
    assert!(queue.iter().any(|l| l.starts_with("New ticket #2 · P1") && l.contains("ACCESS ENDS NOW (dismissal)")));
    // A manager's own leavers need no approval; sam's (a technician's) does, and nothing is worked before it.
    assert!(first_to(&text, "mona", "Approval needed for #1").is_none());
    assert!(first_to(&text, "mona", "Approval needed for #2").is_none());
    let ask = first_to(&text, "mona", "Approval needed for #3 from sam").expect("mona is asked");
    assert!(ask.contains("access_ends: Fri 20 Mar 2026 17:00 GMT"), "{ask}");
    assert_eq!(denied_on(&j, 3), pairs(&[("tom", "claim"), ("tom", "check")]));
    assert_eq!(t(3)["owner"], "tom", "claimed after the approval");
}

/// #33: see `joiner_dated.replay`.
#[tokio::test]
async fn a_joiner_is_due_before_the_first_day_and_sooner_is_more_urgent() {
    let out = replay::run_file(&script("joiner_dated.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("joiner_dated", text);
    let j = out.json().await.unwrap();
    let t = |n: usize| &j["tickets"][n - 1];
    assert_eq!(t(1)["title"], "Joiner: Sam Lee, starts Mon 23 Mar");
    assert_eq!(t(1)["priority"], "P4");
    // Due by the close of the business day before the first day (Friday closes at 16:00), not in two days.
    assert_eq!(t(1)["resolution_due"], "2026-03-20T16:00:00Z");
    // Tomorrow is sooner than the two-day target: P2, due by the end of today.
    assert_eq!(t(2)["title"], "Joiner: Kim Ode, starts Tue 10 Mar");
    assert_eq!(t(2)["priority"], "P2");
    assert_eq!(t(2)["resolution_due"], "2026-03-09T17:30:00Z");
    // No date: asked again, the walkthrough waits on the step.
    let again: Vec<&str> =
        lines_to(&text, "mona").into_iter().filter(|l| l.starts_with("I couldn't use that as the first day")).collect();
    assert_eq!(again.len(), 2, "{again:?}");
    // Once work has started, "nvm" does not close it, and no "Close it" button that would refuse is offered.
    assert_eq!(t(1)["state"], "new");
    assert!(first_to(&text, "mona", "#1 is already being worked on (1 of 14 checklist items done)").is_some());
    assert!(!lines_to(&text, "mona").iter().any(|l| l.contains("[Close it]") && l.contains("#1")), "{text}");
}

/// #33 probe, item 1: see `tests/replay/lifecycle_dates.replay` (Monday 9 March 2026, office.toml).
#[tokio::test]
async fn period_ends_a_week_on_and_weekday_numbers_are_read_and_a_closed_day_is_said() {
    let out = replay::run_file(&script("lifecycle_dates.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let to_mona = lines_to(&text, "mona");
    // "Friday 5": the 5th is a Thursday, so it is asked again, once.
    let again: Vec<&&str> = to_mona.iter().filter(|l| l.starts_with("I couldn't use that as")).collect();
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(again[0].contains(": 5 March is a Thursday, not a Friday (for a time, write it like Friday 17:00)"));
    // How each was read, as the confirmation shows it: a day the office is closed says where it was moved.
    for confirmed in [
        "**Access ends:** Fri 13 Mar 2026 16:00 GMT (“Saturday”) — Sat 14 Mar is not a working day: access will end \
         at the end of Fri 13 Mar |",
        "**Access ends:** Tue 31 Mar 2026 17:30 BST (“end of the month”) |",
        "**Access ends:** Fri 20 Mar 2026 16:00 GMT (“the end of next week”) |",
        "**Access ends:** Fri 20 Mar 2026 16:00 GMT (“a week on Friday”) |",
        "**Access ends:** Thu 24 Dec 2026 17:30 GMT (“25 December”) — Fri 25 Dec is not a working day: access will \
         end at the end of Thu 24 Dec |",
        "**Name:** Kim Ode, starting Mon 16 Mar 2026 (“Sat 14th”) — Sat 14 Mar is not a working day: their first \
         day will be Mon 16 Mar, the next working day |",
    ] {
        assert_eq!(to_mona.iter().filter(|l| l.contains(confirmed)).count(), 1, "{confirmed}\n{text}");
    }
    let titles: Vec<&str> = (0..6).map(|i| j["tickets"][i]["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Leaver: Priya Raman, Fri 13 Mar",
            "Leaver: Ben Ode, Tue 31 Mar",
            "Leaver: Cat Ode, Fri 20 Mar",
            "Leaver: Dan Ode, Fri 20 Mar",
            "Leaver: Eve Ode, Thu 24 Dec",
            "Joiner: Kim Ode, starts Mon 16 Mar",
        ]
    );
    // The joiner is worked to the Monday: due by Friday's close (16:00), not Saturday's.
    assert_eq!(j["tickets"][5]["resolution_due"], "2026-03-13T16:00:00Z");
}

/// #33 probe, items 3 and 4: see `tests/replay/lifecycle_from_message.replay` (Tuesday 10 March 2026).
#[tokio::test]
async fn staff_start_leavers_and_what_the_message_says_is_not_asked_again() {
    let out = replay::run_file(&script("lifecycle_from_message.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let who_leaves = "Sorry to see them go. Who is leaving (full name)?";
    // "Priya Raman is leaving on Friday": name and access end shown, not asked; the first question is the handover.
    let ann = lines_to(&text, "ann");
    let taken = "From your message: **Name:** Priya Raman · **Access ends:** Fri 13 Mar 2026 16:00 GMT. (You can \
                 change them before it is sent.) |  | Who takes over their email and files?";
    assert!(ann[1].starts_with(taken), "{}", ann[1]);
    assert!(!ann[..4].iter().any(|l| l.starts_with(who_leaves) || l.starts_with("When should")), "{ann:?}");
    assert_eq!(j["tickets"][0]["title"], "Leaver: Priya Raman, Fri 13 Mar");
    let ask = first_to(&text, "mona", "Approval needed for #1 from ann").expect("a manager approves ann's leaver");
    assert!(ask.contains("name: Priya Raman; access_ends: Fri 13 Mar 2026 16:00 GMT;"), "{ask}");
    // "Dan" is no full name: asked; the date of his last day (a Saturday) is taken when its step comes, moved.
    let dave = lines_to(&text, "dave");
    assert!(dave[1].starts_with(who_leaves), "{dave:?}");
    let moved = "From your message: **Access ends:** Fri 13 Mar 2026 16:00 GMT — Sat 14 Mar is not a working day: \
                 access will end at the end of Fri 13 Mar. (You can change it before it is sent.) |  | Who takes over";
    assert!(dave[2].starts_with(moved), "{}", dave[2]);
    // "leaving today … immediately": the name is taken, and the time asked (today's end, or now?).
    let fred = lines_to(&text, "fred");
    assert!(
        fred[1].starts_with(
            "From your message: **Name:** Tom Baker. (You can change it before it is sent.) |  | \
                                 When should Tom Baker's access end?"
        ),
        "{fred:?}"
    );
    // A joiner: name and first day taken.
    let erin = lines_to(&text, "erin");
    let joiner = "From your message: **Name:** Sam Lee · **First day:** Mon 16 Mar 2026. (You can change them \
                  before it is sent.) |  | Job title and team?";
    assert!(erin[1].starts_with(joiner), "{}", erin[1]);
    // ann, a requester, starts a joiner and a leaver; her leaver waits for mona like the one from chat.
    assert!(ann.contains(&"Ticket #5 opened: New starter (joiner)."), "{ann:?}");
    assert!(ann.contains(&"Ticket #6 opened: Someone is leaving (leaver)."), "{ann:?}");
    assert!(!text.contains("can start"), "{text}");
    assert!(first_to(&text, "mona", "Approval needed for #6 from ann").is_some(), "{text}");
    assert_eq!(j["tickets"][5]["title"], "Leaver: Kim Ode, immediately");
}

/// #33 probe, item 5: see `tests/replay/leaver_approval_wait.replay` (from Tuesday 10 March 2026, 10:00 GMT).
#[tokio::test]
async fn a_leaver_waiting_for_approval_pauses_is_reminded_once_and_ends_cleanly() {
    let out = replay::run_file(&script("leaver_approval_wait.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let t = |n: usize| &j["tickets"][n - 1];
    // (a) Paused while it waits: no warning or breach before the approval (Thursday 09:00), and the 2h response
    // target runs from then (due 11:00, missed since nobody answered).
    let tom = lines_to(&text, "tom");
    assert!(
        tom[0].contains("· first response, target 2h: paused")
            && tom[0].contains("· paused: awaiting approval Tue 10 Mar 10:00 GMT – now"),
        "{}",
        tom[0]
    );
    assert!(tom[1].contains("response clock paused until it is decided"), "{}", tom[1]);
    assert!(tom[2].contains("running, due Thu 12 Mar 11:00 GMT"), "{}", tom[2]);
    let warned: Vec<&str> =
        text.lines().filter(|l| l.contains("SLA warning: #1") || l.contains("SLA breach: #1")).collect();
    assert!(warned.iter().all(|l| l.contains("due Thu 12 Mar 11:00 GMT")), "{warned:?}");
    assert_eq!(t(1)["first_response_due"], "2026-03-12T11:00:00Z");
    assert_eq!(t(1)["breaches"].as_array().unwrap().len(), 1, "only after the approval");
    assert!(first_to(&text, "#helpdesk-queue", "New ticket #1").unwrap().contains("response clock paused"));
    // (b) One reminder, a business day after it began to wait, with the buttons again.
    let reminders: Vec<&str> = lines_to(&text, "mona").into_iter().filter(|l| l.starts_with("Reminder: #1")).collect();
    assert_eq!(reminders.len(), 1, "{text}");
    assert!(reminders[0].contains("has waited since Tue 10 Mar 10:00 GMT for a manager's decision"));
    assert!(reminders[0].ends_with("[Approve] [Decline]"), "{}", reminders[0]);
    let reminded_at = events_of(&j, 1, "internal_note");
    assert_eq!(reminded_at.len(), 1);
    assert_eq!(reminded_at[0]["at"], "2026-03-11T10:00:00Z");
    assert!(!text.contains("Reminder: #3"), "a withdrawn request is not reminded");
    // (c) A decline is told to the requester and to the queue.
    assert!(lines_to(&text, "bob").contains(&"mona declined your request #2."), "{text}");
    assert!(
        lines_to(&text, "#helpdesk-queue")
            .contains(&"mona declined #2 (“Leaver: Ben Ode, Fri 13 Mar”). It is closed: nothing to do."),
        "{text}"
    );
    // (d) "nvm, she's staying" two hours in withdraws it; the managers hear it; their buttons change nothing.
    assert!(
        lines_to(&text, "mona").contains(
            &"carol withdrew #3 (“Leaver: Cat Ode, Fri 13 Mar”) before it was decided: no decision is needed."
        )
    );
    let pressed = "#3 was withdrawn by carol before anyone decided: there is nothing to approve or decline, and nothing \
                   was changed.";
    assert_eq!(lines_to(&text, "mona").iter().filter(|l| **l == pressed).count(), 2, "{text}");
    assert_eq!(t(3)["state"], "closed");
    assert!(events_of(&j, 3, "approval").is_empty() && events_of(&j, 3, "declined").is_empty());
    assert_eq!(events_of(&j, 3, "withdrawn").len(), 1);
}

/// #33 probe, item 6: see `tests/replay/lifecycle_not_recurring.replay`.
#[tokio::test]
async fn leavers_and_joiners_raise_no_recurring_issue_notice() {
    let out = replay::run_file(&script("lifecycle_not_recurring.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    // Six walkthroughs started, three leavers and three joiners.
    for (who, n, what) in [
        ("mona", 1, "Someone is leaving (leaver)"),
        ("nina", 2, "Someone is leaving (leaver)"),
        // ("we're letting Tom go tomorrow": a dismissal is P1 from the start, session 19.)
        ("olga", 3, "Someone is leaving (leaver) (identity P1"),
        ("pete", 4, "New starter (joiner)"),
        ("rita", 5, "New starter (joiner)"),
        ("sara", 6, "New starter (joiner)"),
    ] {
        let opened = if what.ends_with("P1") {
            format!("Ticket #{n} opened: {what} request).")
        } else {
            format!("Ticket #{n} opened: {what} (identity P4 request).")
        };
        assert!(lines_to(&text, who).first().is_some_and(|l| l.starts_with(&opened)), "{who}: {text}");
    }
    // The only recurring notice is the three meeting-room faults; no leaver or joiner is counted or marked.
    let recurring: Vec<&str> =
        lines_to(&text, "#helpdesk-queue").into_iter().filter(|l| l.starts_with("Recurring:")).collect();
    assert_eq!(recurring.len(), 1, "{recurring:?}");
    assert!(recurring[0].starts_with("Recurring: #9 is look-alike number 3") && recurring[0].contains("#7, #8, #9"));
    for n in 1..=6 {
        assert!(events_of(&j, n, "recurring").is_empty(), "#{n}");
    }
}

/// #30 re-probe of the "+1" fixes: see `tests/replay/plus_one_reprobe.replay`.
#[tokio::test]
async fn plus_ones_that_describe_nothing_ask_and_a_person_gets_one_ticket_per_problem() {
    let out = replay::run_file(&script("plus_one_reprobe.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    // "+1 lol", "+1 agreed, poor gina", "same here!!! urgent": asked, no ticket, no outage.
    for who in ["bob", "carol", "fred"] {
        assert!(lines_to(&text, who)[0].starts_with("#1 is gina's own ticket, so I haven't added you to it."), "{who}");
    }
    assert!(events_of(&j, 1, "major_incident").is_empty(), "{text}");
    // bob: one ticket (#2); his second Yes and his "same here, I can't log in either" go to it.
    assert!(text.contains("bot -> bob: You have #2 for that already"), "{text}");
    let on_2 = events_of(&j, 2, "requester_message");
    assert_eq!(on_2.len(), 1);
    assert_eq!(on_2[0]["text"], "same here, I can't log in either");
    // eve's bare "+1" on the resolved printer ticket asks; carol's Yes after #1 was resolved is her own ticket.
    assert!(lines_to(&text, "eve")[0].starts_with("#3 is alice's own ticket"), "{text}");
    assert_eq!(j["tickets"][3]["requester"], "carol");
    assert_eq!(j["tickets"].as_array().unwrap().len(), 4, "no ticket for eve or fred");
    // fred's Yes a day later has expired.
    assert!(lines_to(&text, "fred").last().unwrap().starts_with("That question has expired"), "{text}");
}

/// #33 probe: see `tests/replay/walk_channel_answers.replay`.
#[tokio::test]
async fn a_channel_message_answers_a_typed_question_only_when_it_clearly_can() {
    let out = replay::run_file(&script("walk_channel_answers.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let text = out.text();
    // alice had two typed questions waiting: "SC542 fuser error" names a printer problem, so it answers the
    // printer's question (#1), and never the Outlook one (probe D: with two waiting, the category decides, and
    // only a reply naming neither is asked "which one?").
    let walk = events_of(&j, 1, "runbook");
    assert!(walk.iter().any(|e| e["transcript"].as_str().unwrap_or("").contains("SC542")), "#1: {walk:?}");
    let walk = events_of(&j, 2, "runbook");
    assert!(walk.iter().all(|e| !e["transcript"].as_str().unwrap_or("").contains("SC542")), "#2: {walk:?}");
    // bob: the coffee question is no answer and no ticket; the Outlook problem is its own ticket; the error code
    // is the printer question's answer.
    assert_eq!(j["tickets"].as_array().unwrap().len(), 4, "{text}");
    assert_eq!(j["tickets"][3]["category"], "saas");
    let handed = events_of(&j, 3, "runbook");
    assert_eq!(handed.len(), 1, "{handed:?}");
    let transcript = handed[0]["transcript"].as_str().unwrap();
    assert!(transcript.contains("SC542 on the display") && !transcript.contains("coffee"), "{transcript}");
}

/// #33 probe: see `tests/replay/leaver_unapproved_alert.replay`.
#[tokio::test]
async fn an_unapproved_leavers_access_end_tells_the_queue_not_to_act() {
    let out = replay::run_file(&script("leaver_unapproved_alert.replay")).await.unwrap();
    let text = out.text();
    let queue: Vec<_> =
        lines_to(&text, "#helpdesk-queue").into_iter().filter(|l| l.contains("Access removal")).collect();
    assert_eq!(queue.len(), 1, "{text}");
    assert!(queue[0].contains("it is NOT approved yet: do not act until a manager approves it"), "{}", queue[0]);
    assert!(!queue[0].contains("Block sign-in"), "{}", queue[0]);
    assert!(
        lines_to(&text, "mona")
            .iter()
            .any(|l| l.contains("still waiting for your decision as manager: /ticket approve 1")),
        "{text}"
    );
}

#[tokio::test]
async fn alert_silences_from_chat_reach_alertmanager_show_on_the_card_and_end_with_a_notice() {
    let out = replay::run_file(&script("alerts_silence.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("alerts_silence_text", text);
    let lines: Vec<&str> = text.lines().collect();
    let has = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    // The request Alertmanager receives: the group labels as equality matchers, the technician, the comment.
    assert_eq!(
        has(
            r#"bot -> alertmanager: POST http://am:9093/api/v2/silences {"comment":"deskbot #1: failing over to the replica","createdBy":"sam","endsAt":"2026-03-02T12:05:00Z","matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"DbDown"},{"isEqual":true,"isRegex":false,"name":"cluster","value":"eu1"}],"startsAt":"2026-03-02T10:05:00Z"}"#
        ),
        1,
        "{text}"
    );
    // Four silences were sent: the command, the button (2h), the replacement carrying the id of the one in force,
    // and the last one.
    assert_eq!(has("bot -> alertmanager: POST"), 4, "{text}");
    assert_eq!(has(r#""endsAt":"2026-03-02T14:10:00Z""#), 1, "the button silences for 2h from 12:10");
    assert_eq!(has(r#""id":"replay-"#), 1, "only the replacement names the silence it replaces");
    assert_eq!(has("Silenced until Mon 2 Mar 12:05 UTC by sam"), 1, "{text}");
    assert_eq!(has("Silence until Mon 2 Mar 12:05 UTC asked by sam; waiting for Alertmanager"), 1, "{text}");
    // Expiry: the queue while nobody owns #1, then the owner; the replaced silence (14:10) and the one that ends after
    // the resolution (16:50) are not told.
    assert_eq!(has("expired"), 4, "two notices and the two cards after them:\n{text}");
    assert!(text.contains(
        "bot -> #helpdesk-queue: The silence on #1 expired (sam set it until Mon 2 Mar 12:05 UTC): 1 alert(s) of the \
         group still firing, so Alertmanager notifies about them again."
    ));
    assert!(text.contains("bot -> sam: The silence on #1 expired (sam set it until Mon 2 Mar 16:20 UTC)"));
    assert!(!text.contains("until Mon 2 Mar 14:10 UTC):") && !text.contains("until Mon 2 Mar 16:50 UTC):"), "{text}");
    // Refusals, each with its reason.
    for refusal in [
        "bot -> sam: a silence from chat lasts at most 7d",
        "bot -> sam: `soon` is not a duration",
        "bot -> sam: #2 was raised by rmm, not Alertmanager",
        "bot -> sam: #3 is not an alert ticket",
        "bot -> sam: #4's alert group has no group labels",
        "bot -> sam: #5's Alertmanager did not send its address (externalURL)",
        "bot -> alice: only technicians can silence tickets (you are a requester)",
    ] {
        assert_eq!(has(refusal), 1, "{refusal}:\n{text}");
    }
    // Only tickets that can be silenced offer the button.
    for card in ["Alert ticket #2 ·", "Alert ticket #4 ·", "Alert ticket #5 ·"] {
        assert!(lines.iter().filter(|l| l.contains(card)).all(|l| !l.contains("[Silence 2h]")), "{card}");
    }
    let j = out.json().await.unwrap();
    let kinds = event_kinds(&j, 1);
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!((count("silence_requested"), count("silenced"), count("silence_expired")), (4, 4, 2), "{kinds:?}");
    for n in [2, 4, 5] {
        assert!(event_kinds(&j, n).iter().any(|k| k == "denied"), "the refusal is recorded on #{n}");
    }
}

/// #33 probe: see `tests/replay/leaver_early_resolve.replay`.
#[tokio::test]
async fn a_leaver_is_not_resolved_before_its_access_end_unless_said_early() {
    let out = replay::run_file(&script("leaver_early_resolve.replay")).await.unwrap();
    let text = out.text();
    let to_sam = lines_to(&text, "sam");
    // Access ends at the close of Friday 13 March (16:00 on Fridays in office.toml), Europe/London = UTC in March.
    assert!(
        to_sam
            .iter()
            .any(|l| l.starts_with("#1's access ends Fri 13 Mar 16:00") && l.contains("/ticket resolve 1 early:")),
        "{to_sam:?}"
    );
    assert!(
        to_sam
            .iter()
            .any(|l| l.starts_with("Checklist for #1 (all done; resolve it once access ends Fri 13 Mar 16:00")),
        "the last tick says what is left: {to_sam:?}"
    );
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "resolved", "the second, said-early resolve goes through");
    assert_eq!(events_of(&j, 1, "resolved").len(), 1, "{text}");
}

// -------------------------------------------------------------------------------------------------------------------
// Walkthrough mechanics (#33)

/// #33: see `walk_late_answer.replay`.
#[tokio::test]
async fn a_walkthrough_button_pressed_after_the_hand_off_goes_to_the_ticket_and_restarts_nothing() {
    let out = replay::run_file(&script("walk_late_answer.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("walk_late_answer", text);
    let to_alice = lines_to(&text, "alice");
    let late = |label: &str| {
        format!(
            "#1 is already with the technicians (handed over Mon 2 Mar 11:00 UTC), so that walkthrough has ended and \
             nothing starts again. I've added your answer to #1 for them: “{label}”. Write in #1's thread if there's \
             more."
        )
    };
    for label in ["Faster now", "Still slow", "Talk to a person"] {
        assert_eq!(to_alice.iter().filter(|l| **l == late(label)).count(), 1, "{label}: {to_alice:#?}");
    }
    assert!(!text.contains("Describe the problem again"), "{text}");
    // The owner hears of the first late answer after the claim at once; the one a moment later is folded.
    let to_sam = lines_to(&text, "sam");
    assert!(to_sam.contains(&"alice answered #1's walkthrough after it was handed over: “Still slow”"), "{to_sam:#?}");
    assert!(!to_sam.iter().any(|l| l.contains("“Talk to a person”") && l.starts_with("alice answered")));
    // Each late answer is a note on the ticket, shown to staff by /ticket show.
    let j = out.json().await.unwrap();
    let note = |label: &str| {
        format!(
            "alice answered the self-service walkthrough (Computer slow, crashing or not starting) after it had \
             ended: “{label}”"
        )
    };
    assert_eq!(notes_of(&j, 1), [note("Faster now"), note("Still slow"), note("Talk to a person")]);
    let show = to_sam.iter().find(|l| l.starts_with("#1 “my laptop is super slow”")).unwrap();
    assert!(show.contains(&format!("deskbot noted (internal): {}", quote_of(&note("Still slow")))), "{show}");
    // Nothing restarted: one ticket, resolved by sam (not by the "Faster now" pressed late), no second walkthrough.
    let t = j["tickets"].as_array().unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0]["state"].as_str(), t[0]["owner"].as_str(), t[0]["deflected"].as_bool()),
        (Some("resolved"), Some("sam"), Some(false))
    );
    assert_eq!(to_alice.iter().filter(|l| l.starts_with("Sorry it's crawling")).count(), 1);
    // After the resolution the late press says what to do, and reopens nothing.
    assert_eq!(
        to_alice.last().copied(),
        Some(
            "That walkthrough has ended and #1 is resolved. If the problem is back, write in #1's thread (or press \
             Reopen) and a technician will pick it up."
        )
    );
}

/// `s` as deskbot quotes someone's text: in curly quotes.
fn quote_of(s: &str) -> String {
    format!("“{s}”")
}

/// #33: see `walk_p1.replay`.
#[tokio::test]
async fn a_p1_skips_the_walkthrough_and_goes_straight_to_the_queue() {
    let out = replay::run_file(&script("walk_p1.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("walk_p1", text);
    let j = out.json().await.unwrap();
    let t = j["tickets"].as_array().unwrap();
    let prio: Vec<&str> = t.iter().map(|t| t["priority"].as_str().unwrap()).collect();
    assert_eq!(prio, ["P1", "P1", "P1", "P1", "P2"]);
    let urgent = |n: usize, category: &str| {
        format!(
            "Ticket #{n} opened: {category} (P1 incident). It's urgent, so it's gone straight to the technicians: \
             someone will respond by Mon 2 Mar 09:30 UTC (within 30m)."
        )
    };
    for (who, n, category) in [("ann", 1, "identity"), ("ben", 2, "endpoint"), ("carol", 3, "security")] {
        // Told once, and nothing else: no step to try, no button that waits on them.
        assert_eq!(lines_to(&text, who), [urgent(n, category).as_str()], "{who}");
    }
    // Every P1 has its card in the queue, and nothing about the first three ever ran a walkthrough.
    for n in 1..=4 {
        let card = format!("bot -> #helpdesk-queue: New ticket #{n} · P1 · ");
        assert_eq!(lines_with(&text, &card).len(), 1, "#{n}: {text}");
    }
    for (i, ticket) in t.iter().take(3).enumerate() {
        assert!(!ticket["events"].as_array().unwrap().iter().any(|e| e["kind"] == "runbook"), "#{}", i + 1);
    }
    // Dan's walkthrough ended when his next message made #4 P1: a hand-off, with the reason on the card.
    let to_dan = lines_to(&text, "dan");
    assert!(to_dan[1].starts_with("Sorry it's crawling."), "{to_dan:#?}");
    assert_eq!(
        &to_dan[2..],
        [
            "Added to #4. It's now P1, so it's answered sooner.",
            "#4 is urgent now, so I've stopped the walkthrough and handed it straight to a technician with what you \
             tried. They'll respond by Mon 2 Mar 09:30 UTC."
        ]
    );
    let card4 = lines_with(&text, "bot -> #helpdesk-queue: New ticket #4 · P1 · endpoint")[0];
    assert!(card4.contains("Self-service tried: “Computer slow, crashing or not starting” — urgent (P1): handed straight to a technician"), "{card4}");
    let handoff: Vec<&serde_json::Value> =
        t[3]["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "runbook").collect();
    assert_eq!(handoff.len(), 1);
    assert_eq!(handoff[0]["outcome"], "handoff");
    // Erin's P2 still gets the usual fix first; the queue sees its card at once, saying so (probe K: two
    // walkthrough timeouts used up its 1h response target before the card was posted).
    assert!(lines_to(&text, "erin")[1].starts_with("Sorry about the jam"), "{text}");
    let card5 = lines_with(&text, "bot -> #helpdesk-queue: New ticket #5");
    assert_eq!(card5.len(), 1, "{text}");
    assert!(card5[0].contains("· trying “Print job stuck or paper jam” with deskbot meanwhile"), "{text}");
    // The queue is warned about each P1 (nobody owns them) and hears of the breach at 09:30; #5 has only its card
    // (its warnings wait for the walkthrough).
    for n in 1..=4 {
        let warned =
            text.lines().filter(|l| l.starts_with("bot -> #helpdesk-queue:") && l.contains(&format!("#{n} "))).count();
        assert!(warned >= 2, "#{n} has its card and at least one warning: {text}");
    }
    assert_eq!(
        text.lines().filter(|l| l.starts_with("bot -> #helpdesk-queue:") && l.contains("#5")).count(),
        1,
        "{text}"
    );
}

/// #33: see `report_fcr.replay`. Reopen rate, first-contact resolution and deflection as the ITSM notes define them
/// (section 4), for the week of Mon 2 Mar, worked out by hand:
///
/// | # | who | what happened this week | resolved | fix reopened | deflected | first contact |
/// |---|-----|--------------------------|----------|--------------|-----------|---------------|
/// | 1 | alice | walkthrough fixed it, "Still broken", still open | yes | yes | no (reopened) | not counted: no technician's fix |
/// | 2 | bob | walkthrough fixed it | yes | no | yes | not counted: no technician's fix |
/// | 3 | carol | sam replied once, resolved | yes | no | no | counted, yes (1 reply, fix held) |
/// | 4 | dave | sam replied twice, resolved | yes | no | no | counted, no (2 replies) |
/// | 5 | erin | walkthrough fixed it, "Still broken"; sam replied once, resolved | yes | yes (the walkthrough's) | no | counted, yes (the reopen was before sam's fix) |
/// | 6 | frank | walkthrough: nothing for IT to do; reopened, still open | yes | yes | no | not counted: no technician's fix |
///
/// Resolved 6. Reopen rate 3 of 6 = 50.0%. Deflection 1 of 6 = 16.7%. First contact 2 of 3 = 66.7% (the
/// walkthrough's fixes #1 and #6, reopened and still open, are not in its denominator).
#[tokio::test]
async fn first_contact_resolution_counts_technicians_fixes_only() {
    let out = replay::run_file(&script("report_fcr.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    let r = &j["reports"][0]["report"];
    let rate = |k: &str| (r[k]["count"].as_u64(), r[k]["of"].as_u64(), r[k]["percent"].as_f64());
    assert_eq!(r["resolved"]["tickets"], 6);
    assert_eq!(rate("reopen_rate"), (Some(3), Some(6), Some(50.0)));
    assert_eq!(rate("deflection"), (Some(1), Some(6), Some(16.7)));
    assert_eq!(rate("first_contact_resolution"), (Some(2), Some(3), Some(66.7)));
    // #1 and #6 are still open: two in the backlog.
    assert_eq!(r["backlog"]["open"], 2);
    let states: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["open", "resolved", "resolved", "resolved", "resolved", "open"]);
    let text = out.text();
    assert!(
        text.contains("reopened 50.0% (3 of them reopened later); first-contact 66.7%; deflected by runbooks 16.7%")
    );
}

/// #30 probe (a05b, a06): see `reopen_went_elsewhere.replay`. Expected by hand: bob cannot reopen #2 (folded into
/// major incident #1), neither can sam; both are pointed to #1, and bob, once #1 is resolved, to saying so in #2's
/// thread. In the chain #4 into #3 into #5, erin (#4), sam and dan (#3) are all pointed to #5, never to #3. Every
/// refusal is recorded; #2, #3 and #4 stay closed and unowned, and no SLA warning names them.
#[tokio::test]
async fn folded_and_merged_tickets_are_not_reopened_and_the_refusal_names_where_they_went() {
    let out = replay::run_file(&script("reopen_went_elsewhere.replay")).await.unwrap();
    let text = out.text();
    let to_bob = lines_to(&text, "bob");
    assert!(
        to_bob.iter().any(|l| l.starts_with("#2 is part of major incident #1, where it is being worked on")),
        "{to_bob:?}"
    );
    assert!(
        to_bob.iter().any(|l| l.starts_with(
            "#2 is part of major incident #1, which is resolved; if the problem is back, say so in #2's thread"
        )),
        "{to_bob:?}"
    );
    assert!(!to_bob.iter().any(|l| l.contains("is open again")), "{to_bob:?}");
    let to_sam = lines_to(&text, "sam");
    assert!(
        to_sam
            .iter()
            .any(|l| l.starts_with("#2 is part of major incident #1 and cannot be reopened on its own; work on #1"))
    );
    assert!(
        to_sam.iter().any(|l| l.starts_with("#4 was merged into #5 and cannot be reopened; work on #5")),
        "{to_sam:?}"
    );
    assert!(
        lines_to(&text, "erin").iter().any(|l| l.starts_with("#4 was merged into #5, where it is being worked on")),
        "{text}"
    );
    assert!(
        lines_to(&text, "dan").iter().any(|l| l.starts_with("#3 was merged into #5, where it is being worked on")),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.contains("SLA") && (l.contains("#2 ") || l.contains("#3 ") || l.contains("#4 "))),
        "{text}"
    );
    let j = out.json().await.unwrap();
    for n in [2, 3, 4] {
        assert_eq!(j["tickets"][n - 1]["state"], "closed", "#{n}");
        assert_eq!(j["tickets"][n - 1]["reopen_count"], 0, "#{n}");
    }
    assert_eq!(denied_on(&j, 2), pairs(&[("bob", "reopen"), ("sam", "reopen"), ("bob", "reopen")]));
    assert_eq!(denied_on(&j, 4), pairs(&[("erin", "reopen"), ("sam", "reopen")]));
    assert_eq!(denied_on(&j, 3), pairs(&[("dan", "reopen")]));
}

/// #30 probe (a05, a07, a13, b09, b13): see `denied_everywhere.replay`. Expected by hand: on #1, sam's assign to a
/// requester, merge into itself, vendor-update with no case, second escalation to FastNet and vendor-update with two
/// cases; on #2, the claim with an extra argument (once: its repeat is counted) and the escalation of the closed
/// ticket. Nothing is recorded for #9, which does not exist.
#[tokio::test]
async fn every_refusal_of_a_command_naming_a_ticket_is_recorded_on_it() {
    let out = replay::run_file(&script("denied_everywhere.replay")).await.unwrap();
    let j = out.json().await.unwrap();
    assert_eq!(
        denied_on(&j, 1),
        pairs(&[
            ("sam", "assign"),
            ("sam", "merge"),
            ("sam", "vendor-update"),
            ("sam", "escalate"),
            ("sam", "vendor-update")
        ])
    );
    assert_eq!(denied_on(&j, 2), pairs(&[("sam", "claim"), ("sam", "escalate")]));
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2);
    // What was refused is kept with the refusal.
    let reasons: Vec<&str> = j["tickets"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "denied")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"a ticket cannot be merged into itself"), "{reasons:?}");
    assert!(reasons.contains(&"#1 already has an open case with FastNet ISP"), "{reasons:?}");
}

/// #30 probe (a07, a02): see `as_admin.replay`. Expected by hand: sam reads "ada (as admin)" for the escalation
/// and the reassignment of #1, tom for its vendor-close and unclaim; ada's reply is not marked. #1 carries one
/// `as_admin` event per marked action, by ada; lee's reassignment and unclaim of #2 are not marked anywhere.
#[tokio::test]
async fn an_admin_beyond_the_technician_role_says_so_and_a_lead_in_theirs_does_not() {
    let out = replay::run_file(&script("as_admin.replay")).await.unwrap();
    let text = out.text();
    let to_sam = lines_to(&text, "sam");
    assert!(to_sam.contains(&"ada (as admin) used /ticket escalate on #1, which you own."), "{to_sam:?}");
    assert!(to_sam.contains(&"ada (as admin) reassigned #1 from you to tom."), "{to_sam:?}");
    assert!(to_sam.contains(&"ada used /ticket reply on #1, which you own."), "{to_sam:?}");
    assert!(to_sam.contains(&"lee reassigned #2 from you to tom."), "{to_sam:?}");
    let to_tom = lines_to(&text, "tom");
    assert!(to_tom.contains(&"ada (as admin) used /ticket vendor-close on #1, which you own."), "{to_tom:?}");
    assert!(to_tom.contains(&"ada (as admin) unclaimed #1, which you owned; it is back in the queue."), "{to_tom:?}");
    assert!(to_tom.contains(&"lee unclaimed #2, which you owned; it is back in the queue."), "{to_tom:?}");
    assert!(!text.lines().any(|l| l.contains("lee (as") || (l.starts_with("bot -> vendor") && l.contains("as admin"))));
    let j = out.json().await.unwrap();
    let marked = |n: usize| -> Vec<(String, String)> {
        j["tickets"][n - 1]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "as_admin")
            .map(|e| (e["actor"].as_str().unwrap().to_string(), e["action"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(
        marked(1),
        pairs(&[("ada", "escalate"), ("ada", "assign"), ("ada", "vendor-close"), ("ada", "unclaim")])
    );
    assert!(marked(2).is_empty());
}

/// #35 probe (b04): see `vendor_merge_subject.replay`. Expected by hand: after the merge every mail to FastNet about
/// case FN-1 (moved, chase, closure) is titled "the internet is down on floor 3, nothing loads" and quotes #2; none
/// carries bob's words, his name, #2's note or sam's name; the moved mail names tom as the new contact.
#[tokio::test]
async fn vendor_mails_after_a_merge_keep_the_case_title_and_name_the_new_contact() {
    let out = replay::run_file(&script("vendor_merge_subject.replay")).await.unwrap();
    let text = out.text();
    let after: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bot -> vendor isp") && l.contains("FN-1"))
        .filter(|l| !l.contains("(email, case)"))
        .collect();
    assert_eq!(after.len(), 4, "moved, #3's closure naming FN-1, chase, closure: {after:?}");
    for l in &after {
        for secret in ["Henderson", "PIP", "bob", "sam "] {
            assert!(!l.contains(secret), "{secret} in {l}");
        }
    }
    let moved = after.iter().find(|l| l.contains("(email, moved)")).unwrap();
    assert!(
        moved.contains("Re: [deskbot #2] the internet is down on floor 3, nothing loads (your ref FN-1)"),
        "{moved}"
    );
    assert!(moved.contains("tom is now our contact for it"), "{moved}");
    for what in ["(email, chase)", "(email, closed)"] {
        let l = after.iter().rfind(|l| l.contains(what)).unwrap();
        assert!(l.contains("[deskbot #2] the internet is down on floor 3, nothing loads (your ref FN-1)"), "{l}");
    }
}

/// #36: see `alerts_card_links.replay`.
#[tokio::test]
async fn alert_cards_link_back_on_bounded_lines_of_their_own() {
    let out = replay::run_file(&script("alerts_card_links.replay")).await.unwrap();
    let text = out.text();
    insta::assert_snapshot!("alerts_card_links", text);
    let card = |n: u32| {
        let prefix = format!("bot -> #helpdesk-queue: Alert ticket #{n} ");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
        // Replay shows a message's newlines as " | ".
        line.split(" | ").map(str::to_string).collect::<Vec<_>>()
    };
    let c1 = card(1);
    // The description's newline is shown as \n: no forged "Source:" line.
    assert!(c1.contains(&r"Description: Root filesystems are above 90%.\nSource: https://forged.example".to_string()));
    assert!(!c1.iter().any(|l| l.starts_with("Source: https://forged")), "{c1:#?}");
    // Six alerts, six sources: the first three, what tells them apart, and how many more. srv1's link is 600
    // characters: shown without its query. The others' masked-link markup is percent-encoded.
    let sources: Vec<&String> = c1.iter().filter(|l| l.starts_with("Source")).collect();
    assert_eq!(
        sources,
        [
            "Source (instance=srv1): http://prometheus.example:9090/graph",
            "Source (instance=srv2): http://prom-2.example:9090/graph?g0.expr=x%5BClick%5D%28https://evil.example%29",
            "Source (instance=srv3): http://prom-3.example:9090/graph?g0.expr=x%5BClick%5D%28https://evil.example%29",
            "Sources: 3 more not shown",
        ]
    );
    assert!(c1.contains(
        &"Alertmanager: http://alertmanager.example:9093/#/alerts?filter=%7Balertname%3D%22DiskFull%22%7D".to_string()
    ));
    // Its dashboard_url is 476 characters with no query to drop: not shown, and said.
    assert!(!c1.iter().any(|l| l.starts_with("Dashboard:")));
    // Every line of every card is bounded.
    for n in 1..=3 {
        assert!(card(n).iter().all(|l| l.chars().count() <= 700), "#{n}");
    }
    // #2: `dashboard` is a javascript: link, so the next one asked for, `grafana_url`, is shown.
    let c2 = card(2);
    assert!(c2.contains(&"Dashboard: https://grafana.example/d/certs".to_string()), "{c2:#?}");
    assert!(c2.contains(&"Source: http://prometheus.example:9090/graph".to_string()), "{c2:#?}");
    // #3, a generic alert: its description and link; no Alertmanager sent it.
    let c3 = card(3);
    assert!(c3.contains(&r"Description: Job nightly exited with code 3\nrerun: never".to_string()), "{c3:#?}");
    assert!(c3.iter().any(|l| l.starts_with("Source: https://rmm.example/alerts/991")), "{c3:#?}");
    assert!(!c3.iter().any(|l| l.starts_with("Alertmanager:")));
    let j = out.json().await.unwrap();
    assert_eq!(notes_of(&j, 1).len(), 1);
    assert!(notes_of(&j, 1)[0].starts_with("The alert's dashboard link `https://grafana.example/d/aaaa"));
    assert!(notes_of(&j, 1)[0].ends_with("` is not shown: it is too long."));
    assert_eq!(
        notes_of(&j, 2),
        ["The alert's dashboard link `javascript:alert(1)` is not shown: only http and https links are."]
    );
}

/// #35: a 24x7 contract chased every 2 hours on a ticket worked in office hours. The contract clock runs all
/// weekend; the owner's prompts and the requester's promised updates wait for the office's hours.
#[tokio::test]
async fn vendor_prompts_and_requester_updates_keep_office_hours() {
    let out = replay::run_file(&script("vendor_quiet_hours.replay")).await.unwrap();
    let text = out.text();
    let lines = |prefix: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect::<Vec<_>>()
    };
    // Escalated Fri 14:00: every 2h is Fri 16:00, then 18:00 (after hours) becomes Mon 09:00, then 11:00, and
    // 13:00 (the instant of the last line, which fires first).
    let prompts = lines("bot -> sam: No update from FibreNet on #1");
    assert_eq!(prompts.len(), 4, "Fri 16:00, Mon 09:00, 11:00, 13:00: {prompts:#?}");
    let updates = lines("bot -> alice: #1 is still with FibreNet");
    let next: Vec<&str> = updates.iter().map(|l| l.rsplit_once("Next update by ").unwrap().1).collect();
    assert_eq!(next, ["Mon 9 Mar 09:00 UTC.", "Mon 9 Mar 11:00 UTC.", "Mon 9 Mar 13:00 UTC.", "Mon 9 Mar 15:00 UTC."]);
    assert!(text.contains("bot -> sam: add what they said after `isp`"), "{text}");
    let j = out.json().await.unwrap();
    let at = |reason: &str| -> Vec<String> {
        events_of(&j, 1, "vendor_follow_up_due")
            .iter()
            .filter(|e| e["reason"] == reason)
            .map(|e| e["at"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = ["2026-03-06T16:00:00Z", "2026-03-09T09:00:00Z", "2026-03-09T11:00:00Z", "2026-03-09T13:00:00Z"];
    assert_eq!(at("quiet"), expected);
    assert_eq!(at("requester"), expected);
    // "isp" alone was refused, not recorded as FibreNet's update.
    let updates: Vec<_> = events_of(&j, 1, "vendor_update").iter().map(|e| e["text"].clone()).collect();
    assert_eq!(updates, [serde_json::json!("they are sending an engineer on Tuesday")]);
}

/// #33 second probe: see `lifecycle_probe2.replay` (expectations written there first).
#[tokio::test]
async fn joiners_in_hr_words_an_unanswered_dismissal_and_dates_that_need_asking() {
    let out = replay::run_file(&script("lifecycle_probe2.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let t = |n: usize| &j["tickets"][n - 1];
    for n in 1..=2 {
        assert!(
            first_to(&text, ["hana", "mona"][n - 1], &format!("Ticket #{n} opened: New starter (joiner)")).is_some()
        );
    }
    assert!(text.contains("From your message: **Name:** Sam Lee · **First day:** Mon 9 Mar 2026."), "{text}");
    // "Monday" said on a Monday: the name is taken, the first day asked.
    assert!(text.contains("From your message: **Name:** Grace Obi. (You can change it before it is sent.) |  | What is Grace Obi's first day?"), "{text}");
    assert!(first_to(&text, "olga", "Ticket #3 opened: Someone is leaving (leaver)").is_some());
    assert!(text.contains("**Name:** Ola Nwosu · **Access ends:** Mon 2 Mar 2026 17:30 GMT"), "{text}");
    // The dismissal handed off without its date is P1 and says the access end is missing; the abandoned leaver keeps
    // its intent's priority (a leaver started with /ticket start gets the same, P4).
    assert_eq!(t(4)["priority"], "P1");
    // (Its first card, at open, says the same: a dismissal is P1 from its first message; session 17.)
    let opened = text.lines().find(|l| l.starts_with("bot -> #helpdesk-queue: New ticket #4")).expect("#4 opened");
    assert!(opened.contains("P1") && opened.contains("DISMISSAL, access end not given yet"), "{opened}");
    let card = text.lines().rfind(|l| l.starts_with("bot -> #helpdesk-queue: New ticket #4")).expect("#4");
    assert!(card.contains("DISMISSAL, access end not given: ask the requester now"), "{card}");
    assert_eq!(t(3)["priority"], "P4");
    // "the 31st" in April is asked.
    assert!(
        text.contains("I couldn't use that as the time access ends: April has no 31st: please give the month too.")
    );
    assert!(!text.contains("29 May"), "{text}");
}

/// See `queue_self_service.replay`.
#[tokio::test]
async fn the_queue_marks_a_ticket_whose_requester_is_still_in_self_service() {
    let out = replay::run_file(&script("queue_self_service.replay")).await.unwrap();
    let text = out.text();
    let queues: Vec<&str> = text.lines().filter(|l| l.starts_with("bot -> sam: Queue: 1 open")).collect();
    assert_eq!(queues.len(), 2, "{text}");
    assert!(queues[0].contains("#1 P3 printing · new (requester in self-service) · unowned"), "{}", queues[0]);
    assert!(queues[1].contains("#1 P3 printing · new · unowned"), "{}", queues[1]);
}

/// #36 probe B, D1: two Alertmanager clusters with one routing config send the same groupKey. Each is its own
/// ticket, linked to its own Alertmanager; site A's recovery leaves site B's outage alone; site A's HA peer (its own
/// externalURL, the same alert) joins site A's ticket, and its late firing copy changes nothing.
#[tokio::test]
async fn the_same_group_key_from_two_alertmanagers_is_two_tickets() {
    let out = replay::run_file(&script("alerts_two_alertmanagers.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    let states: Vec<&str> = tickets.iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["resolved", "new"], "{text}");
    assert_eq!(tickets[0]["resolved_at"], "2026-03-02T09:03:00Z");
    assert_eq!(tickets[1]["priority"], "P1");
    // Site A's ticket never took site B's alert, nor its HA peer's copy as a new one.
    assert!(notes_of(&j, 1).iter().all(|n| !n.contains("new alert(s) firing")), "{:?}", notes_of(&j, 1));
    let cards_1 = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #1 · ");
    let cards_2 = lines_with(&text, "bot -> #helpdesk-queue: Alert ticket #2 · ");
    assert!(!cards_1.is_empty() && !cards_2.is_empty(), "{text}");
    assert!(cards_1.iter().all(|c| c.contains("Alertmanager: https://am.site-a.example.com/#/alerts?")), "{cards_1:?}");
    assert!(cards_1.iter().all(|c| !c.contains("nodeB") && !c.contains("FIRING (2")), "{cards_1:?}");
    assert!(cards_2.iter().all(|c| c.contains("Alertmanager: https://am.site-b.example.com/#/alerts?")), "{cards_2:?}");
    assert!(cards_2.iter().all(|c| c.contains("FIRING (1 alert)") && !c.contains("nodeA")), "{cards_2:?}");
    // The silence goes to the Alertmanager that sent #2.
    assert!(text.contains("bot -> alertmanager: POST https://am.site-b.example.com/api/v2/silences "), "{text}");
    let queue = lines_to(&text, "sam");
    let queue = queue.last().unwrap();
    assert!(queue.contains("#2") && !queue.contains("#1 "), "{queue}");
}

/// #36 probe B, D2: storms are counted per Alertmanager. A second Alertmanager's first groups are tickets of their
/// own (a critical one among them, silenceable), not collected on a storm another Alertmanager started.
#[tokio::test]
async fn one_alertmanagers_storm_does_not_collect_anothers_first_alerts() {
    let out = replay::run_file(&script("alerts_storm_per_alertmanager.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let titles: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 6, "{titles:?}");
    assert_eq!(&titles[..2], ["A0 is unhappy", "A1 is unhappy"]);
    assert!(titles[2].starts_with("Alert storm: more than 2 alert tickets from Alertmanager am1:9093"), "{titles:?}");
    assert_eq!(&titles[3..5], ["SiteBDown is unhappy", "B1 is unhappy"]);
    assert!(
        titles[5].starts_with("Alert storm: more than 2 alert tickets from Alertmanager am.site-b.example.com"),
        "{titles:?}"
    );
    assert_eq!(j["tickets"][3]["priority"], "P1");
    let storms: Vec<&str> = text.lines().filter(|l| l.contains(": Alert storm from Alertmanager")).collect();
    assert_eq!(storms.len(), 2, "{storms:?}");
    assert!(
        storms[0].contains("Alert storm from Alertmanager am1:9093: over 2 alert tickets in an hour"),
        "{storms:?}"
    );
    assert!(
        storms[1].contains("Alert storm from Alertmanager am.site-b.example.com: over 2 alert tickets in an hour. New P3 alert groups are collected on #6"),
        "{storms:?}"
    );
    assert!(text.contains("bot -> alertmanager: POST https://am.site-b.example.com/api/v2/silences "), "{text}");
}

/// #36 probe B, D6: a group's resolution seen before any firing still makes a late firing copy with the same
/// `startsAt` stale (no ticket that would stay open for an outage that is over); firing again opens one.
#[tokio::test]
async fn a_stale_firing_after_a_resolution_seen_first_opens_nothing() {
    let out = replay::run_file(&script("alerts_stale_first.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{text}");
    assert_eq!(tickets[0]["created_at"], "2026-03-02T09:02:00Z");
    assert_eq!(tickets[0]["state"], "new");
}

/// #36 probe B, D7: the acknowledgement keeps running while a flapping alert is resolved, so a warning point
/// that passed meanwhile is announced (the highest one, once) when it fires again, as for a recomputed target.
/// By hand: P1, 30m on 24x7 → due 09:30; 75% 09:22:30 and 90% 09:27 both fall while resolved (09:20–09:28): at the
/// 09:28 reopen one 90% warning to the queue and the lead (nobody owns it), none at 75%; the breach at 09:30.
#[tokio::test]
async fn an_ack_warning_that_passed_while_the_alert_was_resolved_is_announced_when_it_fires_again() {
    let out = replay::run_file(&script("alerts_ack_flap.replay")).await.unwrap();
    let text = out.text();
    let count = |s: &str| text.lines().filter(|l| l.contains(s)).count();
    assert_eq!(count("used 75% of its first response"), 0, "{text}");
    assert_eq!(count("used 90% of its first response"), 2, "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("bot -> lee: ") && l.contains("used 90% of its first response")),
        "{text}"
    );
    assert_eq!(count("SLA breach: #1"), 3, "{text}");
    let j = out.json().await.unwrap();
    let warned = events_of(&j, 1, "sla_warning");
    assert!(warned.iter().any(|e| e["percent"] == 90 && e["at"] == "2026-03-02T09:28:00Z"), "{warned:?}");
}

/// #33 probe (A1, A2, A12): see `tests/replay/withdraw_called_off.replay`. Expected, written before running: bob's
/// "nvm, she is staying" during the handover question is offered for cancelling and is no answer (the handover is
/// Jane Doe); two hours into the approval wait, the same in the channel is offered again, and Close it withdraws #1
/// (hana is told, her Approve changes nothing, and no access removal is alerted for #1 on Friday). carol's approved
/// leaver #2, called off by naming Tom Baker in the channel two hours later, is offered for cancelling.
#[tokio::test]
async fn a_leaver_called_off_in_the_channel_is_offered_for_cancelling_never_taken_as_an_answer() {
    let out = replay::run_file(&script("withdraw_called_off.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let bob = lines_to(&text, "bob");
    // While its questions are asked its title is still the message; once sent, it names the leaver.
    let offers: Vec<&&str> = bob.iter().filter(|l| l.starts_with("Shall I cancel #1 (“")).collect();
    assert_eq!(offers.len(), 2, "{text}");
    assert!(offers[0].contains("Sarah Connor is leaving on Friday") && offers[1].contains("Leaver: Sarah Connor"));
    assert!(offers.iter().all(|l| l.ends_with("[Close it] [Keep it open]")), "{offers:?}");
    assert!(bob.iter().any(|l| l.contains("**Email and files go to:** Jane Doe")), "{text}");
    assert!(!text.contains("go to:** nvm"), "{text}");
    let walk = events_of(&j, 1, "runbook");
    assert!(walk.iter().all(|e| !e["transcript"].as_str().unwrap_or("").contains("staying")), "{walk:?}");
    assert_eq!(j["tickets"][0]["state"], "closed");
    assert_eq!(events_of(&j, 1, "withdrawn").len(), 1);
    assert!(events_of(&j, 1, "approval").is_empty(), "hana's Approve after the withdrawal changed nothing");
    let hana = lines_to(&text, "hana");
    assert!(hana.iter().any(|l| l.starts_with("bob withdrew #1")), "{hana:?}");
    assert!(hana.iter().any(|l| l.starts_with("#1 was withdrawn by bob before anyone decided")), "{hana:?}");
    assert!(!text.lines().any(|l| l.contains("Access removal") && l.contains("#1")), "{text}");
    // carol's approved leaver, called off by name: offered, not a new ticket.
    let carol = lines_to(&text, "carol");
    assert!(
        carol.iter().any(|l| l.starts_with("Shall I cancel #2 (“Leaver: Tom Baker") && l.ends_with("[Keep it open]")),
        "{carol:?}"
    );
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2, "{text}");
}

/// #33 probe (A5, A14): see `tests/replay/walk_typed.replay`. Expected, written before running: bob's "didn't work"
/// at open-queue (four buttons, none "fixed") shows the buttons again; "i see a stuck job" goes to cancel-job;
/// "still nothing …" takes "Still nothing comes out" (printer-status); "talk to a person" hands #1 off at once,
/// and the transcript keeps all four typed messages. alice's "that didn't work" in the channel goes to #2's first
/// step (shown again, no ticket #3), "yes" presses "Yes, the internet is fine" (restart-app), and "ok that fixed it
/// thanks" presses "Stable now": #2 resolved and deflected, not withdrawn. No "Still there?" reminder.
#[tokio::test]
async fn typed_replies_at_a_button_step_are_read_as_its_buttons_and_kept_for_the_technician() {
    let out = replay::run_file(&script("walk_typed.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2, "{text}");
    let bob = lines_to(&text, "bob");
    let again: Vec<&&str> = bob.iter().filter(|l| l.starts_with("I couldn't tell which of these you meant")).collect();
    assert_eq!(again.len(), 1, "{bob:?}");
    assert!(again[0].contains("[I see a stuck job]"), "{}", again[0]);
    assert!(bob.iter().any(|l| l.starts_with("Cancel the stuck job")), "{bob:?}");
    assert!(bob.iter().any(|l| l.starts_with("Now the printer: touch its screen")), "{bob:?}");
    assert!(bob.iter().any(|l| l.starts_with("Thanks, I've handed #1 to a technician")), "{bob:?}");
    let handed = events_of(&j, 1, "runbook");
    assert_eq!(handed.len(), 1, "{handed:?}");
    let transcript = handed[0]["transcript"].as_str().unwrap();
    for said in ["typed: didn't work", "typed: i see a stuck job", "typed: still nothing", "typed: talk to a person"] {
        assert!(transcript.contains(said), "{said}: {transcript}");
    }
    assert!(transcript.contains("handed off: asked to talk to a person"), "{transcript}");
    let card = first_to(&text, "#helpdesk-queue", "New ticket #1").unwrap();
    assert!(card.contains("typed “didn't work”"), "{card}");
    assert!(!text.contains("Still there?"), "{text}");
    // alice, in the channel.
    let alice = lines_to(&text, "alice");
    assert!(alice.iter().any(|l| l.starts_with("I couldn't tell which of these you meant")), "{alice:?}");
    assert!(alice.iter().any(|l| l.starts_with("Let's restart")), "{alice:?}");
    assert!(alice.iter().any(|l| l.starts_with("Great, glad that worked! I've closed #2")), "{alice:?}");
    let t2 = &j["tickets"][1];
    assert_eq!((t2["state"].as_str(), t2["deflected"].as_bool()), (Some("resolved"), Some(true)), "{t2}");
    assert!(events_of(&j, 2, "withdrawn").is_empty());
}

/// #33 probe (A15): see `tests/replay/approval_second_click.replay`. Expected, written before running: hana's
/// Approve an hour after mo's is refused saying mo approved it at 09:00, and records no second approval.
#[tokio::test]
async fn a_second_approvers_late_click_says_who_decided_and_when() {
    let out = replay::run_file(&script("approval_second_click.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("bot -> hana")
            && l.contains("#1 was already approved by mo (Mon 2 Mar 09:00")
            && l.contains("your approve changed nothing")),
        "{text}"
    );
    assert_eq!(events_of(&j, 1, "approval").len(), 1);
}

/// #33 probe (A6): see `leaver_approved_late.replay` (expectations written there first).
#[tokio::test]
async fn a_leaver_approved_after_its_access_end_is_urgent_and_says_removal_is_overdue() {
    let out = replay::run_file(&script("leaver_approved_late.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> #helpdesk-queue: Access removal for #1 “Leaver: Tom Baker, Tue 3 Mar” was asked for Tue 3 Mar 17:30 GMT, but it is NOT approved yet"), "{text}");
    assert!(text.contains("bot -> #helpdesk-queue: hana approved #1 (“Leaver: Tom Baker, Tue 3 Mar”): ready for a technician. ACCESS REMOVAL OVERDUE: access was to end Tue 3 Mar 17:30 GMT; block sign-in and revoke sessions now, then work the checklist (P2 now)."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["priority"], "P2");
    let changes: Vec<_> =
        events_of(&j, 1, "priority_changed").iter().map(|e| (e["from"].clone(), e["to"].clone())).collect();
    assert_eq!(changes, [(serde_json::json!("P4"), serde_json::json!("P2"))]);
}

/// Probe B (D8): `/ticket show` says how the alerts are now; the description keeps what the first notification said.
#[tokio::test]
async fn ticket_show_lists_the_alerts_as_they_are_now() {
    let out = replay::run_file(&script("alerts_show_now.replay")).await.unwrap();
    let text = out.text();
    let shows: Vec<&str> = text.lines().filter(|l| l.starts_with("bot -> sam: #1 ")).collect();
    assert_eq!(shows.len(), 2, "{text}");
    assert!(
        shows[0].contains("| Alerts now: 1 firing, 0 resolved | - instance=db1:9187: firing since Mon 2 Mar 08:55 UTC"),
        "{}",
        shows[0]
    );
    assert!(
        shows[1].contains("| Alerts now: 0 firing, 1 resolved | - instance=db1:9187: resolved Mon 2 Mar 09:07 UTC"),
        "{}",
        shows[1]
    );
}

/// Probe D (#33): see `lifecycle_probe_d.replay` (expectations written there first).
#[tokio::test]
async fn a_plain_dismissal_opens_the_leaver_and_scrap_that_is_no_answer() {
    let out = replay::run_file(&script("lifecycle_probe_d.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> hana: Ticket #1 opened: Someone is leaving (leaver)"), "{text}");
    // "today" is taken too since "letting … go" dates the departure (probe K): the end of today's working day.
    assert!(
        text.contains("From your message: **Name:** Dan Cole · **Access ends:** Mon 2 Mar 2026 17:30 GMT."),
        "{text}"
    );
    assert!(text.contains("bot -> bob: Shall I cancel #2"), "{text}");
    let j = out.json().await.unwrap();
    let t2 = &j["tickets"][1];
    assert!(!events_of(&j, 2, "withdrawn").is_empty(), "{t2}");
    assert!(!t2.to_string().contains("handover_to"), "{t2}");
}

/// Probe D: see `nvm_owned.replay` (expectations written there first).
#[tokio::test]
async fn a_late_nvm_on_an_owned_ticket_is_answered_and_passed_to_its_owner() {
    let out = replay::run_file(&script("nvm_owned.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> sam: alice added to #1: “nvm”"), "{text}");
    assert!(
        text.contains(
            "bot -> alice: Thanks, I've passed that on: sam has #1 and will close it if it is no longer needed."
        ),
        "{text}"
    );
    assert!(!text.contains("Close it"), "too late to close it by themselves: {text}");
    assert!(text.contains("bot -> sam: bob added to #2: “nvm, it sorted itself out”"), "{text}");
    assert!(
        text.contains(
            "bot -> bob: Thanks, I've passed that on: sam has #2 and will close it if it is no longer needed."
        ),
        "{text}"
    );
}

/// Probe D: see `close_offer_typed.replay`. Expected, written before running: bob's typed "yes" after "Shall I
/// cancel #1" closes #1 (the handover question waiting before the offer does not get "yes"); carol's "no, keep it
/// open" keeps #2 and her next answer, Jane Doe, is the handover; dave's monitor a minute after his printer ticket
/// is ticket #4 (endpoint), and his paper-in-tray-2 detail a minute later joins #3, the printer.
#[tokio::test]
async fn a_typed_answer_to_close_it_and_a_new_problem_in_a_burst() {
    let out = replay::run_file(&script("close_offer_typed.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> bob: Done, #1 is closed."), "{text}");
    assert!(text.contains("bot -> carol: OK, #2 stays open"), "{text}");
    assert!(text.contains("bot -> dave: Ticket #4 opened: endpoint"), "{text}");
    assert!(!text.contains("bot -> dave: Added to #4"), "{text}");
    assert!(text.contains("bot -> dave: Added to #3."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "closed");
    assert_eq!(j["tickets"][1]["state"], "new");
    let walk1 = events_of(&j, 1, "runbook");
    assert!(walk1.iter().all(|e| !e.to_string().contains("\"yes\"")), "{walk1:?}");
    // "no, keep it open" answered the offer, so the handover question took "Jane Doe" and the next one was asked.
    // It is in the history as the answer to the offer, and nowhere else (the handover answers, the walkthrough).
    let t2 = j["tickets"][1].to_string();
    assert_eq!(t2.matches("keep it open").count(), 1, "{t2}");
    assert_eq!(events_of(&j, 2, "kept_open").len(), 1, "{t2}");
    let carol = lines_to(&text, "carol");
    let kept = carol.iter().position(|l| l.starts_with("OK, #2 stays open")).unwrap();
    assert!(carol[kept + 1].starts_with("Which company equipment do they have to return"), "{carol:?}");
    let t3 = j["tickets"][2].to_string();
    assert!(t3.contains("tray 2"), "{t3}");
}

/// Probe D: see `walk_which.replay` (expectations written there first).
#[tokio::test]
async fn a_channel_reply_with_two_walkthroughs_waiting_asks_which() {
    let out = replay::run_file(&script("walk_which.replay")).await.unwrap();
    let text = out.text();
    assert!(
        text.contains("bot -> erin: You have 2 walkthroughs going: #2 (“I can't connect to the vpn from home”) and #1"),
        "{text}"
    );
    assert!(!text.contains("Ticket #3 opened"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2);
    // The channel's reply moved neither walkthrough; the same words in #2's thread are read there (several ways
    // on from that step, so its buttons are shown again).
    let erin = lines_to(&text, "erin");
    let which = erin.iter().position(|l| l.starts_with("You have 2 walkthroughs going")).unwrap();
    assert_eq!(erin.len(), which + 2, "{erin:?}");
    assert!(erin[which + 1].starts_with("I couldn't tell which of these you meant"), "{erin:?}");
}

/// Probe E: see `conversation_probe_e.replay`. Expected, written before running: alice's "thanks for the help with
/// the printer yesterday!" is noted on #1 ("You're welcome") and opens nothing; bob's DM "fixed it myself" three
/// hours on is passed on for #2 (no second ticket); carol's typed "no keep it open, it might come back" keeps #3,
/// and her later Close it is told it was answered already (#3 stays open); dave's "that fixed it" with two
/// walkthroughs waiting asks which (no offer to close #5, nothing resolved); erin's Outlook problem in her laptop
/// walkthrough's thread opens #7 (saas) and the thread is told; fay's "you can close it" two hours on is passed on.
#[tokio::test]
async fn conversation_edges_from_probe_e() {
    let out = replay::run_file(&script("conversation_probe_e.replay")).await.unwrap();
    let text = out.text();
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 8, "{text}");
    assert!(lines_to(&text, "alice").last().unwrap().starts_with("You're welcome, glad #1 is sorted!"), "{text}");
    assert!(
        text.contains("bot -> bob: Thanks, I've passed that on: the technicians have #2 and will close it"),
        "{text}"
    );
    // Her walkthrough still runs: no technician is promised yet (probe F).
    assert!(text.contains("bot -> carol: OK, #3 stays open. Carry on with the steps above"), "{text}");
    assert!(text.contains("bot -> carol: You've answered that already: #3 stays open."), "{text}");
    assert_eq!(tickets[2]["state"], "new");
    assert!(text.contains("bot -> dave: You have 2 walkthroughs going: #5"), "{text}");
    assert!(!text.contains("Shall I close #5") && !text.contains("Shall I close #4"), "{text}");
    assert_eq!(tickets[6]["category"], "saas");
    assert!(
        text.contains("bot -> erin: That sounds like a separate problem, so I've opened #7 for it in the channel."),
        "{text}"
    );
    assert!(
        text.contains("bot -> fay: Thanks, I've passed that on: the technicians have #8 and will close it"),
        "{text}"
    );
}

/// Probe E/F: see `any_update.replay`. Expected, written before running: unowned, alice hears nobody has #1 yet
/// and the response is due by Mon 2 Mar 13:00 UTC (4h P3 target from 09:00); owned, she hears sam has it, and sam
/// is told of her message; the same in the channel; bob's "any update?" with no ticket opens none; dan's "same
/// here" in the channel two minutes after carol's printer ticket joins it.
#[tokio::test]
async fn a_requester_asking_for_news_hears_where_the_ticket_stands() {
    let out = replay::run_file(&script("any_update.replay")).await.unwrap();
    let text = out.text();
    let alice = lines_to(&text, "alice");
    assert!(
        alice.contains(
            &"Nobody has picked up #1 yet; a technician is due to respond by Mon 2 Mar 13:00 UTC. I've added your \
              message to it."
        ),
        "{alice:?}"
    );
    assert!(alice.last().unwrap().starts_with("sam has #1 and has been told you asked"), "{alice:?}");
    assert!(text.contains("bot -> sam: alice added to #1: “any news? I need it for 2pm”"), "{text}");
    // In the channel: alice's question goes to #1 and is answered; bob's opens nothing and gets no reply there.
    assert!(text.contains("bot -> sam: alice added to #1: “any update on my teams ticket?”"), "{text}");
    assert!(lines_to(&text, "bob").is_empty(), "{text}");
    // dan's "same here" in the channel joins carol's printer ticket #2 (a shared kind of problem); nobody has it
    // yet, so he is not told it is being worked on.
    assert!(text.contains("bot -> dan: Thanks, I've added you to #2"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2, "{text}");
}

/// Probe F: see `pending_answer_elsewhere.replay` (expectations written there first): alice's answer in the channel
/// and bob's in a DM reach #1 and #2, which are open again (no longer waiting on the user), and each hears where it
/// went; carol's printer jam in the channel while #3 waits on her is ticket #4, and #3 still waits.
#[tokio::test]
async fn an_answer_to_a_technicians_question_outside_the_thread_reaches_the_ticket() {
    let out = replay::run_file(&script("pending_answer_elsewhere.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> sam: alice added to #1: “it's the Dell Latitude 5420, since Monday's update”"));
    assert!(text.contains("bot -> alice: Thanks, I've added that to #1 for the technician."), "{text}");
    assert!(text.contains("bot -> sam: bob added to #2: “only PDFs I think”"), "{text}");
    let j = out.json().await.unwrap();
    let states: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["open", "open", "pending_user", "new"], "{text}");
    assert_eq!(j["tickets"][3]["category"], "printing");
}

/// Probe F: see `similar_typed.replay` (expectations written there first).
#[tokio::test]
async fn is_this_about_answered_by_typing() {
    let out = replay::run_file(&script("similar_typed.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> erin: Ticket #2 opened: printing"), "{text}");
    assert!(text.contains("bot -> finn: Added to #3."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 3, "{text}");
    let t3 = j["tickets"][2].to_string();
    assert!(t3.contains("laptop fan is really loud"), "{t3}");
    // Neither walkthrough took the typed answer: erin's still asks its first question, finn's was shown again.
    assert!(!text.contains("bot -> erin: Let's restart the VPN app"), "{text}");
}

/// Probe F: see `close_offer_and_more.replay`. Expected, written before running: bob's "yes close it, but can you
/// also reset my password" closes #1 and opens #2 (identity) for the password; carol's "yes please close it. also
/// my monitor keeps flickering" in the channel closes #3 and opens #4 (endpoint); frank's "yes, but tray 2 still
/// jams" closes nothing and is added to #5; hr's "Heads up, Fatima Ali starts …" is a joiner ticket; dan's praise
/// of the café's wifi and erin's thanks for the router open nothing and get no reply in the channel.
#[tokio::test]
async fn a_typed_close_answer_with_another_problem_after_it() {
    let out = replay::run_file(&script("close_offer_and_more.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> bob: Done, #1 is closed.",
        "bot -> bob: Ticket #2 opened: identity",
        "bot -> carol: Done, #3 is closed.",
        "bot -> carol: Ticket #4 opened: endpoint",
        "bot -> frank: Added to #5.",
        "bot -> hr: Ticket #6 opened: New starter (joiner)",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("#5 is closed"), "{text}");
    assert!(lines_to(&text, "dan").is_empty() && lines_to(&text, "erin").is_empty(), "{text}");
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    // gil's "yes, yes close it, reset my password please" closes #7 once and opens #8 (it failed as a double close).
    assert_eq!(tickets.len(), 8, "{j}");
    let states: Vec<&str> = tickets.iter().map(|t| t["state"].as_str().unwrap()).collect();
    assert_eq!(states[..5], ["closed", "new", "closed", "new", "new"], "{states:?}");
    assert_eq!(states[6..], ["closed", "new"], "{states:?}");
    assert_eq!(tickets[1]["title"], "can you also reset my password");
    assert!(tickets[4].to_string().contains("tray 2 still jams"), "{}", tickets[4]);
}

/// Probe F: see `kept_open_history.replay`. Expected, written before running: bob's typed "no keep it open, it might
/// come back" is in #1's history as "bob kept it open"; his "it's slow again now, takes ages to open excel" at the
/// step with [Faster now] [Still slow] presses "Still slow" (the next step is shown, not the same buttons again).
#[tokio::test]
async fn keeping_a_ticket_open_is_in_its_history_and_slow_again_is_still_slow() {
    let out = replay::run_file(&script("kept_open_history.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bob kept it open: “no keep it open, it might come back”"), "{text}");
    assert!(text.contains("[slow] pressed \"Still slow\""), "{text}");
    assert!(!text.contains("I couldn't tell which of these you meant"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "new");
}

/// Probe F: see `correction_after_close.replay`. Expected, written before running: alice's "nvm got it" is offered
/// closing and "yes" closes #1; her "wait no, still freezing" a minute later opens #2 in saas following up #1, and
/// its queue card says "linked to #1"; dave's "nvm it was unplugged" is offered closing #3.
#[tokio::test]
async fn a_correction_right_after_closing_follows_the_ticket_up() {
    let out = replay::run_file(&script("correction_after_close.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> alice: OK. Shall I close #1?",
        "bot -> alice: Done, #1 is closed.",
        "bot -> alice: Ticket #2 opened: saas (P3 incident), following up #1.",
        "bot -> dave: OK. Shall I close #3?",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let card = text.lines().find(|l| l.contains("New ticket #2")).unwrap();
    assert!(card.contains("· linked to #1"), "{card}");
    assert!(!text.contains("which of these is it about"), "{text}");
}

/// Probe G: see `same_here_major.replay`. Expected, written before running: bob's and carl's "same here" join #1
/// without being told it is being worked on (nobody has it); with three people #1 becomes a major incident in the
/// queue (its walkthrough ends); the lost charger, the router question, the toner notice, "back to normal" and the
/// Dropbox notice open nothing and get no reply.
#[tokio::test]
async fn three_people_on_one_ticket_make_a_major_incident_and_asides_open_nothing() {
    let out = replay::run_file(&script("same_here_major.replay")).await.unwrap();
    let text = out.text();
    assert!(!text.contains("is being worked on"), "{text}");
    assert!(text.contains("bot -> bob: Thanks, I've added you to #1"), "{text}");
    assert!(text.contains("bot -> #helpdesk-queue: Major incident #1 · P2 · network"), "{text}");
    for who in ["dan", "erin", "fay", "gus", "hal"] {
        assert!(lines_to(&text, who).is_empty(), "{who}: {text}");
    }
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(events_of(&j, 1, "major_incident").len(), 1, "{j}");
    assert_eq!(events_of(&j, 1, "runbook").len(), 1, "the walkthrough ended: {j}");
}

/// Probe G: see `typed_category_and_missent.replay`. Expected, written before running: alice's typed "it's email
/// mostly, outlook" after the category question opens #1 in saas; bob's "sorry wrong channel!" and carol's "it's
/// my personal one, not IT sorry ignore me" are offered closing ("OK. Shall I close …"), not added; dave's "fixed it
/// myself, battery was dead lol" is offered closing with "Glad it's sorted!", not asked "Is this about #4?".
#[tokio::test]
async fn a_typed_category_answer_opens_the_ticket_and_a_missent_message_offers_closing() {
    let out = replay::run_file(&script("typed_category_and_missent.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> alice: Ticket #1 opened: saas",
        "bot -> bob: OK. Shall I close #2?",
        "bot -> carol: OK. Shall I close #3?",
        "bot -> dave: Glad it's sorted! Shall I close #4?",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Added to #"), "{text}");
    assert!(!text.contains("Is this about #4"), "{text}");
    assert!(!text.contains("Just pick the option above"), "{text}");
}

/// Probe G: see `probe_g_followups.replay`. Expected, written before running: alice's two questions about #1 are
/// both answered; bob's "thanks!! also my keyboard has a key missing now" opens #3 and #2 stays resolved; carol's
/// "any update on my ticket?" after #4 was resolved is told "#4 was resolved by sam".
#[tokio::test]
async fn update_questions_are_answered_and_thanks_with_a_new_problem_opens_a_ticket() {
    let out = replay::run_file(&script("probe_g_followups.replay")).await.unwrap();
    let text = out.text();
    assert_eq!(text.matches("bot -> alice: Nobody has picked up #1 yet").count(), 2, "{text}");
    assert!(text.contains("bot -> bob: Ticket #3 opened: endpoint"), "{text}");
    assert!(!text.contains("reopened #2"), "{text}");
    assert!(text.contains("bot -> carol: #4 was resolved by sam."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][1]["state"], "resolved");
}

/// Probe G: see `two_problems_one_message.replay`. Expected, written before running: alice gets #1 (saas, "outlook
/// won't open") and #2 (printing, "the printer is jammed"); carol's two sentences are one endpoint ticket #3; dave's
/// mouse and keyboard are one endpoint ticket #4.
#[tokio::test]
async fn two_problems_of_different_kinds_in_one_message_are_two_tickets() {
    let out = replay::run_file(&script("two_problems_one_message.replay")).await.unwrap();
    let text = out.text();
    assert!(text.contains("bot -> alice: Ticket #1 opened: saas"), "{text}");
    assert!(text.contains("bot -> alice: Ticket #2 opened: printing"), "{text}");
    assert!(text.contains("bot -> carol: Ticket #3 opened: endpoint"), "{text}");
    assert!(text.contains("bot -> dave: Ticket #4 opened: endpoint"), "{text}");
    let j = out.json().await.unwrap();
    let titles: Vec<&str> = j["tickets"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert_eq!(titles[..2], ["outlook won't open", "the printer is jammed"]);
}

/// Probe H: see `probe_h.replay`. Expected, written before running: alice's "2" opens #1 in the second offered
/// category (saas), bob's "email" #2 in saas, carol's "forget it" ends the question with no ticket (her lunch
/// question is not added to it); dan, erin and fay get nothing; gus gets #3 (printing) and #4 (network); jo joins
/// #5, which becomes a major incident with three people.
#[tokio::test]
async fn typed_category_answers_asides_split_problems_and_a_third_outage_report() {
    let out = replay::run_file(&script("probe_h.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> alice: Ticket #1 opened: saas",
        "bot -> bob: Ticket #2 opened: saas",
        "bot -> carol: OK, no ticket.",
        "bot -> gus: Ticket #3 opened: printing",
        "bot -> gus: Ticket #4 opened: network",
        "bot -> #helpdesk-queue: Major incident #5 · P2 · network · from hal: “the internet is down” · 3 people affected",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Just pick the option above"), "{text}");
    for who in ["dan", "erin", "fay"] {
        assert!(lines_to(&text, who).is_empty(), "{who}: {text}");
    }
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 5, "{j}");
}

/// Probe H leftovers: see `probe_h_leftovers.replay`. Expected, written before running (the corrections' after the
/// first run of the rest): alice is reminded once and
/// her typed "email" opens #1 in saas; bob and carol hear nothing; dave's "ok thanks, will try that" gets a word, not
/// the buttons again; erin gets one offer to close #3 and her "yes close it" 35 minutes on closes it; fay's "any
/// update?" at the response target says it is past it; the Wi-Fi major incident #5 and #6 folded into it keep
/// their walkthroughs' records; ann's #7 becomes a scan-to-email ticket with its walkthrough, lee's #8 moves to saas.
#[tokio::test]
async fn unanswered_questions_jokes_and_waiting_at_a_step() {
    let out = replay::run_file(&script("probe_h_leftovers.replay")).await.unwrap();
    let text = out.text();
    let alice = lines_to(&text, "alice");
    assert_eq!(alice.iter().filter(|l| l.contains("Still need a hand with this?")).count(), 1, "{text}");
    assert!(text.contains("bot -> alice: Ticket #1 opened: saas"), "{text}");
    for who in ["bob", "carol"] {
        assert!(lines_to(&text, who).is_empty(), "{who}: {text}");
    }
    let dave = lines_to(&text, "dave");
    assert!(dave.iter().any(|l| l.starts_with("No rush.")), "{text}");
    assert!(!text.contains("I couldn't tell which of these you meant"), "{text}");
    let erin = lines_to(&text, "erin");
    assert_eq!(erin.iter().filter(|l| l.contains("[Close it]")).count(), 1, "{text}");
    assert!(text.contains("bot -> erin: Done, #3 is closed."), "{text}");
    assert!(text.contains("bot -> fay: Nobody has picked up #4 yet and it is past its response target"), "{text}");
    assert!(!text.contains("due to respond by Mon 2 Mar 12:42"), "{text}");
    for n in [5, 6] {
        let show = text.lines().find(|l| l.starts_with(&format!("bot -> sam: #{n} "))).unwrap();
        assert!(show.contains("Self-service: “Wi-Fi won't connect or keeps dropping”"), "{show}");
    }
    assert!(text.contains("bot -> ann: Got it: #7 is now about “the scanner that won't send to email”"), "{text}");
    assert!(text.contains("bot -> ann: Let's sort out scanning to email."), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][6]["intent"], "printing.scan", "{}", j["tickets"][6]);
    assert_eq!(j["tickets"][7]["category"], "saas", "{}", j["tickets"][7]);
    // (What is fine is not what it is about: probe J dropped ", the laptop is fine" from corrections.)
    assert_eq!(j["tickets"][7]["title"], "outlook is really slow");
    assert_eq!(events_of(&j, 8, "category_changed").len(), 1, "{}", j["tickets"][7]);
}

/// #27 item 4: see `office_hours_default.replay`. Expected, computed by hand before running: Fri 16:30 + 4h on Mon-Fri
/// 09:00-17:30 is 1h on Friday and 3h on Monday, so Mon 9 Mar 12:00; the P1 on Saturday 10:00 is due 10:30 (24x7).
#[tokio::test]
async fn default_targets_run_in_office_hours_except_p1() {
    let out = replay::run_file(&script("office_hours_default.replay")).await.unwrap();
    let text = out.text();
    assert!(
        text.contains(
            "bot -> alice: Ticket #1 opened: endpoint (P3 incident). A technician will respond by Mon 9 Mar 12:00 UTC"
        ),
        "{text}"
    );
    assert!(text.contains("someone will respond by Sat 7 Mar 10:30 UTC (within 30m)"), "{text}");
}

/// Probe I: see `probe_i.replay`. Expected, written before running: #1 becomes "teams keeps freezing when i open
/// it"; #2 becomes the scanner's, with the scan-to-email walkthrough; cat's "other laptop" is added to #3, not a
/// correction; dan's #4 ends fixed (his Wi-Fi walkthrough was running) and eve is offered to close #5 (the VPN); fox's "fixed!" does not reopen #7; gus's "jam
/// cleared" shows the buttons again; hal hears nothing; ivy gets no reminder after opening #9; jay's "printer" opens
/// #10 in printing and kay's "something else" #11 in other; lou's "yes close it" in a DM closes #12; mo's "no jam"
/// is the jam step's "No jam" button; ned's "not urgent actually, no rush" lowers his P2 #14.
#[tokio::test]
async fn corrections_late_nvm_and_agreement_after_a_fix() {
    let out = replay::run_file(&script("probe_i.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> amy: Got it: #1 is now about “teams keeps freezing when i open it”",
        "bot -> ben: Got it: #2 is now about “scanner: it won't send scans to my email”",
        "bot -> ben: Let's sort out scanning to email.",
        "bot -> cat: Added to #3.",
        // Written first as the offer to close; then README said a fix typed during a walkthrough ends it as fixed.
        // Probe K: only once a step was tried. Before that it came back by itself: no fix by self-service, offered.
        "bot -> dan: Glad it's sorted! Shall I close #4?",
        "bot -> eve: Glad it's sorted! Shall I close #5?",
        "bot -> gus: I couldn't tell which of these you meant",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("reopened #7"), "{text}");
    assert!(lines_to(&text, "hal").is_empty(), "{text}");
    assert!(!lines_to(&text, "ivy").iter().any(|l| l.contains("Still need a hand")), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][6]["state"], "resolved", "{}", j["tickets"][6]);
    // Typed answers to the category question: "printer" (as the reminder suggests) and the button's own words.
    assert!(text.contains("bot -> jay: Ticket #10 opened: printing"), "{text}");
    assert_eq!(j["tickets"][10]["category"], "other", "{}", j["tickets"][10]);
    assert_eq!(j["tickets"][10]["title"], "it's broken again since the update");
    // "yes close it" in a DM answers the offer made in the channel.
    assert!(text.contains("bot -> lou: Done, #12 is closed."), "{text}");
    // "no jam" at "does its screen show a paper jam?" presses [No jam, …]; it is no "the jam is gone".
    assert!(text.contains("bot -> mo: Let's look at your print queue"), "{text}");
    assert!(!text.contains("Shall I close #13?"), "{text}");
    // "sorry not urgent actually, no rush" takes the urgency back: the ticket is no longer P2.
    assert!(text.contains("bot -> ned: Added to #14. Noted that it can wait: it's now P"), "{text}");
    let p = j["tickets"][13]["priority"].as_str().unwrap();
    assert!(p == "P3" || p == "P4", "{p}");
    assert_eq!(j["tickets"].as_array().unwrap().len(), 14, "{j}");
}

/// Probe I leftovers: see `probe_i_leftovers.replay`. Expected, written before running: dan, eve and fox hear
/// nothing and open nothing; gus's found memory stick is a security ticket (P2, not P1); amy's corrections after sam
/// claimed #2 are added to it ("Added to #2.", sam told), never "Is this about #2?"; ben's unanswered "nvm" is on
/// #3's card when its walkthrough hands off; mia's "give me a sec" is no name ("No rush"), "Fatima Ali" is; dan,
/// who said "same here" 20 minutes after cat's report, joined #5 and hears where it stands; cat's "any update?" in
/// a DM is answered in the DM; eve's "nvm about the vpn" offers to close #6; hal's Friday 16:30 question is
/// reminded on Monday and his Monday click opens a ticket; ben's "keep it open" days later says #3 stays open.
#[tokio::test]
async fn probe_i_leftovers_chatter_corrections_and_late_answers() {
    let out = replay::run_file(&script("probe_i_leftovers.replay")).await.unwrap();
    let text = out.text();
    assert!(lines_to(&text, "fox").is_empty(), "{text}");
    assert!(!text.contains("hogging the printer"), "{text}");
    assert!(!text.contains("boarding pass"), "{text}");
    assert!(!text.contains("about to die"), "{text}");
    assert!(text.contains("bot -> gus: Ticket #1 opened: security (P2 incident)"), "{text}");
    assert!(text.contains("bot -> sam: amy added to #2: “sorry I meant teams not outlook”"), "{text}");
    assert!(!lines_to(&text, "amy").iter().any(|l| l.contains("Is this about")), "{text}");
    assert!(!lines_to(&text, "amy").iter().any(|l| l.contains("pick the option")), "{text}");
    assert!(text.contains("ben said “nvm” and was asked whether to close it: no answer yet"), "{text}");
    assert!(text.contains("bot -> mia: No rush. Type your answer here when you have it."), "{text}");
    assert!(text.contains("bot -> mia: What is Fatima Ali's first day?"), "{text}");
    assert!(text.contains("bot -> dan: Thanks, I've added you to #5"), "{text}");
    assert!(text.contains("bot -> dan: Nobody has picked up #5 “the wifi is down on floor 2” yet"), "{text}");
    assert!(text.contains("bot -> eve: OK. Shall I close #6?"), "{text}");
    assert!(text.contains("bot -> hal: Still need a hand with this?"), "{text}");
    assert!(text.contains("bot -> hal: Ticket #7 opened: saas"), "{text}");
    assert!(text.contains("bot -> ben: OK, #3 stays open"), "{text}");
    let j = out.json().await.unwrap();
    // cat's DM question is answered in the DM, not in the ticket's thread in the channel.
    // (The Wi-Fi walkthrough still runs: "#5 is still with me", probe J.)
    let to_cat = j["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"]["user"] == "cat" && m["text"].as_str().unwrap().starts_with("#5 is still with me"))
        .expect("an answer to cat");
    assert_eq!(to_cat["channel"], "dm-cat", "{to_cat}");
    assert_eq!(j["tickets"].as_array().unwrap().len(), 7, "{j}");
}

/// Probe J: see `probe_j.replay`. Expected (the probe's, written before running): pri, fred and max hear nothing;
/// ollie's "lol jk … all fine" offers to close #1; hil's answer in the channel joins #2 for sam (no category
/// question, no duplicate); yas's "any update?" while sam waits on her is pointed at sam's question and does not
/// resume #3; fi's "and separately my vpn …" is its own ticket #5 and "nvm the vpn" offers to close #5, not the
/// printer; pip's "unrelated but my monitor just went black" opens #7; wil's correction 50 minutes on changes #8;
/// zac's "any update??" points at the question; wyn's second vague message joins the first question; bex's "give me
/// a sec, restarting now" is "No rush"; abe's "nvm someone's fixing it" offers to close; hu's DM "nvm" is answered in
/// the DM; pam's "teams not outlook*" changes #12; rik's correction after sam's claim is added for sam; tom's
/// correction in the thread starts the VPN walkthrough; yan's correction retitles #15 at P1; hil's thanks to @jo is
/// not thanks for #2.
#[tokio::test]
async fn probe_j_asides_answers_outside_threads_and_corrections() {
    let out = replay::run_file(&script("probe_j.replay")).await.unwrap();
    let text = out.text();
    for quiet in ["pri", "fred", "max"] {
        assert!(lines_to(&text, quiet).is_empty(), "{quiet}: {text}");
    }
    for line in [
        "bot -> ollie: Glad it's sorted! Shall I close #1?",
        "bot -> sam: hil added to #2: “tried the other port, still nothing on the screens”",
        "bot -> yas: sam is waiting for your answer to their question on #3.",
        "bot -> fi: Ticket #5 opened: network",
        "bot -> fi: Glad it's sorted! Shall I close #5?",
        "bot -> pip: That sounds like a separate problem, so I've opened #7 for it in the channel.",
        "bot -> wil: Got it: #8 is now about “my mouse, it keeps disconnecting”",
        "bot -> zac: I haven't opened a ticket for that yet",
        "bot -> wyn: Got it, I'll add that.",
        "bot -> bex: No rush.",
        "bot -> abe: OK. Shall I close #10?",
        "bot -> hu: Glad it's sorted! Shall I close #11?",
        "bot -> pam: Got it: #12 is now about “teams keeps crashing every hour”",
        "bot -> sam: rik added to #13: “oh wait sorry it's word not excel”",
        "bot -> tom: Got it: #14 is now about “the vpn that keeps dropping”",
        "bot -> tom: Let's get the VPN app working steadily.",
        "bot -> yan: Got it: #15 is now about “my laptop won't switch on at all",
        // Urgency said during the walkthrough (probe J: the buttons again, and it stayed P3).
        "bot -> ivy: #16 is urgent now, so I've stopped the walkthrough and handed it straight to a technician",
        // "any update?" with two open tickets answers both (only the first before); "talk to a person" with no
        // walkthrough says where the ticket stands (silence before).
        "bot -> kim: Nobody has picked up #17 yet",
        "bot -> kim: Nobody has picked up #18 yet",
        "bot -> lou: Nobody has picked up #19 yet",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Shall I close #4?"), "{text}");
    assert!(!lines_to(&text, "hil").iter().any(|l| l.contains("which of these")), "{text}");
    assert_eq!(lines_to(&text, "wyn").iter().filter(|l| l.contains("which of these")).count(), 1, "{text}");
    assert!(!lines_to(&text, "hil").iter().any(|l| l.contains("You're welcome")), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][2]["state"], "pending_user", "{}", j["tickets"][2]);
    assert_eq!(j["tickets"][14]["priority"], "P1", "{}", j["tickets"][14]);
    let offer_to_hu = j["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"]["user"] == "hu" && m["text"].as_str().unwrap().contains("Shall I close #11?"))
        .expect("an offer to hu");
    assert_eq!(offer_to_hu["channel"], "dm-hu", "{offer_to_hu}");
    assert_eq!(j["tickets"][15]["priority"], "P1", "{}", j["tickets"][15]);
    // A problem told in fragments ("help" / "my screen" / "it's all black") is titled by the first that says
    // something (probe J: the card said "help").
    assert_eq!(j["tickets"][19]["title"], "it's all black", "{}", j["tickets"][19]);
    assert_eq!(j["tickets"].as_array().unwrap().len(), 20, "{j}");
}

/// Probe J leftovers: see `probe_j_leftovers.replay`. Expected, written before running: ana's projector with a
/// client arriving in 5 minutes is P1 and goes straight to the technicians; ben's walkthrough does not ask which room
/// ("meeting room 2" is in the message); cat (swollen battery) and dee (spilled coffee) are P2 and told what to do
/// meanwhile; eve's title has no "hi all"; fay's DM "same here" and gus's DM "nvm" with nothing open are not told
/// "not an IT problem"; ian is told what #6 is; jo's walkthrough sends no reminder and no hand-off while "Shall I
/// close #7?" waits, and goes on (reminder, then hand-off) after "Keep it open".
#[tokio::test]
async fn probe_j_leftovers_urgency_safety_rooms_titles_and_waiting_offers() {
    let out = replay::run_file(&script("probe_j_leftovers.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> ana: Ticket #1 opened: endpoint (P1 incident). It's urgent",
        // Probe K: the room and what is wrong both said, straight to the display checks.
        "bot -> ben: Quick checks, in order:",
        "bot -> cat: Ticket #3 opened: endpoint (P2 incident)",
        "bot -> cat: For safety, please stop using it: unplug it",
        "bot -> dee: Ticket #4 opened: endpoint (P2 incident)",
        "bot -> dee: Switch it off and unplug it now",
        "bot -> fay: Same as what?",
        "bot -> gus: OK, there's nothing open for you to cancel.",
        "bot -> ian: Thanks, I've added you to #6 (“the wifi on the 2nd floor keeps dropping every few minutes”)",
        "bot -> jo: OK, #7 stays open.",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Which room are you in?"), "{text}");
    assert!(!text.contains("doesn't look like an IT problem"), "{text}");
    // jo: the offer, then nothing until "Keep it open"; then the steps again and, unanswered, the hand-off.
    let to_jo = lines_to(&text, "jo");
    let offer = to_jo.iter().position(|l| l.contains("Shall I close #7?")).expect("the offer");
    assert!(to_jo[offer + 1].starts_with("OK, #7 stays open."), "{to_jo:?}");
    assert!(to_jo[offer + 2].starts_with("Still there?"), "{to_jo:?}");
    assert!(to_jo[offer + 3].starts_with("Thanks, I've handed #7 to a technician."), "{to_jo:?}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][4]["title"], "outlook keeps crashing when I open attachments", "{}", j["tickets"][4]);
    assert_eq!(j["tickets"].as_array().unwrap().len(), 7, "{j}");
}

/// Probe K: see `probe_k.replay`. Expected (the probe's, written before running): hank's "to xero" joins #1 (no
/// Xero ticket); bob's typed answer at "when does it drop?" is on #2's card, and no Teams ticket opens; carol's and
/// ivy's spilled coffee are P2 tickets with the liquid advice; dan's smoke is P1 with the fire advice and no
/// paper-jam steps; gus's blocked payroll and guy's clients dialling in open tickets at once (no category question),
/// P2 and P1; fay's P2 lockout is on the queue while she tries the walkthrough; hal's "it's back up now" before any
/// step is offered to close, not closed as fixed by self-service; pat's "hello? anyone there?" gets a greeting;
/// mia's "effective immediately" is not asked again; eve's "same here" joins dot's Wi-Fi report, not the older
/// floor-3 outage.
#[tokio::test]
async fn probe_k_fragments_typed_answers_safety_urgency_and_same_here() {
    let out = replay::run_file(&script("probe_k.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> hank: Added to #1.",
        "vpn_pattern: every 10 minutes or so, mostly on teams calls",
        "bot -> carol: Switch it off and unplug it now",
        "bot -> ivy: Switch it off and unplug it now",
        "bot -> dan: Ticket #5 opened: printing (P1 incident). It's urgent",
        "bot -> dan: For safety, please stop using it",
        "New ticket #6 · P2 · application · from gus",
        "bot -> guy: Ticket #7 opened: endpoint (P1 incident). It's urgent",
        "New ticket #8 · P2 · identity · from fay: “I'm locked out of my account” · response due in 59m (Mon 2 Mar 10:42 \
         UTC) · trying “Account locked out” with deskbot meanwhile",
        "bot -> hal: Glad it's sorted! Shall I close #9?",
        "bot -> pat: I'm here!",
        "bot -> mia: From your message: **Name:** Mark Jones · **Access ends:** immediately.",
        "bot -> eve: Thanks, I've added you to #13 (“the wifi on floor 4 is really slow today”)",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("as fixed by you"), "{text}");
    assert!(!text.contains("That sounds like a separate problem"), "{text}");
    assert!(!lines_to(&text, "dan").iter().any(|l| l.contains("paper jam")), "{text}");
    for who in ["gus", "guy", "carol", "ivy"] {
        assert!(!lines_to(&text, who).iter().any(|l| l.contains("which of these")), "{who}: {text}");
    }
    let j = out.json().await.unwrap();
    let priority = |n: usize| j["tickets"][n - 1]["priority"].as_str().unwrap().to_string();
    assert_eq!([3, 4, 5, 6, 7].map(priority), ["P2", "P2", "P1", "P2", "P1"], "{j}");
    assert!(text.contains("bot -> kay: Quick checks, in order:"), "{text}");
    assert_eq!(j["tickets"].as_array().unwrap().len(), 14, "{j}");
}

/// Probe L: see `probe_l.replay`. Expected (the probe's, written before running): priya's DM "office wifi, 3rd floor"
/// answers sam's question on #1 (no network ticket); sue's answer in the channel reaches #2, raised in a DM; ken's
/// "is my folder access thing approved yet?" says where #3 stands (no duplicate); paula's DM detail is asked about
/// #4, never "not an IT problem"; oz's sparking charger is a P1 incident with the fire advice; lin's phished password
/// at 18:30 is P1 with what to do now; ann's "printer jammed again" three days after her own fix opens a ticket
/// linked to #6.
#[tokio::test]
async fn probe_l_answers_anywhere_status_questions_safety_and_a_fix_that_did_not_hold() {
    let out = replay::run_file(&script("probe_l.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> sam: priya added to #1: “office wifi, 3rd floor”",
        "bot -> sam: sue added to #2: “Pro please, Mia said fine”",
        "bot -> ken: Nobody has picked up #3 yet",
        "bot -> paula: Is this about #4",
        "bot -> oz: Ticket #5 opened: endpoint (P1 incident).",
        "bot -> oz: For safety, please stop using it",
        "bot -> lin: Ticket #7 opened: security (P1 incident).",
        "bot -> lin: Change your password now",
        "bot -> ann: Ticket #8 opened: printing (P3 incident), following up #6.",
        // oli's "nvm, I'll use the old one" two hours after sending #9 for approval is offered, and the managers hear
        // there is nothing to decide (probe L: ignored); "his last day was Friday" ends access now, not next Friday;
        // a leaver cancelled after its approval told the queue "ready for a technician" is withdrawn there too.
        "bot -> oli: OK. Shall I close #9?",
        "bot -> mia: oli withdrew #9 (“I'd like a second laptop for home”) before it was decided: no decision is needed.",
        "bot -> uma: From your message: **Name:** Ben Carter · **Access ends:** immediately.",
        "bot -> #helpdesk-queue: dan withdrew #11 (“Leaver: Tom Baker, Fri 6 Mar”): it is closed, nothing to do.",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("doesn't look like an IT problem"), "{text}");
    assert!(!text.contains("describe the problem again"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"][0]["state"], "open", "{}", j["tickets"][0]);
    assert_eq!(j["tickets"][1]["state"], "open", "{}", j["tickets"][1]);
    assert_eq!(j["tickets"][4]["type"], "incident", "{}", j["tickets"][4]);
    assert_eq!(j["tickets"][8]["state"], "closed", "{}", j["tickets"][8]);
    assert_eq!(j["tickets"].as_array().unwrap().len(), 11, "{j}");
}

/// Session 17, leftovers of probes K and L (see `session17.replay`). Expected before running: uma (a manager) ending
/// Ben Carter's access "his last day was Friday" opens P2 and reaches the queue at once with "ACCESS ENDS NOW"; dan
/// (staff) letting Mark Jones go "effective immediately" opens P1 and both managers hear of it before it is approved;
/// uma's joiner written while #1's question waits opens #3 (not #1's answer, not "Is this about #1?"); the leaver's
/// hand-off says "with your answers" (nothing was tried); the joiner a week away is P3, not P2. Probe M's, written
/// before running: a second leaver for another person while the first one's question waits opens its own ticket;
/// "no longer with the company" and "Ana Gomez starting on Thursday" open their walkthroughs; carl's dismissal waits
/// for approval without telling the queue to act.
#[tokio::test]
async fn session17_urgent_leavers_from_the_start_and_a_joiner_a_week_away() {
    let out = replay::run_file(&script("session17.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> uma: Ticket #1 opened: Someone is leaving (leaver) (identity P2 request).",
        "bot -> #helpdesk-queue: New ticket #1 · P2 · identity · from uma: “please disable Ben Carter's account, his \
         last day was Friday” · response due in 1h (Mon 2 Mar 10:05 UTC) · ACCESS ENDS NOW",
        "bot -> dan: Ticket #2 opened: Someone is leaving (leaver) (identity P1 request).",
        "bot -> mia: Urgent leaver coming for approval: #2 from dan (P1), access to end now.",
        "bot -> uma: Urgent leaver coming for approval: #2 from dan (P1), access to end now.",
        "bot -> uma: Ticket #3 opened: New starter (joiner) (identity P4 request).",
        "bot -> uma: Thanks, I've handed #1 to a technician with your answers.",
        "bot -> #helpdesk-queue: New ticket #3 · P3 · identity · from uma: “Joiner: Sam Lee, starts Mon 9 Mar”",
        // Probe M: Tom Baker's leaver is a ticket of its own, not Priya's handover answer; HR's words open the
        // walkthroughs; a staff member's dismissal is not acted on before a manager approves it.
        "bot -> mia: From your message: **Name:** Tom Baker · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
        "bot -> mia: From your message: **Name:** Mark Jones.",
        "bot -> mia: From your message: **Name:** Ana Gomez · **First day:** Thu 5 Mar 2026.",
        "bot -> carl: Ticket #8 opened: Someone is leaving (leaver) (identity P1 request).",
        "Access is to end now (dismissal), once a manager approves it: do not act before (you'll be told).",
        // "is my request approved yet?" says it waits for a manager (it said the technicians had been told); "leaving
        // on the 1st" said on the 2nd is asked, not read as yesterday (access ending at once).
        "bot -> carl: #8 is waiting for a manager's approval since Mon 2 Mar 10:00 UTC; nobody in IT acts on it",
        "bot -> mia: Ticket #9 opened: Someone is leaving (leaver)",
        "bot -> mia: From your message: **Name:** Rosa Diaz. (You can change it before it is sent.) |  | When should \
         Rosa Diaz's access end?",
        // An access end typed as "immediately" raises the leaver at once and its approvers hear of it (probe M: P4
        // until the hand-off).
        "bot -> mia: Urgent leaver coming for approval: #10 from carl (P2), access to end now.",
        // A first name alone is asked again (probe M: "Leaver: Ben").
        "bot -> bob: Their full name, please (first and last name), so that the right person's account is changed.",
        // "he left today" ends access now (session 18: it was asked, and "today" meant 17:30).
        "bot -> bob: From your message: **Access ends:** immediately.",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Is this about #1"), "{text}");
    assert!(!text.contains("with everything you tried"), "{text}");
    assert!(!text.contains("ACCESS ENDS NOW (dismissal): block sign-in"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 11, "{j}");
    assert_eq!(j["tickets"][9]["priority"], "P2", "{}", j["tickets"][9]);
    assert_eq!(j["tickets"][2]["priority"], "P3", "{}", j["tickets"][2]);
}

/// Probe N: see `probe_n.replay`. Expected (the probe's, written before running): yara's urgent customs message opens
/// a ticket (it was only asked about); jorien's "beamer" is a P2 meeting-room ticket (silence); lin's clicked link and
/// typed password is P1 with what to do now (P2, no advice); mark's charger question and joost's "goedemorgen allemaal"
/// get nothing; bob's @-answer to alice opens nothing; oliver's and mike's new starters open
/// the joiner walkthrough, oliver's with Jake Miller's name and first day taken; three people with the VPN down within
/// minutes are one major incident, and a printer "here too" is its own ticket.
#[tokio::test]
async fn probe_n_urgency_dutch_words_chatter_and_joiners_in_a_managers_words() {
    let out = replay::run_file(&script("probe_n.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> yara: Ticket #1 opened: ",
        "at a first guess; a technician will check what it's about.",
        "bot -> jorien: Ticket #2 opened: endpoint (P2 incident).",
        "bot -> lin: Ticket #3 opened: security (P1 incident).",
        "bot -> lin: Change your password now",
        "bot -> alice: Ticket #4 opened:",
        "bot -> oliver: Ticket #5 opened: New starter (joiner)",
        "bot -> mike: Ticket #6 opened: New starter (joiner)",
        // "vpn not working for me also" and "VPN down here too" join frank's report, which becomes a major incident
        // (two tickets and no outage before); "my printer is broken here too" is a printer ticket of its own.
        "bot -> gina: Thanks, I've added you to #7",
        "bot -> hans: Thanks, I've added you to #7",
        "bot -> #helpdesk-queue: Major incident: 3 people reported network problems (network.vpn) within 10m",
        "bot -> ivo: Ticket #8 opened: printing (P3 incident).",
        // A truck driver waiting at the gate and a customs deadline before noon are urgent (both were P3).
        "bot -> kees: Ticket #9 opened: printing (P2 incident).",
        // The driver "waiting" is no print job waiting: the offline printer's steps, not the print queue's.
        "bot -> kees: Your computer says the printer is **offline**?",
        "bot -> fatima: Ticket #10 opened: application (P2 incident).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for quiet in ["mark", "joost", "bob"] {
        assert!(!text.contains(&format!("bot -> {quiet}:")), "{quiet}: {text}");
    }
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 10, "{j}");
}

/// Probe M (M4): see `probe_m_dates.replay`. Expected (the probe's, written before running): "Update: Priya Raman's
/// last day is now 20 March, not this Friday" after her leaver reached the technicians moves #1 to 20 March (no second
/// leaver; sam, its owner, and mia are told; no access-removal alert on 6 March); "his start date has moved to Monday
/// 16 March" in the joiner's thread moves #2's first day.
#[tokio::test]
async fn probe_m_a_changed_leaving_date_or_first_day_moves_the_ticket() {
    let out = replay::run_file(&script("probe_m_dates.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> sam: #1 “Leaver: Priya Raman, Fri 20 Mar”: date changed by mia, access ends Fri 20 Mar 17:30 UTC (was \
         access ends Fri 6 Mar 17:30 UTC).",
        "bot -> mia: Updated #1: access ends Fri 20 Mar 17:30 UTC (was access ends Fri 6 Mar 17:30 UTC).",
        "bot -> mia: Updated #2: first day Mon 16 Mar (was first day Thu 5 Mar).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Access removal due now: #1"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["tickets"][0]["title"], "Leaver: Priya Raman, Fri 20 Mar", "{}", j["tickets"][0]);
}

/// Session 18 (probe N leftovers): see `session18.replay`. Expected: bert's report of the kitchen printer a minute
/// after anna's, in other words, is a ticket linked to hers that says so, with its own walkthrough (two unlinked
/// tickets before); carl's "sorry
/// not the printer, the scanner" moves his ticket to the scanner (it was added as a detail); remarks about the train's
/// and the airport's Wi-Fi get nothing (a network ticket before); oliver's leaver on Good Friday ends on 3 April
/// (M8: this Friday), and "Priya Raman left today" is a P2 leaver whose access ends now (P4, no name, 17:30).
#[tokio::test]
async fn session18_linked_reports_corrections_travel_wifi_and_leaver_dates() {
    let out = replay::run_file(&script("session18.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> anna: Ticket #1 opened: printing (P3 incident).",
        "bot -> bert: Ticket #2 opened: printing (P3 incident), linked to #1: anna reported what looks like the same \
         problem just now.",
        "bot -> carl: Got it: #3 is now about “the scanner next to reception is jammed again”",
        // Good Friday 2026 is 3 April, not this Friday (M8); "left today" ends access now, not at 17:30, and a
        // second leaver while the first one's question waits is its own ticket.
        "bot -> oliver: From your message: **Name:** Tom Baker · **Access ends:** Fri 3 Apr 2026 17:30 UTC.",
        "bot -> oliver: Ticket #5 opened: Someone is leaving (leaver) (identity P2 request).",
        "bot -> oliver: From your message: **Name:** Priya Raman · **Access ends:** immediately.",
        "New ticket #5 · P2 · identity · from oliver: “Priya Raman left today, please remove her access”",
        // Probe O: "oops I meant teams" moves the Outlook ticket, which off its walkthrough reaches the queue at once;
        // "sorry, floor 3 not floor 2" moves the place; "walked out yesterday" ends access now at P2.
        "bot -> dana: Got it: #6 is now about “teams keeps crashing when I open attachments”",
        "bot -> #helpdesk-queue: New ticket #6 · P3 · saas · from dana: “teams keeps crashing when I open attachments”",
        "bot -> eric: Got it: #7 is now about “the printer on floor 3 is jammed”.",
        "New ticket #8 · P2 · identity · from oliver: “Mark Jones walked out yesterday, please block his account”",
        // Outlook "for me too" after a Teams report, and floor 1's printer after floor 3's, are tickets of their own.
        "bot -> hal: Ticket #10 opened: saas (P3 incident).",
        "bot -> jon: Ticket #12 opened: printing (P3 incident).",
        // "also Sue Grey's last day is the 20th" two minutes after Priya Shah's leaver is a leaver of its own.
        "bot -> oliver: From your message: **Name:** Sue Grey · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
        // A leaver's date corrected in its thread while the handover question waits changes the date, and the question
        // is asked again (it was stored as the handover answer).
        "bot -> oliver: Changed: access ends Thu 12 Mar (was Fri 13 Mar).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for quiet in ["dina", "emil"] {
        assert!(!text.contains(&format!("bot -> {quiet}:")), "{quiet}: {text}");
    }
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 15, "{j}");
    let linked = |n: u64| -> Vec<serde_json::Value> {
        let t = tickets.iter().find(|t| t["number"] == n).unwrap();
        t["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "linked").map(|e| e["with"].clone()).collect()
    };
    assert_eq!(linked(1), vec![serde_json::json!(2)], "{j}");
    assert_eq!(linked(2), vec![serde_json::json!(1)], "{j}");
    assert!(linked(3).is_empty(), "{j}");
    assert!(!text.contains("Added to #13"), "{text}");
    // At the hand-off the card has the corrected date, and the handover answer is the one typed after it.
    assert!(text.contains("“Leaver: Nina Ross, Thu 12 Mar”"), "{text}");
    let nina = tickets.iter().find(|t| t["number"] == 15).unwrap().to_string();
    assert!(nina.contains("Dev Patel takes her email"), "{nina}");
    // ida's thanks in the channel after the fix is answered to her only (a thread under every thanks was noise).
    let welcome: Vec<&serde_json::Value> = j["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with("You're welcome, glad #11")))
        .collect();
    assert_eq!(welcome.len(), 1, "{j}");
    assert_eq!(welcome[0]["kind"], "ephemeral", "{}", welcome[0]);
}

/// Session 19 (probe O leftovers): see `session19.replay`. Expected (written before the fixes, from the probe's
/// report): "we're letting Mark Jones go tomorrow" is a P1 dismissal whose card reaches the queue at once (P4 before,
/// the README promises P1); "Tom Baker and Sue Grey are both leaving on Friday 13 March", written while Mark's
/// handover question waits, is two leavers of their own (it was stored as Mark's handover answer), one in the thread
/// and one in a DM, and an answer in Tom's thread goes to Tom's ticket; "the Friday before Easter" is Good Friday (this
/// Friday before); two jokes naming a device get nothing; "still down for me" from a reporter of a resolved major
/// incident is a ticket of their own linked to it, and "is the internet still down?" hears that it was fixed (both
/// silence before), while "I'm still at lunch" gets nothing; a mail rule the person does not recognise, a sign-in
/// prompt denied at night and a password reset they did not do are security tickets.
#[tokio::test]
async fn session19_dismissal_two_leavers_feast_weekday_jokes_and_still_down() {
    let out = replay::run_file(&script("session19.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> oliver: Ticket #1 opened: Someone is leaving (leaver) (identity P1 request).",
        "New ticket #1 · P1 · identity · from oliver: “we're letting Mark Jones go tomorrow” · response due in 30m",
        "DISMISSAL, access ends Wed 4 Mar 17:30 UTC: prepare now and keep it confidential",
        "bot -> oliver: From your message: **Name:** Tom Baker · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> oliver: From your message: **Name:** Sue Grey · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> oliver: Your message names 2 people, so each has a ticket of their own: #2 Tom Baker (questions here), \
         #3 Sue Grey (questions in a DM with you).",
        "bot -> oliver: From your message: **Name:** Ann Lee · **Access ends:** Fri 3 Apr 2026 17:30 UTC.",
        "bot -> bert: Ticket #7 opened: network (P2 incident), following up #5.",
        "bot -> dina: #5 (“the internet is down”) was marked fixed 6m ago.",
        "bot -> hana: Ticket #8 opened: security (P1 incident).",
        "bot -> ivan: Ticket #9 opened: security (P1 incident).",
        "bot -> jo: Ticket #10 opened: security (P1 incident).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for quiet in ["dan", "eve", "gus"] {
        assert!(!text.contains(&format!("bot -> {quiet}:")), "{quiet}: {text}");
    }
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 10, "{j}");
    let ticket = |n: u64| tickets.iter().find(|t| t["number"] == n).unwrap().to_string();
    // Mark's walkthrough never took the second message as its handover answer; Tom's took the answer in his thread.
    assert!(!ticket(1).contains("both leaving"), "{}", ticket(1));
    assert!(ticket(2).contains("Dev Patel takes his email"), "{}", ticket(2));
    assert!(!ticket(3).contains("Dev Patel"), "{}", ticket(3));
    let linked: Vec<serde_json::Value> = tickets[6]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "linked")
        .map(|e| e["with"].clone())
        .collect();
    assert_eq!(linked, vec![serde_json::json!(5)], "{}", tickets[6]);
}

/// Session 19, probe P: see `session19_probe_p.replay`. Expected (the probe's expectations, written before its runs):
/// "Tom Baker and Sue Grey both finish on Friday 13th" is two leavers dated 13 March (one ticket asking "who is
/// leaving?" before), and "Sue's mail and files to Jo Park" in the DM holding Sue's questions goes to Sue's ticket; "sorry,
/// not the 27th - it's the 26th" in Lena's thread moves her date (stored as the handover answer before), and "Jamal Odum
/// is also leaving…" there is a leaver of its own; hal's "same here" on gus's ticket follows the major incident it was
/// folded into (no update, no resolution before); "is it fixed now?" hears where it stands and "yep back for me" is
/// thanks (P2 tickets before), while "still can't get into outlook, is it meant to be fixed?" is a ticket (only asked
/// before); a fire taken back ("jk it's just jammed") is no P1; a question whether a sign-in email is real gets no
/// Outlook sign-in steps.
#[tokio::test]
async fn session19_probe_p_leaver_lists_dm_answers_date_fixes_and_after_the_fix() {
    let out = replay::run_file(&script("session19_probe_p.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> hannah: From your message: **Name:** Tom Baker · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> hannah: From your message: **Name:** Sue Grey · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> hannah: Changed: access ends Thu 26 Mar (was Fri 27 Mar).",
        "bot -> hannah: From your message: **Name:** Jamal Odum · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
        "bot -> hannah: That's someone else, so Jamal Odum has a ticket of its own: #4. This thread stays about #3.",
        "bot -> hal: #5 is fixed: Microsoft fixed it, mail is flowing again.",
        "bot -> gus: #5 (“is outlook down for anyone else?”) was marked fixed 5m ago.",
        "bot -> ivy: You're welcome, glad #5 is sorted!",
        "bot -> kim: Ticket #7 opened: saas (P2 incident), following up #5.",
        "bot -> lee: Ticket #8 opened: printing (P3 incident).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("“is it fixed now?”") && !text.contains("“yep back for me”"), "{text}");
    assert!(!text.contains("Sign in when it asks"), "{text}");
    let j = out.json().await.unwrap();
    let tickets = j["tickets"].as_array().unwrap();
    let ticket = |n: u64| tickets.iter().find(|t| t["number"] == n).unwrap().to_string();
    assert!(ticket(1).contains("Ray Lamb takes Tom's mail"), "{}", ticket(1));
    assert!(ticket(2).contains("Sue's mail and files to Jo Park"), "{}", ticket(2));
    assert!(!ticket(3).contains("not the 27th"), "{}", ticket(3));
    assert_eq!(tickets.len(), 8, "{j}");
}

/// Session 19, probe Q: see `session19_probe_q.replay`. Expected (the probe's expectations): "Sue's leaving date has
/// moved to Tuesday 17th" moves Sue's ticket, already with IT (it changed Tom's, whose questions waited, and was his
/// handover answer), and "actually Tom is now staying until the 27th" moves Tom's; "we're letting our receptionist Ann
/// Fox go on Friday" is a P1 dismissal for Ann Fox (a plain P4 ticket before); "Oscar Wilde's last day will be Friday
/// 13 March" is a leaver (asked before); "tomorrow at noon - she's being dismissed" as the date answer makes Nina's
/// leaver P1 at once (P4 until the hand-off); after the VPN incident was fixed, "is it sorted? still getting kicked off"
/// is a ticket (only asked) and "vpn's back, was it the firewall?" hears when it was fixed (a ticket before).
#[tokio::test]
async fn session19_probe_q_dates_by_first_name_dismissals_and_questions_after_a_fix() {
    let out = replay::run_file(&script("session19_probe_q.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> hannah: Updated #2: access ends Tue 17 Mar 17:30 UTC (was access ends Fri 13 Mar 17:30 UTC).",
        "bot -> hannah: Changed: access ends Fri 27 Mar (was Fri 13 Mar).",
        "“Leaver: Tom Baker, Fri 27 Mar”",
        "bot -> hannah: Ticket #3 opened: Someone is leaving (leaver) (identity P1 request).",
        "bot -> hannah: From your message: **Name:** Ann Fox · **Access ends:** Fri 6 Mar 2026 17:30 UTC.",
        "bot -> hannah: Ticket #4 opened: Someone is leaving (leaver) (identity P4 request).",
        "New ticket #5 · P1 · identity · from hannah: “Nina Patel is leaving, please set up the leaver”",
        "bot -> sue: Ticket #8 opened: network (P2 incident), following up #6.",
        "bot -> tim: #6 (“VPN keeps dropping every few minutes, can't stay connected”) was marked fixed 7m ago.",
        // Two joiners who "both start", two people let go in one message: a ticket each (one plain ticket before).
        "bot -> hannah: Your message names 2 people, so each has a ticket of their own: #9 Anna Kowalski (questions \
         here), #10 Ben Ode (questions in a DM with you).",
        "bot -> hannah: From your message: **Name:** Bo Reed · **Access ends:** Fri 6 Mar 2026 16:00 UTC.",
        // At the name question "laptop LT-0999" is no name, and "Lucy Brown, her last day is 13/3" gives one.
        "bot -> hannah: Their full name, please (first and last name), so that the right person's account is changed.",
        "bot -> hannah: When should Lucy Brown's access end?",
        // "first thing" is the day's opening (17:30 before), said in the message or as the date answer.
        "bot -> hannah: From your message: **Name:** Gary Lindqvist · **Access ends:** Wed 4 Mar 2026 09:00 UTC.",
        "access_ends: Wed 4 Mar 2026 09:00 UTC (“first thing tomorrow”)",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("“vpn's back, was it the firewall?”"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 15, "{j}");
}

/// Session 20: see `session20.replay`. Expected: "Any update on the laptop I ordered?" and "any news about my laptop
/// ticket?" from someone with nothing open open no ticket (an endpoint ticket each before, in eval); "any word on the
/// autocad licence? the grad has been sitting idle since 9" from someone with nothing open is a new application
/// request (silence before); "any update on the outlook thing?" with an Outlook ticket open is answered in it;
/// "Ramadan starts on Monday …" and "Training starts on the 3rd …" are office news (joiner tickets before), while
/// "Grace starts tomorrow in reception" from a manager is still a joiner; "Tom Baker is leaving on Friday 6th, Sue
/// Grey on Thursday 12th" and "Leavers this month: Amy Lowe on Friday 6th, Ben Carr on Thursday 12th" are two leavers
/// with their own dates, and "Cal Dunn is leaving … and Dee Ross starts …" a leaver and a joiner (probe P); probe R:
/// "Leaving this month: …" and "… are leaving" lists give each person their date, "Priya from accounts starts her leave
/// tomorrow" is no joiner, a status question naming something none of their open tickets is about is not added to
/// one, and one with a new symptom opens a ticket of its own.
#[tokio::test]
async fn session20_status_questions_office_news_and_several_people_with_their_own_dates() {
    let out = replay::run_file(&script("session20.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> ben: Ticket #1 opened: application (P3 incident).",
        "bot -> cat: #2 is still with me: the steps are in its thread.",
        // A first name that starts tomorrow is a joiner; Ramadan and a training course that start are not.
        "bot -> hannah: Ticket #3 opened: New starter (joiner) (identity P4 request).",
        // Several people, each with their own date (one ticket, or none, before), and a leaver beside a joiner (two
        // joiners before).
        "bot -> ivy: From your message: **Name:** Sue Grey · **Access ends:** Thu 12 Mar 2026 17:30 UTC.",
        "bot -> ivy: Your message names 2 people, so each has a ticket of their own: #4 Tom Baker (questions here), #5 \
         Sue Grey (questions in a DM with you).",
        "bot -> jo: From your message: **Name:** Amy Lowe · **Access ends:** Fri 6 Mar 2026 17:30 UTC.",
        "bot -> jo: From your message: **Name:** Ben Carr · **Access ends:** Thu 12 Mar 2026 17:30 UTC.",
        "bot -> kim: Ticket #8 opened: Someone is leaving (leaver) (identity P4 request).",
        "bot -> kim: From your message: **Name:** Cal Dunn · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> kim: Ticket #9 opened: New starter (joiner) (identity P4 request).",
        "bot -> kim: From your message: **Name:** Dee Ross · **First day:** Mon 16 Mar 2026.",
        // Probe R: a list's heading or its end says what the dates are of (no ticket, or one, before).
        "bot -> lou: From your message: **Name:** Eve Long · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
        "bot -> max: From your message: **Name:** Fay Hart · **Access ends:** Fri 13 Mar 2026 17:30 UTC.",
        "bot -> max: From your message: **Name:** Gil Moss · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
        // A status question about something none of their tickets is about is not added to one (it was added to the
        // printer ticket before); one with a new symptom is a new ticket.
        "bot -> oli: None of your open tickets is about that (#14 “the big printer by reception is jammed again”).",
        "bot -> pat: Ticket #16 opened: endpoint (P3 incident).",
        // Names with accents and apostrophes are names (no ticket, or one, before).
        "bot -> quy: Your message names 2 people, so each has a ticket of their own: #17 Zoë Müller (questions here), \
         #18 Seán O'Brien (questions in a DM with you).",
        // Someone who already left, beside someone leaving: access ends now for the first (nothing, or a plain P4
        // ticket, before).
        "bot -> ria: From your message: **Name:** Tom Ash · **Access ends:** immediately.",
        "bot -> ria: From your message: **Name:** Una Bell · **Access ends:** Fri 20 Mar 2026 17:30 UTC.",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for quiet in ["bot -> dee", "bot -> eve", "bot -> nia"] {
        assert!(!text.contains(quiet), "{quiet}: {text}");
    }
    // Session 21 (probe S): ana, who believes IT owes her a laptop, hears that nothing of hers is open (silence
    // before), and still no ticket opens.
    let ana = lines_to(&text, "ana");
    assert_eq!(ana.len(), 2, "{text}");
    assert!(ana.iter().all(|l| l.contains("I can't find an open ticket of yours about that.")), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 20, "{j}");
}

/// Session 20, probe S: see `session20_probe_s.replay`. Expected (the probe's): "any update?" with two tickets open
/// answers both (only #1, whose "update" read as an OS update, before); "any update on #2?" only #2 (both before);
/// "any news on my printer?" and "any news on the printer?" about a colleague's printer ticket say where it stands (a
/// printing ticket of their own before); "reset my mfa please, ta" and "password expired again ugh, cheers in advance"
/// are tickets (silence before); "any news on my laptop?" with only an Outlook ticket open adds nothing to it.
#[tokio::test]
async fn session20_probe_s_status_questions_and_requests_signed_off_with_thanks() {
    let out = replay::run_file(&script("session20_probe_s.replay")).await.unwrap();
    let text = out.text();
    let said =
        |who: &str, start: &str| text.lines().filter(|l| l.starts_with(&format!("bot -> {who}: {start}"))).count();
    assert_eq!(said("alice", "Nobody has picked up #1 yet"), 1, "{text}");
    assert_eq!(said("alice", "Nobody has picked up #2 yet"), 2, "{text}");
    for line in [
        "bot -> alice: Nobody has picked up #3 “the printer on floor 2 is jammed and won't print anything” yet;",
        "bot -> bob: Nobody has picked up #3 “the printer on floor 2 is jammed and won't print anything” yet;",
        "If it affects you too, say \"same here\" in its thread and you'll hear when it's fixed.",
        "bot -> dan: Ticket #4 opened: identity (P3 incident).",
        "bot -> eve: None of your open tickets is about that (#5 “outlook crashes every time I open a calendar invite”).",
        "bot -> fay: Ticket #6 opened: identity (P3 incident).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 6, "{j}");
}

/// Session 21: see `session21.replay`. Expected, written before running: ann's "test", the microwave, the vending
/// machine, the borrowed adapter, the caller warning of a tunnel, the late bus, the HR system's time off, the train's
/// Wi-Fi and the paper found in the cupboard hear nothing and open nothing (the ninth writer's tuning half: tickets
/// and category buttons for their kinds); jo's depot line, behind a greeting and a pleasantry, is a network ticket whose
/// title leaves both out; kim's "thanks! also could I get Visio on my laptop?" after a fix is a software request (a new
/// laptop walkthrough before); the server room's dead aircon is a P2 network ticket (silence before); max's question
/// to the room a minute after his scanner report stays out of the ticket, his error detail joins it; nia's "still
/// waiting for my new laptop" with nothing open is told so in the channel, oli's pizza is not answered.
#[tokio::test]
async fn session21_office_chatter_stays_quiet_and_requests_behind_courtesies_are_read() {
    let out = replay::run_file(&script("session21.replay")).await.unwrap();
    let text = out.text();
    for quiet in ["ann", "bea", "cal", "dee", "eli", "fin", "gil", "hoa", "ida"] {
        assert!(lines_to(&text, quiet).is_empty(), "{quiet}: {text}");
    }
    for line in [
        "bot -> jo: Ticket #1 opened: network (P3 incident).",
        "from jo: “The internet at the depot has been going on and off since Saturday, can someone check the line?”",
        "bot -> kim: Ticket #3 opened: application (P4 request).",
        "bot -> lou: Ticket #4 opened: network (P2 incident).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("New laptop request"), "{text}");
    // max's question to the room a minute after his scanner report is not added to it (probe S); his detail is.
    assert!(text.contains("bot -> max: Ticket #5 opened: printing"), "{text}");
    assert_eq!(lines_to(&text, "max").iter().filter(|l| l.contains("Added to #5")).count(), 1, "{text}");
    // nia, with nothing open, hears so in the channel (silence before); oli's pizza is nobody's business.
    assert!(text.contains("bot -> nia: I can't find an open ticket of yours about that."), "{text}");
    assert!(lines_to(&text, "oli").is_empty(), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 5, "{j}");
}

/// Session 21, probe T: see `session21_probe_t.replay`. Expected (the probe's, written before its runs): the Wi-Fi of
/// a hotel or a train, family computers at home, recommendations for home and a personal account already fixed open
/// nothing and say nothing (tickets, P1 security ones and a major incident before), nor does who orders the paper
/// (a printing ticket before); files renamed to .locked with a
/// bitcoin note is a P1 security ticket (an account lockout walkthrough before); lou's VPN between a pleasantry and
/// a well-wish is a network ticket (silence before); "nobody can hear me" and "everyone is laughing at me" leave one
/// person's headset and mouse at P3 (P2 before); a website down on a Saturday with customers emailing reaches the
/// queue at once as network (category buttons and no ticket before); a new phone whose authenticator came over empty
/// starts the new-phone walkthrough (a can't-sign-in ticket without one before).
#[tokio::test]
async fn session21_probe_t_chatter_about_elsewhere_ransomware_and_courtesies() {
    let out = replay::run_file(&script("session21_probe_t.replay")).await.unwrap();
    let text = out.text();
    for quiet in ["gia", "olga", "pete", "xena", "vin", "wes", "jax", "tess", "amos", "zoe"] {
        assert!(lines_to(&text, quiet).is_empty(), "{quiet}: {text}");
    }
    for line in [
        "bot -> ed: Ticket #1 opened: security (P1 incident).",
        "bot -> lou: Ticket #2 opened: network (P3 incident).",
        "bot -> maya: Ticket #3 opened: endpoint (P3 incident).",
        "bot -> bo: Ticket #4 opened: endpoint (P3 incident).",
        "bot -> eli: Ticket #6 opened: network (P1 incident).",
        "bot -> lee: New phone or number: do you still have your **old phone**",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Major incident"), "{text}");
    let j = out.json().await.unwrap();
    assert_eq!(j["tickets"].as_array().unwrap().len(), 6, "{j}");
}

/// Session 22: see `session22.replay`. Expected, written before running: a meeting in 10 minutes and month end make
/// one person's boardroom screen and Sage lockout P2 (P1 before: time pressure on one person's work is high, not
/// critical), while clients dialling in now still make a room camera P1; "never mind, Jen showed me 👍" offers to
/// close the ticket (it was added to it as a detail before). Probe U: customers who cannot order and a patient
/// waiting at reception right now are P1 (P2 before).
#[tokio::test]
async fn session22_time_pressure_is_high_not_critical_and_a_colleague_answering_withdraws() {
    let out = replay::run_file(&script("session22.replay")).await.unwrap();
    let text = out.text();
    for line in [
        "bot -> kim: Ticket #1 opened: endpoint (P2 incident).",
        "bot -> raj: Ticket #2 opened: identity (P2 incident).",
        "bot -> nia: Ticket #3 opened: endpoint (P1 incident).",
        "bot -> ben: Glad it's sorted! Shall I close #4? [Close it] [Keep it open]",
        "bot -> uma: Ticket #5 opened: application (P1 incident).",
        "bot -> vic: Ticket #6 opened: endpoint (P1 incident)",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Added to #4"), "{text}");
}
