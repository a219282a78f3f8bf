//! A GraphQL request over HTTP, answered: the storefront cache and persisted queries first,
//! then the schema, with the request's viewer, language and limits; POST and GET alike.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::graphql_http::{self, BodyProblem, MediaType, Outcome, serialize};
use super::{AppState, limits};
use crate::accounts::graphql::ClientAddress;
use crate::accounts::{Viewer, service};
use crate::cache::persisted::Resolution;
use crate::cache::{CachedResponse, CutBody, Lookup, RequestKey, StockHoles, StorefrontCache, is_storefront_query};
use crate::catalogue::today_in_china;
use crate::graphql::DOORS;
use crate::infra::error::{AppError, localize};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::documents::holds_write_operation;
use crate::infra::i18n::{Language, Message};

/// Operation names are the client's: only names the shop knows (its root fields and the
/// operations named in `HUAKAI_METRICS_OPERATIONS`) become metric labels, so that random
/// names cannot grow `/metrics` without bound.
fn operation_label(name: Option<&str>, known: &HashSet<String>) -> String {
    match name {
        Some(name) if known.contains(name) => name.to_owned(),
        Some(_) => "other".to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// Who the request is from (see [`service::viewer_of_authorization`]).
async fn viewer_of(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    service::viewer_of_authorization(&state.db, &state.accounts, authorization).await
}

/// A GraphQL answer as JSON text, with the HTTP status and media type it goes out with.
struct Answer {
    status: StatusCode,
    media: MediaType,
    body: String,
    /// True when a signed-in viewer asked: the answer is theirs alone.
    private: bool,
}

impl Answer {
    fn error(status: StatusCode, media: MediaType, message: Message, code: ErrorCode, language: Language) -> Answer {
        let body =
            json!({"errors": [{"message": message.in_language(language), "extensions": {"code": code.as_str()}}]})
                .to_string();
        Answer {
            status,
            media,
            body,
            private: false,
        }
    }

    fn into_response(self, cacheable_by_cdn: bool, if_none_match: Option<&HeaderValue>) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, self.media.content_type());
        // The body depends on what the client accepts: a shared cache must keep them apart.
        headers.insert(header::VARY, HeaderValue::from_static("accept, accept-language"));
        if cacheable_by_cdn && self.status == StatusCode::OK && !self.private {
            // A CDN may keep it but must ask again each time; the ETag makes asking cheap. (xxh3:
            // an ETag needs no cryptographic strength, and hashing every answer must be cheap.)
            let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(self.body.as_bytes()));
            if if_none_match.is_some_and(|sent| sent.as_bytes() == etag.as_bytes()) {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
                if let Ok(value) = HeaderValue::from_str(&etag) {
                    headers.insert(header::ETAG, value);
                }
                return (StatusCode::NOT_MODIFIED, headers).into_response();
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-cache"));
            if let Ok(value) = HeaderValue::from_str(&etag) {
                headers.insert(header::ETAG, value);
            }
        } else {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        (self.status, headers, self.body).into_response()
    }
}

/// How a GraphQL request arrived: a GET must never write, whatever it names or refers to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    client: IpAddr,
    method: Method,
    mut request: async_graphql::Request,
) -> Answer {
    let media = MediaType::preferred(headers);
    let asked_language = Language::from_headers(headers);
    match state.persisted_queries.resolve(&request).await {
        Resolution::NotPersisted => {}
        Resolution::Query(query) => request.query = query,
        Resolution::NotFound => {
            return Answer::error(
                StatusCode::OK,
                media,
                Message::new("persisted-query-not-found"),
                ErrorCode::PersistedQueryNotFound,
                asked_language,
            );
        }
        Resolution::HashMismatch => {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                media,
                Message::new("persisted-query-hash-mismatch"),
                ErrorCode::BadUserInput,
                asked_language,
            );
        }
    }
    // Checked after a persisted query is resolved: a stored mutation is still a mutation.
    if method == Method::Get && holds_write_operation(&request.query) {
        return Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            Message::new("mutations-need-post"),
            ErrorCode::MethodNotAllowed,
            asked_language,
        );
    }
    let operation = operation_label(request.operation_name.as_deref(), &state.operation_labels);
    let started = Instant::now();
    let viewer = match viewer_of(state, headers).await {
        Ok(viewer) => viewer,
        Err(AppError::Unauthenticated) => {
            metrics::counter!("huakai_graphql_requests_total", "operation" => operation, "outcome" => "unauthenticated")
                .increment(1);
            return Answer::error(
                StatusCode::UNAUTHORIZED,
                media,
                Message::new("authentication-required"),
                ErrorCode::Unauthenticated,
                asked_language,
            );
        }
        Err(error) => {
            let error = async_graphql::Error::from(error).into_server_error(Default::default());
            let mut response = async_graphql::Response::from_errors(vec![error]);
            localize(&mut response, asked_language);
            return Answer {
                status: StatusCode::OK,
                media,
                body: serialize(&response, media),
                private: false,
            };
        }
    };
    let private = viewer != Viewer::Anonymous;
    // A signed-in user's own choice wins over what the browser asks for.
    let language = viewer.language().unwrap_or(asked_language);
    let context = RequestContext {
        viewer,
        client,
        language,
    };
    // Only anonymous storefront reads are shared: nothing private enters or leaves the cache.
    let (body, outcome) = if !private && state.cache.enabled() {
        cached_or_executed(state, request, context, &operation, media).await
    } else {
        let response = context.execute(state, request).await;
        (serialize(&response, media), Outcome::of(&response))
    };
    let status = match outcome {
        Outcome::Refused => media.refusal_status(),
        Outcome::Ok | Outcome::FieldErrors => StatusCode::OK,
    };
    let outcome = if outcome == Outcome::Ok { "ok" } else { "error" };
    metrics::counter!("huakai_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("huakai_graphql_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    Answer {
        status,
        media,
        body,
        private,
    }
}

