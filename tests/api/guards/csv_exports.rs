//! CSV exports neutralise formulas and keep account numbers whole (see `src/infra/csv.rs`).

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::on_each_backend;
use crate::payouts::{HOLD, cast, delivered, run_payouts};
use crate::support::{Backend, TestApp};

on_each_backend!(the_bank_batch_shows_formulas_as_text_and_account_numbers_whole);

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/\",\"点击领取\")";
const ACCOUNT_NUMBER: &str = "6222021234567890123";

async fn the_bank_batch_shows_formulas_as_text_and_account_numbers_whole(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[HOLD]).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let set = app
        .query_as(
            &cast.operator,
            "mutation($name: String, $number: String) { setProducerPayoutAccount(producerSlug: \"sanwang-baihe-hezuoshe\",
                bankAccountName: $name, bankAccountNumber: $number) { userErrors { code } } }",
            json!({ "name": FORMULA, "number": ACCOUNT_NUMBER }),
        )
        .await;
    assert_eq!(set["setProducerPayoutAccount"]["userErrors"], json!([]));
    delivered(&app, &cast, "sanwang-xian-baihe", 1, "csv").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let payouts = run_payouts(&app, &cast.operator).await;
    let batch = payouts[0]["batchId"].as_str().expect("a bank batch");
    let export = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["payouts", "export", batch])
        .env("DATABASE_URL", &app.server.state.config.database_url)
        .output()
        .expect("huakai runs");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let csv = String::from_utf8(export.stdout).expect("utf-8");
    let cells = cells_of(&csv);
    assert_eq!(
        cells[1][0],
        format!("'{FORMULA}"),
        "the payee's name is text, not a formula: {csv}"
    );
    assert_eq!(
        cells[1][1],
        format!("=\"{ACCOUNT_NUMBER}\""),
        "the account number stays text, all 19 digits: {csv}"
    );
}

/// Every row's cells, as a spreadsheet reads the file.
pub fn cells_of(csv: &str) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|record| record.expect("well-formed CSV").iter().map(str::to_owned).collect())
        .collect()
}
