//! The model: what the shop should hold after each operation, worked out on its own from the
//! rules (docs/orders-and-payments.md, "Money", and docs/money.md), never read back from the shop. The steps compare
//! the shop with it after every operation.

use std::collections::BTreeSet;

use huakai::infra::ids::OrderId;
use huakai::infra::ids::{ProducerId, VariantId};
use huakai::orders::OrderStatus;

use super::ops::{Buyer, Method, Via};
use super::world::{GRANTS, SESSION_QUOTA, UNPAID_ORDERS, UNPAID_UNITS, UNPAID_UNITS_PER_VARIANT};

/// An order as the model sees it.
#[derive(Clone, Debug)]
pub struct Order {
    pub id: OrderId,
    pub buyer: Buyer,
    pub method: Method,
    pub via: Via,
    /// (variant, its producer, units, from the session's quota)
    pub lines: Vec<(VariantId, ProducerId, i64, bool)>,
    pub producers: Vec<ProducerId>,
    pub shipped: BTreeSet<ProducerId>,
    pub status: OrderStatus,
    pub total: i64,
    /// What the allowance paid when the order was placed.
    pub allowance: i64,
    /// The card's PaymentIntent.
    pub intent: Option<String>,
    /// Everything the order costs has arrived (at placing, for an order the allowance covers).
    pub money_in: bool,
    /// What may still be refunded, allowance and cash.
    pub allowance_left: i64,
    pub cash_left: i64,
    /// The platform fee in force when it was placed.
    pub fee_bps: u32,
}

impl Order {
    /// What another payment method has to bring.
    pub fn cash_due(&self) -> i64 {
        self.total - self.allowance
    }

    pub fn left(&self) -> i64 {
        self.allowance_left + self.cash_left
    }

    fn session_units(&self) -> i64 {
        self.lines.iter().filter(|line| line.3).map(|line| line.2).sum()
    }
}

/// What a case should hold.
#[derive(Debug)]
pub struct Model {
    pub fee_bps: u32,
    pub orders: Vec<Order>,
    /// Members A and B: spendable allowance.
    pub allowance: [i64; 2],
    /// On-hand stock of the lily and the other product.
    pub on_hand: [i64; 2],
    /// The session item's quota left, and what each buyer holds of it (by `Buyer` index).
    pub quota_left: i64,
    pub quota_held: [i64; 4],
}

pub fn buyer_index(buyer: Buyer) -> usize {
    match buyer {
        Buyer::MemberA => 0,
        Buyer::MemberB => 1,
        Buyer::Stranger => 2,
        Buyer::Host => 3,
    }
}

impl Model {
    pub fn new(fee_bps: u32, on_hand: [i64; 2]) -> Model {
        Model {
            fee_bps,
            orders: Vec::new(),
            allowance: GRANTS,
            on_hand,
            quota_left: SESSION_QUOTA,
            quota_held: [0; 4],
        }
    }

    /// The order an operation's index `n` names: mostly (`n` below 6) the `n`-th, modulo
    /// their number, of the orders the operation can act on, so that sequences go deep; else,
    /// or when there is none, the `n`-th of all orders, so that refusals are tried too.
    pub fn pick(&self, n: u8, can_act_on: impl Fn(&Order) -> bool) -> Option<usize> {
        let n = usize::from(n);
        let candidates: Vec<usize> = (0..self.orders.len())
            .filter(|i| can_act_on(&self.orders[*i]))
            .collect();
        if n < 6 && !candidates.is_empty() {
            return Some(candidates[n % candidates.len()]);
        }
        (!self.orders.is_empty()).then(|| n % self.orders.len())
    }

    /// Whether `buyer` may hold `wanted` (variant, units) more unpaid: its unpaid orders, the
    /// units they hold in all and of each variant stay within the limits, a first order too.
    pub fn within_limits(&self, buyer: Buyer, wanted: &[(VariantId, i64)]) -> bool {
        let unpaid: Vec<&Order> = self
            .orders
            .iter()
            .filter(|o| o.buyer == buyer && o.status == OrderStatus::PendingPayment)
            .collect();
        let held = |variant: Option<VariantId>| -> i64 {
            let lines = unpaid.iter().flat_map(|o| o.lines.iter());
            let mine = wanted.iter().map(|(v, units)| (*v, *units));
            lines
                .map(|line| (line.0, line.2))
                .chain(mine)
                .filter(|(v, _)| variant.is_none_or(|variant| *v == variant))
                .map(|(_, units)| units)
                .sum()
        };
        unpaid.len() < UNPAID_ORDERS
            && held(None) <= UNPAID_UNITS
            && wanted.iter().all(|(v, _)| held(Some(*v)) <= UNPAID_UNITS_PER_VARIANT)
    }

