//! Roles and what each may do. Every command and button is checked here, in the core, whatever the platform.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A person's role on the helpdesk. Unknown users are requesters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Requester,
    Technician,
    Lead,
    Manager,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "requester" => Role::Requester,
            "technician" | "tech" => Role::Technician,
            "lead" => Role::Lead,
            "manager" => Role::Manager,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Technician => "technician",
            Role::Lead => "lead",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
    /// Works the queue: claim, reply, note, resolve.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Technician | Role::Lead | Role::Admin)
    }
    /// May take a ticket away from its owner.
    pub fn can_reassign(self) -> bool {
        matches!(self, Role::Lead | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
