//! Checkout: a buyer's address book and cart, kept on the server, and producers' shipping
//! rules.
//!
//! The invariants live here: one default address per user (a partial unique index), a cart line
//! per user and variant with a quantity between 1 and 999 (removing is deleting the row), one
//! shipping rule per producer with fees within bounds, and a province named once per rule,
//! either excluded or with a surcharge.
//! Orders gain the status PARTIALLY_SHIPPED (PostgreSQL replaces the CHECK; SQLite's stored
//! table text is edited under `writable_schema`, as the claims migration does).

use sea_orm_migration::prelude::*;

use crate::sql::{Types, edit_sqlite_tables, execute, types};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_STATUSES: &str = "'CANCELLED', 'REFUNDED')";
const NEW_STATUSES: &str = "'CANCELLED', 'REFUNDED', 'PARTIALLY_SHIPPED')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let Types {
            postgres,
            id,
            big,
            timestamp,
            ..
        } = types(manager);
        execute(
            manager,
            &format!(
                "CREATE TABLE saved_addresses (
                    id {id},
                    user_id {big} NOT NULL REFERENCES users (id),
                    name varchar(200) NOT NULL,
                    phone varchar(30) NOT NULL,
                    province varchar(200) NOT NULL,
                    city varchar(200) NOT NULL,
                    district varchar(200) NOT NULL,
                    line1 varchar(800) NOT NULL,
                    postal_code varchar(6) NULL,
                    is_default boolean NOT NULL DEFAULT FALSE,
                    created_at {timestamp} NOT NULL
                )"
            ),
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_saved_addresses_user ON saved_addresses (user_id, id)",
        )
        .await?;
        execute(
            manager,
            "CREATE UNIQUE INDEX uq_saved_addresses_default ON saved_addresses (user_id) WHERE is_default",
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE cart_lines (
                    id {id},
                    user_id {big} NOT NULL REFERENCES users (id),
                    variant_id {big} NOT NULL REFERENCES variants (id),
                    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 999),
                    added_at {timestamp} NOT NULL,
                    UNIQUE (user_id, variant_id)
                )"
            ),
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE shipping_rules (
                    producer_id {big} PRIMARY KEY REFERENCES producers (id),
                    first_weight_grams {big} NOT NULL CHECK (first_weight_grams BETWEEN 1 AND 100000),
                    first_fee_fen {big} NOT NULL CHECK (first_fee_fen BETWEEN 0 AND 1000000),
                    extra_per_kg_fen {big} NOT NULL CHECK (extra_per_kg_fen BETWEEN 0 AND 1000000),
                    free_over_fen {big} NULL CHECK (free_over_fen > 0),
                    updated_at {timestamp} NOT NULL
                )"
            ),
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE shipping_provinces (
                    id {id},
                    producer_id {big} NOT NULL REFERENCES shipping_rules (producer_id),
                    province varchar(200) NOT NULL,
                    excluded boolean NOT NULL,
                    extra_fee_fen {big} NOT NULL CHECK (extra_fee_fen BETWEEN 0 AND 1000000),
                    CHECK (NOT excluded OR extra_fee_fen = 0),
                    UNIQUE (producer_id, province)
                )"
            ),
        )
        .await?;
        if postgres {
            execute(
                manager,
                "ALTER TABLE orders DROP CONSTRAINT orders_status_check;
                 ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('PENDING_PAYMENT',
                    'PAID', 'PARTIALLY_SHIPPED', 'SHIPPED', 'DELIVERED', 'COMPLETED', 'CANCELLED', 'REFUNDED'));",
            )
            .await?;
        } else {
            edit_sqlite_tables(manager, &[("orders", OLD_STATUSES, NEW_STATUSES)]).await?;
        }
        Ok(())
    }
}
