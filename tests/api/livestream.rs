//! Livestream hosts: commission plans (open and targeted rates, the cap, the notice period for
//! cuts), promo links that redirect and count their clicks, order lines credited to the host
//! at the rate they were placed with, and commissions that follow the order's money through
//! delivery, refunds before and after delivery, and payouts.

use std::time::Duration;

use huakai::accounts::Role;
use huakai::payouts::entity::earning;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{PLACE, order_input, variants};
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    lines_are_credited_at_the_open_or_targeted_rate_in_force_when_placed,
    commission_follows_the_order_through_refunds_and_is_paid_once,
);

const LILY: &str = "sanwang-xian-baihe";
const LILY_COOP: &str = "sanwang-baihe-hezuoshe";
const HOLD: (&str, &str) = ("HUAKAI_PAYOUT_HOLD", "1s");

const SET_PLAN: &str = "mutation($input: CommissionPlanInput!) { setCommissionPlan(input: $input) {
    plan { rateBps effectiveFrom host { displayName } product { slug } } userErrors { field code message } } }";

const CREATE_LINK: &str = "mutation($id: ID!) { createPromoLink(input: { productId: $id }) {
    promoLink { id code url clicks product { slug } } userErrors { code } } }";

const MY_HOST: &str = "{ myHost { host { id displayName }
    links(first: 10) { nodes { code clicks orders units sales { amount } commission { amount } } }
    commissions(first: 20) { nodes { amount { amount } status orderNumber rateBps sales { amount } } }
    balance { pending { amount } available { amount } inTransit { amount } paidOut { amount } }
    payouts(first: 10) { nodes { id amount { amount } status method } } } }";

fn fen(money: &Value) -> i64 {
    let text = money["amount"].as_str().unwrap_or_else(|| panic!("an amount: {money}"));
    let negative = text.starts_with('-');
    let (yuan, cents) = text.trim_start_matches('-').split_once('.').expect("decimals");
    let value = yuan.parse::<i64>().expect("yuan") * 100 + cents.parse::<i64>().expect("fen");
    if negative { -value } else { value }
}

struct Cast {
    buyer: Actor,
    operator: Actor,
    grower: Actor,
    host: Actor,
    other_host: Actor,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
        grower: app.user("lily@example.com", Role::Grower, Some(LILY_COOP)).await,
        host: app.user("xiaomei@example.com", Role::Host, None).await,
        other_host: app.user("dagang@example.com", Role::Host, None).await,
    }
}

