//! Each step of a claim is told by mail to the buyer, the producer's grower and the operators,
//! through the outbox and a real SMTP server.

use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::smtp::SmtpServer;
use crate::support::{Backend, TestApp};

on_each_backend!(the_buyer_the_grower_and_the_operator_hear_of_each_step);

async fn the_buyer_the_grower_and_the_operator_hear_of_each_step(backend: Backend) {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    let url = server.url();
    let Some(app) = TestApp::on(backend)
        .settings(&[
            ("HUAKAI_SMTP_URL", url.as_str()),
            ("HUAKAI_MAIL_FROM", "花开 <shop@huakai.test>"),
            ("HUAKAI_MAIL_RETRY", "100ms"),
        ])
        .start()
        .await
    else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "mail").await;
    let claim = open(&app, &people, &order_id, &variant_id, 1).await;
    let answer = decide(
        &app,
        &people.grower,
        RESPOND,
        json!({ "id": claim["id"], "decision": "REJECT", "note": "完好无损" }),
    )
    .await;
    assert_eq!(answer["userErrors"], json!([]));

    // Two steps, three people each (beside the order's own: placed and paid to the buyer, paid to the grower, shipped).
    let claim_mail = |received: Vec<crate::support::smtp::ReceivedMail>| {
        received
            .into_iter()
            .filter(|mail| mail.subject().contains("售后"))
            .collect::<Vec<_>>()
    };
    // The claim's six in the shop's language (售后), after the order's four.
    let received = claim_mail(server.wait_for(10).await);
    let to = |address: &str| {
        received
            .iter()
            .filter(|mail| mail.envelope_to.iter().any(|to| to == address))
            .map(|mail| mail.text.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    for address in ["buyer@example.com", "lily@example.com", "operator@example.com"] {
        let texts = to(address);
        assert_eq!(texts.len(), 2, "{address}: {texts:#?}");
        assert!(texts.iter().any(|text| text.contains("OPEN")), "{texts:#?}");
        assert!(
            texts
                .iter()
                .any(|text| text.contains("REJECTED") && text.contains("完好无损")),
            "{texts:#?}"
        );
    }
    // Nothing twice.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(server.received().len(), 10);
}
