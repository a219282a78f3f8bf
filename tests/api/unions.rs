//! Unions and budget units: organisations, admins, invites and members, orders credited to
//! the organisation, pledges and their progress.

use huakai::accounts::Role;
use serde_json::{Value, json};

mod allowance;
pub(crate) mod bulk;

use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input, pay_by_bank};
use crate::support::{Actor, Backend, TestApp, error_code, fen};

pub const CREATE: &str = "mutation($input: OrganisationInput!) {
    createOrganisation(input: $input) { organisation { id name kind } userErrors { field code } } }";
pub const ADD_ADMIN: &str = "mutation($org: ID!, $user: ID!) {
    addOrganisationAdmin(organisationId: $org, userId: $user) { organisation { id } userErrors { code } } }";
pub const INVITE: &str = "mutation($org: ID!) { createInvite(organisationId: $org) { code userErrors { code } } }";
pub const JOIN: &str = "mutation($code: String!) {
    joinOrganisation(code: $code) { membership { id active organisation { name } } userErrors { code } } }";
pub const REMOVE: &str = "mutation($id: ID!) {
    removeMember(membershipId: $id) { membership { id active } userErrors { code } } }";
pub const SET_PLEDGE: &str = "mutation($org: ID!, $year: Int!, $amount: String!) {
    setPledge(organisationId: $org, year: $year, amount: $amount) { organisation { id } userErrors { field code } } }";

/// An organisation made by `operator` with `admin` (a fresh account) as its admin.
pub struct Organisation {
    pub id: Value,
    pub admin: Actor,
}

pub async fn organisation(app: &TestApp, operator: &Actor, name: &str, admin_email: &str) -> Organisation {
    let created = app
        .query_as(
            operator,
            CREATE,
            json!({ "input": { "name": name, "kind": "UNION", "invoiceTitle": format!("{name}发票"),
                "taxNumber": "91430200MA4L0000XX", "allowanceCapPerMember": "2000" } }),
        )
        .await;
    assert_eq!(created["createOrganisation"]["userErrors"], json!([]));
    let id = created["createOrganisation"]["organisation"]["id"].clone();
    let buyer = app.user(admin_email, Role::Buyer, None).await;
    let added = app
        .query_as(operator, ADD_ADMIN, json!({ "org": id, "user": buyer.user_id }))
        .await;
    assert_eq!(added["addOrganisationAdmin"]["userErrors"], json!([]));
    Organisation { id, admin: buyer }
}

/// A fresh buyer who joined through an invite of `organisation`; returns the membership id.
pub async fn member(app: &TestApp, organisation: &Organisation, email: &str) -> (Actor, Value) {
    let buyer = app.user(email, Role::Buyer, None).await;
    let code = app
        .query_as(&organisation.admin, INVITE, json!({ "org": organisation.id }))
        .await["createInvite"]["code"]
        .clone();
    let joined = app.query_as(&buyer, JOIN, json!({ "code": code })).await;
    assert_eq!(joined["joinOrganisation"]["userErrors"], json!([]));
    let membership = joined["joinOrganisation"]["membership"]["id"].clone();
    (buyer, membership)
}

async fn lily_variant(app: &TestApp) -> Value {
    let lily = app
        .query(
            "{ product(slug: \"sanwang-xian-baihe\") { variants { id } } }",
            json!({}),
        )
        .await;
    lily["product"]["variants"][0]["id"].clone()
}

