//! Who may see a saved address: its user (and operators, as everywhere). A cart and an address
//! book are changed only by their own user: the mutations act on the signed-in user's own.

use crate::accounts::SignedIn;
use crate::accounts::policy::Permission;
use crate::infra::ids::UserId;

/// See a saved address: the user whose address book holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAddress {
    pub owner: UserId,
}

impl Permission for ReadAddress {
    fn allows(&self, me: &SignedIn) -> bool {
        me.user_id == self.owner
    }
}
