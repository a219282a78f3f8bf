//! `GET /hosts/me/commissions.csv?month=2026-09`: the signed-in host's commissions of a month
//! as a file for a spreadsheet, the same CSV as `myHost.monthlyReport` and `huakai hosts
//! report` (headed in the host's language, with the byte-order mark Excel needs).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use super::report;
use crate::accounts::service::{Accounts, viewer_of_authorization};
use crate::accounts::{Role, Viewer};
use crate::infra::error::AppError;
use crate::infra::i18n::{Language, Message};

#[derive(Deserialize)]
pub struct Asked {
    month: Option<String>,
    /// `zh-CN` or `en`; else the host's own choice, else `Accept-Language`.
    lang: Option<String>,
}

fn plain(status: StatusCode, message: &Message, language: Language) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", message.in_language(language)),
    )
        .into_response()
}

fn internal(error: &AppError, language: Language) -> Response {
    tracing::error!(error = ?error, "a host's commissions CSV failed");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        &Message::new("internal-error"),
        language,
    )
}

#[derive(Clone)]
struct Downloads {
    db: DatabaseConnection,
    accounts: Arc<Accounts>,
}

/// The host's download route, ready to merge into the app's router.
pub fn routes<S>(db: DatabaseConnection, accounts: Arc<Accounts>) -> Router<S> {
    Router::new()
        .route("/hosts/me/commissions.csv", get(commissions_csv))
        .with_state(Downloads { db, accounts })
}

async fn commissions_csv(State(state): State<Downloads>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).map(|value| value.as_bytes());
    let viewer = viewer_of_authorization(&state.db, &state.accounts, authorization).await;
    let own = viewer.as_ref().ok().and_then(Viewer::language);
    let language = Language::chosen(asked.lang.as_deref(), own, &headers);
    let host_id = match viewer {
        Ok(Viewer::User(me)) if me.role == Role::Host => me.user_id,
        Ok(Viewer::User(_)) => {
            return plain(StatusCode::FORBIDDEN, &Message::new("hosts-only-commissions"), language);
        }
        Ok(Viewer::Anonymous) | Err(AppError::Unauthenticated) => {
            let mut answer = plain(StatusCode::UNAUTHORIZED, &Message::new("sign-in-with-bearer"), language);
            answer
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return answer;
        }
        Err(error) => return internal(&error, language),
    };
    let month = asked.month.unwrap_or_default();
    let (year, number) = match report::parse_month(&month) {
        Ok(parsed) => parsed,
        Err(problem) => return plain(StatusCode::BAD_REQUEST, &problem.message, language),
    };
    match report::monthly(&state.db, host_id, &month, language).await {
        Ok(Ok(csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"huakai-commissions-{year:04}-{number:02}.csv\""),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            csv,
        )
            .into_response(),
        Ok(Err(problem)) => plain(StatusCode::BAD_REQUEST, &problem.message, language),
        Err(error) => internal(&error, language),
    }
}
