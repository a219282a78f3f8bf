//! After-sales claims' operations, asked by each kind of caller: the columns are the anonymous
//! caller, the claim's buyer, another buyer, the claimed lines' grower, another producer's grower
//! and an operator. Every mutation is asked in a way that changes nothing (a rejection without
//! its reason, an escalation of a claim still open), so the rows do not depend on each other.

use super::*;
use crate::claims::{delivered_lilies, open, people};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_claim_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "matrix").await;
    let claim = open(&app, &people, &order_id, &variant_id, 1).await;
    let claim_id = claim["id"].clone();
    let cast = Cast {
        names: [
            "anonymous",
            "its buyer",
            "another buyer",
            "its grower",
            "another grower",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: people.cast.buyer.clone(),
        other_buyer: app.user("other.buyer@example.com", Role::Buyer, None).await,
        grower: people.grower.clone(),
        other_grower: app
            .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
            .await,
        operator: people.cast.operator.clone(),
    };
    let rows = [
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Claim { status photos { width } } } }",
            variables: json!({ "id": claim_id }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "respondToClaim",
            query: "mutation($id: ID!) { respondToClaim(claimId: $id, decision: REJECT) { claim { id } userErrors { code } } }",
            variables: json!({ "id": claim_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Hidden, Forbidden],
        },
        Row {
            operation: "escalateClaim",
            query: "mutation($id: ID!) { escalateClaim(claimId: $id) { claim { id } userErrors { code } } }",
            variables: json!({ "id": claim_id }),
            // An operator passes every permission, as everywhere in the shop (and here meets
            // the same NOT_ESCALATABLE as the buyer: the claim is still open).
            expected: [Unauthenticated, Allowed, Hidden, Forbidden, Hidden, Allowed],
        },
        Row {
            operation: "decideClaim",
            query: "mutation($id: ID!) { decideClaim(claimId: $id, decision: REJECT) { claim { id } userErrors { code } } }",
            variables: json!({ "id": claim_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "claims",
            query: "{ claims(first: 5) { totalCount nodes { id } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "claimRates",
            query: "{ claimRates { claims } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
    let still = app
        .query_as(
            &people.cast.operator,
            "query($id: ID!) { node(id: $id) { ... on Claim { status } } }",
            json!({ "id": claim_id }),
        )
        .await;
    assert_eq!(still["node"]["status"], "OPEN", "no row changed the claim");
}
