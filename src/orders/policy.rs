//! Who may see and change an order.

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;

fn grows_for_one_of(me: &SignedIn, producer_ids: &[ProducerId]) -> bool {
    me.role == Role::Grower && me.producer_id.is_some_and(|p| producer_ids.contains(&p))
}

fn administers_for(me: &SignedIn, organisation_admin_ids: &[UserId]) -> bool {
    me.role == Role::UnionAdmin && organisation_admin_ids.contains(&me.user_id)
}

/// See an order: its buyer, the admins of the organisation whose bulk order it is, and the
/// growers of the producers it buys from (who see only their own lines of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOrder<'a> {
    pub buyer_id: UserId,
    pub producer_ids: &'a [ProducerId],
    /// Of a bulk order, its organisation's admins; else empty.
    pub organisation_admin_ids: &'a [UserId],
}

impl Permission for ReadOrder<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.buyer_id
            || administers_for(me, self.organisation_admin_ids)
            || grows_for_one_of(me, self.producer_ids)
    }
}

/// Cancel an order or confirm its delivery: its buyer, and of a bulk order its organisation's
/// admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeOrder<'a> {
    pub buyer_id: UserId,
    /// Of a bulk order, its organisation's admins; else empty.
    pub organisation_admin_ids: &'a [UserId],
}

impl Permission for ChangeOrder<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.buyer_id || administers_for(me, self.organisation_admin_ids)
    }
}

/// Ship a producer's part of an order: that producer's growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShipOrder<'a> {
    pub producer_ids: &'a [ProducerId],
}

impl Permission for ShipOrder<'_> {
    fn allows(&self, me: &SignedIn) -> bool {
        grows_for_one_of(me, self.producer_ids)
    }
}

/// List every order (the order desk): operators only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListOrders;

impl Permission for ListOrders {
    fn allows(&self, _me: &SignedIn) -> bool {
        false
    }
}

/// List a producer's orders (its queue to ship): that producer's growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerOrders {
    pub producer_id: ProducerId,
}

impl Permission for ProducerOrders {
    fn allows(&self, me: &SignedIn) -> bool {
        grows_for_one_of(me, &[self.producer_id])
    }
}
