//! The back office's order desk and user administration, asked by each kind of caller: the
//! columns are the anonymous caller, the order's buyer, another buyer, the order's grower,
//! another producer's grower and an operator. Each mutation is asked in a way that changes
//! nothing (an unknown carrier, enabling an enabled user), so the rows do not depend on each
//! other.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_desk_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let cast = Cast {
        names: [
            "anonymous",
            "its buyer",
            "another buyer",
            "its grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        other_buyer: app.user("other.buyer@example.com", Role::Buyer, None).await,
        grower: app
            .user("grower@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
            .await,
        other_grower: app
            .user(
                "other.grower@example.com",
                Role::Grower,
                Some("changyuan-longxia-hezuoshe"),
            )
            .await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    };
    let lily = app
        .query(
            "{ product(slug: \"sanwang-xian-baihe\") { variants { id } } }",
            json!({}),
        )
        .await;
    let variant_id = lily["product"]["variants"][0]["id"].clone();
    let placed = app
        .query_as(
            &cast.buyer,
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
                order { id shipments { id } } userErrors { code } } }",
            crate::support::scenario::order_input(json!([{ "variantId": variant_id, "quantity": 1 }]), "desk-matrix"),
        )
        .await;
    let order = &placed["placeOrder"]["order"];
    let (order_id, shipment_id) = (order["id"].clone(), order["shipments"][0]["id"].clone());
    crate::support::scenario::pay_by_bank(&app, &cast.operator, &order_id).await;

    let rows = [
        Row {
            operation: "orders",
            query: "{ orders(first: 5, filter: { status: [PAID] }) { totalCount nodes { id } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "myProducer",
            query: "{ myProducer { orders(first: 5, status: [PAID]) { totalCount nodes { id } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Allowed, Forbidden],
        },
        Row {
            operation: "producerAccount",
            query: "{ producerAccount(slug: \"sanwang-baihe-hezuoshe\") { orders(first: 5) { nodes { id } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "markShipped",
            query: "mutation($id: ID!, $parcel: ID) { markShipped(orderId: $id, shipmentId: $parcel,
                trackingNumber: \"X1\", carrier: \"NO-SUCH-CARRIER\") { order { id } userErrors { code } } }",
            variables: json!({ "id": order_id, "parcel": shipment_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { ... on Shipment { id carrier trackingUrl } } }",
            variables: json!({ "id": shipment_id }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "users",
            query: "{ users(first: 5, email: \"buyer\") { totalCount nodes { email disabled } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "setUserDisabled",
            query: "mutation($id: ID!) { setUserDisabled(userId: $id, disabled: false) { user { id } userErrors { code } } }",
            variables: json!({ "id": cast.other_buyer.user_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
    let still = app
        .query_as(
            &cast.operator,
            "query($id: ID!) { order(id: $id) { status shipments { trackingNumber } } }",
            json!({ "id": order_id }),
        )
        .await;
    assert_eq!(
        still["order"],
        json!({ "status": "PAID", "shipments": [{ "trackingNumber": null }] }),
        "no row shipped the order"
    );
}
