//! Livestream hosts: commission plans (open and targeted rates, the cap, the notice period for
//! cuts), promo links that redirect and count their clicks, order lines credited to the host
//! at the rate they were placed with, and commissions that follow the order's money through
//! delivery, refunds before and after delivery, and payouts.

use std::time::Duration;

use huakai::accounts::Role;
use huakai::catalogue::entity::stock_level;
use huakai::payouts::entity::earning;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use futures::{SinkExt, StreamExt};
use huakai::livestream::entity::live_session_item;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::on_each_backend;
use crate::orders::{PLACE, available, order_input, variants};
use crate::support::database::TestDatabase;
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, fen};

on_each_backend!(
    lines_are_credited_at_the_open_or_targeted_rate_in_force_when_placed,
    commission_follows_the_order_through_refunds_and_is_paid_once,
    five_hundred_session_orders_never_oversell_the_quota_nor_a_buyers_limit,
    a_session_sells_at_its_price_only_while_live_and_gives_its_quota_back,
    unsold_quota_returns_when_the_session_ended_while_no_server_ran,
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

    // The same report as a file over HTTP, for the host alone.
    let csv_url = |month: &str| app.url(&format!("/hosts/me/commissions.csv?month={month}"));
    let download = app
        .http()
        .get(csv_url(&month))
        .bearer_auth(cast.host.token.as_deref().expect("a token"))
        .send()
        .await
        .expect("answer");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        download.headers()["content-disposition"].to_str().expect("ascii"),
        format!("attachment; filename=\"huakai-commissions-{month}.csv\"")
    );
    let bytes = download.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark for spreadsheets");
    assert_eq!(std::str::from_utf8(&bytes).expect("UTF-8"), report);
    assert!(
        report.starts_with("\u{feff}\"日期\",\"订单\""),
        "Chinese headers by default: {report}"
    );
    let english = app
        .http()
        .get(format!("{}&lang=en", csv_url(&month)))
        .bearer_auth(cast.host.token.as_deref().expect("a token"))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("text");
    assert!(english.starts_with("\u{feff}\"Date\",\"Order\""), "{english}");
    assert!(english.contains("\"Total\""), "{english}");
    let anonymous = app.http().get(csv_url(&month)).send().await.expect("answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let forged = app
        .http()
        .get(csv_url(&month))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status().as_u16(), 401);
    for not_a_host in [&cast.buyer, &cast.grower, &cast.operator] {
        let refused = app
            .http()
            .get(csv_url(&month))
            .bearer_auth(not_a_host.token.as_deref().expect("a token"))
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status().as_u16(), 403);
    }
    for bad in ["2026-13", "09-2026", "", "2026-09%27", "%FF"] {
        let refused = app
            .http()
            .get(csv_url(bad))
            .bearer_auth(cast.host.token.as_deref().expect("a token"))
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status().as_u16(), 400, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promo_links_redirect_count_clicks_and_keep_them_over_a_restart() {
    // Each click from a client of its own (a click counts once per client and window).
    let settings = [
        ("HUAKAI_STOREFRONT_URL", "https://shop.example/cn"),
        ("HUAKAI_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let app = TestApp::spawn_with(Backend::Sqlite, &settings)
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

    for client in 0..5 {
        let answer = browser
            .get(app.url(&format!("/l/{code}")))
            .header("x-forwarded-for", format!("203.0.113.{client}"))
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
    for client in 10..13 {
        let answer = browser
            .get(second.url(&format!("/l/{code}")))
            .header("x-forwarded-for", format!("203.0.113.{client}"))
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

const SCHEDULE: &str = "mutation($input: LiveSessionInput!) { scheduleLiveSession(input: $input) {
    session { id status items { id approved quota remaining sold perBuyerLimit price { amount } } }
    userErrors { field code message } } }";

const APPROVE: &str = "mutation($id: ID!) { approveLiveSessionItem(itemId: $id) {
    session { id items { approved remaining } } userErrors { code } } }";

/// A session of one item (`variant` at `price`, `quota`, `limit` per buyer) from `starts` to
/// `ends` seconds from now, approved by the grower, with the host's link to it: the session's
/// id, its item's id and the link's code.
#[allow(clippy::too_many_arguments)]
async fn approved_session(
    app: &TestApp,
    cast: &Cast,
    variant: &Value,
    price: &str,
    quota: i64,
    limit: i64,
    starts: i64,
    ends: i64,
) -> (Value, Value, String) {
    let now = chrono::Utc::now();
    let scheduled = app
        .query_as(
            &cast.host,
            SCHEDULE,
            json!({ "input": {
                "title": "三旺村百合直播专场",
                "startsAt": (now + chrono::Duration::seconds(starts)).to_rfc3339(),
                "endsAt": (now + chrono::Duration::seconds(ends)).to_rfc3339(),
                "items": [{ "variantId": variant, "price": price, "quota": quota, "perBuyerLimit": limit }],
            } }),
        )
        .await["scheduleLiveSession"]
        .clone();
    assert_eq!(scheduled["userErrors"], json!([]), "{scheduled}");
    let session = scheduled["session"]["id"].clone();
    let item = scheduled["session"]["items"][0]["id"].clone();
    assert_eq!(scheduled["session"]["items"][0]["approved"], false);
    let approved = app.query_as(&cast.grower, APPROVE, json!({ "id": item })).await;
    assert_eq!(
        approved["approveLiveSessionItem"]["userErrors"],
        json!([]),
        "{approved}"
    );
    assert_eq!(
        approved["approveLiveSessionItem"]["session"]["items"][0]["remaining"],
        json!(quota)
    );
    let created = app
        .query_as(
            &cast.host,
            "mutation($id: ID!) { createPromoLink(input: { sessionId: $id }) { promoLink { code session { id } } userErrors { code } } }",
            json!({ "id": session }),
        )
        .await["createPromoLink"]
        .clone();
    assert_eq!(created["userErrors"], json!([]), "{created}");
    assert_eq!(created["promoLink"]["session"]["id"], session);
    (
        session,
        item,
        created["promoLink"]["code"].as_str().expect("code").to_owned(),
    )
}

fn session_order(variant: &Value, quantity: i64, code: &str, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["referralCode"] = json!(code);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input
}

async fn item_row(db: &sea_orm::DatabaseConnection) -> live_session_item::Model {
    live_session_item::Entity::find()
        .all(db)
        .await
        .expect("items")
        .into_iter()
        .next()
        .expect("an item")
}

async fn five_hundred_session_orders_never_oversell_the_quota_nor_a_buyers_limit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let before = available(&app, LILY, &variant).await;
    let (_, _, code) = approved_session(&app, &cast, &variant, "59.90", 60, 2, -1, 600).await;
    let set_aside = available(&app, LILY, &variant).await;
    assert_eq!(set_aside, before - 60, "the quota is out of what the shop sells");

    let mut buyers = Vec::new();
    for index in 0..100 {
        buyers.push(app.user(&format!("fan{index}@example.com"), Role::Buyer, None).await);
    }
    // 500 single-unit orders, five from each of 100 buyers, 128 in flight at any moment (all
    // 500 at once only measure the test machine: on two shared cores some would wait past the
    // client's timeout for a database connection).
    let attempts = (0..500).map(|attempt| {
        let buyer = &buyers[attempt % 100];
        let input = session_order(&variant, 1, &code, &format!("flash-{attempt}"));
        let app = &app;
        async move { (attempt % 100, app.query_as(buyer, PLACE, input).await) }
    });
    let answers: Vec<(usize, Value)> = futures::stream::iter(attempts).buffer_unordered(128).collect().await;
    let mut per_buyer = [0; 100];
    let mut sold = 0;
    for (buyer, answer) in &answers {
        let payload = &answer["placeOrder"];
        if payload["order"]["id"].is_string() {
            assert_eq!(payload["order"]["lines"][0]["unitPrice"]["amount"], "59.90");
            per_buyer[*buyer] += 1;
            sold += 1;
        } else {
            let code = payload["userErrors"][0]["code"].as_str().expect("a code");
            assert!(
                ["QUOTA_EXHAUSTED", "PURCHASE_LIMIT_REACHED"].contains(&code),
                "{payload}"
            );
        }
    }
    assert_eq!(sold, 60, "exactly the quota");
    assert!(
        per_buyer.iter().all(|n| *n <= 2),
        "nobody over the limit: {per_buyer:?}"
    );
    let item = item_row(app.db()).await;
    assert_eq!((item.remaining, item.sold()), (0, 60));
    assert_eq!(
        available(&app, LILY, &variant).await,
        set_aside,
        "general stock untouched"
    );
    crate::orders::assert_ledger_balances(&app).await;
}

/// A graphql-transport-ws client following `sessionStock` of `session`.
struct StockWatch {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl StockWatch {
    async fn open(app: &TestApp, session: &Value) -> StockWatch {
        let url = app.url("/graphql/ws").replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": {} }).to_string(),
            ))
            .await
            .expect("init");
        let mut watch = StockWatch { socket };
        assert_eq!(watch.next().await["type"], "connection_ack");
        watch
            .socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": "subscription($id: ID!) { sessionStock(sessionId: $id) { remaining sold } }",
                    "variables": { "id": session } } })
                .to_string(),
            ))
            .await
            .expect("subscribe");
        watch
    }

    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.socket.next())
                .await
                .expect("a message within 15 s")
                .expect("the socket is open")
                .expect("a message");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).expect("JSON");
            }
        }
    }

    /// The next (remaining, sold) pushed.
    async fn stock(&mut self) -> (i64, i64) {
        let message = self.next().await;
        assert_eq!(message["type"], "next", "{message}");
        let item = &message["payload"]["data"]["sessionStock"][0];
        (
            item["remaining"].as_i64().expect("remaining"),
            item["sold"].as_i64().expect("sold"),
        )
    }
}

