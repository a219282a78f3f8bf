//! Payments, refunds and the inbox of Stripe events: each event id is recorded once, and an
//! order has one payment.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    Provider,
    Status,
    AmountFen,
    RefundedFen,
    Currency,
    StripePaymentIntentId,
    ClientSecret,
    BankReference,
    LastError,
    NeedsReview,
    ReviewReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    PaymentId,
    AmountFen,
    Status,
    StripeRefundId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    EventType,
    Payload,
    ReceivedAt,
    ClaimedUntil,
    ProcessedAt,
    Attempts,
    LastError,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(
                        ColumnDef::new(Payments::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Payments::OrderId).big_integer().not_null().unique_key())
                    .col(ColumnDef::new(Payments::Provider).string_len(16).not_null())
                    .col(ColumnDef::new(Payments::Status).string_len(24).not_null())
                    .col(ColumnDef::new(Payments::AmountFen).big_integer().not_null())
                    .col(
                        ColumnDef::new(Payments::RefundedFen)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Payments::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Payments::StripePaymentIntentId)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Payments::ClientSecret).string_len(255).null())
                    .col(ColumnDef::new(Payments::BankReference).string_len(100).null())
                    .col(ColumnDef::new(Payments::LastError).text().null())
                    .col(
                        ColumnDef::new(Payments::NeedsReview)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Payments::ReviewReason).text().null())
                    .col(
                        ColumnDef::new(Payments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Payments::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(Payments::Provider).is_in(["stripe", "bank_transfer"]))
                    .check(Expr::col(Payments::Status).is_in([
                        "REQUIRES_PAYMENT",
                        "PROCESSING",
                        "SUCCEEDED",
                        "FAILED",
                        "REFUNDED",
                        "PARTIALLY_REFUNDED",
                    ]))
                    .check(Expr::col(Payments::AmountFen).gte(0))
                    // Never more refunded than paid: the conditional update and this agree.
                    .check(Expr::col(Payments::RefundedFen).gte(0))
                    .check(Expr::col(Payments::RefundedFen).lte(Expr::col(Payments::AmountFen)))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(
                        ColumnDef::new(Refunds::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Refunds::PaymentId).big_integer().not_null())
                    .col(ColumnDef::new(Refunds::AmountFen).big_integer().not_null())
                    .col(ColumnDef::new(Refunds::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Refunds::StripeRefundId)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Refunds::Reason).string().not_null())
                    .col(ColumnDef::new(Refunds::CreatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(Refunds::AmountFen).gt(0))
                    .check(Expr::col(Refunds::Status).is_in(["PENDING", "SUCCEEDED", "FAILED"]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Refunds::Table, Refunds::PaymentId)
                            .to(Payments::Table, Payments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        // The inbox: an event is stored before the webhook is answered and applied after, so
        // a crash in between loses nothing; its Stripe id is the key, so a repeat is a no-op.
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(
                        ColumnDef::new(WebhookEvents::Id)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(WebhookEvents::EventType).string_len(100).not_null())
                    .col(ColumnDef::new(WebhookEvents::Payload).text().not_null())
                    .col(
                        ColumnDef::new(WebhookEvents::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEvents::ClaimedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEvents::ProcessedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookEvents::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(WebhookEvents::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_events_pending")
                    .table(WebhookEvents::Table)
                    .col(WebhookEvents::ProcessedAt)
                    .col(WebhookEvents::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
