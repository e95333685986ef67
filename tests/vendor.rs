//! Vendor escalation: a replay snapshot, and the vendor worker against a local SMTP server and webhook receiver.

use deskbot::replay;
use std::path::Path;

#[tokio::test]
async fn vendor_escalation_replay() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay/vendor.replay");
    let out = replay::run_file(&path).await.unwrap();
    insta::assert_snapshot!("vendor_text", out.text());
    // Hand-computed from tests/replay/vendor.toml: PrintCo's contract is 8h response, 3d resolution and a chase
    // every 4h, all on 24x7; escalated Mon 2 Mar 09:00 UTC.
    let at = |m: &replay::Seen| replay::rfc3339(m.at);
    let sent: Vec<(String, String)> =
        out.messages.iter().filter_map(|m| m.msg.vendor.as_ref().map(|v| (v.what.clone(), at(m)))).collect();
    assert_eq!(
        sent,
        [("case", "2026-03-02T09:00:00Z"), ("chase", "2026-03-02T13:30:00Z"), ("closed", "2026-03-02T16:30:00Z")]
            .map(|(w, t)| (w.to_string(), t.to_string())),
        "the case at escalation, the chase when sam clicked, the closure note at the resolution"
    );
    assert!(out.messages.iter().filter_map(|m| m.msg.vendor.as_ref()).all(|v| v.vendor == "printco"));
    // The reference is no update: the quiet prompt falls due 4h after the escalation (13:00), and the requester,
    // promised news by 13:00, is told then and promised the next by 17:00.
    let to = |who: &str, needle: &str| -> Vec<String> {
        out.messages
            .iter()
            .filter(|m| {
                replay::render_line(&m.msg).starts_with(&format!("bot -> {who}: ")) && m.msg.text.contains(needle)
            })
            .map(at)
            .collect()
    };
    assert_eq!(
        to("sam", "No update from PrintCo on #1 (case PC-48213) since Mon 2 Mar 09:00 UTC"),
        ["2026-03-02T13:00:00Z"]
    );
    assert_eq!(to("alice", "Next update by Mon 2 Mar 17:00 UTC"), ["2026-03-02T13:00:00Z"]);
    // After the update at 14:30 the next sign of life is due 4h later: 18:30, for sam and for alice.
    assert_eq!(to("alice", "next update by Mon 2 Mar 18:30 UTC"), ["2026-03-02T14:30:00Z"]);
    assert_eq!(to("sam", "next follow-up Mon 2 Mar 18:30 UTC"), ["2026-03-02T14:30:00Z"]);
    // The vendor's clock at 14:30: answered (the reference) at 09:30, 30m of 480m = 6%; 5h30m of 72h = 7.6% → 7%.
    assert_eq!(
        to("sam", "response due Mon 2 Mar 17:00 UTC (6% used), resolution due Thu 5 Mar 09:00 UTC (7% used)").len(),
        1
    );
    let ts = |s: &str| Some(s.parse::<deskbot::core::ticket::Timestamp>().unwrap());
    let ticket =
        deskbot::store::Store::ticket(out.desk.store(), deskbot::core::ids::TicketNo(1)).await.unwrap().unwrap();
    assert_eq!(ticket.vendor_cases.len(), 1);
    let case = &ticket.vendor_cases[0];
    assert_eq!((case.vendor.as_str(), case.reference.as_deref()), ("printco", Some("PC-48213")));
    assert_eq!(case.status, deskbot::core::vendor::CaseStatus::Closed);
    assert_eq!(Some(case.opened_at), ts("2026-03-02T09:00:00Z"));
    assert_eq!(Some(case.response_due), ts("2026-03-02T17:00:00Z"), "09:00 + 8h");
    assert_eq!(Some(case.resolution_due), ts("2026-03-05T09:00:00Z"), "09:00 + 3 days");
    assert_eq!(case.responded_at, ts("2026-03-02T09:30:00Z"), "the reference is the vendor's first answer");
    assert_eq!(case.last_update_at, ts("2026-03-02T14:30:00Z"));
    assert_eq!(case.last_chase_at, ts("2026-03-02T13:30:00Z"));
    assert_eq!(case.last_prompt_at, ts("2026-03-02T13:00:00Z"));
    assert_eq!(case.closed_at, ts("2026-03-02T16:30:00Z"));
    assert_eq!(case.next_followup, None, "a closed case has nothing to follow up");
    let j = out.json().await.unwrap();
    let t = &j["tickets"][0];
    // Both of the contract's targets met: answered 09:30 <= 17:00, closed 16:30 <= Thu 09:00.
    assert!(out.text().contains("response met (Mon 2 Mar 09:30 UTC), resolution met (Mon 2 Mar 16:30 UTC)"));
    // The ticket's own clock: first response 2h after 09:00 (answered at once); resolved at 16:30.
    assert_eq!(t["first_response_due"], "2026-03-02T11:00:00Z");
    assert_eq!(t["first_response_at"], "2026-03-02T09:00:00Z");
    assert_eq!(t["state"], "resolved");
}

