//! Money is integer fen (1 yuan = 100 fen), never a float.
//!
//! Rounding rule: amounts are only ever entered with at most two decimals, so parsing never
//! rounds; it rejects a third decimal instead. Percentages (fees, commissions) are computed in
//! basis points with [`Fen::share_bps`], which rounds half up to the fen.

use std::fmt;

use async_graphql::SimpleObject;

/// The one currency the shop sells in.
pub const CURRENCY: &str = "CNY";

/// An amount of money in fen. Entity models hold their money columns as `Fen` (sea-orm stores it
/// as the plain bigint it wraps), so an amount read from a row cannot be mixed up with a count or
/// an id on its way to the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, sea_orm::DeriveValueType)]
pub struct Fen(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    #[error("an amount is a decimal number of yuan such as \"12.50\"")]
    Malformed,
    #[error("an amount has at most two decimals (fen)")]
    TooPrecise,
    #[error("the amount is too large")]
    TooLarge,
}

impl MoneyParseError {
    /// What the person who typed the amount is told.
    pub fn message(&self) -> crate::infra::i18n::Message {
        crate::infra::i18n::Message::new(match self {
            MoneyParseError::Malformed => "amount-format",
            MoneyParseError::TooPrecise => "amount-decimals",
            MoneyParseError::TooLarge => "amount-too-large",
        })
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a non-negative yuan amount: "12", "12.5", "12.50". No sign, no exponent, no
    /// thousands separators, at most two decimals.
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyParseError> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || (text.ends_with('.')) {
            return Err(MoneyParseError::Malformed);
        }
        if fraction.len() > 2 {
            return Err(MoneyParseError::TooPrecise);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyParseError::TooLarge)?;
        let fraction_fen: i64 = match fraction.len() {
            0 => 0,
            1 => i64::from(fraction.as_bytes()[0] - b'0') * 10,
            _ => fraction.parse().map_err(|_| MoneyParseError::Malformed)?,
        };
        whole
            .checked_mul(100)
            .and_then(|fen| fen.checked_add(fraction_fen))
            .map(Fen)
            .ok_or(MoneyParseError::TooLarge)
    }

    /// `bps` basis points of this amount, rounded half up to the fen (for non-negative amounts;
    /// a negative amount rounds half away from zero, so a reversal mirrors its original).
    pub fn share_bps(self, bps: u32) -> Fen {
        let product = i128::from(self.0) * i128::from(bps);
        let magnitude = (product.abs() + 5_000) / 10_000;
        let signed = if product < 0 { -magnitude } else { magnitude };
        // |self * bps / 10000| <= |self| for bps <= 10000, so this always fits.
        Fen(i64::try_from(signed).unwrap_or(i64::MAX))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_mul(self, quantity: i64) -> Option<Fen> {
        self.0.checked_mul(quantity).map(Fen)
    }
}

// Sums and differences of amounts stay amounts. Overflow would need more than 92 quadrillion
// yuan; it panics in debug builds and wraps in release, as `i64` does.
impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, other: Fen) -> Fen {
        Fen(self.0 + other.0)
    }
}

impl std::ops::Sub for Fen {
    type Output = Fen;
    fn sub(self, other: Fen) -> Fen {
        Fen(self.0 - other.0)
    }
}

impl std::ops::Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl std::ops::AddAssign for Fen {
    fn add_assign(&mut self, other: Fen) {
        self.0 += other.0;
    }
}

