//! Database migrations. Invariants live here, where a reader looks for them:
//! CHECK constraints on stock and prices, unique keys on slugs and SKUs.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_catalogue;
mod m20261129_000002_accounts;
mod m20261129_000003_orders;
mod m20261129_000004_payments;
mod m20261129_000005_payouts;
mod m20261129_000006_money_paths;
mod m20261129_000007_payees_and_memberships;
mod m20261129_000008_stock_versions;
mod m20261129_000010_livestream;
mod m20261129_000011_live_sessions;
mod m20261129_000012_unions;
mod m20261129_000013_host_payout_accounts;
mod m20261129_000014_user_language;
mod m20261129_000016_allowance_spending;
mod m20261129_000017_bulk_orders;
mod m20261129_000018_sale_rates;
mod m20261129_000019_mail_outbox;
mod m20261203_000030_host_bank_accounts;
mod m20261203_000031_direct_pay;
mod m20261203_000032_claims;
mod m20261203_000033_claim_photos;
mod m20261203_000034_back_office_catalogue;
mod m20261203_000035_order_desk;
mod m20261203_000036_checkout;
mod m20261203_000037_password_resets_and_phones;
mod m20261203_000038_stores;
mod m20261204_000041_shipping_fees;
mod m20261204_000042_pickups;
mod m20261204_000043_counter_refunds;
mod m20261206_000044_buyer_holds;
mod sql;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_catalogue::Migration),
            Box::new(m20261129_000002_accounts::Migration),
            Box::new(m20261129_000003_orders::Migration),
            Box::new(m20261129_000004_payments::Migration),
            Box::new(m20261129_000005_payouts::Migration),
            Box::new(m20261129_000006_money_paths::Migration),
            Box::new(m20261129_000007_payees_and_memberships::Migration),
            Box::new(m20261129_000008_stock_versions::Migration),
            Box::new(m20261129_000010_livestream::Migration),
            Box::new(m20261129_000011_live_sessions::Migration),
            Box::new(m20261129_000012_unions::Migration),
            Box::new(m20261129_000013_host_payout_accounts::Migration),
            Box::new(m20261129_000014_user_language::Migration),
            Box::new(m20261129_000016_allowance_spending::Migration),
            Box::new(m20261129_000017_bulk_orders::Migration),
            Box::new(m20261129_000018_sale_rates::Migration),
            Box::new(m20261129_000019_mail_outbox::Migration),
            Box::new(m20261203_000030_host_bank_accounts::Migration),
            Box::new(m20261203_000031_direct_pay::Migration),
            Box::new(m20261203_000032_claims::Migration),
            Box::new(m20261203_000033_claim_photos::Migration),
            Box::new(m20261203_000034_back_office_catalogue::Migration),
            Box::new(m20261203_000036_checkout::Migration),
            Box::new(m20261203_000037_password_resets_and_phones::Migration),
            Box::new(m20261203_000038_stores::Migration),
            Box::new(m20261203_000035_order_desk::Migration),
            Box::new(m20261204_000041_shipping_fees::Migration),
            Box::new(m20261204_000042_pickups::Migration),
            Box::new(m20261204_000043_counter_refunds::Migration),
            Box::new(m20261206_000044_buyer_holds::Migration),
        ]
    }
}
