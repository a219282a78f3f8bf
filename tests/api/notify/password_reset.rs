//! `requestPasswordReset` and `resetPassword`: a code by mail, read from the SMTP server.

use huakai::accounts::Role;
use huakai::accounts::entity::password_reset;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use super::{app_with_mail, code_in, to};
use crate::guards::sockets::Socket;
use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, error_code};

on_each_backend!(
    a_mailed_code_sets_a_new_password_and_ends_every_session,
    an_unknown_email_gets_the_same_answer_and_no_mail,
    a_code_allows_five_guesses_and_fifteen_minutes,
    requests_are_limited_per_email_whether_or_not_it_has_an_account,
    racing_resets_with_one_code_succeed_once,
);

const REQUEST: &str = "mutation($email: String!) { requestPasswordReset(email: $email) { userErrors { code field } } }";
const RESET: &str = "mutation($email: String!, $code: String!, $password: String!) {
    resetPassword(email: $email, code: $code, newPassword: $password) { token user { email } userErrors { code field } } }";
const NEW_PASSWORD: &str = "peonies in the spring rain";

async fn request(app: &TestApp, email: &str) -> Value {
    app.query(REQUEST, json!({ "email": email })).await["requestPasswordReset"].clone()
}

async fn reset(app: &TestApp, email: &str, code: &str, password: &str) -> Value {
    app.query(RESET, json!({ "email": email, "code": code, "password": password }))
        .await["resetPassword"]
        .clone()
}

/// Messages ever enqueued.
async fn outbox_size(app: &TestApp) -> i64 {
    let row = app
        .db()
        .query_one_raw(Statement::from_string(
            app.db().get_database_backend(),
            "SELECT COUNT(*) FROM mail_outbox",
        ))
        .await
        .expect("the outbox is read")
        .expect("a count");
    row.try_get_by_index(0).expect("a number")
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let last = code.as_bytes()[5] - b'0';
    format!("{}{}", &code[..5], (last + 1) % 10)
}

