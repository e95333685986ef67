//! The authorization matrix: every command × every role, allowed and denied. A denial must be a clear message to
//! the person and, for a ticket command, a `denied` audit event on the ticket.

use deskbot::replay;
use std::path::Path;

/// Actors: a requester acting on their own ticket, a requester acting on someone else's, and each staff role.
const ACTORS: [(&str, &str); 6] = [
    ("alice", "requester (own ticket)"),
    ("carol", "requester (other's ticket)"),
    ("tom", "technician"),
    ("lena", "lead"),
    ("max", "manager"),
    ("ada", "admin"),
];

const SETUP: &str = "@now 2026-03-02T09:00:00Z
@role sam technician
@role tom technician
@role lena lead
@role max manager
@role ada admin
alice: my laptop keeps freezing and crashing
bob: xero won't load since the update
sam: /ticket claim 2
";

/// (command, roles allowed) — roles by index into ACTORS.
const MATRIX: &[(&str, &[usize])] = &[
    ("/ticket help", &[0, 1, 2, 3, 4, 5]),
    ("/ticket mine", &[0, 1, 2, 3, 4, 5]),
    ("/ticket find laptop", &[0, 1, 2, 3, 4, 5]),
    ("/ticket show 1", &[0, 2, 3, 4, 5]),
    ("/ticket sla 1", &[0, 2, 3, 4, 5]),
    ("/ticket queue", &[2, 3, 4, 5]),
    ("/ticket problems", &[2, 3, 4, 5]),
    ("/ticket claim 1", &[2, 3, 5]),
    ("/ticket unclaim 2", &[3, 5]),
    ("/ticket assign 1 @tom", &[2, 3, 5]),
    ("/ticket assign 2 @tom", &[3, 5]),
    ("/ticket reply 1 on my way", &[2, 3, 5]),
    ("/ticket note 1 checked the logs", &[2, 3, 5]),
    ("/ticket pending 1 user which model is it?", &[2, 3, 5]),
    ("/ticket priority 1 P2", &[2, 3, 5]),
    ("/ticket category 1 endpoint", &[2, 3, 5]),
    ("/ticket resolve 1 replaced the dock", &[2, 3, 5]),
    ("/ticket reopen 1", &[0, 2, 3, 5]),
    ("/ticket close 1", &[0, 2, 3, 5]),
    ("/ticket merge 1 into 2", &[2, 3, 5]),
    ("/ticket link 1 2", &[2, 3, 5]),
    ("/ticket problem 1", &[2, 3, 5]),
    ("/ticket major 1", &[2, 3, 5]),
    ("/ticket check 1 licences", &[2, 3, 5]),
    ("/ticket uncheck 1 licences", &[2, 3, 5]),
    // The role the runbooks name as approver (a manager for new-laptop) or an admin; a lead is no approver.
    ("/ticket approve 1", &[4, 5]),
    ("/ticket decline 1", &[4, 5]),
    ("/ticket feedback 1 quick fix, thanks", &[0]),
    ("/ticket start leaver", &[2, 3, 4, 5]),
    ("/ticket start new-laptop", &[0, 1, 2, 3, 4, 5]),
];

const DENIAL_WORDS: [&str; 6] =
    ["only technicians", "only managers", "only the ", "you can only", "only a lead", "only a manager"];

#[tokio::test]
async fn every_command_for_every_role() {
    let mut wrong = vec![];
    for (cmd, allowed) in MATRIX {
        for (i, (who, role)) in ACTORS.iter().enumerate() {
            let script = format!("{SETUP}{who}: {cmd}\n");
            let out = replay::run_script(&script, "authz.replay", Path::new(".")).await.unwrap();
            let last_line = 9; // the command's line in the script
            let j = out.json().await.unwrap();
            // Refusals by role; a refusal because of the ticket's state ("#1 is not waiting for approval") is
            // recorded too, but the role was allowed to try.
            let by_role = |e: &serde_json::Value| {
                e["reason"].as_str().is_some_and(|r| DENIAL_WORDS.iter().any(|w| r.contains(w)))
            };
            let audited = j["tickets"].as_array().unwrap().iter().any(|t| {
                t["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "denied" && e["actor"] == *who && by_role(e))
            });
            let replies: Vec<String> = out
                .messages
                .iter()
                .filter(|m| matches!(&m.msg.to, deskbot::core::message::Audience::User { user } if user.id == *who))
                .map(|m| m.msg.text.clone())
                .collect();
            let told = replies.iter().any(|t| DENIAL_WORDS.iter().any(|w| t.contains(w)));
            let denied = audited || told;
            let expect_denied = !allowed.contains(&i);
            if denied != expect_denied {
                wrong.push(format!(
                    "{cmd} as {who} ({role}): expected {}, got {} (line {last_line}; replies: {replies:?})",
                    if expect_denied { "denied" } else { "allowed" },
                    if denied { "denied" } else { "allowed" },
                ));
            }
            if denied
                && cmd.split_whitespace().nth(2).is_some_and(|n| n.parse::<u32>().is_ok())
                && !cmd.contains("start")
            {
                assert!(audited, "{cmd} as {who}: a denied ticket command must leave a `denied` event");
                assert!(told, "{cmd} as {who}: a denied command must tell the person why");
            }
        }
    }
    assert!(wrong.is_empty(), "authorization matrix mismatches:\n{}", wrong.join("\n"));
}
