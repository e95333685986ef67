//! Recurring issues: a ticket's fingerprint is its category, its symptom (the intent, or the most telling words)
//! and any location or asset it mentions ("floor 2", "room b", "PRN-2F-KITCHEN") — or, for software problems
//! (the `application` and `saas` categories, whose intents are catch-alls like `application.error`), the product
//! it names ("xero", "excel"), so Xero errors and Excel errors are two recurring issues, not one. Three or more tickets with one
//! fingerprint in 30 days are a recurring issue that the owner is offered to link to a problem record.

use regex::Regex;
use std::sync::LazyLock;

/// How far back look-alikes count.
pub const WINDOW_DAYS: i64 = 30;
/// Tickets with one fingerprint in the window that make it recurring.
pub const THRESHOLD: usize = 3;

static PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(floor|level|room|meeting room|conference room|office|building|site|desk)\s+([a-z]?\d{1,3}[a-z]?|[a-z])\b|\b(\d{1,2})(?:st|nd|rd|th)\s+floor\b|\b(reception|kitchen|boardroom|warehouse|front desk)\b",
    )
    .expect("valid regex")
});
static ASSET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z]{2,5}(?:-[A-Z0-9]{1,10}){1,3}\b").expect("valid regex"));

/// Software products offices report problems with, as staff name them; the first one a message names is its
/// product. Kept to well-known names: a product missing here leaves the fingerprint without one, as before.
static PRODUCT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(adobe acrobat|adobe reader|acrobat reader|microsoft teams|ms teams|xero|sage|quickbooks|myob|salesforce|hubspot|sap|oracle|netsuite|workday|jira|confluence|servicenow|service now|tableau|power ?bi|dynamics|bamboohr|adobe|acrobat|autocad|photoshop|revit|citrix|chrome|firefox|edge|excel|word|powerpoint|outlook|teams|onenote|onedrive|sharepoint|zoom|slack|webex|gmail|google drive|google docs|dropbox|docusign|okta|zendesk|mailchimp|canva|figma|visual studio|intranet|crm|erp|timesheets?|payroll)\b",
    )
    .expect("valid regex")
});

const STOP: &[&str] = &[
    "the", "a", "an", "is", "are", "my", "our", "on", "in", "at", "to", "of", "and", "or", "it", "its", "it's",
    "again", "still", "not", "no", "can't", "cant", "cannot", "won't", "wont", "doesn't", "isn't", "please", "help",
    "hi", "hello", "thanks", "with", "for", "from", "this", "that", "i", "me", "we", "us", "just", "keeps", "keep",
    "any", "anything", "since", "today", "morning", "now", "be", "has", "have", "been", "was", "get", "getting",
];

/// The location or asset a message mentions, normalised ("floor 2", "room b", "prn-2f-kitchen").
pub fn place(text: &str) -> Option<String> {
    if let Some(m) = ASSET.find(text) {
        return Some(m.as_str().to_ascii_lowercase());
    }
    let c = PLACE.captures(text)?;
    if let (Some(kind), Some(id)) = (c.get(1), c.get(2)) {
        let kind = kind.as_str().to_ascii_lowercase();
        let kind = match kind.as_str() {
            "level" => "floor",
            "meeting room" | "conference room" => "room",
            k => k,
        };
        return Some(format!("{kind} {}", id.as_str().to_ascii_lowercase()));
    }
    if let Some(n) = c.get(3) {
        return Some(format!("floor {}", n.as_str()));
    }
    c.get(4).map(|m| m.as_str().to_ascii_lowercase())
}

/// Significant words of a message, lowercased, without stop words, for similarity.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() > 1 && !STOP.contains(&w.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Jaccard similarity of the significant words of two texts (0..1).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|w| b.binary_search(w).is_ok()).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

/// The software product a message names, normalised ("xero", "power bi", "timesheet").
pub fn product(text: &str) -> Option<String> {
    let m = PRODUCT.find(text)?;
    let p = m.as_str().to_lowercase().replace("powerbi", "power bi").replace("service now", "servicenow");
    let p = match p.as_str() {
        "adobe acrobat" | "adobe reader" | "acrobat reader" => "acrobat".to_string(),
        "microsoft teams" | "ms teams" => "teams".to_string(),
        _ => p,
    };
    Some(p.strip_suffix("timesheets").map_or(p.clone(), |_| "timesheet".into()))
}

