//! Every private query and mutation, asked by each kind of caller.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_private_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let cast = Cast {
        names: [
            "anonymous",
            "buyer",
            "another buyer",
            "grower",
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
            "{ product(slug: \"sanwang-xian-baihe\") { producer { slug } variants { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lily["product"]["producer"]["slug"], "sanwang-baihe-hezuoshe",
        "the grower's own product"
    );
    let variant_id = lily["product"]["variants"][0]["id"].clone();
    let place =
        |key: &str| crate::support::scenario::order_input(json!([{ "variantId": variant_id, "quantity": 1 }]), key);
    let order = app
        .query_as(&cast.buyer, crate::support::scenario::PLACE, place("matrix-order"))
        .await;
    let order_id = order["placeOrder"]["order"]["id"].clone();
    let to_cancel = app
        .query_as(&cast.buyer, crate::support::scenario::PLACE, place("matrix-cancel"))
        .await;
    let cancel_id = to_cancel["placeOrder"]["order"]["id"].clone();
    // A payout of the grower's producer, made directly: runs need deliveries and a hold.
    let lily_producer = huakai::catalogue::entity::producer::Entity::find()
        .filter(huakai::catalogue::entity::producer::Column::Slug.eq("sanwang-baihe-hezuoshe"))
        .one(app.db())
        .await
        .expect("query")
        .expect("producer");
    let payout = huakai::payouts::entity::payout::ActiveModel {
        producer_id: Set(Some(lily_producer.id)),
        payee_kind: Set(huakai::payouts::entity::payout::PayeeKind::Producer),
        amount_fen: Set(huakai::infra::money::Fen::new(1_000)),
        status: Set(huakai::payouts::PayoutStatus::Pending),
        method: Set(huakai::payouts::PayoutMethod::Bank),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(app.db())
    .await
    .expect("payout");
    let payout_id =
        huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::Payout, payout.id);
    // A host's promo link for the lily, made directly (the cast has no host to ask for it).
    let host = app.user("host@example.com", Role::Host, None).await;
    let host_row =
        huakai::infra::graphql::global_id::decode_as(&host.user_id, huakai::infra::graphql::global_id::NodeType::User)
            .expect("user id");
    let lily_id = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let lily_row = huakai::infra::graphql::global_id::decode_as(
        lily_id.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Product,
    )
    .expect("product id");
    let link = huakai::livestream::links::create(app.db(), host_row, lily_row, None)
        .await
        .expect("link");
    let link_id =
        huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::PromoLink, link.id);
    // The host's session of one lily item, not approved yet.
    let lily_variant = huakai::infra::graphql::global_id::decode_as(
        variant_id.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Variant,
    );
    let now = chrono::Utc::now();
    let session = huakai::livestream::sessions::schedule(
        app.db(),
        host_row,
        huakai::livestream::sessions::SessionRequest {
            title: "百合直播".to_owned(),
            starts_at: now,
            ends_at: now + chrono::Duration::hours(1),
            items: vec![huakai::livestream::sessions::ItemRequest {
                variant_id: lily_variant,
                price: "9.90".to_owned(),
                quota: 1,
                per_buyer_limit: 1,
            }],
        },
        now,
    )
    .await
    .expect("database")
    .expect("a valid session");
    let session_id =
        huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::LiveSession, session.id);
    let item = huakai::livestream::sessions::items_of(app.db(), session.id)
        .await
        .expect("items")
        .remove(0);
    let item_id = huakai::infra::graphql::global_id::encode(
        huakai::infra::graphql::global_id::NodeType::LiveSessionItem,
        item.id,
    );

    let rows = [
        Row {
            operation: "me",
            query: "{ me { id email } }",
            variables: json!({}),
            expected: [Hidden, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on User { email } } }",
            variables: json!({ "id": cast.buyer.user_id }),
            expected: [Hidden, Allowed, Hidden, Hidden, Hidden, Allowed],
        },
        Row {
            operation: "setLanguage",
            query: "mutation { setLanguage(language: null) { user { language } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "users",
            query: "{ users(first: 5) { totalCount nodes { email } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "setUserRole",
            query: "mutation($id: ID!) { setUserRole(userId: $id, role: BUYER) { user { role } userErrors { code } } }",
            variables: json!({ "id": cast.other_buyer.user_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "updateVariant",
            query: "mutation($id: ID!) { updateVariant(variantId: $id, input: { name: \"500 g 装\" }) { variant { name } userErrors { code } } }",
            variables: json!({ "id": variant_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "adjustStock",
            query: "mutation($id: ID!) { adjustStock(variantId: $id, delta: 1, reason: \"盘点\") { variant { available } userErrors { code } } }",
            variables: json!({ "id": variant_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "stockHistory",
            query: "query($id: ID!) { stockHistory(variantId: $id) { onHandDelta reason } }",
            variables: json!({ "id": variant_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "createProduct",
            query: "mutation($input: NewProductInput!) { createProduct(input: $input) { product { slug } userErrors { code } } }",
            variables: json!({ "input": {
                "slug": "sanwang-baihe-cha", "name": "三旺村百合花茶", "categorySlug": "ganhuo-shanhuo",
                "producerSlug": "sanwang-baihe-hezuoshe",
                "variants": [{ "sku": "SW-BHC-50G", "name": "50 g", "price": "29.90", "stock": 10 }]
            } }),
            // The grower lists it first; the operator's attempt then meets the taken slug (a
            // user error, not a refusal).
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "updateCatalogueEntry",
            query: "mutation { updateCatalogueEntry(code: \"FK-2025-0001\", input: { issuer: \"涪口区农业农村局\" }) { catalogueEntry { code } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "order",
            query: "query($id: ID!) { order(id: $id) { number lines { quantity } } }",
            variables: json!({ "id": order_id }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Order { number } } }",
            variables: json!({ "id": order_id }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "myOrders",
            query: "{ myOrders { totalCount } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "placeOrder",
            query: crate::support::scenario::PLACE,
            variables: place("matrix-place"),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "markShipped",
            query: "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF1\") { userErrors { code } } }",
            variables: json!({ "id": order_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "confirmDelivery",
            query: "mutation($id: ID!) { confirmDelivery(orderId: $id) { userErrors { code } } }",
            variables: json!({ "id": order_id }),
            expected: [Unauthenticated, Allowed, Hidden, Forbidden, Hidden, Allowed],
        },
        Row {
            operation: "cancelOrder",
            query: "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } userErrors { code } } }",
            variables: json!({ "id": cancel_id }),
            expected: [Unauthenticated, Allowed, Hidden, Forbidden, Hidden, Allowed],
        },
        Row {
            operation: "recordBankTransfer",
            query: "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            variables: json!({ "id": order_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "pendingBankRefunds",
            query: "{ pendingBankRefunds(first: 5) { nodes { id amount { amount } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "recordBankRefund",
            query: "mutation($id: ID!) { recordBankRefund(refundId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
            variables: json!({ "id": huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::BankRefund, 999_999) }),
            // No refund of that id: even an operator is told there is none.
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Hidden],
        },
        Row {
            operation: "refundOrder",
            query: "mutation($id: ID!) { refundOrder(orderId: $id, amount: \"1.00\") { userErrors { code } } }",
            variables: json!({ "id": order_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Payout { amount { amount } } } }",
            variables: json!({ "id": payout_id }),
            expected: [Hidden, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "myProducer",
            query: "{ myProducer { balance { available { amount } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Allowed, Forbidden],
        },
        Row {
            operation: "producerAccount",
            query: "{ producerAccount(slug: \"sanwang-baihe-hezuoshe\") { balance { paidOut { amount } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "payouts",
            query: "{ payouts(first: 5) { nodes { id } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "runPayouts",
            query: "mutation { runPayouts { payouts { id } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "confirmPayout",
            query: "mutation { confirmPayout(payoutId: \"UGF5b3V0Ojk5OTk\", reference: \"x\") { userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Hidden],
        },
        Row {
            operation: "setCooperativeMembers",
            query: "mutation { setCooperativeMembers(producerSlug: \"sanwang-baihe-hezuoshe\", members: [{ name: \"陈家\", registeredPoor: true, shareBps: 5000 }]) { userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "setProducerPayoutAccount",
            query: "mutation { setProducerPayoutAccount(producerSlug: \"sanwang-baihe-hezuoshe\", bankAccountName: \"三旺村百合合作社\", bankAccountNumber: \"6222 0000 1111\") { userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "setCommissionPlan",
            query: "mutation($id: ID!) { setCommissionPlan(input: { productId: $id, rateBps: 800 }) { plan { rateBps } userErrors { code } } }",
            variables: json!({ "id": lily_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "createPromoLink",
            query: "mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } userErrors { code } } }",
            variables: json!({ "id": lily_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden],
        },
        Row {
            operation: "myHost",
            query: "{ myHost { balance { available { amount } } links(first: 5) { nodes { code clicks } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden],
        },
        Row {
            operation: "hostSales",
            query: "{ hostSales { rateBps units host { displayName } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Allowed, Forbidden],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on PromoLink { code clicks sales { amount } } } }",
            variables: json!({ "id": link_id }),
            expected: [Hidden, Hidden, Hidden, Hidden, Hidden, Allowed],
        },
        Row {
            operation: "scheduleLiveSession",
            query: "mutation($v: ID!) { scheduleLiveSession(input: { title: \"直播\", startsAt: \"2030-01-01T00:00:00Z\", endsAt: \"2030-01-01T02:00:00Z\", items: [{ variantId: $v, price: \"9.90\", quota: 1, perBuyerLimit: 1 }] }) { session { id } userErrors { code } } }",
            variables: json!({ "v": variant_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden],
        },
        // Before an item is approved the session is not public: its growers (who approve) and
        // operators see it.
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on LiveSession { title items { approved } } } }",
            variables: json!({ "id": session_id }),
            expected: [Hidden, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "approveLiveSessionItem",
            query: "mutation($id: ID!) { approveLiveSessionItem(itemId: $id) { session { id } userErrors { code } } }",
            variables: json!({ "id": item_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on LiveSessionItem { remaining } } }",
            variables: json!({ "id": item_id }),
            expected: [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "changePassword",
            query: "mutation { changePassword(currentPassword: \"not the password\", newPassword: \"another long password\") { userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        // Last: it revokes each caller's token.
        Row {
            operation: "logout",
            query: "mutation { logout { revoked } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}
