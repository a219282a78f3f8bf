//! `importCatalogue` and `huakai catalogue import`: the district's 目录 list as CSV, all rows or
//! none, each bad row named with its column.

use std::process::Command;

use huakai::accounts::Role;
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, fen};

on_each_backend!(
    a_file_creates_and_updates_entries_products_and_variants,
    a_file_with_bad_rows_writes_nothing_and_names_each,
    the_command_line_imports_with_progress,
);

const HEADER: &str = "catalogue_code,product_slug,product_name,category_slug,producer_slug,village_slug,issuer,valid_from,valid_to,variant_sku,variant_name,price,stock";

const IMPORT: &str = "mutation($csv: String!, $dryRun: Boolean) {
    importCatalogue(csv: $csv, dryRun: $dryRun) { created updated userErrors { field code message } } }";

async fn import(app: &TestApp, operator: &Actor, csv: &str, dry_run: bool) -> Value {
    app.query_as(operator, IMPORT, json!({ "csv": csv, "dryRun": dry_run }))
        .await["importCatalogue"]
        .clone()
}

/// A new product of two variants under a new entry, and the demo's 长远小龙虾 repriced and restocked.
fn good_file(crayfish_sku: &str) -> String {
    format!(
        "\u{feff}{HEADER}\r\n\
         FK-2026-0500,sanwang-baihe-fen,三旺百合粉,shucai,sanwang-baihe-hezuoshe,,渌口区农业农村局,2026-01-01,2028-12-31,SW-FEN-250,250g,36.00,40\r\n\
         FK-2026-0500,sanwang-baihe-fen,三旺百合粉,shucai,sanwang-baihe-hezuoshe,,渌口区农业农村局,2026-01-01,2028-12-31,SW-FEN-500,500g,\"66.50\",25\r\n\
         FK-2025-0001,changyuan-xiaolongxia,长远小龙虾,shuichan,changyuan-longxia-hezuoshe,changyuan-cun,渌口区农业农村局,2025-01-01,2030-12-31,{crayfish_sku},活虾 2 斤,128.00,77\r\n"
    )
}

async fn crayfish(app: &TestApp) -> Value {
    app.query(
        "{ product(slug: \"changyuan-xiaolongxia\") { name variants { sku name price { amount } available } catalogueEntry { validTo } } }",
        json!({}),
    )
    .await["product"]
        .clone()
}

