//! The `deskbot` binary: config commands, bad configuration, unreachable databases, replay exit codes.

use std::process::Command;

fn deskbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskbot"));
    c.env_remove("DESKBOT_DATABASE_URL").env_remove("DESKBOT_CONFIG");
    c
}

#[test]
fn print_default_is_valid_config() {
    let out = deskbot().args(["config", "print-default"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deskbot.toml");
    std::fs::write(&f, &out.stdout).unwrap();
    let check = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn config_check_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deskbot.toml");
    std::fs::write(&f, "[triage]\nconfident = \"very\"\n").unwrap();
    let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("triage.confident"), "{err}");
    std::fs::write(&f, "colour = \"blue\"\n").unwrap();
    let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
    // Three mistakes that each parse: all three are named in one run, not one per run.
    std::fs::write(
        &f,
        "timezone = \"Mars/Olympus\"\n[triage]\nconfident = 1.5\n[roles.myspace]\nsam = \"technician\"\n",
    )
    .unwrap();
    let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // (The report schedule uses the office time zone, so the bad zone is named for it too: four lines.)
    assert!(err.contains("4 problems"), "{err}");
    for key in ["key `timezone`", "key `triage.confident`", "key `roles.myspace`"] {
        assert!(err.contains(key), "{key} missing: {err}");
    }
}

/// `env=="prod"` would read as the value `="prod"` and never match: `config check` refuses it, as Alertmanager does
/// (and `serve` reads the file with the same check).
#[test]
fn config_check_refuses_an_operator_alertmanager_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deskbot.toml");
    std::fs::write(&f, "[[alerts.rule]]\nmatchers = ['env==\"prod\"']\ncategory = \"network\"\n").unwrap();
    let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alerts.rule") && err.contains("`==` is not an operator; use =, !=, =~ or !~"), "{err}");
}

#[test]
fn unreachable_database_error_redacts_the_password() {
    let out = deskbot()
        .args(["migrate"])
        .env("DESKBOT_DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postgres://app:***@127.0.0.1:1/nope"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // It names what did not answer (port 1 refuses at once), rather than the pool's "timed out" ten seconds later.
    assert!(err.contains("nothing answered at 127.0.0.1:1: "), "{err}");
    assert!(!err.contains("pool timed out"), "{err}");
}

#[test]
fn replay_exit_code_and_line_number_on_bad_script() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.replay");
    std::fs::write(&f, "alice: hi\n@frobnicate\n").unwrap();
    let out = deskbot().arg("replay").arg(&f).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.replay:2: unknown directive `@frobnicate`"));
}

#[test]
fn migrate_creates_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskbot().arg("migrate").current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("deskbot.db").exists());
    // Its log went to a pipe, not a terminal: plain text, no colour codes in a log file.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("opening database"), "{log}");
    assert!(!log.contains('\x1b'), "colour codes in a log that is not a terminal: {log:?}");
}

#[test]
fn sla_due_on_a_calendar_only_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cal.toml");
    std::fs::write(
        &f,
        "[calendars.office]\ntimezone = \"Europe/London\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nholidays = [\"2026-03-03\"]\n",
    )
    .unwrap();
    let out = deskbot()
        .args(["sla", "due", "--calendar", "office", "--from", "2026-03-02T16:30:00Z", "--duration", "1h", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 30m on Monday, Tuesday is a holiday, Wednesday is closed: next Monday 09:30 GMT.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2026-03-09T09:30:00Z");
    let check = deskbot().args(["sla", "check", "--config"]).arg(&f).output().unwrap();
    assert!(check.status.success());
    std::fs::write(&f, "[calendars.office]\ntimezone = \"Europe/London\"\nmon = [\"09:00-17:00\", \"16:00-18:00\"]\n")
        .unwrap();
    let bad = deskbot().args(["sla", "check", "--config"]).arg(&f).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("calendars.office.mon: ranges overlap"));
    let bad = deskbot()
        .args(["sla", "due", "--calendar", "office", "--from", "2026-03-02T16:30:00Z", "--duration", "5x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn the_readme_runbook_example_is_valid_and_a_broken_one_is_named() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start =
        readme.find("In short:\n\n```toml\n").expect("README has the runbook example") + "In short:\n\n```toml\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("runbooks");
    std::fs::create_dir(&rb).unwrap();
    std::fs::write(rb.join("door-badge.toml"), example).unwrap();
    let cfg = dir.path().join("deskbot.toml");
    std::fs::write(&cfg, format!("[runbooks]\ndir = \"{}\"\n", rb.display())).unwrap();
    let out = deskbot().args(["runbooks", "check", "--config"]).arg(&cfg).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("door-badge"));
    std::fs::write(rb.join("door-badge.toml"), example.replace("next = \"which-door\"", "next = \"nowhere\"")).unwrap();
    let out = deskbot().args(["runbooks", "check", "--config"]).arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("door-badge.toml") && err.contains("nowhere"), "{err}");
}

