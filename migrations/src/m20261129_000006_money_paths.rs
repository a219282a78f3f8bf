//! Money paths: refunds remember how they split over order lines (so a delivery after a refund
//! credits only what was kept), wait for a bank or for Stripe's definite answer, and payouts
//! keep the household shares they paid.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    BankReference,
    AttemptedAt,
    Attempts,
    LastError,
    SettledAt,
}

#[derive(DeriveIden)]
enum RefundLines {
    Table,
    RefundId,
    OrderLineId,
    AmountFen,
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
    Attempts,
    LastError,
}

#[derive(DeriveIden)]
enum PayoutHouseholdShares {
    Table,
    Id,
    PayoutId,
    Position,
    Name,
    RegisteredPoor,
    ShareBps,
    AmountFen,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let refund_columns = [
            // The operator's record that a bank refund went out.
            ColumnDef::new(Refunds::BankReference).string_len(100).null().to_owned(),
            // When a Stripe call for it last began: a worker retries an unsettled refund only
            // after a quiet while, so it never races the request that is still waiting.
            ColumnDef::new(Refunds::AttemptedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Refunds::Attempts)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Refunds::LastError).text().null().to_owned(),
            ColumnDef::new(Refunds::SettledAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ];
        for mut column in refund_columns {
            manager
                .alter_table(Table::alter().table(Refunds::Table).add_column(&mut column).to_owned())
                .await?;
        }
        let payout_columns = [
            ColumnDef::new(Payouts::Attempts)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            // What the last unanswered (or unclear) Stripe call said; the payout stays in flight.
            ColumnDef::new(Payouts::LastError).text().null().to_owned(),
        ];
        for mut column in payout_columns {
            manager
                .alter_table(Table::alter().table(Payouts::Table).add_column(&mut column).to_owned())
                .await?;
        }

        // How a refund divides over the order's lines, decided once when the refund is.
        manager
            .create_table(
                Table::create()
                    .table(RefundLines::Table)
                    .col(ColumnDef::new(RefundLines::RefundId).big_integer().not_null())
                    .col(ColumnDef::new(RefundLines::OrderLineId).big_integer().not_null())
                    .col(ColumnDef::new(RefundLines::AmountFen).big_integer().not_null())
                    .primary_key(Index::create().col(RefundLines::RefundId).col(RefundLines::OrderLineId))
                    .check(Expr::col(RefundLines::AmountFen).gt(0))
                    .foreign_key(&mut fk(
                        RefundLines::Table,
                        RefundLines::RefundId,
                        Refunds::Table,
                        Refunds::Id,
                    ))
                    .foreign_key(&mut fk(
                        RefundLines::Table,
                        RefundLines::OrderLineId,
                        OrderLines::Table,
                        OrderLines::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refund_lines_line")
                    .table(RefundLines::Table)
                    .col(RefundLines::OrderLineId)
                    .to_owned(),
            )
            .await?;

        // A payout's statement, frozen when it is made: later member edits change only later
        // payouts.
        manager
            .create_table(
                Table::create()
                    .table(PayoutHouseholdShares::Table)
                    .col(
                        ColumnDef::new(PayoutHouseholdShares::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PayoutHouseholdShares::PayoutId).big_integer().not_null())
                    .col(ColumnDef::new(PayoutHouseholdShares::Position).integer().not_null())
                    .col(ColumnDef::new(PayoutHouseholdShares::Name).string().not_null())
                    .col(
                        ColumnDef::new(PayoutHouseholdShares::RegisteredPoor)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PayoutHouseholdShares::ShareBps).integer().not_null())
                    .col(
                        ColumnDef::new(PayoutHouseholdShares::AmountFen)
                            .big_integer()
                            .not_null(),
                    )
                    .check(Expr::col(PayoutHouseholdShares::ShareBps).between(1, 10_000))
                    .check(Expr::col(PayoutHouseholdShares::AmountFen).gte(0))
                    .foreign_key(&mut fk(
                        PayoutHouseholdShares::Table,
                        PayoutHouseholdShares::PayoutId,
                        Payouts::Table,
                        Payouts::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_payout_household_shares_position")
                    .table(PayoutHouseholdShares::Table)
                    .col(PayoutHouseholdShares::PayoutId)
                    .col(PayoutHouseholdShares::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