mod network {
    //! The vendor worker against a local SMTP server and a local webhook receiver (127.0.0.1 only).

    use deskbot::adapters::vendor::{VendorSink, deliver_due, sign};
    use deskbot::config::Config;
    use deskbot::core::clock::Clock;
    use deskbot::core::desk::Desk;
    use deskbot::store::{Db, SqliteStore, Store};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A minimal SMTP server: the first `refuse` MAIL commands get 451, later ones are accepted and recorded.
    async fn smtp_server(refuse: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(vec![]));
        let mails = Arc::new(AtomicUsize::new(0));
        let got2 = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (got, mails) = (got2.clone(), mails.clone());
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    w.write_all(b"220 fake ESMTP\r\n").await.ok();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(buf) = data.as_mut() {
                            if line == "." {
                                got.lock().unwrap().push(data.take().unwrap());
                                w.write_all(b"250 queued\r\n").await.ok();
                            } else {
                                buf.push_str(&line);
                                buf.push('\n');
                            }
                            continue;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-fake\r\n250 OK\r\n"
                        } else if cmd.starts_with("MAIL") {
                            if mails.fetch_add(1, Ordering::SeqCst) < refuse {
                                b"451 try again later\r\n"
                            } else {
                                b"250 OK\r\n"
                            }
                        } else if cmd.starts_with("DATA") {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        } else if cmd.starts_with("QUIT") {
                            w.write_all(b"221 bye\r\n").await.ok();
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (port, got)
    }

