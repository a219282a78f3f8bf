//! Operators find users by a part of their email and disable them: no sign-in, every session
//! and socket ended at once, unpaid orders cancelled with their stock back; enabled again, the
//! user signs in.

use huakai::accounts::Role;

use super::*;
use crate::guards::sockets::Socket;
use crate::orders::available;
use crate::support::scenario::cast;
use crate::support::scenario::{PLACE, order_input};
use crate::unions::bulk::{LILY, stocked};

on_each_backend!(a_disabled_user_is_signed_out_everywhere_and_its_unpaid_orders_cancelled);

const PASSWORD: &str = "a long enough test password";
const DISABLE: &str = "mutation($id: ID!, $disabled: Boolean!) {
    setUserDisabled(userId: $id, disabled: $disabled) { user { email disabled } userErrors { field code } } }";

async fn emails(app: &TestApp, operator: &Actor, part: &str) -> Vec<String> {
    let data = app
        .query_as(
            operator,
            "query($email: String) { users(first: 50, email: $email) { nodes { email } } }",
            json!({ "email": part }),
        )
        .await;
    data["users"]["nodes"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["email"].as_str().expect("email").to_owned())
        .collect()
}

async fn login(app: &TestApp, password: &str) -> Value {
    app.query(
        "mutation($password: String!) { login(email: \"buyer@example.com\", password: $password) {
            token userErrors { code } } }",
        json!({ "password": password }),
    )
    .await["login"]
        .clone()
}

async fn a_disabled_user_is_signed_out_everywhere_and_its_unpaid_orders_cancelled(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_WS_RECHECK", "200ms")])
        .start()
        .await
    else {
        return;
    };
    let cast = cast(&app).await;
    app.user("other.buyer_1@example.com", Role::Buyer, None).await;
    assert_eq!(
        emails(&app, &cast.operator, "  BUYER").await,
        vec!["buyer@example.com", "other.buyer_1@example.com"]
    );
    // `_` and `%` are plain characters, not wildcards.
    assert_eq!(
        emails(&app, &cast.operator, "r_1").await,
        vec!["other.buyer_1@example.com"]
    );
    assert_eq!(emails(&app, &cast.operator, "%").await, Vec::<String>::new());

    let (lily, _) = stocked(&app, &cast.operator, LILY, 20).await;
    let before = available(&app, LILY, &lily).await;
    let placed = app
        .query_as(
            &cast.buyer,
            PLACE,
            order_input(json!([{ "variantId": lily, "quantity": 3 }]), "to-cancel"),
        )
        .await;
    let order = placed["placeOrder"]["order"]["id"].clone();
    assert_eq!(available(&app, LILY, &lily).await, before - 3);
    let second_session = app.login("buyer@example.com", PASSWORD).await;
    let mut socket = Socket::open(&app, &cast.buyer).await.expect("opens");
    let me = socket.ask("{ me { email } }", json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "buyer@example.com", "{me}");

    // An operator cannot disable itself; an unknown id is NOT_FOUND.
    let own = app
        .query_as(
            &cast.operator,
            DISABLE,
            json!({ "id": cast.operator.user_id, "disabled": true }),
        )
        .await;
    assert_eq!(
        own["setUserDisabled"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{own}"
    );

    let disabled = app
        .query_as(
            &cast.operator,
            DISABLE,
            json!({ "id": cast.buyer.user_id, "disabled": true }),
        )
        .await;
    assert_eq!(
        disabled["setUserDisabled"],
        json!({ "user": { "email": "buyer@example.com", "disabled": true }, "userErrors": [] })
    );
    // Every token ends, and the open socket is closed.
    for token in [&cast.buyer, &second_session] {
        let (status, answer) = app.graphql_as(token, "{ me { email } }", json!({})).await;
        assert_eq!((status, crate::support::error_code(&answer)), (401, "UNAUTHENTICATED"));
    }
    // The `me` query's completion may come first; then the socket closes (at its recheck).
    let closed = loop {
        match socket.next().await {
            Some(message) if message["type"] == "complete" => continue,
            other => break other,
        }
    };
    assert_eq!(closed, Some(json!({ "type": "closed", "code": 4401 })));
    // Its unpaid order is cancelled, its stock back on the shelf.
    let status = app
        .query_as(
            &cast.operator,
            "query($id: ID!) { order(id: $id) { status } }",
            json!({ "id": order }),
        )
        .await;
    assert_eq!(status["order"]["status"], "CANCELLED", "{status}");
    assert_eq!(available(&app, LILY, &lily).await, before);

    // No sign-in: the right password hears why, a wrong one hears nothing more.
    assert_eq!(login(&app, PASSWORD).await["userErrors"][0]["code"], "ACCOUNT_DISABLED");
    assert_eq!(
        login(&app, "a wrong but long password").await["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );

    let enabled = app
        .query_as(
            &cast.operator,
            DISABLE,
            json!({ "id": cast.buyer.user_id, "disabled": false }),
        )
        .await;
    assert_eq!(enabled["setUserDisabled"]["user"]["disabled"], false, "{enabled}");
    let back = login(&app, PASSWORD).await;
    assert_eq!(back["userErrors"], json!([]), "{back}");
    assert!(back["token"].is_string());
}