/// Who asks and from where: what the resolvers need besides the query.
struct RequestContext {
    viewer: Viewer,
    client: IpAddr,
    language: Language,
}

impl RequestContext {
    /// The request with its per-request data: the viewer, the client's address and fresh
    /// batched loaders (made only when the request is executed, not for a cache hit).
    fn attach(self, state: &AppState, request: async_graphql::Request) -> async_graphql::Request {
        let request = DOORS
            .iter()
            .fold(request, |request, door| door.loaders(&state.db, request));
        request
            .data(self.viewer)
            .data(ClientAddress(Some(self.client)))
            .data(self.language)
    }

    /// Runs the request with its data; errors are told in the request's language.
    async fn execute(self, state: &AppState, request: async_graphql::Request) -> async_graphql::Response {
        let language = self.language;
        let mut response = state.schema.execute(self.attach(state, request)).await;
        localize(&mut response, language);
        response
    }
}

/// The storefront cache in front of the schema: a hit is served with fresh stock figures; a
/// miss is computed once while other requests for the same key wait for it.
async fn cached_or_executed(
    state: &AppState,
    request: async_graphql::Request,
    context: RequestContext,
    operation: &str,
    media: MediaType,
) -> (String, Outcome) {
    let cache: &StorefrontCache = &state.cache;
    let request_key = RequestKey::of(&request);
    let Some(lookup) = cache.lookup(&request_key).await else {
        let response = context.execute(state, request).await;
        return (serialize(&response, media), Outcome::of(&response));
    };
    let versions = lookup.versions;
    let today = today_in_china();
    let key = StorefrontCache::entry_key(&request_key, versions, today);
    if let Some(hit) = cache.get(&key, versions).await {
        metrics::counter!("huakai_cache_hits_total", "operation" => operation.to_owned()).increment(1);
        if let Some(body) = filled(state, &request_key, &hit, &lookup, today).await {
            return (body, Outcome::Ok);
        }
    }
    // An answer that cannot be shared, or could not be cached a moment ago, is computed by
    // each request at once: waiting in turn for an entry that never comes would queue them.
    if cache.is_uncacheable(&key) || !is_storefront_query(&request.query) {
        metrics::counter!("huakai_cache_misses_total", "operation" => operation.to_owned()).increment(1);
        cache.mark_uncacheable(&key);
        let response = context.execute(state, request).await;
        return (serialize(&response, media), Outcome::of(&response));
    }
    let turn = cache.recompute_turn(&key).await;
    if cache.is_uncacheable(&key) {
        // The request before this one found it cannot be cached.
        drop(turn);
        metrics::counter!("huakai_cache_misses_total", "operation" => operation.to_owned()).increment(1);
        let response = context.execute(state, request).await;
        return (serialize(&response, media), Outcome::of(&response));
    }
    let mut claim = None;
    for attempt in 0..2 {
        if let Some(hit) = cache.get(&key, versions).await
            && let Some(body) = filled(state, &request_key, &hit, &lookup, today).await
        {
            metrics::counter!("huakai_cache_hits_total", "operation" => operation.to_owned()).increment(1);
            if let Some(claim) = claim {
                cache.release(claim).await;
            }
            return (body, Outcome::Ok);
        }
        if attempt == 0 {
            // Another replica may be computing it: `claim` then waits a moment for its entry.
            claim = Some(cache.claim(&key).await);
        }
    }
    metrics::counter!("huakai_cache_misses_total", "operation" => operation.to_owned()).increment(1);
    let holes = Arc::new(StockHoles::default());
    let response = context.execute(state, request.data(holes.clone())).await;
    let body = serialize(&response, media);
    let outcome = Outcome::of(&response);
    let entry = if outcome == Outcome::Ok {
        let (holes, depends_on_availability) = holes.take();
        serde_json::to_value(&response)
            .ok()
            .and_then(|value| CutBody::cut(value, holes))
            .map(|cut| CachedResponse {
                body: cut,
                availability_version: depends_on_availability.then_some(versions.availability),
            })
    } else {
        None
    };
    match entry {
        Some(entry) => cache.put(&key, entry).await,
        None => cache.mark_uncacheable(&key),
    }
    if let Some(claim) = claim {
        cache.release(claim).await;
    }
    drop(turn);
    (body, outcome)
}