impl std::ops::SubAssign for Fen {
    fn sub_assign(&mut self, other: Fen) {
        self.0 -= other.0;
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(amounts: I) -> Fen {
        amounts.fold(Fen::ZERO, |total, amount| total + amount)
    }
}

/// Yuan with exactly two decimals: 1250 fen is "12.50", -5 fen is "-0.05".
/// An amount shown in a message, as yuan with two decimals.
impl From<Fen> for crate::infra::i18n::Arg {
    fn from(value: Fen) -> Self {
        crate::infra::i18n::Arg::Text(value.to_string())
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

/// A money value as the API shows it, like Shopify's `MoneyV2`.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// Decimal yuan with two decimals, e.g. "12.50".
    pub amount: String,
    /// ISO 4217 code; always "CNY".
    pub currency: String,
}

impl From<Fen> for Money {
    fn from(fen: Fen) -> Self {
        Money {
            amount: fen.to_string(),
            currency: CURRENCY.to_owned(),
        }
    }
}

/// Splits `amount` over `weights` in proportion, to the fen: every part is the floor of its
/// exact share, and the fen left over go one each to the largest remainders (ties to the first).
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total <= 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<(i128, i128)> = weights
        .iter()
        .map(|w| {
            let exact = i128::from(amount) * i128::from(*w);
            (exact / total, exact % total)
        })
        .collect();
    let mut left = i128::from(amount) - parts.iter().map(|(floor, _)| floor).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| parts[*b].1.cmp(&parts[*a].1).then(a.cmp(b)));
    for index in order {
        if left <= 0 {
            break;
        }
        parts[index].0 += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|(part, _)| i64::try_from(part).unwrap_or(i64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refunds_are_shared_over_lines_to_the_fen() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(1, &[5000, 1]), vec![1, 0]);
        assert_eq!(allocate(999, &[333, 333, 334]).iter().sum::<i64>(), 999);
        assert_eq!(allocate(5, &[0, 0]), vec![0, 0]);
    }

    #[test]
    fn amounts_add_up() {
        let parts = [Fen::new(1_250), Fen::new(-250), Fen::new(5)];
        assert_eq!(parts.into_iter().sum::<Fen>(), Fen::new(1_005));
        assert_eq!(Fen::new(100) - Fen::new(30), Fen::new(70));
        assert_eq!(-Fen::new(30), Fen::new(-30));
        let mut total = Fen::ZERO;
        total += Fen::new(7);
        assert_eq!(total, Fen::new(7));
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen::new(1250).to_string(), "12.50");
        assert_eq!(Fen::new(5).to_string(), "0.05");
        assert_eq!(Fen::new(0).to_string(), "0.00");
        assert_eq!(Fen::new(-5).to_string(), "-0.05");
        assert_eq!(Fen::new(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn parses_yuan_without_rounding() {
        assert_eq!(Fen::parse_yuan("12"), Ok(Fen::new(1200)));
        assert_eq!(Fen::parse_yuan("12.5"), Ok(Fen::new(1250)));
        assert_eq!(Fen::parse_yuan("12.05"), Ok(Fen::new(1205)));
        assert_eq!(Fen::parse_yuan(" 0.01 "), Ok(Fen::new(1)));
        assert_eq!(Fen::parse_yuan("1.005"), Err(MoneyParseError::TooPrecise));
        for bad in ["", ".5", "5.", "-1", "+1", "1e3", "1,000", "一", "1.x"] {
            assert_eq!(Fen::parse_yuan(bad), Err(MoneyParseError::Malformed), "{bad:?}");
        }
        assert_eq!(Fen::parse_yuan("99999999999999999999"), Err(MoneyParseError::TooLarge));
    }

    #[test]
    fn shares_round_half_up_to_the_fen() {
        // 5% of 10 fen is 0.5 fen: half rounds up.
        assert_eq!(Fen::new(10).share_bps(500), Fen::new(1));
        // 5% of 9 fen is 0.45 fen: rounds down.
        assert_eq!(Fen::new(9).share_bps(500), Fen::new(0));
        assert_eq!(Fen::new(1).share_bps(500), Fen::new(0));
        assert_eq!(Fen::new(12_345).share_bps(500), Fen::new(617));
        assert_eq!(Fen::new(-10).share_bps(500), Fen::new(-1));
        assert_eq!(Fen::new(i64::MAX).share_bps(10_000), Fen::new(i64::MAX));
    }
}
