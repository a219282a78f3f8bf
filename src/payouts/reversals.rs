//! What a refund reverses of a line's sale: the platform's fee, the host's commission and the
//! producer's earning, at the rates the line was sold at, and to the fen.
//!
//! **Rounding rule for reversals.** A line's reversing entries (and the entries that restore a
//! refused refund) are computed from the line's *cumulative* refunded amount `R` (every refund
//! of it not refused, together), never refund by refund: after each step they add up to exactly
//! the split of `−R` at the sale's rates, each share (fee, commission) its basis points of `R`
//! rounded half up to the fen, the earning the rest. Each new entry is the difference between
//! that and what the line's entries held before. Rounding therefore never accumulates: a line
//! refunded in full, in any number of parts, reverses exactly what its sale earned, fee,
//! commission and earning each to the fen; and the fee reversed is never more than the fee the
//! refunded amount bears on its own.

use super::{Split, split};
use crate::infra::money::Fen;

/// The rates a line was sold at: the platform's fee (kept with the line when it was placed)
/// and a host's commission (kept with its attribution; 0 without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    pub platform_fee_bps: u32,
    pub commission_bps: u32,
}

impl Rates {
    /// How a line total divides at these rates (a sale, or a negative total for a reversal).
    pub fn split(self, line_total: Fen) -> Split {
        split(line_total, self.platform_fee_bps, self.commission_bps)
    }
}

/// Nothing: the sum of no entries.
pub const NONE: Split = Split {
    platform_fee: Fen::ZERO,
    commission: Fen::ZERO,
    earning: Fen::ZERO,
};

/// The line total an entry (or a sum of entries) stands for.
pub fn line_total(amounts: Split) -> Fen {
    amounts.platform_fee + amounts.commission + amounts.earning
}

/// `a + b`, share by share.
pub fn add(a: Split, b: Split) -> Split {
    Split {
        platform_fee: a.platform_fee + b.platform_fee,
        commission: a.commission + b.commission,
        earning: a.earning + b.earning,
    }
}

/// The entry that takes a line's reversing entries from `held` (what they add up to now) to
/// what `refunded`, the line's cumulative refunded amount, reverses at `rates` (see the module
/// doc). Its line total is minus what was refunded since `held` was written.
pub fn next_entry(held: Split, refunded: Fen, rates: Rates) -> Split {
    let target = rates.split(-refunded);
    Split {
        platform_fee: target.platform_fee - held.platform_fee,
        commission: target.commission - held.commission,
        earning: target.earning - held.earning,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Refunds `parts` of a line one after the other (each refused and made again when its flag
    /// says so), as the ledger writes them: every entry, in order.
    fn entries(parts: &[(i64, bool)], rates: Rates) -> Vec<Split> {
        let (mut held, mut refunded, mut written) = (NONE, 0, Vec::new());
        for &(part, refused_first) in parts {
            let attempts: &[bool] = if refused_first { &[false, true] } else { &[true] };
            for &stands in attempts {
                refunded += part;
                let entry = next_entry(held, Fen::new(refunded), rates);
                held = add(held, entry);
                written.push(entry);
                if !stands {
                    // Refused: its reversal is answered by an entry restoring it.
                    refunded -= part;
                    let restore = next_entry(held, Fen::new(refunded), rates);
                    held = add(held, restore);
                    written.push(restore);
                }
            }
        }
        written
    }

    #[test]
    fn a_line_refunded_in_parts_reverses_its_sale_to_the_fen() {
        // 19.99 at 5% and 3.33%: the sale's fee is 1.00 and the commission 0.67. Ten parts of
        // 1.90 round their fee up one by one (0.095 each, half up 0.10): refunded part by part
        // the fees came to 1.05, five fen more than the sale took.
        let rates = Rates {
            platform_fee_bps: 500,
            commission_bps: 333,
        };
        let sale = rates.split(Fen::new(1999));
        assert_eq!((sale.platform_fee, sale.commission), (Fen::new(100), Fen::new(67)));
        let mut parts = vec![(190, false); 10];
        parts.push((99, false));
        let written = entries(&parts, rates);
        let reversed = written.iter().fold(NONE, |sum, entry| add(sum, *entry));
        assert_eq!(add(sale, reversed), NONE);
        let one_by_one: i64 = parts.iter().map(|(part, _)| Fen::new(*part).share_bps(500).get()).sum();
        assert_eq!(one_by_one, 105, "rounding part by part would have kept five fen");
    }

    /// Any line, any rates a plan may set, any split of the whole line into refunds, some of
    /// them refused on the way: every entry's line total is its refund's part, the fee and
    /// commission reversed never grow back, and the whole sale comes back exactly.
    fn line_and_parts() -> impl Strategy<Value = (i64, Rates, Vec<(i64, bool)>)> {
        (1i64..=100_000_000, 0u32..=10_000)
            .prop_flat_map(|(total, fee)| {
                let weights = prop::collection::vec((1i64..=1_000, any::<bool>()), 1..=25);
                (Just(total), Just(fee), 0u32..=10_000 - fee, weights)
            })
            .prop_map(|(total, fee, commission, weights)| {
                let shares: Vec<i64> = weights.iter().map(|(weight, _)| *weight).collect();
                let parts = crate::infra::money::allocate(total, &shares)
                    .into_iter()
                    .zip(weights.iter().map(|(_, refused_first)| *refused_first))
                    .filter(|(part, _)| *part > 0)
                    .collect();
                let rates = Rates {
                    platform_fee_bps: fee,
                    commission_bps: commission,
                };
                (total, rates, parts)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn refunded_in_full_in_any_parts_a_line_reverses_exactly_its_sale((total, rates, parts) in line_and_parts()) {
            let written = entries(&parts, rates);
            let reversed = written.iter().fold(NONE, |sum, entry| add(sum, *entry));
            prop_assert_eq!(add(rates.split(Fen::new(total)), reversed), NONE);
            let mut steps = written.iter();
            for &(part, refused_first) in &parts {
                let times = if refused_first { 2 } else { 1 };
                for attempt in 0..times {
                    let entry = steps.next().copied().unwrap_or(NONE);
                    prop_assert_eq!(line_total(entry), Fen::new(-part));
                    prop_assert!(entry.platform_fee <= Fen::ZERO && entry.commission <= Fen::ZERO);
                    if attempt + 1 < times {
                        let restore = steps.next().copied().unwrap_or(NONE);
                        prop_assert_eq!(add(entry, restore), NONE, "a refusal restores what it reversed");
                    }
                }
            }
        }
    }
}
