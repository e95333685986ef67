//! The authorization matrix: every command × every role, allowed and denied. A denial must be a clear message to
//! the person and, for a ticket command, a `denied` audit event on the ticket; an allowed cell must show its effect
//! (the state it changes in the store, or the reply it exists to give), so a command that fails for another reason
//! is not taken for allowed.

use deskbot::core::message::{Audience, Body, Envelope};
use deskbot::outbox::{self, Deliver, Failure, Worker};
use deskbot::replay;
use serde_json::Value;
use std::sync::Mutex;

/// Actors: a requester acting on their own ticket, a requester acting on someone else's, and each staff role.
const ACTORS: [(&str, &str); 6] = [
    ("alice", "requester (own ticket)"),
    ("carol", "requester (other's ticket)"),
    ("tom", "technician"),
    ("lena", "lead"),
    ("max", "manager"),
    ("ada", "admin"),
];

/// PrintCo takes endpoint cases by email, so ticket #1 can be escalated.
const CONFIG: &str = "[[vendors]]
id = \"printco\"
name = \"PrintCo\"
categories = [\"endpoint\"]
email = \"support@printco.test\"
";

const SETUP: &str = "@config authz.toml
@now 2026-03-02T09:00:00Z
@role sam technician
@role tom technician
@role lena lead
@role max manager
@role ada admin
alice: my laptop keeps freezing and crashing
bob: xero won't load since the update
sam: /ticket claim 2
";

/// Makes #1 resolved (alice is asked for her rating).
const RESOLVED: &str = "sam: /ticket resolve 1 replaced the dock\n";
/// Makes #3 alice's new-laptop request, waiting for a manager's approval.
const AWAITING_APPROVAL: &str = "alice: /ticket start new-laptop
alice clicks \"No, I need a new or extra one\"
alice (thread #3): MacBook Air
alice (thread #3): mine is 6 years old
alice (thread #3): 2026-03-20
alice clicks \"Send for approval\"
";
/// Makes #3 a leaver raised by a manager (no approval needed), with its checklist.
const LEAVER: &str = "max: /ticket start leaver
max (thread #3): Priya Raman
max (thread #3): end of day Friday 13 March
max (thread #3): Sam Lee
max (thread #3): laptop PF3X9, badge
max clicks \"Send to IT\"
";
const LEAVER_TICKED: &str = "max: /ticket start leaver
max (thread #3): Priya Raman
max (thread #3): end of day Friday 13 March
max (thread #3): Sam Lee
max (thread #3): laptop PF3X9, badge
max clicks \"Send to IT\"
sam: /ticket check 3 licences
";
/// Makes #1 resolved and rated by alice.
const RATED: &str = "sam: /ticket resolve 1 replaced the dock\nalice clicks \"👍 Good\"\n";
/// Makes #3 an alert ticket raised by Alertmanager (grouped by `alertname`), which can be silenced.
const ALERTED: &str = r#"@alertmanager {"version":"4","groupKey":"{}:{alertname=\"DbDown\"}","truncatedAlerts":0,"status":"firing","receiver":"deskbot","groupLabels":{"alertname":"DbDown"},"commonLabels":{"alertname":"DbDown","severity":"critical"},"commonAnnotations":{"summary":"Primary database unreachable"},"externalURL":"http://am:9093","alerts":[{"status":"firing","labels":{"alertname":"DbDown","severity":"critical"},"annotations":{},"startsAt":"2026-03-02T08:59:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"c1"}]}
"#;
const ESCALATED: &str = "sam: /ticket escalate 1 printco freezes after the dock update\n";

/// What an actor did, and what followed.
struct Cell<'a> {
    who: &'a str,
    /// The replay's JSON after the action (tickets with their events).
    j: Value,
    /// What the actor was told.
    replies: Vec<String>,
}

impl Cell<'_> {
    fn ticket(&self, n: usize) -> &Value {
        &self.j["tickets"][n - 1]
    }
    fn events(&self, n: usize, kind: &str) -> Vec<Value> {
        self.ticket(n)["events"].as_array().into_iter().flatten().filter(|e| e["kind"] == kind).cloned().collect()
    }
    /// The actor left an event of `kind` on ticket `n`.
    fn did(&self, n: usize, kind: &str) -> Result<(), String> {
        let by = self.events(n, kind).into_iter().filter(|e| e["actor"] == self.who).count();
        if by > 0 { Ok(()) } else { Err(format!("no `{kind}` event by {} on #{n}", self.who)) }
    }
    fn field(&self, n: usize, key: &str, want: &str) -> Result<(), String> {
        let got = &self.ticket(n)[key];
        if got == want { Ok(()) } else { Err(format!("#{n} {key} is {got}, not {want:?}")) }
    }
    fn told(&self, needle: &str) -> Result<(), String> {
        if self.replies.iter().any(|r| r.contains(needle)) {
            Ok(())
        } else {
            Err(format!("{} was not told {needle:?}", self.who))
        }
    }
    fn tickets(&self) -> usize {
        self.j["tickets"].as_array().map_or(0, Vec::len)
    }
}

type Effect = fn(&Cell) -> Result<(), String>;

/// What one row does: a command (`/ticket …` or `/helpdesk …`) or a button press.
enum Act {
    Cmd(&'static str, &'static str),
    Click(&'static str),
}

/// (what has happened before, the act, roles allowed by index into ACTORS, the effect an allowed act has).
const MATRIX: &[(&str, Act, &[usize], Effect)] = &[
    ("", Act::Cmd("ticket", "help"), &[0, 1, 2, 3, 4, 5], |c| c.told("/ticket show N")),
    ("", Act::Cmd("ticket", "mine"), &[0, 1, 2, 3, 4, 5], |c| match c.who {
        "alice" => c.told("#1"),
        _ => c.told("no open tickets"),
    }),
    ("", Act::Cmd("ticket", "find laptop"), &[0, 1, 2, 3, 4, 5], |c| match c.who {
        "carol" => c.told("No tickets"),
        _ => c.told("#1"),
    }),
    ("", Act::Cmd("ticket", "show 1"), &[0, 2, 3, 4, 5], |c| c.told("#1 “my laptop keeps freezing and crashing”")),
    ("", Act::Cmd("ticket", "sla 1"), &[0, 2, 3, 4, 5], |c| c.told("first response, target")),
    ("", Act::Cmd("ticket", "queue"), &[2, 3, 4, 5], |c| c.told("#1")),
    ("", Act::Cmd("ticket", "problems"), &[2, 3, 4, 5], |c| c.told("No recurring issues")),
    ("", Act::Cmd("ticket", "claim 1"), &[2, 3, 5], |c| c.field(1, "owner", c.who)),
    ("", Act::Cmd("ticket", "unclaim 2"), &[3, 5], |c| c.field(2, "owner", "").or_else(|_| null_owner(c, 2))),
    ("", Act::Cmd("ticket", "assign 1 @tom"), &[2, 3, 5], |c| c.field(1, "owner", "tom")),
    ("", Act::Cmd("ticket", "assign 2 @tom"), &[3, 5], |c| c.field(2, "owner", "tom")),
    ("", Act::Cmd("ticket", "reply 1 on my way"), &[2, 3, 5], |c| c.did(1, "public_reply")),
    ("", Act::Cmd("ticket", "note 1 checked the logs"), &[2, 3, 5], |c| c.did(1, "internal_note")),
    ("", Act::Cmd("ticket", "pending 1 user which model is it?"), &[2, 3, 5], |c| c.field(1, "state", "pending_user")),
    ("", Act::Cmd("ticket", "priority 1 P1"), &[2, 3, 5], |c| c.field(1, "priority", "P1")),
    ("", Act::Cmd("ticket", "category 1 network"), &[2, 3, 5], |c| c.field(1, "category", "network")),
    ("", Act::Cmd("ticket", "resolve 1 replaced the dock"), &[2, 3, 5], |c| c.field(1, "state", "resolved")),
    (RESOLVED, Act::Cmd("ticket", "reopen 1"), &[0, 2, 3, 5], |c| c.did(1, "reopened")),
    (RESOLVED, Act::Cmd("ticket", "close 1"), &[0, 2, 3, 5], |c| c.field(1, "state", "closed")),
    ("", Act::Cmd("ticket", "merge 1 into 2"), &[2, 3, 5], |c| c.did(1, "merged_into")),
    ("", Act::Cmd("ticket", "link 1 2"), &[2, 3, 5], |c| c.did(1, "linked")),
    ("", Act::Cmd("ticket", "problem 1"), &[2, 3, 5], |c| c.did(1, "problem_linked")),
    ("", Act::Cmd("ticket", "major 1"), &[2, 3, 5], |c| c.did(1, "major_incident")),
    (LEAVER, Act::Cmd("ticket", "check 3 licences"), &[2, 3, 5], |c| c.did(3, "checklist_ticked")),
    (LEAVER_TICKED, Act::Cmd("ticket", "uncheck 3 licences"), &[2, 3, 5], |c| c.did(3, "checklist_unticked")),
    // The role the runbooks name as approver (a manager for new-laptop) or an admin; a lead is no approver.
    (AWAITING_APPROVAL, Act::Cmd("ticket", "approve 3"), &[4, 5], |c| {
        c.did(3, "approval")?;
        c.told("Approved #3")
    }),
    (AWAITING_APPROVAL, Act::Cmd("ticket", "decline 3"), &[4, 5], |c| {
        c.did(3, "declined")?;
        c.field(3, "state", "closed")
    }),
    (RATED, Act::Cmd("ticket", "feedback 1 quick fix, thanks"), &[0], |c| {
        let said = c.events(1, "rated").iter().any(|e| e.to_string().contains("quick fix, thanks"));
        if said { Ok(()) } else { Err("the comment is not on the rating".into()) }
    }),
    (RESOLVED, Act::Click("ticket:rate-good:1"), &[0], |c| c.did(1, "rated")),
    (RESOLVED, Act::Click("ticket:rate-bad:1"), &[0], |c| c.did(1, "rated")),
    // #33 probe: a line manager is usually plain staff, so anyone starts a leaver or a joiner (a leaver still waits
    // for a manager's approval unless a manager or an admin raised it).
    ("", Act::Cmd("ticket", "start leaver"), &[0, 1, 2, 3, 4, 5], |c| started(c, "leaver")),
    ("", Act::Cmd("ticket", "start joiner"), &[0, 1, 2, 3, 4, 5], |c| started(c, "joiner")),
    ("", Act::Cmd("ticket", "start new-laptop"), &[0, 1, 2, 3, 4, 5], |c| {
        started(c, "")?;
        c.told("Ticket #3 opened: New laptop request")
    }),
    // Vendors: technicians, leads and admins escalate and record what the vendor said; chasing, snoozing and
    // closing a case are its owner's (sam's), a lead's or an admin's.
    ("", Act::Cmd("ticket", "escalate 1 printco freezes after the dock update"), &[2, 3, 5], |c| {
        c.did(1, "vendor_escalated")
    }),
    // The card's Escalate button on a ticket someone else owns: refused at once, not after picking a vendor.
    ("sam: /ticket claim 1\n", Act::Click("ticket:escalate:1"), &[3, 5], |c| {
        c.told("Escalate #1 (endpoint) to which vendor?")
    }),
    (ESCALATED, Act::Cmd("ticket", "vendor-ref 1 PC-4242"), &[2, 3, 5], |c| c.did(1, "vendor_reference")),
    (ESCALATED, Act::Cmd("ticket", "vendor-update 1 engineer booked"), &[2, 3, 5], |c| c.did(1, "vendor_update")),
    (ESCALATED, Act::Cmd("ticket", "chase 1"), &[3, 5], |c| c.did(1, "vendor_chased")),
    (ESCALATED, Act::Cmd("ticket", "snooze 1"), &[3, 5], |c| c.did(1, "vendor_snoozed")),
    (ESCALATED, Act::Cmd("ticket", "vendor-close 1"), &[3, 5], |c| c.did(1, "vendor_closed")),
    // Silencing an alert group in Alertmanager: technicians, leads and admins.
    (ALERTED, Act::Cmd("ticket", "silence 3 2h failing over"), &[2, 3, 5], |c| c.did(3, "silence_requested")),
    (ALERTED, Act::Click("ticket:silence-2h:3"), &[2, 3, 5], |c| c.did(3, "silence_requested")),
    // Reports: managers and leads (and admins).
    ("", Act::Cmd("helpdesk", "report"), &[3, 4, 5], |c| c.told("IT helpdesk report")),
];

fn null_owner(c: &Cell, n: usize) -> Result<(), String> {
    if c.ticket(n)["owner"].is_null() { Ok(()) } else { Err(format!("#{n} still has owner {}", c.ticket(n)["owner"])) }
}

/// A new ticket #3 runs the runbook, raised by the actor.
fn started(c: &Cell, runbook: &str) -> Result<(), String> {
    if c.tickets() != 3 {
        return Err(format!("{} tickets, not 3", c.tickets()));
    }
    c.field(3, "requester", c.who)?;
    let runs = c.ticket(3)["events"].as_array().into_iter().flatten().any(|e| e.to_string().contains(runbook));
    if runs { Ok(()) } else { Err(format!("#3 does not run {runbook}")) }
}

const DENIAL_WORDS: [&str; 6] =
    ["only technicians", "only managers", "only the ", "you can only", "only a lead", "only a manager"];

/// Collects what the desk sends after the act.
#[derive(Default)]
struct Collect(Mutex<Vec<deskbot::core::message::Outbound>>);

impl Deliver for Collect {
    async fn deliver(&self, item: &deskbot::store::OutboxItem) -> Result<(), Failure> {
        self.0.lock().unwrap().push(item.message.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_for_every_role() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("authz.toml"), CONFIG).unwrap();
    let mut wrong = vec![];
    for (pre, act, allowed, effect) in MATRIX {
        let label = match act {
            Act::Cmd(name, args) => format!("/{name} {args}"),
            Act::Click(action) => format!("button {action}"),
        };
        for (i, (who, role)) in ACTORS.iter().enumerate() {
            let out = replay::run_script(&format!("{SETUP}{pre}"), "authz.replay", dir.path()).await.unwrap();
            let desk = &out.desk;
            let body = match act {
                Act::Cmd(name, args) => Body::Command { name: name.to_string(), args: args.to_string() },
                Act::Click(action) => Body::Action { action: action.to_string() },
            };
            let env = Envelope {
                dedupe_key: format!("authz:{label}:{who}"),
                actor: deskbot::core::ids::UserRef::new(deskbot::core::ids::Platform::Console, *who, *who),
                place: Default::default(),
                mentioned: false,
                body,
            };
            let before = without_denials(out.json().await.unwrap());
            desk.handle(&env).await.unwrap();
            let sent = Collect::default();
            let clock = deskbot::core::clock::ManualClock::new(desk.now());
            outbox::drain(desk.store(), &sent, &clock, Worker::in_order("authz", None)).await.unwrap();
            let replies: Vec<String> = sent
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|m| matches!(&m.to, Audience::User { user } if user.id == *who))
                .map(|m| m.text.clone())
                .collect();
            let j = out.json().await.unwrap();
            // Refusals by role; a refusal because of the ticket's state ("#1 is not waiting for approval") is
            // recorded too, but the role was allowed to try.
            let by_role = |e: &Value| e["reason"].as_str().is_some_and(|r| DENIAL_WORDS.iter().any(|w| r.contains(w)));
            let audited = j["tickets"].as_array().unwrap().iter().any(|t| {
                t["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "denied" && e["actor"] == *who && by_role(e))
            });
            // A denial is one line; a long answer (a checklist) may say "only" in its items.
            let first_line = |t: &String| t.lines().next().unwrap_or_default().to_string();
            let told = replies.iter().map(first_line).any(|t| DENIAL_WORDS.iter().any(|w| t.contains(w)));
            let denied = audited || told;
            let expect_denied = !allowed.contains(&i);
            // A denial changes nothing but the record of the denial (#38 audit: only the refusal was checked).
            let unchanged = without_denials(j.clone()) == before;
            let cell = Cell { who, j, replies: replies.clone() };
            let verdict = if expect_denied {
                if !denied {
                    Err("expected a denial".to_string())
                } else if label.split_whitespace().nth(2).is_some_and(|n| n.parse::<u32>().is_ok())
                    && !(audited && told)
                {
                    Err(format!("a denied ticket command must be audited ({audited}) and explained ({told})"))
                } else if !unchanged {
                    Err("denied, but the tickets changed".to_string())
                } else {
                    Ok(())
                }
            } else if denied {
                Err("denied, expected allowed".to_string())
            } else {
                effect(&cell).map_err(|e| format!("allowed, but no effect: {e}"))
            };
            if let Err(e) = verdict {
                wrong.push(format!("{label} as {who} ({role}): {e}; replies: {replies:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "authorization matrix mismatches:\n{}", wrong.join("\n"));
}

/// The replay's tickets with their `denied` events left out: what a refused command must leave as it was.
fn without_denials(mut j: Value) -> Value {
    for t in j["tickets"].as_array_mut().into_iter().flatten() {
        if let Some(evs) = t["events"].as_array_mut() {
            evs.retain(|e| e["kind"] != "denied");
        }
    }
    j["tickets"].take()
}
