//! The platform's fee is kept with each order line, as the rate in force when the line was
//! sold, so that delivery and every refund of it take that rate, whatever the setting says by
//! then (a host's commission rate is kept with the line's attribution already). Lines placed
//! before have none (NULL): delivery fills in the rate in force then.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE order_lines ADD COLUMN platform_fee_bps integer NULL
                    CHECK (platform_fee_bps BETWEEN 0 AND 10000)",
            )
            .await
            .map(|_| ())
    }
}
