//! The unpaid-hold limits hold for every order: a buyer's first unpaid order too, and bulk
//! orders per organisation (which do not count against their admin's own limits).

use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::scenario::{PLACE, order_input, variants};
use crate::support::scenario::{cast, lily_at};
use crate::support::{Actor, Backend, TestApp};
use crate::unions::{DEPOSIT, organisation};

on_each_backend!(
    a_first_unpaid_order_is_held_to_the_limits,
    bulk_orders_are_held_to_limits_per_organisation,
);

const LIMITS: &[(&str, &str)] = &[
    ("HUAKAI_RESERVED_UNITS_PER_VARIANT", "5"),
    ("HUAKAI_RESERVED_UNITS_PER_BUYER", "8"),
    ("HUAKAI_UNPAID_BULK_ORDERS_PER_ORGANISATION", "1"),
    ("HUAKAI_RESERVED_UNITS_PER_ORGANISATION", "10"),
];

async fn order(app: &TestApp, buyer: &Actor, lines: Value, key: &str) -> Value {
    let mut input = order_input(lines, key);
    input["input"]["paymentMethod"] = json!("BANK_TRANSFER");
    app.query_as(buyer, PLACE, input).await["placeOrder"].clone()
}

async fn a_first_unpaid_order_is_held_to_the_limits(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(LIMITS).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let rice = variants(&app, "changyuan-xiadaomi")
        .await
        .into_values()
        .next()
        .expect("rice")
        .0;
    let too_many = order(&app, &cast.buyer, json!([{ "variantId": lily, "quantity": 6 }]), "six").await;
    assert_eq!(too_many["userErrors"][0]["code"], "RATE_LIMITED", "{too_many}");
    assert_eq!(
        too_many["userErrors"][0]["field"],
        json!(["input", "lines", "0", "quantity"])
    );
    let too_much = order(
        &app,
        &cast.buyer,
        json!([{ "variantId": lily, "quantity": 4 }, { "variantId": rice, "quantity": 5 }]),
        "nine",
    )
    .await;
    assert_eq!(too_much["userErrors"][0]["code"], "RATE_LIMITED", "{too_much}");
    let within = order(&app, &cast.buyer, json!([{ "variantId": lily, "quantity": 5 }]), "five").await;
    assert_eq!(within["userErrors"], json!([]), "{within}");
}

fn recipient(name: &str, variant: &Value, quantity: i64) -> Value {
    json!({ "name": name, "phone": "13800138000", "province": "湖南省", "city": "株洲市", "district": "芦淞区",
        "line1": "建设路 1 号", "variantId": variant, "quantity": quantity })
}

async fn bulk(app: &TestApp, admin: &Actor, org: &Value, recipients: Value, key: &str, method: &str) -> Value {
    app.query_as(
        admin,
        "mutation($input: BulkOrderInput!) { placeBulkOrder(input: $input) {
            order { id status } userErrors { field code } } }",
        json!({ "input": { "organisationId": org, "recipients": recipients, "idempotencyKey": key,
            "paymentMethod": method } }),
    )
    .await["placeBulkOrder"]
        .clone()
}

async fn bulk_orders_are_held_to_limits_per_organisation(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(LIMITS).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let lily = lily_at(&app, &cast, "30.00").await;
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;
    let two = json!([recipient("王芳", &lily, 3), recipient("李娜", &lily, 3)]);
    let first = bulk(&app, &union.admin, &union.id, two.clone(), "first", "BANK_TRANSFER").await;
    assert_eq!(first["userErrors"], json!([]), "{first}");
    let second = bulk(&app, &union.admin, &union.id, two.clone(), "second", "BANK_TRANSFER").await;
    assert_eq!(
        second["userErrors"][0]["code"], "RATE_LIMITED",
        "one unpaid bulk order: {second}"
    );

    // Paid from the fund, an order holds nothing unpaid; the admin's own order is its own.
    let deposited = app
        .query_as(
            &cast.operator,
            DEPOSIT,
            json!({ "org": union.id, "amount": "1000", "reference": "ICBC-7" }),
        )
        .await;
    assert_eq!(deposited["recordOrganisationDeposit"]["userErrors"], json!([]));
    let from_fund = bulk(&app, &union.admin, &union.id, two, "fund", "ORGANISATION_FUND").await;
    assert_eq!(from_fund["userErrors"], json!([]), "{from_fund}");
    let own = order(&app, &union.admin, json!([{ "variantId": lily, "quantity": 5 }]), "own").await;
    assert_eq!(
        own["userErrors"],
        json!([]),
        "the bulk order is not the admin's own hold: {own}"
    );

    // Another organisation's first bulk order, for more units than an organisation may hold.
    let other = organisation(&app, &cast.operator, "渌口区总工会", "admin@other.example").await;
    let big = json!([recipient("赵雷", &lily, 6), recipient("钱多", &lily, 5)]);
    let refused = bulk(&app, &other.admin, &other.id, big, "big", "BANK_TRANSFER").await;
    assert_eq!(refused["userErrors"][0]["code"], "RATE_LIMITED", "{refused}");
}
