//! Replay: golden snapshots of whole conversations, determinism, and errors that name the line.

use deskbot::replay;
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
    // Opened Fri 15:30 GMT; 2h first response = 30m Friday + 1h30m Monday from 08:30 BST (07:30 UTC) = 09:00 UTC,
    // plus the business time it waited on alice: Fri 15:40-16:00 (20m) and Mon 07:30-08:00 UTC (30m) = 09:50.
    assert_eq!(t["created_at"], "2026-03-27T15:30:00Z");
    assert_eq!(t["first_response_at"], "2026-03-30T08:00:00Z");
    assert_eq!(t["first_response_due"], "2026-03-30T09:50:00Z");
    assert_eq!(t["state"], "resolved");
}