/// A cached body with its stock figures filled in from the stock mirror (or the database);
/// `None` when the stock cannot be read.
async fn filled(
    state: &AppState,
    request_key: &RequestKey,
    entry: &CachedResponse,
    lookup: &Lookup,
    today: chrono::NaiveDate,
) -> Option<String> {
    let variant_ids = &entry.body.variant_ids;
    let available = if variant_ids.is_empty() {
        Arc::default()
    } else {
        state
            .cache
            .available(&state.db, request_key, variant_ids, lookup)
            .await
            .ok()?
    };
    Some(entry.body.fill(&available, today))
}

pub(super) async fn graphql_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The body was read through the size cap (a `Bytes` extractor answers 413 past it), so
    // parsing it here cannot be made to buffer more.
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let media = MediaType::preferred(&headers);
    let request = match graphql_http::parse_post_body(content_type, body, state.config.media.max_upload_bytes).await {
        Ok(request) => request,
        Err(BodyProblem::UnsupportedMediaType) => {
            let mut response = Answer::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                Message::new("send-json"),
                ErrorCode::UnsupportedMediaType,
                Language::from_headers(&headers),
            )
            .into_response(false, None);
            response
                .headers_mut()
                .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            return response;
        }
        Err(BodyProblem::Malformed(problem)) => {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                media,
                problem,
                ErrorCode::BadRequest,
                Language::from_headers(&headers),
            )
            .into_response(false, None);
        }
    };
    let client = limits::client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    answer(&state, &headers, client, Method::Post, request)
        .await
        .into_response(false, None)
}

/// `GET /graphql?query=…` runs a query (never a mutation: GET must be safe to cache and
/// repeat); without a query it serves GraphiQL to a browser.
pub(super) async fn graphql_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(raw) = raw.filter(|raw| raw.contains("query=") || raw.contains("extensions=")) else {
        return super::graphiql::page();
    };
    let request = match async_graphql::http::parse_query_string(&raw) {
        Ok(request) => request,
        Err(error) => {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                MediaType::preferred(&headers),
                Message::new("malformed-get").with("problem", error.to_string()),
                ErrorCode::BadRequest,
                Language::from_headers(&headers),
            )
            .into_response(false, None);
        }
    };
    let client = limits::client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    let answer = answer(&state, &headers, client, Method::Get, request).await;
    let refused_write = answer.status == StatusCode::METHOD_NOT_ALLOWED;
    let mut response = answer.into_response(true, headers.get(header::IF_NONE_MATCH));
    if refused_write {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_operation_names_become_labels() {
        let known = HashSet::from(["Storefront".to_owned(), "products".to_owned()]);
        assert_eq!(operation_label(Some("Storefront"), &known), "Storefront");
        assert_eq!(operation_label(Some("products"), &known), "products");
        assert_eq!(operation_label(Some("Random123"), &known), "other");
        assert_eq!(operation_label(None, &known), "anonymous");
    }

    #[test]
    fn server_errors_serialize_as_graphql() {
        let response = async_graphql::Response::from_errors(vec![async_graphql::ServerError::new("boom", None)]);
        assert!(serialize(&response, MediaType::Json).contains("\"boom\""));
    }
}
