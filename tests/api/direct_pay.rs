//! WeChat Pay and Alipay paid directly (issue 27), end to end: a buyer places an order through
//! GraphQL, gets what its app must do next (`Payment.nextAction`), pays at the provider's
//! stand-in, and the stand-in's signed notification (or the shop's lookup, when it never comes)
//! makes the order PAID once; refunds go to the stand-in once; an order cancelled unpaid has its
//! trade closed, and a payment that came anyway is refunded. WeChat Pay here, Alipay in
//! `alipay`, expiry and late payments in `lapses`.

mod alipay;
mod lapses;

use std::time::Duration;

use huakai::accounts::Role;
use huakai::inventory::entity::stock_movement;
use huakai::payments::entity::{refund, webhook_event};
use huakai::payments::records::payment_of;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::orders::{assert_ledger_balances, order_row};
use crate::support::keys::{self, Role as KeyRole};
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::wechatpay::{Fault, Notify};
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(a_wechat_qr_payment_is_paid_once_and_refunded_once);

pub const ORDER: &str = "query($id: ID!) { order(id: $id) { status total { amount }
    payment { provider status amount { amount } refunded { amount } refundPending { amount }
              nextAction { kind codeUrl redirectUrl jsapiParams } } } }";

pub const REFUND: &str = "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) {
    order { status payment { status refunded { amount } refundPending { amount } } } userErrors { field code } } }";

/// Places an order of one lily paid by `method` through `channel`; the `placeOrder` payload.
pub async fn place(
    app: &TestApp,
    buyer: &Actor,
    key: &str,
    method: &str,
    channel: Option<&str>,
    openid: Option<&str>,
) -> Value {
    let (lily, _) = variants(app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("lily");
    let mut input = order_input(json!([{ "variantId": lily, "quantity": 1 }]), key);
    input["input"]["paymentMethod"] = json!(method);
    if let Some(channel) = channel {
        input["input"]["paymentChannel"] = json!(channel);
    }
    if let Some(openid) = openid {
        input["input"]["payerOpenId"] = json!(openid);
    }
    app.query_as(buyer, PLACE, input).await["placeOrder"].clone()
}

/// The order's trade number at the provider (`hk_pay_{payment id}`).
pub async fn trade_no(app: &TestApp, order_id: &Value) -> String {
    let payment = payment_of(app.db(), order_row(order_id))
        .await
        .expect("database")
        .expect("a payment");
    format!("hk_pay_{}", payment.id.0)
}

/// The order's refunds' numbers at the provider, oldest first.
pub async fn refund_nos(app: &TestApp, order_id: &Value) -> Vec<String> {
    let payment = payment_of(app.db(), order_row(order_id))
        .await
        .expect("database")
        .expect("a payment");
    refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment.id))
        .order_by_asc(refund::Column::Id)
        .all(app.db())
        .await
        .expect("refunds")
        .iter()
        .map(|row| format!("hk_refund_{}", row.id.0))
        .collect()
}

pub async fn seen(app: &TestApp, buyer: &Actor, order_id: &Value) -> Value {
    app.query_as(buyer, ORDER, json!({ "id": order_id })).await["order"].clone()
}

/// Waits (10 s at most) for the order to be `status` and its payment `payment_status`.
pub async fn settles(app: &TestApp, buyer: &Actor, order_id: &Value, status: &str, payment_status: &str) -> Value {
    let what = format!("{order_id} becoming {status} with its payment {payment_status}");
    app.eventually(buyer, ORDER, json!({ "id": order_id }), &what, |seen| {
        seen["order"]["status"] == status && seen["order"]["payment"]["status"] == payment_status
    })
    .await["order"]
        .clone()
}

pub fn fen_of(money: &Value) -> i64 {
    crate::support::fen(money)
}

