//! Alipay paid directly (issue 27): the shop's real client against the Alipay stand-in over
//! HTTP, and the shop's notification checks against what the stand-in sends. Nothing here
//! touches a database.

use std::time::Duration;

use chrono::Utc;
use huakai::infra::money::Fen;
use huakai::payments::alipay::notification::{self, TradeNotice};
use huakai::payments::alipay::{self, Alipay, AlipaySettings, Closed, RefundRequest, TradeRequest, TradeStatus};
use huakai::payments::direct::CallError;

use crate::support::alipay::{AlipayStandIn, Fault, Notify};
use crate::support::keys::Role;
use crate::support::notify_receiver::{Answer, NotifyReceiver};

/// Longer than the client waits: the answer is lost to it.
const LOST: Fault = Fault::LostAnswer(Duration::from_secs(3));

fn client_for(stand_in: &AlipayStandIn, overrides: &[(&str, String)]) -> Result<Alipay, String> {
    let mut env = stand_in.env("1s");
    for (name, value) in overrides {
        env.retain(|(existing, _)| existing != name);
        env.push((*name, value.clone()));
    }
    let settings =
        AlipaySettings::from_lookup(|name| env.iter().find(|(key, _)| *key == name).map(|(_, value)| value.clone()))
            .map_err(|error| error.to_string())?
            .expect("Alipay is configured");
    Alipay::new(settings)
}

/// The stand-in, the shop's client, and the shop's notification endpoint checking with the
/// shop's own verification.
async fn setup() -> (AlipayStandIn, Alipay, NotifyReceiver<TradeNotice>) {
    let stand_in = AlipayStandIn::start().await;
    let client = client_for(&stand_in, &[]).expect("the client is made");
    let settings = client.settings().clone();
    let receiver = NotifyReceiver::start(move |_headers, body| match notification::verify(&settings, body) {
        Ok(taken) => Answer {
            status: 200,
            body: notification::ACKNOWLEDGED.to_owned(),
            taken: Some(taken),
        },
        Err(error) => Answer {
            status: error.status(),
            body: "fail".to_owned(),
            taken: None,
        },
    })
    .await;
    (stand_in, client, receiver)
}

