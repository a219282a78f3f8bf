//! Who may see and act on a claim. Operators may do everything (see `accounts::policy`).

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::{ProducerId, UserId};

/// See a claim: who opened it, the order's buyer, and the growers of its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadClaim {
    pub opened_by: UserId,
    pub buyer_id: UserId,
    pub producer_id: ProducerId,
}

impl Permission for ReadClaim {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.opened_by
            || me.user_id == self.buyer_id
            || (me.role == Role::Grower && me.producer_id == Some(self.producer_id))
    }
}

/// Answer a claim: the growers of its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RespondToClaim {
    pub producer_id: ProducerId,
}

impl Permission for RespondToClaim {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}

/// Escalate a rejected claim: who opened it, or the order's buyer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EscalateClaim {
    pub opened_by: UserId,
    pub buyer_id: UserId,
}

impl Permission for EscalateClaim {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.opened_by || me.user_id == self.buyer_id
    }
}

/// Decide a claim finally, and see every claim: operators only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecideClaim;

impl Permission for DecideClaim {
    fn allows(&self, _me: &SignedIn) -> bool {
        false
    }
}
