//! Stock versions: every change to a variant's stock row counts up its `version` in the same
//! statement, so the storefront's stock mirror (in Redis or the process) can refuse a figure
//! older than the one it holds, whichever writer reaches it last.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StockLevels {
    Table,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StockLevels::Table)
                    .add_column(ColumnDef::new(StockLevels::Version).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StockLevels::Table)
                    .drop_column(StockLevels::Version)
                    .to_owned(),
            )
            .await
    }
}
