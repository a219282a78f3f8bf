//! Livestream hosts: commission plans (a history of rates, each with when it takes effect),
//! promo links with hard-to-guess codes and their clicks, the attribution of order lines to a
//! host with the rate snapshot, and the hosts' own append-only commission ledger.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CommissionPlans {
    Table,
    Id,
    ProductId,
    HostId,
    RateBps,
    EffectiveFrom,
    SetBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PromoLinks {
    Table,
    Id,
    Code,
    HostId,
    ProductId,
    Clicks,
    RetiredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrderLineAttributions {
    Table,
    Id,
    OrderLineId,
    OrderId,
    HostId,
    PromoLinkId,
    RateBps,
    CreatedAt,
}

#[derive(DeriveIden)]
enum HostCommissions {
    Table,
    Id,
    HostId,
    OrderId,
    OrderLineId,
    RefundId,
    Kind,
    LineTotalFen,
    AmountFen,
    AvailableAt,
    PayoutId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payouts {
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

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CommissionPlans::Table)
                    .col(id(CommissionPlans::Id))
                    .col(ColumnDef::new(CommissionPlans::ProductId).big_integer().not_null())
                    // None: the open rate, for any host.
                    .col(ColumnDef::new(CommissionPlans::HostId).big_integer().null())
                    .col(ColumnDef::new(CommissionPlans::RateBps).integer().not_null())
                    .col(
                        ColumnDef::new(CommissionPlans::EffectiveFrom)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CommissionPlans::SetBy).big_integer().null())
                    .col(
                        ColumnDef::new(CommissionPlans::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(CommissionPlans::RateBps).between(0, 10_000))
                    .foreign_key(&mut fk(
                        CommissionPlans::Table,
                        CommissionPlans::ProductId,
                        Products::Table,
                        Products::Id,
                    ))
                    .foreign_key(&mut fk(
                        CommissionPlans::Table,
                        CommissionPlans::HostId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        CommissionPlans::Table,
                        CommissionPlans::SetBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_commission_plans_product")
                    .table(CommissionPlans::Table)
                    .col(CommissionPlans::ProductId)
                    .col(CommissionPlans::EffectiveFrom)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PromoLinks::Table)
                    .col(id(PromoLinks::Id))
                    .col(ColumnDef::new(PromoLinks::Code).string_len(32).not_null().unique_key())
                    .col(ColumnDef::new(PromoLinks::HostId).big_integer().not_null())
                    .col(ColumnDef::new(PromoLinks::ProductId).big_integer().not_null())
                    .col(ColumnDef::new(PromoLinks::Clicks).big_integer().not_null().default(0))
                    .col(ColumnDef::new(PromoLinks::RetiredAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(PromoLinks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(PromoLinks::Clicks).gte(0))
                    .foreign_key(&mut fk(PromoLinks::Table, PromoLinks::HostId, Users::Table, Users::Id))
                    .foreign_key(&mut fk(
                        PromoLinks::Table,
                        PromoLinks::ProductId,
                        Products::Table,
                        Products::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_promo_links_host")
                    .table(PromoLinks::Table)
                    .col(PromoLinks::HostId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderLineAttributions::Table)
                    .col(id(OrderLineAttributions::Id))
                    // A line is attributed once, to one host.
                    .col(
                        ColumnDef::new(OrderLineAttributions::OrderLineId)
                            .big_integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(OrderLineAttributions::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(OrderLineAttributions::HostId).big_integer().not_null())
                    .col(
                        ColumnDef::new(OrderLineAttributions::PromoLinkId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrderLineAttributions::RateBps).integer().not_null())
                    .col(
                        ColumnDef::new(OrderLineAttributions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(OrderLineAttributions::RateBps).between(0, 10_000))
                    .foreign_key(&mut fk(
                        OrderLineAttributions::Table,
                        OrderLineAttributions::OrderLineId,
                        OrderLines::Table,
                        OrderLines::Id,
                    ))
                    .foreign_key(&mut fk(
                        OrderLineAttributions::Table,
                        OrderLineAttributions::OrderId,
                        Orders::Table,
                        Orders::Id,
                    ))
                    .foreign_key(&mut fk(
                        OrderLineAttributions::Table,
                        OrderLineAttributions::HostId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        OrderLineAttributions::Table,
                        OrderLineAttributions::PromoLinkId,
                        PromoLinks::Table,
                        PromoLinks::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_attributions_order", OrderLineAttributions::OrderId),
            ("idx_attributions_link", OrderLineAttributions::PromoLinkId),
            ("idx_attributions_host", OrderLineAttributions::HostId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(OrderLineAttributions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(HostCommissions::Table)
                    .col(id(HostCommissions::Id))
                    .col(ColumnDef::new(HostCommissions::HostId).big_integer().not_null())
                    .col(ColumnDef::new(HostCommissions::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(HostCommissions::OrderLineId).big_integer().not_null())
                    // The refund a reversal (or a restoring sale) answers; 0 for a delivered line.
                    .col(
                        ColumnDef::new(HostCommissions::RefundId)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(HostCommissions::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(HostCommissions::LineTotalFen).big_integer().not_null())
                    .col(ColumnDef::new(HostCommissions::AmountFen).big_integer().not_null())
                    .col(
                        ColumnDef::new(HostCommissions::AvailableAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(HostCommissions::PayoutId).big_integer().null())
                    .col(
                        ColumnDef::new(HostCommissions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(HostCommissions::Kind).is_in(["SALE", "REVERSAL"]))
                    .foreign_key(&mut fk(
                        HostCommissions::Table,
                        HostCommissions::HostId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        HostCommissions::Table,
                        HostCommissions::OrderLineId,
                        OrderLines::Table,
                        OrderLines::Id,
                    ))
                    .foreign_key(&mut fk(
                        HostCommissions::Table,
                        HostCommissions::PayoutId,
                        Payouts::Table,
                        Payouts::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // As for earnings: a repeat of any step writes nothing.
        manager
            .create_index(
                Index::create()
                    .name("uq_host_commissions_line_kind_refund")
                    .table(HostCommissions::Table)
                    .col(HostCommissions::OrderLineId)
                    .col(HostCommissions::Kind)
                    .col(HostCommissions::RefundId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_host_commissions_host_payout")
                    .table(HostCommissions::Table)
                    .col(HostCommissions::HostId)
                    .col(HostCommissions::PayoutId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
