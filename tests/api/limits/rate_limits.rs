//! Passwords checked one at a time and guesses limited, without locking an owner out.

use super::*;

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
