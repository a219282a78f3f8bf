//! Relief supermarkets (扶贫超市): stores, their clerks (one store each), each store's shelf
//! stock and its ledger, counter sales (an order delivered at the counter, one per till key),
//! the days of a store's till (日结), and the members' counter-code secrets.
//!
//! The invariants live here: shelf stock never below zero (a CHECK under the conditional
//! updates); one sale per store and idempotency key; a day closed once, its difference the cash
//! counted less the cash expected. Users widen to the role `STORE_CLERK` and orders to the
//! payment method `CASH` (PostgreSQL replaces the CHECKs; SQLite's stored table text is edited
//! under `writable_schema`, as the claims migration does).

use sea_orm_migration::prelude::*;

use crate::sql::{edit_sqlite_tables, execute};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_ROLES: &str = "'UNION_ADMIN', 'ADMIN')";
const NEW_ROLES: &str = "'UNION_ADMIN', 'ADMIN', 'STORE_CLERK')";
const OLD_METHODS: &str = "'WELFARE_ALLOWANCE', 'ORGANISATION_FUND')";
const NEW_METHODS: &str = "'WELFARE_ALLOWANCE', 'ORGANISATION_FUND', 'CASH')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let (id, big, timestamp, date) = if postgres {
            ("bigserial PRIMARY KEY", "bigint", "timestamptz", "date")
        } else {
            (
                "integer PRIMARY KEY AUTOINCREMENT",
                "integer",
                "timestamp_with_timezone_text",
                "date_text",
            )
        };
        for table in [
            format!(
                "CREATE TABLE stores (
                    id {id},
                    slug varchar(80) NOT NULL UNIQUE,
                    name varchar(100) NOT NULL,
                    address varchar(200) NOT NULL,
                    opening_hours varchar(100) NULL,
                    created_at {timestamp} NOT NULL
                )"
            ),
            // One store per clerk: the user is the key.
            format!(
                "CREATE TABLE store_clerks (
                    user_id {big} PRIMARY KEY REFERENCES users (id),
                    store_id {big} NOT NULL REFERENCES stores (id),
                    created_at {timestamp} NOT NULL
                )"
            ),
            format!(
                "CREATE TABLE shelf_stock (
                    store_id {big} NOT NULL REFERENCES stores (id),
                    variant_id {big} NOT NULL REFERENCES variants (id),
                    on_shelf {big} NOT NULL CHECK (on_shelf >= 0),
                    PRIMARY KEY (store_id, variant_id)
                )"
            ),
            format!(
                "CREATE TABLE shelf_movements (
                    id {id},
                    store_id {big} NOT NULL REFERENCES stores (id),
                    variant_id {big} NOT NULL REFERENCES variants (id),
                    delta {big} NOT NULL CHECK (delta <> 0),
                    reason varchar(200) NOT NULL,
                    actor_user_id {big} NULL REFERENCES users (id),
                    order_id {big} NULL REFERENCES orders (id),
                    created_at {timestamp} NOT NULL
                )"
            ),
            format!(
                "CREATE TABLE counter_sales (
                    id {id},
                    store_id {big} NOT NULL REFERENCES stores (id),
                    order_id {big} NOT NULL UNIQUE REFERENCES orders (id),
                    clerk_id {big} NOT NULL REFERENCES users (id),
                    payment_method varchar(24) NOT NULL
                        CHECK (payment_method IN ('CASH', 'WECHAT_PAY', 'ALIPAY', 'WELFARE_ALLOWANCE')),
                    total_fen {big} NOT NULL CHECK (total_fen > 0),
                    business_date {date} NOT NULL,
                    idempotency_key varchar(64) NOT NULL,
                    created_at {timestamp} NOT NULL,
                    UNIQUE (store_id, idempotency_key)
                )"
            ),
            format!(
                "CREATE TABLE store_days (
                    store_id {big} NOT NULL REFERENCES stores (id),
                    business_date {date} NOT NULL,
                    sales_count integer NOT NULL DEFAULT 0 CHECK (sales_count >= 0),
                    cash_expected_fen {big} NULL,
                    cash_counted_fen {big} NULL CHECK (cash_counted_fen >= 0),
                    difference_fen {big} NULL,
                    closed_by {big} NULL REFERENCES users (id),
                    closed_at {timestamp} NULL,
                    PRIMARY KEY (store_id, business_date),
                    CHECK ((closed_at IS NULL) = (cash_counted_fen IS NULL)),
                    CHECK ((closed_at IS NULL) = (cash_expected_fen IS NULL)),
                    CHECK (difference_fen IS NULL OR difference_fen = cash_counted_fen - cash_expected_fen)
                )"
            ),
            format!(
                "CREATE TABLE counter_credentials (
                    membership_id {big} PRIMARY KEY REFERENCES memberships (id),
                    handle varchar(8) NOT NULL UNIQUE,
                    secret varchar(64) NOT NULL,
                    created_at {timestamp} NOT NULL
                )"
            ),
        ] {
            execute(manager, &table).await?;
        }
        execute(
            manager,
            "CREATE INDEX idx_store_clerks_store ON store_clerks (store_id)",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_shelf_movements_store ON shelf_movements (store_id, variant_id, id)",
        )
        .await?;
        execute(
            manager,
            "CREATE INDEX idx_counter_sales_day ON counter_sales (store_id, business_date, id)",
        )
        .await?;
        if postgres {
            execute(
                manager,
                "DO $$
                 DECLARE found text;
                 BEGIN
                    SELECT conname INTO found FROM pg_constraint
                     WHERE conrelid = 'users'::regclass AND contype = 'c'
                       AND pg_get_constraintdef(oid) LIKE '%UNION_ADMIN%';
                    EXECUTE format('ALTER TABLE users DROP CONSTRAINT %I', found);
                 END $$;
                 ALTER TABLE users ADD CONSTRAINT users_role_check
                    CHECK (role IN ('BUYER', 'GROWER', 'HOST', 'UNION_ADMIN', 'ADMIN', 'STORE_CLERK'));
                 ALTER TABLE orders DROP CONSTRAINT orders_payment_method_check;
                 ALTER TABLE orders ADD CONSTRAINT orders_payment_method_check CHECK (payment_method IN
                    ('CARD', 'ALIPAY', 'WECHAT_PAY', 'BANK_TRANSFER', 'WELFARE_ALLOWANCE', 'ORGANISATION_FUND',
                     'CASH'));",
            )
            .await?;
        } else {
            edit_sqlite_tables(
                manager,
                &[("users", OLD_ROLES, NEW_ROLES), ("orders", OLD_METHODS, NEW_METHODS)],
            )
            .await?;
        }
        Ok(())
    }
}
