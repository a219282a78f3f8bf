//! Paying with the welfare allowance: orders and payments accept the new methods and provider,
//! an order keeps the part the allowance paid and the method paying the rest, and the
//! organisation ledger records spending (SPEND, from a grant, for an order), refunds of spent
//! allowance (REFUND) and allowance given back when an order is cancelled unpaid (RELEASE), both
//! back to the grant or, once it has closed, to the fund.
//!
//! The CHECKs only widen, so existing rows still satisfy them. PostgreSQL replaces them; SQLite
//! cannot alter a CHECK, so the stored table text is edited (SQLite's documented procedure for
//! loosening a constraint: writable_schema, then a new schema version).

use sea_orm_migration::prelude::*;

use crate::sql::{edit_sqlite_tables, execute};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_METHODS: &str = "'BANK_TRANSFER')";
const NEW_METHODS: &str = "'BANK_TRANSFER', 'WELFARE_ALLOWANCE', 'ORGANISATION_FUND')";
const OLD_PROVIDERS: &str = "'bank_transfer')";
const NEW_PROVIDERS: &str = "'bank_transfer', 'allowance')";
const OLD_KINDS: &str = "OR (kind = 'RETURN'";
const NEW_KINDS: &str = "OR (kind = 'SPEND' AND fund_delta_fen = 0 AND grant_delta_fen < 0 AND grant_id IS NOT NULL
                            AND order_id IS NOT NULL)
                        OR (kind = 'REFUND' AND grant_id IS NOT NULL AND order_id IS NOT NULL AND refund_id IS NOT NULL
                            AND ((fund_delta_fen = 0 AND grant_delta_fen > 0) OR (fund_delta_fen > 0 AND grant_delta_fen = 0)))
                        OR (kind = 'RELEASE' AND grant_id IS NOT NULL AND order_id IS NOT NULL AND refund_id IS NULL
                            AND ((fund_delta_fen = 0 AND grant_delta_fen > 0) OR (fund_delta_fen > 0 AND grant_delta_fen = 0)))
                        OR (kind = 'RETURN'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let big = if postgres { "bigint" } else { "integer" };
        execute(
            manager,
            &format!("ALTER TABLE organisation_ledger ADD COLUMN order_id {big} NULL REFERENCES orders (id)"),
        )
        .await?;
        execute(
            manager,
            &format!("ALTER TABLE organisation_ledger ADD COLUMN refund_id {big} NULL REFERENCES refunds (id)"),
        )
        .await?;
        execute(
            manager,
            &format!("ALTER TABLE orders ADD COLUMN allowance_fen {big} NOT NULL DEFAULT 0 CHECK (allowance_fen >= 0)"),
        )
        .await?;
        execute(
            manager,
            "ALTER TABLE orders ADD COLUMN remainder_method varchar(24) NULL",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_organisation_ledger_order ON organisation_ledger (order_id) WHERE order_id IS NOT NULL",
        )
        .await?;
        if postgres {
            execute(
                manager,
                "ALTER TABLE orders ALTER COLUMN payment_method TYPE varchar(24);
                 ALTER TABLE orders DROP CONSTRAINT orders_payment_method_check;
                 ALTER TABLE orders ADD CONSTRAINT orders_payment_method_check CHECK (payment_method IN
                    ('CARD', 'ALIPAY', 'WECHAT_PAY', 'BANK_TRANSFER', 'WELFARE_ALLOWANCE', 'ORGANISATION_FUND'));
                 ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
                 ALTER TABLE payments ADD CONSTRAINT payments_provider_check CHECK (provider IN
                    ('stripe', 'bank_transfer', 'allowance'));",
            )
            .await?;
            execute(
                manager,
                &format!(
                    "ALTER TABLE organisation_ledger DROP CONSTRAINT organisation_ledger_check;
                     ALTER TABLE organisation_ledger ADD CONSTRAINT organisation_ledger_check CHECK (
                        (kind = 'DEPOSIT' AND fund_delta_fen > 0 AND grant_delta_fen = 0 AND grant_id IS NULL
                            AND reference IS NOT NULL)
                        OR (kind = 'GRANT' AND fund_delta_fen < 0 AND grant_delta_fen = -fund_delta_fen
                            AND grant_id IS NOT NULL)
                        {NEW_KINDS} AND fund_delta_fen > 0 AND grant_delta_fen = -fund_delta_fen
                            AND grant_id IS NOT NULL))"
                ),
            )
            .await?;
        } else {
            edit_sqlite_tables(
                manager,
                &[
                    ("orders", OLD_METHODS, NEW_METHODS),
                    ("payments", OLD_PROVIDERS, NEW_PROVIDERS),
                    ("organisation_ledger", OLD_KINDS, NEW_KINDS),
                ],
            )
            .await?;
        }
        Ok(())
    }
}
