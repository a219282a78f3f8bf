//! Hosts' and organisations' operations, asked by each kind of caller.

use super::*;

/// Livestream hosts' own objects, with two hosts among the callers: the columns are the
/// anonymous caller, a buyer, the host of the link, another host, a grower and an operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_host_operation_answers_each_caller_as_it_should() {
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let host = app.user("host@example.com", Role::Host, None).await;
    let host_row =
        huakai::infra::graphql::global_id::decode_as(&host.user_id, huakai::infra::graphql::global_id::NodeType::User)
            .expect("user id");
    let host_id =
        huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::Host, host_row);
    let lily_id = app
        .query("{ product(slug: \"sanwang-xian-baihe\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    let lily_row = huakai::infra::graphql::global_id::decode_as(
        lily_id.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Product,
    )
    .expect("product id");
    let link = huakai::livestream::links::create(app.db(), host_row, lily_row, None)
        .await
        .expect("link");
    let link_id =
        huakai::infra::graphql::global_id::encode(huakai::infra::graphql::global_id::NodeType::PromoLink, link.id);
    let cast = Cast {
        names: ["anonymous", "buyer", "its host", "another host", "grower", "operator"],
        anonymous: Actor::anonymous(),
        buyer: app.user("buyer@example.com", Role::Buyer, None).await,
        other_buyer: host,
        grower: app.user("other.host@example.com", Role::Host, None).await,
        other_grower: app
            .user("grower@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
            .await,
        operator: app.user("operator@example.com", Role::Admin, None).await,
    };
    let rows = [
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on PromoLink { code clicks retiredAt } } }",
            variables: json!({ "id": link_id }),
            expected: [Hidden, Hidden, Allowed, Hidden, Hidden, Allowed],
        },
        Row {
            operation: "myHost",
            query: "{ myHost { stripeAccountId links(first: 5) { nodes { code } } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Allowed, Allowed, Forbidden, Forbidden],
        },
        Row {
            operation: "setHostPayoutAccount",
            query: "mutation($id: ID!) { setHostPayoutAccount(hostId: $id, stripeAccountId: \"acct_1Host\") { account { stripeAccountId } userErrors { code } } }",
            variables: json!({ "id": host_id }),
            expected: [Unauthenticated, Forbidden, Allowed, Hidden, Forbidden, Allowed],
        },
        // The host retires it first; an operator's retiring it again changes nothing.
        Row {
            operation: "retirePromoLink",
            query: "mutation($id: ID!) { retirePromoLink(id: $id) { promoLink { retiredAt } userErrors { code } } }",
            variables: json!({ "id": link_id }),
            expected: [Unauthenticated, Forbidden, Allowed, Hidden, Forbidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}

/// Unions and budget units, with the admins of two organisations among the callers: in each
/// row's outcomes, "buyer" is a member of the first organisation, "grower" its admin and
/// "another grower" the admin of the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_organisation_operation_answers_each_caller_as_it_should() {
    use crate::unions::{INVITE, member, organisation};
    let app = TestApp::on(Backend::Sqlite)
        .start()
        .await
        .expect("SQLite needs no service");
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let other = organisation(&app, &operator, "区财政局", "admin@budget.example").await;
    let (member_actor, membership) = member(&app, &union, "staff@union.example").await;
    let (_, leaving) = member(&app, &union, "leaving@union.example").await;
    let candidate = app.user("candidate@example.com", Role::Buyer, None).await;
    let code = app.query_as(&union.admin, INVITE, json!({ "org": union.id })).await["createInvite"]["code"].clone();
    assert!(code.is_string());
    let (lily_sku, (lily, _)) = crate::support::scenario::variants(&app, "sanwang-xian-baihe")
        .await
        .into_iter()
        .max_by_key(|(_, (_, available))| *available)
        .expect("a lily");
    let recipient = json!({ "name": "张三", "phone": "13800000001", "province": "湖南省", "city": "株洲市",
        "district": "芦淞区", "line1": "建设路 1 号", "variantId": lily, "quantity": 1 });
    // Placed by an operator: the union's admin sees it as its organisation's, not as its buyer.
    let bulk = app
        .query_as(
            &operator,
            "mutation($input: BulkOrderInput!) { placeBulkOrder(input: $input) { order { id } userErrors { code } } }",
            json!({ "input": { "organisationId": union.id, "recipients": [recipient], "idempotencyKey": "op-1" } }),
        )
        .await["placeBulkOrder"]["order"]["id"]
        .clone();
    assert!(bulk.is_string());
    let csv = format!(
        "name,phone,province,city,district,line1,sku,quantity\n张三,13800000001,湖南省,株洲市,芦淞区,建设路 1 号,{lily_sku},1\n"
    );
    let cast = Cast {
        names: [
            "anonymous",
            "member",
            "non-member",
            "its admin",
            "another organisation's admin",
            "operator",
        ],
        anonymous: Actor::anonymous(),
        buyer: member_actor,
        other_buyer: app.user("outsider@example.com", Role::Buyer, None).await,
        grower: union.admin,
        other_grower: other.admin,
        operator,
    };
    let rows = [
        Row {
            operation: "myOrganisation",
            query: "{ myOrganisation { id name } }",
            variables: json!({}),
            expected: [Unauthenticated, Hidden, Hidden, Allowed, Allowed, Hidden],
        },
        Row {
            operation: "myMembership",
            query: "{ myMembership { id organisation { name } } }",
            variables: json!({}),
            expected: [Unauthenticated, Allowed, Hidden, Hidden, Hidden, Hidden],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Organisation { name } } }",
            variables: json!({ "id": union.id }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Organisation { taxNumber fund { amount } pledge(year: 2026) { progress { amount } } members { totalCount } } } }",
            variables: json!({ "id": union.id }),
            expected: [Hidden, Forbidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Organisation { report(from: \"2026-01-01\", to: \"2026-12-31\") { orders csv } } } }",
            variables: json!({ "id": union.id }),
            expected: [Hidden, Forbidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Membership { active allowance { amount } user { email } } } }",
            variables: json!({ "id": membership }),
            expected: [Hidden, Allowed, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "createOrganisation",
            query: "mutation { createOrganisation(input: { name: \"区教育局\", kind: BUDGET_UNIT }) { organisation { id } userErrors { code } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "addOrganisationAdmin",
            query: "mutation($org: ID!, $user: ID!) { addOrganisationAdmin(organisationId: $org, userId: $user) { organisation { id } userErrors { code } } }",
            variables: json!({ "org": union.id, "user": candidate.user_id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "createInvite",
            query: INVITE,
            variables: json!({ "org": union.id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "setPledge",
            query: crate::unions::SET_PLEDGE,
            variables: json!({ "org": union.id, "year": 2026, "amount": "500000" }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "recordOrganisationDeposit",
            query: "mutation($org: ID!) { recordOrganisationDeposit(organisationId: $org, amount: \"100\", reference: \"ICBC-M\") { organisation { id } userErrors { code } } }",
            variables: json!({ "org": union.id }),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "grantAllowance",
            query: "mutation($org: ID!, $member: ID!) { grantAllowance(input: { organisationId: $org, membershipIds: [$member], amount: \"1\", occasion: \"中秋慰问\", expiresAt: \"2999-01-01T00:00:00Z\" }) { organisation { id } userErrors { code } } }",
            variables: json!({ "org": union.id, "member": membership }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "joinOrganisation",
            query: crate::unions::JOIN,
            variables: json!({ "code": "NOSUCH22" }),
            expected: [Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "removeMember",
            query: crate::unions::REMOVE,
            variables: json!({ "id": leaving }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "placeBulkOrder",
            query: "mutation($org: ID!, $recipient: RecipientLineInput!) { placeBulkOrder(input: { organisationId: $org, recipients: [$recipient], idempotencyKey: \"m-1\" }) { order { id } userErrors { code } } }",
            variables: json!({ "org": union.id, "recipient": recipient }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "placeBulkOrderFromCsv",
            query: "mutation($org: ID!, $csv: String!) { placeBulkOrderFromCsv(organisationId: $org, csv: $csv, idempotencyKey: \"m-2\") { order { id } userErrors { code } } }",
            variables: json!({ "org": union.id, "csv": csv }),
            expected: [Unauthenticated, Forbidden, Forbidden, Allowed, Forbidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Order { shipments { recipientName acceptanceCode } } } }",
            variables: json!({ "id": bulk }),
            expected: [Hidden, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "node",
            query: "query($id: ID!) { node(id: $id) { id ... on Organisation { bulkOrders { totalCount } acceptance { shipments } acceptanceProblems { totalCount } } } }",
            variables: json!({ "id": union.id }),
            expected: [Hidden, Forbidden, Hidden, Allowed, Hidden, Allowed],
        },
        Row {
            operation: "acceptanceProblems",
            query: "{ acceptanceProblems { nodes { note } } }",
            variables: json!({}),
            expected: [Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed],
        },
        Row {
            operation: "acceptShipment",
            query: "mutation { acceptShipment(code: \"NOSUCHCODE\", accepted: true) { accepted userErrors { code } } }",
            variables: json!({}),
            expected: [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed],
        },
        Row {
            operation: "cancelOrder",
            query: "mutation($id: ID!) { cancelOrder(orderId: $id) { order { id } userErrors { code } } }",
            variables: json!({ "id": bulk }),
            expected: [Unauthenticated, Hidden, Hidden, Allowed, Hidden, Allowed],
        },
    ];
    check_rows(&app, &cast, &rows).await;
}
