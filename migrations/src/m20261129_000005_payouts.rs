//! Grower payouts: an append-only earnings ledger, payouts and bank batches, cooperative
//! member shares. The database keeps every earning in at most one payout.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Producers {
    Table,
    Id,
    StripeAccountId,
    BankAccountName,
    BankAccountNumber,
}

#[derive(DeriveIden)]
enum Earnings {
    Table,
    Id,
    ProducerId,
    OrderId,
    OrderLineId,
    RefundId,
    Kind,
    LineTotalFen,
    PlatformFeeFen,
    CommissionFen,
    AmountFen,
    AvailableAt,
    PayoutId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
    ProducerId,
    AmountFen,
    Status,
    Method,
    BatchId,
    StripeTransferId,
    Reference,
    FailureReason,
    CreatedAt,
    PaidAt,
}

#[derive(DeriveIden)]
enum PayoutBatches {
    Table,
    Id,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CooperativeMembers {
    Table,
    Id,
    ProducerId,
    Name,
    RegisteredPoor,
    ShareBps,
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
        for column in [
            Producers::StripeAccountId,
            Producers::BankAccountName,
            Producers::BankAccountNumber,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Producers::Table)
                        .add_column(ColumnDef::new(column).string_len(100).null())
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PayoutBatches::Table)
                    .col(
                        ColumnDef::new(PayoutBatches::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PayoutBatches::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Payouts::Table)
                    .col(
                        ColumnDef::new(Payouts::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Payouts::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(Payouts::AmountFen).big_integer().not_null())
                    .col(ColumnDef::new(Payouts::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Payouts::Method).string_len(16).not_null())
                    .col(ColumnDef::new(Payouts::BatchId).big_integer().null())
                    .col(
                        ColumnDef::new(Payouts::StripeTransferId)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Payouts::Reference).string_len(100).null())
                    .col(ColumnDef::new(Payouts::FailureReason).text().null())
                    .col(ColumnDef::new(Payouts::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Payouts::PaidAt).timestamp_with_time_zone().null())
                    .check(Expr::col(Payouts::AmountFen).gt(0))
                    .check(Expr::col(Payouts::Status).is_in(["PENDING", "IN_TRANSIT", "PAID", "FAILED"]))
                    .check(Expr::col(Payouts::Method).is_in(["stripe_transfer", "bank"]))
                    .foreign_key(&mut fk(
                        Payouts::Table,
                        Payouts::ProducerId,
                        Producers::Table,
                        Producers::Id,
                    ))
                    .foreign_key(&mut fk(
                        Payouts::Table,
                        Payouts::BatchId,
                        PayoutBatches::Table,
                        PayoutBatches::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Earnings::Table)
                    .col(
                        ColumnDef::new(Earnings::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Earnings::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(Earnings::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(Earnings::OrderLineId).big_integer().not_null())
                    // The refund a reversal answers (none for a sale).
                    .col(ColumnDef::new(Earnings::RefundId).big_integer().not_null().default(0))
                    .col(ColumnDef::new(Earnings::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Earnings::LineTotalFen).big_integer().not_null())
                    .col(ColumnDef::new(Earnings::PlatformFeeFen).big_integer().not_null())
                    .col(ColumnDef::new(Earnings::CommissionFen).big_integer().not_null())
                    .col(ColumnDef::new(Earnings::AmountFen).big_integer().not_null())
                    .col(
                        ColumnDef::new(Earnings::AvailableAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Earnings::PayoutId).big_integer().null())
                    .col(
                        ColumnDef::new(Earnings::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(Earnings::Kind).is_in(["SALE", "REVERSAL"]))
                    // The identity that keeps every fen accounted for.
                    .check(
                        Expr::col(Earnings::LineTotalFen).eq(Expr::col(Earnings::PlatformFeeFen)
                            .add(Expr::col(Earnings::CommissionFen))
                            .add(Expr::col(Earnings::AmountFen))),
                    )
                    .foreign_key(&mut fk(
                        Earnings::Table,
                        Earnings::ProducerId,
                        Producers::Table,
                        Producers::Id,
                    ))
                    .foreign_key(&mut fk(
                        Earnings::Table,
                        Earnings::OrderLineId,
                        OrderLines::Table,
                        OrderLines::Id,
                    ))
                    .foreign_key(&mut fk(
                        Earnings::Table,
                        Earnings::PayoutId,
                        Payouts::Table,
                        Payouts::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // One sale per delivered line, one reversal per line and refund: a repeat writes nothing.
        manager
            .create_index(
                Index::create()
                    .name("uq_earnings_line_kind_refund")
                    .table(Earnings::Table)
                    .col(Earnings::OrderLineId)
                    .col(Earnings::Kind)
                    .col(Earnings::RefundId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_earnings_producer_payout")
                    .table(Earnings::Table)
                    .col(Earnings::ProducerId)
                    .col(Earnings::PayoutId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CooperativeMembers::Table)
                    .col(
                        ColumnDef::new(CooperativeMembers::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CooperativeMembers::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(CooperativeMembers::Name).string().not_null())
                    .col(ColumnDef::new(CooperativeMembers::RegisteredPoor).boolean().not_null())
                    .col(ColumnDef::new(CooperativeMembers::ShareBps).integer().not_null())
                    .check(Expr::col(CooperativeMembers::ShareBps).between(1, 10_000))
                    .foreign_key(&mut fk(
                        CooperativeMembers::Table,
                        CooperativeMembers::ProducerId,
                        Producers::Table,
                        Producers::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
