//! An organisation's report for a period: what its members' credited orders bought by county,
//! village, producer and month, net of refunds, with its pledge and allowances, for its admins
//! and operators, in GraphQL and as CSV.

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::{cast, lily_at, pay_by_bank, place, refund};
use crate::support::{Actor, Backend, TestApp, error_code, fen};
use crate::unions::{SET_PLEDGE, member, organisation};

on_each_backend!(an_organisations_report_adds_up_its_credited_purchases);

const REPORT: &str = "query($from: Date!, $to: Date!) { myOrganisation { report(from: $from, to: $to) {
    from to orders spending { amount }
    byCounty { name amount { amount } } byVillage { name amount { amount } }
    byProducer { name amount { amount } } byMonth { name amount { amount } }
    pledge { year amount { amount } } allowanceGranted { amount } allowanceReturned { amount } csv } } }";

async fn report_as(app: &TestApp, actor: &Actor, from: &str, to: &str) -> (u16, Value) {
    app.graphql_as(actor, REPORT, json!({ "from": from, "to": to })).await
}

async fn an_organisations_report_adds_up_its_credited_purchases(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let union = organisation(&app, &cast.operator, "花开市总工会", "admin@union.example").await;
    let (alice, _) = member(&app, &union, "alice@union.example").await;
    let lily = lily_at(&app, &cast, "100").await;

    // Two orders of a member, paid; ¥30 of the first refunded; an outsider's order is not hers.
    let first = place(&app, &alice, &lily, 1, "first", "BANK_TRANSFER").await;
    let second = place(&app, &alice, &lily, 2, "second", "BANK_TRANSFER").await;
    let outsider = place(&app, &cast.buyer, &lily, 5, "outsider", "BANK_TRANSFER").await;
    for order in [&first, &second, &outsider] {
        pay_by_bank(&app, &cast.operator, order).await;
    }
    let refunded = refund(&app, &cast.operator, &first, Some("30")).await;
    assert_eq!(refunded["userErrors"], json!([]), "{refunded}");

    // A pledge and an allowance from the fund.
    let year = chrono::Utc::now().format("%Y").to_string();
    let pledged = app
        .query_as(
            &union.admin,
            SET_PLEDGE,
            json!({ "org": union.id, "year": year.parse::<i32>().expect("a year"), "amount": "1000" }),
        )
        .await;
    assert_eq!(pledged["setPledge"]["userErrors"], json!([]), "{pledged}");
    let deposit = app
        .query_as(
            &cast.operator,
            "mutation($org: ID!) { recordOrganisationDeposit(organisationId: $org, amount: \"500\", reference: \"ICBC-UNION-1\") { userErrors { code } } }",
            json!({ "org": union.id }),
        )
        .await;
    assert_eq!(deposit["recordOrganisationDeposit"]["userErrors"], json!([]));
    let expires = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let granted = app
        .query_as(
            &union.admin,
            "mutation($input: AllowanceGrantInput!) { grantAllowance(input: $input) { userErrors { code } } }",
            json!({ "input": { "organisationId": union.id, "amount": "50", "occasion": "中秋慰问", "expiresAt": expires } }),
        )
        .await;
    assert_eq!(granted["grantAllowance"]["userErrors"], json!([]));

    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let (from, to) = ((today - chrono::TimeDelta::days(1)).to_string(), today.to_string());
    let (status, answer) = report_as(&app, &union.admin, &from, &to).await;
    assert_eq!(status, 200, "{answer:#}");
    let report = &answer["data"]["myOrganisation"]["report"];
    assert_eq!(report["orders"], 2, "{report:#}");
    assert_eq!(
        fen(&report["spending"]),
        10_000 - 3_000 + 20_000,
        "the refund is netted out"
    );
    let named = |list: &Value| -> Vec<(String, i64)> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|share| {
                (
                    share["name"].as_str().expect("a name").to_owned(),
                    fen(&share["amount"]),
                )
            })
            .collect()
    };
    assert_eq!(
        named(&report["byProducer"]),
        vec![("三旺村百合种植专业合作社".to_owned(), 27_000)]
    );
    assert_eq!(named(&report["byVillage"]), vec![("三旺村".to_owned(), 27_000)]);
    assert_eq!(named(&report["byCounty"]), vec![("涪口区".to_owned(), 27_000)]);
    assert_eq!(
        named(&report["byMonth"]),
        vec![(today.format("%Y-%m").to_string(), 27_000)]
    );
    assert_eq!(report["pledge"]["amount"]["amount"], "1000.00");
    assert_eq!(fen(&report["allowanceGranted"]), 5_000);
    assert_eq!(fen(&report["allowanceReturned"]), 0);
    let csv = report["csv"].as_str().expect("csv");
    assert!(csv.starts_with("\u{feff}\"类别\",\"名称\",\"数值\"\r\n"), "{csv}");
    assert!(csv.contains("\"合计\",\"采购额，扣除退款（元）\",\"270.00\""), "{csv}");
    assert!(csv.contains("\"按区县（元）\",\"涪口区\",\"270.00\""), "{csv}");
    let (_, english) = app
        .graphql_in("en", &union.admin, REPORT, json!({ "from": from, "to": to }))
        .await;
    let english = english["data"]["myOrganisation"]["report"]["csv"]
        .as_str()
        .expect("csv")
        .to_owned();
    assert!(
        english.contains("\"Total\",\"Spending, net of refunds (yuan)\",\"270.00\""),
        "{english}"
    );

    // A period before the orders holds none; a backwards or too long period is refused.
    let (_, earlier) = report_as(&app, &union.admin, "2020-01-01", "2020-12-31").await;
    assert_eq!(earlier["data"]["myOrganisation"]["report"]["orders"], 0);
    for (from, to) in [("2026-09-30", "2026-09-01"), ("2024-01-01", "2026-01-01")] {
        let (_, refused) = report_as(&app, &union.admin, from, to).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{from} to {to}: {refused:#}");
    }

    // An operator sees it through the organisation's id; a member sees the organisation's
    // name, not its report; another union's admin and a stranger not even the organisation.
    let by_id = "query($id: ID!, $from: Date!, $to: Date!) { node(id: $id) { ... on Organisation {
        report(from: $from, to: $to) { orders } } } }";
    let ids = json!({ "id": union.id, "from": from, "to": to });
    let (_, as_operator) = app.graphql_as(&cast.operator, by_id, ids.clone()).await;
    assert_eq!(as_operator["data"]["node"]["report"]["orders"], 2, "{as_operator:#}");
    let through_membership = "query($from: Date!, $to: Date!) { myMembership { organisation {
        name report(from: $from, to: $to) { orders } } } }";
    let (_, as_member) = app
        .graphql_as(&alice, through_membership, json!({ "from": from, "to": to }))
        .await;
    assert_eq!(error_code(&as_member), "FORBIDDEN", "{as_member:#}");
    let other = organisation(&app, &cast.operator, "另一个工会", "admin@other.example").await;
    let stranger = app.user("stranger@example.com", Role::Buyer, None).await;
    for outsider in [&other.admin, &stranger] {
        let (_, answer) = app.graphql_as(outsider, by_id, ids.clone()).await;
        assert_eq!(answer["data"]["node"], Value::Null, "{answer:#}");
    }
}
