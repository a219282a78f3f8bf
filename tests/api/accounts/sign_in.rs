//! Registering and signing in: stable error codes, one account per email, tokens that stop
//! working when tampered with, expired or revoked.

use super::*;

on_each_backend!(
    registering_makes_a_signed_in_buyer,
    registration_refuses_bad_input_with_stable_codes,
    concurrent_registrations_of_one_email_make_one_account,
    tokens_stop_working_when_tampered_expired_or_revoked,
);

async fn registering_makes_a_signed_in_buyer(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
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
    let Some(app) = TestApp::on(backend).start().await else {
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
    let Some(app) = TestApp::on(backend).start().await else {
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
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_TOKEN_TTL", "2s")])
        .start()
        .await
    else {
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
