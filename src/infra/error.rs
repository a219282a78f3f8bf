//! One error story for the whole API.
//!
//! Policy: business failures a user can fix (out of stock, wrong password) are not errors at
//! all but `userErrors` in a mutation payload ([`UserError`]). [`AppError`] is for the rest:
//! the caller's fault (unauthenticated, forbidden, malformed input) is shown with a stable
//! `extensions.code`; ours (database, bugs) is logged in full and shown only as "internal error".

use async_graphql::{Context, ErrorExtensions, Object};
use sea_orm::DbErr;

use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::{Message, language_of};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0}")]
    BadInput(Message),
    #[error("internal error")]
    Database(#[from] DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// What an operation a user can get wrong answers: done, or a [`UserError`] to show them.
pub type Outcome<T> = AppResult<Result<T, UserError>>;

/// Batched loaders share one database error among every caller waiting on the batch.
impl From<std::sync::Arc<DbErr>> for AppError {
    fn from(error: std::sync::Arc<DbErr>) -> Self {
        AppError::Internal(anyhow::Error::new(error))
    }
}

impl AppError {
    pub fn bad_input(message: impl Into<Message>) -> Self {
        AppError::BadInput(message.into())
    }

    /// What the caller is told, in words the catalogues hold.
    fn message(&self) -> Message {
        match self {
            AppError::Unauthenticated => Message::new("authentication-required"),
            AppError::Forbidden => Message::new("forbidden"),
            AppError::BadInput(message) => message.clone(),
            AppError::Database(_) | AppError::Internal(_) => Message::new("internal-error"),
        }
    }

    /// The stable `extensions.code` a client can branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden => ErrorCode::Forbidden,
            AppError::BadInput(_) => ErrorCode::BadUserInput,
            AppError::Database(_) | AppError::Internal(_) => ErrorCode::InternalServerError,
        }
    }
}

// async-graphql's blanket `Display` conversion is switched off (feature
// `custom-error-conversion`), so every resolver error passes through here and no database
// message can reach a client by accident.
impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        if matches!(error, AppError::Database(_) | AppError::Internal(_)) {
            tracing::error!(error = ?error, "request failed");
        }
        coded(error.message(), error.code())
    }
}

/// A GraphQL error with a stable `extensions.code`. It carries its [`Message`], which the
/// HTTP layer shows in the request's language ([`localize`]).
pub fn coded(message: Message, code: ErrorCode) -> async_graphql::Error {
    async_graphql::Error::new_with_source(message).extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

/// async-graphql's own refusals of a query over the limits, by their text: the words and the
/// code they are given here.
const LIMIT_REFUSALS: [(&str, &str, ErrorCode); 2] = [
    ("Query is too complex.", "query-too-complex", ErrorCode::QueryTooComplex),
    ("Query is nested too deep.", "query-too-deep", ErrorCode::QueryTooDeep),
];

/// Puts a response's error messages into `language`: those that carry a [`Message`] are
/// translated, and async-graphql's refusals of a query over the limits get words and a code;
/// its other messages (a query that does not parse or validate against the schema, whose
/// names are English anyway) keep their English text.
pub fn localize(response: &mut async_graphql::Response, language: crate::infra::i18n::Language) {
    for error in &mut response.errors {
        if let Some(message) = error.source::<Message>() {
            error.message = message.in_language(language);
        } else if let Some((_, id, code)) = LIMIT_REFUSALS.iter().find(|(text, _, _)| error.message == *text) {
            error.message = Message::new(id).in_language(language);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
    }
}

/// A business failure reported in a mutation payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    pub field: Option<Vec<String>>,
    pub code: ErrorCode,
    pub message: Message,
    pub retry_after_seconds: Option<i32>,
}

/// A business failure reported in a mutation payload.
#[Object]
impl UserError {
    /// The path to the input field at fault, when there is one.
    async fn field(&self) -> Option<&[String]> {
        self.field.as_deref()
    }

    /// A stable code such as `OUT_OF_STOCK`.
    async fn code(&self) -> &str {
        self.code.as_str()
    }

    /// The same code as an enum, to switch on.
    async fn error_code(&self) -> ErrorCode {
        self.code
    }

    /// For people, in the request's language (`Accept-Language`, or the user's own choice).
    async fn message(&self, ctx: &Context<'_>) -> String {
        self.message.in_language(language_of(ctx))
    }

    /// For `RATE_LIMITED`: seconds to wait before the same request can succeed.
    async fn retry_after_seconds(&self) -> Option<i32> {
        self.retry_after_seconds
    }
}

impl UserError {
    pub fn new(code: ErrorCode, message: impl Into<Message>) -> Self {
        UserError {
            field: None,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    /// `RATE_LIMITED`, with when to try again (in the message too, for people).
    pub fn rate_limited(what: impl Into<Message>, retry_after_seconds: u64) -> Self {
        let message = Message::new("rate-limited")
            .with("reason", what.into())
            .with("seconds", retry_after_seconds);
        let mut error = UserError::new(ErrorCode::RateLimited, message);
        error.retry_after_seconds = Some(i32::try_from(retry_after_seconds).unwrap_or(i32::MAX));
        error
    }

    pub fn on_field(mut self, path: &[&str]) -> Self {
        self.field = Some(path.iter().map(|part| (*part).to_owned()).collect());
        self
    }
}
