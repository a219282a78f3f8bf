//! Orders, their lines and shipments. An order holds its stock until `reserved_until`; the
//! database keeps one order per buyer and idempotency key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    BuyerId,
    Status,
    PaymentMethod,
    TotalFen,
    IdempotencyKey,
    ReferralCode,
    UnionId,
    ShipName,
    ShipPhone,
    ShipProvince,
    ShipCity,
    ShipDistrict,
    ShipLine1,
    ShipPostalCode,
    ReservedUntil,
    CreatedAt,
    PaidAt,
    ShippedAt,
    DeliveredAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    VariantId,
    ProductId,
    ProducerId,
    Quantity,
    UnitPriceFen,
    LineTotalFen,
}

#[derive(DeriveIden)]
enum Shipments {
    Table,
    Id,
    OrderId,
    ProducerId,
    TrackingNumber,
    ShippedAt,
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
enum Producers {
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
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(
                        ColumnDef::new(Orders::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Orders::Number).string_len(32).not_null().unique_key())
                    .col(ColumnDef::new(Orders::BuyerId).big_integer().not_null())
                    .col(ColumnDef::new(Orders::Status).string_len(24).not_null())
                    .col(ColumnDef::new(Orders::PaymentMethod).string_len(16).not_null())
                    .col(ColumnDef::new(Orders::TotalFen).big_integer().not_null())
                    .col(ColumnDef::new(Orders::IdempotencyKey).string_len(100).not_null())
                    // Livestream attribution and union programmes come later; the order knows them.
                    .col(ColumnDef::new(Orders::ReferralCode).string_len(64).null())
                    .col(ColumnDef::new(Orders::UnionId).big_integer().null())
                    .col(ColumnDef::new(Orders::ShipName).string().not_null())
                    .col(ColumnDef::new(Orders::ShipPhone).string().not_null())
                    .col(ColumnDef::new(Orders::ShipProvince).string().not_null())
                    .col(ColumnDef::new(Orders::ShipCity).string().not_null())
                    .col(ColumnDef::new(Orders::ShipDistrict).string().not_null())
                    .col(ColumnDef::new(Orders::ShipLine1).string().not_null())
                    .col(ColumnDef::new(Orders::ShipPostalCode).string().null())
                    .col(ColumnDef::new(Orders::ReservedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Orders::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Orders::PaidAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Orders::ShippedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Orders::DeliveredAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Orders::CancelledAt).timestamp_with_time_zone().null())
                    .check(Expr::col(Orders::Status).is_in([
                        "PENDING_PAYMENT",
                        "PAID",
                        "SHIPPED",
                        "DELIVERED",
                        "COMPLETED",
                        "CANCELLED",
                        "REFUNDED",
                    ]))
                    .check(Expr::col(Orders::PaymentMethod).is_in(["CARD", "ALIPAY", "WECHAT_PAY", "BANK_TRANSFER"]))
                    .check(Expr::col(Orders::TotalFen).gte(0))
                    .foreign_key(&mut fk(Orders::Table, Orders::BuyerId, Users::Table, Users::Id))
                    .to_owned(),
            )
            .await?;
        // The same key from the same buyer is the same order, whoever wins a race.
        manager
            .create_index(
                Index::create()
                    .name("uq_orders_buyer_idempotency_key")
                    .table(Orders::Table)
                    .col(Orders::BuyerId)
                    .col(Orders::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The expiry worker's scan: unpaid orders by deadline.
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status_reserved_until")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .col(Orders::ReservedUntil)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderLines::Table)
                    .col(
                        ColumnDef::new(OrderLines::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OrderLines::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(OrderLines::VariantId).big_integer().not_null())
                    .col(ColumnDef::new(OrderLines::ProductId).big_integer().not_null())
                    .col(ColumnDef::new(OrderLines::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(OrderLines::Quantity).integer().not_null())
                    .col(ColumnDef::new(OrderLines::UnitPriceFen).big_integer().not_null())
                    .col(ColumnDef::new(OrderLines::LineTotalFen).big_integer().not_null())
                    .check(Expr::col(OrderLines::Quantity).between(1, 999))
                    .check(Expr::col(OrderLines::UnitPriceFen).gt(0))
                    .check(
                        Expr::col(OrderLines::LineTotalFen)
                            .eq(Expr::col(OrderLines::UnitPriceFen).mul(Expr::col(OrderLines::Quantity))),
                    )
                    .foreign_key(&mut fk(
                        OrderLines::Table,
                        OrderLines::OrderId,
                        Orders::Table,
                        Orders::Id,
                    ))
                    .foreign_key(&mut fk(
                        OrderLines::Table,
                        OrderLines::VariantId,
                        Variants::Table,
                        Variants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_lines_order")
                    .table(OrderLines::Table)
                    .col(OrderLines::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_lines_producer")
                    .table(OrderLines::Table)
                    .col(OrderLines::ProducerId)
                    .to_owned(),
            )
            .await?;

        // One shipment per producer in an order, each with its own tracking number.
        manager
            .create_table(
                Table::create()
                    .table(Shipments::Table)
                    .col(
                        ColumnDef::new(Shipments::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Shipments::OrderId).big_integer().not_null())
                    .col(ColumnDef::new(Shipments::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(Shipments::TrackingNumber).string_len(64).null())
                    .col(ColumnDef::new(Shipments::ShippedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut fk(Shipments::Table, Shipments::OrderId, Orders::Table, Orders::Id))
                    .foreign_key(&mut fk(
                        Shipments::Table,
                        Shipments::ProducerId,
                        Producers::Table,
                        Producers::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_shipments_order_producer")
                    .table(Shipments::Table)
                    .col(Shipments::OrderId)
                    .col(Shipments::ProducerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
