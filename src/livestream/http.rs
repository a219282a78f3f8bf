//! `GET /hosts/me/commissions.csv?month=2026-09`: the signed-in host's commissions of a month
//! as a file for a spreadsheet, the same CSV as `myHost.monthlyReport` and `huakai hosts
//! report`, with a UTF-8 byte-order mark so that Excel reads the Chinese right.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::report;
use crate::accounts::{Role, Viewer};
use crate::app::AppState;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct Asked {
    month: Option<String>,
}

fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

fn internal(error: &AppError) -> Response {
    tracing::error!(error = ?error, "a host's commissions CSV failed");
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

pub async fn commissions_csv(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Response {
    let host_id = match crate::app::http::viewer_of(&state, &headers).await {
        Ok(Viewer::User(me)) if me.role == Role::Host => me.user_id,
        Ok(Viewer::User(_)) => return plain(StatusCode::FORBIDDEN, "only a livestream host has commissions"),
        Ok(Viewer::Anonymous) | Err(AppError::Unauthenticated) => {
            let mut answer = plain(StatusCode::UNAUTHORIZED, "sign in: send Authorization: Bearer <token>");
            answer
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return answer;
        }
        Err(error) => return internal(&error),
    };
    let month = asked.month.unwrap_or_default();
    let (year, number) = match report::parse_month(&month) {
        Ok(parsed) => parsed,
        Err(problem) => return plain(StatusCode::BAD_REQUEST, &problem.message),
    };
    match report::monthly(&state.db, host_id, &month).await {
        Ok(Ok(csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"huakai-commissions-{year:04}-{number:02}.csv\""),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            format!("\u{feff}{csv}"),
        )
            .into_response(),
        Ok(Err(problem)) => plain(StatusCode::BAD_REQUEST, &problem.message),
        Err(error) => internal(&error),
    }
}
