//! Counters and codes a script would abuse: promo-link clicks count once per client per
//! window; invite codes are long, expire, and guessing them (aliases included) or making them
//! is rate-limited.

use std::time::Duration;

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Backend, TestApp};
use crate::unions::{INVITE, JOIN, organisation};

on_each_backend!(
    a_script_reloading_a_promo_link_counts_once_per_window,
    invite_codes_are_long_expire_and_guessing_them_is_rate_limited
);

async fn a_script_reloading_a_promo_link_counts_once_per_window(backend: Backend) {
    let settings = [("HUAKAI_TRUSTED_PROXIES", "127.0.0.1"), ("HUAKAI_CLICK_WINDOW", "2s")];
    let Some(app) = TestApp::on(backend).settings(&settings).start().await else {
        return;
    };
    let host = app.user("host@example.com", Role::Host, None).await;
    let product = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let created = app
        .query_as(
            &host,
            "mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } userErrors { code } } }",
            json!({ "id": product }),
        )
        .await;
    let code = created["createPromoLink"]["promoLink"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let click = |client: &'static str| {
        let request = browser
            .get(app.url(&format!("/l/{code}")))
            .header("x-forwarded-for", client);
        async move {
            let answer = request.send().await.expect("answer");
            assert_eq!(answer.status().as_u16(), 302, "every click is redirected");
        }
    };
    for _ in 0..30 {
        click("203.0.113.7").await;
    }
    click("198.51.100.1").await;
    let clicks = |want: i64| move |data: &Value| data["myHost"]["links"]["nodes"][0]["clicks"].as_i64() == Some(want);
    let query = "{ myHost { links { nodes { clicks } } } }";
    app.eventually(&host, query, json!({}), "two clients, two clicks", clicks(2))
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let counted = app.query_as(&host, query, json!({})).await;
    assert_eq!(
        counted["myHost"]["links"]["nodes"][0]["clicks"], 2,
        "thirty reloads count once"
    );
    // A new window: the same client counts again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    click("203.0.113.7").await;
    app.eventually(&host, query, json!({}), "the next window counts", clicks(3))
        .await;
}

async fn invite_codes_are_long_expire_and_guessing_them_is_rate_limited(backend: Backend) {
    let settings = [
        ("HUAKAI_INVITE_TTL", "2s"),
        ("HUAKAI_INVITE_GUESSES_PER_ACCOUNT", "5"),
        ("HUAKAI_INVITE_GUESSES_PER_ADDRESS", "8"),
        ("HUAKAI_INVITES_PER_ORGANISATION", "3"),
    ];
    let Some(app) = TestApp::on(backend).settings(&settings).start().await else {
        return;
    };
    let operator = app.user("ops@example.com", Role::Admin, None).await;
    let org = organisation(&app, &operator, "株洲市总工会", "admin@example.com").await;
    let code = app.query_as(&org.admin, INVITE, json!({ "org": org.id })).await["createInvite"]["code"]
        .as_str()
        .expect("a code")
        .to_owned();
    assert_eq!(code.len(), 16, "16 characters of 31: 79 bits ({code})");
    assert!(
        code.bytes().all(|b| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&b)),
        "{code}"
    );

    // An expired code admits nobody.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let late = app.user("late@example.com", Role::Buyer, None).await;
    let joined = app.query_as(&late, JOIN, json!({ "code": code })).await;
    assert_eq!(
        joined["joinOrganisation"]["userErrors"][0]["code"], "INVALID_CODE",
        "{joined}"
    );

    // Hundreds of guesses through aliases in one request: only the first few are tried.
    let guesser = app.user("guesser@example.com", Role::Buyer, None).await;
    let fresh = app.query_as(&org.admin, INVITE, json!({ "org": org.id })).await["createInvite"]["code"].clone();
    let mut guesses: Vec<String> = (0..200).map(|n| format!("{n:016}")).collect();
    guesses.push(fresh.as_str().expect("code").to_owned());
    let aliased: String = guesses
        .iter()
        .enumerate()
        .map(|(n, guess)| {
            format!("g{n}: joinOrganisation(code: \"{guess}\") {{ membership {{ id }} userErrors {{ code }} }} ")
        })
        .collect();
    let answer = app
        .query_as(&guesser, &format!("mutation {{ {aliased} }}"), json!({}))
        .await;
    let codes: Vec<&str> = (0..guesses.len())
        .map(|n| {
            answer[format!("g{n}")]["userErrors"][0]["code"]
                .as_str()
                .unwrap_or("JOINED")
        })
        .collect();
    assert!(codes[..5].iter().all(|c| *c == "INVALID_CODE"), "{codes:?}");
    assert!(
        codes[5..].iter().all(|c| *c == "RATE_LIMITED"),
        "past 5 tries per account every guess is refused, the right one too: {codes:?}"
    );
    // Another account from the same address gets the address's remaining tries only.
    let accomplice = app.user("accomplice@example.com", Role::Buyer, None).await;
    let mut refused = 0;
    for _ in 0..5 {
        let tried = app
            .query_as(&accomplice, JOIN, json!({ "code": "ZZZZZZZZZZZZZZZZ" }))
            .await;
        if tried["joinOrganisation"]["userErrors"][0]["code"] == "RATE_LIMITED" {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 3,
        "8 per address: 1 spent by the late joiner, 5 by the guesser, 2 left"
    );

    // Making codes is limited per organisation too (3 per window: two made above).
    let third = app.query_as(&org.admin, INVITE, json!({ "org": org.id })).await;
    assert_eq!(third["createInvite"]["userErrors"], json!([]));
    let fourth = app.query_as(&org.admin, INVITE, json!({ "org": org.id })).await;
    assert_eq!(
        fourth["createInvite"]["userErrors"][0]["code"], "RATE_LIMITED",
        "{fourth}"
    );
}
