//! Migrations carry existing data across: a database made before a migration, with rows in
//! it, is brought up to date and keeps what it said. Several processes migrating one fresh
//! database at once all succeed (they take turns under a lock).

use huakai::accounts::memberships;
use huakai_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

use crate::on_each_backend;
use crate::support::{Backend, TestDatabase};

on_each_backend!(
    growers_keep_their_producer_and_payouts_take_any_payee,
    four_processes_migrate_one_fresh_database_at_once
);

/// Four real `huakai migrate` processes, started together on one new database (as pods of a
/// rollout and the payouts job would): every one succeeds and the schema is whole, once.
async fn four_processes_migrate_one_fresh_database_at_once(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let processes: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_huakai"))
                .arg("migrate")
                .env("DATABASE_URL", &database.url)
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("huakai starts")
        })
        .collect();
    for process in processes {
        let output = process.wait_with_output().expect("huakai exits");
        assert!(
            output.status.success(),
            "a migrating process failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "database schema is up to date"
        );
    }
    let db = huakai::infra::db::connect(&database.url, Default::default())
        .await
        .expect("the database opens");
    let applied = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM seaql_migrations",
        ))
        .await
        .expect("query")
        .expect("a count")
        .try_get_by_index::<i64>(0)
        .expect("a number");
    assert_eq!(
        applied as usize,
        Migrator::migrations().len(),
        "each migration applied once"
    );
    assert!(
        huakai::catalogue::demo::is_empty(&db)
            .await
            .expect("the catalogue's tables exist"),
        "a new shop holds no products"
    );
}

async fn growers_keep_their_producer_and_payouts_take_any_payee(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let db = huakai::infra::db::connect(&database.url, Default::default())
        .await
        .expect("the database opens");
    // The schema as it was before memberships (migrations 1 to 6), with a grower in it.
    Migrator::up(&db, Some(6)).await.expect("the older migrations run");
    let sql = |text: &str| Statement::from_string(db.get_database_backend(), text.to_owned());
    // Rows as that schema had them (the entities of today know later columns).
    for row in [
        "INSERT INTO villages (slug, name, town, district, registered_poor) \
         VALUES ('sanwang-cun', '三旺村', '淦田镇', '涪口区', TRUE)",
        "INSERT INTO producers (slug, name, kind, village_id, linked_poor_households) \
         SELECT 'sanwang-baihe-hezuoshe', '三旺村百合合作社', 'COOPERATIVE', id, 52 FROM villages",
    ] {
        db.execute_raw(sql(row)).await.expect("a row of the older schema");
    }
    db.execute_raw(sql(
        "INSERT INTO users (email, password_hash, display_name, role, producer_id, created_at) \
         SELECT 'lily@example.com', 'x', 'Lily', 'GROWER', id, '2026-09-01T00:00:00Z' FROM producers \
         WHERE slug = 'sanwang-baihe-hezuoshe'",
    ))
    .await
    .expect("a grower of the old schema");
    db.execute_raw(sql(
        "INSERT INTO users (email, password_hash, display_name, role, created_at) \
         VALUES ('host@example.com', 'x', 'Host', 'HOST', '2026-09-01T00:00:00Z')",
    ))
    .await
    .expect("a host");

    Migrator::up(&db, None)
        .await
        .expect("the newer migrations run over the data");

    let id_of = |email: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(sql(&format!("SELECT id FROM users WHERE email = '{email}'")))
                .await
                .expect("query")
                .expect("the user");
            row.try_get_by_index::<huakai::infra::ids::UserId>(0).expect("an id")
        }
    };
    let lily = id_of("lily@example.com").await;
    let producer = db
        .query_one_raw(sql("SELECT id FROM producers WHERE slug = 'sanwang-baihe-hezuoshe'"))
        .await
        .expect("query")
        .expect("producer")
        .try_get_by_index::<huakai::infra::ids::ProducerId>(0)
        .expect("an id");
    assert_eq!(
        memberships::current_producer(&db, lily).await.expect("membership"),
        Some(producer),
        "the grower still works for its producer"
    );
    let host = id_of("host@example.com").await;
    let host_row = huakai::accounts::entity::user::Entity::find_by_id(host)
        .one(&db)
        .await
        .expect("the users table reads with today's columns")
        .expect("the host");
    assert_eq!(
        (host_row.role, host_row.stripe_account_id, host_row.language),
        (huakai::accounts::Role::Host, None, None),
        "a host of before is paid by bank"
    );
    db.execute_raw(sql(&format!(
        "INSERT INTO payouts (host_id, payee_kind, amount_fen, status, method, created_at) \
         VALUES ({host}, 'HOST', 500, 'PENDING', 'bank', '2026-10-01T00:00:00Z')"
    )))
    .await
    .expect("a payout to a host");
    for (what, payee) in [
        ("no payee", "NULL, NULL, 'PRODUCER'".to_owned()),
        ("two payees", format!("{producer}, {host}, 'HOST'")),
    ] {
        let refused = db
            .execute_raw(sql(&format!(
                "INSERT INTO payouts (producer_id, host_id, payee_kind, amount_fen, status, method, created_at) \
                 VALUES ({payee}, 500, 'PENDING', 'bank', '2026-10-01T00:00:00Z')"
            )))
            .await;
        assert!(refused.is_err(), "a payout with {what} is refused");
    }
    let second = db
        .execute_raw(sql(&format!(
            "INSERT INTO memberships (user_id, kind, producer_id, started_at) \
             VALUES ({lily}, 'PRODUCER', {producer}, '2026-11-01T00:00:00Z')"
        )))
        .await;
    assert!(second.is_err(), "one current tie of a kind per user");
}
