//! Shipping rules and quotes: a producer's grower sets its rule; a cart's quote weighs each
//! producer's shipment, rounds a part kilogram up, waives the fee above the free amount, adds
//! surcharges and says where a producer does not deliver.

use crate::support::fen;

use super::*;

on_each_backend!(a_quote_follows_each_producers_rule);

const SET_RULE: &str = "mutation($id: ID!, $input: ShippingRuleInput!) {
    setShippingRule(producerId: $id, input: $input) { userErrors { field code } } }";

const QUOTE: &str =
    "query($address: AddressInput, $addressId: ID) { myCart { quote(address: $address, addressId: $addressId) {
    subtotal { amount } shipping { amount } total { amount } deliverable
    shipments { producer { slug } weightGrams fee { amount } deliverable } } } }";

fn in_province(province: &str) -> Value {
    let mut address = address();
    address["province"] = json!(province);
    address
}

async fn a_quote_follows_each_producers_rule(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let buyer = buyer(&app, "buyer@example.com").await;
    let lilies = app
        .query(
            "{ product(slug: \"sanwang-xian-baihe\") { producer { id } variants { id weightGrams } } }",
            json!({}),
        )
        .await;
    let producer_id = lilies["product"]["producer"]["id"].clone();
    let lily = lilies["product"]["variants"][0]["id"].clone();
    let weight = lilies["product"]["variants"][0]["weightGrams"]
        .as_i64()
        .expect("a weight");
    assert!(weight > 0, "the demo lilies weigh something");

    // Bad rules are refused on their field.
    for (input, field) in [
        (
            json!({ "firstWeightGrams": 0, "firstFee": "8.00", "extraPerKg": "3.00" }),
            json!(["input", "firstWeightGrams"]),
        ),
        (
            json!({ "firstWeightGrams": 1000, "firstFee": "-8.00", "extraPerKg": "3.00" }),
            json!(["input", "firstFee"]),
        ),
        (
            json!({ "firstWeightGrams": 1000, "firstFee": "8.00", "extraPerKg": "3.00",
                    "excludedProvinces": ["西藏"], "surcharges": [{ "province": "西藏", "extraFee": "5.00" }] }),
            json!(["input"]),
        ),
    ] {
        let refused = app
            .query_as(&grower, SET_RULE, json!({ "id": producer_id, "input": input }))
            .await;
        assert_eq!(
            refused["setShippingRule"]["userErrors"][0]["code"], "INVALID_INPUT",
            "{refused}"
        );
        assert_eq!(refused["setShippingRule"]["userErrors"][0]["field"], field);
    }
    // 1 kg for ¥8, ¥3 per further kg or part of one, free from ¥500, 新疆 ¥15 more, not 西藏.
    let set = app
        .query_as(
            &grower,
            SET_RULE,
            json!({ "id": producer_id, "input": { "firstWeightGrams": 1000, "firstFee": "8.00", "extraPerKg": "3.00",
                "freeOver": "500.00", "excludedProvinces": ["西藏"],
                "surcharges": [{ "province": "新疆", "extraFee": "15.00" }] } }),
        )
        .await;
    assert_eq!(set["setShippingRule"]["userErrors"], json!([]), "{set}");

    let (rice, _) = first_variant(&app, "changyuan-xiadaomi").await;
    set_line(&app, &buyer, &rice, 1).await;
    let cart = set_line(&app, &buyer, &lily, 3).await;
    let lily_total = fen(&cart["lines"][1]["lineTotal"]);
    let grams = 3 * weight;
    let expected_fee = if lily_total >= 50_000 {
        0
    } else {
        800 + 300 * (((grams - 1000).max(0) + 999) / 1000)
    };
    let quote = app
        .query_as(&buyer, QUOTE, json!({ "address": in_province("湖南省") }))
        .await;
    let quote = &quote["myCart"]["quote"];
    assert_eq!(quote["deliverable"], true);
    let shipments = quote["shipments"].as_array().expect("shipments");
    assert_eq!(shipments.len(), 2, "one shipment per producer");
    let lily_part = shipments
        .iter()
        .find(|s| s["producer"]["slug"] == "sanwang-baihe-hezuoshe")
        .expect("the lilies' shipment");
    assert_eq!(lily_part["weightGrams"].as_i64(), Some(grams));
    assert_eq!(fen(&lily_part["fee"]), expected_fee);
    let rice_part = shipments
        .iter()
        .find(|s| s["producer"]["slug"] != "sanwang-baihe-hezuoshe")
        .expect("the rice's shipment");
    assert_eq!(fen(&rice_part["fee"]), 0, "a producer without a rule ships free");
    assert_eq!(fen(&quote["shipping"]), expected_fee);
    assert_eq!(fen(&quote["subtotal"]), fen(&cart["subtotal"]));
    assert_eq!(fen(&quote["total"]), fen(&quote["subtotal"]) + expected_fee);

    // A saved address in 新疆 adds the surcharge; 西藏 is not delivered to.
    let far = save_address(&app, &buyer, in_province("新疆维吾尔自治区"), None).await;
    let quote = app.query_as(&buyer, QUOTE, json!({ "addressId": far })).await;
    assert_eq!(fen(&quote["myCart"]["quote"]["shipping"]), expected_fee + 15_00);
    let quote = app
        .query_as(&buyer, QUOTE, json!({ "address": in_province("西藏自治区") }))
        .await;
    assert_eq!(quote["myCart"]["quote"]["deliverable"], false);

    // One destination, not two, not none.
    let both = app
        .graphql_as(
            &buyer,
            QUOTE,
            json!({ "address": in_province("湖南省"), "addressId": far }),
        )
        .await
        .1;
    assert_eq!(both["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{both}");
}
