//! Alipay paid directly, end to end: a QR code (precreate) and a phone browser's redirect (wap
//! pay), each paid at the stand-in and notified; a duplicate notification is harmless, a forged
//! one refused with nothing changed; the operator's refund reaches Alipay once.

use std::time::Duration;

use huakai::accounts::Role;
use huakai::inventory::entity::stock_movement;
use huakai::payments::entity::webhook_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::{REFUND, fen_of, place, seen, settles, trade_no};
use crate::on_each_backend;
use crate::orders::assert_ledger_balances;
use crate::support::alipay::Notify;
use crate::support::keys::Role as KeyRole;
use crate::support::{Backend, TestApp};

on_each_backend!(an_alipay_qr_payment_is_paid_once_and_refunded_once);

async fn an_alipay_qr_payment_is_paid_once_and_refunded_once(backend: Backend) {
    let Some((app, _wechat, alipay)) = TestApp::on(backend).with_direct().await else {
        return;
    };
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let placed = place(&app, &buyer, "ali-1", "ALIPAY", None, None).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    let order = seen(&app, &buyer, &order_id).await;
    assert_eq!(order["payment"]["provider"], "alipay");
    let action = &order["payment"]["nextAction"];
    assert_eq!(action["kind"], "SHOW_QR_CODE");
    assert!(
        action["codeUrl"]
            .as_str()
            .expect("a code")
            .starts_with("https://qr.alipay.com/"),
        "{action}"
    );
    let number = trade_no(&app, &order_id).await;
    alipay.scan(&number).expect("the buyer scans the code");
    let trade = alipay.trade(&number).expect("the trade");
    assert_eq!(trade["total_amount"], order["total"]["amount"], "to the fen");

    // A notification signed by someone else: refused, nothing changes.
    let notify_url = app.url("/webhooks/alipay");
    let mut forged = alipay.notification_params(&number);
    for (name, value) in &mut forged {
        if name == "trade_status" {
            *value = "TRADE_SUCCESS".to_owned();
        }
    }
    let forged = alipay.sign(forged, KeyRole::Stranger);
    let (status, body) = alipay.post_form(&notify_url, &forged).await;
    assert_eq!((status, body.as_str()), (401, "fail"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen(&app, &buyer, &order_id).await["status"], "PENDING_PAYMENT");
    assert_eq!(webhook_event::Entity::find().count(app.db()).await.expect("count"), 0);

    // Paid, notified twice: PAID once, and Alipay got its "success" each time.
    let refused = alipay.deliveries().len();
    alipay.notify_next(Notify::Twice);
    alipay.pay(&number).await.expect("the buyer pays");
    let paid = settles(&app, &buyer, &order_id, "PAID", "SUCCEEDED").await;
    assert_eq!(paid["status"], "PAID");
    assert_eq!(paid["payment"]["nextAction"], Value::Null);
    let deliveries = alipay.deliveries().split_off(refused);
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery.status == 200 && delivery.acknowledged),
        "{deliveries:?}"
    );
    let movements = stock_movement::Entity::find().count(app.db()).await.expect("count");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stock_movement::Entity::find().count(app.db()).await.expect("count"),
        movements,
        "applied once"
    );

    // The operator refunds it all: one refund at Alipay, the order REFUNDED.
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let refunded = app.query_as(&operator, REFUND, json!({ "id": order_id })).await;
    assert_eq!(refunded["refundOrder"]["userErrors"], json!([]), "{refunded}");
    let refunded = &refunded["refundOrder"]["order"];
    assert_eq!(refunded["status"], "REFUNDED");
    assert_eq!(refunded["payment"]["status"], "REFUNDED");
    assert_eq!(fen_of(&refunded["payment"]["refunded"]), fen_of(&order["total"]));
    assert_eq!(alipay.calls("alipay.trade.refund"), 1);
    // Alipay's notification of the refund changes nothing more.
    alipay.settle().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = seen(&app, &buyer, &order_id).await;
    assert_eq!(after["payment"]["status"], "REFUNDED");
    assert_eq!(alipay.calls("alipay.trade.refund"), 1, "sent once");
    assert_ledger_balances(&app).await;
}

/// A phone's browser is sent to Alipay's cashier with a signed URL; opening it makes the trade,
/// and paying there pays the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_wap_pay_redirects_the_browser_and_is_paid() {
    let (app, _wechat, alipay) = TestApp::on(Backend::Sqlite).with_direct().await.expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let placed = place(&app, &buyer, "ali-wap", "ALIPAY", Some("H5"), None).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order_id = placed["order"]["id"].clone();
    let action = seen(&app, &buyer, &order_id).await["payment"]["nextAction"].clone();
    assert_eq!(action["kind"], "REDIRECT");
    let url = action["redirectUrl"].as_str().expect("a URL");
    assert!(url.starts_with(&alipay.gateway), "{url}");
    let cashier = app.http().get(url).send().await.expect("the cashier opens");
    let page = cashier.text().await.expect("a page");
    assert!(
        page.contains("支付宝收银台"),
        "the signed URL opens the cashier: {page}"
    );
    let number = trade_no(&app, &order_id).await;
    alipay.pay(&number).await.expect("the buyer pays");
    let paid = settles(&app, &buyer, &order_id, "PAID", "SUCCEEDED").await;
    assert_eq!(paid["status"], "PAID");

    // Alipay has no JSAPI: refused, and the order waits for another way to pay.
    let jsapi = place(&app, &buyer, "ali-jsapi", "ALIPAY", Some("JSAPI"), Some("openid")).await;
    assert_eq!(jsapi["userErrors"][0]["code"], "INVALID_INPUT", "{jsapi}");
    assert_eq!(jsapi["userErrors"][0]["field"], json!(["input", "paymentChannel"]));
}