async fn place(app: &TestApp, buyer: &Actor, variant: &Value, quantity: i64, key: &str) -> Value {
    let mut input = order_input(json!([{ "variantId": variant, "quantity": quantity }]), key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    let placed = app.query_as(buyer, PLACE, input).await;
    assert_eq!(placed["placeOrder"]["userErrors"], json!([]));
    placed["placeOrder"]["order"].clone()
}

async fn members_join_once_and_their_orders_are_credited(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let other = organisation(&app, &operator, "区财政局", "admin@budget.example").await;

    let mine = app
        .query_as(
            &union.admin,
            "{ myOrganisation { id name invoiceTitle allowanceCapPerMember { amount } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["myOrganisation"]["id"], union.id);
    assert_eq!(mine["myOrganisation"]["allowanceCapPerMember"]["amount"], "2000.00");
    let role = app.query_as(&union.admin, "{ me { role } }", json!({})).await;
    assert_eq!(role["me"]["role"], "UNION_ADMIN");

    let (member, membership) = member(&app, &union, "staff@union.example").await;
    let seen = app
        .query_as(
            &member,
            "{ myMembership { id active organisation { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["myMembership"]["id"], membership);
    assert_eq!(seen["myMembership"]["organisation"]["name"], "涪口区总工会");

    // One organisation at a time; a code admits once; a made-up code admits nobody.
    let second = app.query_as(&other.admin, INVITE, json!({ "org": other.id })).await["createInvite"]["code"].clone();
    let refused = app.query_as(&member, JOIN, json!({ "code": second })).await;
    assert_eq!(refused["joinOrganisation"]["userErrors"][0]["code"], "ALREADY_MEMBER");
    let newcomer = app.user("newcomer@example.com", Role::Buyer, None).await;
    let joined = app.query_as(&newcomer, JOIN, json!({ "code": second })).await;
    assert_eq!(joined["joinOrganisation"]["userErrors"], json!([]));
    let latecomer = app.user("latecomer@example.com", Role::Buyer, None).await;
    let used = app.query_as(&latecomer, JOIN, json!({ "code": second })).await;
    assert_eq!(used["joinOrganisation"]["userErrors"][0]["code"], "INVALID_CODE");
    let made_up = app.query_as(&latecomer, JOIN, json!({ "code": "ZZZZ2222" })).await;
    assert_eq!(made_up["joinOrganisation"]["userErrors"][0]["code"], "INVALID_CODE");

    // The admin of another organisation may not remove this member.
    let (status, answer) = app.graphql_as(&other.admin, REMOVE, json!({ "id": membership })).await;
    assert_eq!((status, error_code(&answer)), (200, "FORBIDDEN"));

    let variant = lily_variant(&app).await;
    let credited = place(&app, &member, &variant, 1, "as-member").await;
    let order = app
        .query_as(
            &member,
            "query($id: ID!) { order(id: $id) { organisation { id name } } }",
            json!({ "id": credited["id"] }),
        )
        .await;
    assert_eq!(order["order"]["organisation"]["id"], union.id);

    let members = app
        .query_as(
            &union.admin,
            "query($id: ID!) { node(id: $id) { ... on Organisation { members(first: 10) { totalCount nodes { id user { email } } } } } }",
            json!({ "id": union.id }),
        )
        .await;
    assert_eq!(members["node"]["members"]["totalCount"], 1);
    assert_eq!(
        members["node"]["members"]["nodes"][0]["user"]["email"],
        "staff@union.example"
    );

    let removed = app.query_as(&union.admin, REMOVE, json!({ "id": membership })).await;
    assert_eq!(removed["removeMember"]["membership"]["active"], false);
    let after = place(&app, &member, &variant, 1, "after-leaving").await;
    let order = app
        .query_as(
            &member,
            "query($id: ID!) { order(id: $id) { organisation { id } } }",
            json!({ "id": after["id"] }),
        )
        .await;
    assert_eq!(
        order["order"]["organisation"],
        Value::Null,
        "not credited after leaving"
    );
    let none = app.query_as(&member, "{ myMembership { id } }", json!({})).await;
    assert_eq!(none["myMembership"], Value::Null);
    // Having left, the member may join another organisation.
    let third = app.query_as(&other.admin, INVITE, json!({ "org": other.id })).await["createInvite"]["code"].clone();
    let rejoined = app.query_as(&member, JOIN, json!({ "code": third })).await;
    assert_eq!(rejoined["joinOrganisation"]["userErrors"], json!([]));
}

async fn pledge_progress_counts_paid_credited_sales_net_of_refunds(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let (member, _) = member(&app, &union, "staff@union.example").await;
    let outsider = app.user("outsider@example.com", Role::Buyer, None).await;
    let year: i32 = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y")
        .to_string()
        .parse()
        .expect("a year");
    let month = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m")
        .to_string();

    let refused = app
        .query_as(
            &union.admin,
            SET_PLEDGE,
            json!({ "org": union.id, "year": year, "amount": "10.001" }),
        )
        .await;
    assert_eq!(refused["setPledge"]["userErrors"][0]["field"], json!(["amount"]));

    let variant = lily_variant(&app).await;
    let paid = place(&app, &member, &variant, 2, "paid").await;
    pay_by_bank(&app, &operator, &paid["id"]).await;
    let unpaid = place(&app, &member, &variant, 1, "unpaid").await;
    let not_credited = place(&app, &outsider, &variant, 3, "outsider").await;
    pay_by_bank(&app, &operator, &not_credited["id"]).await;
    let total = fen(&paid["total"]);
    assert!(fen(&unpaid["total"]) > 0);

    // The pledge is four times the paid order: 25.00 %.
    let pledge_yuan = format!("{}.{:02}", total * 4 / 100, total * 4 % 100);
    let set = app
        .query_as(
            &union.admin,
            SET_PLEDGE,
            json!({ "org": union.id, "year": year, "amount": pledge_yuan }),
        )
        .await;
    assert_eq!(set["setPledge"]["userErrors"], json!([]));
    let progress = "query($id: ID!, $year: Int!) { node(id: $id) { ... on Organisation {
        pledge(year: $year) { amount { amount } progress { amount } percentage months { month sales { amount } } } } } }";
    let seen = app
        .query_as(&union.admin, progress, json!({ "id": union.id, "year": year }))
        .await;
    let pledge = &seen["node"]["pledge"];
    assert_eq!(fen(&pledge["progress"]), total);
    assert_eq!(pledge["percentage"], "25.00");
    assert_eq!(
        pledge["months"],
        json!([{ "month": month, "sales": { "amount": paid["total"]["amount"] } }])
    );

    // A refund of a quarter of the order lowers the progress by as much, in the sale's month.
    let quarter = total / 4;
    let refunded = app
        .query_as(
            &operator,
            "mutation($id: ID!, $amount: String) { refundOrder(orderId: $id, amount: $amount) { userErrors { code } } }",
            json!({ "id": paid["id"], "amount": format!("{}.{:02}", quarter / 100, quarter % 100) }),
        )
        .await;
    assert_eq!(refunded["refundOrder"]["userErrors"], json!([]));
    let seen = app
        .query_as(&union.admin, progress, json!({ "id": union.id, "year": year }))
        .await;
    let pledge = &seen["node"]["pledge"];
    assert_eq!(fen(&pledge["progress"]), total - quarter);
    assert_eq!(fen(&pledge["months"][0]["sales"]), total - quarter);
    let expected_bps = ((total - quarter) * 10_000 * 2 + total * 4) / (total * 4 * 2);
    assert_eq!(
        pledge["percentage"],
        format!("{}.{:02}", expected_bps / 100, expected_bps % 100)
    );

    // Nobody but its admins and operators sees the pledge; another year has none.
    let (_, answer) = app
        .graphql_as(&member, progress, json!({ "id": union.id, "year": year }))
        .await;
    assert_eq!(error_code(&answer), "FORBIDDEN");
    let other_year = app
        .query_as(&operator, progress, json!({ "id": union.id, "year": year - 1 }))
        .await;
    assert_eq!(other_year["node"]["pledge"], Value::Null);
}