async fn a_session_sells_at_its_price_only_while_live_and_gives_its_quota_back(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let before = available(&app, LILY, &variant).await;

    // A quota the stock cannot hold is refused.
    let now = chrono::Utc::now();
    let greedy = app
        .query_as(
            &cast.host,
            SCHEDULE,
            json!({ "input": { "title": "太多", "startsAt": now.to_rfc3339(),
                "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "items": [{ "variantId": variant, "price": "1.00", "quota": 99999, "perBuyerLimit": 1 }] } }),
        )
        .await["scheduleLiveSession"]["session"]["items"][0]["id"]
        .clone();
    let refused = app.query_as(&cast.grower, APPROVE, json!({ "id": greedy })).await;
    assert_eq!(
        refused["approveLiveSessionItem"]["userErrors"][0]["code"],
        "OUT_OF_STOCK"
    );

    let (session, _, code) = approved_session(&app, &cast, &variant, "50.00", 10, 3, 4, 10).await;
    assert_eq!(available(&app, LILY, &variant).await, before - 10);
    // Anyone may follow a public session's stock, from before it starts.
    let mut watch = StockWatch::open(&app, &session).await;
    assert_eq!(watch.stock().await, (10, 0));

    // Before the start the code sells at the normal price from general stock, still credited.
    let early = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 1, &code, "early"))
        .await;
    assert_eq!(
        early["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"],
        "100.00"
    );
    assert_eq!(available(&app, LILY, &variant).await, before - 11);

    let status = |data: &Value| data["node"]["status"] == "LIVE";
    app.eventually(
        &cast.buyer,
        "query($id: ID!) { node(id: $id) { ... on LiveSession { status } } }",
        json!({ "id": session }),
        "the session going live",
        status,
    )
    .await;
    let three = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 3, &code, "three"))
        .await;
    assert_eq!(
        three["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"], "50.00",
        "{three}"
    );
    assert_eq!(watch.stock().await, (7, 3));
    let fourth = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 1, &code, "fourth"))
        .await;
    assert_eq!(fourth["placeOrder"]["userErrors"][0]["code"], "PURCHASE_LIMIT_REACHED");
    let too_many = app
        .query_as(&cast.operator, PLACE, session_order(&variant, 11, &code, "all"))
        .await;
    assert_eq!(
        too_many["placeOrder"]["userErrors"][0]["code"],
        "PURCHASE_LIMIT_REACHED"
    );

    // Cancelling gives the units back to the quota and to the buyer's limit.
    let cancelled = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            json!({ "id": three["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    assert_eq!(watch.stock().await, (10, 0));
    let two = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 2, &code, "two"))
        .await;
    assert_eq!(two["placeOrder"]["userErrors"], json!([]), "{two}");
    assert_eq!(watch.stock().await, (8, 2));
    let paid = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-2\") { userErrors { code } } }",
            json!({ "id": two["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(paid["recordBankTransfer"]["userErrors"], json!([]));
    assert_eq!(available(&app, LILY, &variant).await, before - 11);

    // At the end the unsold 8 go back to the shop; the overlay's stream ends.
    assert_eq!(watch.stock().await, (0, 2));
    let complete = watch.next().await;
    assert_eq!(complete["type"], "complete", "{complete}");
    assert_eq!(available(&app, LILY, &variant).await, before - 3);
    // Session lines are credited too, at the session price.
    assert_eq!(
        commissions(&app, &cast.host).await,
        vec![(1000, "ESTIMATED".to_owned(), 10_00)],
        "10% of 2 × 50.00 (the early order is not paid)"
    );
    let account = app
        .query_as(
            &cast.host,
            "{ myHost { sessions { nodes { status items { quota sold remaining } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        account["myHost"]["sessions"]["nodes"][0],
        json!({ "status": "ENDED", "items": [{ "quota": 10, "sold": 2, "remaining": 0 }] })
    );
    crate::orders::assert_ledger_balances(&app).await;
}

async fn unsold_quota_returns_when_the_session_ended_while_no_server_ran(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = database.url.clone();
    let app = TestApp::spawn_on(database).await;
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let before = available(&app, LILY, &variant).await;
    approved_session(&app, &cast, &variant, "50.00", 10, 3, -1, 2).await;
    assert_eq!(available(&app, LILY, &variant).await, before - 10);

    app.server.stop().await.expect("stops");
    let db = sea_orm::Database::connect(&url).await.expect("database");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(item_row(&db).await.returned_at, None, "no server ran at the end");

    let config = huakai::app::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "HUAKAI_ADDR" => Some("127.0.0.1:0".to_owned()),
        _ => None,
    })
    .expect("configuration");
    let restarted = huakai::app::start(config).await.expect("starts again");
    let mut item = item_row(&db).await;
    for _ in 0..100 {
        if item.returned_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        item = item_row(&db).await;
    }
    assert_eq!((item.remaining, item.returned_units), (0, 10));
    let variant_row = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::VariantId>(
        variant.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Variant,
    )
    .expect("a variant id");
    let level = stock_level::Entity::find()
        .filter(stock_level::Column::VariantId.eq(variant_row))
        .one(&db)
        .await
        .expect("query")
        .expect("stock");
    assert_eq!(
        level.on_hand - level.reserved,
        before,
        "the whole quota is back on sale"
    );
    restarted.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_activity_shows_a_host_with_links_and_sessions() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    let lily_before: i64 = variants(&app, LILY)
        .await
        .values()
        .map(|(_, available)| available)
        .sum();
    huakai::livestream::demo::load_activity(app.db()).await.expect("loads");
    let again = huakai::livestream::demo::load_activity(app.db()).await.expect("loads");
    assert!(again.contains("exists already"), "loaded once: {again}");
    let host = app
        .login(
            huakai::livestream::demo::HOST_EMAIL,
            huakai::livestream::demo::HOST_PASSWORD,
        )
        .await;
    let account = app
        .query_as(
            &host,
            "{ myHost { host { displayName } links { nodes { code product { slug } session { status } } }
                sessions { nodes { title status items { quota sold remaining approved } } } } }",
            json!({}),
        )
        .await["myHost"]
        .clone();
    assert_eq!(account["links"]["nodes"].as_array().expect("links").len(), 3);
    let statuses: Vec<&str> = account["sessions"]["nodes"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, vec!["SCHEDULED", "ENDED"]);
    assert_eq!(account["sessions"]["nodes"][0]["items"][0]["remaining"], 30);
    let lily_after: i64 = variants(&app, LILY)
        .await
        .values()
        .map(|(_, available)| available)
        .sum();
    assert_eq!(lily_after, lily_before - 30, "tomorrow's quota is set aside");
}

