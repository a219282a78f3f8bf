//! Refunds at the counter: through the one refund path (the producers' earnings reversed),
//! by the sale's method, idempotent by key even when tills race, out of the day's cash
//! expected, never more than was paid, and never into a closed day.

use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::Backend;

on_each_backend!(a_cash_sale_is_given_back_at_the_counter_once_per_key_and_out_of_the_till);

const DAY: &str = "query($slug: String!, $date: Date!) { store(slug: $slug) {
    day(date: $date) { sales { amount } refunds { amount } cashExpected { amount } } } }";

fn today() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

async fn a_cash_sale_is_given_back_at_the_counter_once_per_key_and_out_of_the_till(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 5).await;
    let sold = sell(&app, &counter, sale_input(&counter, 2, "CASH", "sale-1")).await;
    assert_eq!(sold["userErrors"], json!([]), "{sold}");
    let sale_id = sold["sale"]["id"].clone();

    // Eight tills send the same refund at once: one refund.
    let sends = (0..8).map(|_| refund_at_counter(&app, &counter, &sale_id, Some("10.00"), "back-1"));
    for answer in futures::future::join_all(sends).await {
        assert_eq!(answer["userErrors"], json!([]), "{answer}");
        assert_eq!(fen(&answer["refund"]["amount"]), 10_00);
        assert_eq!(answer["refund"]["paymentMethod"], "CASH");
        assert_eq!(answer["refund"]["saleId"], sale_id);
    }
    let day = app
        .query_as(&counter.clerk, DAY, json!({ "slug": counter.slug, "date": today() }))
        .await;
    let day = &day["store"]["day"];
    assert_eq!(
        (fen(&day["sales"]), fen(&day["refunds"]), fen(&day["cashExpected"])),
        (60_00, 10_00, 50_00),
        "the cash handed back is out of the till: {day}"
    );
    // The producer's earning is reversed like any refund's.
    let earned = app
        .query_as(
            &counter.cast.grower,
            "{ myProducer { earnings(first: 10) { nodes { kind lineTotal { amount } } } } }",
            json!({}),
        )
        .await;
    let kinds: Vec<(String, i64)> = earned["myProducer"]["earnings"]["nodes"]
        .as_array()
        .expect("earnings")
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or_default().to_owned(), fen(&e["lineTotal"])))
        .collect();
    assert!(kinds.contains(&("REVERSAL".to_owned(), -10_00)), "{earned}");

    // Never more than is left; the rest, then nothing.
    let too_much = refund_at_counter(&app, &counter, &sale_id, Some("50.01"), "back-2").await;
    assert_eq!(too_much["userErrors"][0]["code"], "INVALID_INPUT", "{too_much}");
    assert_eq!(too_much["userErrors"][0]["field"], json!(["input", "amount"]));
    let rest = refund_at_counter(&app, &counter, &sale_id, None, "back-3").await;
    assert_eq!(fen(&rest["refund"]["amount"]), 50_00, "{rest}");
    let nothing = refund_at_counter(&app, &counter, &sale_id, None, "back-4").await;
    assert_eq!(nothing["userErrors"][0]["code"], "NOT_REFUNDABLE", "{nothing}");
    let bogus = refund_at_counter(&app, &counter, &counter.store_id, None, "back-5").await;
    assert_eq!(bogus["userErrors"][0]["code"], "NOT_FOUND", "{bogus}");
    let status = app
        .query_as(
            &counter.cast.operator,
            "query($id: ID!) { node(id: $id) { ... on CounterSale { order { status payment { refunded { amount } } } } } }",
            json!({ "id": sale_id }),
        )
        .await;
    assert_eq!(status["node"]["order"]["status"], "REFUNDED", "{status}");
    assert_eq!(fen(&status["node"]["order"]["payment"]["refunded"]), 60_00);

    // A closed day takes no refund.
    let second = sell(&app, &counter, sale_input(&counter, 1, "CASH", "sale-2")).await;
    let closed = app
        .query_as(
            &counter.clerk,
            "mutation($store: ID!, $date: Date!) { closeDay(storeId: $store, date: $date, cashCounted: \"30.00\") {
                userErrors { code } } }",
            json!({ "store": counter.store_id, "date": today() }),
        )
        .await;
    assert_eq!(closed["closeDay"]["userErrors"], json!([]), "{closed}");
    let late = refund_at_counter(&app, &counter, &second["sale"]["id"], None, "back-6").await;
    assert_eq!(late["userErrors"][0]["code"], "DAY_CLOSED", "{late}");
}