async fn a_mailed_code_sets_a_new_password_and_ends_every_session(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let buyer = app.user("Li.Hua@example.com", Role::Buyer, None).await;
    let mut socket = Socket::open(&app, &buyer).await.expect("the socket opens");
    let before = socket.ask("{ me { email } }", json!({})).await;
    assert_eq!(before["data"]["me"]["email"], "li.hua@example.com", "{before}");
    assert_eq!(request(&app, " li.hua@EXAMPLE.com ").await["userErrors"], json!([]));
    let mail = server.wait_for(1).await.remove(0);
    assert_eq!(mail.envelope_to, ["li.hua@example.com"]);
    assert!(
        mail.subject().contains("密码"),
        "in Chinese by default: {}",
        mail.subject()
    );
    let code = code_in(&mail);

    let wrong = reset(&app, "li.hua@example.com", &other_than(&code), NEW_PASSWORD).await;
    assert_eq!(
        wrong["userErrors"],
        json!([{ "code": "INVALID_CODE", "field": ["code"] }])
    );
    let weak = reset(&app, "li.hua@example.com", &code, "short").await;
    assert_eq!(weak["userErrors"][0]["code"], "WEAK_PASSWORD", "{weak}");
    assert_eq!(weak["userErrors"][0]["field"], json!(["newPassword"]));
    let done = reset(&app, "li.hua@example.com", &code, NEW_PASSWORD).await;
    assert_eq!(done["userErrors"], json!([]), "{done}");
    assert_eq!(done["user"]["email"], "li.hua@example.com");
    let fresh = Actor {
        token: done["token"].as_str().map(str::to_owned),
        user_id: buyer.user_id.clone(),
    };

    // Every earlier session ended at once: over HTTP and on the open socket.
    let (_, old) = app.graphql_as(&buyer, "{ me { email } }", json!({})).await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED", "{old}");
    let on_socket = socket.ask("{ me { email } }", json!({})).await;
    assert_eq!(error_code(&on_socket), "UNAUTHENTICATED", "{on_socket}");
    let me = app.query_as(&fresh, "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], "li.hua@example.com");

    // Used once; the new password signs in, the old one does not.
    let again = reset(&app, "li.hua@example.com", &code, "another fine password").await;
    assert_eq!(again["userErrors"][0]["code"], "INVALID_CODE");
    app.login("li.hua@example.com", NEW_PASSWORD).await;
    let old_password = app
        .query(
            "mutation { login(email: \"li.hua@example.com\", password: \"a long enough test password\") { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(old_password["login"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
}

async fn an_unknown_email_gets_the_same_answer_and_no_mail(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[]).await else {
        return;
    };
    app.user("known@example.com", Role::Buyer, None).await;
    let unknown = request(&app, "nobody@example.com").await;
    let known = request(&app, "known@example.com").await;
    assert_eq!(unknown, known, "the same answer");
    // The known one's message arrives; none was ever written for the unknown one.
    let received = server.wait_for(1).await;
    assert_eq!(to(&received, "known@example.com").len(), 1);
    assert_eq!(outbox_size(&app).await, 1, "nothing enqueued for an unknown email");
    let reset = reset(&app, "nobody@example.com", "123456", NEW_PASSWORD).await;
    assert_eq!(reset["userErrors"][0]["code"], "INVALID_CODE");
}

async fn a_code_allows_five_guesses_and_fifteen_minutes(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[]).await else {
        return;
    };
    app.user("guess@example.com", Role::Buyer, None).await;
    request(&app, "guess@example.com").await;
    let code = code_in(&server.wait_for(1).await[0]);
    for _ in 0..5 {
        let wrong = reset(&app, "guess@example.com", &other_than(&code), NEW_PASSWORD).await;
        assert_eq!(wrong["userErrors"][0]["code"], "INVALID_CODE");
    }
    let spent = reset(&app, "guess@example.com", &code, NEW_PASSWORD).await;
    assert_eq!(
        spent["userErrors"][0]["code"], "INVALID_CODE",
        "five guesses, then none"
    );

    // A new code replaces the spent one; past its 15 minutes it is refused too.
    request(&app, "guess@example.com").await;
    let code = code_in(&server.wait_for(2).await[1]);
    let now = chrono::Utc::now();
    password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::CreatedAt,
            Expr::value(now - chrono::Duration::minutes(15) - chrono::Duration::seconds(1)),
        )
        .col_expr(
            password_reset::Column::ExpiresAt,
            Expr::value(now - chrono::Duration::seconds(1)),
        )
        .exec(app.db())
        .await
        .expect("the code is aged");
    let late = reset(&app, "guess@example.com", &code, NEW_PASSWORD).await;
    assert_eq!(late["userErrors"][0]["code"], "INVALID_CODE", "expired");
}

async fn requests_are_limited_per_email_whether_or_not_it_has_an_account(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[("HUAKAI_PASSWORD_RESETS_PER_ADDRESS", "7")]).await else {
        return;
    };
    app.user("busy@example.com", Role::Buyer, None).await;
    for email in ["busy@example.com", "ghost@example.com"] {
        for _ in 0..3 {
            assert_eq!(request(&app, email).await["userErrors"], json!([]));
        }
        let limited = request(&app, email).await;
        assert_eq!(limited["userErrors"][0]["code"], "RATE_LIMITED", "{email}: {limited}");
    }
    // Three codes went out, one per request let through.
    assert_eq!(server.wait_for(3).await.len(), 3);
    // And the client as a whole: 6 counted so far, the 7th is the last.
    assert_eq!(request(&app, "third@example.com").await["userErrors"], json!([]));
    let limited = request(&app, "fourth@example.com").await;
    assert_eq!(
        limited["userErrors"][0]["code"], "RATE_LIMITED",
        "per client: {limited}"
    );
}

async fn racing_resets_with_one_code_succeed_once(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[]).await else {
        return;
    };
    app.user("race@example.com", Role::Buyer, None).await;
    request(&app, "race@example.com").await;
    let code = code_in(&server.wait_for(1).await[0]);
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..8)
        .map(|index| {
            let app = app.clone();
            let code = code.clone();
            tokio::spawn(
                async move { reset(&app, "race@example.com", &code, &format!("{NEW_PASSWORD} {index}")).await },
            )
        })
        .collect();
    let mut succeeded = 0;
    for task in tasks {
        let answer = task.await.expect("the task ends");
        if answer["userErrors"] == json!([]) {
            succeeded += 1;
        } else {
            assert_eq!(answer["userErrors"][0]["code"], "INVALID_CODE", "{answer}");
        }
    }
    assert_eq!(succeeded, 1, "a code is used once");
}
