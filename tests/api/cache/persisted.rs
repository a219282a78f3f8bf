//! Persisted queries and the headers a CDN caches by.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_queries_and_cdn_headers() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let query = "{ categories { slug name } }";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(query.as_bytes()))
    };
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let unknown: Value = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");

    let wrong = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ products { totalCount } }", "extensions": extensions }))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 400, "a query must match its hash");

    let registered: Value = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(
        registered["data"]["categories"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );

    // Now a short GET carries only the hash, and a CDN may keep the answer if it revalidates.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["cache-control"], "public, no-cache");
    let etag = get.headers()["etag"].clone();
    let body: Value = get.json().await.expect("json");
    assert_eq!(body, registered);
    let revalidated = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .header("if-none-match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(revalidated.status(), 304);

    // A signed-in caller's answer is never for a shared cache.
    let buyer: Actor = app.user("buyer@example.com", Role::Buyer, None).await;
    let private = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(buyer.token.expect("token"))
        .send()
        .await
        .expect("request");
    assert_eq!(private.status(), 200);
    assert_eq!(private.headers()["cache-control"], "private, no-store");
}
