//! What a producer's account shows besides its lists: its balance and a cooperative's
//! member households.

use async_graphql::SimpleObject;

use super::balances::Balance as BalanceRow;
use crate::infra::money::Money;

#[derive(SimpleObject)]
pub struct Balance {
    /// Earned, within the hold after delivery.
    pending: Money,
    /// Ready for the next payout (negative when refunds outweigh new earnings).
    available: Money,
    /// In payouts not yet paid.
    in_transit: Money,
    paid_out: Money,
}

impl From<BalanceRow> for Balance {
    fn from(row: BalanceRow) -> Self {
        Balance {
            pending: row.pending.into(),
            available: row.available.into(),
            in_transit: row.in_transit.into(),
            paid_out: row.paid_out.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct Household {
    pub name: String,
    pub registered_poor: bool,
    /// Its share of the cooperative's payouts, in basis points.
    pub share_bps: i32,
}
