//! The public impact report: every figure against a scenario worked out by hand, the rule that
//! small villages show households only in the total, and the page, CSV and JSON agreeing with
//! the query.

use std::time::Duration;

use serde_json::{Value, json};

use crate::money::run_payouts;
use crate::on_each_backend;
use crate::support::scenario::{Cast, cast, lily_at, order, pay_by_bank, place, refund, ship_and_deliver};
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::{Backend, TestApp, fen};

on_each_backend!(
    every_figure_is_worked_out_from_the_ledgers,
    pledges_and_organisations_sales_count_in_the_report
);

const IMPACT: &str = "query($village: String) { impact(villageSlug: $village) {
    from to sales { amount } unitsSold paidToProducers { amount } paidToHouseholds { amount }
    householdsReached growerShareBps salesThroughOrganisations { amount } salesThroughHosts { amount }
    villages { village { slug } sales { amount } householdsReached }
    towns { town sales { amount } } producerKinds { kind sales { amount } }
    months { month sales { amount } } pledgesMade pledgesFulfilled computedAt } }";

/// The variant of `slug` with the alphabetically first SKU, priced at `price`.
async fn priced(app: &TestApp, cast: &Cast, slug: &str, price: &str) -> Value {
    let mut all: Vec<(String, (Value, i64))> = variants(app, slug).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let variant = all[0].1.0.clone();
    let changed = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!, $price: String!) { updateVariant(variantId: $id, input: { price: $price }) { userErrors { code } } }",
            json!({ "id": variant, "price": price }),
        )
        .await;
    assert_eq!(changed["updateVariant"]["userErrors"], json!([]));
    variant
}

async fn impact(app: &TestApp, village: Option<&str>) -> Value {
    app.query(IMPACT, json!({ "village": village })).await["impact"].clone()
}