    fn member(buyer: Buyer) -> Option<usize> {
        match buyer {
            Buyer::MemberA => Some(0),
            Buyer::MemberB => Some(1),
            Buyer::Stranger | Buyer::Host => None,
        }
    }

    /// The variant's index in `on_hand`: 0 for `lily`, 1 for anything else.
    fn stock_index(variant: VariantId, lily: VariantId) -> usize {
        usize::from(variant != lily)
    }

    /// Units move off or onto the shelf for `lines` (`sign` −1 sells, +1 returns).
    fn move_stock(&mut self, lines: &[(VariantId, ProducerId, i64, bool)], sign: i64, lily: VariantId) {
        for (variant, _, units, _) in lines {
            self.on_hand[Model::stock_index(*variant, lily)] += sign * units;
        }
    }

    /// The order's allowance still spent goes back to its member's grants.
    fn allowance_back(&mut self, index: usize, amount: i64) {
        let order = &mut self.orders[index];
        order.allowance_left -= amount;
        if let Some(member) = Model::member(order.buyer) {
            self.allowance[member] += amount;
        }
    }

    /// The session's units of an order go back to the quota and the buyer's limit.
    fn quota_back(&mut self, index: usize) {
        let order = &self.orders[index];
        let units = order.session_units();
        self.quota_left += units;
        self.quota_held[buyer_index(order.buyer)] -= units;
    }

    /// The order is paid now: its units leave the shelf.
    pub fn paid(&mut self, index: usize, lily: VariantId) {
        let order = &mut self.orders[index];
        order.status = OrderStatus::Paid;
        order.money_in = true;
        order.allowance_left = order.allowance;
        order.cash_left = order.cash_due();
        let lines = order.lines.clone();
        self.move_stock(&lines, -1, lily);
    }

    /// Money arrived for an order cancelled before it: it is all refunded, the order stays
    /// cancelled.
    pub fn paid_late(&mut self, index: usize) {
        let order = &mut self.orders[index];
        order.money_in = true;
        order.cash_left = 0;
    }

    /// Cancelled (by its buyer, or expired) before payment: the allowance and the session's
    /// units go back.
    pub fn cancelled_unpaid(&mut self, index: usize) {
        let spent = self.orders[index].allowance_left;
        self.allowance_back(index, spent);
        self.quota_back(index);
        self.orders[index].status = OrderStatus::Cancelled;
    }

    /// A paid order cancelled before shipment: refunded in full, its units back on the shelf.
    pub fn cancelled_paid(&mut self, index: usize, lily: VariantId) {
        let spent = self.orders[index].allowance_left;
        self.allowance_back(index, spent);
        self.orders[index].cash_left = 0;
        let lines = self.orders[index].lines.clone();
        self.move_stock(&lines, 1, lily);
        self.quota_back(index);
        self.orders[index].status = OrderStatus::Cancelled;
    }

    /// `amount` of what is left is refunded, allowance first; all of it closes the order and
    /// returns what has not shipped.
    pub fn refunded(&mut self, index: usize, amount: i64, lily: VariantId) {
        let full = amount == self.orders[index].left();
        let from_allowance = amount.min(self.orders[index].allowance_left);
        self.allowance_back(index, from_allowance);
        self.orders[index].cash_left -= amount - from_allowance;
        if !full {
            return;
        }
        let order = &self.orders[index];
        let buyer = buyer_index(order.buyer);
        match order.status {
            OrderStatus::Paid | OrderStatus::PartiallyShipped => {
                let waiting: Vec<_> = order
                    .lines
                    .iter()
                    .filter(|line| !order.shipped.contains(&line.1))
                    .copied()
                    .collect();
                self.move_stock(&waiting, 1, lily);
                let session_back: i64 = waiting.iter().filter(|line| line.3).map(|line| line.2).sum();
                self.quota_left += session_back;
                self.quota_held[buyer] -= session_back;
                self.orders[index].status = OrderStatus::Refunded;
            }
            OrderStatus::Shipped | OrderStatus::Delivered => self.orders[index].status = OrderStatus::Refunded,
            _ => {}
        }
    }

    /// A part ships (`None`: every part left); PARTIALLY_SHIPPED while some have, SHIPPED once
    /// all have.
    pub fn shipped(&mut self, index: usize, producer: Option<ProducerId>) {
        let order = &mut self.orders[index];
        match producer {
            Some(producer) => {
                order.shipped.insert(producer);
            }
            None => order.shipped.extend(order.producers.iter().copied()),
        }
        order.status = if order.shipped.len() == order.producers.len() {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        };
    }
}
