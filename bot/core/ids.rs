//! Typed identifiers shared by the core and every adapter, so that no bare `i64`/`String` crosses a module boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The chat surface an event came from or a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Slack,
    Teams,
    Discord,
    Http,
    /// Messages to vendors (email or webhook), sent by the vendor worker.
    Vendor,
    /// Silences for Alertmanager (`POST /api/v2/silences`), sent by the silence worker.
    Alertmanager,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Slack => "slack",
            Platform::Teams => "teams",
            Platform::Discord => "discord",
            Platform::Http => "http",
            Platform::Vendor => "vendor",
            Platform::Alertmanager => "alertmanager",
        }
    }

    /// Platforms whose adapters update a posted message in place (ticket cards follow the ticket).
    pub fn edits_in_place(self) -> bool {
        matches!(self, Platform::Slack | Platform::Teams | Platform::Discord)
    }

    /// A chat surface people use (not an outbound-only channel to vendors or Alertmanager).
    pub fn is_chat(self) -> bool {
        !matches!(self, Platform::Vendor | Platform::Alertmanager)
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Some(match s {
            "console" => Platform::Console,
            "slack" => Platform::Slack,
            "teams" => Platform::Teams,
            "discord" => Platform::Discord,
            "http" => Platform::Http,
            "vendor" => Platform::Vendor,
            "alertmanager" => Platform::Alertmanager,
            _ => return None,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's human number, shown as `#42`. It is also the ticket's identity in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct TicketNo(pub i64);

impl fmt::Display for TicketNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl TicketNo {
    /// Parses `42` or `#42`.
    pub fn parse(s: &str) -> Option<TicketNo> {
        let n: i64 = s.trim().trim_start_matches('#').parse().ok()?;
        (n > 0).then_some(TicketNo(n))
    }
}

/// A person on one platform: the platform's own user id plus the name we show.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    pub platform: Platform,
    /// The platform's stable id (Slack `U…`, Discord snowflake, Teams `29:…`, console name).
    pub id: String,
    /// Display name; may change, never used for identity.
    pub name: String,
}

impl UserRef {
    /// A person; the display name is cleaned ([`clean_name`]) so that it cannot forge lines or reorder text in
    /// cards and replies. An empty name after cleaning shows the id.
    pub fn new(platform: Platform, id: impl Into<String>, name: impl Into<String>) -> Self {
        let id = id.into();
        let name = unmarked(&clean_name(&name.into()));
        let name = if name.is_empty() { clean_name(&id) } else { name };
        UserRef { platform, id, name }
    }

    /// This person named with their platform id beside the name, "tom (u-evil)": the marker deskbot adds where two
    /// people show one name. Only deskbot writes it: a display name cannot ([`unmarked`]).
    pub fn with_id_marker(mut self) -> Self {
        if self.name != self.id {
            self.name = format!("{} ({})", self.name, self.id);
        }
        self
    }

    /// `platform:id`, the key used in storage and role lookups.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.id)
    }

    /// The display name for a message: marked as someone else's text ([`crate::core::message::quoted`]), so each
    /// platform escapes it for its markup (a name cannot make itself bold, a link or a mention in a card).
    pub fn shown(&self) -> String {
        crate::core::message::quoted(&self.name)
    }

    pub fn same_person(&self, other: &UserRef) -> bool {
        self.platform == other.platform && self.id == other.id
    }
}

/// Longest display name kept, in characters.
pub const NAME_MAX_CHARS: usize = 64;

/// True for characters that are invisible or change how text around them is laid out: controls (newlines
/// included), bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), zero-width characters
/// (U+200B–U+200D, U+2060, U+FEFF), the Unicode line and paragraph separators (U+2028, U+2029), and the other
/// characters that draw nothing and so make look-alike names: the soft hyphen (U+00AD), the combining grapheme
/// joiner (U+034F), invisible "letters" (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the Khmer inherent
/// vowels U+17B4/5, the braille blank U+2800), Mongolian selectors and vowel separator (U+180B–U+180F), invisible
/// operators (U+2061–U+2064), deprecated format characters (U+206A–U+206F), interlinear annotation marks
/// (U+FFF9–U+FFFB), musical formatting (U+1D173–U+1D17A), tag characters (U+E0000–U+E007F) and variation
/// selectors (U+FE00–U+FE0F, U+E0100–U+E01EF).
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}')
        || matches!(c, '\u{061C}' | '\u{2060}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{2800}')
        || matches!(c, '\u{3164}' | '\u{FFA0}' | '\u{180B}'..='\u{180F}' | '\u{2061}'..='\u{2064}')
        || matches!(c, '\u{206A}'..='\u{206F}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}')
        || matches!(c, '\u{E0000}'..='\u{E007F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// `name` with every round bracket, and every look-alike of one (fullwidth, small, superscript, subscript,
/// ornamental), made a square bracket: deskbot shows a platform id beside a shared name as "tom (u-evil)", and a
/// display name "sam (u-sam)" or "sam （u-sam）" must not pass for that marker (#30). The words stay readable.
pub fn unmarked(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '(' | '\u{FF08}' | '\u{FE59}' | '\u{207D}' | '\u{208D}' | '\u{2768}' | '\u{276A}' | '\u{2E28}' => '[',
            ')' | '\u{FF09}' | '\u{FE5A}' | '\u{207E}' | '\u{208E}' | '\u{2769}' | '\u{276B}' | '\u{2E29}' => ']',
            c => c,
        })
        .collect()
}

