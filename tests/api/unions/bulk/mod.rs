//! Bulk orders (慰问品) and their acceptance: one order for many recipients, split per recipient
//! and producer, all or nothing, from GraphQL input or a CSV file, paid by bank or from the
//! fund; each parcel accepted (or a problem reported) with its code.

use std::time::Instant;

use serde_json::{Value, json};

use super::{DEPOSIT, assert_ledger_adds_up, organisation};
use crate::on_each_backend;
use crate::orders::available;
use crate::support::scenario::variants;
use crate::support::scenario::{cast, pay_by_bank, refund};
use crate::support::{Actor, Backend, TestApp, fen};

mod csv;
mod placing;

pub(crate) const BULK: &str = "mutation($input: BulkOrderInput!) {
    placeBulkOrder(input: $input) {
        order { id status bulk accepted total { amount }
            shipments { id recipientName acceptanceCode accepted producer { slug }
                items { quantity variant { sku } } } }
        userErrors { field code message } } }";
const BULK_CSV: &str = "mutation($org: ID!, $csv: String!, $key: String!, $method: PaymentMethod) {
    placeBulkOrderFromCsv(organisationId: $org, csv: $csv, idempotencyKey: $key, paymentMethod: $method) {
        order { id status total { amount } shipments { recipientName acceptanceCode } }
        userErrors { field code message } } }";
const ACCEPT: &str = "mutation($code: String!, $accepted: Boolean!, $note: String) {
    acceptShipment(code: $code, accepted: $accepted, note: $note) { accepted userErrors { field code } } }";
const ORDER: &str = "query($id: ID!) { node(id: $id) { ... on Order { id status accepted
    shipments { recipientName acceptanceCode accepted problem } } } }";

pub(crate) const LILY: &str = "sanwang-xian-baihe";
pub(crate) const CAKES: &str = "zhuting-baihe-su";

/// The first variant (by SKU) of product `slug`, with `units` more in stock: its id and SKU.
pub(crate) async fn stocked(app: &TestApp, operator: &Actor, slug: &str, units: i64) -> (Value, String) {
    let mut all: Vec<(String, (Value, i64))> = variants(app, slug).await.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let (sku, (id, _)) = all.swap_remove(0);
    let adjusted = app
        .query_as(
            operator,
            "mutation($id: ID!, $delta: Int!) { adjustStock(variantId: $id, delta: $delta, reason: \"harvest\") {
                userErrors { code } } }",
            json!({ "id": id, "delta": units }),
        )
        .await;
    assert_eq!(adjusted["adjustStock"]["userErrors"], json!([]), "{adjusted}");
    (id, sku)
}

pub(crate) fn line(name: &str, phone: &str, variant: &Value, quantity: i64) -> Value {
    json!({ "name": name, "phone": phone, "province": "湖南省", "city": "株洲市", "district": "芦淞区",
        "line1": format!("{name}家，建设路 1 号"), "variantId": variant, "quantity": quantity })
}

pub(crate) fn bulk_input(org: &Value, recipients: Value, key: &str, method: &str) -> Value {
    json!({ "input": { "organisationId": org, "recipients": recipients, "idempotencyKey": key,
        "paymentMethod": method } })
}

async fn deposit(app: &TestApp, operator: &Actor, org: &Value, amount: &str, reference: &str) {
    let answer = app
        .query_as(
            operator,
            DEPOSIT,
            json!({ "org": org, "amount": amount, "reference": reference }),
        )
        .await;
    assert_eq!(answer["recordOrganisationDeposit"]["userErrors"], json!([]), "{answer}");
}

async fn fund(app: &TestApp, admin: &Actor) -> i64 {
    fen(&app
        .query_as(admin, "{ myOrganisation { fund { amount } } }", json!({}))
        .await["myOrganisation"]["fund"])
}

async fn accept(app: &TestApp, code: &Value, accepted: bool, note: Option<&str>) -> Value {
    app.query_as(
        &Actor::anonymous(),
        ACCEPT,
        json!({ "code": code, "accepted": accepted, "note": note }),
    )
    .await["acceptShipment"]
        .clone()
}

fn codes(user_errors: &Value) -> Vec<(Value, String)> {
    user_errors
        .as_array()
        .expect("user errors")
        .iter()
        .map(|e| (e["field"].clone(), e["code"].as_str().expect("code").to_owned()))
        .collect()
}
