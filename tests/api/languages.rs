//! Chinese by default, English on request: `Accept-Language`, a signed-in user's own choice
//! (`setLanguage`, `me { language }`), and CSV headers. Codes and field paths never change.

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    messages_follow_accept_language,
    a_users_own_language_wins_over_the_browsers,
);

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { token userErrors { field code message } }
}";

async fn wrong_login(app: &TestApp, accept_language: &str) -> Value {
    let variables = json!({ "email": "nobody@example.com", "password": "not the password" });
    let (status, answer) = app
        .graphql_in(accept_language, &Actor::anonymous(), LOGIN, variables)
        .await;
    assert_eq!(status, 200, "{answer:#}");
    answer["data"]["login"]["userErrors"][0].clone()
}

async fn messages_follow_accept_language(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    // A user error: the same code and field in every language, the words in the one asked for.
    for (asked, words) in [
        ("", "邮箱或密码错误"),
        ("zh-CN,zh;q=0.9", "邮箱或密码错误"),
        ("en-GB,en;q=0.9", "wrong email or password"),
        ("fr-FR, en;q=0.5", "wrong email or password"),
        ("fr-FR", "邮箱或密码错误"),
    ] {
        let problem = wrong_login(&app, asked).await;
        assert_eq!(problem["code"], "INVALID_CREDENTIALS", "{asked}");
        assert_eq!(problem["message"], words, "Accept-Language {asked:?}");
    }

    // A GraphQL error: UNAUTHENTICATED, and a bad argument with its value in the words.
    let logout = "mutation { logout { revoked } }";
    let (_, chinese) = app.graphql_in("zh-CN", &Actor::anonymous(), logout, json!({})).await;
    let (_, english) = app.graphql_in("en", &Actor::anonymous(), logout, json!({})).await;
    for answer in [&chinese, &english] {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{answer:#}"
        );
    }
    assert_eq!(chinese["errors"][0]["message"], "需要登录");
    assert_eq!(english["errors"][0]["message"], "authentication required");
    let negative = "{ products(first: -1) { totalCount } }";
    let (_, chinese) = app.graphql_in("zh-CN", &Actor::anonymous(), negative, json!({})).await;
    let (_, english) = app.graphql_in("en", &Actor::anonymous(), negative, json!({})).await;
    assert_eq!(chinese["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(chinese["errors"][0]["message"], "`first` 不能为负数");
    assert_eq!(english["errors"][0]["message"], "`first` must not be negative");

    // A token that proves nothing: 401, in the language asked.
    let forged = Actor {
        token: Some("not-a-token".to_owned()),
        user_id: String::new(),
    };
    let (status, english) = app.graphql_in("en", &forged, "{ me { id } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(english["errors"][0]["message"], "authentication required");

    // Values in the words: the limit shows in both languages.
    let search = "query($q: String!) { products(filter: { search: $q }) { totalCount } }";
    let long = json!({ "q": "百".repeat(101) });
    let (_, chinese) = app.graphql_in("zh-CN", &Actor::anonymous(), search, long.clone()).await;
    let (_, english) = app.graphql_in("en", &Actor::anonymous(), search, long).await;
    assert_eq!(chinese["errors"][0]["message"], "搜索词最多 100 个字", "{chinese:#}");
    assert_eq!(english["errors"][0]["message"], "search is limited to 100 characters");
}

async fn a_users_own_language_wins_over_the_browsers(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let me = "{ me { language } }";
    assert_eq!(app.query_as(&buyer, me, json!({})).await["me"]["language"], Value::Null);

    let set =
        "mutation($language: Language) { setLanguage(language: $language) { user { language } userErrors { code } } }";
    let chosen = app.query_as(&buyer, set, json!({ "language": "EN" })).await;
    assert_eq!(chosen["setLanguage"]["user"]["language"], "EN");
    assert_eq!(app.query_as(&buyer, me, json!({})).await["me"]["language"], "EN");

    // Her browser asks for Chinese; her choice is English.
    let cancel = "mutation { cancelOrder(orderId: \"T3JkZXI6OTk5\") { userErrors { code message } } }";
    let (_, answer) = app.graphql_in("zh-CN", &buyer, cancel, json!({})).await;
    let problem = &answer["data"]["cancelOrder"]["userErrors"][0];
    assert_eq!(problem["code"], "NOT_FOUND", "{answer:#}");
    assert_eq!(problem["message"], "no such order");

    // Cleared, the browser decides again.
    let cleared = app.query_as(&buyer, set, json!({ "language": null })).await;
    assert_eq!(cleared["setLanguage"]["user"]["language"], Value::Null);
    let (_, answer) = app.graphql_in("zh-CN", &buyer, cancel, json!({})).await;
    assert_eq!(
        answer["data"]["cancelOrder"]["userErrors"][0]["message"],
        "没有这个订单"
    );

    // Anonymous callers cannot choose.
    let (_, answer) = app
        .graphql_in("en", &Actor::anonymous(), set, json!({ "language": "EN" }))
        .await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}
