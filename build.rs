// The migrations are embedded by `sqlx::migrate!`; rebuild when one is added or changed (sqlx's advice: without
// this, a new migration file is not picked up until some Rust source changes).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
