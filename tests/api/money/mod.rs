//! Every money movement on one path: refunds reverse earnings whichever way they come (an
//! operator, a cancellation, Stripe's dashboard), before or after delivery; bank refunds wait
//! for an operator; Stripe calls whose outcome is unknown stay in flight until looked up, and
//! pay each earning once; cancel and ship never interleave; statements stay as paid.

use std::collections::HashSet;
use std::time::Duration;

use huakai::accounts::Role;
use huakai::payments::entity::webhook_event;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{assert_ledger_balances, available};
use crate::support::scenario::*;
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, all_nodes, fen};

mod payouts;
mod refunds;

const ACCOUNT: &str = "{ myProducer { balance { pending { amount } available { amount } paidOut { amount } }
    earnings(first: 50) { totalCount nodes { kind amount { amount } lineTotal { amount } platformFee { amount } } } } }";

const PENDING_BANK_REFUNDS: &str =
    "{ pendingBankRefunds(first: 50) { totalCount nodes { id amount { amount } status reason
    buyerEmail paidWithReference order { id number } } } }";

async fn balance(app: &TestApp, grower: &Actor) -> Value {
    let seen = app.query_as(grower, ACCOUNT, json!({})).await["myProducer"].clone();
    all_nodes(&seen["earnings"]);
    seen
}

pub async fn run_payouts(app: &TestApp, operator: &Actor) -> Vec<Value> {
    let data = app
        .query_as(
            operator,
            "mutation { runPayouts { payouts { id amount { amount } status method } userErrors { code } } }",
            json!({}),
        )
        .await;
    data["runPayouts"]["payouts"].as_array().expect("payouts").clone()
}

/// Waits until the app has applied a stored Stripe event.
async fn wait_for_inbox(app: &TestApp, event_id: &str) {
    for _ in 0..200 {
        let stored = webhook_event::Entity::find_by_id(event_id.to_owned())
            .one(app.db())
            .await
            .expect("the inbox");
        if stored.is_some_and(|e| e.processed_at.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("event {event_id} was not applied within 10 s");
}
