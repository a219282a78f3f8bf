//! Shipping fees charged on orders (issue 24): each shipment keeps the fee its producer's rule
//! gave when the order was placed, the order keeps their sum (its total is goods plus
//! shipping), and a refund keeps the part of it that gave shipping back. The producer earns a
//! shipment's fee as its own ledger entry, `SHIPPING` (no platform fee, no commission), and a
//! refund of it reverses as `SHIPPING_REFUND`.

use sea_orm_migration::prelude::*;

use crate::sql::{WiderCheck, execute, types, widen_checks};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let big = types(manager).big;
        execute(
            manager,
            &format!(
                "ALTER TABLE orders ADD COLUMN shipping_fee_fen {big} NOT NULL DEFAULT 0
                    CHECK (shipping_fee_fen >= 0 AND shipping_fee_fen <= total_fen)"
            ),
        )
        .await?;
        execute(
            manager,
            &format!(
                "ALTER TABLE shipments ADD COLUMN shipping_fee_fen {big} NOT NULL DEFAULT 0
                    CHECK (shipping_fee_fen >= 0)"
            ),
        )
        .await?;
        execute(
            manager,
            &format!(
                "ALTER TABLE refunds ADD COLUMN shipping_fen {big} NOT NULL DEFAULT 0
                    CHECK (shipping_fen >= 0 AND shipping_fen <= amount_fen)"
            ),
        )
        .await?;
        widen_checks(
            manager,
            &[WiderCheck {
                table: "earnings",
                column: "kind",
                marker: "RESHIP",
                postgres_check: "kind IN ('SALE', 'REVERSAL', 'RESHIP', 'SHIPPING', 'SHIPPING_REFUND')",
                old: "CHECK (\"kind\" IN ('SALE', 'REVERSAL', 'RESHIP'))",
                new: "CHECK (\"kind\" IN ('SALE', 'REVERSAL', 'RESHIP', 'SHIPPING', 'SHIPPING_REFUND'))",
            }],
        )
        .await
    }
}
