//! One error story for the whole API.
//!
//! Policy: business failures a user can fix (out of stock, wrong password) are not errors at
//! all but `userErrors` in a mutation payload ([`UserError`]). [`AppError`] is for the rest:
//! the caller's fault (unauthenticated, forbidden, malformed input) is shown with a stable
//! `extensions.code`; ours (database, bugs) is logged in full and shown only as "internal error".

use async_graphql::{ErrorExtensions, SimpleObject};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0}")]
    BadInput(String),
    #[error("internal error")]
    Database(#[from] DbErr),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// Batched loaders share one database error among every caller waiting on the batch.
impl From<std::sync::Arc<DbErr>> for AppError {
    fn from(error: std::sync::Arc<DbErr>) -> Self {
        AppError::Internal(anyhow::Error::new(error))
    }
}

impl AppError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadInput(message.into())
    }

    /// The stable `extensions.code` a client can branch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden => "FORBIDDEN",
            AppError::BadInput(_) => "BAD_USER_INPUT",
            AppError::Database(_) | AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
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
        let code = error.code();
        async_graphql::Error::new(error.to_string()).extend_with(|_, extensions| extensions.set("code", code))
    }
}

/// A business failure reported in a mutation payload.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// The path to the input field at fault, when there is one.
    pub field: Option<Vec<String>>,
    /// A stable code such as `OUT_OF_STOCK`.
    pub code: String,
    pub message: String,
    /// For `RATE_LIMITED`: seconds to wait before the same request can succeed.
    pub retry_after_seconds: Option<i32>,
}

impl UserError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        UserError {
            field: None,
            code: code.to_owned(),
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    /// `RATE_LIMITED`, with when to try again (in the message too, for people).
    pub fn rate_limited(what: &str, retry_after_seconds: u64) -> Self {
        let mut error = UserError::new("RATE_LIMITED", format!("{what}; try again in {retry_after_seconds} s"));
        error.retry_after_seconds = Some(i32::try_from(retry_after_seconds).unwrap_or(i32::MAX));
        error
    }

    pub fn on_field(mut self, path: &[&str]) -> Self {
        self.field = Some(path.iter().map(|part| (*part).to_owned()).collect());
        self
    }
}
