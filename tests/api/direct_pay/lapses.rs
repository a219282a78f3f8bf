//! When a reservation ends unpaid: the trade is closed at WeChat Pay and Alipay, so nobody
//! pays it afterwards; and a payment made before the close but heard of only after the order
//! was cancelled (its notification late) is refunded through the one refund path, once.

use std::time::Duration;

use huakai::accounts::Role;
use serde_json::{Value, json};

use super::{fen_of, place, refund_nos, seen, settles, trade_no};
use crate::orders::assert_ledger_balances;
use crate::support::wechatpay::Notify;
use crate::support::{Backend, TestApp};

/// Reservations of two seconds; no lookups of late notifications, so the late one really is
/// heard of late.
const SETTINGS: &[(&str, &str)] = &[("HUAKAI_RESERVATION_TTL", "2s"), ("HUAKAI_PAYMENT_LOOKUP_AFTER", "1h")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_closes_the_trades_and_a_late_payment_is_refunded() {
    let (app, wechat, alipay) = TestApp::on(Backend::Sqlite)
        .settings(SETTINGS)
        .with_direct()
        .await
        .expect("SQLite");
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;

    // Paid in time, but WeChat Pay's notification comes after the order expired.
    let late = place(&app, &buyer, "late", "WECHAT_PAY", None, None).await;
    let late_id = late["order"]["id"].clone();
    let late_no = trade_no(&app, &late_id).await;
    wechat.notify_next(Notify::After(Duration::from_secs(4)));
    wechat.pay(&late_no).await.expect("the buyer pays in time");

    // Nobody pays these: a WeChat QR code, and an Alipay code scanned and left.
    let unpaid = place(&app, &buyer, "unpaid-wx", "WECHAT_PAY", None, None).await;
    let unpaid_id = unpaid["order"]["id"].clone();
    let unpaid_no = trade_no(&app, &unpaid_id).await;
    let scanned = place(&app, &buyer, "unpaid-ali", "ALIPAY", None, None).await;
    let scanned_id = scanned["order"]["id"].clone();
    let scanned_no = trade_no(&app, &scanned_id).await;
    alipay.scan(&scanned_no).expect("scanned");

    let closed = settles(&app, &buyer, &unpaid_id, "CANCELLED", "FAILED").await;
    assert_eq!(closed["status"], "CANCELLED");
    assert_eq!(closed["payment"]["nextAction"], Value::Null);
    assert_eq!(
        wechat.transaction(&unpaid_no).expect("the trade")["trade_state"],
        "CLOSED"
    );
    assert!(wechat.pay(&unpaid_no).await.is_err(), "nobody can pay a closed trade");
    let closed = settles(&app, &buyer, &scanned_id, "CANCELLED", "FAILED").await;
    assert_eq!(closed["status"], "CANCELLED");
    assert_eq!(
        alipay.trade(&scanned_no).expect("the trade")["trade_status"],
        "TRADE_CLOSED"
    );
    assert!(alipay.pay(&scanned_no).await.is_err(), "nobody can pay a closed trade");

    // The late payment: the order stays cancelled and the money goes back, once.
    wechat.settle().await;
    let refunding = app
        .eventually(
            &buyer,
            super::ORDER,
            json!({ "id": late_id }),
            "the late payment's refund",
            |seen| seen["order"]["payment"]["refundPending"]["amount"] != "0.00",
        )
        .await["order"]
        .clone();
    assert_eq!(refunding["status"], "CANCELLED");
    assert_eq!(
        fen_of(&refunding["payment"]["refundPending"]),
        fen_of(&refunding["total"])
    );
    let numbers = refund_nos(&app, &late_id).await;
    assert_eq!(numbers.len(), 1);
    assert_eq!(wechat.calls("POST /v3/refund/domestic/refunds"), 1);
    wechat.finish_refund(&numbers[0], "SUCCESS").await;
    let refunded = settles(&app, &buyer, &late_id, "CANCELLED", "REFUNDED").await;
    assert_eq!(refunded["status"], "CANCELLED");
    assert_eq!(fen_of(&refunded["payment"]["refunded"]), fen_of(&refunded["total"]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wechat.calls("POST /v3/refund/domestic/refunds"), 1, "refunded once");
    assert_eq!(seen(&app, &buyer, &late_id).await["payment"]["status"], "REFUNDED");
    assert_ledger_balances(&app).await;
}
