//! What a crowd of strangers (some of them bots) cannot do to the shop: oversized or slow
//! requests, more requests than it can serve, password hashing by the thousand, guessing
//! passwords or locking owners out, mutations through GET, control characters in inputs,
//! unbounded metrics labels and nested lists.

use std::time::{Duration, Instant};

use huakai::accounts::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, error_code};

on_each_backend!(control_characters_in_inputs_are_clear_errors_never_a_500);

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { token userErrors { code message retryAfterSeconds } }
}";
const PASSWORD: &str = "a long enough test password";

async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, settings)
        .await
        .expect("SQLite needs no service")
}

/// Sends the head of a POST that announces `length` bytes and only `sent` of them, and
/// returns the connection (the server waits for the rest).
async fn stalled_post(app: &TestApp, length: usize, sent: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    stream
        .write_all(&vec![b' '; sent])
        .await
        .expect("part of the body sent");
    stream
}

/// The status line's code of what the server wrote on `stream`.
async fn status_of(stream: &mut tokio::net::TcpStream) -> u16 {
    let mut buffer = vec![0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
        .await
        .expect("the server answers in time")
        .expect("reads");
    let text = String::from_utf8_lossy(&buffer[..read]);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_with_413_unread() {
    let app = app_with(&[("HUAKAI_MAX_BODY", "64KiB")]).await;
    let padding = "x".repeat(100 * 1024);
    let big = json!({ "query": "{ categories { slug } }", "variables": { "padding": padding } });
    let refused = app
        .http()
        .post(app.url("/graphql"))
        .json(&big)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 413);

    // Without a Content-Length (chunked), the body is cut off at the cap all the same.
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head sent");
    for _ in 0..40 {
        let chunk = format!("1000\r\n{}\r\n", " ".repeat(4096));
        // The server may answer and stop reading before the last chunks.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    assert_eq!(status_of(&mut stream).await, 413);

    // Under the cap all is as before.
    let data = app.query("{ categories { slug } }", json!({})).await;
    assert!(data["categories"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_runs_too_long_answers_504() {
    let app = app_with(&[("HUAKAI_REQUEST_TIMEOUT", "300ms")]).await;
    let started = Instant::now();
    let mut stream = stalled_post(&app, 100, 10).await;
    assert_eq!(status_of(&mut stream).await, 504);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_sheds_load_with_503_and_recovers() {
    let app = app_with(&[("HUAKAI_MAX_IN_FLIGHT", "2"), ("HUAKAI_REQUEST_TIMEOUT", "30s")]).await;
    // Two requests in flight, waiting for bodies that do not come.
    let mut held = vec![stalled_post(&app, 100, 1).await, stalled_post(&app, 100, 1).await];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let shed = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ categories { slug } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(shed.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2), "shed at once, not queued");
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: Value = shed.json().await.expect("json");
    assert_eq!(error_code(&body), "OVERLOADED");
    // Probes still answer while the API is saturated.
    let health = app.http().get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    // The held requests finish (their bodies arrive, malformed): the server serves again.
    for stream in &mut held {
        stream.write_all(&[b' '; 99]).await.expect("rest of the body");
        assert_eq!(status_of(stream).await, 400);
    }
    drop(held);
    let data = app.query("{ categories { slug } }", json!({})).await;
    assert!(data["categories"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_checks_one_password_at_most() {
    let app = app_with(&[]).await;
    app.user("owner@example.com", Role::Buyer, None).await;
    let fields: String = (0..2000)
        .map(|i| format!("l{i}: login(email: \"owner@example.com\", password: \"guess {i}\") {{ token }} "))
        .collect();
    let started = Instant::now();
    let answer = app.graphql(&format!("mutation {{ {fields} }}"), json!({})).await;
    assert_eq!(error_code(&answer), "TOO_MANY_CREDENTIAL_FIELDS");
    assert!(answer.get("data").is_none_or(Value::is_null), "nothing ran: {answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused before hashing: {:?}",
        started.elapsed()
    );
    // Two kinds, one hidden in a fragment, are two all the same.
    let mixed = "mutation { ...Both } fragment Both on Mutation {
        login(email: \"owner@example.com\", password: \"x\") { token }
        register(input: { email: \"new@example.com\", password: \"a long new password\", displayName: \"N\" }) { token }
    }";
    assert_eq!(
        error_code(&app.graphql(mixed, json!({})).await),
        "TOO_MANY_CREDENTIAL_FIELDS"
    );
    // One is fine.
    let data = app
        .query(LOGIN, json!({ "email": "owner@example.com", "password": PASSWORD }))
        .await;
    assert!(data["login"]["token"].is_string());
}

/// A POST as coming from `client` through the trusted ingress at 127.0.0.1.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Value {
    let answer: Value = app
        .http()
        .post(app.url("/graphql"))
        .header("x-forwarded-for", client)
        .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    answer["data"]["login"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_at_an_account_never_locks_its_owner_out() {
    let app = app_with(&[("HUAKAI_TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.user("owner@example.com", Role::Buyer, None).await;
    let attacker = "203.0.113.66";
    for attempt in 0..5 {
        let login = login_from(&app, attacker, "owner@example.com", "guess guess guess").await;
        assert_eq!(
            login["userErrors"][0]["code"], "INVALID_CREDENTIALS",
            "attempt {attempt}"
        );
    }
    let refused = login_from(&app, attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(refused["userErrors"][0]["code"], "RATE_LIMITED");
    let wait = refused["userErrors"][0]["retryAfterSeconds"]
        .as_i64()
        .expect("when to retry");
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(
        refused["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&wait.to_string())),
        "the message says how long to wait: {refused:#}"
    );
    // The owner, somewhere else, signs in as ever.
    let owner = login_from(&app, "198.51.100.20", "owner@example.com", PASSWORD).await;
    assert!(owner["token"].is_string(), "{owner}");

    // A client cannot pose as another address: from an untrusted peer the header is ignored.
    let untrusted = app_with(&[]).await;
    untrusted.user("owner@example.com", Role::Buyer, None).await;
    for attempt in 0..5 {
        let client = format!("192.0.2.{attempt}");
        let login = login_from(&untrusted, &client, "owner@example.com", "guess guess guess").await;
        assert_eq!(
            login["userErrors"][0]["code"], "INVALID_CREDENTIALS",
            "attempt {attempt}"
        );
    }
    let refused = login_from(&untrusted, "192.0.2.200", "owner@example.com", "guess guess guess").await;
    assert_eq!(
        refused["userErrors"][0]["code"], "RATE_LIMITED",
        "all five came from the one real address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_slip_under_the_limit() {
    let app = app_with(&[("HUAKAI_LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.user("owner@example.com", Role::Buyer, None).await;
    let guesses = futures::future::join_all((0..12).map(|i| {
        app.query(
            LOGIN,
            json!({ "email": "owner@example.com", "password": format!("guess number {i}") }),
        )
    }))
    .await;
    let checked = guesses
        .iter()
        .filter(|data| data["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS")
        .count();
    assert_eq!(checked, 3, "only three guesses were checked: {guesses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_limited_per_address() {
    let app = app_with(&[("HUAKAI_REGISTRATIONS_PER_ADDRESS", "2")]).await;
    let register = "mutation($input: RegisterInput!) {
        register(input: $input) { token userErrors { code message retryAfterSeconds } } }";
    for i in 0..2 {
        let input = json!({ "email": format!("new{i}@example.com"), "password": PASSWORD, "displayName": "新用户" });
        let data = app.query(register, json!({ "input": input })).await;
        assert!(data["register"]["token"].is_string(), "{data}");
    }
    let input = json!({ "email": "new9@example.com", "password": PASSWORD, "displayName": "新用户" });
    let data = app.query(register, json!({ "input": input })).await;
    assert_eq!(data["register"]["userErrors"][0]["code"], "RATE_LIMITED");
    assert!(
        data["register"]["userErrors"][0]["retryAfterSeconds"]
            .as_i64()
            .is_some_and(|s| s > 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_are_limited() {
    let app = app_with(&[("HUAKAI_PASSWORD_CHANGE_FAILURES", "2")]).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let change = "mutation($current: String!) {
        changePassword(currentPassword: $current, newPassword: \"another long password\") { token userErrors { code } } }";
    for _ in 0..2 {
        let data = app
            .query_as(&buyer, change, json!({ "current": "not it at all" }))
            .await;
        assert_eq!(data["changePassword"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    }
    let data = app.query_as(&buyer, change, json!({ "current": PASSWORD })).await;
    assert_eq!(data["changePassword"]["userErrors"][0]["code"], "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_never_runs_a_mutation_even_a_persisted_one() {
    let app = app_with(&[]).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let mutation = "mutation { logout { revoked } }";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(mutation.as_bytes()))
    };
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    // Sent once by POST with its text, the mutation runs (as POST may) but is not kept...
    let token = buyer.token.clone().expect("token");
    let other_session = app.login("buyer@example.com", PASSWORD).await;
    let posted: Value = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(other_session.token.clone().expect("token"))
        .json(&json!({ "query": mutation, "extensions": extensions }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(posted["data"]["logout"]["revoked"], true);
    // ...so a link with its hash runs nothing.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    let status = get.status().as_u16();
    let body: Value = get.json().await.expect("json");
    assert_ne!(body["data"]["logout"]["revoked"], true, "{body}");
    assert!(status == 200 || status == 405, "{status} {body}");
    assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()));
    // The session the GET would have ended still works.
    let me = app.query_as(&buyer, "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "buyer@example.com");

    // A mutation named in a GET with an operation name is refused too, however it is spelt.
    let get = app
        .http()
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query A { me { email } } mutation B { logout { revoked } }"),
            ("operationName", "B"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
}

async fn control_characters_in_inputs_are_clear_errors_never_a_500(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Anonymous inputs that reach the database: a search, a slug, an email.
    for (query, variables) in [
        (
            "query($s: String) { products(filter: { search: $s }) { totalCount } }",
            json!({ "s": "百合\u{0}" }),
        ),
        (
            "query($s: String!) { product(slug: $s) { name } }",
            json!({ "s": "a\u{0}b" }),
        ),
        ("{ product(slug: \"a\\u0000b\") { name } }", json!({})),
        (
            LOGIN,
            json!({ "email": "a\u{0}@example.com", "password": "whatever it is" }),
        ),
    ] {
        let (status, answer) = app.graphql_as(&Actor::anonymous(), query, variables).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        let message = answer["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("控制字符"), "said in Chinese, the default: {message}");
    }
    // A grower's names and descriptions: INVALID_INPUT user errors on the field at fault.
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await;
    let update = "mutation($id: ID!, $name: String!) {
        updateVariant(variantId: $id, input: { name: $name }) { userErrors { field code } } }";
    for name in ["礼盒\u{0}装", "礼盒\u{1b}[31m装", "两行\n名字"] {
        let data = app
            .query_as(
                &grower,
                update,
                json!({ "id": variant["product"]["variants"][0]["id"], "name": name }),
            )
            .await;
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["code"], "INVALID_INPUT",
            "{name:?}"
        );
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["field"],
            json!(["input", "name"])
        );
    }
    let create = "mutation($input: NewProductInput!) { createProduct(input: $input) { userErrors { field code } } }";
    let product = |name: &str, description: &str| {
        json!({ "input": {
            "slug": "xin-chanpin", "name": name, "description": description, "categorySlug": "shuichan",
            "variants": [{ "sku": "XIN-1", "name": "一斤", "price": "10.00", "stock": 1 }],
        } })
    };
    let data = app.query_as(&grower, create, product("新\u{0}品", "")).await;
    assert_eq!(
        data["createProduct"]["userErrors"][0]["field"],
        json!(["input", "name"])
    );
    let data = app.query_as(&grower, create, product("新品", "坏\u{7}描述")).await;
    assert_eq!(
        data["createProduct"]["userErrors"][0]["field"],
        json!(["input", "description"])
    );
    assert_eq!(data["createProduct"]["userErrors"][0]["code"], "INVALID_INPUT");
    // Stock reasons are not the catalogue's names: refused before anything runs.
    let adjust = "mutation($id: ID!, $reason: String!) {
        adjustStock(variantId: $id, delta: 1, reason: $reason) { userErrors { code } } }";
    let (status, answer) = app
        .graphql_as(
            &grower,
            adjust,
            json!({ "id": variant["product"]["variants"][0]["id"], "reason": "到货\u{0}" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operation_names_share_one_metrics_label() {
    let app = app_with(&[]).await;
    for i in 0..20 {
        let name = format!("Random{}x{i}", uuid::Uuid::new_v4().simple());
        app.http()
            .post(app.url("/graphql"))
            .json(&json!({ "query": format!("query {name} {{ categories {{ slug }} }}"), "operationName": name }))
            .send()
            .await
            .expect("request");
    }
    let text = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(!text.contains("operation=\"Random"), "client names became labels");
    assert!(
        text.lines()
            .any(|line| line.starts_with("huakai_graphql_requests_total") && line.contains("operation=\"other\""))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_lists_cost_their_size() {
    let app = app_with(&[]).await;
    let nested =
        "{ products(first: 20) { nodes { variants { product { variants { product { variants { id } } } } } } } }";
    let answer = app.graphql(nested, json!({})).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer:#}"
    );
    // A full storefront page of 100 products with their variants is still fine.
    let page = "{ products(first: 100) { totalCount nodes { id slug name description catalogueCode inStock
        category { slug name } village { name town registeredPoor } producer { name kind linkedPoorHouseholds }
        priceRange { min { amount currency } max { amount currency } }
        variants { id sku name price { amount currency } available } } } }";
    let data = app.query(page, json!({})).await;
    assert!(data["products"]["nodes"].as_array().is_some_and(|n| !n.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_named_like_a_stock_figure_leaves_cached_pages_intact() {
    let app = app_with(&[]).await;
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let page = "{ product(slug: \"changyuan-xiaolongxia\") { inStock variants { id name available } } }";
    let variants = app.query(page, json!({})).await["product"]["variants"].clone();
    // Names written like the markers the cache once searched its bodies for. Refused or not,
    // they must not corrupt what the cache serves.
    let count = variants.as_array().map_or(0, Vec::len);
    for (i, variant) in variants.as_array().expect("variants").iter().enumerate() {
        for marker in [i + 1, (i + 1) % count.max(1)] {
            app.query_as(
                &grower,
                "mutation($id: ID!, $name: String!) { updateVariant(variantId: $id, input: { name: $name }) { userErrors { code } } }",
                json!({ "id": variant["id"], "name": format!("\u{1}huakai-stock-{marker}\u{1}") }),
            )
            .await;
        }
    }
    let computed = app.query(page, json!({})).await;
    let cached = app.query(page, json!({})).await;
    assert_eq!(computed, cached, "a cache hit answers what was computed");
    for (i, variant) in cached["product"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .enumerate()
    {
        assert!(variant["available"].is_i64(), "{variant}");
        assert_eq!(variant["id"], variants[i]["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growers_do_not_see_which_buyers_moved_their_stock() {
    let app = app_with(&[]).await;
    let grower = app
        .user("grower@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await["product"]["variants"][0]["id"]
        .clone();
    let placed = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { placeOrder(input: {
                lines: [{ variantId: $id, quantity: 1 }], idempotencyKey: \"k-1\", paymentMethod: BANK_TRANSFER,
                shippingAddress: { name: \"李华\", phone: \"13800000000\", province: \"重庆市\", city: \"重庆市\", district: \"涪陵区\", line1: \"一号\" }
            }) { order { id } userErrors { code } } }",
            json!({ "id": variant }),
        )
        .await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let history = "query($id: ID!) { stockHistory(variantId: $id) { reservedDelta actorId } }";
    let grower_view = app.query_as(&grower, history, json!({ "id": variant })).await;
    let reservation = &grower_view["stockHistory"][0];
    assert_eq!(reservation["reservedDelta"], json!(1));
    assert_eq!(reservation["actorId"], Value::Null, "a grower learns no buyer's id");
    let operator_view = app.query_as(&operator, history, json!({ "id": variant })).await;
    assert_eq!(operator_view["stockHistory"][0]["actorId"], json!(buyer.user_id));
}