/// The lily's product id and first variant (by SKU), priced at `price` with plenty in stock.
async fn lily_at(app: &TestApp, operator: &Actor, price: &str) -> (Value, Value) {
    let mut all: Vec<(String, (Value, i64))> = variants(app, LILY).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let changed = app
        .query_as(
            operator,
            "mutation($id: ID!, $price: String!) {
                updateVariant(variantId: $id, input: { price: $price }) { userErrors { code } }
                adjustStock(variantId: $id, delta: 500, reason: \"harvest\") { userErrors { code } } }",
            json!({ "id": variant, "price": price }),
        )
        .await;
    assert_eq!(changed["updateVariant"]["userErrors"], json!([]), "{changed}");
    let product = app
        .query(
            "query($slug: String!) { product(slug: $slug) { id } }",
            json!({ "slug": LILY }),
        )
        .await["product"]["id"]
        .clone();
    (product, variant)
}

async fn set_plan(app: &TestApp, actor: &Actor, input: Value) -> Value {
    app.query_as(actor, SET_PLAN, json!({ "input": input })).await["setCommissionPlan"].clone()
}

async fn link(app: &TestApp, host: &Actor, product: &Value) -> Value {
    let created = app.query_as(host, CREATE_LINK, json!({ "id": product })).await;
    assert_eq!(created["createPromoLink"]["userErrors"], json!([]), "{created}");
    created["createPromoLink"]["promoLink"].clone()
}

/// An order of `quantity` units through `code`, paid by bank; its id.
async fn paid_order(app: &TestApp, cast: &Cast, variant: &Value, quantity: i64, code: &str, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input["input"]["referralCode"] = json!(code);
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order_id = placed["placeOrder"]["order"]["id"].clone();
    let paid = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    order_id
}

async fn ship_and_deliver(app: &TestApp, cast: &Cast, order_id: &Value) {
    let shipped = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF9\") { userErrors { code } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(shipped["markShipped"]["userErrors"], json!([]));
    let done = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { order { status } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(done["confirmDelivery"]["order"]["status"], "DELIVERED");
}

async fn refund(app: &TestApp, operator: &Actor, order_id: &Value, amount: &str) {
    let refunded = app
        .query_as(
            operator,
            "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) { userErrors { code } } }",
            json!({ "id": order_id, "amount": amount }),
        )
        .await;
    assert_eq!(refunded["refundOrder"]["userErrors"], json!([]), "{refunded}");
}

async fn my_host(app: &TestApp, host: &Actor) -> Value {
    app.query_as(host, MY_HOST, json!({})).await["myHost"].clone()
}

/// The host's commissions, oldest first: (rate, status, amount in fen).
async fn commissions(app: &TestApp, host: &Actor) -> Vec<(i64, String, i64)> {
    let account = my_host(app, host).await;
    let mut rows: Vec<(i64, String, i64)> = account["commissions"]["nodes"]
        .as_array()
        .expect("commissions")
        .iter()
        .map(|c| {
            (
                c["rateBps"].as_i64().expect("rate"),
                c["status"].as_str().expect("status").to_owned(),
                fen(&c["amount"]),
            )
        })
        .collect();
    rows.reverse();
    rows
}

async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(
            operator,
            "mutation { runPayouts { payouts { id amount { amount } status method } userErrors { code } } }",
            json!({}),
        )
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}

async fn lines_are_credited_at_the_open_or_targeted_rate_in_force_when_placed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let other_host_id = my_host(&app, &cast.other_host).await["host"]["id"].clone();

    // The cap: 20% by default, whoever asks.
    let too_high = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 2001 })).await;
    assert_eq!(too_high["userErrors"][0]["code"], "COMMISSION_TOO_HIGH", "{too_high}");
    assert_eq!(too_high["userErrors"][0]["field"], json!(["input", "rateBps"]));

    // A product without a plan credits nobody, whatever the code.
    let early_link = link(&app, &cast.host, &product).await;
    let uncovered = paid_order(
        &app,
        &cast,
        &variant,
        1,
        early_link["code"].as_str().expect("code"),
        "k0",
    )
    .await;
    assert!(uncovered.is_string());
    assert_eq!(commissions(&app, &cast.host).await, vec![]);

    let open = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    assert_eq!(open["userErrors"], json!([]), "{open}");
    assert_eq!(open["plan"]["host"], Value::Null);
    let targeted = set_plan(
        &app,
        &cast.operator,
        json!({ "productId": product, "rateBps": 1500, "hostId": other_host_id }),
    )
    .await;
    assert_eq!(
        targeted["plan"]["host"]["displayName"], "dagang@example.com",
        "{targeted}"
    );

    let mine = link(&app, &cast.host, &product).await;
    let code = mine["code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 10, "a short code");
    assert!(
        mine["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/products/{LILY}?ref={code}")),
        "{mine}"
    );
    let theirs = link(&app, &cast.other_host, &product).await;
    let their_code = theirs["code"].as_str().expect("code").to_owned();

    paid_order(&app, &cast, &variant, 2, &code, "k1").await;
    paid_order(&app, &cast, &variant, 1, &their_code, "k2").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 20_00)],
        "the open rate: 10% of 200.00"
    );
    assert_eq!(
        commissions(&app, &cast.other_host).await,
        vec![(1500, "ESTIMATED".to_owned(), 15_00)],
        "the targeted rate wins over the open one"
    );

    // An unknown code is ignored (and counted); the order goes through.
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 1 }]), "k3");
    input["input"]["referralCode"] = json!("NoSuchCode");
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let metrics = app
        .http()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("huakai_referral_codes_unknown_total"), "counted");

    // A cut waits for the notice period: orders placed meanwhile keep the old rate.
    let cut = set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 500 })).await;
    let effective: chrono::DateTime<chrono::Utc> = cut["plan"]["effectiveFrom"]
        .as_str()
        .expect("date")
        .parse()
        .expect("a date");
    assert!(effective > chrono::Utc::now() + chrono::Duration::days(6), "{cut}");
    paid_order(&app, &cast, &variant, 1, &code, "k4").await;
    assert_eq!(
        commissions(&app, &cast.host).await[1],
        (1000, "ESTIMATED".to_owned(), 10_00)
    );
    // A raise applies at once.
    let raise = set_plan(
        &app,
        &cast.grower,
        json!({ "productId": product, "rateBps": 1800, "hostId": other_host_id }),
    )
    .await;
    let effective: chrono::DateTime<chrono::Utc> = raise["plan"]["effectiveFrom"]
        .as_str()
        .expect("date")
        .parse()
        .expect("a date");
    assert!(effective <= chrono::Utc::now(), "{raise}");
    paid_order(&app, &cast, &variant, 1, &their_code, "k5").await;
    assert_eq!(
        commissions(&app, &cast.other_host).await[1],
        (1800, "ESTIMATED".to_owned(), 18_00)
    );

    // The links' figures, and the grower's view of who sold its lily at what rate.
    let account = my_host(&app, &cast.host).await;
    let figures = account["links"]["nodes"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["code"] == code.as_str())
        .expect("the link")
        .clone();
    assert_eq!(figures["orders"], 2);
    assert_eq!(figures["units"], 3);
    assert_eq!(fen(&figures["sales"]), 30_000);
    assert_eq!(fen(&figures["commission"]), 30_00);
    let sales = app
        .query_as(
            &cast.grower,
            "{ hostSales { host { displayName } rateBps units sales { amount } } }",
            json!({}),
        )
        .await["hostSales"]
        .clone();
    let mut seen: Vec<(String, i64, i64)> = sales
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["host"]["displayName"].as_str().expect("name").to_owned(),
                r["rateBps"].as_i64().expect("rate"),
                r["units"].as_i64().expect("units"),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("dagang@example.com".to_owned(), 1500, 1),
            ("dagang@example.com".to_owned(), 1800, 1),
            ("xiaomei@example.com".to_owned(), 1000, 3),
        ]
    );
}

