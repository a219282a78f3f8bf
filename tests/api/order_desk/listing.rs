//! The operators' order list and a grower's queue: every filter, keyset pages that neither skip
//! nor repeat orders placed at the same moment, and a grower seeing only its own lines.

use huakai::orders::entity::order;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::*;
use crate::orders::order_row;
use crate::support::scenario::order_input;
use crate::support::scenario::{cast, pay_by_bank};
use crate::unions::bulk::{CAKES, LILY, stocked};

on_each_backend!(operators_find_orders_by_every_filter_and_growers_see_their_queue);

const ORDERS: &str = "query($first: Int, $after: String, $filter: OrderFilter) {
    orders(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } nodes { number } } }";

const PLACE: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id number total { amount } } userErrors { code } } }";

async fn place(app: &TestApp, buyer: &Actor, lines: Value, key: &str) -> Value {
    let placed = app.query_as(buyer, PLACE, order_input(lines, key)).await["placeOrder"].clone();
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    placed["order"].clone()
}

/// The numbers `filter` lists (one page of 10), and how many there are in all.
async fn listed(app: &TestApp, operator: &Actor, filter: Value) -> (Vec<String>, u64) {
    let data = app
        .query_as(operator, ORDERS, json!({ "first": 10, "filter": filter }))
        .await;
    let orders = &data["orders"];
    let numbers = orders["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["number"].as_str().expect("number").to_owned())
        .collect();
    (numbers, orders["totalCount"].as_u64().expect("count"))
}

async fn operators_find_orders_by_every_filter_and_growers_see_their_queue(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let other_buyer = app
        .user("other.buyer@example.com", huakai::accounts::Role::Buyer, None)
        .await;
    let (lily, _) = stocked(&app, &cast.operator, LILY, 50).await;
    let (cakes, _) = stocked(&app, &cast.operator, CAKES, 50).await;
    let paid = place(
        &app,
        &cast.buyer,
        json!([{ "variantId": lily, "quantity": 1 }]),
        "desk-1",
    )
    .await;
    pay_by_bank(&app, &cast.operator, &paid["id"]).await;
    let unpaid = place(
        &app,
        &cast.buyer,
        json!([{ "variantId": cakes, "quantity": 1 }]),
        "desk-2",
    )
    .await;
    let both = place(
        &app,
        &other_buyer,
        json!([{ "variantId": lily, "quantity": 2 }, { "variantId": cakes, "quantity": 1 }]),
        "desk-3",
    )
    .await;
    let number = |order: &Value| order["number"].as_str().expect("number").to_owned();
    let (paid_no, unpaid_no, both_no) = (number(&paid), number(&unpaid), number(&both));

    // Newest first, all of them.
    assert_eq!(
        listed(&app, &cast.operator, json!(null)).await,
        (vec![both_no.clone(), unpaid_no.clone(), paid_no.clone()], 3)
    );
    // A number as read out on the phone: lower case, with dashes and spaces.
    let spoken = format!("{}-{} {}", &paid_no[..2], &paid_no[2..10], &paid_no[10..]).to_lowercase();
    assert_eq!(
        listed(&app, &cast.operator, json!({ "number": spoken })).await,
        (vec![paid_no.clone()], 1)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "buyerEmail": " BUYER@example.com" })).await,
        (vec![unpaid_no.clone(), paid_no.clone()], 2)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "buyerEmail": "nobody@example.com" })).await,
        (vec![], 0)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "status": ["PAID"] })).await,
        (vec![paid_no.clone()], 1)
    );
    assert_eq!(
        listed(
            &app,
            &cast.operator,
            json!({ "producerSlug": "zhuting-kekou-shipin-jiagongchang" })
        )
        .await,
        (vec![both_no.clone(), unpaid_no.clone()], 2)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "producerSlug": "no-such-producer" })).await,
        (vec![], 0)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "paymentMethod": "CARD" })).await,
        (vec![], 0)
    );
    // Filters together: every one must hold.
    assert_eq!(
        listed(
            &app,
            &cast.operator,
            json!({ "paymentMethod": "BANK_TRANSFER", "status": ["PENDING_PAYMENT"],
                "producerSlug": "sanwang-baihe-hezuoshe" })
        )
        .await,
        (vec![both_no.clone()], 1)
    );
    // Placed from (inclusive) to (exclusive).
    let dated = app
        .query_as(
            &cast.operator,
            "query($number: String) { orders(filter: { number: $number }) { nodes { createdAt } } }",
            json!({ "number": unpaid_no }),
        )
        .await;
    let from = dated["orders"]["nodes"][0]["createdAt"].clone();
    assert_eq!(
        listed(&app, &cast.operator, json!({ "placedFrom": from })).await,
        (vec![both_no.clone(), unpaid_no.clone()], 2)
    );
    assert_eq!(
        listed(&app, &cast.operator, json!({ "placedTo": from })).await,
        (vec![paid_no.clone()], 1)
    );

    // A grower's queue: what it has to ship (PAID), and all its orders, each with its own lines only.
    let queue = "query($status: [OrderStatus!]) { myProducer { orders(first: 10, status: $status) {
        totalCount nodes { number lines { quantity } total { amount } } } } }";
    let to_ship = app.query_as(&cast.grower, queue, json!({ "status": ["PAID"] })).await;
    assert_eq!(
        to_ship["myProducer"]["orders"]["nodes"],
        json!([{ "number": paid_no, "lines": [{ "quantity": 1 }], "total": paid["total"] }])
    );
    let all = app.query_as(&cast.grower, queue, json!({ "status": null })).await;
    let mine = &all["myProducer"]["orders"];
    assert_eq!(mine["totalCount"], 2, "{all}");
    assert_eq!(mine["nodes"][0]["number"], both_no.as_str());
    assert_eq!(mine["nodes"][0]["lines"], json!([{ "quantity": 2 }]), "only the lilies");
    // An operator sees the producer's orders whole.
    let whole = app
        .query_as(
            &cast.operator,
            "{ producerAccount(slug: \"sanwang-baihe-hezuoshe\") { orders(first: 1) { nodes { lines { quantity } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        whole["producerAccount"]["orders"]["nodes"][0]["lines"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Orders placed at the same moment: pages of one run through them by id, none twice.
    let moment = order::Entity::find_by_id(order_row(&paid["id"]))
        .one(app.db())
        .await
        .expect("database")
        .expect("order")
        .created_at;
    order::Entity::update_many()
        .col_expr(order::Column::CreatedAt, sea_orm::sea_query::Expr::value(moment))
        .filter(order::Column::Id.is_in([order_row(&unpaid["id"]), order_row(&both["id"])]))
        .exec(app.db())
        .await
        .expect("dated");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .query_as(&cast.operator, ORDERS, json!({ "first": 1, "after": after }))
            .await;
        let orders = &data["orders"];
        seen.extend(
            orders["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["number"].clone()),
        );
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, vec![json!(both_no), json!(unpaid_no), json!(paid_no)]);
}