on_each_backend!(
    members_join_once_and_their_orders_are_credited,
    pledge_progress_counts_paid_credited_sales_net_of_refunds,
);

pub const DEPOSIT: &str = "mutation($org: ID!, $amount: String!, $reference: String!) {
    recordOrganisationDeposit(organisationId: $org, amount: $amount, reference: $reference) {
        organisation { fund { amount } } userErrors { field code } } }";
pub const GRANT: &str = "mutation($input: AllowanceGrantInput!) {
    grantAllowance(input: $input) { organisation { fund { amount } } userErrors { field code } } }";

fn grant_input(org: &Value, members: Option<Vec<Value>>, amount: &str) -> Value {
    let expires = (chrono::Utc::now() + chrono::TimeDelta::days(60)).to_rfc3339();
    json!({ "input": { "organisationId": org, "membershipIds": members, "amount": amount,
        "occasion": "中秋慰问", "expiresAt": expires } })
}

/// The ledger adds up: the fund and every grant's balance are the sums of their deltas.
pub async fn assert_ledger_adds_up(app: &TestApp, organisation_id: &Value) {
    use huakai::organisations::entity::{allowance_grant, ledger, organisation};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let id = huakai::infra::graphql::global_id::decode_as::<huakai::infra::ids::OrganisationId>(
        organisation_id.as_str().expect("id"),
        huakai::infra::graphql::global_id::NodeType::Organisation,
    )
    .expect("an organisation id");
    let rows = ledger::Entity::find()
        .filter(ledger::Column::OrganisationId.eq(id))
        .all(app.db())
        .await
        .expect("ledger");
    let fund = organisation::Entity::find_by_id(id)
        .one(app.db())
        .await
        .expect("query")
        .expect("row");
    assert_eq!(
        fund.fund_fen.get(),
        rows.iter().map(|row| row.fund_delta_fen.get()).sum::<i64>()
    );
    assert!(fund.fund_fen.get() >= 0);
    for grant in allowance_grant::Entity::find()
        .filter(allowance_grant::Column::OrganisationId.eq(id))
        .all(app.db())
        .await
        .expect("grants")
    {
        let deltas: i64 = rows
            .iter()
            .filter(|row| row.grant_id == Some(grant.id))
            .map(|row| row.grant_delta_fen.get())
            .sum();
        assert_eq!(grant.balance_fen.get(), deltas, "grant {}", grant.id);
        assert!(grant.balance_fen.get() >= 0);
    }
}

