//! Wires configuration, catalog, store and clock into a [`Desk`]. Used by every CLI command that runs the bot.

use crate::catalog;
use crate::config::Config;
use crate::core::clock::Clock;
use crate::core::desk::{Desk, DeskSettings};
use crate::store::Db;
use std::path::Path;
use std::sync::Arc;

/// Builds the desk from a validated configuration. Errors name the file and field at fault.
pub fn desk(config: &Config, db: Db, clock: Arc<dyn Clock>) -> anyhow::Result<Desk<Db>> {
    let classifier = catalog::load_classifier(config.catalog.intents_dir.as_deref().map(Path::new))
        .map_err(|e| anyhow::anyhow!(e))?;
    let policies = config.policies().map_err(|e| anyhow::anyhow!(e))?;
    let settings = DeskSettings {
        helpdesk_channel: config.channels.helpdesk.clone(),
        queue_channel: config.channels.queue.clone(),
        escalation_channel: config.channels.escalation.clone(),
        reopen_new_cycle_after: config.reopen_new_cycle_after().map_err(|e| anyhow::anyhow!(e))?,
        timezone: config.tz(),
        confident: config.triage.confident,
        roles: config.role_map(),
    };
    Ok(Desk::new(db, clock, Arc::new(classifier), policies, settings))
}
