//! The back office's order desk and user administration.
//!
//! - A shipment names its carrier (one of the codes the shop knows tracking pages for, a CHECK).
//! - A user can be disabled (`disabled_at`): no sign-in, no live session.
//! - Indexes for the operators' order list, newest first by `(created_at, id)`, alone and under
//!   each typical filter (status, buyer, payment method), so that a page of a million orders is
//!   read from an index in order and stops after `first + 1` rows; and one for the orders of a
//!   producer (its lines), which replaces the index on `producer_id` alone.

use sea_orm_migration::prelude::*;

use crate::sql::execute;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 5] = [
    ("idx_orders_created", "orders (created_at, id)"),
    ("idx_orders_status_created", "orders (status, created_at, id)"),
    ("idx_orders_buyer_created", "orders (buyer_id, created_at, id)"),
    (
        "idx_orders_payment_method_created",
        "orders (payment_method, created_at, id)",
    ),
    ("idx_order_lines_producer_order", "order_lines (producer_id, order_id)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let timestamp = if manager.get_database_backend() == DbBackend::Postgres {
            "timestamptz"
        } else {
            "timestamp_with_timezone_text"
        };
        execute(
            manager,
            "ALTER TABLE shipments ADD COLUMN carrier varchar(8) NULL \
             CHECK (carrier IN ('SF', 'ZTO', 'YTO', 'JD', 'EMS', 'STO', 'YUNDA'))",
        )
        .await?;
        execute(
            manager,
            &format!("ALTER TABLE users ADD COLUMN disabled_at {timestamp} NULL"),
        )
        .await?;
        for (name, on) in INDEXES {
            execute(manager, &format!("CREATE INDEX {name} ON {on}")).await?;
        }
        execute(manager, "DROP INDEX idx_order_lines_producer").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(
            manager,
            "CREATE INDEX idx_order_lines_producer ON order_lines (producer_id)",
        )
        .await?;
        for (name, _) in INDEXES {
            execute(manager, &format!("DROP INDEX {name}")).await?;
        }
        execute(manager, "ALTER TABLE users DROP COLUMN disabled_at").await?;
        execute(manager, "ALTER TABLE shipments DROP COLUMN carrier").await
    }
}
