//! A batch of orders for several variants that deadlocks at its stock rows with a writer taking
//! them in the other order is written again in parts: its buyers get their orders, a second
//! late, not an error. PostgreSQL only (SQLite writes one order at a time, unbatched).

use huakai::accounts::entity::user;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_deadlocks_is_written_again_in_parts() {
    let Some(app) = TestApp::on(Backend::Postgres).start().await else {
        return;
    };
    let curator = app.user("curator@example.com", Role::Admin, None).await;
    let first = lily_product(&app, &curator, ("baihe-jia", "百合甲"), ("BH-JIA", "19.90", 100)).await;
    let second = lily_product(&app, &curator, ("baihe-yi", "百合乙"), ("BH-YI", "19.90", 100)).await;
    let (first_row, second_row) = (variant_row(&app, "BH-JIA").await, variant_row(&app, "BH-YI").await);
    // Three buyers of one lane (the lanes split buyers by the parity of their ids).
    let mut lane = Vec::new();
    for index in 0..6 {
        let email = format!("lane{index}@example.com");
        let buyer = app.user(&email, Role::Buyer, None).await;
        let row = user_row(&app, &email).await;
        if row % 2 == 0 {
            lane.push((buyer, row));
        }
    }
    let [(waiter, waiter_row), (fan, _), (neighbour, _)] = &lane[..] else {
        panic!("three of six consecutive ids are even");
    };

    // The waiter's order takes the lane's turn and waits for its buyer's row, held here: the
    // fan's and the neighbour's orders queue behind it, to be written as one batch.
    let holding_the_waiter = app.db().begin().await.expect("begin");
    lock(
        &holding_the_waiter,
        &format!("SELECT id FROM users WHERE id = {waiter_row} FOR UPDATE"),
    )
    .await;
    let place = |key: &'static str, actor, variant: &Value| {
        let input = order_input(json!([{ "variantId": variant, "quantity": 1 }]), key);
        let app = &app;
        async move { app.query_as(actor, PLACE_LIMITED, input).await }
    };
    let queued = |order| async {
        until_a_statement_waits(&app, "FOR NO KEY UPDATE").await;
        order.await
    };
    let control = async {
        until_a_statement_waits(&app, "FOR NO KEY UPDATE").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The second variant's row held here; the batch takes the first's, then waits for it.
        let holding_rows = app.db().begin().await.expect("begin");
        lock(&holding_rows, "SET LOCAL deadlock_timeout = '10s'").await;
        lock(
            &holding_rows,
            &format!("SELECT 1 FROM stock_levels WHERE variant_id = {second_row} FOR UPDATE"),
        )
        .await;
        holding_the_waiter.rollback().await.expect("release the waiter");
        until_a_statement_waits(&app, "UPDATE stock_levels").await;
        // The other order: the batch, whose deadlock check comes first, is the one ended.
        lock(
            &holding_rows,
            &format!("SELECT 1 FROM stock_levels WHERE variant_id = {first_row} FOR UPDATE"),
        )
        .await;
        holding_rows.rollback().await.expect("release the rows");
    };
    let (waited, fans, neighbours, ()) = tokio::join!(
        place("waiter", waiter, &first),
        queued(place("fan", fan, &first)),
        queued(place("neighbour", neighbour, &second)),
        control,
    );
    for answer in [&waited, &fans, &neighbours] {
        assert_eq!(answer["placeOrder"]["userErrors"], json!([]), "{answer}");
        assert!(answer["placeOrder"]["order"]["id"].is_string(), "{answer}");
    }
    assert_eq!(available(&app, "baihe-jia", &first).await, 98);
    assert_eq!(available(&app, "baihe-yi", &second).await, 99);
    assert_ledger_balances(&app).await;
}

async fn user_row(app: &TestApp, email: &str) -> i64 {
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(app.db())
        .await
        .expect("read");
    found.expect("the user").id.0
}

async fn variant_row(app: &TestApp, sku: &str) -> i64 {
    let sql = format!("SELECT id FROM variants WHERE sku = '{sku}'");
    let statement = Statement::from_string(app.db().get_database_backend(), sql);
    let row = app
        .db()
        .query_one_raw(statement)
        .await
        .expect("read")
        .expect("the variant");
    row.try_get_by_index::<i64>(0).expect("an id")
}

async fn lock(txn: &DatabaseTransaction, sql: &str) {
    txn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// Waits until one of this database's statements like `pattern` waits for a lock.
async fn until_a_statement_waits(app: &TestApp, pattern: &str) {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query LIKE '%{pattern}%'"
    );
    for _ in 0..500 {
        let statement = Statement::from_string(app.db().get_database_backend(), sql.clone());
        let row = app.db().query_one_raw(statement).await.expect("read").expect("a count");
        if row.try_get_by_index::<i64>(0).expect("a number") > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no statement like {pattern} waited for a lock within 10 s");
}
