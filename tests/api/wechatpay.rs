//! WeChat Pay API v3 paid directly (issue 27): the shop's real client against the WeChat Pay
//! stand-in over HTTP, and the shop's notification checks against what the stand-in sends.
//! Nothing here touches a database.

use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{NaiveDate, Utc};
use huakai::infra::money::Fen;
use huakai::payments::direct::{BEIJING, CallError};
use huakai::payments::wechatpay::notification::{self, Notification, Resource};
use huakai::payments::wechatpay::{
    self, Prepay, RefundRequest, RefundStatus, TradeState, WechatPay, WechatPaySettings,
};
use serde_json::json;

use crate::support::keys::{self, Role};
use crate::support::notify_receiver::{Answer, NotifyReceiver};
use crate::support::wechatpay::{Fault, WechatPayStandIn};

mod notifications;

/// Longer than the client waits: the answer is lost to it.
const LOST: Fault = Fault::LostAnswer(Duration::from_secs(3));

fn client_for(stand_in: &WechatPayStandIn, overrides: &[(&str, String)]) -> WechatPay {
    let mut env = stand_in.env("1s");
    for (name, value) in overrides {
        env.retain(|(existing, _)| existing != name);
        env.push((*name, value.clone()));
    }
    let settings =
        WechatPaySettings::from_lookup(|name| env.iter().find(|(key, _)| *key == name).map(|(_, value)| value.clone()))
            .expect("the stand-in's settings are valid")
            .expect("WeChat Pay is configured");
    WechatPay::new(settings).expect("the client is made")
}

/// The stand-in, the shop's client, and the shop's notification endpoint checking with the
/// shop's own verification.
async fn setup() -> (WechatPayStandIn, WechatPay, NotifyReceiver<Notification>) {
    let stand_in = WechatPayStandIn::start().await;
    let client = client_for(&stand_in, &[]);
    let settings = client.settings().clone();
    let receiver =
        NotifyReceiver::start(
            move |headers: &HeaderMap, body| match notification::verify(&settings, headers, body) {
                Ok(taken) => Answer {
                    status: 204,
                    body: String::new(),
                    taken: Some(taken),
                },
                Err(error) => Answer {
                    status: error.status(),
                    body: notification::failure_body(&error),
                    taken: None,
                },
            },
        )
        .await;
    (stand_in, client, receiver)
}

fn order<'a>(out_trade_no: &'a str, fen: i64, notify_url: &'a str) -> Prepay<'a> {
    Prepay {
        out_trade_no,
        description: "花开助农 - 高山苹果 5斤",
        amount: Fen::new(fen),
        notify_url,
        expires_at: Some(Utc::now() + chrono::Duration::minutes(15)),
    }
}