/// `myHost.host.id` of `host`: the id `setHostPayoutAccount` takes.
async fn host_id(app: &TestApp, host: &Actor) -> Value {
    my_host(app, host).await["host"]["id"].clone()
}

const SET_HOST_ACCOUNT: &str = "mutation($id: ID!, $account: String) {
    setHostPayoutAccount(hostId: $id, stripeAccountId: $account) {
        account { stripeAccountId } userErrors { field code } } }";

/// A host with a Stripe connected account is paid by transfer, as producers are: each
/// commission exactly once whatever Stripe answers, and a refund after a payout is taken off
/// the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_a_connected_account_is_paid_by_stripe_exactly_once() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[HOLD, ("HUAKAI_STRIPE_TIMEOUT", "1s")])
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let code = link(&app, &cast.host, &product).await["code"]
        .as_str()
        .expect("code")
        .to_owned();

    // The host names its own account (an operator may too); nonsense is refused.
    let me = host_id(&app, &cast.host).await;
    let wrong = app
        .query_as(
            &cast.host,
            SET_HOST_ACCOUNT,
            json!({ "id": me, "account": "6222 0000" }),
        )
        .await;
    assert_eq!(
        wrong["setHostPayoutAccount"]["userErrors"],
        json!([{ "field": ["stripeAccountId"], "code": "INVALID_INPUT" }])
    );
    let set = app
        .query_as(
            &cast.host,
            SET_HOST_ACCOUNT,
            json!({ "id": me, "account": "acct_1Xiaomei" }),
        )
        .await;
    assert_eq!(
        set["setHostPayoutAccount"]["account"]["stripeAccountId"], "acct_1Xiaomei",
        "{set}"
    );
    let transfers_for = |payout: &Value| -> Vec<Value> {
        let row = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::PayoutId>(
            payout["id"].as_str().expect("id"),
            huakai::infra::graphql::global_id::NodeType::Payout,
        )
        .expect("a payout id")
        .to_string();
        stripe
            .transfers()
            .into_iter()
            .filter(|t| t["metadata"]["payout_id"] == row.as_str())
            .collect()
    };
    // The grower has no connected account: only the host's payout goes through Stripe.
    let by_stripe = |payouts: Vec<Value>| -> Vec<Value> {
        payouts
            .into_iter()
            .filter(|p| p["method"] == "stripe_transfer")
            .collect()
    };

    let faults = [
        ("slow", Fault::SlowAnswer(Duration::from_secs(3)), false),
        ("in-use", Fault::KeyInUse, false),
        ("500", Fault::ServerErrorAfterWork, false),
        ("forgotten", Fault::SlowAnswer(Duration::from_secs(3)), true),
    ];
    let mut last_order = Value::Null;
    for (name, fault, forget) in faults {
        last_order = paid_order(&app, &cast, &variant, 1, &code, name).await;
        ship_and_deliver(&app, &cast, &last_order).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;

        stripe.fault_next("/v1/transfers", fault);
        let first = by_stripe(run_payouts(&app, &cast.operator).await);
        assert_eq!(first.len(), 1, "{name}: {first:?}");
        assert_eq!(first[0]["status"], "IN_TRANSIT", "{name}: unknown is not failed");
        let account = my_host(&app, &cast.host).await;
        assert_eq!(
            fen(&account["balance"]["available"]),
            0,
            "{name}: with the payout in flight"
        );
        assert_eq!(fen(&account["balance"]["inTransit"]), 10_00, "{name}");
        if forget {
            // Past Stripe's 24 hours: the key no longer protects; the lookup must.
            stripe.forget_idempotency_keys();
        }
        let second = by_stripe(run_payouts(&app, &cast.operator).await);
        assert_eq!(second.len(), 1, "{name}: the next run settles it");
        assert_eq!(second[0]["id"], first[0]["id"], "{name}");
        assert_eq!(second[0]["status"], "PAID", "{name}");
        let made = transfers_for(&second[0]);
        assert_eq!(made.len(), 1, "{name}: one transfer at Stripe");
        assert_eq!(made[0]["destination"], "acct_1Xiaomei", "{name}");
        assert_eq!(made[0]["amount"], 10_00, "{name}");
        assert!(by_stripe(run_payouts(&app, &cast.operator).await).is_empty(), "{name}");
    }

    // A refund after the payout: the host owes its share, and the next transfer is net of it.
    refund(&app, &cast.operator, &last_order, "30.00").await;
    assert_eq!(fen(&my_host(&app, &cast.host).await["balance"]["available"]), -3_00);
    let next = paid_order(&app, &cast, &variant, 1, &code, "after-refund").await;
    ship_and_deliver(&app, &cast, &next).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let net = by_stripe(run_payouts(&app, &cast.operator).await);
    assert_eq!(net.len(), 1);
    assert_eq!(net[0]["status"], "PAID");
    assert_eq!(fen(&net[0]["amount"]), 10_00 - 3_00, "the debt deducted");
    let account = my_host(&app, &cast.host).await;
    assert_eq!(fen(&account["balance"]["available"]), 0);
    assert_eq!(fen(&account["balance"]["paidOut"]), 4 * 10_00 + 7_00);
    let at_stripe: i64 = stripe
        .transfers()
        .iter()
        .map(|t| t["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(at_stripe, 4 * 10_00 + 7_00, "Stripe moved each commission once");
    assert_eq!(
        commissions(&app, &cast.host).await.last().map(|c| c.1.clone()),
        Some("PAID".to_owned())
    );

    // Without an account again, the host is paid by bank.
    let cleared = app
        .query_as(&cast.operator, SET_HOST_ACCOUNT, json!({ "id": me, "account": null }))
        .await;
    assert_eq!(
        cleared["setHostPayoutAccount"]["account"]["stripeAccountId"],
        Value::Null
    );
    let by_bank = paid_order(&app, &cast, &variant, 1, &code, "by-bank").await;
    ship_and_deliver(&app, &cast, &by_bank).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert!(by_stripe(payouts.clone()).is_empty(), "{payouts:?}");
    assert_eq!(payouts.len(), 2, "the grower and the host, by bank: {payouts:?}");
}

/// A retired link redirects no more (once the redirect cache has let it go) and credits no
/// order; orders placed with its code still go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_link_redirects_and_credits_no_more() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite needs no service");
    let cast = cast(&app).await;
    let (product, variant) = lily_at(&app, &cast.operator, "100.00").await;
    set_plan(&app, &cast.grower, json!({ "productId": product, "rateBps": 1000 })).await;
    let created = link(&app, &cast.host, &product).await;
    let code = created["code"].as_str().expect("code").to_owned();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let follow = || async {
        browser
            .get(app.url(&format!("/l/{code}")))
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16()
    };
    // Followed once, so the code sits in the redirect cache when it is retired.
    assert_eq!(follow().await, 302);

    let retire = "mutation($id: ID!) { retirePromoLink(id: $id) { promoLink { code retiredAt } userErrors { code } } }";
    let theirs = app
        .query_as(&cast.other_host, retire, json!({ "id": created["id"] }))
        .await;
    assert_eq!(theirs["retirePromoLink"]["userErrors"][0]["code"], "NOT_FOUND");
    let retired = app.query_as(&cast.host, retire, json!({ "id": created["id"] })).await;
    assert_eq!(retired["retirePromoLink"]["userErrors"], json!([]), "{retired}");
    let when = retired["retirePromoLink"]["promoLink"]["retiredAt"].clone();
    assert!(when.is_string(), "{retired}");
    let again = app
        .query_as(&cast.operator, retire, json!({ "id": created["id"] }))
        .await;
    assert_eq!(
        again["retirePromoLink"]["promoLink"]["retiredAt"], when,
        "retiring twice changes nothing"
    );

    // The redirect cache believes a code for a few seconds; then the page says it is gone.
    let mut status = follow().await;
    for _ in 0..100 {
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = follow().await;
    }
    assert_eq!(status, 404, "the retired code redirects no more");

    let order_id = paid_order(&app, &cast, &variant, 1, &code, "after-retiring").await;
    assert!(order_id.is_string(), "the order goes through");
    assert_eq!(commissions(&app, &cast.host).await, vec![], "and credits nobody");
    let attributions = huakai::orders::entity::order_line_attribution::Entity::find()
        .all(app.db())
        .await
        .expect("attributions");
    assert!(attributions.is_empty(), "{attributions:?}");
    let account = my_host(&app, &cast.host).await;
    assert_eq!(account["links"]["nodes"][0]["orders"], 0);
}

