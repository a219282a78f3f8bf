//! HTTP for media: `GET /media/{key}` streams a stored blob, and [`cap_bodies`] holds request
//! bodies to a size, with a larger allowance for uploads.
//!
//! Keys are content hashes, so a blob under a key never changes: browsers and CDNs may keep it
//! a year without asking again. Anything that is not a well-formed key (`..`, encoded slashes,
//! upper case, an unknown extension) is answered like a missing blob, 404, before the store is
//! asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::{BlobKey, BlobStore};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::{Language, Message};

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// `GET /media/{*key}` (and `HEAD`), for any app state: merge it into the app's router.
pub fn media_routes<S: Clone + Send + Sync + 'static>(store: BlobStore) -> Router<S> {
    Router::new()
        .route("/media/{*key}", axum::routing::get(serve_media))
        .with_state(store)
}

async fn serve_media(
    State(store): State<BlobStore>,
    key: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let Some(key) = key.ok().and_then(|Path(key)| BlobKey::parse(&key).ok()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match store.get(&key).await {
        Ok(Some(blob)) => {
            let mut response = Body::from_stream(blob.stream).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(blob.media_type.mime()));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
            headers.insert(header::CACHE_CONTROL, IMMUTABLE);
            // The type is ours, from the key: a browser must not guess another from the bytes.
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%key, ?error, "the media store failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// How many bytes a request body may have: `uploads` for `multipart/form-data` (the GraphQL
/// multipart request that carries files), `other` for everything else.
#[derive(Clone, Copy, Debug)]
pub struct BodyCaps {
    pub other: usize,
    pub uploads: usize,
}

impl BodyCaps {
    fn for_request(self, headers: &HeaderMap) -> usize {
        let multipart = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if multipart { self.uploads } else { self.other }
    }
}

/// `routes` with request bodies capped: over its cap a request answers 413 with a JSON error
/// (code `PAYLOAD_TOO_LARGE`) — unread when its `Content-Length` says so, and as soon as the
/// cap is crossed when the body is chunked, whatever the handler was doing with it.
pub fn cap_bodies<S: Clone + Send + Sync + 'static>(routes: Router<S>, caps: BodyCaps) -> Router<S> {
    routes
        .layer(middleware::from_fn_with_state(caps, cap_body))
        // axum's own default cap (2 MiB) is switched off so that these rule.
        .layer(DefaultBodyLimit::disable())
}

async fn cap_body(State(caps): State<BodyCaps>, request: Request, next: Next) -> Response {
    let cap = caps.for_request(request.headers());
    let language = Language::from_headers(request.headers());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap as u64) {
        return too_large(cap, language);
    }
    // The handler sees a read error past the cap, and may answer anything (a GraphQL parser
    // says "bad request"); the flag lets this answer 413 instead.
    let crossed = Arc::new(AtomicBool::new(false));
    let flag = crossed.clone();
    let request = request.map(|body| {
        Body::new(Limited::new(body, cap).map_err(move |error| {
            if error.is::<LengthLimitError>() {
                flag.store(true, Ordering::Relaxed);
            }
            error
        }))
    });
    let response = next.run(request).await;
    if crossed.load(Ordering::Relaxed) {
        too_large(cap, language)
    } else {
        response
    }
}

fn too_large(cap: usize, language: Language) -> Response {
    let message = Message::new("request-too-large").with("limit", readable_size(cap));
    let body = json!({"errors": [{
        "message": message.in_language(language),
        "extensions": {"code": ErrorCode::PayloadTooLarge.as_str()},
    }]});
    // The body is left unread, so the connection cannot carry another request: saying so
    // keeps a client from sending its next request down a connection the server is closing.
    let mut response = (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `8 MiB`, `512 KiB` or `1000 B`: the largest unit that divides the size.
fn readable_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        assert_eq!(readable_size(8 << 20), "8 MiB");
        assert_eq!(readable_size(512 << 10), "512 KiB");
        assert_eq!(readable_size(1000), "1000 B");
    }

    #[test]
    fn multipart_requests_get_the_upload_cap() {
        let caps = BodyCaps { other: 10, uploads: 20 };
        let mut headers = HeaderMap::new();
        assert_eq!(caps.for_request(&headers), 10);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Multipart/Form-Data; boundary=x"),
        );
        assert_eq!(caps.for_request(&headers), 20);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(caps.for_request(&headers), 10);
    }
}
