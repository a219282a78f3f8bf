//! Accounts and sessions, and the audit trail of stock changes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    DisplayName,
    Role,
    ProducerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum StockMovements {
    Table,
    Id,
    VariantId,
    OnHandDelta,
    ReservedDelta,
    Reason,
    ActorUserId,
    OrderId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Producers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(
                        ColumnDef::new(Users::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    // Stored lower-cased, so the unique key is case-insensitive.
                    .col(ColumnDef::new(Users::Email).string().not_null().unique_key())
                    .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                    .col(ColumnDef::new(Users::DisplayName).string().not_null())
                    .col(ColumnDef::new(Users::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Users::ProducerId).big_integer().null())
                    .col(ColumnDef::new(Users::CreatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(Users::Role).is_in(["BUYER", "GROWER", "HOST", "UNION_ADMIN", "ADMIN"]))
                    // A grower belongs to exactly one producer; nobody else belongs to one.
                    .check(Expr::cust("(role = 'GROWER') = (producer_id IS NOT NULL)"))
                    .check(Expr::col(Users::Email).eq(Func::lower(Expr::col(Users::Email))))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::ProducerId)
                            .to(Producers::Table, Producers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Sessions::UserId).big_integer().not_null())
                    .col(
                        ColumnDef::new(Sessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Sessions::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        // Shop-wide settings the replicas must agree on, such as a generated token secret.
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(ColumnDef::new(Settings::Name).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Settings::Value).text().not_null())
                    .to_owned(),
            )
            .await?;

        // Every change to on-hand or reserved stock: who, when, why, for which order.
        manager
            .create_table(
                Table::create()
                    .table(StockMovements::Table)
                    .col(
                        ColumnDef::new(StockMovements::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(StockMovements::VariantId).big_integer().not_null())
                    .col(ColumnDef::new(StockMovements::OnHandDelta).big_integer().not_null())
                    .col(ColumnDef::new(StockMovements::ReservedDelta).big_integer().not_null())
                    .col(ColumnDef::new(StockMovements::Reason).string().not_null())
                    .col(ColumnDef::new(StockMovements::ActorUserId).big_integer().null())
                    .col(ColumnDef::new(StockMovements::OrderId).big_integer().null())
                    .col(
                        ColumnDef::new(StockMovements::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StockMovements::Table, StockMovements::VariantId)
                            .to(Variants::Table, Variants::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StockMovements::Table, StockMovements::ActorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stock_movements_variant")
                    .table(StockMovements::Table)
                    .col(StockMovements::VariantId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
