//! Grower payouts: what each producer earned from delivered lines (less the platform fee and
//! any host commission), when it becomes available, and paying it out once: by Stripe transfer
//! to a connected account, or by bank in batches confirmed line by line.

pub mod account_objects;
pub mod balances;
pub mod command;
pub mod door;
pub mod entity;
mod entries;
pub mod graphql;
pub mod ledger;
pub mod notices;
pub mod payees;
pub mod policy;
pub mod reversals;
pub mod runs;
pub mod shipping_ledger;
pub mod statements;

use async_graphql::Enum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

use crate::infra::ids::PayoutId;
use crate::infra::money::{Fen, allocate};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PayoutStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "IN_TRANSIT")]
    InTransit,
    #[sea_orm(string_value = "PAID")]
    Paid,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// What an entry of the earnings ledger (and of a host's commissions) stands for; the
/// column's CHECK holds the same list.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum EarningKind {
    /// A delivered line; naming a refund, what that refused refund had reversed, restored.
    #[sea_orm(string_value = "SALE")]
    Sale,
    /// Money given back for a delivered line (negative).
    #[sea_orm(string_value = "REVERSAL")]
    Reversal,
    /// A new parcel sent for an after-sales claim, at the producer's cost (negative).
    #[sea_orm(string_value = "RESHIP")]
    Reship,
    /// A delivered parcel's shipping fee, the producer's whole; naming a refund, what that
    /// refused refund had reversed of it, restored.
    #[sea_orm(string_value = "SHIPPING")]
    Shipping,
    /// Shipping given back by a refund (negative).
    #[sea_orm(string_value = "SHIPPING_REFUND")]
    ShippingRefund,
}

impl EarningKind {
    /// As the ledger's exports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            EarningKind::Sale => "SALE",
            EarningKind::Reversal => "REVERSAL",
            EarningKind::Reship => "RESHIP",
            EarningKind::Shipping => "SHIPPING",
            EarningKind::ShippingRefund => "SHIPPING_REFUND",
        }
    }
}

/// How a payout reaches its payee.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PayoutMethod {
    /// A Stripe transfer to the payee's connected account.
    #[sea_orm(string_value = "stripe_transfer")]
    StripeTransfer,
    /// A line of a bank batch (`huakai payouts export`), confirmed by an operator.
    #[sea_orm(string_value = "bank")]
    Bank,
}

/// How a line total divides: the platform's fee, the host's commission, the producer's earning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub platform_fee: Fen,
    pub commission: Fen,
    pub earning: Fen,
}

/// Rounding rule: the fee (and a commission) are `bps` of the line total rounded half up to the
/// fen; the producer earns exactly what is left, so `fee + commission + earning = line total`
/// to the fen, for every amount. A negative total (a reversal) mirrors its positive.
pub fn split(line_total: Fen, platform_fee_bps: u32, commission_bps: u32) -> Split {
    let platform_fee = line_total.share_bps(platform_fee_bps);
    let commission = line_total.share_bps(commission_bps);
    let earning = Fen::new(line_total.get() - platform_fee.get() - commission.get());
    Split {
        platform_fee,
        commission,
        earning,
    }
}

/// A cooperative's payout among its households, by their shares in basis points: the
/// cooperative itself holds the share no household has (what it keeps), and the amount is
/// allocated over all of them, so the parts and what the cooperative keeps add up to the fen.
pub fn divide(amount: Fen, shares: &[i32]) -> Vec<Fen> {
    let total: i64 = shares.iter().map(|s| i64::from(*s)).sum();
    let mut weights: Vec<i64> = shares.iter().map(|s| i64::from(*s)).collect();
    weights.push((10_000 - total).max(0));
    let mut parts = allocate(amount.get(), &weights);
    parts.pop();
    parts.into_iter().map(Fen::new).collect()
}

/// What the bank shows the producer next to the money.
pub fn payout_reference(payout_id: PayoutId) -> String {
    format!("HUAKAI-PAYOUT-{payout_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_and_the_identity_holds_for_awkward_amounts() {
        // 1 fen at 5%: 0.05 fen rounds to 0; the grower keeps the fen.
        assert_eq!(
            split(Fen::new(1), 500, 0),
            Split {
                platform_fee: Fen::new(0),
                commission: Fen::new(0),
                earning: Fen::new(1)
            }
        );
        // 10 fen at 5% is exactly half a fen: half up.
        assert_eq!(split(Fen::new(10), 500, 0).platform_fee, Fen::new(1));
        // 19.99 yuan at 5% = 99.95 fen → 100.
        assert_eq!(split(Fen::new(1999), 500, 0).platform_fee, Fen::new(100));
        assert_eq!(split(Fen::new(1999), 500, 0).earning, Fen::new(1899));
        for total in (1..5_000).chain([99_999_999, 123_456_789_012]) {
            for (fee, commission) in [(500, 0), (0, 0), (333, 1_250), (10_000, 0), (1, 1)] {
                let s = split(Fen::new(total), fee, commission);
                assert_eq!(
                    s.platform_fee.get() + s.commission.get() + s.earning.get(),
                    total,
                    "{total} {fee} {commission}"
                );
                let reversed = split(Fen::new(-total), fee, commission);
                assert_eq!(
                    reversed.earning,
                    Fen::new(-s.earning.get()),
                    "a reversal mirrors its sale"
                );
            }
        }
        // Many lines: each line rounds on its own, and the sums add up exactly.
        let lines: Vec<i64> = (0..997).map(|i| 1 + (i * 7919) % 4999).collect();
        let splits: Vec<Split> = lines.iter().map(|l| split(Fen::new(*l), 500, 0)).collect();
        let fees: i64 = splits.iter().map(|s| s.platform_fee.get()).sum();
        let earnings: i64 = splits.iter().map(|s| s.earning.get()).sum();
        assert_eq!(fees + earnings, lines.iter().sum::<i64>());
    }

    #[test]
    fn households_get_their_shares_to_the_fen() {
        let parts = divide(Fen::new(100), &[3_334, 3_333, 3_333]);
        assert_eq!(parts, vec![Fen::new(34), Fen::new(33), Fen::new(33)]);
        assert_eq!(parts.iter().map(|p| p.get()).sum::<i64>(), 100);
        // Shares adding to less than the whole: the cooperative keeps the rest (here 250 of
        // 1001; the odd fen went to the largest remainder, the first household's half fen).
        let parts = divide(Fen::new(1001), &[5_000, 2_500]);
        assert_eq!(parts, vec![Fen::new(501), Fen::new(250)]);
        assert_eq!(
            divide(Fen::new(1), &[5_000, 5_000])
                .iter()
                .map(|p| p.get())
                .sum::<i64>(),
            1
        );
    }
}
