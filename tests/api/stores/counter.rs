//! Counter sales: from the shelf only, delivered at once and earning for the producer; the
//! welfare allowance taken with the member's counter code; a till's retries and racing tills
//! selling once.

use huakai::infra::ids::OrderId;
use huakai::payouts::entity::earning;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::*;
use crate::on_each_backend;
use crate::support::{Backend, error_code};
use crate::unions::{DEPOSIT, GRANT, member, organisation};

on_each_backend!(
    a_counter_sale_comes_off_the_shelf_and_earns_like_a_delivered_line,
    a_member_pays_with_the_allowance_by_counter_code,
    racing_tills_sell_each_key_once_and_never_more_than_the_shelf,
    a_buyer_seated_as_a_clerk_sells_at_once
);

/// Seating a clerk changes the account's role: a session remembered as a buyer's (the session
/// cache keeps who a token is for a few seconds) must not be refused at the till meanwhile.
async fn a_buyer_seated_as_a_clerk_sells_at_once(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .setting("HUAKAI_SESSION_CACHE_TTL", "1h")
        .start()
        .await
    else {
        return;
    };
    let mut counter = counter(&app).await;
    stock_shelf(&app, &counter, 3).await;
    let newcomer = app.user("newcomer@example.com", Role::Buyer, None).await;
    let me = app.query_as(&newcomer, "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "BUYER", "remembered as a buyer's session");
    let added = app
        .query_as(
            &counter.cast.operator,
            ADD_CLERK,
            json!({ "store": counter.store_id, "user": newcomer.user_id }),
        )
        .await;
    assert_eq!(added["addStoreClerk"]["userErrors"], json!([]), "{added}");
    counter.clerk = newcomer;
    let sold = sell(&app, &counter, sale_input(&counter, 1, "CASH", "first-sale")).await;
    assert_eq!(sold["userErrors"], json!([]), "the new clerk sells at once: {sold}");
}

async fn a_counter_sale_comes_off_the_shelf_and_earns_like_a_delivered_line(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 5).await;

    let sold = sell(&app, &counter, sale_input(&counter, 3, "CASH", "till-1-0001")).await;
    assert_eq!(sold["userErrors"], json!([]), "{sold}");
    assert_eq!(total(&sold), 9_000);
    assert_eq!(sold["sale"]["paymentMethod"], "CASH");
    assert_eq!(sold["sale"]["order"]["status"], "DELIVERED");
    assert!(sold["sale"]["number"].as_str().expect("number").starts_with("HKS"));
    assert_eq!(on_shelf(&app, &counter).await, 2);

    // Short on the shelf: refused, nothing sold (online stock is not the shelf's).
    let short = sell(&app, &counter, sale_input(&counter, 3, "WECHAT_PAY", "till-1-0002")).await;
    assert_eq!(short["userErrors"][0]["code"], "NOT_ON_SHELF", "{short}");
    assert_eq!(
        short["userErrors"][0]["field"],
        json!(["input", "lines", "0", "quantity"])
    );
    assert_eq!(on_shelf(&app, &counter).await, 2);

    // The producer earns on the sale like any delivered line: fee 5%, rest to the grower.
    let order_id = row_id(&sold["sale"]["order"]["id"]);
    let earned = earning::Entity::find()
        .filter(earning::Column::OrderId.eq(OrderId(order_id)))
        .all(app.db())
        .await
        .expect("earnings");
    assert_eq!(earned.len(), 1);
    assert_eq!(
        (
            earned[0].line_total_fen.get(),
            earned[0].platform_fee_fen.get(),
            earned[0].amount_fen.get()
        ),
        (9_000, 450, 8_550)
    );

    // The impact report counts it, as a supermarket sale; the channels add up to the sales.
    let report = app
        .query(
            "{ impact { sales { amount } channels { channel sales { amount } } } }",
            json!({}),
        )
        .await;
    let channels = report["impact"]["channels"].as_array().expect("channels");
    let names: Vec<&str> = channels
        .iter()
        .map(|c| c["channel"].as_str().expect("channel"))
        .collect();
    assert_eq!(names, ["ONLINE", "LIVESTREAM", "UNION", "SUPERMARKET"]);
    assert_eq!(fen(&channels[3]["sales"]), 9_000);
    assert_eq!(
        channels.iter().map(|c| fen(&c["sales"])).sum::<i64>(),
        fen(&report["impact"]["sales"])
    );

    // Only the store's own clerks sell there; buyers and operators are no tills.
    for actor in [&counter.cast.buyer, &counter.cast.operator] {
        let refused = app
            .graphql_as(actor, SELL, sale_input(&counter, 1, "CASH", "till-x"))
            .await
            .1;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    }
    let other = store(&app, &counter.cast.operator, "zhuting").await;
    let stranger = clerk(&app, &counter.cast.operator, &other, "clerk@zhuting.example").await;
    let theirs = app
        .graphql_as(&stranger, SELL, sale_input(&counter, 1, "CASH", "till-y"))
        .await
        .1;
    assert_eq!(error_code(&theirs), "FORBIDDEN");
    assert_eq!(on_shelf(&app, &counter).await, 2);
}

