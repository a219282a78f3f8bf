//! Who may set commission plans, see and retire a host's links and approve its session items.

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;

/// Set a product's commission plan: the growers of its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetCommissionPlan {
    pub producer_id: ProducerId,
}

impl Permission for SetCommissionPlan {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}

/// See a promo link with its clicks, sales and commission: its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPromoLink {
    pub host_id: UserId,
}

impl Permission for ReadPromoLink {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Host && me.user_id == self.host_id
    }
}

/// Retire a promo link, so that its code redirects and credits no more: its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetirePromoLink {
    pub host_id: UserId,
}

impl Permission for RetirePromoLink {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Host && me.user_id == self.host_id
    }
}

/// See which hosts sold a producer's products and at what rate: its growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadProducerHosts {
    pub producer_id: ProducerId,
}

impl Permission for ReadProducerHosts {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}

/// Approve a live session item, setting its quota aside: the growers of its variant's producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApproveSessionItem {
    pub producer_id: ProducerId,
}

impl Permission for ApproveSessionItem {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}
