//! The cart kept on the server: lines set and removed within bounds, live prices and
//! availability, and placed from: emptied with the order, kept when the order fails, and a
//! retry with the same key the same order.

use crate::orders::forty_units;
use crate::support::fen;

use super::*;

on_each_backend!(
    a_cart_shows_live_prices_and_availability_within_bounds,
    an_order_from_the_cart_empties_it_and_a_failed_one_keeps_it,
);

async fn a_cart_shows_live_prices_and_availability_within_bounds(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = buyer(&app, "buyer@example.com").await;
    let other = super::buyer(&app, "other@example.com").await;
    let (lily, _) = first_variant(&app, "sanwang-xian-baihe").await;
    let (rice, _) = first_variant(&app, "changyuan-xiadaomi").await;
    let empty = app.query_as(&buyer, MY_CART, json!({})).await;
    assert_eq!(empty["myCart"]["lines"], json!([]));
    assert_eq!(empty["myCart"]["subtotal"]["amount"], "0.00");

    set_line(&app, &buyer, &lily, 2).await;
    set_line(&app, &buyer, &rice, 1).await;
    // Setting a line again sets its quantity, it does not add a second line.
    let cart = set_line(&app, &buyer, &lily, 3).await;
    let lines = cart["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["quantity"], 3);
    assert!(lines.iter().all(|line| line["available"] == true));
    let sum: i64 = lines.iter().map(|line| fen(&line["lineTotal"])).sum();
    assert_eq!(fen(&cart["subtotal"]), sum);

    // Out of bounds, or no such variant: refused, and the cart is as it was.
    for (variant, quantity, code, field) in [
        (lily.clone(), 1000, "INVALID_QUANTITY", "quantity"),
        (lily.clone(), -1, "INVALID_QUANTITY", "quantity"),
        (json!("bm90LWEtdmFyaWFudA"), 1, "NOT_FOUND", "variantId"),
    ] {
        let refused = app
            .query_as(&buyer, SET_LINE, json!({ "variantId": variant, "quantity": quantity }))
            .await;
        assert_eq!(refused["setCartLine"]["userErrors"][0]["code"], code, "{refused}");
        assert_eq!(refused["setCartLine"]["userErrors"][0]["field"], json!([field]));
    }
    let cart = app.query_as(&buyer, MY_CART, json!({})).await;
    assert_eq!(cart["myCart"]["lines"].as_array().map(Vec::len), Some(2));

    // Prices are today's: a price change shows at once.
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let updated = app
        .query_as(
            &operator,
            "mutation($id: ID!) { updateVariant(variantId: $id, input: { price: \"12.34\" }) { userErrors { code } } }",
            json!({ "id": lily }),
        )
        .await;
    assert_eq!(updated["updateVariant"]["userErrors"], json!([]));
    let cart = app.query_as(&buyer, MY_CART, json!({})).await;
    assert_eq!(cart["myCart"]["lines"][0]["unitPrice"]["amount"], "12.34");
    assert_eq!(cart["myCart"]["lines"][0]["lineTotal"]["amount"], "37.02");

    // 0 removes the line; another buyer's cart is their own.
    let cart = set_line(&app, &buyer, &lily, 0).await;
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(1));
    let theirs = app.query_as(&other, MY_CART, json!({})).await;
    assert_eq!(theirs["myCart"]["lines"], json!([]));
}

async fn an_order_from_the_cart_empties_it_and_a_failed_one_keeps_it(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = buyer(&app, "buyer@example.com").await;
    let scarce = forty_units(&app).await;
    let (rice, _) = first_variant(&app, "changyuan-xiadaomi").await;

    // Nothing to place yet.
    let refused = place(
        &app,
        &buyer,
        json!({ "fromCart": true, "shippingAddress": address() }),
        "empty",
    )
    .await;
    assert_eq!(refused["userErrors"][0]["code"], "INVALID_INPUT");
    assert_eq!(refused["userErrors"][0]["field"], json!(["input", "fromCart"]));

    // More than there is: the line shows unavailable, the order fails, the cart stays.
    let cart = set_line(&app, &buyer, &scarce, 41).await;
    assert_eq!(cart["lines"][0]["available"], false);
    set_line(&app, &buyer, &rice, 2).await;
    let failed = place(
        &app,
        &buyer,
        json!({ "fromCart": true, "shippingAddress": address() }),
        "too-many",
    )
    .await;
    assert_eq!(failed["userErrors"][0]["code"], "OUT_OF_STOCK", "{failed}");
    let cart = app.query_as(&buyer, MY_CART, json!({})).await;
    assert_eq!(cart["myCart"]["lines"].as_array().map(Vec::len), Some(2));

    // Lines and the cart at once: refused.
    let both = place(
        &app,
        &buyer,
        json!({ "fromCart": true, "lines": [{ "variantId": rice, "quantity": 1 }], "shippingAddress": address() }),
        "both",
    )
    .await;
    assert_eq!(both["userErrors"][0]["code"], "INVALID_INPUT");

    let cart = set_line(&app, &buyer, &scarce, 40).await;
    assert_eq!(cart["lines"][0]["available"], true);
    let subtotal = fen(&cart["subtotal"]);
    let placed = place(
        &app,
        &buyer,
        json!({ "fromCart": true, "shippingAddress": address() }),
        "from-cart",
    )
    .await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    assert_eq!(fen(&placed["order"]["total"]), subtotal);
    let quantities: Vec<i64> = placed["order"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| line["quantity"].as_i64().expect("a quantity"))
        .collect();
    assert_eq!(quantities.iter().sum::<i64>(), 42);
    let cart = app.query_as(&buyer, MY_CART, json!({})).await;
    assert_eq!(cart["myCart"]["lines"], json!([]));

    // The same key again is the same order, although the cart is empty now.
    let again = place(
        &app,
        &buyer,
        json!({ "fromCart": true, "shippingAddress": address() }),
        "from-cart",
    )
    .await;
    assert_eq!(again["userErrors"], json!([]), "{again}");
    assert_eq!(again["order"]["id"], placed["order"]["id"]);
    let mine = app.query_as(&buyer, "{ myOrders { totalCount } }", json!({})).await;
    assert_eq!(mine["myOrders"]["totalCount"], 1);
    crate::orders::assert_ledger_balances(&app).await;
}