async fn a_member_pays_with_the_allowance_by_counter_code(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 10).await;
    let operator = &counter.cast.operator;
    let union = organisation(&app, operator, "涪口区总工会", "admin@union.example").await;
    let (alice, membership) = member(&app, &union, "alice@union.example").await;
    let deposited = app
        .query_as(
            operator,
            DEPOSIT,
            json!({ "org": union.id, "amount": "1000", "reference": "ICBC-26" }),
        )
        .await;
    assert_eq!(deposited["recordOrganisationDeposit"]["userErrors"], json!([]));
    let expires = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let granted = app
        .query_as(
            &union.admin,
            GRANT,
            json!({ "input": { "organisationId": union.id, "membershipIds": [membership], "amount": "100",
                "occasion": "春节慰问", "expiresAt": expires } }),
        )
        .await;
    assert_eq!(granted["grantAllowance"]["userErrors"], json!([]), "{granted}");

    const CODE: &str = "{ myMembership { counterCode allowance { amount } } }";
    let mine = app.query_as(&alice, CODE, json!({})).await;
    let code = mine["myMembership"]["counterCode"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 12);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    // Nobody else reads the member's code: not the organisation's admin, not an operator.
    for actor in [&union.admin, operator] {
        let node = app
            .graphql_as(
                actor,
                "query($id: ID!) { node(id: $id) { ... on Membership { counterCode } } }",
                json!({ "id": membership }),
            )
            .await
            .1;
        assert_eq!(error_code(&node), "FORBIDDEN", "{node}");
    }

    // A wrong or missing code is refused; nothing is spent or sold.
    let mut input = sale_input(&counter, 2, "WELFARE_ALLOWANCE", "till-a-1");
    for wrong in [None, Some("123456123456".to_owned()), Some(format!("{}x", &code[..11]))] {
        input["input"]["memberCode"] = json!(wrong);
        let refused = sell(&app, &counter, input.clone()).await;
        assert_eq!(refused["userErrors"][0]["code"], "INVALID_CODE", "{refused}");
    }
    assert_eq!(on_shelf(&app, &counter).await, 10);

    input["input"]["memberCode"] = json!(code);
    let paid = sell(&app, &counter, input).await;
    assert_eq!(paid["userErrors"], json!([]), "{paid}");
    assert_eq!(total(&paid), 6_000);
    let after = app.query_as(&alice, CODE, json!({})).await;
    assert_eq!(fen(&after["myMembership"]["allowance"]), 4_000);
    // The sale is the member's order (not the clerk's to see), credited to the union.
    assert_eq!(
        paid["sale"]["order"],
        json!(null),
        "the clerk does not see the member's order"
    );
    let by_operator = app
        .query_as(
            operator,
            "query($id: ID!) { node(id: $id) { ... on CounterSale { order { id } } } }",
            json!({ "id": paid["sale"]["id"] }),
        )
        .await;
    let theirs = app
        .query_as(
            &alice,
            "query($id: ID!) { order(id: $id) { status paymentMethod } }",
            json!({ "id": by_operator["node"]["order"]["id"] }),
        )
        .await;
    assert_eq!(theirs["order"]["paymentMethod"], "WELFARE_ALLOWANCE", "{theirs}");
    assert_eq!(theirs["order"]["status"], "DELIVERED");
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let report = app
        .query_as(
            &union.admin,
            "query($day: Date!) { myOrganisation { report(from: $day, to: $day) { orders spending { amount } } } }",
            json!({ "day": today }),
        )
        .await;
    assert_eq!(report["myOrganisation"]["report"]["orders"], 1, "{report}");
    assert_eq!(fen(&report["myOrganisation"]["report"]["spending"]), 6_000);

    // More than the allowance left: refused, nothing moved.
    let mut more = sale_input(&counter, 2, "WELFARE_ALLOWANCE", "till-a-2");
    more["input"]["memberCode"] = after["myMembership"]["counterCode"].clone();
    let short = sell(&app, &counter, more).await;
    assert_eq!(short["userErrors"][0]["code"], "INSUFFICIENT_ALLOWANCE", "{short}");
    assert_eq!(on_shelf(&app, &counter).await, 8);

    // Given back at the counter: the allowance goes back to the member's grants, not as cash.
    let back = refund_at_counter(&app, &counter, &paid["sale"]["id"], Some("20.00"), "back-a-1").await;
    assert_eq!(back["userErrors"], json!([]), "{back}");
    assert_eq!(back["refund"]["paymentMethod"], "WELFARE_ALLOWANCE");
    let restored = app.query_as(&alice, CODE, json!({})).await;
    assert_eq!(fen(&restored["myMembership"]["allowance"]), 6_000);
}

async fn racing_tills_sell_each_key_once_and_never_more_than_the_shelf(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let counter = counter(&app).await;
    stock_shelf(&app, &counter, 10).await;

    // One till sends the same sale 12 times at once (a flaky network): one sale.
    let same = futures::future::join_all(
        (0..12).map(|_| sell(&app, &counter, sale_input(&counter, 2, "CASH", "till-1-retry"))),
    )
    .await;
    let ids: std::collections::HashSet<String> = same
        .iter()
        .map(|answer| {
            assert_eq!(answer["userErrors"], json!([]), "{answer}");
            answer["sale"]["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one sale for one key");
    assert_eq!(on_shelf(&app, &counter).await, 8);

    // Twenty sales of one unit each race for the eight left: eight sell, the rest are refused.
    let racing = futures::future::join_all((0..20).map(|i| {
        sell(
            &app,
            &counter,
            sale_input(&counter, 1, "ALIPAY", &format!("till-{i}-race")),
        )
    }))
    .await;
    let sold = racing.iter().filter(|a| a["userErrors"] == json!([])).count();
    let refused = racing
        .iter()
        .filter(|a| a["userErrors"][0]["code"] == "NOT_ON_SHELF")
        .count();
    assert_eq!((sold, refused), (8, 12), "{racing:?}");
    assert_eq!(on_shelf(&app, &counter).await, 0);
}
