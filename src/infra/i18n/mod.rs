//! The shop's words in Simplified Chinese (the default) and English.
//!
//! Text a person reads is never written in the code: the code names a message by its id (with
//! arguments), and the Fluent catalogues beside this file (`zh-CN.ftl`, `en.ftl`) give the
//! words. A [`Message`] stays an id until it is shown, in the language of whoever reads it: a
//! request's `Accept-Language`, or a signed-in user's stored choice (`me { language }`).
//! Codes, field paths and the schema stay English; only the words change.

use std::fmt;
use std::sync::LazyLock;

use async_graphql::Enum;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use unic_langid::{LanguageIdentifier, langid};

pub mod csv;

#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Language {
    /// Simplified Chinese (简体中文), the shop's default.
    #[default]
    #[sea_orm(string_value = "zh-CN")]
    ZhCn,
    /// English.
    #[sea_orm(string_value = "en")]
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::En];

    fn identifier(self) -> LanguageIdentifier {
        match self {
            Language::ZhCn => langid!("zh-CN"),
            Language::En => langid!("en"),
        }
    }

    /// The language an `Accept-Language` header asks for, by its preference order; Chinese
    /// when it names neither (or is absent or malformed).
    pub fn from_accept_language(header: Option<&str>) -> Language {
        let Some(header) = header else {
            return Language::default();
        };
        let requested = fluent_langneg::accepted_languages::parse(header);
        let available = Language::ALL.map(Language::identifier);
        let default = Language::default().identifier();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&default),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|id| Language::ALL.into_iter().find(|language| language.identifier() == **id))
            .unwrap_or_default()
    }

    /// The language a request's `Accept-Language` header asks for.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Language {
        Language::from_accept_language(
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok()),
        )
    }

    /// The language a request asks for: an explicit `?lang=` first, then the signed-in user's
    /// own choice, then `Accept-Language`.
    pub fn chosen(tag: Option<&str>, own: Option<Language>, headers: &axum::http::HeaderMap) -> Language {
        tag.and_then(Language::from_tag)
            .or(own)
            .unwrap_or_else(|| Language::from_headers(headers))
    }

    /// `zh-CN` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// `zh-CN` or `en`, as a query parameter (`?lang=en`) or the command line names it.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let requested: LanguageIdentifier = tag.parse().ok()?;
        Language::ALL
            .into_iter()
            .find(|language| language.identifier().language == requested.language)
    }
}

struct Catalogue {
    language: Language,
    bundle: FluentBundle<FluentResource>,
}

/// Both catalogues, parsed once. They are part of the binary, so a broken one is a bug a test
/// finds (`every_message_is_in_both_catalogues`), never something a request can cause.
static CATALOGUES: LazyLock<[Catalogue; 2]> = LazyLock::new(|| {
    [
        catalogue(Language::ZhCn, include_str!("zh-CN.ftl")),
        catalogue(Language::En, include_str!("en.ftl")),
    ]
});

fn catalogue(language: Language, source: &'static str) -> Catalogue {
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("the {language:?} catalogue does not parse: {errors:?}"));
    let mut bundle = FluentBundle::new_concurrent(vec![language.identifier()]);
    // Isolation marks (U+2068/U+2069) around arguments are for right-to-left scripts; in a
    // CSV cell or a JSON message they are stray characters.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        panic!("the {language:?} catalogue repeats a message: {errors:?}");
    }
    Catalogue { language, bundle }
}

fn catalogue_of(language: Language) -> &'static Catalogue {
    let [chinese, english] = &*CATALOGUES;
    if english.language == language { english } else { chinese }
}

/// Whether `id` is in `language`'s catalogue (for the tests that keep them complete).
pub fn has_message(language: Language, id: &str) -> bool {
    catalogue_of(language).bundle.has_message(id)
}

/// Every message id of `language`'s catalogue.
pub fn message_ids(language: Language) -> Vec<String> {
    let source = match language {
        Language::ZhCn => include_str!("zh-CN.ftl"),
        Language::En => include_str!("en.ftl"),
    };
    source
        .lines()
        .filter_map(|line| line.split_once(" =").map(|(id, _)| id))
        .filter(|id| !id.is_empty() && !id.starts_with([' ', '#', '-']))
        .map(str::to_owned)
        .collect()
}

/// A value a message shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Number(i64),
    /// Another message, shown in the same language (what a rate limit was about, say).
    Message(Box<Message>),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Number(value)
    }
}

impl From<i32> for Arg {
    fn from(value: i32) -> Self {
        Arg::Number(i64::from(value))
    }
}

impl From<u32> for Arg {
    fn from(value: u32) -> Self {
        Arg::Number(i64::from(value))
    }
}

impl From<u64> for Arg {
    fn from(value: u64) -> Self {
        Arg::Number(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Arg {
    fn from(value: usize) -> Self {
        Arg::Number(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<Message> for Arg {
    fn from(value: Message) -> Self {
        Arg::Message(Box::new(value))
    }
}

/// Words for a person, named by a catalogue id, with the values they show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Message {
    pub const fn new(id: &'static str) -> Message {
        Message { id, args: Vec::new() }
    }

    /// The message with `name` showing `value` (`{ $name }` in the catalogues).
    pub fn with(mut self, name: &'static str, value: impl Into<Arg>) -> Message {
        self.args.push((name, value.into()));
        self
    }

    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The words in `language`. A message missing from a catalogue (which the tests forbid)
    /// shows its id rather than failing the request.
    pub fn in_language(&self, language: Language) -> String {
        let catalogue = catalogue_of(language);
        let Some(pattern) = catalogue
            .bundle
            .get_message(self.id)
            .and_then(|message| message.value())
        else {
            tracing::warn!(id = self.id, ?language, "a message is missing from a catalogue");
            return self.id.to_owned();
        };
        let mut args = FluentArgs::new();
        for (name, value) in &self.args {
            match value {
                Arg::Text(text) => args.set(*name, text.clone()),
                Arg::Number(number) => args.set(*name, *number),
                Arg::Message(message) => args.set(*name, message.in_language(language)),
            }
        }
        let mut errors = Vec::new();
        let text = catalogue.bundle.format_pattern(pattern, Some(&args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(id = self.id, ?language, ?errors, "a message did not format cleanly");
        }
        text.into_owned()
    }
}

impl From<&'static str> for Message {
    fn from(id: &'static str) -> Self {
        Message::new(id)
    }
}

/// In the default language: for logs and the command line.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.in_language(Language::default()))
    }
}

/// The language of the request a resolver serves (Chinese when none was set).
pub fn language_of(ctx: &async_graphql::Context<'_>) -> Language {
    ctx.data_opt::<Language>().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests;
