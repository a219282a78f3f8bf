//! The till's day (日结): totals by method, the cash expected, closing once with the cash
//! counted; a closed day takes no more sales. And the store's views: shelf, low stock, the
//! day's sales.

use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::{Backend, error_code};

on_each_backend!(a_day_closes_once_with_its_cash_and_takes_no_more_sales);

const DAY: &str = "query($slug: String!, $date: Date!) { store(slug: $slug) {
    day(date: $date) { date sales { amount } byMethod { method amount { amount } count }
        cashExpected { amount } cashCounted { amount } difference { amount } closed
        counterSales { number total { amount } paymentMethod } }
    lowStock { variant { id } onShelf } } }";
const CLOSE: &str = "mutation($store: ID!, $date: Date!, $counted: String!) {
    closeDay(storeId: $store, date: $date, cashCounted: $counted) { store { id } userErrors { field code } } }";

fn today() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

async fn a_day_closes_once_with_its_cash_and_takes_no_more_sales(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_STORE_LOW_STOCK", "3")])
        .start()
        .await
    else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 10).await;
    for (quantity, method, key) in [(2, "CASH", "d-1"), (1, "CASH", "d-2"), (4, "WECHAT_PAY", "d-3")] {
        let sold = sell(&app, &counter, sale_input(&counter, quantity, method, key)).await;
        assert_eq!(sold["userErrors"], json!([]), "{sold}");
    }
    let vars = json!({ "slug": counter.slug, "date": today() });
    let open = app.query_as(&counter.clerk, DAY, vars.clone()).await;
    let day = &open["store"]["day"];
    assert_eq!(fen(&day["sales"]), 21_000);
    assert_eq!(fen(&day["cashExpected"]), 9_000);
    assert_eq!(day["closed"], false);
    assert_eq!(day["cashCounted"], json!(null));
    assert_eq!(
        day["byMethod"],
        json!([
            { "method": "CASH", "amount": { "amount": "90.00" }, "count": 2 },
            { "method": "WECHAT_PAY", "amount": { "amount": "120.00" }, "count": 1 },
            { "method": "ALIPAY", "amount": { "amount": "0.00" }, "count": 0 },
            { "method": "WELFARE_ALLOWANCE", "amount": { "amount": "0.00" }, "count": 0 },
        ])
    );
    assert_eq!(day["counterSales"].as_array().expect("sales").len(), 3);
    // 3 left on the shelf: at the threshold, so low.
    assert_eq!(
        open["store"]["lowStock"],
        json!([{ "variant": { "id": counter.lily }, "onShelf": 3 }])
    );

    // Closing: 2.50 short of the cash expected, kept as the difference.
    let close = |counted: &str| json!({ "store": counter.store_id, "date": today(), "counted": counted });
    let closed = app.query_as(&counter.clerk, CLOSE, close("87.50")).await;
    assert_eq!(closed["closeDay"]["userErrors"], json!([]), "{closed}");
    let after = app.query_as(&counter.clerk, DAY, vars).await;
    let day = &after["store"]["day"];
    assert_eq!(day["closed"], true);
    assert_eq!(fen(&day["cashCounted"]), 8_750);
    assert_eq!(fen(&day["difference"]), -250);

    // A closed day takes no more sales, and closes once.
    let late = sell(&app, &counter, sale_input(&counter, 1, "CASH", "d-4")).await;
    assert_eq!(late["userErrors"][0]["code"], "DAY_CLOSED", "{late}");
    assert_eq!(on_shelf(&app, &counter).await, 3);
    let twice = app.query_as(&counter.clerk, CLOSE, close("90.00")).await;
    assert_eq!(twice["closeDay"]["userErrors"][0]["code"], "DAY_CLOSED");
    // A retry of a sale made before the close is still the same sale.
    let retry = sell(&app, &counter, sale_input(&counter, 2, "CASH", "d-1")).await;
    assert_eq!(retry["userErrors"], json!([]), "{retry}");

    // Another store's clerk neither sees nor closes this till.
    let other = store(&app, &counter.cast.operator, "zhuting").await;
    let stranger = clerk(&app, &counter.cast.operator, &other, "clerk@zhuting.example").await;
    let theirs = app.graphql_as(&stranger, CLOSE, close("0")).await.1;
    assert_eq!(error_code(&theirs), "FORBIDDEN");
}
