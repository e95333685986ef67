//! Outbound messages as Bot Framework activities: plain markdown text, Adaptive Cards 1.4 for anything with
//! buttons (ticket cards, choices), inline PNG attachments for report charts. Pure functions, snapshot-tested.

use crate::core::message::{Button, ButtonStyle, MessageKind, Outbound};
use base64::Engine;
use serde_json::{Value, json};

/// The attachment content type of an Adaptive Card.
pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";

/// Buttons whose command takes text: the card shows a text box (`Action.ShowCard` with an `Input.Text`) whose
/// submit carries the text; `(placeholder, required)`.
pub fn input_for(verb: &str) -> Option<(&'static str, bool)> {
    Some(match verb {
        "reply" => ("Your reply to the requester", true),
        "note" => ("Internal note (not shown to the requester)", true),
        "resolve" => ("Resolution note (optional)", false),
        "reopen" => ("Why is it reopened? (optional)", false),
        "decline" => ("Reason (optional)", false),
        _ => return None,
    })
}

/// The activity for one outbound message (`type: message`).
pub fn activity(m: &Outbound) -> Value {
    let mut a = json!({"type": "message"});
    let mut attachments = vec![];
    if m.buttons.is_empty() && m.kind != MessageKind::Card {
        a["text"] = Value::String(markdown_lines(&m.text));
        a["textFormat"] = json!("markdown");
    } else {
        attachments.push(json!({"contentType": ADAPTIVE_CARD, "content": card(m)}));
        // Shown in notifications and chat lists, where a card has no text of its own.
        a["summary"] = Value::String(first_line(&m.text, 120));
    }
    if let Some(img) = &m.image {
        let data = base64::engine::general_purpose::STANDARD.encode(&img.png);
        attachments.push(json!({
            "contentType": "image/png",
            "contentUrl": format!("data:image/png;base64,{data}"),
            "name": img.name,
        }));
    }
    if !attachments.is_empty() {
        a["attachments"] = Value::Array(attachments);
    }
    a
}

/// The Adaptive Card of a message with buttons, or of a ticket card.
pub fn card(m: &Outbound) -> Value {
    let mut body = vec![];
    if let (MessageKind::Card, Some(n)) = (m.kind, m.ticket) {
        body.push(json!({"type": "TextBlock", "text": format!("Ticket {n}"), "weight": "Bolder", "size": "Medium"}));
    }
    for para in m.text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        body.push(json!({"type": "TextBlock", "text": para, "wrap": true}));
    }
    let mut c = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    });
    if !m.buttons.is_empty() {
        c["actions"] = Value::Array(m.buttons.iter().map(action).collect());
    }
    c
}

fn action(b: &Button) -> Value {
    let verb = b.action.strip_prefix("ticket:").and_then(|r| r.split(':').next()).unwrap_or("");
    let submit = |title: &str| {
        let mut s = json!({"type": "Action.Submit", "title": title, "data": {"action": b.action}});
        match b.style {
            ButtonStyle::Primary => s["style"] = json!("positive"),
            ButtonStyle::Danger => s["style"] = json!("destructive"),
            ButtonStyle::Default => {}
        }
        s
    };
    match input_for(verb) {
        Some((placeholder, required)) => {
            let mut input = json!({
                "type": "Input.Text",
                "id": super::activity::INPUT_FIELD,
                "placeholder": placeholder,
                "isMultiline": true,
                "maxLength": 2000,
            });
            if required {
                input["isRequired"] = json!(true);
                input["errorMessage"] = json!("Please write something first.");
            }
            json!({
                "type": "Action.ShowCard",
                "title": b.label,
                "card": {"type": "AdaptiveCard", "body": [input], "actions": [submit(&format!("Send: {}", b.label))]},
            })
        }
        None => submit(&b.label),
    }
}

/// Teams markdown joins lines separated by a single newline; keep them apart (lists and paragraphs stay as they
/// are).
fn markdown_lines(text: &str) -> String {
    text.split("\n\n").map(|p| p.split('\n').collect::<Vec<_>>().join("\n\n")).collect::<Vec<_>>().join("\n\n")
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
