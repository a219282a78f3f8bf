//! The address book: one default per user, whatever the requests race; orders placed to a
//! saved address; exactly one destination per order.

use huakai::cart::entity::saved_address;
use huakai::infra::ids::UserId;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::*;

on_each_backend!(
    the_address_book_keeps_one_default_and_orders_go_to_a_saved_address,
    an_order_names_exactly_one_destination_and_only_its_buyers_addresses,
    racing_defaults_leave_exactly_one,
);

const MY_ADDRESSES: &str = "{ me { addresses { id isDefault address { name city } } } }";

async fn the_address_book_keeps_one_default_and_orders_go_to_a_saved_address(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = buyer(&app, "buyer@example.com").await;
    // The first address becomes the default by itself; a later one only when asked.
    let home = save_address(&app, &buyer, address_in("李华", "株洲市"), None).await;
    let office = save_address(&app, &buyer, address_in("李华（单位）", "长沙市"), None).await;
    let book = app.query_as(&buyer, MY_ADDRESSES, json!({})).await;
    assert_eq!(book["me"]["addresses"][0]["id"], home);
    assert_eq!(book["me"]["addresses"][0]["isDefault"], true);
    assert_eq!(book["me"]["addresses"][1]["isDefault"], false);

    let moved = app
        .query_as(
            &buyer,
            SAVE_ADDRESS,
            json!({ "input": address_in("李华（单位）", "长沙市"), "isDefault": true, "addressId": office }),
        )
        .await;
    assert_eq!(moved["saveAddress"]["address"]["isDefault"], true, "{moved}");
    let book = app.query_as(&buyer, MY_ADDRESSES, json!({})).await;
    assert_eq!(book["me"]["addresses"][0]["id"], office);
    assert_eq!(book["me"]["addresses"][1]["isDefault"], false);

    // A bad address is refused on its field, and nothing is saved.
    let mut bad = address_in("李华", "株洲市");
    bad["phone"] = json!("call me");
    let refused = app.query_as(&buyer, SAVE_ADDRESS, json!({ "input": bad })).await;
    assert_eq!(refused["saveAddress"]["userErrors"][0]["code"], "INVALID_INPUT");
    assert_eq!(
        refused["saveAddress"]["userErrors"][0]["field"],
        json!(["input", "phone"])
    );

    // An order to a saved address carries that address.
    let (lily, _) = first_variant(&app, "sanwang-xian-baihe").await;
    let placed = place(
        &app,
        &buyer,
        json!({ "lines": [{ "variantId": lily, "quantity": 1 }], "shippingAddressId": office }),
        "to-the-office",
    )
    .await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order = app
        .query_as(
            &buyer,
            "query($id: ID!) { order(id: $id) { shippingAddress { name city } } }",
            json!({ "id": placed["order"]["id"] }),
        )
        .await;
    assert_eq!(order["order"]["shippingAddress"]["city"], "长沙市");

    // Deleting the default makes the oldest remaining address the default; the order keeps
    // the address it was placed with.
    let deleted = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { deleteAddress(addressId: $id) { address { id } userErrors { code } } }",
            json!({ "id": office }),
        )
        .await;
    assert_eq!(deleted["deleteAddress"]["userErrors"], json!([]));
    let book = app.query_as(&buyer, MY_ADDRESSES, json!({})).await;
    assert_eq!(book["me"]["addresses"].as_array().map(Vec::len), Some(1));
    assert_eq!(book["me"]["addresses"][0]["id"], home);
    assert_eq!(book["me"]["addresses"][0]["isDefault"], true);
    let order = app
        .query_as(
            &buyer,
            "query($id: ID!) { order(id: $id) { shippingAddress { city } } }",
            json!({ "id": placed["order"]["id"] }),
        )
        .await;
    assert_eq!(order["order"]["shippingAddress"]["city"], "长沙市");
}

async fn an_order_names_exactly_one_destination_and_only_its_buyers_addresses(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = buyer(&app, "buyer@example.com").await;
    let other = super::buyer(&app, "other@example.com").await;
    let theirs = save_address(&app, &other, address_in("王芳", "吉首市"), None).await;
    let mine = save_address(&app, &buyer, address_in("李华", "株洲市"), None).await;
    let (lily, stock) = first_variant(&app, "sanwang-xian-baihe").await;
    let lines = json!([{ "variantId": lily, "quantity": 1 }]);

    for (key, input, code, field) in [
        ("none", json!({ "lines": lines }), "INVALID_INPUT", json!(["input"])),
        (
            "both",
            json!({ "lines": lines, "shippingAddress": address(), "shippingAddressId": mine }),
            "INVALID_INPUT",
            json!(["input"]),
        ),
        (
            "no-lines",
            json!({ "shippingAddressId": mine }),
            "INVALID_INPUT",
            json!(["input"]),
        ),
        (
            "someone-elses",
            json!({ "lines": lines, "shippingAddressId": theirs }),
            "NOT_FOUND",
            json!(["input", "shippingAddressId"]),
        ),
        (
            "not-an-address",
            json!({ "lines": lines, "shippingAddressId": lily }),
            "NOT_FOUND",
            json!(["input", "shippingAddressId"]),
        ),
    ] {
        let refused = place(&app, &buyer, input, key).await;
        assert!(refused["order"].is_null(), "{key}: {refused}");
        assert_eq!(refused["userErrors"][0]["code"], code, "{key}: {refused}");
        assert_eq!(refused["userErrors"][0]["field"], field, "{key}: {refused}");
    }
    // Nothing was held by the refused orders.
    assert_eq!(first_variant(&app, "sanwang-xian-baihe").await.1, stock);

    // Another buyer's address is not theirs to delete, and looks as if it did not exist.
    let refused = app
        .query_as(
            &buyer,
            "mutation($id: ID!) { deleteAddress(addressId: $id) { address { id } userErrors { code } } }",
            json!({ "id": theirs }),
        )
        .await;
    assert_eq!(refused["deleteAddress"]["userErrors"][0]["code"], "NOT_FOUND");
    let seen = app
        .query_as(
            &buyer,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": theirs }),
        )
        .await;
    assert!(seen["node"].is_null());
}

async fn racing_defaults_leave_exactly_one(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = buyer(&app, "buyer@example.com").await;
    let racing = (0..12).map(|n| save_address(&app, &buyer, address_in(&format!("收件人{n}"), "株洲市"), Some(true)));
    futures::future::join_all(racing).await;
    let book = app.query_as(&buyer, MY_ADDRESSES, json!({})).await;
    let addresses = book["me"]["addresses"].as_array().expect("addresses");
    assert_eq!(addresses.len(), 12);
    assert_eq!(addresses.iter().filter(|a| a["isDefault"] == true).count(), 1);

    // The database holds it too: a second default row is refused whatever the code does.
    let user_id: UserId =
        huakai::infra::graphql::global_id::decode_as(&buyer.user_id, huakai::infra::graphql::global_id::NodeType::User)
            .expect("a user id");
    let row = saved_address::Entity::find()
        .filter(saved_address::Column::UserId.eq(user_id))
        .one(app.db())
        .await
        .expect("the database answers")
        .expect("an address");
    let second_default = saved_address::ActiveModel {
        user_id: Set(user_id),
        name: Set(row.name),
        phone: Set(row.phone),
        province: Set(row.province),
        city: Set(row.city),
        district: Set(row.district),
        line1: Set(row.line1),
        postal_code: Set(None),
        is_default: Set(true),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(app.db())
    .await;
    assert!(second_default.is_err(), "a second default was stored");
}