async fn a_file_creates_and_updates_entries_products_and_variants(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let before = crayfish(&app).await;
    let sku = before["variants"][0]["sku"].as_str().expect("sku").to_owned();
    let file = good_file(&sku);

    let dry = import(&app, &operator, &file, true).await;
    assert_eq!(dry, json!({ "created": 2, "updated": 1, "userErrors": [] }));
    let nothing = app
        .query("{ product(slug: \"sanwang-baihe-fen\") { id } }", json!({}))
        .await;
    assert_eq!(nothing["product"], Value::Null, "a dry run writes nothing");
    assert_eq!(crayfish(&app).await, before);

    let done = import(&app, &operator, &file, false).await;
    assert_eq!(done, json!({ "created": 2, "updated": 1, "userErrors": [] }));
    let new = app
        .query(
            "{ product(slug: \"sanwang-baihe-fen\") { name catalogueCode inStock published category { slug } village { slug }
                producer { slug } priceRange { min { amount } max { amount } } variants { sku price { amount } available } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        new["product"],
        json!({ "name": "三旺百合粉", "catalogueCode": "FK-2026-0500", "inStock": true, "published": true,
            "category": { "slug": "shucai" }, "village": { "slug": "sanwang-cun" }, "producer": { "slug": "sanwang-baihe-hezuoshe" },
            "priceRange": { "min": { "amount": "36.00" }, "max": { "amount": "66.50" } },
            "variants": [
                { "sku": "SW-FEN-250", "price": { "amount": "36.00" }, "available": 40 },
                { "sku": "SW-FEN-500", "price": { "amount": "66.50" }, "available": 25 }
            ] })
    );
    let after = crayfish(&app).await;
    let updated = after["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["sku"] == sku.as_str())
        .expect("kept");
    assert_eq!(
        (
            updated["name"].clone(),
            fen(&updated["price"]),
            updated["available"].clone()
        ),
        (json!("活虾 2 斤"), 12_800, json!(77))
    );
    assert_eq!(after["catalogueEntry"]["validTo"], "2030-12-31");

    // The same file again changes nothing and creates nothing.
    let again = import(&app, &operator, &file, false).await;
    assert_eq!(again, json!({ "created": 0, "updated": 3, "userErrors": [] }));
    let history = app
        .query_as(
            &operator,
            "query($id: ID!) { stockHistory(variantId: $id) { onHandDelta reason } }",
            json!({ "id": app.query("{ product(slug: \"sanwang-baihe-fen\") { variants { id } } }", json!({})).await["product"]["variants"][0]["id"] }),
        )
        .await;
    assert_eq!(
        history["stockHistory"],
        json!([{ "onHandDelta": 40, "reason": "opening stock" }])
    );
}

async fn a_file_with_bad_rows_writes_nothing_and_names_each(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    let file = format!(
        "{HEADER}\n\
         ,xintian-a,甲,shucai,sanwang-baihe-hezuoshe,,,,,XT-A-1,1 斤,10.00,5\n\
         ,xintian-b,乙,shucai,sanwang-baihe-hezuoshe,,,,,XT-B-1,1 斤,10.005,5\n\
         ,xintian-c,丙,no-such-category,sanwang-baihe-hezuoshe,,,,,XT-C-1,1 斤,10.00,5\n\
         ,xintian-a,甲,shucai,sanwang-baihe-hezuoshe,,,,,XT-A-1,2 斤,18.00,5\n\
         ,xintian-d,丁,shucai,no-such-producer,,,,,XT-D-1,1 斤,10.00,5\n\
         ,xintian-a,另一个名字,shucai,sanwang-baihe-hezuoshe,,,,,XT-A-2,1 斤,10.00,5\n\
         ,changyuan-xiaolongxia,小龙虾,shuichan,sanwang-baihe-hezuoshe,,,,,XT-E-1,1 斤,10.00,5\n"
    );
    let answer = import(&app, &operator, &file, false).await;
    assert_eq!(
        (answer["created"].clone(), answer["updated"].clone()),
        (json!(0), json!(0))
    );
    let fields: Vec<Value> = answer["userErrors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!(["csv", "3", "price"]),
            json!(["csv", "4", "category_slug"]),
            json!(["csv", "5", "variant_sku"]),
            json!(["csv", "6", "producer_slug"]),
            json!(["csv", "7", "product_name"]),
            json!(["csv", "8", "producer_slug"]),
        ],
        "{answer:#}"
    );
    // In the reader's language, starting with the row and column.
    let message = answer["userErrors"][0]["message"].as_str().expect("message");
    assert!(message.starts_with("第 3 行 price"), "{message}");
    let nothing = app.query("{ product(slug: \"xintian-a\") { id } }", json!({})).await;
    assert_eq!(nothing["product"], Value::Null, "the good rows were not written either");

    let missing = import(&app, &operator, "product_slug,price\nx,1\n", false).await;
    assert_eq!(missing["userErrors"][0]["code"], "INVALID_CSV");
}

async fn the_command_line_imports_with_progress(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let mut file = format!("{HEADER}\n");
    for i in 0..250 {
        file.push_str(&format!(
            ",cli-product-{p},命令行商品 {p},shucai,sanwang-baihe-hezuoshe,,,,,CLI-{i},规格 {i},{}.50,{}\n",
            10 + i,
            i % 7,
            p = i / 5
        ));
    }
    let path = std::env::temp_dir().join(format!("huakai-import-{}-{backend:?}.csv", std::process::id()));
    std::fs::write(&path, file).expect("write the file");
    let run = |dry_run: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_huakai"));
        command.args(["--lang", "en", "catalogue", "import"]).arg(&path);
        if dry_run {
            command.arg("--dry-run");
        }
        command
            .env("DATABASE_URL", &app.server.state.config.database_url)
            .output()
            .expect("huakai runs")
    };
    let dry = run(true);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    assert_eq!(
        String::from_utf8_lossy(&dry.stdout),
        "would import: 250 rows created, 0 rows updated\n"
    );
    let done = run(false);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let progress = String::from_utf8_lossy(&done.stderr);
    for rows in ["100 rows written", "200 rows written", "250 rows written"] {
        assert!(progress.lines().any(|line| line == rows), "{progress}");
    }
    let listed = app
        .query(
            "{ products(first: 100, filter: { search: \"命令行商品\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["products"]["totalCount"], 50);
    std::fs::remove_file(&path).ok();
}
