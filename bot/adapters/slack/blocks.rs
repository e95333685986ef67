//! Block Kit rendering: outbound messages, ticket cards (with their live status) and the modals for reply,
//! resolve and vendor escalation. Every piece of text from the core is escaped (`&`, `<`, `>`) before it is
//! placed in a message, so a ticket title cannot carry `<!channel>`, `<@U…>` mentions or `<url|disguised>` links.

use crate::core::ids::TicketNo;
use crate::core::message::{Button, ButtonStyle, MessageKind, Outbound};
use crate::core::ticket::{State, Ticket};
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;

/// Longest text in one section block (Slack allows 3000 characters).
const SECTION_MAX: usize = 2900;
/// Longest fallback `text` we send (notifications and screen readers).
const FALLBACK_MAX: usize = 3000;
/// Slack allows at most 50 blocks per message; leave room for the status and the buttons.
const MAX_SECTIONS: usize = 45;
/// Longest button label (Slack: 75).
const LABEL_MAX: usize = 75;

/// Escapes the three characters Slack gives control meaning in message text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits escaped text into section-sized pieces, at line breaks where possible.
fn pieces(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if cur.chars().count() + line.chars().count() > SECTION_MAX && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if line.chars().count() > SECTION_MAX {
            let chars: Vec<char> = line.chars().collect();
            for c in chars.chunks(SECTION_MAX) {
                out.push(c.iter().collect());
            }
            continue;
        }
        cur.push_str(line);
    }
    if !cur.trim().is_empty() || out.is_empty() {
        out.push(cur);
    }
    if out.len() > MAX_SECTIONS {
        out.truncate(MAX_SECTIONS);
        out.push("…(message cut: too long for Slack)".into());
    }
    out
}

fn button(b: &Button) -> SlackActionBlockElement {
    let mut e = SlackBlockButtonElement::new(pt!(cut(&b.label, LABEL_MAX))).with_action_id(b.action.clone().into());
    e.style = match b.style {
        ButtonStyle::Default => None,
        ButtonStyle::Primary => Some(SlackBlockButtonStyle::Primary),
        ButtonStyle::Danger => Some(SlackBlockButtonStyle::Danger),
    };
    SlackActionBlockElement::Button(e)
}

fn sections(escaped: &str) -> Vec<SlackBlock> {
    pieces(escaped).into_iter().map(|p| SlackSectionBlock::new().with_text(md!(p)).into()).collect()
}

fn actions(buttons: &[Button]) -> Option<SlackBlock> {
    if buttons.is_empty() {
        return None;
    }
    // Slack allows 25 elements per actions block; the core never sends that many.
    Some(SlackActionsBlock::new(buttons.iter().take(25).map(button).collect()).into())
}

/// A plain message (reply or ephemeral notice). `mention` puts `<@U…>` first, so the addressee is notified in a
/// shared channel; it is a Slack user id we got from Slack, never user-written text.
pub fn message(m: &Outbound, mention: Option<&str>) -> SlackMessageContent {
    let mut text = escape(&m.text);
    if let Some(u) = mention {
        text = format!("<@{u}> {text}");
    }
    let mut blocks = sections(&text);
    blocks.extend(actions(&m.buttons));
    SlackMessageContent::new().with_text(cut(&text, FALLBACK_MAX)).with_blocks(blocks)
}

/// What a card shows of the ticket's live state (from the store when the card is posted or refreshed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardStatus {
    pub state: State,
    pub owner: Option<String>,
}

impl CardStatus {
    pub fn of(t: &Ticket) -> CardStatus {
        CardStatus { state: t.state, owner: t.owner.as_ref().map(|o| o.name.clone()) }
    }

    fn line(&self) -> String {
        let state = match self.state {
            State::New => "New",
            State::Open => "Open",
            State::PendingUser => "Waiting on the requester",
            State::PendingVendor => "Waiting on the vendor",
            State::Resolved => "Resolved",
            State::Closed => "Closed",
        };
        let owner = match &self.owner {
            Some(o) => format!("owner *{}*", escape(o)),
            None => "no owner yet".to_string(),
        };
        format!("Status: *{state}* · {owner}")
    }

    /// The buttons that still make sense: none once resolved or closed, no Claim once someone owns it.
    fn keep(&self, b: &Button) -> bool {
        match self.state {
            State::Resolved | State::Closed => false,
            _ => !(self.owner.is_some() && b.action.starts_with("ticket:claim:")),
        }
    }
}

/// A ticket card for the queue channel: the core's text, the live status, and the buttons that still apply.
pub fn card(m: &Outbound, status: Option<&CardStatus>) -> SlackMessageContent {
    let text = escape(&m.text);
    let mut blocks = sections(&text);
    let mut buttons = m.buttons.clone();
    if let Some(s) = status {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(s.line()))])
                .into(),
        );
        buttons.retain(|b| s.keep(b));
    }
    blocks.extend(actions(&buttons));
    SlackMessageContent::new().with_text(cut(&text, FALLBACK_MAX)).with_blocks(blocks)
}

