//! WeChat Pay and Alipay paid directly (issue 27): a payment's provider may be `wechatpay` or
//! `alipay`, and it keeps what the buyer's app does next (`Payment.nextAction`): its kind and
//! the code URL, redirect URL or signed JSAPI parameters, both set or both unset.
//!
//! The provider CHECK only widens, as in the allowance and bulk-order migrations: PostgreSQL
//! replaces it; SQLite's stored table text is edited under `writable_schema`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn execute(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await.map(|_| ())
}

const OLD_PROVIDERS: &str = "'bank_transfer', 'allowance', 'fund')";
const NEW_PROVIDERS: &str = "'bank_transfer', 'allowance', 'fund', 'wechatpay', 'alipay')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        execute(
            manager,
            "ALTER TABLE payments ADD COLUMN next_action_kind varchar(16) NULL \
             CHECK (next_action_kind IN ('SHOW_QR_CODE', 'REDIRECT', 'INVOKE_JSAPI'))",
        )
        .await?;
        execute(manager, "ALTER TABLE payments ADD COLUMN next_action text NULL").await?;
        if postgres {
            execute(
                manager,
                "ALTER TABLE payments ADD CONSTRAINT payments_next_action_whole
                    CHECK ((next_action_kind IS NULL) = (next_action IS NULL));
                 ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
                 ALTER TABLE payments ADD CONSTRAINT payments_provider_check CHECK (provider IN
                    ('stripe', 'bank_transfer', 'allowance', 'fund', 'wechatpay', 'alipay'));",
            )
            .await?;
        } else {
            let db = manager.get_connection();
            let version: i64 = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA schema_version"))
                .await?
                .map(|row| row.try_get_by_index(0))
                .transpose()?
                .unwrap_or(0);
            execute(manager, "PRAGMA writable_schema = ON").await?;
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'payments'",
                [OLD_PROVIDERS.into(), NEW_PROVIDERS.into()],
            ))
            .await?;
            execute(manager, &format!("PRAGMA schema_version = {}", version + 1)).await?;
            execute(manager, "PRAGMA writable_schema = OFF").await?;
            // SQLite adds no table CHECK by ALTER: the whole-or-nothing rule is a trigger there.
            for (name, event) in [("insert", "INSERT"), ("update", "UPDATE")] {
                execute(
                    manager,
                    &format!(
                        "CREATE TRIGGER payments_next_action_whole_{name} BEFORE {event} ON payments
                         WHEN (NEW.next_action_kind IS NULL) <> (NEW.next_action IS NULL)
                         BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: payments_next_action_whole'); END"
                    ),
                )
                .await?;
            }
        }
        Ok(())
    }
}