async fn allowances_come_from_the_fund_within_the_cap_and_return_when_a_member_leaves(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    // The cap is 2,000 yuan per member and year.
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let (alice, alice_membership) = member(&app, &union, "alice@union.example").await;
    let (_, bob_membership) = member(&app, &union, "bob@union.example").await;

    let deposited = app
        .query_as(
            &operator,
            DEPOSIT,
            json!({ "org": union.id, "amount": "4000.00", "reference": "ICBC-7" }),
        )
        .await;
    assert_eq!(
        deposited["recordOrganisationDeposit"]["organisation"]["fund"]["amount"],
        "4000.00"
    );
    let again = app
        .query_as(
            &operator,
            DEPOSIT,
            json!({ "org": union.id, "amount": "4000.00", "reference": "ICBC-7" }),
        )
        .await;
    assert_eq!(
        again["recordOrganisationDeposit"]["userErrors"][0]["code"],
        "DUPLICATE_REFERENCE"
    );

    // 2 × 2,000.01 is more than the fund holds: nothing is granted.
    let short = app
        .query_as(&union.admin, GRANT, grant_input(&union.id, None, "2000.01"))
        .await;
    assert_eq!(short["grantAllowance"]["userErrors"][0]["code"], "INSUFFICIENT_FUNDS");
    let granted = app
        .query_as(&union.admin, GRANT, grant_input(&union.id, None, "1200.50"))
        .await;
    assert_eq!(granted["grantAllowance"]["userErrors"], json!([]));
    assert_eq!(granted["grantAllowance"]["organisation"]["fund"]["amount"], "1599.00");
    // Another 800 to Alice would take her to 2,000.50 this year: over the cap.
    let over = app
        .query_as(
            &union.admin,
            GRANT,
            grant_input(&union.id, Some(vec![alice_membership.clone()]), "800"),
        )
        .await;
    assert_eq!(over["grantAllowance"]["userErrors"][0]["code"], "CAP_EXCEEDED");
    let within = app
        .query_as(
            &union.admin,
            GRANT,
            grant_input(&union.id, Some(vec![alice_membership.clone()]), "799.50"),
        )
        .await;
    assert_eq!(within["grantAllowance"]["userErrors"], json!([]));
    assert_eq!(within["grantAllowance"]["organisation"]["fund"]["amount"], "799.50");
    let mine = app
        .query_as(&alice, "{ myMembership { allowance { amount } } }", json!({}))
        .await;
    assert_eq!(mine["myMembership"]["allowance"]["amount"], "2000.00");

    // Bob leaves: his unspent 1,200.50 goes back to the fund, once.
    app.query_as(&union.admin, REMOVE, json!({ "id": bob_membership }))
        .await;
    app.query_as(&union.admin, REMOVE, json!({ "id": bob_membership }))
        .await;
    let seen = app
        .query_as(
            &union.admin,
            "query($id: ID!) { node(id: $id) { ... on Membership { allowance { amount } } } }",
            json!({ "id": bob_membership }),
        )
        .await;
    assert_eq!(seen["node"]["allowance"]["amount"], "0.00");
    let fund = app
        .query_as(&union.admin, "{ myOrganisation { fund { amount } } }", json!({}))
        .await;
    assert_eq!(fund["myOrganisation"]["fund"]["amount"], "2000.00");
    assert_ledger_adds_up(&app, &union.id).await;
}

/// Concurrent grants race on one fund: it never goes below zero and the ledger adds up.
async fn concurrent_grants_never_overdraw_the_fund(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let union = organisation(&app, &operator, "涪口区总工会", "admin@union.example").await;
    let (_, membership) = member(&app, &union, "alice@union.example").await;
    app.query_as(
        &operator,
        DEPOSIT,
        json!({ "org": union.id, "amount": "1000", "reference": "ICBC-9" }),
    )
    .await;
    // 40 grants of 100 against a fund of 1,000 (and a cap of 2,000): exactly 10 succeed.
    let outcomes = futures::future::join_all((0..40).map(|_| {
        app.query_as(
            &union.admin,
            GRANT,
            grant_input(&union.id, Some(vec![membership.clone()]), "100"),
        )
    }))
    .await;
    let granted = outcomes
        .iter()
        .filter(|answer| answer["grantAllowance"]["userErrors"] == json!([]))
        .count();
    assert_eq!(granted, 10);
    assert!(outcomes.iter().all(|answer| {
        let errors = &answer["grantAllowance"]["userErrors"];
        *errors == json!([]) || errors[0]["code"] == "INSUFFICIENT_FUNDS"
    }));
    let fund = app
        .query_as(&union.admin, "{ myOrganisation { fund { amount } } }", json!({}))
        .await;
    assert_eq!(fund["myOrganisation"]["fund"]["amount"], "0.00");
    assert_ledger_adds_up(&app, &union.id).await;
}

on_each_backend!(
    allowances_come_from_the_fund_within_the_cap_and_return_when_a_member_leaves,
    concurrent_grants_never_overdraw_the_fund,
);
