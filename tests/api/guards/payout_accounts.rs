//! Where a host's money goes: a transfer to a connected account that was removed (at Stripe,
//! or from the shop) fails and gives the money back, instead of waiting for ever; a host paid
//! by bank has its account number in the bank batch, whole.

use std::process::Command;
use std::time::Duration;

use huakai::accounts::Role;
use serde_json::{Value, json};

use super::csv_exports::cells_of;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::stripe::Fault;
use crate::support::{Actor, Backend, TestApp, fen};

const HOST_MONEY: &str = "{ myHost { host { id } balance { available { amount } inTransit { amount } }
    payouts(first: 10) { nodes { id status method batchId amount { amount } } } } }";
const SET_ACCOUNT: &str = "mutation($host: ID!, $acct: String, $name: String, $number: String) {
    setHostPayoutAccount(hostId: $host, stripeAccountId: $acct, bankAccountName: $name, bankAccountNumber: $number) {
        userErrors { code } } }";
const RUN: &str = "mutation { runPayouts { payouts { id status method } userErrors { code } } }";

struct Cast {
    buyer: Actor,
    operator: Actor,
    host: Actor,
}

/// An order of the lily through the host's link, paid by bank and delivered: the host earns
/// its commission.
async fn delivered_through(app: &TestApp, cast: &Cast, code: &str, key: &str) {
    let (variant, _) = variants(app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("variant");
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 2 }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    input["input"]["referralCode"] = json!(code);
    let placed = app.query_as(&cast.buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]), "{placed}");
    let order = json!({ "id": placed["placeOrder"]["order"]["id"] });
    for (actor, mutation) in [
        (
            &cast.operator,
            "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
        ),
        (
            &cast.operator,
            "mutation($id: ID!) { markShipped(orderId: $id, trackingNumber: \"SF1\") { userErrors { code } } }",
        ),
        (
            &cast.buyer,
            "mutation($id: ID!) { confirmDelivery(orderId: $id) { userErrors { code } } }",
        ),
    ] {
        let done = app.query_as(actor, mutation, order.clone()).await;
        let answer = done.as_object().and_then(|o| o.values().next()).expect("a payload");
        assert_eq!(answer["userErrors"], json!([]), "{done}");
    }
}

async fn host_money(app: &TestApp, host: &Actor) -> Value {
    app.query_as(host, HOST_MONEY, json!({})).await["myHost"].clone()
}

async fn set_account(app: &TestApp, cast: &Cast, host_id: &Value, acct: Option<&str>, number: Option<&str>) {
    let set = app
        .query_as(
            &cast.host,
            SET_ACCOUNT,
            json!({ "host": host_id, "acct": acct, "name": number.map(|_| "李小美"), "number": number }),
        )
        .await;
    assert_eq!(set["setHostPayoutAccount"]["userErrors"], json!([]), "{set}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    transfers_to_a_removed_account_fail_and_bank_payouts_carry_the_account_number(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    transfers_to_a_removed_account_fail_and_bank_payouts_carry_the_account_number(Backend::Postgres).await;
}

async fn transfers_to_a_removed_account_fail_and_bank_payouts_carry_the_account_number(backend: Backend) {
    let Some((app, stripe)) = TestApp::on(backend)
        .settings(&[("HUAKAI_PAYOUT_HOLD", "1s")])
        .with_stripe()
        .await
    else {
        return;
    };
    let cast = Cast {
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        operator: app.user("ops@example.com", Role::Admin, None).await,
        host: app.user("host@example.com", Role::Host, None).await,
    };
    let product = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let plan = app
        .query_as(
            &cast.operator,
            "mutation($id: ID!) { setCommissionPlan(input: { productId: $id, rateBps: 1000 }) { userErrors { code } } }",
            json!({ "id": product }),
        )
        .await;
    assert_eq!(plan["setCommissionPlan"]["userErrors"], json!([]), "{plan}");
    let link = app
        .query_as(
            &cast.host,
            "mutation($id: ID!) { createPromoLink(input: { productId: $id }) { promoLink { code } } }",
            json!({ "id": product }),
        )
        .await;
    let code = link["createPromoLink"]["promoLink"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let host_id = host_money(&app, &cast.host).await["host"]["id"].clone();

    // Removed at Stripe: the transfer is refused as Stripe refuses it, and the money is back.
    set_account(&app, &cast, &host_id, Some("acct_1RemovedAtStripe"), None).await;
    delivered_through(&app, &cast, &code, "first").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let earned = fen(&host_money(&app, &cast.host).await["balance"]["available"]);
    assert!(earned > 0);
    stripe.remove_account("acct_1RemovedAtStripe");
    app.query_as(&cast.operator, RUN, json!({})).await;
    let money = host_money(&app, &cast.host).await;
    assert_eq!(money["payouts"]["nodes"][0]["status"], "FAILED", "{money}");
    assert_eq!(
        fen(&money["balance"]["available"]),
        earned,
        "the commission is the host's again"
    );

    // Removed from the shop while a transfer's answer was unknown: failed, not pending for ever.
    set_account(&app, &cast, &host_id, Some("acct_1Second"), None).await;
    stripe.fault_next("/v1/transfers", Fault::KeyInUse);
    app.query_as(&cast.operator, RUN, json!({})).await;
    let money = host_money(&app, &cast.host).await;
    assert_eq!(money["payouts"]["nodes"][0]["status"], "IN_TRANSIT", "{money}");
    set_account(&app, &cast, &host_id, None, Some("6222021234567890123")).await;
    app.query_as(&cast.operator, RUN, json!({})).await;
    let money = host_money(&app, &cast.host).await;
    assert_eq!(money["payouts"]["nodes"][0]["status"], "FAILED", "{money}");
    assert_eq!(fen(&money["balance"]["available"]), earned, "{money}");
    assert!(stripe.transfers().is_empty(), "no transfer was ever made");

    // The next run pays it by bank, to the account number given, whole.
    app.query_as(&cast.operator, RUN, json!({})).await;
    let money = host_money(&app, &cast.host).await;
    let bank = &money["payouts"]["nodes"][0];
    assert_eq!(
        (bank["method"].as_str(), fen(&bank["amount"])),
        (Some("bank"), earned),
        "{money}"
    );
    let export = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["payouts", "export", bank["batchId"].as_str().expect("a batch")])
        .env("DATABASE_URL", &app.server.state.config.database_url)
        .output()
        .expect("huakai runs");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let cells = cells_of(&String::from_utf8(export.stdout).expect("utf-8"));
    assert_eq!(cells[1][0], "李小美");
    assert_eq!(
        cells[1][1], "=\"6222021234567890123\"",
        "the host's account number: {cells:?}"
    );
}
