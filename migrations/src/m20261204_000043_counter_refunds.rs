//! Refunds at a store's counter (issue 26). A counter sale now carries a payment like any
//! order (provider `counter` for cash and the counter's own terminal, `allowance` for a
//! member's welfare allowance), so its refund goes through the one refund path; the till's side
//! of a refund is a `counter_refunds` row on the day it was given back (the day's cash expected
//! counts cash refunds out). The invariants live here: one refund row per refund, one per store
//! and idempotency key, an amount above zero, and the provider CHECK widened to `counter`.

use sea_orm_migration::prelude::*;

use crate::sql::{Types, WiderCheck, execute, types, widen_checks};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types {
            id,
            big,
            timestamp,
            date,
            ..
        } = types(manager);
        execute(
            manager,
            &format!(
                "CREATE TABLE counter_refunds (
                    id {id},
                    store_id {big} NOT NULL REFERENCES stores (id),
                    counter_sale_id {big} NOT NULL REFERENCES counter_sales (id),
                    refund_id {big} NOT NULL UNIQUE REFERENCES refunds (id),
                    clerk_id {big} NOT NULL REFERENCES users (id),
                    payment_method varchar(24) NOT NULL
                        CHECK (payment_method IN ('CASH', 'WECHAT_PAY', 'ALIPAY', 'WELFARE_ALLOWANCE')),
                    amount_fen {big} NOT NULL CHECK (amount_fen > 0),
                    business_date {date} NOT NULL,
                    idempotency_key varchar(64) NOT NULL,
                    created_at {timestamp} NOT NULL,
                    UNIQUE (store_id, idempotency_key)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_counter_refunds_day ON counter_refunds (store_id, business_date)",
        )
        .await?;
        widen_checks(
            manager,
            &[WiderCheck {
                table: "payments",
                column: "provider",
                marker: "wechatpay",
                postgres_check: "provider IN ('stripe', 'bank_transfer', 'allowance', 'fund', 'wechatpay', 'alipay', 'counter')",
                old: "'bank_transfer', 'allowance', 'fund', 'wechatpay', 'alipay')",
                new: "'bank_transfer', 'allowance', 'fund', 'wechatpay', 'alipay', 'counter')",
            }],
        )
        .await
    }
}
