//! After-sales claims (issue 25): opening within the window, every decision by the grower and
//! by an operator, the worker that refunds unanswered claims and completes orders, a claim
//! racing an operator's refund. Orders are paid by bank here, so each refund shows as a task in
//! `pendingBankRefunds`.

mod decisions;
mod mail;
mod photos;
mod race;
mod timeouts;

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::payouts::{Cast, cast, delivered};
use crate::support::{Actor, TestApp, fen};

pub const PRODUCT: &str = "sanwang-xian-baihe";
pub const PRODUCER: &str = "sanwang-baihe-hezuoshe";

pub const OPEN: &str = "mutation($input: ClaimInput!) { openClaim(input: $input) {
    claim { id status reason asked { amount } amount { amount } decision order { id } }
    userErrors { field code } } }";

pub const RESPOND: &str = "mutation($id: ID!, $decision: ClaimDecision!, $amount: String, $note: String) {
    respondToClaim(claimId: $id, decision: $decision, amount: $amount, note: $note) {
        claim { id status decision amount { amount } responseNote decidedAt } userErrors { field code } } }";

pub const DECIDE: &str = "mutation($id: ID!, $decision: ClaimDecision!, $amount: String, $note: String) {
    decideClaim(claimId: $id, decision: $decision, amount: $amount, note: $note) {
        claim { id status decision amount { amount } decidedAt } userErrors { field code } } }";

pub const ESCALATE: &str = "mutation($id: ID!) { escalateClaim(claimId: $id) {
    claim { id status decidedAt } userErrors { code } } }";

pub const ORDER_CLAIMS: &str = "query($id: ID!) { order(id: $id) { status claims { id status amount { amount } } } }";

pub const BANK_REFUNDS: &str = "{ pendingBankRefunds(first: 50) { nodes { amount { amount } reason order { id } } } }";

/// A buyer, an operator and the lily cooperative's grower.
pub struct People {
    pub cast: Cast,
    pub grower: Actor,
}

pub async fn people(app: &TestApp) -> People {
    People {
        cast: cast(app).await,
        grower: app.user("lily@example.com", Role::Grower, Some(PRODUCER)).await,
    }
}

/// A delivered order of `quantity` lily bulbs, paid by bank: its id and the variant's id.
pub async fn delivered_lilies(app: &TestApp, people: &People, quantity: i64, key: &str) -> (Value, Value) {
    let order_id = delivered(app, &people.cast, PRODUCT, quantity, key).await;
    let data = app
        .query_as(
            &people.cast.buyer,
            "query($id: ID!) { order(id: $id) { lines { variant { id } unitPrice { amount } } } }",
            json!({ "id": order_id }),
        )
        .await;
    (order_id, data["order"]["lines"][0]["variant"]["id"].clone())
}

pub fn claim_input(order_id: &Value, variant_id: &Value, quantity: i64) -> Value {
    json!({ "input": { "orderId": order_id, "lines": [{ "variantId": variant_id, "quantity": quantity }],
                       "reason": "DAMAGED", "note": "压坏了" } })
}

/// Opens a claim as the buyer, expecting it opened: the claim.
pub async fn open(app: &TestApp, people: &People, order_id: &Value, variant_id: &Value, quantity: i64) -> Value {
    let data = app
        .query_as(&people.cast.buyer, OPEN, claim_input(order_id, variant_id, quantity))
        .await;
    assert_eq!(data["openClaim"]["userErrors"], json!([]), "{data}");
    data["openClaim"]["claim"].clone()
}

pub async fn decide(app: &TestApp, actor: &Actor, query: &str, variables: Value) -> Value {
    let data = app.query_as(actor, query, variables).await;
    let field = if query.contains("respondToClaim") {
        "respondToClaim"
    } else {
        "decideClaim"
    };
    data[field].clone()
}

/// The bank refunds waiting for `order_id`, in fen.
pub async fn bank_refunds(app: &TestApp, operator: &Actor, order_id: &Value) -> Vec<i64> {
    let data = app.query_as(operator, BANK_REFUNDS, json!({})).await;
    data["pendingBankRefunds"]["nodes"]
        .as_array()
        .expect("refunds")
        .iter()
        .filter(|refund| refund["order"]["id"] == *order_id)
        .map(|refund| fen(&refund["amount"]))
        .collect()
}
