//! Relief supermarkets' operations, asked by each kind of caller: the columns are the anonymous
//! caller, the store's clerk, another store's clerk, the variant's grower, another producer's
//! grower and an operator. Every mutation is asked in a way that changes nothing (a slug that
//! is no slug, a transfer of no units, a sale of no lines, a day not yet come).

use super::*;
use crate::stores::{clerk, counter, sale_input, sell, stock_shelf, store};
use crate::unions::{member, organisation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 5).await;
    let sold = sell(&app, &counter, sale_input(&counter, 1, "CASH", "matrix-1")).await;
    assert_eq!(sold["userErrors"], json!([]), "{sold}");
    let operator = counter.cast.operator.clone();
    let other_store = store(&app, &operator, "zhuting").await;
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let (_, membership) = member(&app, &union, "alice@union.example").await;
    let other_grower = app
        .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let cast = Cast {
        names: [
            "anonymous",
            "its clerk",
            "another store's clerk",
            "the variant's grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: counter.clerk.clone(),
        other_buyer: clerk(&app, &operator, &other_store, "clerk@zhuting.example").await,
        grower: counter.cast.grower.clone(),
        other_grower: other_grower.clone(),
        operator,
    };
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::hours(32))
        .format("%Y-%m-%d")
        .to_string();
    let rows = [
        Row {
            operation: "createStore",
            query: "mutation { createStore(input: { slug: \"NO SLUG\", name: \"超市\", address: \"街\" }) { store { id } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "addStoreClerk",
            query: "mutation($store: ID!, $user: ID!) { addStoreClerk(storeId: $store, userId: $user) { store { id } userErrors { code } } }",
            // A grower cannot become a clerk: refused, nothing changes.
            variables: json!({ "store": counter.store_id, "user": other_grower.user_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "transferStock",
            query: "mutation($store: ID!, $variant: ID!) { transferStock(input: { storeId: $store, variantId: $variant, quantity: 0 }) { store { id } userErrors { code } } }",
            variables: json!({ "store": counter.store_id, "variant": counter.lily }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "recordCounterSale",
            query: "mutation($store: ID!) { recordCounterSale(input: { storeId: $store, lines: [], paymentMethod: CASH, idempotencyKey: \"m\" }) { sale { id } userErrors { code } } }",
            variables: json!({ "store": counter.store_id }),
            // Operators are no till: a sale is a clerk's.
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Forbidden],
        },
        Row {
            operation: "refundCounterSale",
            // A refund of nothing: refused, nothing changes.
            query: "mutation($store: ID!, $sale: ID!) { refundCounterSale(input: { storeId: $store, saleId: $sale, amount: \"0\", idempotencyKey: \"m\" }) { refund { amount { amount } } userErrors { code } } }",
            variables: json!({ "store": counter.store_id, "sale": sold["sale"]["id"] }),
            // Money back over the counter is the till's, like a sale.
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Forbidden],
        },
        Row {
            operation: "confirmPickup",
            query: "mutation { confirmPickup(code: \"no code\") { order { id } userErrors { code } } }",
            variables: json!({}),
            // Each clerk looks the code up at their own store (another's: INVALID_CODE).
            expected: [Unauthenticated, Allowed, Allowed, Forbidden, Forbidden, Forbidden],
        },
        Row {
            operation: "closeDay",
            query: "mutation($store: ID!, $date: Date!) { closeDay(storeId: $store, date: $date, cashCounted: \"0\") { store { id } userErrors { code } } }",
            variables: json!({ "store": counter.store_id, "date": tomorrow }),
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "store",
            query: "query($slug: String!) { store(slug: $slug) { stock { onShelf } } }",
            variables: json!({ "slug": counter.slug }),
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "store",
            query: "query($slug: String!) { store(slug: $slug) { lowStock { onShelf } } }",
            variables: json!({ "slug": counter.slug }),
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "store",
            query: "query($slug: String!, $date: Date!) { store(slug: $slug) { day(date: $date) { sales { amount } counterSales { id } } } }",
            variables: json!({ "slug": counter.slug, "date": tomorrow }),
            expected: [Unauthenticated, Allowed, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "store",
            query: "query($slug: String!) { store(slug: $slug) { id name address } }",
            variables: json!({ "slug": counter.slug }),
            expected: [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on CounterSale { total { amount } } } }",
            variables: json!({ "id": sold["sale"]["id"] }),
            expected: [Hidden, Allowed, Hidden, Hidden, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Membership { counterCode } } }",
            variables: json!({ "id": membership }),
            // The member's alone: an operator sees the membership but never its code.
            expected: [Hidden, Hidden, Hidden, Hidden, Hidden, Forbidden],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}
