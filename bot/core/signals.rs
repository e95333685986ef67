//! Operations signals: patch status per device, backup job results, restore tests and security-baseline checks,
//! reported by RMM tools and scripts (`POST /api/v1/signals`, `deskbot signals import`). Records are idempotent by
//! id; a bad record is refused with its reason and the rest of the batch is kept.

use super::report::SignalFacts;
use super::ticket::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a record reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// A device's patch status (`ok` = fully patched). The latest record per device counts.
    Patch,
    /// One backup job run (`ok` = succeeded).
    Backup,
    /// One restore test (`ok` = passed).
    Restore,
    /// One security-baseline control (`ok` = done). The latest record per control counts.
    Baseline,
}

impl SignalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Patch => "patch",
            SignalKind::Backup => "backup",
            SignalKind::Restore => "restore",
            SignalKind::Baseline => "baseline",
        }
    }
    pub fn parse(s: &str) -> Option<SignalKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "patch" => Some(SignalKind::Patch),
            "backup" => Some(SignalKind::Backup),
            "restore" => Some(SignalKind::Restore),
            "baseline" => Some(SignalKind::Baseline),
            _ => None,
        }
    }
}

/// One signal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRecord {
    /// Unique per record on the sender's side; a record sent twice is stored once.
    pub id: String,
    pub kind: SignalKind,
    /// The device, job or control the record is about.
    pub subject: String,
    pub ok: bool,
    /// When it was observed (RFC 3339).
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SignalRecord {
    /// Checks the fields that serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() || self.id.len() > 200 {
            return Err("`id` must be 1-200 characters".into());
        }
        if self.subject.trim().is_empty() || self.subject.len() > 200 {
            return Err("`subject` must be 1-200 characters".into());
        }
        Ok(())
    }

    /// Parses one JSON record, with a reason on failure.
    pub fn from_json(v: &serde_json::Value) -> Result<SignalRecord, String> {
        let r: SignalRecord = serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            if path == "." { e.inner().to_string() } else { format!("field `{path}`: {}", e.inner()) }
        })?;
        r.validate()?;
        Ok(r)
    }

    /// Parses one CSV row given the header; columns: id, kind, subject, ok, at[, detail].
    pub fn from_csv(header: &csv::StringRecord, row: &csv::StringRecord) -> Result<SignalRecord, String> {
        let get = |name: &str| -> Result<&str, String> {
            let i = header.iter().position(|h| h.trim() == name).ok_or_else(|| format!("no `{name}` column"))?;
            Ok(row.get(i).unwrap_or("").trim())
        };
        let kind = get("kind")?;
        let kind = SignalKind::parse(kind)
            .ok_or_else(|| format!("`kind` is `{kind}`; use patch, backup, restore or baseline"))?;
        let ok = match get("ok")?.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "ok" | "passed" | "success" | "succeeded" => true,
            "false" | "0" | "no" | "failed" | "fail" | "error" => false,
            other => return Err(format!("`ok` is `{other}`; use true or false")),
        };
        let at_s = get("at")?;
        let at = chrono::DateTime::parse_from_rfc3339(at_s)
            .map_err(|_| format!("`at` is `{at_s}`; use an RFC 3339 time like 2026-03-02T09:00:00Z"))?
            .with_timezone(&chrono::Utc);
        let detail = header.iter().position(|h| h.trim() == "detail").and_then(|i| row.get(i)).map(str::trim);
        let r = SignalRecord {
            id: get("id")?.to_string(),
            kind,
            subject: get("subject")?.to_string(),
            ok,
            at,
            detail: detail.filter(|d| !d.is_empty()).map(str::to_string),
        };
        r.validate()?;
        Ok(r)
    }
}

/// The report's operations figures from the records observed in a period.
pub fn facts(records: &[SignalRecord]) -> SignalFacts {
    let mut latest: BTreeMap<(SignalKind, &str), (&Timestamp, &str, bool)> = BTreeMap::new();
    let mut f = SignalFacts::default();
    for r in records {
        match r.kind {
            SignalKind::Backup => {
                f.backups.1 += 1;
                f.backups.0 += u64::from(r.ok);
            }
            SignalKind::Restore => {
                f.restores.1 += 1;
                f.restores.0 += u64::from(r.ok);
            }
            SignalKind::Patch | SignalKind::Baseline => {
                let e = latest.entry((r.kind, r.subject.as_str())).or_insert((&r.at, r.id.as_str(), r.ok));
                if (&r.at, r.id.as_str()) > (e.0, e.1) {
                    *e = (&r.at, r.id.as_str(), r.ok);
                }
            }
        }
    }
    for ((kind, _), (_, _, ok)) in latest {
        let slot = if kind == SignalKind::Patch { &mut f.patch } else { &mut f.baseline };
        slot.1 += 1;
        slot.0 += u64::from(ok);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, kind: SignalKind, subject: &str, ok: bool, min: i64) -> SignalRecord {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z").unwrap().with_timezone(&chrono::Utc)
            + chrono::Duration::minutes(min);
        SignalRecord { id: id.into(), kind, subject: subject.into(), ok, at, detail: None }
    }

    #[test]
    fn latest_per_device_counts_for_patch_and_every_run_for_backups() {
        use SignalKind::*;
        let rs = vec![
            rec("1", Patch, "pc-1", false, 0),
            rec("2", Patch, "pc-1", true, 60), // pc-1 patched later: compliant
            rec("3", Patch, "pc-2", false, 10),
            rec("4", Backup, "nightly", true, 0),
            rec("5", Backup, "nightly", false, 1440),
            rec("6", Backup, "nightly", true, 2880),
            rec("7", Restore, "quarterly", true, 0),
            rec("8", Baseline, "mfa-enforced", true, 0),
            rec("9", Baseline, "disk-encryption", false, 0),
        ];
        let f = facts(&rs);
        assert_eq!(f.patch, (1, 2));
        assert_eq!(f.backups, (2, 3));
        assert_eq!(f.restores, (1, 1));
        assert_eq!(f.baseline, (1, 2));
        assert_eq!(facts(&[]), SignalFacts::default());
    }

    #[test]
    fn bad_records_say_why() {
        let v = serde_json::json!({"id": "a", "kind": "patches", "subject": "pc", "ok": true, "at": "2026-03-02T09:00:00Z"});
        assert!(SignalRecord::from_json(&v).unwrap_err().contains("kind"));
        let v =
            serde_json::json!({"id": "", "kind": "patch", "subject": "pc", "ok": true, "at": "2026-03-02T09:00:00Z"});
        assert!(SignalRecord::from_json(&v).unwrap_err().contains("`id`"));
        let h = csv::StringRecord::from(vec!["id", "kind", "subject", "ok", "at"]);
        let row = csv::StringRecord::from(vec!["x1", "backup", "nightly", "maybe", "2026-03-02T09:00:00Z"]);
        assert!(SignalRecord::from_csv(&h, &row).unwrap_err().contains("`ok` is `maybe`"));
        let row = csv::StringRecord::from(vec!["x1", "backup", "nightly", "failed", "2026-03-02T09:00:00Z"]);
        assert!(!SignalRecord::from_csv(&h, &row).unwrap().ok);
    }
}
