//! Vendor escalation: a replay snapshot, and the vendor worker against a local SMTP server and webhook receiver.

use deskbot::replay;
use std::path::Path;

#[tokio::test]
async fn vendor_escalation_replay() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay/vendor.replay");
    let out = replay::run_file(&path).await.unwrap();
    insta::assert_snapshot!("vendor_text", out.text());
}
