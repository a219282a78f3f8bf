//! WeChat Pay and Alipay paid directly (issue 27): a payment's provider may be `wechatpay` or
//! `alipay`, and it keeps what the buyer's app does next (`Payment.nextAction`): its kind and
//! the code URL, redirect URL or signed JSAPI parameters, both set or both unset.
//!
//! The provider CHECK only widens, as in the allowance and bulk-order migrations: PostgreSQL
//! replaces it; SQLite's stored table text is edited under `writable_schema`.

use sea_orm_migration::prelude::*;

use crate::sql::{edit_sqlite_tables, execute};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
            edit_sqlite_tables(manager, &[("payments", OLD_PROVIDERS, NEW_PROVIDERS)]).await?;
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
