//! Sessions remembered by each replica (`accounts::session_cache`): a signed-in request costs no
//! query, and a logout, a password change or a role change on one replica holds on the other at
//! once (Redis pub/sub).

use huakai::accounts::Role;
use serde_json::json;

use crate::support::{Actor, Backend, TestApp};

const ME: &str = "{ me { email role } }";

/// Asks `ME` as `actor` until `app` answers it from its session cache (no statement run), so
/// that what follows is answered by the cache unless something forgot it. The cache serves
/// nothing until its replica listens to the others, which it starts doing as it starts.
async fn served_from_cache(app: &TestApp, actor: &Actor) {
    for _ in 0..200 {
        app.query_as(actor, "{ __typename }", json!({})).await;
        let before = app.server.state.statements_executed();
        app.query_as(actor, "{ __typename }", json!({})).await;
        if app.server.state.statements_executed() == before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the replica never answered a signed-in request without the database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_replica_ends_on_the_other_at_once() {
    let Some(first) = TestApp::on(Backend::Postgres)
        .redis()
        .settings(&[("HUAKAI_SESSION_CACHE_TTL", "1h")])
        .start()
        .await
    else {
        return;
    };
    let second = first.another_instance().await;

    // Logout on the first replica: the second refuses the token on the next request.
    let buyer = first.user("leaving@example.com", Role::Buyer, None).await;
    let other_session = first.login("leaving@example.com", "a long enough test password").await;
    for app in [&first, &second] {
        served_from_cache(app, &buyer).await;
        served_from_cache(app, &other_session).await;
    }
    first
        .query_as(&buyer, "mutation { logout { revoked } }", json!({}))
        .await;
    for (name, app) in [("second", &second), ("first", &first)] {
        let (status, answer) = app.graphql_as(&buyer, ME, json!({})).await;
        assert_eq!(status, 401, "{name} replica: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let data = app.query_as(&other_session, ME, json!({})).await;
        assert_eq!(data["me"]["email"], "leaving@example.com", "the other session lives on");
    }

    // A role granted on the first replica: the second sees it on the next request.
    let operator = first.user("operator@example.com", Role::Admin, None).await;
    let host = first.user("host-to-be@example.com", Role::Buyer, None).await;
    served_from_cache(&second, &host).await;
    let granted = first
        .query_as(
            &operator,
            "mutation($id: ID!) { setUserRole(userId: $id, role: HOST) { user { role } userErrors { code } } }",
            json!({ "id": host.user_id }),
        )
        .await;
    assert_eq!(granted["setUserRole"]["userErrors"], json!([]));
    assert_eq!(second.query_as(&host, ME, json!({})).await["me"]["role"], "HOST");

    // A password changed through the second replica ends every session on the first.
    served_from_cache(&first, &other_session).await;
    let changed = second
        .query_as(
            &other_session,
            "mutation { changePassword(currentPassword: \"a long enough test password\", newPassword: \"another long password\") { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(changed["changePassword"]["userErrors"], json!([]));
    let (status, _) = first.graphql_as(&other_session, ME, json!({})).await;
    assert_eq!(status, 401, "the old session is refused on the first replica");
}
