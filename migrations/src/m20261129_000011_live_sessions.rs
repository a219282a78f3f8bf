//! Live sessions (flash sales): a host's session with items, each a variant at a session price
//! with a quota set aside from the variant's stock once its grower approves it, and a limit per
//! buyer. The quota can never go below zero nor above what was set aside (CHECKs); what each
//! buyer holds of it is a row per order line, released when the order is cancelled or expires.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LiveSessions {
    Table,
    Id,
    HostId,
    Title,
    StartsAt,
    EndsAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LiveSessionItems {
    Table,
    Id,
    SessionId,
    VariantId,
    PriceFen,
    Quota,
    PerBuyerLimit,
    Remaining,
    ApprovedAt,
    ApprovedBy,
    ReturnedAt,
    ReturnedUnits,
}

#[derive(DeriveIden)]
enum SessionPurchases {
    Table,
    Id,
    ItemId,
    BuyerId,
    OrderId,
    Quantity,
    CreatedAt,
    ReleasedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
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
                    .table(LiveSessions::Table)
                    .col(id(LiveSessions::Id))
                    .col(ColumnDef::new(LiveSessions::HostId).big_integer().not_null())
                    .col(ColumnDef::new(LiveSessions::Title).string_len(200).not_null())
                    .col(
                        ColumnDef::new(LiveSessions::StartsAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LiveSessions::EndsAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LiveSessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(LiveSessions::EndsAt).gt(Expr::col(LiveSessions::StartsAt)))
                    .foreign_key(&mut fk(
                        LiveSessions::Table,
                        LiveSessions::HostId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_live_sessions_host")
                    .table(LiveSessions::Table)
                    .col(LiveSessions::HostId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LiveSessionItems::Table)
                    .col(id(LiveSessionItems::Id))
                    .col(ColumnDef::new(LiveSessionItems::SessionId).big_integer().not_null())
                    .col(ColumnDef::new(LiveSessionItems::VariantId).big_integer().not_null())
                    .col(ColumnDef::new(LiveSessionItems::PriceFen).big_integer().not_null())
                    .col(ColumnDef::new(LiveSessionItems::Quota).integer().not_null())
                    .col(ColumnDef::new(LiveSessionItems::PerBuyerLimit).integer().not_null())
                    // Set aside and neither sold nor held by an order: 0 until approved, and
                    // again once the unsold rest went back to stock at the end.
                    .col(
                        ColumnDef::new(LiveSessionItems::Remaining)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(LiveSessionItems::ApprovedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(LiveSessionItems::ApprovedBy).big_integer().null())
                    .col(
                        ColumnDef::new(LiveSessionItems::ReturnedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LiveSessionItems::ReturnedUnits)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .check(Expr::col(LiveSessionItems::PriceFen).gt(0))
                    .check(Expr::col(LiveSessionItems::Quota).gt(0))
                    .check(Expr::col(LiveSessionItems::PerBuyerLimit).gt(0))
                    .check(Expr::col(LiveSessionItems::Remaining).gte(0))
                    .check(Expr::col(LiveSessionItems::Remaining).lte(Expr::col(LiveSessionItems::Quota)))
                    .check(Expr::cust("approved_at IS NOT NULL OR remaining = 0"))
                    .foreign_key(&mut fk(
                        LiveSessionItems::Table,
                        LiveSessionItems::SessionId,
                        LiveSessions::Table,
                        LiveSessions::Id,
                    ))
                    .foreign_key(&mut fk(
                        LiveSessionItems::Table,
                        LiveSessionItems::VariantId,
                        Variants::Table,
                        Variants::Id,
                    ))
                    .foreign_key(&mut fk(
                        LiveSessionItems::Table,
                        LiveSessionItems::ApprovedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_live_session_items_variant")
                    .table(LiveSessionItems::Table)
                    .col(LiveSessionItems::SessionId)
                    .col(LiveSessionItems::VariantId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionPurchases::Table)
                    .col(id(SessionPurchases::Id))
                    .col(ColumnDef::new(SessionPurchases::ItemId).big_integer().not_null())
                    .col(ColumnDef::new(SessionPurchases::BuyerId).big_integer().not_null())
                    .col(ColumnDef::new(SessionPurchases::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(SessionPurchases::Quantity).integer().not_null())
                    .col(
                        ColumnDef::new(SessionPurchases::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SessionPurchases::ReleasedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .check(Expr::col(SessionPurchases::Quantity).gt(0))
                    .foreign_key(&mut fk(
                        SessionPurchases::Table,
                        SessionPurchases::ItemId,
                        LiveSessionItems::Table,
                        LiveSessionItems::Id,
                    ))
                    .foreign_key(&mut fk(
                        SessionPurchases::Table,
                        SessionPurchases::BuyerId,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        SessionPurchases::Table,
                        SessionPurchases::OrderId,
                        Orders::Table,
                        Orders::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // One purchase per item and order (an order's lines of one variant are one line).
        manager
            .create_index(
                Index::create()
                    .name("uq_session_purchases_order_item")
                    .table(SessionPurchases::Table)
                    .col(SessionPurchases::OrderId)
                    .col(SessionPurchases::ItemId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_session_purchases_item_buyer")
                    .table(SessionPurchases::Table)
                    .col(SessionPurchases::ItemId)
                    .col(SessionPurchases::BuyerId)
                    .to_owned(),
            )
            .await?;

        // A session's promo link: its code buys at the session's prices while it is live.
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE promo_links ADD COLUMN session_id bigint NULL REFERENCES live_sessions (id)",
            )
            .await?;
        Ok(())
    }
}
