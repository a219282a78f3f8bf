//! `GET /impact` (the page), `/impact.csv` and `/impact.json`: public, for a year (this year by
//! default) or a period, for all villages or one. Answers carry an ETag that changes when the
//! figures are recomputed, so browsers and a CDN revalidate cheaply.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use serde::Deserialize;

use super::ImpactReports;
use super::figures::{Period, Report};
use super::page;
use crate::catalogue::entity::village;
use crate::catalogue::today_in_china;

#[derive(Clone)]
struct Pages {
    db: DatabaseConnection,
    reports: Arc<ImpactReports>,
}

/// The impact routes, ready to merge into the app's router.
pub fn routes<S>(db: DatabaseConnection, reports: Arc<ImpactReports>) -> Router<S> {
    Router::new()
        .route("/impact", get(html))
        .route("/impact.csv", get(csv))
        .route("/impact.json", get(json))
        .with_state(Pages { db, reports })
}

#[derive(Deserialize, Default)]
struct Asked {
    year: Option<String>,
    from: Option<String>,
    to: Option<String>,
    village: Option<String>,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

impl Asked {
    fn period(self) -> Result<Period, String> {
        let day = |text: Option<String>| -> Result<Option<NaiveDate>, String> {
            text.filter(|t| !t.is_empty())
                .map(|t| {
                    NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| "a date is written YYYY-MM-DD".to_owned())
                })
                .transpose()
        };
        let village = self.village.filter(|v| !v.is_empty());
        match self.year.filter(|y| !y.is_empty()) {
            Some(year) => {
                let year: i32 = year.parse().map_err(|_| "a year is a number such as 2026".to_owned())?;
                if !(2000..=2100).contains(&year) {
                    return Err("a year from 2000 to 2100".to_owned());
                }
                Period::year(year, village)
            }
            None => Period::new(day(self.from)?, day(self.to)?, village),
        }
    }
}

/// The report asked for, or the answer to give instead.
async fn report_for(pages: &Pages, asked: Asked) -> Result<Arc<Report>, Response> {
    let period = asked.period().map_err(|message| bad_request(&message))?;
    match pages.reports.report(&pages.db, period).await {
        Ok(Some(report)) => Ok(report),
        Ok(None) => Err((StatusCode::NOT_FOUND, "没有这个村 / no such village\n").into_response()),
        Err(error) => {
            tracing::error!(error = ?error, "the impact report failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response())
        }
    }
}

/// The answer, or 304 when the client has this very version.
fn versioned(headers: &HeaderMap, report: &Report, kind: &str, content_type: &'static str, body: String) -> Response {
    let etag = format!(
        "\"impact-{kind}-{}-{}-{}-{}\"",
        report.period.from,
        report.period.to,
        report.period.village_slug.as_deref().unwrap_or("all"),
        report.computed_at.timestamp_micros()
    );
    let etag_value = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"impact\""));
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|sent| sent.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag_value);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
    response
}

async fn html(State(pages): State<Pages>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    let report = match report_for(&pages, asked).await {
        Ok(report) => report,
        Err(answer) => return answer,
    };
    let villages = match village::Entity::find()
        .order_by_asc(village::Column::Name)
        .all(&pages.db)
        .await
    {
        Ok(villages) => villages,
        Err(error) => {
            tracing::error!(error = ?error, "listing villages failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
        }
    };
    let this_year = today_in_china().year();
    let years: Vec<i32> = (this_year - 4..=this_year).rev().collect();
    versioned(
        &headers,
        &report,
        "html",
        "text/html; charset=utf-8",
        page::html(&report, &years, &villages),
    )
}

async fn csv(State(pages): State<Pages>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    match report_for(&pages, asked).await {
        Ok(report) => versioned(&headers, &report, "csv", "text/csv; charset=utf-8", page::csv(&report)),
        Err(answer) => answer,
    }
}

async fn json(State(pages): State<Pages>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    match report_for(&pages, asked).await {
        Ok(report) => versioned(
            &headers,
            &report,
            "json",
            "application/json",
            page::json(&report).to_string(),
        ),
        Err(answer) => answer,
    }
}
