//! Pickup orders (到店自提, issue 26): an order names the relief supermarket it is collected
//! from and carries the code its buyer shows there. The invariants live here: a store and a
//! code go together (a CHECK), a code is unique among a store's orders (a partial unique
//! index, which is also how a clerk finds the order), and the pickup worker finds paid orders
//! waiting past their window through a partial index on when they were paid.

use sea_orm_migration::prelude::*;

use crate::sql::{Types, execute, types};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types { postgres, big, .. } = types(manager);
        execute(
            manager,
            &format!("ALTER TABLE orders ADD COLUMN pickup_store_id {big} NULL REFERENCES stores (id)"),
        )
        .await?;
        let together = "CHECK ((pickup_store_id IS NULL) = (pickup_code IS NULL) \
                        AND (pickup_code IS NULL OR length(pickup_code) = 8))";
        if postgres {
            execute(manager, "ALTER TABLE orders ADD COLUMN pickup_code varchar(8) NULL").await?;
            execute(
                manager,
                &format!("ALTER TABLE orders ADD CONSTRAINT orders_pickup_check {together}"),
            )
            .await?;
        } else {
            execute(
                manager,
                &format!("ALTER TABLE orders ADD COLUMN pickup_code varchar(8) NULL {together}"),
            )
            .await?;
        }
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_orders_pickup_code ON orders (pickup_store_id, pickup_code) \
             WHERE pickup_code IS NOT NULL",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_orders_pickup_waiting ON orders (paid_at) \
             WHERE pickup_store_id IS NOT NULL AND status = 'PAID'",
        )
        .await
    }
}