async fn every_figure_is_worked_out_from_the_ledgers(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s")])
        .start()
        .await
    else {
        return;
    };
    let cast = cast(&app).await;
    // Nothing sold yet: every figure is zero, every month of the year is listed.
    let empty = impact(&app, None).await;
    assert_eq!(empty["sales"]["amount"], "0.00");
    assert_eq!(empty["months"].as_array().map(Vec::len), Some(12));

    // 三旺村's lily cooperative shares its payouts with six households, five registered poor.
    let members = "mutation($members: [HouseholdInput!]!) { setCooperativeMembers(producerSlug: \"sanwang-baihe-hezuoshe\", members: $members) { userErrors { code } } }";
    let households: Vec<Value> = (1..=5)
        .map(|n| json!({ "name": format!("贫困户{n}"), "registeredPoor": true, "shareBps": 1500 }))
        .chain([json!({ "name": "一般户", "registeredPoor": false, "shareBps": 1000 })])
        .collect();
    let set = app
        .query_as(&cast.operator, members, json!({ "members": households }))
        .await;
    assert_eq!(set["setCooperativeMembers"]["userErrors"], json!([]));

    let lily = lily_at(&app, &cast, "30.00").await;
    let rice = priced(&app, &cast, "changyuan-xiadaomi", "50.00").await;
    let mooncake = priced(&app, &cast, "zhuting-kekou-wuren-yuebing", "80.00").await;

    // A: two producers' goods, ¥110, ¥11 refunded before delivery (¥6 of the lilies, ¥5 of the
    // rice, in proportion), then delivered.
    let mut input = order_input(
        json!([{ "variantId": lily, "quantity": 2 }, { "variantId": rice, "quantity": 1 }]),
        "two-producers",
    );
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let a = app.query_as(&cast.buyer, PLACE, input).await["placeOrder"]["order"]["id"].clone();
    pay_by_bank(&app, &cast.operator, &a).await;
    assert_eq!(
        refund(&app, &cast.operator, &a, Some("11.00")).await["userErrors"],
        json!([])
    );
    ship_and_deliver(&app, &cast, &a).await;
    // B: paid, then cancelled and refunded in full: nothing sold.
    let b = place(&app, &cast.buyer, &lily, 1, "cancelled", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &b).await;
    let cancelled = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } } }",
            json!({ "id": b }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["order"]["status"], "CANCELLED");
    // C: mooncakes from 朱亭村, not a registered-poor village: outside the report.
    let c = place(&app, &cast.buyer, &mooncake, 1, "mooncakes", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &c).await;
    ship_and_deliver(&app, &cast, &c).await;
    // D: placed, never paid: not a sale.
    place(&app, &cast.buyer, &rice, 2, "unpaid", "BANK_TRANSFER").await;

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let confirm =
        "mutation($id: ID!) { confirmPayout(payoutId: $id, reference: \"ICBC-PAY\") { userErrors { code } } }";
    for payout in run_payouts(&app, &cast.operator).await {
        let confirmed = app
            .query_as(&cast.operator, confirm, json!({ "id": payout["id"] }))
            .await;
        assert_eq!(confirmed["confirmPayout"]["userErrors"], json!([]));
    }
    // 三旺村's catalogue entry lapses afterwards: what was sold while it was valid still counts.
    let lapsed = app
        .query_as(
            &cast.operator,
            "mutation { updateCatalogueEntry(code: \"FK-2025-0004\", input: { validTo: \"2025-12-31\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(lapsed["updateCatalogueEntry"]["userErrors"], json!([]));

    let report = impact(&app, None).await;
    // Sales: ¥60 + ¥50 − ¥11 of A; B nets to nothing; C is not a poor village's; D is unpaid.
    assert_eq!(report["sales"]["amount"], "99.00");
    assert_eq!(report["unitsSold"], 3, "A's two lilies and its rice");
    // Earnings: lilies ¥60 − ¥6 less 5% = ¥51.30; rice ¥50 − ¥5 less 5% = ¥42.75.
    assert_eq!(report["paidToProducers"]["amount"], "94.05");
    assert_eq!(report["growerShareBps"], 9_500, "¥94.05 of ¥99.00");
    // ¥51.30 shared: 15% to each of five poor households is ¥7.695, the cooperative keeping
    // 15%: largest remainder gives the odd fen to the first three, ¥7.70 × 3 + ¥7.69 × 2.
    assert_eq!(report["paidToHouseholds"]["amount"], "38.48");
    // Five poor households of the cooperative, and the rice-growing household (农户).
    assert_eq!(report["householdsReached"], 6);
    assert_eq!(report["salesThroughOrganisations"]["amount"], "0.00");
    let villages = report["villages"].as_array().expect("villages");
    let village = |slug: &str| {
        villages
            .iter()
            .find(|v| v["village"]["slug"] == slug)
            .unwrap_or_else(|| panic!("{slug} in {villages:?}"))
            .clone()
    };
    assert_eq!(village("sanwang-cun")["sales"]["amount"], "54.00");
    assert_eq!(village("sanwang-cun")["householdsReached"], 5);
    assert_eq!(village("changyuan-cun")["sales"]["amount"], "45.00");
    assert_eq!(
        village("changyuan-cun")["householdsReached"],
        Value::Null,
        "one household: shown in the total only"
    );
    assert!(villages.iter().all(|v| v["village"]["slug"] != "zhuting-cun"));
    assert_eq!(
        report["towns"],
        json!([
            { "town": "淦田镇", "sales": { "amount": "54.00" } },
            { "town": "龙门镇", "sales": { "amount": "45.00" } },
        ])
    );
    assert_eq!(
        report["producerKinds"],
        json!([
            { "kind": "COOPERATIVE", "sales": { "amount": "54.00" } },
            { "kind": "HOUSEHOLD", "sales": { "amount": "45.00" } },
        ])
    );
    let months: i64 = report["months"]
        .as_array()
        .expect("months")
        .iter()
        .map(|m| fen(&m["sales"]))
        .sum();
    assert_eq!(months, 9_900, "the months add up to the total");

    // One village alone.
    let sanwang = impact(&app, Some("sanwang-cun")).await;
    assert_eq!(sanwang["sales"]["amount"], "54.00");
    assert_eq!(sanwang["paidToProducers"]["amount"], "51.30");
    let unknown = app.graphql(IMPACT, json!({ "village": "no-such-cun" })).await;
    assert_eq!(crate::support::error_code(&unknown), "BAD_USER_INPUT");

    // The page, the CSV and the JSON say the same.
    let page = app.http().get(app.url("/impact")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.expect("html");
    for shown in [
        "¥99.00",
        "¥94.05",
        "¥38.48",
        "6 户",
        "95.00%",
        "三旺村",
        "少于 5 户",
        "<svg",
    ] {
        assert!(html.contains(shown), "the page shows {shown}");
    }
    let again = app
        .http()
        .get(app.url("/impact"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 304, "unchanged figures revalidate");
    let json_figures: Value = app
        .http()
        .get(app.url("/impact.json"))
        .send()
        .await
        .expect("json")
        .json()
        .await
        .expect("JSON");
    assert_eq!(json_figures["sales"], report["sales"]["amount"]);
    assert_eq!(json_figures["paidToHouseholds"], report["paidToHouseholds"]["amount"]);
    assert_eq!(json_figures["householdsReached"], report["householdsReached"]);
    let csv = app
        .http()
        .get(app.url("/impact.csv"))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(csv.starts_with('\u{feff}'), "Excel reads UTF-8 with a BOM");
    assert!(
        csv.starts_with("\u{feff}\"类别\",\"名称\",\"数值\"\r\n"),
        "Chinese headers by default: {csv}"
    );
    assert!(csv.contains("\"合计\",\"销售额（元）\",\"99.00\""), "{csv}");
    assert!(csv.contains("\"各村惠及农户数\",\"changyuan-cun\",\"\""), "{csv}");
    let english = app
        .http()
        .get(app.url("/impact.csv?lang=en"))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(
        english.starts_with("\u{feff}\"Section\",\"Name\",\"Value\"\r\n"),
        "{english}"
    );
    assert!(english.contains("\"Total\",\"Sales (yuan)\",\"99.00\""), "{english}");

    // A new sale shows at once: the ledgers changed, the report is worked out again.
    let e = place(&app, &cast.buyer, &rice, 1, "later", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &e).await;
    assert_eq!(impact(&app, None).await["sales"]["amount"], "149.00");
    let fresh = app.http().get(app.url("/impact.json")).send().await.expect("json");
    let fresh: Value = fresh.json().await.expect("JSON");
    assert_eq!(fresh["sales"], "149.00");
    assert_eq!(order(&app, &cast.operator, &e).await["status"], "PAID");

    // Bad parameters are the client's, not a 500.
    for bad in ["/impact?year=abc", "/impact?from=2026-13-01", "/impact.csv?year=1900"] {
        let answer = app.http().get(app.url(bad)).send().await.expect("answer");
        assert_eq!(answer.status(), 400, "{bad}");
    }
}

/// Where tests leave what a person may want to look at afterwards (screenshots).
fn artifacts() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let folder = target.join("test-artifacts");
    std::fs::create_dir_all(&folder).expect("an artifacts folder");
    folder
}

/// The page in a real browser, at a phone's width and a desktop's: the headline figures and
/// both charts are on screen, nothing runs off the side, and the figures are the query's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_its_figures_and_charts_on_a_phone_and_a_desktop() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let state = &app.server.state;
    let shop = huakai::shop::Shop {
        db: state.db.clone(),
        cache: state.cache.clone(),
        images: state.images.clone(),
        stock_listeners: state.stock_listeners(),
        placing_lanes: Default::default(),
        settings: state.config.shop_settings(),
        parts: state.config.shop_parts(None, Default::default()),
    };
    huakai::demo::load_activity(&shop)
        .await
        .expect("a year of demo activity");
    let sales = impact(&app, None).await["sales"]["amount"]
        .as_str()
        .expect("sales")
        .to_owned();
    assert_ne!(sales, "0.00", "the demo year sold something");
    // The demo union: two members, a pledge part-way done, a 中秋 allowance each, and a 中秋
    // bulk order from the fund, delivered and accepted but for one crushed box.
    let union_admin = app
        .login(huakai::demo::union::ADMIN_EMAIL, huakai::demo::DEMO_PASSWORD)
        .await;
    let year = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y")
        .to_string();
    let union = app
        .query_as(
            &union_admin,
            "query($year: Int!) { myOrganisation { name fund { amount } members { nodes { allowance { amount } } }
                pledge(year: $year) { amount { amount } progress { amount } }
                bulkOrders { nodes { status accepted total { amount } } }
                acceptance { shipments accepted withProblems } } }",
            json!({ "year": year.parse::<i32>().expect("a year") }),
        )
        .await;
    let union = &union["myOrganisation"];
    assert_eq!(union["name"], "株洲市总工会");
    assert_eq!(union["members"]["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(union["members"]["nodes"][0]["allowance"]["amount"], "300.00");
    let gifts = &union["bulkOrders"]["nodes"][0];
    assert_eq!(
        (&gifts["status"], &gifts["accepted"]),
        (&json!("DELIVERED"), &json!(false))
    );
    assert_eq!(
        union["acceptance"],
        json!({ "shipments": 8, "accepted": 7, "withProblems": 1 })
    );
    assert_eq!(
        fen(&union["fund"]),
        440_000 - fen(&gifts["total"]),
        "5000 deposited, 2 x 300 granted, the gifts paid"
    );
    let progress = fen(&union["pledge"]["progress"]);
    assert!(progress > 0, "the members' orders count towards the pledge: {union:#}");

    for (name, width, height) in [("phone", 390, 844), ("desktop", 1280, 900)] {
        let Some(browser) = crate::support::browser::Browser::start(width, height).await else {
            return;
        };
        browser.open(&app.url("/impact")).await;
        browser
            .wait_for("return document.readyState === 'complete'", "the page loading")
            .await;
        let seen = browser
            .run(
                "const box = (selector) => {
                    const element = document.querySelector(selector);
                    if (!element) return null;
                    const rect = element.getBoundingClientRect();
                    const style = getComputedStyle(element);
                    return { left: rect.left, right: rect.right, width: rect.width, height: rect.height,
                             shown: style.visibility !== 'hidden' && style.display !== 'none' };
                 };
                 return {
                    viewport: window.innerWidth,
                    scrollWidth: document.documentElement.scrollWidth,
                    sales: document.querySelector('#sales .value').textContent,
                    headline: box('#headline'), salesBox: box('#sales'), households: box('#households'),
                    months: box('#months-chart'), villages: box('#villages-chart'),
                    bars: document.querySelectorAll('#months-chart rect').length,
                    villageBars: document.querySelectorAll('#villages-chart rect').length,
                 };",
            )
            .await;
        let viewport = seen["viewport"].as_f64().expect("a viewport width");
        assert!(
            seen["scrollWidth"].as_f64().expect("a width") <= viewport,
            "{name}: nothing runs off the side: {seen:#}"
        );
        for part in ["headline", "salesBox", "households", "months", "villages"] {
            let part_box = &seen[part];
            assert_eq!(part_box["shown"], true, "{name}: {part} is shown: {seen:#}");
            assert!(
                part_box["width"].as_f64().unwrap_or(0.0) > 100.0,
                "{name}: {part} has room"
            );
            assert!(
                part_box["height"].as_f64().unwrap_or(0.0) > 20.0,
                "{name}: {part} has height"
            );
            assert!(
                part_box["right"].as_f64().unwrap_or(f64::MAX) <= viewport + 0.5,
                "{name}: {part} fits the screen: {seen:#}"
            );
        }
        assert_eq!(seen["bars"], 12, "{name}: a bar for every month of the year");
        assert!(
            seen["villageBars"].as_u64().unwrap_or(0) >= 3,
            "{name}: the villages' bars"
        );
        let shown_sales = seen["sales"]
            .as_str()
            .expect("the sales figure")
            .replace([',', '¥'], "");
        assert_eq!(shown_sales, sales, "{name}: the page's sales are the query's");
        let png = browser.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = artifacts().join(format!("impact-{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is saved");
        eprintln!("screenshot of /impact at {width} px: {}", path.display());
    }
}

async fn pledges_and_organisations_sales_count_in_the_report(backend: Backend) {
    use crate::unions::{SET_PLEDGE, member, organisation};
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let this_year = impact(&app, None).await["from"].as_str().expect("from")[..4]
        .parse::<i64>()
        .expect("a year");
    let union = organisation(&app, &cast.operator, "株洲市总工会", "union.admin@example.com").await;
    let office = organisation(&app, &cast.operator, "渌口区财政局", "office.admin@example.com").await;
    for (who, amount) in [(&union, "100.00"), (&office, "10000.00")] {
        let set = app
            .query_as(
                &who.admin,
                SET_PLEDGE,
                json!({ "org": who.id, "year": this_year, "amount": amount }),
            )
            .await;
        assert_eq!(set["setPledge"]["userErrors"], json!([]));
    }
    let before = impact(&app, None).await;
    assert_eq!(
        (before["pledgesMade"].clone(), before["pledgesFulfilled"].clone()),
        (json!(2), json!(0))
    );

    // A union member buys ¥120 of lilies: the union's pledge of ¥100 is met; a buyer of no
    // organisation buys ¥30 more.
    let (worker, _) = member(&app, &union, "worker@example.com").await;
    let theirs = place(&app, &worker, &lily, 4, "for-the-union", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &theirs).await;
    let own = place(&app, &cast.buyer, &lily, 1, "own", "BANK_TRANSFER").await;
    pay_by_bank(&app, &cast.operator, &own).await;

    // A livestream host's link sells ¥60 of lilies at a 10% plan; a code of no one sells ¥30.
    let host = app
        .user("xiaomei@example.com", huakai::accounts::Role::Host, None)
        .await;
    let product = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let plan = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { setCommissionPlan(input: { productId: $id, rateBps: 1000 }) { userErrors { code } } }",
            json!({ "id": product }),
        )
        .await;
    assert_eq!(plan["setCommissionPlan"]["userErrors"], json!([]));
    let link = app
        .query_as(
            &host,
            "mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } userErrors { code } } }",
            json!({ "id": product }),
        )
        .await["createPromoLink"]["promoLink"]["code"]
        .clone();
    for (code, quantity, key) in [
        (link, 2, "through-the-host"),
        (json!("NOSUCHCODE"), 1, "through-no-one"),
    ] {
        let mut input = order_input(json!([{ "variantId": lily, "quantity": quantity }]), key);
        input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
        input["input"]["referralCode"] = code;
        let placed = app.query_as(&cast.buyer, PLACE, input).await;
        pay_by_bank(&app, &cast.operator, &placed["placeOrder"]["order"]["id"]).await;
    }

    let report = impact(&app, None).await;
    assert_eq!(report["sales"]["amount"], "240.00");
    assert_eq!(report["salesThroughOrganisations"]["amount"], "120.00");
    assert_eq!(
        report["salesThroughHosts"]["amount"], "60.00",
        "the unknown code counts for no host"
    );
    assert_eq!(report["pledgesMade"], 2);
    assert_eq!(report["pledgesFulfilled"], 1, "the union's, not the office's");
}
