//! Issue 24's operations, asked by each kind of caller: the columns are the anonymous caller, a
//! buyer, another buyer, a grower, another producer's grower and an operator. Each is asked in a
//! way that changes nothing (an unknown email, a wrong code, a number that is refused).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_and_phone_numbers_answer_each_caller_as_they_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let cast = Cast {
        names: [
            "anonymous",
            "the buyer",
            "another buyer",
            "a grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: buyer.clone(),
        other_buyer: app.user("other.buyer@example.com", Role::Buyer, None).await,
        grower: app
            .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
            .await,
        other_grower: app
            .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
            .await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    };
    let rows = [
        Row {
            operation: "requestPasswordReset",
            query: "mutation { requestPasswordReset(email: \"nobody@example.com\") { userErrors { code } } }",
            variables: json!({}),
            expected: [Allowed; 6],
        },
        Row {
            operation: "resetPassword",
            query: "mutation { resetPassword(email: \"nobody@example.com\", code: \"000000\",
                newPassword: \"a long enough new password\") { token userErrors { code } } }",
            variables: json!({}),
            expected: [Allowed; 6],
        },
        Row {
            operation: "setPhoneNumber",
            query: "mutation { setPhoneNumber(phone: \"12345\") { user { phone } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { ... on User { phone } } }",
            variables: json!({ "id": buyer.user_id }),
            expected: [Hidden, Allowed, Hidden, Hidden, Hidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}