fn trade<'a>(out_trade_no: &'a str, fen: i64, notify_url: &'a str) -> TradeRequest<'a> {
    TradeRequest {
        out_trade_no,
        subject: "花开助农 - 高山苹果 5斤",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_precreated_code_exists_once_scanned_and_is_paid_and_notified_to_the_fen() {
    let (stand_in, client, receiver) = setup().await;
    let qr_code = client
        .precreate(&trade("hk_pay_1001", 1250, &receiver.url))
        .await
        .expect("a code");
    assert!(
        qr_code.starts_with("https://qr.alipay.com/bax"),
        "escaped slashes read back: {qr_code}"
    );
    assert_eq!(
        client.query("hk_pay_1001").await,
        Ok(None),
        "not scanned: unknown at Alipay"
    );

    stand_in.scan("hk_pay_1001").expect("scanned");
    let waiting = client.query("hk_pay_1001").await.expect("an answer").expect("there");
    assert_eq!(
        (waiting.status, waiting.total),
        (TradeStatus::WaitBuyerPay, Fen::new(1250))
    );

    stand_in.pay("hk_pay_1001").await.expect("the buyer pays");
    let taken = receiver.taken();
    assert_eq!(taken.len(), 1, "{:?}", receiver.answers());
    assert_eq!(taken[0].trade_status, TradeStatus::Success);
    assert_eq!(taken[0].out_trade_no, "hk_pay_1001");
    assert_eq!(
        (taken[0].total, taken[0].receipt),
        (Fen::new(1250), Some(Fen::new(1250)))
    );
    assert!(stand_in.deliveries()[0].acknowledged, "the shop answered success");

    let paid = client.query("hk_pay_1001").await.expect("an answer").expect("there");
    assert!(paid.status.is_paid());
    assert_eq!(paid.buyer_pay, Some(Fen::new(1250)));
    assert_eq!(paid.trade_no.as_deref(), Some(taken[0].trade_no.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscanned_code_cannot_be_closed_but_lapses_at_its_expiry() {
    let (stand_in, client, receiver) = setup().await;
    let short = TradeRequest {
        expires_at: Some(Utc::now() + chrono::Duration::seconds(2)),
        ..trade("hk_pay_1101", 800, &receiver.url)
    };
    client.precreate(&short).await.expect("a code");
    assert_eq!(client.close("hk_pay_1101").await, Ok(Closed::NeverOpened));
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert!(stand_in.scan("hk_pay_1101").is_err(), "the code lapsed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wap_payment_is_a_signed_url_the_cashier_checks() {
    let (stand_in, client, receiver) = setup().await;
    let url = client
        .wap_pay_url(
            &trade("hk_pay_2001", 1, &receiver.url),
            Some("https://shop.example/orders/2001"),
            Some("https://shop.example/cart"),
        )
        .expect("a URL");
    assert!(url.starts_with(&stand_in.gateway), "{url}");
    let browser = reqwest::Client::new();
    let page = browser
        .get(&url)
        .send()
        .await
        .expect("the cashier")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("收银台"), "{page}");
    let opened = client.query("hk_pay_2001").await.expect("an answer").expect("made");
    assert_eq!((opened.status, opened.total), (TradeStatus::WaitBuyerPay, Fen::new(1)));

    let tampered = url.replace("%220.01%22", "%220.02%22");
    assert_ne!(tampered, url, "the amount is in the URL");
    let refused = browser
        .get(&tampered)
        .send()
        .await
        .expect("the cashier")
        .text()
        .await
        .expect("a page");
    assert!(refused.contains("invalid-signature"), "{refused}");

    stand_in.pay("hk_pay_2001").await.expect("paid");
    assert_eq!(receiver.taken()[0].total, Fen::new(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_answer_was_lost_is_found_by_its_number_never_sent_twice() {
    let (stand_in, client, receiver) = setup().await;
    client
        .precreate(&trade("hk_pay_3001", 1250, &receiver.url))
        .await
        .expect("a code");
    stand_in.pay("hk_pay_3001").await.expect("paid");
    let first = RefundRequest {
        out_trade_no: "hk_pay_3001",
        out_request_no: "hk_refund_3001",
        amount: Fen::new(305),
        reason: Some("一箱有坏果"),
    };
    stand_in.fault_next("alipay.trade.refund", LOST);
    assert!(matches!(
        client.refund_once(&first, false).await,
        Err(CallError::Unknown(_))
    ));
    let found = client.refund_once(&first, true).await.expect("found");
    assert_eq!(found.amount, Fen::new(305));
    assert_eq!(stand_in.calls("alipay.trade.refund"), 1, "sent once");
    assert_eq!(stand_in.calls("alipay.trade.fastpay.refund.query"), 1);

    let rest = RefundRequest {
        out_request_no: "hk_refund_3002",
        amount: Fen::new(945),
        ..first.clone()
    };
    stand_in.fault_next("alipay.trade.refund", Fault::UnavailableAfterWork);
    assert!(matches!(
        client.refund_once(&rest, false).await,
        Err(CallError::Unknown(_))
    ));
    assert_eq!(
        client.refund_once(&rest, true).await.expect("found").amount,
        Fen::new(945)
    );
    assert_eq!(stand_in.calls("alipay.trade.refund"), 2);
    let closed = client.query("hk_pay_3001").await.expect("an answer").expect("there");
    assert_eq!(closed.status, TradeStatus::Closed, "wholly refunded");

    stand_in.settle().await;
    let refunds: Vec<TradeNotice> = receiver
        .taken()
        .into_iter()
        .filter(|n| n.out_biz_no.is_some())
        .collect();
    assert_eq!(refunds.len(), 2, "{:?}", receiver.answers());
    assert_eq!(refunds[0].out_biz_no.as_deref(), Some("hk_refund_3001"));
    assert_eq!(refunds[0].refund_fee, Some(Fen::new(305)));
    assert_eq!(refunds[1].trade_status, TradeStatus::Closed);
    assert_eq!(refunds[1].refund_fee, Some(Fen::new(1250)));
    assert_eq!(client.find_refund("hk_pay_3001", "hk_refund_none").await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_queries_and_refusals_are_definite() {
    let (stand_in, client, receiver) = setup().await;
    client
        .precreate(&trade("hk_pay_4001", 500, &receiver.url))
        .await
        .expect("a code");
    stand_in.scan("hk_pay_4001").expect("scanned");
    assert_eq!(client.close("hk_pay_4001").await, Ok(Closed::Closed));
    let closed = client.query("hk_pay_4001").await.expect("an answer").expect("there");
    assert_eq!(closed.status, TradeStatus::Closed);
    assert!(
        stand_in.pay("hk_pay_4001").await.is_err(),
        "a closed trade cannot be paid"
    );
    let again = client.precreate(&trade("hk_pay_4001", 500, &receiver.url)).await;
    assert_eq!(refused_code(again.unwrap_err()), "ACQ.TRADE_HAS_CLOSE");

    client
        .precreate(&trade("hk_pay_4002", 500, &receiver.url))
        .await
        .expect("a code");
    let changed = client.precreate(&trade("hk_pay_4002", 501, &receiver.url)).await;
    assert_eq!(refused_code(changed.unwrap_err()), "ACQ.CONTEXT_INCONSISTENT");
    stand_in.pay("hk_pay_4002").await.expect("paid");
    assert_eq!(
        refused_code(client.close("hk_pay_4002").await.unwrap_err()),
        "ACQ.TRADE_STATUS_ERROR"
    );
    let too_much = RefundRequest {
        out_trade_no: "hk_pay_4002",
        out_request_no: "hk_refund_4002",
        amount: Fen::new(501),
        reason: None,
    };
    assert_eq!(
        refused_code(client.refund(&too_much).await.unwrap_err()),
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    );
    let free = client.precreate(&trade("hk_pay_4003", 0, &receiver.url)).await;
    assert_eq!(refused_code(free.unwrap_err()), "NOT_SENT");
    assert_eq!(refused_code(client.query("hk-pay-4003").await.unwrap_err()), "NOT_SENT");

    // A lost precreate answer: asked again, the same code.
    stand_in.fault_next("alipay.trade.precreate", LOST);
    let lost = client.precreate(&trade("hk_pay_4004", 300, &receiver.url)).await;
    assert!(matches!(lost, Err(CallError::Unknown(_))), "{lost:?}");
    let code = client
        .precreate(&trade("hk_pay_4004", 300, &receiver.url))
        .await
        .expect("a code");
    let asked_again = client
        .precreate(&trade("hk_pay_4004", 300, &receiver.url))
        .await
        .expect("a code");
    assert_eq!(code, asked_again, "one trade, one code");
    assert_eq!(
        stand_in.trade("hk_pay_4004").expect("made once")["total_amount"],
        "3.00"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_not_signed_by_alipay_is_an_unknown_outcome() {
    let (stand_in, client, receiver) = setup().await;
    stand_in.fault_next("alipay.trade.precreate", Fault::ForgedAnswer);
    match client.precreate(&trade("hk_pay_5001", 100, &receiver.url)).await {
        Err(CallError::Unknown(reason)) => assert!(reason.contains("not signed by Alipay"), "{reason}"),
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_a_request_signed_with_another_key_as_alipay_does() {
    let (stand_in, _client, receiver) = setup().await;
    let misconfigured = client_for(
        &stand_in,
        &[(alipay::PRIVATE_KEY, stand_in.key_file("stranger_private.pem"))],
    )
    .expect("a client");
    match misconfigured.precreate(&trade("hk_pay_5101", 100, &receiver.url)).await {
        Err(CallError::Unknown(reason)) => assert!(reason.contains("isv.invalid-signature"), "{reason}"),
        other => panic!("expected our keys' failure, got {other:?}"),
    }
    assert!(stand_in.trade("hk_pay_5101").is_none(), "nothing was made");
    let swapped = client_for(&stand_in, &[(alipay::PUBLIC_KEY, stand_in.key_file("app_private.pem"))]);
    assert!(swapped.unwrap_err().starts_with("HUAKAI_ALIPAY_PUBLIC_KEY: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_or_foreign_notifications_are_refused() {
    let (stand_in, client, receiver) = setup().await;
    client
        .precreate(&trade("hk_pay_6001", 990, &receiver.url))
        .await
        .expect("a code");
    stand_in.notify_next(Notify::Never);
    stand_in.pay("hk_pay_6001").await.expect("paid");
    let params = stand_in.notification_params("hk_pay_6001");

    let forged = stand_in.sign(params.clone(), Role::Stranger);
    assert_eq!(stand_in.post_form(&receiver.url, &forged).await.0, 401);
    let mut tampered = stand_in.sign(params.clone(), Role::AlipayPlatform);
    for (key, value) in &mut tampered {
        if key == "total_amount" {
            *value = "0.99".to_owned();
        }
    }
    assert_eq!(stand_in.post_form(&receiver.url, &tampered).await.0, 401);
    let mut foreign = params.clone();
    for (key, value) in &mut foreign {
        if key == "app_id" {
            *value = "2021000117609999".to_owned();
        }
    }
    let foreign = stand_in.sign(foreign, Role::AlipayPlatform);
    assert_eq!(stand_in.post_form(&receiver.url, &foreign).await.0, 400);
    let mut rsa1 = stand_in.sign(params.clone(), Role::AlipayPlatform);
    for (key, value) in &mut rsa1 {
        if key == "sign_type" {
            *value = "RSA".to_owned();
        }
    }
    assert_eq!(stand_in.post_form(&receiver.url, &rsa1).await.0, 401);
    assert!(receiver.taken().is_empty());

    let genuine = stand_in.sign(params, Role::AlipayPlatform);
    assert_eq!(
        stand_in.post_form(&receiver.url, &genuine).await,
        (200, "success".to_owned())
    );
    assert_eq!(receiver.taken()[0].total, Fen::new(990));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delayed_and_missing_notifications() {
    let (stand_in, client, receiver) = setup().await;
    for no in ["hk_pay_7001", "hk_pay_7002", "hk_pay_7003"] {
        client.precreate(&trade(no, 2, &receiver.url)).await.expect("a code");
    }
    stand_in.notify_next(Notify::Twice);
    stand_in.pay("hk_pay_7001").await.expect("paid");
    let twice = receiver.taken();
    assert_eq!(twice.len(), 2);
    assert_eq!(
        twice[0].notify_id, twice[1].notify_id,
        "one notification, delivered twice"
    );

    stand_in.notify_next(Notify::After(Duration::from_millis(300)));
    stand_in.pay("hk_pay_7002").await.expect("paid");
    assert_eq!(receiver.taken().len(), 2, "not yet");
    stand_in.settle().await;
    assert_eq!(receiver.taken()[2].out_trade_no, "hk_pay_7002");

    stand_in.notify_next(Notify::Never);
    stand_in.pay("hk_pay_7003").await.expect("paid");
    assert_eq!(receiver.taken().len(), 3, "no notification");
    let asked = client.query("hk_pay_7003").await.expect("an answer").expect("there");
    assert_eq!((asked.status, asked.total), (TradeStatus::Success, Fen::new(2)));
}