/// A card payment that arrives after a session order's reservation ended is refunded: the
/// order stays cancelled and its units stay in the quota for other buyers, never general stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_for_a_session_order_is_refunded_and_its_units_stay_in_the_quota() {
    let (app, stripe) = TestApp::spawn_with_stripe(Backend::Sqlite, &[("HUAKAI_RESERVATION_TTL", "1s")])
        .await
        .expect("SQLite");
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let (_, _, code) = approved_session(&app, &cast, &variant, "50.00", 5, 2, -1, 600).await;
    let set_aside = available(&app, LILY, &variant).await;
    let rival = app.user("rival@example.com", Role::Buyer, None).await;
    let fan = app.user("fan@example.com", Role::Buyer, None).await;
    let order_query = "query($id: ID!) { order(id: $id) { status payment { status } } }";

    // Four card orders through the code, one after the other, each left unpaid until it
    // expires and gives its units back to the quota.
    let mut expired = Vec::new();
    for (buyer, quantity, key) in [
        (&cast.buyer, 2, "buyer-two"),
        (&rival, 2, "rival-two"),
        (&fan, 1, "fan-one"),
        (&fan, 2, "fan-two"),
    ] {
        let mut input = session_order(&variant, quantity, &code, key);
        input["input"]["paymentMethod"] = json!("CARD");
        let placed = app.query_as(buyer, PLACE, input).await;
        assert_eq!(
            placed["placeOrder"]["order"]["lines"][0]["unitPrice"]["amount"], "50.00",
            "{placed}"
        );
        let order_id = placed["placeOrder"]["order"]["id"].clone();
        app.eventually(buyer, order_query, json!({ "id": order_id }), "expiry", |seen| {
            seen["order"]["status"] == "CANCELLED"
        })
        .await;
        let row = crate::orders::order_row(&order_id).to_string();
        let intent = stripe
            .payment_intents()
            .into_iter()
            .find(|i| i["metadata"]["order_id"] == row.as_str())
            .expect("the order's intent")["id"]
            .as_str()
            .expect("intent id")
            .to_owned();
        expired.push((buyer, order_id, intent));
    }
    assert_eq!(item_row(app.db()).await.remaining, 5, "every unit back in the quota");

    // Paid late: each is refunded, although the quota (and general stock) have the units.
    for (buyer, order_id, intent) in &expired {
        stripe.succeed(intent).await;
        let seen = app
            .eventually(
                buyer,
                order_query,
                json!({ "id": order_id }),
                "the late refund",
                |seen| seen["order"]["payment"]["status"] == "REFUNDED",
            )
            .await;
        assert_eq!(seen["order"]["status"], "CANCELLED");
        assert_eq!(item_row(app.db()).await.remaining, 5, "the quota keeps its units");
        assert_eq!(
            available(&app, LILY, &variant).await,
            set_aside,
            "general stock untouched"
        );
    }
    crate::orders::assert_ledger_balances(&app).await;
}