/// Renders any outbound message by its kind (cards without a known status).
pub fn render(m: &Outbound, mention: Option<&str>) -> SlackMessageContent {
    match m.kind {
        MessageKind::Card => card(m, None),
        MessageKind::Reply | MessageKind::Ephemeral => message(m, mention),
    }
}

/// The buttons that open a modal instead of acting at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalKind {
    Reply,
    Resolve,
    Escalate,
}

impl ModalKind {
    /// `ticket:reply:N`, `ticket:resolve:N`, `ticket:escalate:N` (without a vendor) open a modal.
    pub fn for_action(action: &str) -> Option<(ModalKind, TicketNo)> {
        let mut parts = action.split(':');
        let (Some("ticket"), Some(verb), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let kind = match verb {
            "reply" => ModalKind::Reply,
            "resolve" => ModalKind::Resolve,
            "escalate" => ModalKind::Escalate,
            _ => return None,
        };
        Some((kind, TicketNo::parse(n)?))
    }

    fn verb(self) -> &'static str {
        match self {
            ModalKind::Reply => "reply",
            ModalKind::Resolve => "resolve",
            ModalKind::Escalate => "escalate",
        }
    }

    /// The modal's callback id, which names what a submission becomes.
    pub fn callback_id(self, n: TicketNo) -> String {
        format!("ticket:{}:{}", self.verb(), n.0)
    }
}

/// Block and action id of the text input in every modal.
pub const TEXT_INPUT: &str = "text";
/// Block and action id of the vendor picker in the escalation modal.
pub const VENDOR_INPUT: &str = "vendor";

/// A modal for `kind` on ticket `n`. `title` is the ticket's title (shown as context); `vendors` are
/// `(id, name)` pairs offered for escalation; `metadata` travels back with the submission (where the button was).
pub fn modal(kind: ModalKind, n: TicketNo, title: &str, vendors: &[(String, String)], metadata: &str) -> SlackView {
    // The title is the requester's text: no bold, italics or code of its own.
    let title = crate::core::message::Markup::SlackMrkdwn.escape(&cut(title, 200));
    let about = SlackSectionBlock::new().with_text(md!(format!("*{}* {}", n, escape(&title))));
    let mut blocks: Vec<SlackBlock> = vec![about.into()];
    let (heading, label, submit, optional) = match kind {
        ModalKind::Reply => (format!("Reply on {n}"), "Reply to the requester", "Send reply", false),
        ModalKind::Resolve => (format!("Resolve {n}"), "Resolution note (sent to the requester)", "Resolve", true),
        ModalKind::Escalate => (format!("Escalate {n}"), "Summary for the vendor", "Escalate", true),
    };
    if kind == ModalKind::Escalate {
        let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = vendors
            .iter()
            .take(100)
            .map(|(id, name)| SlackBlockChoiceItem::new(pt!(cut(name, 75)), id.clone()))
            .collect();
        let select = SlackBlockStaticSelectElement::new().with_action_id(VENDOR_INPUT.into()).with_options(options);
        blocks.push(
            SlackInputBlock::new(pt!("Vendor"), SlackInputBlockElement::StaticSelect(select))
                .with_block_id(VENDOR_INPUT.into())
                .into(),
        );
    }
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(TEXT_INPUT.into())
        .with_multiline(true)
        .with_max_length(3000);
    blocks.push(
        SlackInputBlock::new(pt!(label), SlackInputBlockElement::PlainTextInput(input))
            .with_block_id(TEXT_INPUT.into())
            .with_optional(optional)
            .into(),
    );
    SlackView::Modal(
        SlackModalView::new(pt!(cut(&heading, 24)), blocks)
            .with_submit(pt!(submit))
            .with_close(pt!("Cancel"))
            .with_callback_id(kind.callback_id(n).into())
            .with_private_metadata(metadata.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_only() {
        assert_eq!(
            escape("<!channel> & <@U1|x> <https://evil.example|bank>"),
            "&lt;!channel&gt; &amp; &lt;@U1|x&gt; &lt;https://evil.example|bank&gt;"
        );
        assert_eq!(escape("*bold* _it_ 'q' \"d\""), "*bold* _it_ 'q' \"d\"");
    }

    #[test]
    fn long_text_is_split_into_sections() {
        let text = "line\n".repeat(2000);
        let p = pieces(&text);
        assert!(p.len() > 3);
        assert!(p.iter().all(|s| s.chars().count() <= SECTION_MAX));
        assert_eq!(p.concat(), text);
        let one = "x".repeat(7000);
        let p = pieces(&one);
        assert_eq!(p.len(), 3);
        assert_eq!(p.concat(), one);
    }

    #[test]
    fn modal_buttons() {
        assert_eq!(ModalKind::for_action("ticket:reply:4"), Some((ModalKind::Reply, TicketNo(4))));
        assert_eq!(ModalKind::for_action("ticket:resolve:12"), Some((ModalKind::Resolve, TicketNo(12))));
        assert_eq!(ModalKind::for_action("ticket:escalate:4"), Some((ModalKind::Escalate, TicketNo(4))));
        assert_eq!(ModalKind::for_action("ticket:escalate:4:acme"), None);
        assert_eq!(ModalKind::for_action("ticket:claim:4"), None);
        assert_eq!(ModalKind::for_action("ticket:reply:x"), None);
    }
}
