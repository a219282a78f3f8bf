//! The three storeys hold (docs/architecture.md): a room of `src/` (a top folder, or a file
//! beside them) names only rooms on lower floors. The few arrows that still run up are listed
//! here with why (none now), and each must still exist, so the list cannot outlive its reasons.
//!
//! `cargo test --test api architecture -- --nocapture` prints every arrow between rooms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each room's floor, lowest first: the bottom storey, the domains, then the use cases and the
/// API. Rooms on one floor do not name each other.
const FLOORS: &[&[&str]] = &[
    &["infra"],
    &["accounts", "inventory"],
    &["cache", "organisations"],
    &["shop"],
    &["catalogue"],
    &["cart"],
    &["orders"],
    &["payments"],
    &["payouts"],
    &["claims", "livestream"],
    &["unions"],
    &["checkout"],
    &["stores"],
    &["impact"],
    &["user_disabling", "reconciliation", "demo"],
    &["graphql"],
    &["app"],
    &["lib", "main"],
];

/// The arrows that run up, each with why (docs/architecture.md, "What runs back up"): none
/// since placing and cancelling moved to checkout; a new one must be argued for here.
const EXPLAINED: &[(&str, &str, &str)] = &[];

fn source_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("a readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The rooms a line of code names through `crate::room` or `crate::{room, …}`, comments aside.
fn rooms_named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            named.extend(
                group
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or_default().to_owned()),
            );
        } else {
            named.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    named
}

/// Every arrow from one room to another, with the files that draw it.
fn arrows() -> BTreeMap<(String, String), BTreeSet<String>> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&source, &mut files);
    let mut arrows: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&source).expect("under src/");
        let room = relative
            .components()
            .next()
            .and_then(|first| first.as_os_str().to_str())
            .expect("a room")
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for target in text.lines().flat_map(rooms_named) {
            if target != room && floor_of(&target).is_some() {
                arrows
                    .entry((room.clone(), target))
                    .or_default()
                    .insert(relative.display().to_string());
            }
        }
    }
    arrows
}

fn floor_of(room: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&room))
}

#[test]
fn every_room_has_a_floor_and_names_only_rooms_below_it_but_the_explained() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&source).expect("src/") {
        let name = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        assert!(
            floor_of(&name).is_some(),
            "src/{name} stands on no floor: give it one in FLOORS"
        );
    }
    let arrows = arrows();
    for ((from, to), files) in &arrows {
        println!(
            "{from} -> {to}: {}",
            files.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let up: Vec<String> = arrows
        .iter()
        .filter(|((from, to), _)| floor_of(to) >= floor_of(from))
        .filter(|((from, to), _)| !EXPLAINED.iter().any(|(f, t, _)| f == from && t == to))
        .map(|((from, to), files)| {
            format!(
                "{from} -> {to} ({})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        up.is_empty(),
        "rooms that name a room on their floor or above:\n{}",
        up.join("\n")
    );
    let gone: Vec<String> = EXPLAINED
        .iter()
        .filter(|(from, to, _)| !arrows.contains_key(&((*from).to_owned(), (*to).to_owned())))
        .map(|(from, to, why)| format!("{from} -> {to} ({why})"))
        .collect();
    assert!(
        gone.is_empty(),
        "explained arrows that no longer exist, to strike from EXPLAINED:\n{}",
        gone.join("\n")
    );
}

#[test]
fn an_arrow_is_read_from_paths_and_groups_but_not_from_comments() {
    assert_eq!(rooms_named("use crate::orders::entity::order;"), ["orders"]);
    assert_eq!(
        rooms_named("use crate::{accounts, cart::graphql};"),
        ["accounts", "cart"]
    );
    assert!(rooms_named("    // see crate::payments::refunds").is_empty());
}
