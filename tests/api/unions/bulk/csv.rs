//! Recipient lists from CSV: bad lines named, and two thousand lines placed quickly.

use super::*;

on_each_backend!(a_csv_recipient_list_names_its_bad_lines_and_places_the_order,);

async fn from_csv(app: &TestApp, union: &crate::unions::Organisation, csv: &str, key: &str) -> Value {
    app.query_as(
        &union.admin,
        BULK_CSV,
        json!({ "org": union.id, "csv": csv, "key": key, "method": "BANK_TRANSFER" }),
    )
    .await["placeBulkOrderFromCsv"]
        .clone()
}

async fn a_csv_recipient_list_names_its_bad_lines_and_places_the_order(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (_, lily_sku) = stocked(&app, &cast.operator, LILY, 100).await;
    let (_, cakes_sku) = stocked(&app, &cast.operator, CAKES, 100).await;
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;
    let bad = format!(
        "收件人,电话,省,市,区县,详细地址,SKU,数量\n\
         张三,13800000001,湖南省,株洲市,芦淞区,\"建设路 1 号, 3 栋\",{lily_sku},2\n\
         李四,13800000002,湖南省,株洲市,芦淞区,建设路 2 号,{lily_sku},两箱\n\
         王五,13800000003,湖南省,株洲市,芦淞区,建设路 3 号,NO-SUCH-SKU,1\n"
    );
    let refused = from_csv(&app, &union, &bad, "csv-1").await;
    // The quantity that is not a number is found while reading; the unknown SKU once the
    // readable lines are checked against the catalogue.
    assert_eq!(
        codes(&refused["userErrors"]),
        [(json!(["csv", "3", "quantity"]), "INVALID_QUANTITY".to_owned())],
        "{refused}"
    );
    assert!(
        refused["userErrors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("第 3 行")
    );
    let fixed_quantity = bad.replace("两箱", "1");
    let unknown = from_csv(&app, &union, &fixed_quantity, "csv-2").await;
    assert_eq!(
        codes(&unknown["userErrors"]),
        [(json!(["csv", "4", "sku"]), "NOT_FOUND".to_owned())]
    );
    let missing = from_csv(&app, &union, "name,phone\n张三,138\n", "csv-3").await;
    assert_eq!(missing["userErrors"][0]["code"], "INVALID_CSV");

    let good = fixed_quantity.replace("NO-SUCH-SKU", &cakes_sku);
    let placed = from_csv(&app, &union, &good, "csv-4").await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let mut names: Vec<&str> = placed["order"]["shipments"]
        .as_array()
        .expect("parcels")
        .iter()
        .map(|s| s["recipientName"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["张三", "李四", "王五"]);
}

/// The 消费帮扶 week's real load: 2,000 recipient lines in one order, on PostgreSQL, in under
/// five seconds (the bound; `bench/bulk_order.sh` measures the release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_recipient_lines_are_placed_under_five_seconds() {
    let Some(app) = TestApp::on(Backend::Postgres).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let mut stock = Vec::new();
    for slug in [LILY, "sanwang-baihe-gan", "huachong-sungan", "longtan-linxia-xianggu"] {
        stock.push(stocked(&app, &cast.operator, slug, 5_000).await.0);
    }
    let union = organisation(&app, &cast.operator, "株洲市总工会", "admin@union.example").await;
    let recipients: Vec<Value> = (0..2_000)
        .map(|i| {
            line(
                &format!("职工{i:04}"),
                &format!("138{i:08}"),
                &stock[i % stock.len()],
                1 + (i % 3) as i64,
            )
        })
        .collect();
    let started = Instant::now();
    let placed = app
        .query_as(
            &union.admin,
            "mutation($input: BulkOrderInput!) { placeBulkOrder(input: $input) {
                order { id status } userErrors { field code } } }",
            bulk_input(&union.id, json!(recipients), "two-thousand", "BANK_TRANSFER"),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(placed["placeBulkOrder"]["userErrors"], json!([]), "{placed}");
    assert_eq!(placed["placeBulkOrder"]["order"]["status"], "PENDING_PAYMENT");
    let shipments = app
        .query_as(
            &union.admin,
            "query($id: ID!) { node(id: $id) { ... on Order { shipments { acceptanceCode } } } }",
            json!({ "id": placed["placeBulkOrder"]["order"]["id"] }),
        )
        .await;
    let mut codes: Vec<&str> = shipments["node"]["shipments"]
        .as_array()
        .expect("parcels")
        .iter()
        .map(|s| s["acceptanceCode"].as_str().expect("code"))
        .collect();
    assert_eq!(codes.len(), 2_000);
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 2_000, "every parcel has its own code");
    assert!(took.as_secs_f64() < 5.0, "2,000 lines took {took:?}");
}
