//! Who may do what with a store. Operators may do everything (see `accounts::policy`).

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::{ProducerId, StoreId};

/// Open stores and seat clerks: operators only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManageStores;

impl Permission for ManageStores {
    fn allows(&self, _me: &SignedIn) -> bool {
        false
    }
}

/// Work a store's till: sell, close its days, see its shelf and its sales. Its own clerks; the
/// caller's store is read by the GraphQL layer (`clerk_store`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkTill {
    pub store_id: StoreId,
    /// The store the caller is a clerk of, if any.
    pub clerk_of: Option<StoreId>,
}

impl Permission for WorkTill {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::StoreClerk && self.clerk_of == Some(self.store_id)
    }
}

/// Move a variant's units to a store's shelf and back: the variant's growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockShelf {
    pub producer_id: ProducerId,
}

impl Permission for StockShelf {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}
