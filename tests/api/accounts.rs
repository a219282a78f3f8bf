//! Accounts: registration, sign-in, tokens, roles, and growers managing their own catalogue.

use std::process::Command;
use std::time::{Duration, Instant};

use huakai::accounts::Role;
use huakai::accounts::entity::user;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    registering_makes_a_signed_in_buyer,
    registration_refuses_bad_input_with_stable_codes,
    concurrent_registrations_of_one_email_make_one_account,
    tokens_stop_working_when_tampered_expired_or_revoked,
    a_grower_changes_prices_and_stock_of_its_own_producer,
);

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

async fn registering_makes_a_signed_in_buyer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let data = app
        .query(REGISTER, register_input("Li.Hua@Example.com", "三旺村的百合最好吃了"))
        .await;
    let register = &data["register"];
    assert_eq!(register["userErrors"], json!([]));
    assert_eq!(register["user"]["role"], "BUYER");
    assert_eq!(
        register["user"]["email"], "li.hua@example.com",
        "emails are folded to lower case"
    );

    let me = app
        .query_as(&bearer(&register["token"]), "{ me { id email role } }", json!({}))
        .await;
    assert_eq!(me["me"]["id"], register["user"]["id"]);

    // Only argon2id hashes are stored, never the password.
    let users = user::Entity::find().all(app.db()).await.expect("users");
    assert_eq!(users.len(), 1);
    assert!(
        users[0].password_hash.starts_with("$argon2id$"),
        "{}",
        users[0].password_hash
    );
    assert!(!users[0].password_hash.contains("百合"));

    let login = app
        .query(
            LOGIN,
            json!({ "email": "LI.HUA@example.com", "password": "三旺村的百合最好吃了" }),
        )
        .await;
    assert_eq!(login["login"]["userErrors"], json!([]));
    assert_eq!(login["login"]["user"]["id"], register["user"]["id"]);
}

