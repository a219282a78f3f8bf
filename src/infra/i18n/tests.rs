//! The catalogues are complete: every code the API can answer with and every message the code
//! names is in both, found by reading the source (so a new code or message without its words
//! fails here, not in front of a user).

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

/// Calls whose arguments name a code or a message.
const CALLS: &[&str] = &[
    "UserError::new(",
    "UserError::rate_limited(",
    "Message::new(",
    "AppError::bad_input(",
    "Answer::error(",
    "refusal(",
    "coded(",
    "invalid(",
    "not_cancellable(",
    "not_shippable(",
    "not_payable(",
    "problem(",
];

fn source_files(dir: &Path, found: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") && !path.ends_with("i18n/tests.rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            found.push((path.display().to_string(), text));
        }
    }
}

/// The text between the parenthesis a call opens and the one that closes it.
fn arguments(text: &str) -> &str {
    let mut depth = 1;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..index];
                }
            }
            _ => {}
        }
    }
    text
}

/// The string literals in `text`.
fn literals(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// A message id: lower-case words joined by dashes (argument names have no dash).
fn is_message_id(literal: &str) -> bool {
    literal.contains('-')
        && literal.starts_with(|c: char| c.is_ascii_lowercase())
        && literal
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Words for a person (two words or more), as opposed to a separator or a name.
fn is_prose(literal: &str) -> bool {
    literal
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphabetic))
        .count()
        >= 2
}

/// (message ids, literals that read like English sentences) in the source.
fn scan() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut files = Vec::new();
    source_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let (mut ids, mut prose) = (BTreeSet::new(), BTreeSet::new());
    for (path, text) in &files {
        for call in CALLS {
            for (at, _) in text.match_indices(call) {
                let args = arguments(&text[at + call.len()..]);
                for literal in literals(args) {
                    if is_message_id(literal) {
                        ids.insert(literal.to_owned());
                    } else if is_prose(literal) {
                        prose.insert(format!("{path}: {literal}"));
                    }
                }
            }
        }
        // The error module names messages in tables and match arms.
        if path.ends_with("src/error.rs") {
            for literal in literals(text) {
                if is_message_id(literal) {
                    ids.insert(literal.to_owned());
                }
            }
        }
    }
    (ids, prose)
}

#[test]
fn every_code_and_message_is_in_both_catalogues() {
    let (ids, prose) = scan();
    let codes: Vec<&str> = crate::infra::error_code::ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert!(ids.len() > 100, "the scan finds the messages: {}", ids.len());
    assert!(
        prose.is_empty(),
        "words written in the code instead of a catalogue: {prose:#?}"
    );
    for language in Language::ALL {
        let missing: Vec<String> = codes
            .iter()
            .map(|code| format!("code-{code}"))
            .chain(ids.iter().cloned())
            .filter(|id| !has_message(language, id))
            .collect();
        assert!(
            missing.is_empty(),
            "missing from the {language:?} catalogue: {missing:#?}"
        );
    }
}

#[test]
fn both_catalogues_hold_the_same_messages() {
    let chinese: BTreeSet<String> = message_ids(Language::ZhCn).into_iter().collect();
    let english: BTreeSet<String> = message_ids(Language::En).into_iter().collect();
    assert_eq!(
        chinese.symmetric_difference(&english).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
}

#[test]
fn messages_show_their_arguments_in_either_language() {
    let message = Message::new("quantity-range").with("max", 99);
    assert_eq!(message.in_language(Language::En), "a quantity is 1 to 99");
    assert_eq!(message.in_language(Language::ZhCn), "数量为 1 到 99");
    let limited = Message::new("rate-limited")
        .with("reason", Message::new("too-many-failed-logins"))
        .with("seconds", 30);
    assert_eq!(
        limited.in_language(Language::En),
        "too many failed logins from this address; try again in 30 s"
    );
    assert_eq!(
        limited.in_language(Language::ZhCn),
        "这个地址登录失败次数过多，请 30 秒后再试"
    );
}

#[test]
fn the_language_follows_accept_language() {
    assert_eq!(Language::from_accept_language(None), Language::ZhCn);
    assert_eq!(Language::from_accept_language(Some("en-US,en;q=0.9")), Language::En);
    assert_eq!(
        Language::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
        Language::ZhCn
    );
    assert_eq!(Language::from_accept_language(Some("fr-FR")), Language::ZhCn);
    assert_eq!(Language::from_accept_language(Some("fr;q=0.9, en;q=0.5")), Language::En);
    assert_eq!(Language::from_accept_language(Some(";;;,,=q")), Language::ZhCn);
    assert_eq!(Language::from_tag("en"), Some(Language::En));
    assert_eq!(Language::from_tag("zh-CN"), Some(Language::ZhCn));
    assert_eq!(Language::from_tag("de"), None);
}
