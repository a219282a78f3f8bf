//! `setPhoneNumber` and `User.phone`: mainland mobile numbers, seen by their owner and
//! operators.

use huakai::accounts::Role;
use serde_json::json;

use crate::on_each_backend;
use crate::support::Backend;
use crate::support::TestApp;
use crate::unions::{member, organisation};

on_each_backend!(a_buyer_sets_a_mainland_mobile_number_seen_by_themselves_and_operators);

const SET: &str =
    "mutation($phone: String) { setPhoneNumber(phone: $phone) { user { phone } userErrors { code field } } }";

async fn a_buyer_sets_a_mainland_mobile_number_seen_by_themselves_and_operators(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let buyer = app.user("phone@example.com", Role::Buyer, None).await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    for typed in ["12345", "23812345678", "+85291234567", "1381234567x"] {
        let refused = app.query_as(&buyer, SET, json!({ "phone": typed })).await;
        assert_eq!(
            refused["setPhoneNumber"]["userErrors"],
            json!([{ "code": "INVALID_INPUT", "field": ["phone"] }]),
            "{typed}"
        );
    }
    let set = app.query_as(&buyer, SET, json!({ "phone": "138 1234 5678" })).await;
    assert_eq!(set["setPhoneNumber"]["user"]["phone"], "+8613812345678", "{set}");
    let me = app.query_as(&buyer, "{ me { phone } }", json!({})).await;
    assert_eq!(me["me"]["phone"], "+8613812345678");
    let listed = app
        .query_as(
            &operator,
            "{ users(first: 10, role: BUYER) { nodes { email phone } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["users"]["nodes"],
        json!([{ "email": "phone@example.com", "phone": "+8613812345678" }])
    );
    let changed = app.query_as(&buyer, SET, json!({ "phone": "+86 139-0000-0000" })).await;
    assert_eq!(changed["setPhoneNumber"]["user"]["phone"], "+8613900000000");
    let removed = app.query_as(&buyer, SET, json!({ "phone": null })).await;
    assert_eq!(removed["setPhoneNumber"]["user"]["phone"], json!(null));

    // An organisation's admin sees its members' accounts, not their numbers.
    let union = organisation(&app, &operator, "花开工会", "admin@union.example").await;
    let (staff, _) = member(&app, &union, "staff@union.example").await;
    app.query_as(&staff, SET, json!({ "phone": "13700000000" })).await;
    let members = "query($id: ID!) { node(id: $id) { ... on Organisation { members(first: 10) { nodes { user { email phone } } } } } }";
    let seen_by = |actor| app.query_as(actor, members, json!({ "id": union.id }));
    let by_admin = seen_by(&union.admin).await;
    assert_eq!(
        by_admin["node"]["members"]["nodes"][0]["user"],
        json!({ "email": "staff@union.example", "phone": null })
    );
    let by_operator = seen_by(&operator).await;
    assert_eq!(
        by_operator["node"]["members"]["nodes"][0]["user"]["phone"],
        "+8613700000000"
    );
}