async fn a_wechat_qr_payment_is_paid_once_and_refunded_once(backend: Backend) {
    let Some((app, wechat, _alipay)) = TestApp::on(backend).with_direct().await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let placed = place(&app, &buyer, "wx-1", "WECHAT_PAY", None, None).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    let order = seen(&app, &buyer, &order_id).await;
    assert_eq!(order["payment"]["provider"], "wechatpay");
    assert_eq!(order["payment"]["status"], "REQUIRES_PAYMENT");
    let action = &order["payment"]["nextAction"];
    assert_eq!(action["kind"], "SHOW_QR_CODE");
    assert!(
        action["codeUrl"]
            .as_str()
            .expect("a code")
            .starts_with("weixin://wxpay/bizpayurl?pr="),
        "{action}"
    );
    assert_eq!(action["redirectUrl"], Value::Null);
    let number = trade_no(&app, &order_id).await;
    let trade = wechat.transaction(&number).expect("the trade is made at WeChat Pay");
    assert_eq!(trade["amount"]["total"], json!(fen_of(&order["total"])), "to the fen");
    assert_eq!(trade["trade_state"], "NOTPAY");

    // placeOrder again with the same key: the same order, no second trade.
    let again = place(&app, &buyer, "wx-1", "WECHAT_PAY", None, None).await;
    assert_eq!(again["order"]["id"], order_id);
    assert_eq!(wechat.calls("POST /v3/pay/transactions/native"), 1);

    // Forged and stale notifications: refused, and nothing changes.
    let notify_url = app.url("/webhooks/wechatpay");
    let mut paid_resource = trade.clone();
    paid_resource["trade_state"] = json!("SUCCESS");
    let body = wechat.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", &paid_resource);
    let now = chrono::Utc::now().timestamp();
    assert_eq!(wechat.deliver(&notify_url, &body, now, KeyRole::Stranger).await, 401);
    assert_eq!(
        wechat
            .deliver(&notify_url, &body, now - 600, KeyRole::WechatPlatform)
            .await,
        401
    );
    let unsigned = app
        .http()
        .post(&notify_url)
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(unsigned.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen(&app, &buyer, &order_id).await["status"], "PENDING_PAYMENT");
    assert_eq!(webhook_event::Entity::find().count(app.db()).await.expect("count"), 0);

    // The buyer pays; the notification comes twice: PAID once.
    let refused = wechat.deliveries().len();
    wechat.notify_next(Notify::Twice);
    wechat.pay(&number).await.expect("the buyer pays");
    let paid = settles(&app, &buyer, &order_id, "PAID", "SUCCEEDED").await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["payment"]["nextAction"], Value::Null, "nothing left to do");
    let deliveries = wechat.deliveries().split_off(refused);
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|delivery| delivery.status == 204),
        "{deliveries:?}"
    );
    let movements = stock_movement::Entity::find().count(app.db()).await.expect("count");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stock_movement::Entity::find().count(app.db()).await.expect("count"),
        movements,
        "applied once"
    );

    // A partial refund whose answer is lost: looked up, never sent twice; WeChat Pay's
    // notification of its end settles it.
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    wechat.fault_next(
        "POST /v3/refund/domestic/refunds",
        Fault::LostAnswer(Duration::from_secs(3)),
    );
    let partial = app
        .query_as(&operator, REFUND, json!({ "id": order_id, "amount": "10.00" }))
        .await;
    assert_eq!(partial["refundOrder"]["userErrors"], json!([]), "{partial}");
    assert_eq!(
        partial["refundOrder"]["order"]["payment"]["refundPending"]["amount"],
        "10.00"
    );
    let numbers = refund_nos(&app, &order_id).await;
    assert_eq!(numbers.len(), 1);
    let made = wechat.refund(&numbers[0]).expect("the refund reached WeChat Pay");
    assert_eq!(made["amount"]["refund"], json!(1000));
    assert_eq!(made["amount"]["total"], json!(fen_of(&order["total"])));
    // The worker looks the refund up once the lost call has had time to end.
    for _ in 0..100 {
        if wechat.calls(&format!("GET /v3/refund/domestic/refunds/{}", numbers[0])) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(wechat.calls("POST /v3/refund/domestic/refunds"), 1, "sent once");
    wechat.finish_refund(&numbers[0], "SUCCESS").await;
    let refunded = settles(&app, &buyer, &order_id, "PAID", "PARTIALLY_REFUNDED").await;
    assert_eq!(refunded["payment"]["refunded"]["amount"], "10.00");
    assert_eq!(refunded["payment"]["refundPending"]["amount"], "0.00");
    assert_ledger_balances(&app).await;
}