    async fn desk(toml: &str) -> (Arc<Desk<Db>>, Arc<deskbot::core::clock::ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("v.db").display());
        let db = Db::Sqlite(SqliteStore::connect(&url).await.unwrap());
        db.migrate().await.unwrap();
        let config = Config::from_parts("vendor-test", toml, &[]).unwrap();
        let clock = crate::common::clock();
        let c: Arc<dyn Clock> = clock.clone();
        (Arc::new(deskbot::app::desk(&config, db, c).unwrap()), clock, dir)
    }

    async fn escalate(desk: &Desk<Db>) {
        desk.handle(&crate::common::say("alice", "the printer on floor 2 is jammed again")).await.unwrap();
        desk.handle(&crate::common::cmd("sam", "claim 1")).await.unwrap();
        desk.handle(&crate::common::cmd("sam", "escalate 1 printco fuser error 50.1, printer by the café"))
            .await
            .unwrap();
    }

    use std::collections::HashSet;

    /// How a vendor verifies a deskbot webhook: HMAC-SHA256 over "<timestamp>.<body>" with the shared key, compared
    /// in constant time; a timestamp more than five minutes from `now` is refused, and so is a delivery id already
    /// processed.
    fn verify(
        key: &[u8],
        headers: &axum::http::HeaderMap,
        body: &[u8],
        now: i64,
        processed: &mut HashSet<String>,
    ) -> Result<(), &'static str> {
        use hmac::{Hmac, KeyInit, Mac};
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ts = h("x-deskbot-timestamp").ok_or("no timestamp")?;
        let ts_n: i64 = ts.parse().map_err(|_| "bad timestamp")?;
        if (now - ts_n).abs() > 300 {
            return Err("stale timestamp");
        }
        let sig = h("x-deskbot-signature").ok_or("no signature")?;
        let hex = sig.strip_prefix("sha256=").ok_or("bad signature")?;
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<_, _>>()
            .map_err(|_| "bad signature")?;
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&bytes).map_err(|_| "bad signature")?;
        let id = h("x-deskbot-delivery").ok_or("no delivery id")?;
        if !processed.insert(id) {
            return Err("delivery already processed");
        }
        Ok(())
    }

    fn kinds(events: &[deskbot::core::ticket::Event]) -> Vec<String> {
        events.iter().map(|e| serde_json::to_value(e).unwrap()["kind"].as_str().unwrap().to_string()).collect()
    }

    #[tokio::test]
    async fn email_case_is_retried_after_a_refusal_and_carries_the_ticket_token() {
        let (port, got) = smtp_server(1).await;
        let toml = format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"helpdesk@office.test\"\n\n\
             [roles.console]\nsam = \"technician\"\n\n[[vendors]]\nid = \"printco\"\nname = \"PrintCo\"\n\
             categories = [\"printing\"]\nemail = \"support@printco.test\"\n"
        );
        let (desk, clock, _dir) = desk(&toml).await;
        escalate(&desk).await;
        let sink = VendorSink::new(desk.clone(), Duration::from_secs(5)).unwrap();
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0, "the first attempt is refused (451)");
        assert!(got.lock().unwrap().is_empty());
        clock.set(clock.now() + chrono::Duration::seconds(5));
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 1, "retried after its backoff");
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0, "and sent once");
        let mails = got.lock().unwrap().clone();
        assert_eq!(mails.len(), 1);
        let m = &mails[0];
        assert!(m.contains("From: helpdesk@office.test"), "{m}");
        assert!(m.contains("To: support@printco.test"), "{m}");
        assert!(m.lines().any(|l| l.starts_with("Subject:") && l.contains("[deskbot #1]")), "{m}");
        // A real MIME parser reads what mail clients read: MIME 1.0, UTF-8 plain text, the body decoded whole.
        let parsed = mailparse::parse_mail(m.as_bytes()).unwrap();
        let header =
            |name: &str| parsed.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name)).map(|h| h.get_value());
        assert_eq!(header("MIME-Version").as_deref(), Some("1.0"), "{m}");
        assert_eq!(parsed.ctype.mimetype, "text/plain", "{m}");
        assert_eq!(parsed.ctype.charset.to_ascii_lowercase(), "utf-8", "{m}");
        assert!(header("Subject").unwrap().contains("[deskbot #1]"));
        let body = parsed.get_body().unwrap();
        assert!(body.contains("fuser error 50.1, printer by the café"), "UTF-8 survives the transfer encoding: {body}");
        assert!(body.contains("floor 2"), "{body}");
        let ev = kinds(&desk.store().events(deskbot::core::ids::TicketNo(1)).await.unwrap());
        assert!(ev.contains(&"vendor_send_failed".to_string()), "{ev:?}");
        assert!(ev.contains(&"vendor_sent".to_string()), "{ev:?}");
        let t = desk.store().ticket(deskbot::core::ids::TicketNo(1)).await.unwrap().unwrap();
        assert_eq!(t.owner.unwrap().id, "sam", "the technician stays the owner");
        assert_eq!(t.state, deskbot::core::ticket::State::PendingVendor);
    }

    #[tokio::test]
    async fn webhook_timestamp_and_body_are_signed_and_replays_are_refused() {
        use axum::{Router, body::Bytes, http::HeaderMap, http::StatusCode, routing::post};
        let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::new(Mutex::new(vec![]));
        let seen2 = seen.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen2.clone();
                async move {
                    let mut s = seen.lock().unwrap();
                    s.push((headers, body));
                    if s.len() == 1 {
                        (StatusCode::INTERNAL_SERVER_ERROR, "down".to_string())
                    } else {
                        (StatusCode::OK, "{\"reference\": \"PC-777\"}".to_string())
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // Tests cannot set environment variables (unsafe code is forbidden): the sink reads the variable
        // `signing_env` names through a lookup that knows one fixed key.
        const KEY: &str = "whsec-printco-test-4f1c";
        let toml = format!(
            "[roles.console]\nsam = \"technician\"\n\n[[vendors]]\nid = \"printco\"\nname = \"PrintCo\"\n\
             categories = [\"printing\"]\nwebhook = \"http://{addr}/hook\"\nsigning_env = \"DESKBOT_VENDOR_PRINTCO_SIGNING\"\n"
        );
        let (desk, clock, _dir) = desk(&toml).await;
        escalate(&desk).await;
        let keys = |name: &str| (name == "DESKBOT_VENDOR_PRINTCO_SIGNING").then(|| KEY.to_string());
        let sink = VendorSink::with_keys(desk.clone(), Duration::from_secs(5), keys).unwrap();
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 0, "500 is a failure");
        clock.set(clock.now() + chrono::Duration::seconds(5));
        assert_eq!(deliver_due(&sink, clock.as_ref()).await.unwrap(), 1);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        let key = KEY;
        // A receiver as README describes it, written here without deskbot's code.
        let mut processed = std::collections::HashSet::new();
        let t0 = clock.now().timestamp();
        for (i, (headers, body)) in seen.iter().enumerate() {
            let ts: i64 = headers.get("x-deskbot-timestamp").unwrap().to_str().unwrap().parse().unwrap();
            assert!((t0 - 5..=t0).contains(&ts), "the send time: {ts}");
            assert_eq!(verify(key.as_bytes(), headers, body, ts, &mut processed), Ok(()), "delivery {i}");
            assert_eq!(headers.get("x-deskbot-signature").unwrap().to_str().unwrap(), sign(key.as_bytes(), ts, body));
            if i == 0 {
                // Answered 500, so not processed: the retry carries the same delivery id.
                processed.clear();
            }
        }
        let (headers, body) = &seen[1];
        let ts: i64 = headers.get("x-deskbot-timestamp").unwrap().to_str().unwrap().parse().unwrap();
        // The same request again: already processed.
        assert_eq!(verify(key.as_bytes(), headers, body, ts, &mut processed), Err("delivery already processed"));
        // Replayed ten minutes later, with the timestamp it was signed with: outside the window.
        assert_eq!(verify(key.as_bytes(), headers, body, ts + 600, &mut HashSet::new()), Err("stale timestamp"));
        // Replayed with a fresh timestamp: the signature covers the old one.
        let mut fresh = headers.clone();
        fresh.insert("x-deskbot-timestamp", (ts + 600).to_string().parse().unwrap());
        assert_eq!(verify(key.as_bytes(), &fresh, body, ts + 600, &mut HashSet::new()), Err("bad signature"));
        // A body changed in transit, or the wrong key.
        let mut changed = body.to_vec();
        changed.extend_from_slice(b" ");
        assert_eq!(verify(key.as_bytes(), headers, &changed, ts, &mut HashSet::new()), Err("bad signature"));
        assert_eq!(verify(b"forged", headers, body, ts, &mut HashSet::new()), Err("bad signature"));
        // And `sign` itself against a vector computed apart from it, with python3's hmac module:
        // hmac.new(b"whsec-printco-test-4f1c", b'1772442000.{"case":{"ticket":1}}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(KEY.as_bytes(), 1_772_442_000, br#"{"case":{"ticket":1}}"#),
            "sha256=eeaf7d02004a49ec35e28394e83374d25aeb49607ed625fcf909bcef18b3a692"
        );
        let j: serde_json::Value = serde_json::from_slice(&seen[1].1).unwrap();
        assert_eq!(j["case"]["ticket"], 1, "{j}");
        assert_eq!(j["vendor"], "printco");
        assert!(j.to_string().contains("fuser error 50.1"), "{j}");
        let t = desk.store().ticket(deskbot::core::ids::TicketNo(1)).await.unwrap().unwrap();
        assert!(serde_json::to_string(&t).unwrap().contains("PC-777"), "the webhook's reference is on the case");
    }
}
