//! Accounts: registration, sign-in, tokens, roles, and growers managing their own catalogue.

use std::process::Command;
use std::time::{Duration, Instant};

use huakai::accounts::Role;
use huakai::accounts::entity::user;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp};

mod roles;
mod session_cache;
mod sign_in;

const REGISTER: &str = "mutation($input: RegisterInput!) {
    register(input: $input) { token user { id email displayName role } userErrors { field code message } }
}";

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { token user { id } userErrors { code message } }
}";

fn register_input(email: &str, password: &str) -> Value {
    json!({ "input": { "email": email, "password": password, "displayName": "李华" } })
}

fn bearer(token: &Value) -> Actor {
    Actor {
        token: Some(token.as_str().expect("a token").to_owned()),
        user_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_rate_limited_in_process() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    rate_limits_hold(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_replicas_through_redis() {
    let Some(first) = TestApp::on(Backend::Postgres).redis().start().await else {
        return;
    };
    let second = first.another_instance().await;
    rate_limits_hold(&first, &second).await;
}

/// Failures on `first` count on `second` too (the same app when there is one instance).
async fn rate_limits_hold(first: &TestApp, second: &TestApp) {
    let password = "a long enough test password";
    first.user("victim@example.com", Role::Buyer, None).await;
    for attempt in 0..5 {
        let app = if attempt % 2 == 0 { first } else { second };
        let data = app
            .query(
                LOGIN,
                json!({ "email": "victim@example.com", "password": "guess number one" }),
            )
            .await;
        assert_eq!(
            data["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS",
            "attempt {attempt}"
        );
    }
    for app in [first, second] {
        let data = app
            .query(LOGIN, json!({ "email": "victim@example.com", "password": password }))
            .await;
        assert_eq!(
            data["login"]["userErrors"][0]["code"], "RATE_LIMITED",
            "even the right password waits"
        );
        assert_eq!(data["login"]["token"], Value::Null);
    }
    // Another email from the same address still gets through until the address limit.
    first.user("neighbour@example.com", Role::Buyer, None).await;
    for attempt in 0..15 {
        let email = format!("spray{attempt}@example.com");
        let data = second
            .query(LOGIN, json!({ "email": email, "password": "guess" }))
            .await;
        assert_eq!(
            data["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS",
            "attempt {attempt}"
        );
    }
    let data = first
        .query(LOGIN, json!({ "email": "neighbour@example.com", "password": password }))
        .await;
    assert_eq!(
        data["login"]["userErrors"][0]["code"], "RATE_LIMITED",
        "20 failures from one address"
    );
}