/// JSAPI needs the buyer's openid (the same key with it then starts the payment) and gives
/// parameters `wx.requestPayment` takes, signed with the merchant key; H5 sends the browser to
/// WeChat's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_jsapi_and_h5_give_the_buyer_app_what_it_needs() {
    let (app, wechat, _alipay) = TestApp::on(Backend::Sqlite).with_direct().await.expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let without = place(&app, &buyer, "wx-jsapi", "WECHAT_PAY", Some("JSAPI"), None).await;
    assert_eq!(without["userErrors"][0]["code"], "INVALID_INPUT", "{without}");
    assert_eq!(without["userErrors"][0]["field"], json!(["input", "payerOpenId"]));
    let order_id = without["order"]["id"].clone();
    assert_eq!(
        seen(&app, &buyer, &order_id).await["payment"]["nextAction"],
        Value::Null
    );

    let openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    let with = place(&app, &buyer, "wx-jsapi", "WECHAT_PAY", Some("JSAPI"), Some(openid)).await;
    assert_eq!(with["userErrors"], json!([]), "{with}");
    assert_eq!(with["order"]["id"], order_id, "the same order");
    let action = seen(&app, &buyer, &order_id).await["payment"]["nextAction"].clone();
    assert_eq!(action["kind"], "INVOKE_JSAPI");
    let params: Value = serde_json::from_str(action["jsapiParams"].as_str().expect("params")).expect("JSON");
    assert_eq!(params["appId"], wechat.appid());
    assert!(
        params["package"].as_str().expect("package").starts_with("prepay_id=wx"),
        "{params}"
    );
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        params["appId"].as_str().expect("appId"),
        params["timeStamp"].as_str().expect("timeStamp"),
        params["nonceStr"].as_str().expect("nonceStr"),
        params["package"].as_str().expect("package"),
    );
    let signature = params["paySign"].as_str().expect("paySign");
    assert!(keys::key(KeyRole::WechatMerchant).verifies(message.as_bytes(), signature));
    let number = trade_no(&app, &order_id).await;
    assert!(wechat.transaction(&number).is_some(), "the trade is made");
    assert_eq!(
        wechat.calls("POST /v3/pay/transactions/jsapi"),
        1,
        "not sent without the openid"
    );

    let h5 = place(&app, &buyer, "wx-h5", "WECHAT_PAY", Some("H5"), None).await;
    assert_eq!(h5["userErrors"], json!([]), "{h5}");
    let action = seen(&app, &buyer, &h5["order"]["id"]).await["payment"]["nextAction"].clone();
    assert_eq!(action["kind"], "REDIRECT");
    assert!(
        action["redirectUrl"]
            .as_str()
            .expect("a URL")
            .starts_with("https://wx.tenpay.com/"),
        "{action}"
    );
    assert_eq!(action["codeUrl"], Value::Null);

    // Someone else sees no next action.
    let other = app.user("other@example.com", Role::Admin, None).await;
    assert_eq!(
        seen(&app, &other, &order_id).await["payment"]["nextAction"],
        Value::Null
    );
}

/// The notification never comes: the shop asks WeChat Pay by the trade number and the order is
/// paid all the same, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_wechat_notification_is_recovered_by_looking_the_trade_up() {
    let (app, wechat, _alipay) = TestApp::on(Backend::Sqlite).with_direct().await.expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let placed = place(&app, &buyer, "wx-lost", "WECHAT_PAY", None, None).await;
    let order_id = placed["order"]["id"].clone();
    let number = trade_no(&app, &order_id).await;
    wechat.notify_next(Notify::Never);
    wechat.pay(&number).await.expect("the buyer pays");
    assert!(wechat.deliveries().is_empty());
    let paid = settles(&app, &buyer, &order_id, "PAID", "SUCCEEDED").await;
    assert_eq!(paid["status"], "PAID");
    assert!(wechat.calls(&format!("GET /v3/pay/transactions/out-trade-no/{number}")) >= 1);
    assert_ledger_balances(&app).await;
}

/// Neither the notification nor a lookup came: `payments reconcile` reads WeChat Pay's trade
/// bill and pays the order it shows paid, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_pays_what_the_wechat_trade_bill_shows() {
    let settings = [("HUAKAI_PAYMENT_LOOKUP_AFTER", "1h")];
    let (app, wechat, _alipay) = TestApp::on(Backend::Sqlite)
        .settings(&settings)
        .with_direct()
        .await
        .expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let placed = place(&app, &buyer, "wx-bill", "WECHAT_PAY", None, None).await;
    let order_id = placed["order"]["id"].clone();
    let number = trade_no(&app, &order_id).await;
    wechat.notify_next(Notify::Never);
    wechat.pay(&number).await.expect("the buyer pays");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen(&app, &buyer, &order_id).await["status"], "PENDING_PAYMENT");

    let shop = crate::money_rules::shop(&app, None);
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let found = huakai::payments::reconcile::reconcile(&shop, since)
        .await
        .expect("reconciles");
    assert_eq!(found.repaired, 1, "{found:?}");
    assert!(wechat.calls("GET /v3/bill/tradebill") >= 1);
    assert_eq!(
        wechat.calls(&format!("GET /v3/pay/transactions/out-trade-no/{number}")),
        0,
        "the bill showed it paid: no lookup needed"
    );
    let paid = settles(&app, &buyer, &order_id, "PAID", "SUCCEEDED").await;
    assert_eq!(paid["payment"]["nextAction"], Value::Null);
    let again = huakai::payments::reconcile::reconcile(&shop, since)
        .await
        .expect("reconciles");
    assert_eq!(again.repaired, 0, "paid once");
}
