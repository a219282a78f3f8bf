//! The GraphQL-over-HTTP specification's rules for requests and answers: which media type an
//! answer is sent as (`Accept`), which POST bodies are GraphQL requests (a body that is not
//! one answers 400, or 415 without a JSON content type), and which status a request GraphQL
//! refuses as a whole (a document that does not parse or validate, variables that do not
//! coerce) is answered with.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::infra::i18n::Message;

/// The media type of a GraphQL answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: a refused request still answers 200 (clients of this type expect
    /// GraphQL errors in a 200).
    Json,
    /// `application/graphql-response+json`: a refused request answers 400, without `data`.
    GraphqlResponse,
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

impl MediaType {
    /// The type the client prefers: `application/graphql-response+json` when it accepts it at
    /// least as gladly as JSON, else `application/json` (also without an `Accept` header, or
    /// with one that names neither, as the specification says for today's clients).
    pub fn preferred(headers: &HeaderMap) -> MediaType {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
            return MediaType::Json;
        };
        let (mut graphql_response, mut json) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                GRAPHQL_RESPONSE => graphql_response = graphql_response.max(quality),
                "application/json" | "application/*" | "*/*" => json = json.max(quality),
                _ => {}
            }
        }
        if graphql_response > 0.0 && graphql_response >= json {
            MediaType::GraphqlResponse
        } else {
            MediaType::Json
        }
    }

    pub fn content_type(self) -> HeaderValue {
        match self {
            MediaType::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            MediaType::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        }
    }

    /// The status of a well-formed request that GraphQL refused as a whole.
    pub fn refusal_status(self) -> StatusCode {
        match self {
            MediaType::Json => StatusCode::OK,
            MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        }
    }
}

/// Why a POST body is not a GraphQL request.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyProblem {
    /// No `Content-Type`, or one that is not JSON in UTF-8: answered 415.
    UnsupportedMediaType,
    /// JSON that is not a GraphQL request, or not JSON: answered 400 whatever is accepted.
    Malformed(Message),
}

/// Files one multipart request may carry: more than a claim takes (6), so that a 7th photo is
/// told as a user error, not a refused request.
const MAX_FILES: usize = 12;

/// A POST body as a GraphQL request: JSON ([`parse_post`]), or the GraphQL multipart request
/// (`multipart/form-data` with `operations`, `map` and files of at most `max_upload` bytes).
pub async fn parse_post_body(
    content_type: Option<&str>,
    body: bytes::Bytes,
    max_upload: usize,
) -> Result<async_graphql::Request, BodyProblem> {
    let multipart = content_type.is_some_and(|value| {
        value
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    });
    if !multipart {
        return parse_post(content_type, &body);
    }
    let options = async_graphql::http::MultipartOptions::default()
        .max_file_size(max_upload)
        .max_num_files(MAX_FILES);
    async_graphql::http::receive_body(content_type, futures_util::io::Cursor::new(body), options)
        .await
        .map_err(|error| {
            BodyProblem::Malformed(Message::new("malformed-request").with(
                "problem",
                Message::new("multipart-invalid").with("error", error.to_string()),
            ))
        })
}

/// A POST body as a GraphQL request: a JSON object whose `query` is a string (absent only when
/// a persisted query's hash stands for it), `operationName` a string, `variables` and
/// `extensions` objects; each of the last three may be null.
pub fn parse_post(content_type: Option<&str>, body: &[u8]) -> Result<async_graphql::Request, BodyProblem> {
    let content_type = content_type.ok_or(BodyProblem::UnsupportedMediaType)?;
    let mut parameters = content_type.split(';');
    let media = parameters.next().unwrap_or_default().trim();
    let utf8 = parameters
        .filter_map(|parameter| parameter.trim().split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .all(|(_, charset)| charset.trim().trim_matches('"').eq_ignore_ascii_case("utf-8"));
    if !media.eq_ignore_ascii_case("application/json") || !utf8 {
        return Err(BodyProblem::UnsupportedMediaType);
    }
    let malformed =
        |problem: Message| BodyProblem::Malformed(Message::new("malformed-request").with("problem", problem));
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| malformed(Message::new("body-not-json").with("error", error.to_string())))?;
    let Value::Object(mut fields) = value else {
        return Err(malformed(Message::new("body-not-object")));
    };
    // Null stands for absent.
    fields.retain(|_, value| !value.is_null());
    let object_or_absent = |fields: &Map<String, Value>, name: &str| fields.get(name).is_none_or(Value::is_object);
    if !object_or_absent(&fields, "variables") {
        return Err(malformed(Message::new("variables-not-object")));
    }
    if !object_or_absent(&fields, "extensions") {
        return Err(malformed(Message::new("extensions-not-object")));
    }
    if fields.get("operationName").is_some_and(|name| !name.is_string()) {
        return Err(malformed(Message::new("operation-name-not-string")));
    }
    match fields.get("query") {
        Some(Value::String(_)) => {}
        Some(_) => return Err(malformed(Message::new("query-not-string"))),
        None if fields
            .get("extensions")
            .and_then(|extensions| extensions.get("persistedQuery"))
            .is_some() => {}
        None => return Err(malformed(Message::new("query-required"))),
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|error| malformed(Message::new("request-fields").with("error", error.to_string())))
}

