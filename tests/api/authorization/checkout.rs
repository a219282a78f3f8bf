//! Checkout's operations, asked by each kind of caller: the anonymous caller, the address's (and
//! cart's) buyer, another buyer, a grower, another grower and an operator. A cart and an address
//! book are their own user's: every signed-in caller has one, and nobody changes another's.
//! Every row but the last changes nothing, or the same each time (a line set to 0, an address
//! saved as it is, one shipping rule); setting a producer's shipping rule is its grower's.

use super::*;
use crate::checkout::{address_in, first_variant, save_address};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkout_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let cast = Cast {
        names: [
            "anonymous",
            "its buyer",
            "another buyer",
            "a grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        other_buyer: app.user("other.buyer@example.com", Role::Buyer, None).await,
        grower: app
            .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
            .await,
        other_grower: app
            .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
            .await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    };
    let home = address_in("李华", "株洲市");
    let address_id = save_address(&app, &cast.buyer, home.clone(), None).await;
    let (lily, _) = first_variant(&app, "sanwang-xian-baihe").await;
    let lilies = app
        .query(
            "{ product(slug: \"sanwang-xian-baihe\") { producer { id } } }",
            json!({}),
        )
        .await;
    let producer_id = lilies["product"]["producer"]["id"].clone();
    let rows = [
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on SavedAddress { isDefault address { city } } } }",
            variables: json!({ "id": address_id }),
            expected: [Hidden, Allowed, Hidden, Hidden, Hidden, Allowed],
        },
        Row {
            operation: "me",
            query: "{ me { addresses { id isDefault } } }",
            variables: json!({}),
            // Each signed-in caller sees their own book (the others' are empty).
            expected: [Hidden, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "myCart",
            query: "{ myCart { subtotal { amount } lines { quantity } } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "setCartLine",
            query: "mutation($id: ID!) { setCartLine(variantId: $id, quantity: 0) { cart { lines { quantity } } userErrors { code } } }",
            variables: json!({ "id": lily }),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "myCart",
            query: "query($address: AddressInput!) { myCart { quote(address: $address) { total { amount } } } }",
            variables: json!({ "address": home }),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "setShippingRule",
            query: "mutation($id: ID!) { setShippingRule(producerId: $id,
                input: { firstWeightGrams: 1000, firstFee: \"8.00\", extraPerKg: \"3.00\" }) { userErrors { code } } }",
            variables: json!({ "id": producer_id }),
            // The same rule each time: the rows do not depend on each other.
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "saveAddress",
            query: "mutation($id: ID!, $input: AddressInput!) {
                saveAddress(addressId: $id, input: $input) { address { id } userErrors { code } } }",
            variables: json!({ "id": address_id, "input": home }),
            expected: [Unauthenticated, Allowed, Hidden, Hidden, Hidden, Hidden],
        },
        Row {
            operation: "deleteAddress",
            query: "mutation($id: ID!) { deleteAddress(addressId: $id) { address { id } userErrors { code } } }",
            variables: json!({ "id": address_id }),
            // Its buyer deletes it; nobody else could have, before or after.
            expected: [Unauthenticated, Allowed, Hidden, Hidden, Hidden, Hidden],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}
