//! Backups that restore (docs/operations.md, "Backups"): a shop with a year of demo activity is
//! backed up while it serves, restored into a new database, and the shop started on the copy
//! shows the same balances, payouts and impact figures through the API, and takes new rows.
//! PostgreSQL with its own tools (`pg_dump --format=custom`, `pg_restore`); SQLite with
//! `VACUUM INTO`, which copies a live database consistently.

use std::process::Command;

use huakai::accounts::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::{Actor, Backend, TestApp, TestDatabase};

on_each_backend!(a_restored_backup_shows_the_same_money_and_impact);

/// `huakai demo load --activity`, the real command, into `url`.
fn load_demo_activity(url: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_huakai"))
        .args(["demo", "load", "--activity"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("huakai runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn run(command: &mut Command) {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What the operators and the public see of the shop's money: every producer's balance and
/// payouts, every payout, and the impact report.
async fn figures(app: &TestApp, operator: &Actor) -> Value {
    let producers = app
        .query("{ products(first: 100) { nodes { producer { slug } } } }", json!({}))
        .await;
    let mut slugs: Vec<String> = producers["products"]["nodes"]
        .as_array()
        .expect("products")
        .iter()
        .map(|product| product["producer"]["slug"].as_str().expect("a slug").to_owned())
        .collect();
    slugs.sort();
    slugs.dedup();
    let mut accounts = Vec::new();
    for slug in slugs {
        let account = app
            .query_as(
                operator,
                "query($slug: String!) { producerAccount(slug: $slug) {
                    balance { pending { amount } available { amount } inTransit { amount } paidOut { amount } }
                    payouts(first: 100) { nodes { amount { amount } status method reference createdAt paidAt } }
                } }",
                json!({ "slug": slug }),
            )
            .await;
        accounts.push(json!({ "slug": slug, "account": account["producerAccount"] }));
    }
    let payouts = app
        .query_as(
            operator,
            "{ payouts(first: 100) { nodes { id amount { amount } status method batchId producer { slug } } } }",
            json!({}),
        )
        .await;
    // The longest period a report covers (two years), up to today: the whole demo year.
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(730);
    let mut impact = app
        .query(
            "query($from: Date!, $to: Date!) { impact(from: $from, to: $to) { sales { amount } unitsSold
                paidToProducers { amount } paidToHouseholds { amount } householdsReached growerShareBps
                salesThroughOrganisations { amount } salesThroughHosts { amount } pledgesMade pledgesFulfilled
                villages { village { slug } sales { amount } } months { month sales { amount } } } }",
            json!({ "from": from.to_string(), "to": today.to_string() }),
        )
        .await;
    impact["impact"]["computedAt"] = Value::Null;
    json!({ "accounts": accounts, "payouts": payouts, "impact": impact })
}

async fn a_restored_backup_shows_the_same_money_and_impact(backend: Backend) {
    let Some(original) = TestDatabase::create(backend).await else {
        return;
    };
    let Some(restored) = TestDatabase::create(backend).await else {
        return;
    };
    load_demo_activity(&original.url);
    let original_url = original.url.clone();
    let shop = TestApp::on_database(original)
        .bare()
        .start()
        .await
        .expect("the test's own database");
    let operator = shop.user("ops@example.com", Role::Admin, None).await;
    let before = figures(&shop, &operator).await;
    let paid_out = before["payouts"]["payouts"]["nodes"].as_array().expect("payouts").len();
    assert!(paid_out > 0, "a year of activity has payouts: {before:#}");
    assert_ne!(before["impact"]["impact"]["sales"]["amount"], "0.00", "{before:#}");

    // Backed up while the shop serves.
    let folder = tempfile::tempdir().expect("a folder");
    match backend {
        Backend::Postgres => {
            let dump = folder.path().join("huakai.dump");
            run(Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&dump)
                .arg(&original_url));
            run(Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname", &restored.url])
                .arg(&dump));
        }
        Backend::Sqlite => {
            let copy = folder.path().join("backup.db");
            shop.db()
                .execute_raw(Statement::from_string(
                    shop.db().get_database_backend(),
                    format!("VACUUM INTO '{}'", copy.display()),
                ))
                .await
                .expect("the live database is copied");
            // Restoring is putting the file where the new shop's URL points.
            let target = restored
                .url
                .trim_start_matches("sqlite://")
                .trim_end_matches("?mode=rwc");
            std::fs::copy(&copy, target).expect("the backup is put in place");
        }
    }
    let copy = TestApp::on_database(restored)
        .bare()
        .start()
        .await
        .expect("the test's own database");
    // Users, tokens' secret and all: the operator signs in on the copy as on the original.
    let operator_on_copy = copy.login("ops@example.com", "a long enough test password").await;
    let after = figures(&copy, &operator_on_copy).await;
    assert!(
        before == after,
        "the restored shop differs:\nbefore {before:#}\nafter {after:#}"
    );
    // Its sequences went along: new rows get new ids.
    copy.user("after-restore@example.com", Role::Buyer, None).await;
}
