//! Who may see a payee's money.

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;

/// See and manage a producer's money (earnings, balance, payouts, statements, its
/// households): that producer's growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerMoney {
    pub producer_id: ProducerId,
}

impl Permission for ProducerMoney {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}

/// See a host's commissions and payouts: the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostMoney {
    pub host_id: UserId,
}

impl Permission for HostMoney {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Host && me.user_id == self.host_id
    }
}
