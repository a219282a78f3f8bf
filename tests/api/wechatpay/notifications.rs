//! WeChat Pay's notifications as the shop's route will receive them: forged, stale, unsigned or
//! undecryptable ones refused; duplicates, delays and silences, as WeChat Pay has them.

use std::time::Duration;

use chrono::Utc;
use huakai::infra::money::Fen;
use huakai::payments::wechatpay::TradeState;
use serde_json::json;

use super::{order, setup, transaction_of};
use crate::support::keys::Role;
use crate::support::wechatpay::{Notify, WechatPayStandIn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_unsigned_or_undecryptable_notifications_are_refused() {
    let (stand_in, client, receiver) = setup().await;
    client
        .native_prepay(&order("hk_pay_9101", 700, &receiver.url))
        .await
        .expect("a code");
    let resource = json!({
        "appid": stand_in.appid(), "mchid": stand_in.mchid(), "out_trade_no": "hk_pay_9101",
        "transaction_id": "4200000000000009101", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "success_time": "2024-03-01T10:00:00+08:00", "amount": { "total": 700, "payer_total": 700 },
    });
    let body = stand_in.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", &resource);
    let now = Utc::now().timestamp();
    assert_eq!(stand_in.deliver(&receiver.url, &body, now, Role::Stranger).await, 401);
    assert_eq!(
        stand_in
            .deliver(&receiver.url, &body, now - 301, Role::WechatPlatform)
            .await,
        401
    );
    assert_eq!(
        stand_in
            .deliver(&receiver.url, &body, now + 360, Role::WechatPlatform)
            .await,
        401
    );
    let unsigned = reqwest::Client::new()
        .post(&receiver.url)
        .body(body.clone())
        .send()
        .await
        .expect("an answer");
    assert_eq!(unsigned.status().as_u16(), 401);
    let other_shop = WechatPayStandIn::start().await;
    let foreign = other_shop.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", &resource);
    assert_eq!(
        stand_in
            .deliver(&receiver.url, &foreign, now, Role::WechatPlatform)
            .await,
        400
    );
    assert!(receiver.taken().is_empty(), "nothing taken: {:?}", receiver.answers());

    // The same body, properly signed and in time, is taken and decrypts to the resource.
    assert_eq!(
        stand_in.deliver(&receiver.url, &body, now, Role::WechatPlatform).await,
        204
    );
    let taken = receiver.taken();
    assert_eq!(transaction_of(&taken[0]).total(), Some(Fen::new(700)));
    let kept: serde_json::Value = serde_json::from_str(&taken[0].plaintext).expect("JSON");
    assert_eq!(kept, resource, "the inbox keeps the resource as sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delayed_and_missing_notifications() {
    let (stand_in, client, receiver) = setup().await;
    for no in ["hk_pay_9201", "hk_pay_9202", "hk_pay_9203"] {
        client
            .native_prepay(&order(no, 1999, &receiver.url))
            .await
            .expect("a code");
    }
    stand_in.notify_next(Notify::Twice);
    stand_in.pay("hk_pay_9201").await.expect("paid");
    let twice = receiver.taken();
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[0].id, twice[1].id, "one notification, delivered twice");

    stand_in.notify_next(Notify::After(Duration::from_millis(300)));
    stand_in.pay("hk_pay_9202").await.expect("paid");
    assert_eq!(receiver.taken().len(), 2, "not yet");
    stand_in.settle().await;
    assert_eq!(receiver.taken().len(), 3);
    assert_eq!(transaction_of(&receiver.taken()[2]).out_trade_no, "hk_pay_9202");

    stand_in.notify_next(Notify::Never);
    stand_in.pay("hk_pay_9203").await.expect("paid");
    assert_eq!(receiver.taken().len(), 3, "no notification");
    let asked = client
        .transaction("hk_pay_9203")
        .await
        .expect("an answer")
        .expect("made");
    assert_eq!(asked.trade_state, TradeState::Success, "the shop learns it by asking");
}
