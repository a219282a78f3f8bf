//! The operations the model test draws: what a buyer, a host, an operator or time can do to an
//! order and its money, and how proptest generates (and shrinks) sequences of them.
//!
//! An operation names an order by an index, mostly among the orders it can act on (see
//! `Model::pick`), so any sequence is valid and shrinking keeps it so; an operation with no
//! order to act on does nothing.

use std::fmt;

use proptest::prelude::*;

/// Who places an order: two members of the case's union (with allowances of 100.00 and
/// 40.00), a buyer of no organisation, and the case's host buying through its own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buyer {
    MemberA,
    MemberB,
    Stranger,
    Host,
}

/// The two goods: the lily (30.00, the live session's item at 25.50) and the other producer's
/// product (19.99); both are in the poverty-relief catalogue, so welfare money buys them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goods {
    Lily,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Bank,
    Card,
    Allowance,
    /// The allowance pays what it can, a bank transfer the rest.
    SplitBank,
    /// The allowance pays what it can, a card the rest.
    SplitCard,
}

impl Method {
    pub fn uses_allowance(self) -> bool {
        matches!(self, Method::Allowance | Method::SplitBank | Method::SplitCard)
    }

    pub fn by_card(self) -> bool {
        matches!(self, Method::Card | Method::SplitCard)
    }
}

/// How the order comes: straight, through the host's promo link, or through the host's live
/// session link (the lily at the session price, from its quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Direct,
    Link,
    Session,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Place {
        buyer: Buyer,
        lines: Vec<(Goods, u8)>,
        method: Method,
        via: Via,
    },
    /// The money arrives: the card pays (Stripe's event) or an operator records the bank
    /// transfer; after a cancellation or expiry this is a late payment.
    Pay {
        order: u8,
    },
    /// The buyer cancels.
    Cancel {
        order: u8,
    },
    /// The reservation ends and the expiry worker runs.
    Expire {
        order: u8,
    },
    /// A grower ships its part (`part` < the number of producers) or an operator ships all.
    Ship {
        order: u8,
        part: u8,
    },
    Deliver {
        order: u8,
    },
    /// An operator refunds `permille`/1000 of what is left (at least 0.01).
    Refund {
        order: u8,
        permille: u16,
    },
    /// An operator refunds all that is left.
    RefundAll {
        order: u8,
    },
    /// An operator records one of the case's bank refunds as sent.
    RecordBankRefund {
        which: u8,
    },
    /// Payouts run as of eight days from now, and every bank payout of the run is confirmed.
    RunPayouts,
    /// The shop restarts with another `HUAKAI_PLATFORM_FEE_BPS`.
    ChangeFee {
        bps: u32,
    },
}

fn buyer() -> impl Strategy<Value = Buyer> {
    prop_oneof![
        3 => Just(Buyer::MemberA),
        2 => Just(Buyer::MemberB),
        2 => Just(Buyer::Stranger),
        1 => Just(Buyer::Host),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        3 => Just(Method::Bank),
        3 => Just(Method::Card),
        1 => Just(Method::Allowance),
        2 => Just(Method::SplitBank),
        2 => Just(Method::SplitCard),
    ]
}

fn via() -> impl Strategy<Value = Via> {
    prop_oneof![2 => Just(Via::Direct), 1 => Just(Via::Link), 1 => Just(Via::Session)]
}

fn lines() -> impl Strategy<Value = Vec<(Goods, u8)>> {
    let goods = prop_oneof![Just(Goods::Lily), Just(Goods::Other)];
    prop::collection::vec((goods, 1u8..=3), 1..=2)
}

fn op() -> impl Strategy<Value = Op> {
    let order = 0u8..8;
    prop_oneof![
        6 => (buyer(), lines(), method(), via())
            .prop_map(|(buyer, lines, method, via)| Op::Place { buyer, lines, method, via }),
        4 => order.clone().prop_map(|order| Op::Pay { order }),
        1 => order.clone().prop_map(|order| Op::Cancel { order }),
        1 => order.clone().prop_map(|order| Op::Expire { order }),
        4 => (order.clone(), 0u8..3).prop_map(|(order, part)| Op::Ship { order, part }),
        3 => order.clone().prop_map(|order| Op::Deliver { order }),
        3 => (order.clone(), 1u16..1000).prop_map(|(order, permille)| Op::Refund { order, permille }),
        1 => order.prop_map(|order| Op::RefundAll { order }),
        1 => (0u8..4).prop_map(|which| Op::RecordBankRefund { which }),
        1 => Just(Op::RunPayouts),
        1 => prop_oneof![Just(0u32), Just(250), Just(500), Just(1000), Just(1500)]
            .prop_map(|bps| Op::ChangeFee { bps }),
    ]
}

/// A sequence of a quarter of `max_steps` to `max_steps` operations (shrinking goes below).
pub fn sequence(max_steps: usize) -> impl Strategy<Value = Vec<Op>> {
    let max_steps = max_steps.max(1);
    prop::collection::vec(op(), (max_steps / 4).max(1)..=max_steps)
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Place {
                buyer,
                lines,
                method,
                via,
            } => {
                let lines: Vec<String> = lines.iter().map(|(goods, n)| format!("{n}×{goods:?}")).collect();
                write!(f, "{buyer:?} places {} by {method:?} ({via:?})", lines.join(" + "))
            }
            Op::Pay { order } => write!(f, "the money of order #{order} arrives"),
            Op::Cancel { order } => write!(f, "the buyer cancels order #{order}"),
            Op::Expire { order } => write!(f, "order #{order}'s reservation ends"),
            Op::Ship { order, part } => write!(f, "part {part} of order #{order} ships"),
            Op::Deliver { order } => write!(f, "order #{order} is delivered"),
            Op::Refund { order, permille } => write!(f, "{permille}‰ of what is left of order #{order} is refunded"),
            Op::RefundAll { order } => write!(f, "all that is left of order #{order} is refunded"),
            Op::RecordBankRefund { which } => write!(f, "bank refund #{which} is recorded as sent"),
            Op::RunPayouts => write!(f, "payouts run (and the bank's are confirmed)"),
            Op::ChangeFee { bps } => write!(f, "the platform fee becomes {bps} bps"),
        }
    }
}

/// The sequence, one numbered operation a line.
pub fn readable(ops: &[Op]) -> String {
    ops.iter()
        .enumerate()
        .map(|(step, op)| format!("  {:>2}. {op}\n", step + 1))
        .collect()
}
