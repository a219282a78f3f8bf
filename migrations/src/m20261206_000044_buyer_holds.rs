//! What a buyer holds unpaid, found by the buyer: placing counts a buyer's unpaid orders for
//! every order (the limits per buyer, issue 29), and in a flash sale the table's statistics lag
//! behind the burst, so PostgreSQL planned that count on the index of all unpaid orders by
//! status, reading every unpaid order in the shop for each order placed. This index holds only
//! unpaid orders of buyers (not bulk), by buyer: the count reads the buyer's own.

use sea_orm_migration::prelude::*;

use crate::sql::execute;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(
            manager,
            "CREATE INDEX idx_orders_buyer_holding ON orders (buyer_id) \
             WHERE status = 'PENDING_PAYMENT' AND NOT bulk",
        )
        .await
    }
}