/// How a GraphQL execution went, for the answer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Some fields failed; there is data.
    FieldErrors,
    /// Refused before any field ran: the document does not parse or validate, an operation is
    /// missing, or the variables do not coerce.
    Refused,
}

impl Outcome {
    pub fn of(response: &async_graphql::Response) -> Outcome {
        if response.errors.is_empty() {
            Outcome::Ok
        } else if response.data == async_graphql::Value::Null
            && response.errors.iter().all(|error| error.path.is_empty())
        {
            Outcome::Refused
        } else {
            Outcome::FieldErrors
        }
    }
}

/// A response as JSON text; a refused request's answer has no `data` entry in
/// `application/graphql-response+json`.
pub fn serialize(response: &async_graphql::Response, media: MediaType) -> String {
    let refused = Outcome::of(response) == Outcome::Refused;
    let text = if refused && media == MediaType::GraphqlResponse {
        serde_json::to_string(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(response)
    };
    text.unwrap_or_else(|_| json!({"errors": [{"message": "internal error"}]}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(accept: &str) -> MediaType {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).expect("header"));
        MediaType::preferred(&headers)
    }

    #[test]
    fn the_client_chooses_the_media_type() {
        assert_eq!(MediaType::preferred(&HeaderMap::new()), MediaType::Json);
        assert_eq!(accepting("*/*"), MediaType::Json);
        assert_eq!(accepting("application/json"), MediaType::Json);
        assert_eq!(
            accepting("application/graphql-response+json"),
            MediaType::GraphqlResponse
        );
        assert_eq!(
            accepting("application/graphql-response+json, application/json;q=0.9"),
            MediaType::GraphqlResponse
        );
        assert_eq!(
            accepting("application/json, application/graphql-response+json;q=0.5"),
            MediaType::Json
        );
        assert_eq!(accepting("text/html"), MediaType::Json);
    }

    #[test]
    fn only_json_bodies_in_utf8_are_requests() {
        let body = br#"{"query":"{ __typename }"}"#;
        assert!(parse_post(Some("application/json"), body).is_ok());
        assert!(parse_post(Some("application/json; charset=utf-8"), body).is_ok());
        assert_eq!(parse_post(None, body).err(), Some(BodyProblem::UnsupportedMediaType));
        assert_eq!(
            parse_post(Some("text/plain"), body).err(),
            Some(BodyProblem::UnsupportedMediaType)
        );
        assert_eq!(
            parse_post(Some("application/json; charset=latin1"), body).err(),
            Some(BodyProblem::UnsupportedMediaType)
        );
    }

    #[test]
    fn parameters_of_the_wrong_type_are_refused() {
        let refused = |body: &str| {
            matches!(
                parse_post(Some("application/json"), body.as_bytes()),
                Err(BodyProblem::Malformed(_))
            )
        };
        for body in [
            r#"{ "not a JSON"#,
            r#"["array"]"#,
            r#"{"notquery":"{ __typename }"}"#,
            r#"{"query":0}"#,
            r#"{"query":{"obj":"ect"}}"#,
            r#"{"query":"{ __typename }","operationName":false}"#,
            r#"{"query":"{ __typename }","variables":"string"}"#,
            r#"{"query":"{ __typename }","variables":["array"]}"#,
            r#"{"query":"{ __typename }","extensions":0}"#,
        ] {
            assert!(refused(body), "{body}");
        }
        for body in [
            r#"{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}"#,
            r#"{"query":"query Q { __typename }","operationName":"Q","variables":{"a":1},"extensions":{"some":"value"}}"#,
            r#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}"#,
        ] {
            assert!(!refused(body), "{body}");
        }
    }
}
