//! The mail each step of an order and each payout sends, read from the SMTP server: to the
//! buyer when the order is placed, paid, shipped and refunded; to the grower when it is paid
//! and when the payout is sent; to operators when a bank refund waits. Each in its recipient's
//! language, user text escaped in the HTML, each once.

use huakai::accounts::Role;
use huakai::infra::ids::OrderId;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use super::{app_with_mail, to};
use crate::on_each_backend;
use crate::payouts::{cast, run_payouts};
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::smtp::ReceivedMail;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(every_step_of_an_order_is_mailed_once_to_whom_it_concerns);

const TRACKING: &str = "SF<9>&1";

async fn ask(app: &TestApp, actor: &Actor, query: &str, variables: Value, field: &str) -> Value {
    let data = app.query_as(actor, query, variables).await;
    assert_eq!(data[field]["userErrors"], json!([]), "{field}: {data}");
    data[field].clone()
}

fn subjects(mails: &[ReceivedMail]) -> Vec<String> {
    mails.iter().map(|mail| mail.subject().to_owned()).collect()
}

async fn outbox_size(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM mail_outbox";
    let statement = Statement::from_string(app.db().get_database_backend(), sql);
    let row = app.db().query_one_raw(statement).await.expect("read").expect("a count");
    row.try_get_by_index(0).expect("a number")
}

async fn every_step_of_an_order_is_mailed_once_to_whom_it_concerns(backend: Backend) {
    let Some((server, app)) = app_with_mail(backend, &[("HUAKAI_PAYOUT_HOLD", "1ms")]).await else {
        return;
    };
    let cast = cast(&app).await;
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    app.query_as(
        &grower,
        "mutation { setLanguage(language: EN) { user { language } } }",
        json!({}),
    )
    .await;

    let (variant, _) = variants(&app, "sanwang-xian-baihe")
        .await
        .into_values()
        .next()
        .expect("a variant");
    let mut input = order_input(json!([{ "variantId": variant, "quantity": 2 }]), "mail-steps");
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = ask(&app, &cast.buyer, PLACE, input, "placeOrder").await;
    let order_id = placed["order"]["id"].clone();
    let number = placed["order"]["number"].as_str().expect("a number").to_owned();
    let id = json!({ "id": order_id });
    ask(
        &app,
        &cast.operator,
        "mutation($id: ID!) { recordBankTransfer(orderId: $id, reference: \"ICBC-1\") { userErrors { code } } }",
        id.clone(),
        "recordBankTransfer",
    )
    .await;
    ask(
        &app,
        &grower,
        "mutation($id: ID!, $tracking: String!) { markShipped(orderId: $id, trackingNumber: $tracking) { userErrors { code } } }",
        json!({ "id": order_id, "tracking": TRACKING }),
        "markShipped",
    )
    .await;
    ask(
        &app,
        &cast.buyer,
        "mutation($id: ID!) { confirmDelivery(orderId: $id) { userErrors { code } } }",
        id.clone(),
        "confirmDelivery",
    )
    .await;
    ask(
        &app,
        &cast.operator,
        "mutation($id: ID!) { refundOrder(orderId: $id, amount: \"1.00\") { userErrors { code } } }",
        id.clone(),
        "refundOrder",
    )
    .await;
    let payouts = run_payouts(&app, &cast.operator).await;
    assert_eq!(payouts.len(), 1, "{payouts:?}");
    ask(
        &app,
        &cast.operator,
        "mutation($id: ID!) { confirmPayout(payoutId: $id, reference: \"ICBC-PAY-1\") { userErrors { code } } }",
        json!({ "id": payouts[0]["id"] }),
        "confirmPayout",
    )
    .await;

    let received = server.wait_for(7).await;
    // Messages arrive in any order: each is found by its subject.
    let mut buyer = to(&received, "buyer@example.com");
    buyer.sort_by_key(|mail| {
        ["已提交", "已付款", "已发货", "已退款"]
            .iter()
            .position(|step| mail.subject().ends_with(step))
    });
    assert_eq!(
        subjects(&buyer),
        [
            format!("订单 {number} 已提交"),
            format!("订单 {number} 已付款"),
            format!("订单 {number} 已发货"),
            format!("订单 {number} 已退款"),
        ],
        "the buyer, in Chinese by default"
    );
    let shipped = &buyer[2];
    let text = shipped.text.as_deref().expect("text");
    assert!(
        text.contains(TRACKING) && text.contains("三旺村百合种植专业合作社"),
        "{text}"
    );
    let html = shipped.html.as_deref().expect("html");
    assert!(html.contains("SF&lt;9&gt;&amp;1") && !html.contains(TRACKING), "{html}");
    assert!(buyer[3].text.as_deref().expect("text").contains("¥1.00"));

    let mut lily = to(&received, "lily@example.com");
    lily.sort_by_key(|mail| mail.subject().starts_with("Payout"));
    assert_eq!(lily.len(), 2, "{:?}", subjects(&lily));
    assert_eq!(
        lily[0].subject(),
        format!("New paid order {number}"),
        "the grower chose English"
    );
    assert!(
        lily[0].text.as_deref().expect("text").contains("2 units"),
        "{:?}",
        lily[0].text
    );
    assert!(lily[1].subject().starts_with("Payout of ¥"), "{}", lily[1].subject());
    assert!(
        lily[1]
            .text
            .as_deref()
            .expect("text")
            .contains(payouts[0]["amount"]["amount"].as_str().expect("amount"))
    );

    let operator = to(&received, "operator@example.com");
    assert_eq!(subjects(&operator), [format!("待办：订单 {number} 的对公退款")]);
    assert!(operator[0].text.as_deref().expect("text").contains("¥1.00"));

    // Nothing more was written, and an event told again adds nothing.
    assert_eq!(outbox_size(&app).await, 7);
    let database_id: i64 = app
        .db()
        .query_one_raw(Statement::from_string(
            app.db().get_database_backend(),
            format!("SELECT id FROM orders WHERE number = '{number}'"),
        ))
        .await
        .expect("read")
        .expect("the order")
        .try_get_by_index(0)
        .expect("an id");
    let txn = app.db().begin().await.expect("a transaction");
    huakai::orders::service::notices::paid(&txn, OrderId(database_id))
        .await
        .expect("told again");
    huakai::orders::service::notices::shipped(&txn, OrderId(database_id))
        .await
        .expect("told again");
    txn.commit().await.expect("committed");
    assert_eq!(outbox_size(&app).await, 7, "the same event is one message");
}
