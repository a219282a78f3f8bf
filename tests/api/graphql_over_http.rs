//! The GraphQL-over-HTTP specification, as the `graphql-http` package's audit (1.23) checks it:
//! the media type a client asks for is the one it gets; a body that is not a GraphQL request
//! answers 400, and a POST without a JSON content type 415; a request GraphQL refuses as a
//! whole (parse, validation, variable coercion) answers 400 without `data` to clients of
//! `application/graphql-response+json` and 200 with errors to clients of `application/json`.

use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` (raw) accepting `accept`: status, content type and the JSON answer.
async fn post(app: &TestApp, accept: Option<&str>, content_type: Option<&str>, body: &str) -> (u16, String, Value) {
    let mut request = app.http().post(app.url("/graphql")).body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    (status, media, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Bodies that are not GraphQL requests: JSON that is not JSON, parameters missing or of the
/// wrong type.
const MALFORMED: &[&str] = &[
    "",
    r#"{ "not a JSON"#,
    r#"{"qeury":"{ __typename }"}"#,
    r#"{"query":{"obj":"ect"}}"#,
    r#"{"query":0}"#,
    r#"{"query":false}"#,
    r#"{"query":["array"]}"#,
    r#"{"query":"{ __typename }","operationName":0}"#,
    r#"{"query":"{ __typename }","operationName":{"obj":"ect"}}"#,
    r#"{"query":"{ __typename }","variables":"string"}"#,
    r#"{"query":"{ __typename }","variables":["array"]}"#,
    r#"{"query":"{ __typename }","extensions":"string"}"#,
    r#"{"query":"{ __typename }","extensions":false}"#,
];

/// Well-formed requests that GraphQL refuses as a whole: a document that does not parse or
/// validate, variables that do not coerce.
const REFUSED: &[&str] = &[
    r#"{"query":"{"}"#,
    r#"{"query":"{ 8f31403dfe404bccbb0e835f2629c6a7 }"}"#,
    r#"{"query":"query($first: Int) { products(first: $first) { totalCount } }","variables":{"first":"ten"}}"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_graphql_request_answers_400() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    for body in MALFORMED {
        for accept in [Some(GRAPHQL_RESPONSE), Some("application/json"), None] {
            let (status, _, answer) = post(&app, accept, Some("application/json"), body).await;
            assert_eq!(status, 400, "{body} accepting {accept:?}: {answer}");
            assert!(answer.get("data").is_none(), "{body}: {answer}");
            assert!(
                answer["errors"].as_array().is_some_and(|errors| !errors.is_empty()),
                "{body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_answer_400_to_graphql_response_clients_and_200_to_json_clients() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    for body in REFUSED {
        let (status, media, answer) = post(&app, Some(GRAPHQL_RESPONSE), Some("application/json"), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(media.starts_with(GRAPHQL_RESPONSE), "{body}: {media}");
        assert!(
            answer.get("data").is_none(),
            "{body}: a refused request has no data: {answer}"
        );
        assert!(
            answer["errors"].as_array().is_some_and(|errors| !errors.is_empty()),
            "{body}"
        );

        let (status, media, answer) = post(&app, Some("application/json"), Some("application/json"), body).await;
        assert_eq!(status, 200, "{body}: {answer}");
        assert!(media.starts_with("application/json"), "{body}: {media}");
        assert!(
            answer["errors"].as_array().is_some_and(|errors| !errors.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_has_the_media_type_the_client_accepts() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let query = r#"{"query":"query Q { __typename }","operationName":"Q","variables":null,"extensions":null}"#;
    for (accept, expected) in [
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let (status, media, answer) = post(&app, accept, Some("application/json; charset=utf-8"), query).await;
        assert_eq!(status, 200, "{accept:?}: {answer}");
        assert!(media.starts_with(expected), "{accept:?}: {media}");
        assert_eq!(answer, json!({ "data": { "__typename": "Query" } }));
    }
    // A GET without Accept is answered as JSON too.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    assert!(
        get.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("application/json")
    );
    // A mutation by GET is refused with a 4xx whatever is accepted.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_a_json_content_type_answers_415() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let query = r#"{"query":"{ __typename }"}"#;
    for content_type in [None, Some("text/plain"), Some("application/json; charset=latin1")] {
        let (status, _, answer) = post(&app, None, content_type, query).await;
        assert_eq!(status, 415, "{content_type:?}: {answer}");
    }
    let (status, _, _) = post(&app, None, None, "").await;
    assert_eq!(status, 415, "an empty POST without a content type");
}
