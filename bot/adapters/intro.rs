//! The introduction deskbot posts in the helpdesk channel when it is added there (a Slack channel, a Teams team,
//! a Discord server): what it does, how to ask, and `/ticket help`. It is posted once per platform and channel,
//! ever: the post is committed with a dedupe key, so a redelivered join event, a restart (Discord announces every
//! server again on each connection) or a second replica changes nothing.

use crate::core::ids::Platform;
use crate::core::message::Outbound;
use crate::store::{Commit, Committed, Store, StoreError};

/// What deskbot says about itself. Plain text: every platform's renderer escapes it as usual.
pub fn text() -> String {
    "Hi, I'm deskbot, the IT helpdesk bot. Describe an IT problem or request here in your own words (\"the printer \
     on floor 2 is jammed\", \"I need Acrobat installed\") and I'll open a ticket, suggest a fix when I know one, \
     and keep you posted in its thread. You can also message me directly. Type `/ticket help` to see every command."
        .to_string()
}

/// The dedupe key of the introduction in `channel` (a logical channel name) on `platform`.
pub fn dedupe_key(platform: Platform, channel: &str) -> String {
    format!("intro:{}:{channel}", platform.as_str())
}

/// Commits the introduction to `channel` (logical name) unless it was committed before; true when it was
/// written now. The adapter's outbox worker delivers it.
pub async fn post_once<S: Store>(
    store: &S,
    platform: Platform,
    channel: &str,
    now: crate::core::ticket::Timestamp,
) -> Result<bool, StoreError> {
    let commit = Commit {
        dedupe_key: Some(dedupe_key(platform, channel)),
        at: Some(now),
        outbox: vec![Outbound::to_channel(platform, channel, text())],
        ..Commit::default()
    };
    Ok(store.commit(commit).await? == Committed::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_introduction_says_what_how_and_where_the_help_is() {
        let t = text();
        assert!(t.contains("IT helpdesk") && t.contains("ticket") && t.contains("/ticket help"), "{t}");
        assert_eq!(dedupe_key(Platform::Slack, "helpdesk"), "intro:slack:helpdesk");
    }
}