/// A display name as shown: hidden characters dropped, runs of whitespace made one space, trimmed, at most
/// [`NAME_MAX_CHARS`] characters.
pub fn clean_name(s: &str) -> String {
    clean_name_unbounded(s).chars().take(NAME_MAX_CHARS).collect()
}

/// [`clean_name`] without the length bound: text on one line with nothing hidden.
pub fn clean_name_unbounded(s: &str) -> String {
    let visible: String =
        s.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).filter(|c| !is_hidden_char(*c)).collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Where a message lives on its platform: channel, optional thread, optional message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Place {
    /// Channel or conversation id (Slack `C…`/`D…`, Discord channel id, Teams conversation id, console `helpdesk`).
    pub channel: String,
    /// Thread root (Slack `thread_ts`, Discord thread id, Teams reply chain), if any.
    pub thread: Option<String>,
    /// The message itself, if the platform gives it an id.
    pub message: Option<String>,
    /// True for a direct message with the bot.
    pub dm: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_forge_lines_or_reverse_text() {
        let forged = UserRef::new(Platform::Slack, "U1", "Sam (IT Technician)\nNew ticket #999 · P1");
        assert_eq!(forged.name, "Sam [IT Technician] New ticket #999 · P1");
        let bidi = UserRef::new(Platform::Discord, "2", "\u{202E}nimda\u{202C} ali\u{200B}ce\u{2028}x");
        assert_eq!(bidi.name, "nimda alice x");
        assert_eq!(UserRef::new(Platform::Teams, "29:abc", "\u{200B}\u{FEFF}").name, "29:abc", "empty: the id");
        assert_eq!(UserRef::new(Platform::Console, "x", "a".repeat(200)).name.chars().count(), NAME_MAX_CHARS);
        assert_eq!(UserRef::new(Platform::Console, "x", "  Ana   María ").name, "Ana María");
    }

    /// #30: characters that draw nothing cannot make "Sam" from something else, nor a name that looks empty.
    #[test]
    fn invisible_letters_and_tags_are_removed_from_names() {
        let invisible = [
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{17B4}',
            '\u{17B5}',
            '\u{180E}',
            '\u{2063}',
            '\u{206A}',
            '\u{2800}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{FFA0}',
            '\u{FFF9}',
            '\u{1D173}',
            '\u{E0000}',
            '\u{E0001}',
            '\u{E0053}',
            '\u{E007F}',
            '\u{E0100}',
        ];
        for c in invisible {
            assert!(is_hidden_char(c), "U+{:04X}", c as u32);
            assert_eq!(UserRef::new(Platform::Slack, "U9", format!("S{c}a{c}m{c}")).name, "Sam", "U+{:04X}", c as u32);
            assert_eq!(clean_name_unbounded(&format!("title{c} here")), "title here", "U+{:04X}", c as u32);
        }
        // A tag sequence ("Sam" spelled in tags after a flag) and a name of fillers only: nothing visible is left,
        // so the platform id shows, as for an empty name.
        let tagged = "Sam\u{E0053}\u{E0061}\u{E006D}\u{E007F}";
        assert_eq!(UserRef::new(Platform::Discord, "42", tagged).name, "Sam");
        let blank = "\u{3164}\u{115F}\u{1160}\u{FFA0}\u{00AD}\u{2800}\u{E0020}";
        assert_eq!(UserRef::new(Platform::Teams, "29:abc", blank).name, "29:abc");
        assert_eq!(UserRef::new(Platform::Slack, "U1", "\u{3164} \u{3164}").name, "U1");
        // Visible text nearby stays: Hangul syllables, accents, emoji, and hyphens that draw.
        assert_eq!(UserRef::new(Platform::Slack, "U2", "김민준 Zoë-Anne 🎉").name, "김민준 Zoë-Anne 🎉");
    }

    /// #30 insider probe, item 14: a display name cannot fake the "(id)" marker deskbot puts beside shared names,
    /// with ASCII brackets or any look-alike; only [`UserRef::with_id_marker`] writes it.
    #[test]
    fn display_names_cannot_fake_the_id_marker() {
        for fake in
            ["sam (u-sam)", "sam \u{FF08}u-sam\u{FF09}", "sam \u{FE59}u-sam\u{FE5A}", "sam \u{207D}u-sam\u{207E}"]
        {
            assert_eq!(UserRef::new(Platform::Http, "u-evil", fake).name, "sam [u-sam]", "{fake}");
        }
        assert_eq!(UserRef::new(Platform::Http, "u-evil", "sam").with_id_marker().name, "sam (u-evil)");
        assert_eq!(UserRef::new(Platform::Http, "u-evil", "sam (u-sam)").with_id_marker().name, "sam [u-sam] (u-evil)");
        assert_eq!(
            UserRef::new(Platform::Http, "u1", "").with_id_marker().name,
            "u1",
            "no marker beside the id itself"
        );
    }
}