fn refused_code(error: CallError) -> String {
    match error {
        CallError::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn transaction_of(taken: &Notification) -> &wechatpay::Transaction {
    match &taken.resource {
        Resource::Transaction(transaction) => transaction,
        other => panic!("expected a transaction, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_payment_is_paid_notified_and_looked_up_to_the_fen() {
    let (stand_in, client, receiver) = setup().await;
    let code_url = client
        .native_prepay(&order("hk_pay_1001", 1250, &receiver.url))
        .await
        .expect("a code to scan");
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="), "{code_url}");
    let unpaid = client
        .transaction("hk_pay_1001")
        .await
        .expect("an answer")
        .expect("made");
    assert_eq!(unpaid.trade_state, TradeState::NotPay);
    assert_eq!(unpaid.total(), Some(Fen::new(1250)));

    stand_in.pay("hk_pay_1001").await.expect("the buyer pays");
    let taken = receiver.taken();
    assert_eq!(taken.len(), 1, "one notification, taken: {:?}", receiver.answers());
    assert_eq!(taken[0].event_type, "TRANSACTION.SUCCESS");
    let notified = transaction_of(&taken[0]);
    assert_eq!(notified.trade_state, TradeState::Success);
    assert_eq!(notified.out_trade_no, "hk_pay_1001");
    assert_eq!(notified.total(), Some(Fen::new(1250)));
    assert_eq!(notified.amount.as_ref().and_then(|a| a.payer_total), Some(1250));
    assert_eq!(stand_in.deliveries()[0].status, 204);

    let paid = client
        .transaction("hk_pay_1001")
        .await
        .expect("an answer")
        .expect("made");
    assert!(paid.trade_state.is_paid());
    assert_eq!(paid.transaction_id, notified.transaction_id);
    assert_eq!(client.transaction("hk_pay_none").await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsapi_gives_parameters_signed_as_wx_request_payment_checks_them() {
    let (stand_in, client, receiver) = setup().await;
    let params = client
        .jsapi_prepay(&order("hk_pay_2001", 1, &receiver.url), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        .await
        .expect("parameters for wx.requestPayment");
    assert_eq!(params.app_id, stand_in.appid());
    assert_eq!(params.sign_type, "RSA");
    assert!(params.package.starts_with("prepay_id=wx"), "{}", params.package);
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        params.app_id, params.time_stamp, params.nonce_str, params.package
    );
    assert!(keys::key(Role::WechatMerchant).verifies(message.as_bytes(), &params.pay_sign));
    let as_json = serde_json::to_value(&params).expect("JSON");
    for field in ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"] {
        assert!(as_json.get(field).is_some(), "{field} in {as_json}");
    }
    let made = stand_in.transaction("hk_pay_2001").expect("made");
    assert_eq!(made["amount"]["total"], json!(1));

    let no_openid = client
        .jsapi_prepay(&order("hk_pay_2002", 100, &receiver.url), " ")
        .await;
    assert_eq!(refused_code(no_openid.unwrap_err()), "NOT_SENT");
    assert_eq!(stand_in.calls("POST /v3/pay/transactions/jsapi"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h5_sends_the_buyers_address_and_gives_a_page_to_open() {
    let (stand_in, client, receiver) = setup().await;
    let h5_url = client
        .h5_prepay(
            &order("hk_pay_3001", 4999, &receiver.url),
            "203.0.113.7".parse().expect("an address"),
        )
        .await
        .expect("a page");
    assert!(h5_url.starts_with("https://wx.tenpay.com/"), "{h5_url}");
    stand_in.pay("hk_pay_3001").await.expect("the buyer pays");
    let paid = client
        .transaction("hk_pay_3001")
        .await
        .expect("an answer")
        .expect("made");
    assert_eq!(paid.trade_type.as_deref(), Some("MWEB"));
    assert_eq!(paid.total(), Some(Fen::new(4999)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepay_whose_answer_was_lost_is_found_and_asked_again_to_the_same_code() {
    let (stand_in, client, receiver) = setup().await;
    // Asked again, the request must be the same to the second: its expiry comes from the order.
    let first = order("hk_pay_4001", 880, &receiver.url);
    stand_in.fault_next("POST /v3/pay/transactions/native", LOST);
    let lost = client.native_prepay(&first).await;
    assert!(matches!(lost, Err(CallError::Unknown(_))), "{lost:?}");
    let found = client.transaction("hk_pay_4001").await.expect("an answer");
    assert_eq!(found.map(|t| t.trade_state), Some(TradeState::NotPay));

    let again = client.native_prepay(&first).await.expect("the same prepay");
    let made = stand_in.transaction("hk_pay_4001").expect("made once");
    assert_eq!(made["trade_state"], "NOTPAY");
    assert!(again.starts_with("weixin://"));
    let changed = client
        .native_prepay(&Prepay {
            amount: Fen::new(881),
            ..first
        })
        .await;
    assert_eq!(refused_code(changed.unwrap_err()), "INVALID_REQUEST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_stops_a_payment_and_a_paid_one_cannot_be_closed() {
    let (stand_in, client, receiver) = setup().await;
    client
        .native_prepay(&order("hk_pay_5001", 300, &receiver.url))
        .await
        .expect("a code");
    client.close("hk_pay_5001").await.expect("closed");
    let closed = client
        .transaction("hk_pay_5001")
        .await
        .expect("an answer")
        .expect("made");
    assert_eq!(closed.trade_state, TradeState::Closed);
    assert!(
        stand_in.pay("hk_pay_5001").await.is_err(),
        "a closed order cannot be paid"
    );
    assert!(receiver.answers().is_empty());

    client
        .native_prepay(&order("hk_pay_5002", 300, &receiver.url))
        .await
        .expect("a code");
    stand_in.pay("hk_pay_5002").await.expect("paid");
    assert_eq!(
        refused_code(client.close("hk_pay_5002").await.unwrap_err()),
        "ORDERPAID"
    );

    // Closing while the buyer is entering a password: not done, and the buyer may still pay.
    client
        .native_prepay(&order("hk_pay_5003", 300, &receiver.url))
        .await
        .expect("a code");
    stand_in.fault_next(
        "POST /v3/pay/transactions/out-trade-no/hk_pay_5003/close",
        Fault::BuyerPaying,
    );
    assert!(matches!(client.close("hk_pay_5003").await, Err(CallError::Unknown(_))));
    stand_in.pay("hk_pay_5003").await.expect("paid after all");
    let paid = client
        .transaction("hk_pay_5003")
        .await
        .expect("an answer")
        .expect("made");
    assert_eq!(paid.trade_state, TradeState::Success, "the lookup tells what happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_answer_was_lost_is_found_by_its_number_never_sent_twice() {
    let (stand_in, client, receiver) = setup().await;
    client
        .native_prepay(&order("hk_pay_6001", 1250, &receiver.url))
        .await
        .expect("a code");
    stand_in.pay("hk_pay_6001").await.expect("paid");
    let request = RefundRequest {
        out_trade_no: "hk_pay_6001",
        out_refund_no: "hk_refund_6001",
        amount: Fen::new(305),
        paid_total: Fen::new(1250),
        reason: Some("一箱有坏果"),
        notify_url: Some(&receiver.url),
    };
    stand_in.fault_next("POST /v3/refund/domestic/refunds", LOST);
    let lost = client.refund_once(&request, false).await;
    assert!(matches!(lost, Err(CallError::Unknown(_))), "{lost:?}");
    let found = client.refund_once(&request, true).await.expect("the refund, found");
    assert_eq!(found.status, RefundStatus::Processing);
    assert_eq!(found.amount(), Fen::new(305));
    assert_eq!(stand_in.calls("POST /v3/refund/domestic/refunds"), 1, "sent once");
    assert_eq!(stand_in.calls("GET /v3/refund/domestic/refunds/hk_refund_6001"), 1);

    stand_in.finish_refund("hk_refund_6001", "SUCCESS").await;
    let taken = receiver.taken();
    let refund_notice = taken
        .iter()
        .find(|n| n.event_type == "REFUND.SUCCESS")
        .expect("REFUND.SUCCESS");
    match &refund_notice.resource {
        Resource::Refund(notice) => {
            assert_eq!(notice.refund_status, RefundStatus::Success);
            assert_eq!(notice.out_refund_no, "hk_refund_6001");
            assert_eq!((notice.amount.refund, notice.amount.total), (305, 1250));
        }
        other => panic!("expected a refund, got {other:?}"),
    }
    let ended = client
        .find_refund("hk_refund_6001")
        .await
        .expect("an answer")
        .expect("there");
    assert_eq!(ended.status, RefundStatus::Success);

    // A 500 after the work: also settled by asking, not by sending again.
    let second = RefundRequest {
        out_refund_no: "hk_refund_6002",
        amount: Fen::new(945),
        ..request
    };
    stand_in.fault_next("POST /v3/refund/domestic/refunds", Fault::ServerErrorAfterWork);
    assert!(matches!(
        client.refund_once(&second, false).await,
        Err(CallError::Unknown(_))
    ));
    let found = client.refund_once(&second, true).await.expect("found");
    assert_eq!(found.amount(), Fen::new(945));
    assert_eq!(stand_in.calls("POST /v3/refund/domestic/refunds"), 2);
    let too_much = RefundRequest {
        out_refund_no: "hk_refund_6003",
        amount: Fen::new(1),
        ..request
    };
    assert_eq!(
        refused_code(client.refund(&too_much).await.unwrap_err()),
        "INVALID_REQUEST"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_definite_and_unknown_numbers_are_none() {
    let (stand_in, client, receiver) = setup().await;
    client
        .native_prepay(&order("hk_pay_7001", 500, &receiver.url))
        .await
        .expect("a code");
    let unpaid = RefundRequest {
        out_trade_no: "hk_pay_7001",
        out_refund_no: "hk_refund_7001",
        amount: Fen::new(500),
        paid_total: Fen::new(500),
        reason: None,
        notify_url: None,
    };
    assert_eq!(
        refused_code(client.refund(&unpaid).await.unwrap_err()),
        "INVALID_REQUEST"
    );
    let more_than_paid = RefundRequest {
        amount: Fen::new(501),
        ..unpaid.clone()
    };
    assert_eq!(
        refused_code(client.refund(&more_than_paid).await.unwrap_err()),
        "NOT_SENT"
    );
    assert_eq!(client.find_refund("hk_refund_none").await, Ok(None));
    let bad_number = client.transaction("../v3/bill").await;
    assert_eq!(refused_code(bad_number.unwrap_err()), "NOT_SENT");
    let free = client.native_prepay(&order("hk_pay_7002", 0, &receiver.url)).await;
    assert_eq!(refused_code(free.unwrap_err()), "NOT_SENT");
    assert_eq!(stand_in.calls("POST /v3/refund/domestic/refunds"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_not_signed_by_the_platform_key_is_an_unknown_outcome() {
    let (stand_in, client, receiver) = setup().await;
    stand_in.fault_next("POST /v3/pay/transactions/native", Fault::ForgedAnswer);
    let forged = client.native_prepay(&order("hk_pay_8001", 100, &receiver.url)).await;
    match forged {
        Err(CallError::Unknown(reason)) => assert!(reason.contains("does not verify"), "{reason}"),
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_a_request_signed_with_another_key_as_wechat_pay_does() {
    let (stand_in, _client, receiver) = setup().await;
    let (stranger_private, _) = stand_in.stranger_key_files();
    let misconfigured = client_for(&stand_in, &[(wechatpay::PRIVATE_KEY, stranger_private)]);
    let refused = misconfigured
        .native_prepay(&order("hk_pay_9001", 100, &receiver.url))
        .await;
    match refused {
        Err(CallError::Unknown(reason)) => assert!(reason.contains("401") && reason.contains("SIGN_ERROR"), "{reason}"),
        other => panic!("expected our keys' failure, got {other:?}"),
    }
    assert!(stand_in.transaction("hk_pay_9001").is_none(), "nothing was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_trade_bill_reconciles_to_the_fen() {
    let (stand_in, client, receiver) = setup().await;
    for (no, fen) in [("hk_pay_9301", 1250), ("hk_pay_9302", 999)] {
        client
            .native_prepay(&order(no, fen, &receiver.url))
            .await
            .expect("a code");
        stand_in.pay(no).await.expect("paid");
    }
    let refund = RefundRequest {
        out_trade_no: "hk_pay_9301",
        out_refund_no: "hk_refund_9301",
        amount: Fen::new(305),
        paid_total: Fen::new(1250),
        reason: None,
        notify_url: None,
    };
    client.refund(&refund).await.expect("refunded");
    let paid_at = stand_in.transaction("hk_pay_9301").expect("made")["success_time"]
        .as_str()
        .expect("a time")[..10]
        .to_owned();
    let day = NaiveDate::parse_from_str(&paid_at, "%Y-%m-%d").expect("a date");

    let bill = client.trade_bill(day).await.expect("the bill");
    assert_eq!(bill.rows.len(), 3);
    let payment = bill
        .rows
        .iter()
        .find(|row| row.out_trade_no == "hk_pay_9302")
        .expect("a line");
    assert_eq!(
        (payment.trade_state.as_str(), payment.settlement_total),
        ("SUCCESS", Fen::new(999))
    );
    assert_eq!(payment.fee, Fen::new(6));
    let refunded = bill
        .rows
        .iter()
        .find(|row| row.trade_state == "REFUND")
        .expect("a refund line");
    assert_eq!(refunded.out_refund_no.as_deref(), Some("hk_refund_9301"));
    assert_eq!((refunded.refund, refunded.fee), (Fen::new(305), Fen::new(-2)));
    assert_eq!(bill.summary.count, 3);
    assert_eq!(bill.summary.settlement_total, Fen::new(2249));
    assert_eq!(bill.summary.refund_total, Fen::new(305));
    assert_eq!(bill.summary.fee_total, Fen::new(8 + 6 - 2));
    let sum: Fen = bill.rows.iter().map(|row| row.settlement_total).sum();
    assert_eq!(sum, bill.summary.settlement_total);

    stand_in.corrupt_next_bill();
    match client.trade_bill(day).await {
        Err(CallError::Unknown(reason)) => assert!(reason.contains("SHA-1"), "{reason}"),
        other => panic!("a cut file must not be read: {other:?}"),
    }
    let tomorrow = Utc::now().with_timezone(&BEIJING).date_naive() + chrono::Days::new(1);
    assert_eq!(
        refused_code(client.trade_bill(tomorrow).await.unwrap_err()),
        "PARAM_ERROR"
    );
    let quiet_day = day - chrono::Days::new(30);
    assert_eq!(
        refused_code(client.trade_bill(quiet_day).await.unwrap_err()),
        "NO_STATEMENT_EXIST"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_name_the_variable_that_is_wrong() {
    let stand_in = WechatPayStandIn::start().await;
    let env = stand_in.env("30s");
    let with = |name: &str, value: &str| {
        let env = env.clone();
        let (name, value) = (name.to_owned(), value.to_owned());
        move |wanted: &str| {
            if wanted == name {
                return Some(value.clone());
            }
            env.iter().find(|(key, _)| *key == wanted).map(|(_, v)| v.clone())
        }
    };
    let (_, stranger_public) = stand_in.stranger_key_files();
    // A public key where the private one belongs, and the other way round.
    let swapped = WechatPaySettings::from_lookup(with(wechatpay::PRIVATE_KEY, &stranger_public)).unwrap_err();
    assert_eq!(swapped.name, wechatpay::PRIVATE_KEY);
    let (stranger_private, _) = stand_in.stranger_key_files();
    let swapped = WechatPaySettings::from_lookup(with(wechatpay::PLATFORM_PUBLIC_KEY, &stranger_private)).unwrap_err();
    assert_eq!(swapped.name, wechatpay::PLATFORM_PUBLIC_KEY);
    let bad_base = WechatPaySettings::from_lookup(with(wechatpay::API_BASE, "api.mch.weixin.qq.com")).unwrap_err();
    assert_eq!(bad_base.name, wechatpay::API_BASE);
    let settings = WechatPaySettings::from_lookup(with("UNUSED", ""))
        .expect("valid")
        .expect("configured");
    assert_eq!(settings.api_base, stand_in.base_url);
    assert!(!format!("{settings:?}").contains(&env.iter().find(|(k, _)| *k == wechatpay::APIV3_KEY).expect("set").1));
}