async fn commission_follows_the_order_through_refunds_and_is_paid_once(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[HOLD]).await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();

    // Paid: estimated. Refunded in part before delivery: the estimate follows what is kept.
    let first = paid_order(&app, &cast, &variant, 2, &code, "first").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 20_00)]
    );
    refund(&app, &cast.operator, &first, "50.00").await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 15_00)]
    );

    // Delivered: earned, out of the grower's line (fee + commission + earning = line total).
    ship_and_deliver(&app, &cast, &first).await;
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "EARNED".to_owned(), 15_00)]
    );
    let earnings = earning::Entity::find().all(app.db()).await.expect("earnings");
    for entry in &earnings {
        assert_eq!(
            entry.platform_fee_fen + entry.commission_fen + entry.amount_fen,
            entry.line_total_fen
        );
    }
    let grower_total: i64 = earnings.iter().map(|e| e.amount_fen).sum();
    assert_eq!(
        grower_total,
        15_000 - 750 - 1_500,
        "the grower keeps 85% of what was kept"
    );
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["pending"]), 15_00);

    // After the hold: one payout to the host, by bank, once however often runs are made.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 2, "the grower and the host: {payouts:?}");
    assert!(
        run_payouts(&app, &cast.operator).await.is_empty(),
        "nothing is paid twice"
    );
    let account = my_host(&app, &cast.host).await;
    let host_payouts = account["payouts"]["nodes"].as_array().expect("payouts").clone();
    assert_eq!(host_payouts.len(), 1);
    assert_eq!(fen(&host_payouts[0]["amount"]), 15_00);
    assert_eq!(host_payouts[0]["method"], "bank");
    assert_eq!(fen(&account["balance"]["inTransit"]), 15_00);
    let confirmed = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { confirmPayout(payoutId: $id, reference: \"BOC-7\") { userErrors { code } } }",
            json!({ "id": host_payouts[0]["id"] }),
        )
        .await;
    assert_eq!(confirmed["confirmPayout"]["userErrors"], json!([]));
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "PAID".to_owned(), 15_00)]
    );

    // A refund after the payout: the host owes its share back, deducted from the next payout.
    refund(&app, &cast.operator, &first, "30.00").await;
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["available"]), -3_00);
    assert_eq!(fen(&account["balance"]["paidOut"]), 15_00);

    let second = paid_order(&app, &cast, &variant, 1, &code, "second").await;
    ship_and_deliver(&app, &cast, &second).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    run_payouts(&app, &cast.operator).await;
    let account = my_host(&app, &cast.host).await;
    let host_payouts = account["payouts"]["nodes"].as_array().expect("payouts").clone();
    assert_eq!(host_payouts.len(), 2);
    assert_eq!(fen(&host_payouts[0]["amount"]), 10_00 - 3_00, "the debt deducted");
    assert_eq!(fen(&account["balance"]["available"]), 0);

    // The month's report lists every entry with its rate.
    let month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y-%m")
        .to_string();
    let report = app
        .query_as(
            &cast.host,
            "query($month: String!) { myHost { monthlyReport(month: $month) } }",
            json!({ "month": month }),
        )
        .await["myHost"]["monthlyReport"]
        .as_str()
        .expect("csv")
        .to_owned();
    assert!(report.lines().count() >= 5, "{report}");
    assert!(report.contains("\"REVERSAL\""), "{report}");
    assert!(
        report.trim_end().ends_with("\"22.00\",\"\""),
        "total 15 - 3 + 10: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promo_links_redirect_count_clicks_and_keep_them_over_a_restart() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("HUAKAI_STOREFRONT_URL", "https://shop.example/cn")])
        .await
        .expect("SQLite needs no service");
    let cast = cast(&app).await;
    let product = app
        .query(
            "query($slug: String!) { product(slug: $slug) { id } }",
            json!({ "slug": LILY }),
        )
        .await["product"]["id"]
        .clone();
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    for _ in 0..5 {
        let answer = browser
            .get(app.url(&format!("/l/{code}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 302);
        assert_eq!(
            answer.headers()["location"].to_str().expect("ascii"),
            format!("https://shop.example/cn/products/{LILY}?ref={code}")
        );
    }
    for unknown in ["ZZZZZZZZZZ", "short", "%E7%99%BE%E5%90%88", &"x".repeat(300)] {
        let answer = browser
            .get(app.url(&format!("/l/{unknown}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 404, "{unknown}");
        assert!(answer.text().await.expect("page").contains("链接无效"));
    }
    let clicks = |data: &Value| data["myHost"]["links"]["nodes"][0]["clicks"].as_i64() == Some(5);
    app.eventually(
        &cast.host,
        "{ myHost { links { nodes { clicks } } } }",
        json!({}),
        "five clicks written",
        clicks,
    )
    .await;

    // Clicks answered just before a server stops are written as it stops.
    let second = app.another_instance().await;
    for _ in 0..3 {
        let answer = browser
            .get(second.url(&format!("/l/{code}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), 302);
    }
    second.server.stop().await.expect("stops");
    let stored = huakai::livestream::entity::promo_link::Entity::find()
        .all(app.db())
        .await
        .expect("links");
    assert_eq!(stored[0].clicks, 8);
}
