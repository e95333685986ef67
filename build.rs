// The migrations are embedded by `sqlx::migrate!`; rebuild when one is added or changed (sqlx's advice: without
// this, a new migration file is not picked up until some Rust source changes).
//
// The PostgreSQL tests need a server: built with `TEST_DATABASE_URL` set they run, built without it they are listed
// as ignored with the reason (libtest cannot skip at run time, and a test that returns early would pass unseen).
// With `DESKBOT_REQUIRE_PG` set (as `.ci/run` does) they are always built to run, so that a missing URL fails them
// instead of leaving them ignored.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo:rerun-if-env-changed=DESKBOT_REQUIRE_PG");
    println!("cargo::rustc-check-cfg=cfg(deskbot_pg)");
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty() && v.trim() != "0");
    if set("TEST_DATABASE_URL") || set("DESKBOT_REQUIRE_PG") {
        println!("cargo:rustc-cfg=deskbot_pg");
    }
}
