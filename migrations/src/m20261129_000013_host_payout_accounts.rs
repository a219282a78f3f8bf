//! Livestream hosts paid through Stripe: a host (a user of role HOST) may have a Stripe
//! connected account (`acct_…`), as producers do; payout runs then pay it by transfer. Existing
//! users keep none, so they stay paid by bank.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    StripeAccountId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::StripeAccountId).string_len(100).null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::StripeAccountId)
                    .to_owned(),
            )
            .await
    }
}
