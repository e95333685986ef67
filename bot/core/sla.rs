//! SLA policies: which targets apply to a ticket, and when its clocks fall due.
//!
//! Policies are an ordered list; the first whose conditions match the ticket wins, and the last one must have no
//! conditions (the default). Durations are measured on the policy's calendar; the built-in `24x7` calendar counts
//! every minute.

use super::duration::parse_duration;
use super::ticket::{Priority, Ticket, TicketType, Timestamp};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// One policy as written in `deskbot.toml` under `[[sla.policy]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    /// Match only these categories (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Match only these priorities (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<Priority>,
    /// Match only these ticket types (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<TicketType>,
    /// Time to the first human public reply, e.g. `30m`.
    pub first_response: String,
    /// Time to resolution, e.g. `2d`.
    pub resolution: String,
    /// Calendar the durations are counted in.
    #[serde(default = "default_calendar")]
    pub calendar: String,
}

fn default_calendar() -> String {
    "24x7".to_string()
}

impl PolicySpec {
    fn is_default(&self) -> bool {
        self.categories.is_empty() && self.priorities.is_empty() && self.types.is_empty()
    }
    fn matches(&self, category: &str, priority: Priority, ty: TicketType) -> bool {
        (self.categories.is_empty() || self.categories.iter().any(|c| c == category))
            && (self.priorities.is_empty() || self.priorities.contains(&priority))
            && (self.types.is_empty() || self.types.contains(&ty))
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub spec: PolicySpec,
    pub first_response: Duration,
    pub resolution: Duration,
}

/// The policy list, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Policies(Vec<Policy>);

/// Targets computed for one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    pub policy: String,
    pub first_response: Duration,
    pub first_response_due: Timestamp,
    pub resolution: Duration,
    pub resolution_due: Timestamp,
}

impl Policies {
    /// Validates specs: durations parse, calendars exist, and the list ends with a default policy.
    pub fn new(specs: &[PolicySpec]) -> Result<Policies, String> {
        let mut out = vec![];
        for (i, s) in specs.iter().enumerate() {
            let at = format!("sla.policy[{i}] ({})", s.name);
            let first_response = parse_duration(&s.first_response).map_err(|e| format!("{at}.first_response: {e}"))?;
            let resolution = parse_duration(&s.resolution).map_err(|e| format!("{at}.resolution: {e}"))?;
            if s.calendar != "24x7" {
                return Err(format!("{at}.calendar: unknown calendar `{}` (only `24x7` is built in)", s.calendar));
            }
            out.push(Policy { spec: s.clone(), first_response, resolution });
        }
        match out.last() {
            Some(p) if p.spec.is_default() => Ok(Policies(out)),
            Some(p) => Err(format!(
                "sla.policy: the last policy (`{}`) has conditions; add a default policy with no categories, priorities or types at the end",
                p.spec.name
            )),
            None => Err("sla.policy: no policies; at least a default policy is needed".into()),
        }
    }

    pub fn pick(&self, category: &str, priority: Priority, ty: TicketType) -> &Policy {
        self.0
            .iter()
            .find(|p| p.spec.matches(category, priority, ty))
            .unwrap_or_else(|| self.0.last().expect("validated non-empty"))
    }

    /// Targets for a ticket, counted from its creation.
    pub fn targets(&self, t: &Ticket) -> Targets {
        let p = self.pick(&t.category, t.priority, t.ticket_type);
        Targets {
            policy: p.spec.name.clone(),
            first_response: p.first_response,
            first_response_due: t.created_at + p.first_response,
            resolution: p.resolution,
            resolution_due: t.created_at + p.resolution,
        }
    }

    /// Recomputes and stores the due instants on the ticket.
    pub fn apply(&self, t: &mut Ticket) -> Targets {
        let tg = self.targets(t);
        t.first_response_due = Some(tg.first_response_due);
        t.resolution_due = Some(tg.resolution_due);
        tg
    }
}

/// The defaults shipped in `deskbot config print-default`.
pub fn default_policies() -> Vec<PolicySpec> {
    let p = |name: &str, pr: Priority, fr: &str, res: &str| PolicySpec {
        name: name.into(),
        categories: vec![],
        priorities: vec![pr],
        types: vec![],
        first_response: fr.into(),
        resolution: res.into(),
        calendar: default_calendar(),
    };
    vec![
        p("p1", Priority::P1, "30m", "4h"),
        p("p2", Priority::P2, "1h", "8h"),
        p("p3", Priority::P3, "4h", "2d"),
        PolicySpec { priorities: vec![], ..p("default", Priority::P4, "8h", "5d") },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_default_must_be_last() {
        let ps = Policies::new(&default_policies()).unwrap();
        assert_eq!(ps.pick("printing", Priority::P1, TicketType::Incident).spec.name, "p1");
        assert_eq!(ps.pick("printing", Priority::P4, TicketType::Request).spec.name, "default");
        let mut specs = default_policies();
        specs.pop();
        let e = Policies::new(&specs).unwrap_err();
        assert!(e.contains("add a default policy"), "{e}");
        assert!(Policies::new(&[]).is_err());
    }

    #[test]
    fn bad_duration_names_policy_and_field() {
        let mut specs = default_policies();
        specs[1].resolution = "5x".into();
        let e = Policies::new(&specs).unwrap_err();
        assert!(e.starts_with("sla.policy[1] (p2).resolution:"), "{e}");
    }
}