#[test]
fn bench_ingest_reports_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskbot().args(["bench", "ingest", "--events", "20", "--json"]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["throughput_per_s", "p50_ms", "p99_ms", "rss_mb", "db_commit_baseline_per_s", "ratio"] {
        assert!(j[k].as_f64().is_some(), "missing {k}: {j}");
    }
    assert_eq!(j["events"], 20);
}

/// `config check` checks alert rules as `serve` does: a category or runbook that does not exist, the `none`
/// category, a bad matcher, and a `match` value written as a regular expression are errors naming the rule.
#[test]
fn config_check_checks_alert_rules() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deskbot.toml");
    for (rule, want) in [
        (
            "match = { service = \"db\" }\ncategory = \"made-up\"",
            "alerts.rule[0].category`: unknown category `made-up`",
        ),
        ("match = { service = \"db\" }\ncategory = \"none\"", "alerts.rule[0].category`: unknown category `none`"),
        ("match = { service = \"db\" }\nrunbook = \"no-such-runbook\"", "alerts.rule[0].runbook`: no runbook"),
        ("matchers = ['service=~\"db-(\"']", "not a regular expression"),
        ("matchers = ['service~\"db\"']", "expected =, !=, =~ or !~"),
        ("match = { service = \"db-.*\" }", "matchers = ['service=~\"db-.*\"']"),
        ("category = \"network\"", "give at least one label"),
    ] {
        std::fs::write(&f, format!("[[alerts.rule]]\n{rule}\n")).unwrap();
        let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{rule}: accepted");
        assert!(err.contains(want), "{rule}: {err}");
    }
    std::fs::write(
        &f,
        "[[alerts.rule]]\nmatchers = ['service=~\"db-.*\"', 'env!=\"staging\"']\ncategory = \"application\"\n",
    )
    .unwrap();
    let out = deskbot().args(["config", "check", "--config"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn outbox_lists_and_retries_dead_letters() {
    use deskbot::core::ids::Place;
    use deskbot::core::message::Outbound;
    use deskbot::store::{Commit, Db, Store};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = rt.block_on(async {
        let db = Db::open(&url).await.unwrap();
        let at = deskbot::replay::default_start();
        let u = deskbot::core::ids::UserRef {
            platform: deskbot::core::ids::Platform::Console,
            id: "alice".into(),
            name: "Alice".into(),
        };
        let m = Outbound::to_user(&u, &Place { channel: "helpdesk".into(), ..Place::default() }, "hello");
        db.commit(Commit { at: Some(at), outbox: vec![m], ..Commit::default() }).await.unwrap();
        let item = db.lease_outbox("t", None, at, at, 1).await.unwrap().remove(0);
        db.mark_dead(item.id, "403 not_in_channel", at).await.unwrap();
        item.id
    });
    let run = |args: &[&str]| deskbot().args(args).env("DESKBOT_DATABASE_URL", &url).output().unwrap();
    let out = run(&["outbox", "dead"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains(&format!("{id}")) && text.contains("Alice (alice)") && text.contains("403 not_in_channel"),
        "{text}"
    );
    let out = run(&["outbox", "retry", "999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no dead letter with id 999"));
    let out = run(&["outbox", "retry", &id.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 back in line to be sent");
    let out = run(&["outbox", "dead"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no dead letters");
}

#[test]
fn config_check_refuses_a_webhook_vendor_without_its_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("v.toml");
    std::fs::write(
        &cfg,
        "[[vendors]]\nid = \"netco\"\nname = \"NetCo\"\ncategories = [\"network\"]\n\
         webhook = \"https://netco.test/deskbot\"\nsigning_env = \"DESKBOT_TEST_NETCO_KEY\"\n",
    )
    .unwrap();
    let run = |key: Option<&str>| {
        let mut c = deskbot();
        c.args(["config", "check", "--config"]).arg(&cfg).env_remove("DESKBOT_TEST_NETCO_KEY");
        if let Some(k) = key {
            c.env("DESKBOT_TEST_NETCO_KEY", k);
        }
        c.output().unwrap()
    };
    let out = run(None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vendor webhook signing keys are not set: `DESKBOT_TEST_NETCO_KEY` (vendor `netco`)"),
        "{err}"
    );
    let out = run(Some("s3cret"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
}

/// Every subcommand, option and argument says what it is for: `--help` lines such as `--json` or `<FILE>` with
/// nothing after them are a newcomer's dead end. Walks the whole command tree through the binary's own `--help`.
#[test]
fn every_option_and_argument_has_a_help_text() {
    fn help(path: &[String]) -> String {
        let out = deskbot().args(path).arg("--help").output().unwrap();
        assert!(out.status.success(), "{path:?} --help failed");
        String::from_utf8(out.stdout).unwrap()
    }
    let mut blank = vec![];
    let mut todo = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        seen += 1;
        let text = help(&path);
        let mut section = "";
        for line in text.lines() {
            if !line.starts_with(' ') {
                section = line.trim_end_matches(':');
                continue;
            }
            let item = line.trim();
            // `  -x, --name <V>  text` or `  name  text`: two or more spaces separate the name from its help.
            let (name, rest) = match item.split_once("  ") {
                Some((n, r)) => (n.trim(), r.trim()),
                None => (item, ""),
            };
            if section == "Commands" {
                if name != "help" && !name.is_empty() {
                    todo.push(path.iter().cloned().chain([name.to_string()]).collect());
                }
                if rest.is_empty() {
                    blank.push(format!("deskbot {} {name}", path.join(" ")));
                }
            } else if (section == "Options" || section == "Arguments")
                && rest.is_empty()
                && (name.starts_with('-') || name.starts_with('<') || name.starts_with('['))
            {
                blank.push(format!("deskbot {} {name}", path.join(" ")));
            }
        }
    }
    assert!(seen > 20, "walked only {seen} commands");
    assert!(blank.is_empty(), "no help text:\n{}", blank.join("\n"));
}

/// README's `deskbot sla due` example runs as printed, on the example office file it names.
#[test]
fn the_readme_sla_due_example_runs() {
    let readme = include_str!("../README.md");
    let line = readme.lines().find(|l| l.starts_with("deskbot sla due ")).expect("the example in README");
    let args: Vec<&str> = line.split('#').next().unwrap().split_whitespace().skip(1).collect();
    let out = deskbot().args(&args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    // Mon 2 Mar 16:30 GMT + 4h of 09:00-17:30 business time: 1h on Monday, 3h on Tuesday from 09:00.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2026-03-03T12:00:00Z");
    let check = deskbot()
        .args(["config", "check", "--config", "deploy/examples/office.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

/// `report --out` says what it wrote (it used to print nothing on success).
#[test]
fn report_to_a_file_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let m = deskbot().arg("migrate").current_dir(dir.path()).output().unwrap();
    assert!(m.status.success());
    let out = deskbot()
        .args(["report", "--period", "week", "--at", "2026-03-02", "--format", "png", "--out", "week.png"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(dir.path().join("week.png")).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), format!("wrote the weekly report (png, {} bytes) to week.png", bytes.len()));
}
