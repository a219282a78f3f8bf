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
use crate::infra::i18n::{Language, Message};

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
    /// `zh-CN` or `en`, for the CSV's headers and the error text; else `Accept-Language`.
    lang: Option<String>,
}

impl Asked {
    fn language(&self, headers: &HeaderMap) -> Language {
        Language::chosen(self.lang.as_deref(), None, headers)
    }
}

fn bad_request(message: &Message, language: Language) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", message.in_language(language)),
    )
        .into_response()
}

impl Asked {
    fn period(self) -> Result<Period, Message> {
        let day = |text: Option<String>| -> Result<Option<NaiveDate>, Message> {
            text.filter(|t| !t.is_empty())
                .map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| Message::new("date-format")))
                .transpose()
        };
        let village = self.village.filter(|v| !v.is_empty());
        match self.year.filter(|y| !y.is_empty()) {
            Some(year) => {
                let year: i32 = year.parse().map_err(|_| Message::new("year-format"))?;
                if !(2000..=2100).contains(&year) {
                    return Err(Message::new("year-range"));
                }
                Period::year(year, village)
            }
            None => Period::new(day(self.from)?, day(self.to)?, village),
        }
    }
}

/// The report asked for, or the answer to give instead.
async fn report_for(pages: &Pages, asked: Asked, language: Language) -> Result<Arc<Report>, Response> {
    let period = asked.period().map_err(|message| bad_request(&message, language))?;
    match pages.reports.report(&pages.db, period).await {
        Ok(Some(report)) => Ok(report),
        Ok(None) => Err((
            StatusCode::NOT_FOUND,
            format!("{}\n", Message::new("village-not-found").in_language(language)),
        )
            .into_response()),
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
    let report = match report_for(&pages, asked, Language::ZhCn).await {
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
    let language = asked.language(&headers);
    match report_for(&pages, asked, language).await {
        Ok(report) => {
            let kind = format!("csv-{}", language.tag());
            let mut response = versioned(
                &headers,
                &report,
                &kind,
                "text/csv; charset=utf-8",
                page::csv(&report, language),
            );
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-language"));
            response
        }
        Err(answer) => answer,
    }
}

async fn json(State(pages): State<Pages>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    let language = asked.language(&headers);
    match report_for(&pages, asked, language).await {
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
