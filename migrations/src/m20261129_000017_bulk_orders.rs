//! Bulk orders (团购慰问品) and their acceptance (履约验收): an order may be an organisation's bulk
//! order, split into one shipment per recipient and producer; such a shipment carries its
//! recipient's address, what goes in it (`shipment_items`), and a one-off acceptance code the
//! recipient answers with (accepted, or a problem and a note). A bulk order may be paid from the
//! organisation's fund: a PURCHASE row of the ledger takes it, a FUND_REFUND row gives a refund
//! back, and the payment's provider is `fund`.
//!
//! A bulk order's line holds one variant's units for every recipient, so an order line's
//! quantity may now pass 999 (a buyer's order is still held to 999 per variant by the shop).
//!
//! The CHECKs only widen, as in the allowance migration: PostgreSQL replaces them; SQLite's
//! stored table text is edited under `writable_schema`.

use sea_orm_migration::prelude::*;

use crate::sql::{edit_sqlite_tables, execute};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_QUANTITY: &str = "CHECK (\"quantity\" BETWEEN 1 AND 999)";
/// A bulk order's line holds a variant's units for all its recipients: up to 2,000 lines of
/// 999 each.
const NEW_QUANTITY: &str = "CHECK (\"quantity\" BETWEEN 1 AND 1998000)";
const OLD_PROVIDERS: &str = "'bank_transfer', 'allowance')";
const NEW_PROVIDERS: &str = "'bank_transfer', 'allowance', 'fund')";
const OLD_KINDS: &str = "OR (kind = 'RETURN'";
const NEW_KINDS: &str = "OR (kind = 'PURCHASE' AND fund_delta_fen < 0 AND grant_delta_fen = 0 AND grant_id IS NULL
                            AND order_id IS NOT NULL)
                        OR (kind = 'FUND_REFUND' AND fund_delta_fen > 0 AND grant_delta_fen = 0 AND grant_id IS NULL
                            AND order_id IS NOT NULL AND refund_id IS NOT NULL)
                        OR (kind = 'RETURN'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let (id, big, timestamp, boolean_false) = if postgres {
            (
                "bigserial PRIMARY KEY",
                "bigint",
                "timestamptz",
                "boolean NOT NULL DEFAULT false",
            )
        } else {
            (
                "integer PRIMARY KEY AUTOINCREMENT",
                "integer",
                "timestamp_with_timezone_text",
                "boolean NOT NULL DEFAULT 0",
            )
        };
        execute(manager, &format!("ALTER TABLE orders ADD COLUMN bulk {boolean_false}")).await?;
        execute(
            manager,
            "CREATE INDEX idx_orders_bulk_organisation ON orders (union_id, id) WHERE bulk",
        )
        .await?;
        for column in [
            "recipient_name varchar(50) NULL",
            "recipient_phone varchar(30) NULL",
            "recipient_province varchar(50) NULL",
            "recipient_city varchar(50) NULL",
            "recipient_district varchar(50) NULL",
            "recipient_line1 varchar(200) NULL",
            "acceptance_code varchar(16) NULL",
            &format!("accepted_at {timestamp} NULL"),
            "problem_note varchar(500) NULL",
            &format!("problem_at {timestamp} NULL"),
        ] {
            execute(manager, &format!("ALTER TABLE shipments ADD COLUMN {column}")).await?;
        }
        // One shipment per producer for a buyer's order; per recipient and producer for a bulk
        // order, each with its own code.
        execute(manager, "DROP INDEX uq_shipments_order_producer").await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_shipments_order_producer ON shipments (order_id, producer_id) \
             WHERE recipient_name IS NULL",
        )
        .await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_shipments_acceptance_code ON shipments (acceptance_code) \
             WHERE acceptance_code IS NOT NULL",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_shipments_problems ON shipments (problem_at) \
             WHERE problem_at IS NOT NULL AND accepted_at IS NULL",
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE shipment_items (
                    id {id},
                    shipment_id {big} NOT NULL REFERENCES shipments (id),
                    order_id {big} NOT NULL REFERENCES orders (id),
                    variant_id {big} NOT NULL REFERENCES variants (id),
                    quantity integer NOT NULL CHECK (quantity > 0)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_shipment_items_shipment ON shipment_items (shipment_id)",
        )
        .await?;
        if postgres {
            execute(
                manager,
                "ALTER TABLE order_lines DROP CONSTRAINT order_lines_quantity_check;
                 ALTER TABLE order_lines ADD CONSTRAINT order_lines_quantity_check
                    CHECK (quantity BETWEEN 1 AND 1998000);",
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
                 ALTER TABLE payments ADD CONSTRAINT payments_provider_check CHECK (provider IN
                    ('stripe', 'bank_transfer', 'allowance', 'fund'));",
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
                        OR (kind = 'SPEND' AND fund_delta_fen = 0 AND grant_delta_fen < 0 AND grant_id IS NOT NULL
                            AND order_id IS NOT NULL)
                        OR (kind = 'REFUND' AND grant_id IS NOT NULL AND order_id IS NOT NULL AND refund_id IS NOT NULL
                            AND ((fund_delta_fen = 0 AND grant_delta_fen > 0) OR (fund_delta_fen > 0 AND grant_delta_fen = 0)))
                        OR (kind = 'RELEASE' AND grant_id IS NOT NULL AND order_id IS NOT NULL AND refund_id IS NULL
                            AND ((fund_delta_fen = 0 AND grant_delta_fen > 0) OR (fund_delta_fen > 0 AND grant_delta_fen = 0)))
                        {NEW_KINDS} AND fund_delta_fen > 0 AND grant_delta_fen = -fund_delta_fen
                            AND grant_id IS NOT NULL))"
                ),
            )
            .await?;
        } else {
            edit_sqlite_tables(
                manager,
                &[
                    ("order_lines", OLD_QUANTITY, NEW_QUANTITY),
                    ("payments", OLD_PROVIDERS, NEW_PROVIDERS),
                    ("organisation_ledger", OLD_KINDS, NEW_KINDS),
                ],
            )
            .await?;
        }
        Ok(())
    }
}
