//! After-sales claims (售后): a buyer's claim on units of a delivered order from one producer,
//! with what the grower (or, escalated, an operator) decided.
//!
//! The invariants live here: an order line's `claimed_quantity` never passes its quantity (a
//! claim takes units by a conditional update, and the CHECK is the last word); one claim at a
//! time is open per order, producer and bulk parcel (a partial unique index); a claim line names
//! at least one unit. A reship charges the producer through the earnings ledger, whose kinds
//! widen to `RESHIP` (PostgreSQL replaces the CHECK; SQLite's stored table text is edited under
//! `writable_schema`, as the bulk-orders migration does).

use sea_orm_migration::prelude::*;

use crate::sql::{Types, edit_sqlite_tables, execute, types};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_KINDS: &str = "CHECK (\"kind\" IN ('SALE', 'REVERSAL'))";
const NEW_KINDS: &str = "CHECK (\"kind\" IN ('SALE', 'REVERSAL', 'RESHIP'))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types {
            postgres,
            id,
            big,
            timestamp,
            ..
        } = types(manager);
        execute(
            manager,
            &format!(
                "CREATE TABLE claims (
                    id {id},
                    order_id {big} NOT NULL REFERENCES orders (id),
                    producer_id {big} NOT NULL REFERENCES producers (id),
                    shipment_id {big} NULL REFERENCES shipments (id),
                    opened_by {big} NOT NULL REFERENCES users (id),
                    status varchar(16) NOT NULL
                        CHECK (status IN ('OPEN', 'ESCALATED', 'REFUNDED', 'RESHIPPED', 'REJECTED')),
                    reason varchar(16) NOT NULL
                        CHECK (reason IN ('DAMAGED', 'SPOILED', 'MISSING', 'WRONG_ITEM', 'OTHER')),
                    note varchar(1000) NULL,
                    asked_fen {big} NOT NULL CHECK (asked_fen >= 0),
                    decision varchar(16) NULL
                        CHECK (decision IN ('REFUND', 'PARTIAL_REFUND', 'RESHIP', 'REJECT')),
                    amount_fen {big} NULL CHECK (amount_fen > 0),
                    response_note varchar(1000) NULL,
                    respond_by {timestamp} NOT NULL,
                    opened_at {timestamp} NOT NULL,
                    responded_at {timestamp} NULL,
                    escalated_at {timestamp} NULL,
                    decided_at {timestamp} NULL,
                    refund_id {big} NULL REFERENCES refunds (id),
                    reship_shipment_id {big} NULL REFERENCES shipments (id),
                    CHECK ((status IN ('OPEN', 'ESCALATED')) = (decided_at IS NULL)),
                    CHECK (status <> 'REFUNDED' OR (amount_fen IS NOT NULL AND refund_id IS NOT NULL)),
                    CHECK (status <> 'RESHIPPED' OR reship_shipment_id IS NOT NULL)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_claims_open ON claims (order_id, producer_id, COALESCE(shipment_id, 0)) \
             WHERE status IN ('OPEN', 'ESCALATED')",
        )
        .await?;
        execute(manager, "CREATE INDEX idx_claims_order ON claims (order_id)").await?;
        execute(manager, "CREATE INDEX idx_claims_producer ON claims (producer_id, id)").await?;
        execute(manager, "CREATE INDEX idx_claims_status ON claims (status, id)").await?;
        execute(
            manager,
            "CREATE INDEX idx_claims_unanswered ON claims (respond_by) WHERE status = 'OPEN' AND responded_at IS NULL",
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE claim_lines (
                    id {id},
                    claim_id {big} NOT NULL REFERENCES claims (id),
                    order_line_id {big} NOT NULL REFERENCES order_lines (id),
                    quantity integer NOT NULL CHECK (quantity > 0),
                    UNIQUE (claim_id, order_line_id)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_claim_lines_line ON claim_lines (order_line_id)",
        )
        .await?;
        if postgres {
            execute(
                manager,
                "ALTER TABLE order_lines ADD COLUMN claimed_quantity integer NOT NULL DEFAULT 0;
                 ALTER TABLE order_lines ADD CONSTRAINT order_lines_claimed_quantity_check
                    CHECK (claimed_quantity BETWEEN 0 AND quantity);
                 DO $$
                 DECLARE found text;
                 BEGIN
                    SELECT conname INTO found FROM pg_constraint
                     WHERE conrelid = 'earnings'::regclass AND contype = 'c'
                       AND pg_get_constraintdef(oid) LIKE '%REVERSAL%';
                    EXECUTE format('ALTER TABLE earnings DROP CONSTRAINT %I', found);
                 END $$;
                 ALTER TABLE earnings ADD CONSTRAINT earnings_kind_check
                    CHECK (kind IN ('SALE', 'REVERSAL', 'RESHIP'));",
            )
            .await?;
        } else {
            execute(
                manager,
                "ALTER TABLE order_lines ADD COLUMN claimed_quantity integer NOT NULL DEFAULT 0 \
                 CHECK (claimed_quantity BETWEEN 0 AND quantity)",
            )
            .await?;
            edit_sqlite_tables(manager, &[("earnings", OLD_KINDS, NEW_KINDS)]).await?;
        }
        Ok(())
    }
}