/// `category|symptom|place`: the symptom is the intent when known, otherwise the category alone; the place is the
/// location or asset named, else for software categories the product named.
pub fn fingerprint(category: &str, intent: Option<&str>, text: &str) -> String {
    let symptom = intent.unwrap_or("-");
    let software = matches!(category, "application" | "saas");
    let place = place(text).or_else(|| software.then(|| product(text)).flatten()).unwrap_or_else(|| "-".into());
    format!("{category}|{symptom}|{place}")
}

/// "printing · printing.jam · floor 2" for people.
pub fn describe(fingerprint: &str) -> String {
    fingerprint.split('|').filter(|p| *p != "-").collect::<Vec<_>>().join(" · ")
}

/// A recurring issue as a manager reads it: "application error · xero", "printing jam · floor 2", "network"
/// (the intent's words after its category, the place or product).
pub fn name(fingerprint: &str) -> String {
    let mut parts = fingerprint.split('|');
    let (category, symptom, place) = (parts.next().unwrap_or("-"), parts.next().unwrap_or("-"), parts.next());
    let what = match symptom.split_once('.') {
        Some((c, rest)) => format!("{c} {}", rest.replace('_', " ")),
        None if symptom != "-" && symptom != category => format!("{category} {symptom}"),
        None => category.to_string(),
    };
    match place.filter(|p| *p != "-" && !p.is_empty()) {
        Some(p) => format!("{what} · {p}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_problems_split_by_the_product_named() {
        let xero = fingerprint("application", Some("application.error"), "Xero won't load since the update");
        let xero2 = fingerprint("application", Some("application.error"), "xero keeps crashing on bank feeds");
        let excel = fingerprint("application", Some("application.error"), "excel freezes when I paste");
        assert_eq!(xero, "application|application.error|xero");
        assert_eq!(xero, xero2);
        assert_ne!(xero, excel);
        assert_eq!(name(&excel), "application error · excel");
        assert_eq!(product("PowerBI report won't refresh").as_deref(), Some("power bi"));
        assert_eq!(product("the timesheets site is down").as_deref(), Some("timesheet"));
        assert_eq!(product("can I get Adobe Acrobat installed").as_deref(), Some("acrobat"));
        assert_eq!(product("I need acrobat pro installed").as_deref(), Some("acrobat"));
        // Other categories keep only the place: a printer mentioning Word is still the printer's problem.
        assert_eq!(
            fingerprint("printing", Some("printing.jam"), "word docs jam the printer"),
            "printing|printing.jam|-"
        );
        // No product named: as before.
        assert_eq!(
            fingerprint("application", Some("application.error"), "the app crashes"),
            "application|application.error|-"
        );
        assert_eq!(name("network|-|-"), "network");
        assert_eq!(name("application|-|xero"), "application · xero");
    }

    #[test]
    fn places_and_assets_are_normalised() {
        assert_eq!(place("the printer on floor 2 is jammed again").as_deref(), Some("floor 2"));
        assert_eq!(place("printer on the 2nd floor").as_deref(), Some("floor 2"));
        assert_eq!(place("no sound in Meeting Room B").as_deref(), Some("room b"));
        assert_eq!(place("it's PRN-2F-KITCHEN again").as_deref(), Some("prn-2f-kitchen"));
        assert_eq!(place("the printer by reception").as_deref(), Some("reception"));
        assert_eq!(place("outlook not syncing"), None);
    }

    #[test]
    fn fingerprints_group_the_same_symptom_in_the_same_place() {
        let a = fingerprint("printing", Some("printing.jam"), "printer on floor 2 jammed");
        let b = fingerprint("printing", Some("printing.jam"), "Floor 2 printer eating paper AGAIN");
        let c = fingerprint("printing", Some("printing.jam"), "printer on floor 3 jammed");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(describe(&a), "printing · printing.jam · floor 2");
        assert_eq!(name(&a), "printing jam · floor 2");
    }

    #[test]
    fn similarity_ignores_filler() {
        assert!(similarity("outlook not syncing again", "Outlook still not syncing!") > 0.9);
        assert!(similarity("printer jammed on floor 2", "vpn keeps dropping") < 0.1);
        assert_eq!(similarity("", "anything"), 0.0);
    }
}