async fn registration_refuses_bad_input_with_stable_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.query(
        REGISTER,
        register_input("taken@example.com", "a perfectly fine password"),
    )
    .await;
    let cases = [
        (
            register_input("TAKEN@example.com", "a perfectly fine password"),
            "EMAIL_TAKEN",
            "email",
        ),
        (
            register_input("not-an-email", "a perfectly fine password"),
            "INVALID_INPUT",
            "email",
        ),
        (
            register_input("short@example.com", "short"),
            "WEAK_PASSWORD",
            "password",
        ),
        (
            register_input("common@example.com", "password123"),
            "WEAK_PASSWORD",
            "password",
        ),
        (
            json!({ "input": { "email": "blank@example.com", "password": "a perfectly fine password", "displayName": "  " } }),
            "INVALID_INPUT",
            "displayName",
        ),
    ];
    for (input, code, field) in cases {
        let data = app.query(REGISTER, input.clone()).await;
        let register = &data["register"];
        assert_eq!(register["token"], Value::Null, "{input}");
        assert_eq!(register["userErrors"][0]["code"], code, "{input}");
        assert_eq!(register["userErrors"][0]["field"], json!(["input", field]), "{input}");
    }
    assert_eq!(user::Entity::find().all(app.db()).await.expect("users").len(), 1);

    // A wrong password and an unknown email get the same answer, in about the same time.
    let mut timings = Vec::new();
    for email in [
        "taken@example.com",
        "nobody@example.com",
        "taken@example.com",
        "nobody@example.com",
    ] {
        let started = Instant::now();
        let data = app
            .query(LOGIN, json!({ "email": email, "password": "the wrong password" }))
            .await;
        timings.push(started.elapsed());
        assert_eq!(data["login"]["token"], Value::Null);
        assert_eq!(data["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
        assert_eq!(data["login"]["userErrors"][0]["message"], "邮箱或密码错误");
    }
    let known = timings[0] + timings[2];
    let unknown = timings[1] + timings[3];
    assert!(
        unknown * 3 > known && known * 3 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}

async fn concurrent_registrations_of_one_email_make_one_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let attempts = (0..8).map(|_| {
        app.query(
            REGISTER,
            register_input("race@example.com", "a perfectly fine password"),
        )
    });
    let answers = futures::future::join_all(attempts).await;
    let succeeded = answers
        .iter()
        .filter(|a| a["register"]["userErrors"] == json!([]))
        .count();
    let taken = answers
        .iter()
        .filter(|a| a["register"]["userErrors"][0]["code"] == "EMAIL_TAKEN")
        .count();
    assert_eq!((succeeded, taken), (1, 7));
    assert_eq!(user::Entity::find().all(app.db()).await.expect("users").len(), 1);
}

async fn tokens_stop_working_when_tampered_expired_or_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("HUAKAI_TOKEN_TTL", "2s")]).await else {
        return;
    };
    let data = app
        .query(
            REGISTER,
            register_input("tokens@example.com", "a perfectly fine password"),
        )
        .await;
    let token = data["register"]["token"].as_str().expect("token").to_owned();
    let me = "{ me { email } }";
    let actor = |token: &str| Actor {
        token: Some(token.to_owned()),
        user_id: String::new(),
    };

    let (status, _) = app.graphql_as(&actor(&token), me, json!({})).await;
    assert_eq!(status, 200);

    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    for refused in [tampered.as_str(), "not-a-token", ""] {
        let (status, answer) = app.graphql_as(&actor(refused), me, json!({})).await;
        assert_eq!(status, 401, "{refused:?}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }

    // Logout revokes at once.
    let second = app.login("tokens@example.com", "a perfectly fine password").await;
    app.query_as(&second, "mutation { logout { revoked } }", json!({}))
        .await;
    let (status, _) = app.graphql_as(&second, me, json!({})).await;
    assert_eq!(status, 401, "a logged-out token is refused");
    let (status, _) = app.graphql_as(&actor(&token), me, json!({})).await;
    assert_eq!(status, 200, "logout ends only its own session");

    // A password change revokes every session and hands out a new token.
    let changed = app
        .query_as(
            &actor(&token),
            "mutation { changePassword(currentPassword: \"a perfectly fine password\", newPassword: \"an even better password\") { token userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(changed["changePassword"]["userErrors"], json!([]));
    let (status, _) = app.graphql_as(&actor(&token), me, json!({})).await;
    assert_eq!(status, 401, "the old token is refused after a password change");
    let fresh = bearer(&changed["changePassword"]["token"]);
    let (status, _) = app.graphql_as(&fresh, me, json!({})).await;
    assert_eq!(status, 200);
    let old_password = app
        .query(
            LOGIN,
            json!({ "email": "tokens@example.com", "password": "a perfectly fine password" }),
        )
        .await;
    assert_eq!(old_password["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");

    // Expiry: the token lives two seconds.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, _) = app.graphql_as(&fresh, me, json!({})).await;
    assert_eq!(status, 401, "an expired token is refused");
}

async fn a_grower_changes_prices_and_stock_of_its_own_producer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let grower = app
        .user("grower@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let storefront = "{ product(slug: \"sanwang-xian-baihe\") { priceRange { min { amount } max { amount } }
        variants { id name price { amount } available } } }";
    let before = app.query(storefront, json!({})).await;
    let variant = before["product"]["variants"][0].clone();
    let available = variant["available"].as_i64().expect("available");

    let update = "mutation($id: ID!, $input: VariantUpdateInput!) {
        updateVariant(variantId: $id, input: $input) { variant { name price { amount } } userErrors { field code } } }";
    let data = app
        .query_as(
            &grower,
            update,
            json!({ "id": variant["id"], "input": { "price": "9.90", "name": "尝鲜装 250 g" } }),
        )
        .await;
    assert_eq!(data["updateVariant"]["userErrors"], json!([]));
    assert_eq!(data["updateVariant"]["variant"]["price"]["amount"], "9.90");

    // The very next storefront query shows the new price, and the price range follows it.
    let after = app.query(storefront, json!({})).await;
    assert_eq!(after["product"]["variants"][0]["price"]["amount"], "9.90");
    assert_eq!(after["product"]["variants"][0]["name"], "尝鲜装 250 g");
    assert_eq!(after["product"]["priceRange"]["min"]["amount"], "9.90");
    assert_eq!(
        after["product"]["priceRange"]["max"],
        before["product"]["priceRange"]["max"]
    );

    for (price, code) in [
        ("abc", "INVALID_INPUT"),
        ("0", "INVALID_INPUT"),
        ("1.005", "INVALID_INPUT"),
        ("-3", "INVALID_INPUT"),
    ] {
        let data = app
            .query_as(
                &grower,
                update,
                json!({ "id": variant["id"], "input": { "price": price } }),
            )
            .await;
        assert_eq!(data["updateVariant"]["userErrors"][0]["code"], code, "{price}");
        assert_eq!(
            data["updateVariant"]["userErrors"][0]["field"],
            json!(["input", "price"])
        );
    }
    let unknown = app
        .query_as(
            &grower,
            update,
            json!({ "id": "VmFyaWFudDo5OTk5OTk", "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(unknown["updateVariant"]["userErrors"][0]["code"], "NOT_FOUND");

    let adjust = "mutation($id: ID!, $delta: Int!, $reason: String!) {
        adjustStock(variantId: $id, delta: $delta, reason: $reason) { variant { available } userErrors { code } } }";
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": 25, "reason": "新采收入库" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"], json!([]));
    assert_eq!(data["adjustStock"]["variant"]["available"], json!(available + 25));
    let storefront_stock = app.query(storefront, json!({})).await;
    assert_eq!(
        storefront_stock["product"]["variants"][0]["available"],
        json!(available + 25)
    );

    // On-hand stock never goes below zero.
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": -(available + 26), "reason": "损耗" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": 0, "reason": "nothing" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"][0]["code"], "INVALID_QUANTITY");
    let data = app
        .query_as(
            &grower,
            adjust,
            json!({ "id": variant["id"], "delta": -(available + 25), "reason": "全部售罄" }),
        )
        .await;
    assert_eq!(data["adjustStock"]["userErrors"], json!([]));
    assert_eq!(data["adjustStock"]["variant"]["available"], json!(0));

    // Every change is in the audit trail: who, when, how much, why.
    let history = app
        .query_as(
            &grower,
            "query($id: ID!) { stockHistory(variantId: $id) { onHandDelta reason actorId createdAt } }",
            json!({ "id": variant["id"] }),
        )
        .await;
    let history = history["stockHistory"].as_array().expect("history").clone();
    // Two adjustments after the opening stock; refused adjustments leave no row.
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[2]["reason"], "opening stock");
    assert_eq!(history[0]["onHandDelta"], json!(-(available + 25)));
    assert_eq!(history[1]["onHandDelta"], json!(25));
    assert_eq!(history[1]["reason"], "新采收入库");
    assert_eq!(history[1]["actorId"], json!(grower.user_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_grant_roles_and_the_change_applies_at_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let buyer = app.user("future.grower@example.com", Role::Buyer, None).await;
    let adjust =
        "mutation($id: ID!) { adjustStock(variantId: $id, delta: 1, reason: \"入库\") { userErrors { code } } }";
    let variant = app
        .query(
            "{ product(slug: \"changyuan-xiaolongxia\") { variants { id } } }",
            json!({}),
        )
        .await;
    let variant_id = variant["product"]["variants"][0]["id"].clone();
    let (_, refused) = app.graphql_as(&buyer, adjust, json!({ "id": variant_id })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let grant = "mutation($id: ID!, $role: Role!, $producer: String) {
        setUserRole(userId: $id, role: $role, producerSlug: $producer) { user { role producer { slug } } userErrors { field code } } }";
    let missing = app
        .query_as(&operator, grant, json!({ "id": buyer.user_id, "role": "GROWER" }))
        .await;
    assert_eq!(missing["setUserRole"]["userErrors"][0]["code"], "INVALID_INPUT");
    let unknown = app
        .query_as(
            &operator,
            grant,
            json!({ "id": buyer.user_id, "role": "GROWER", "producer": "no-such-producer" }),
        )
        .await;
    assert_eq!(unknown["setUserRole"]["userErrors"][0]["code"], "NOT_FOUND");
    let granted = app
        .query_as(
            &operator,
            grant,
            json!({ "id": buyer.user_id, "role": "GROWER", "producer": "changyuan-longxia-hezuoshe" }),
        )
        .await;
    assert_eq!(granted["setUserRole"]["user"]["role"], "GROWER");
    assert_eq!(
        granted["setUserRole"]["user"]["producer"]["slug"],
        "changyuan-longxia-hezuoshe"
    );

    let allowed = app.query_as(&buyer, adjust, json!({ "id": variant_id })).await;
    assert_eq!(
        allowed["adjustStock"]["userErrors"],
        json!([]),
        "the same token now carries the new role"
    );

    let users = app
        .query_as(
            &operator,
            "{ users(first: 10, role: GROWER) { totalCount nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(users["users"]["totalCount"], json!(1));
    assert_eq!(users["users"]["nodes"][0]["email"], "future.grower@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_rate_limited_in_process() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    rate_limits_hold(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_replicas_through_redis() {
    let Some(first) = TestApp::spawn_with_redis(Backend::Postgres, &[]).await else {
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

#[test]
fn the_first_operator_is_made_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let create = |args: &[&str], password: &str| {
        Command::new(env!("CARGO_BIN_EXE_huakai"))
            .args(["user", "create"])
            .args(args)
            .env("DATABASE_URL", &url)
            .env("HUAKAI_USER_PASSWORD", password)
            .output()
            .expect("huakai runs")
    };
    let made = create(
        &["--email", "Ops@Example.com", "--role", "admin"],
        "a long operator password",
    );
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(String::from_utf8_lossy(&made.stdout).contains("ops@example.com"));
    let again = create(
        &["--email", "ops@example.com", "--role", "admin"],
        "a long operator password",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("EMAIL_TAKEN"));
    let grower = create(
        &["--email", "g@example.com", "--role", "grower"],
        "a long grower password",
    );
    assert!(!grower.status.success(), "a grower needs --producer");
    let bad_role = create(
        &["--email", "r@example.com", "--role", "root"],
        "a long grower password",
    );
    assert!(!bad_role.status.success());

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db = sea_orm::Database::connect(&url).await.expect("database");
        let operator = user::Entity::find().all(&db).await.expect("users");
        assert_eq!(operator.len(), 1);
        assert_eq!(operator[0].role, Role::Admin);
        assert!(operator[0].password_hash.starts_with("$argon2id$"));
    });
}
