//! Who may change what in the catalogue.

use crate::accounts::policy::Permission;
use crate::accounts::{Role, SignedIn};
use crate::infra::ids::ProducerId;

/// Change a producer's variants, prices and stock, and read its stock history: that
/// producer's growers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManageCatalogue {
    pub producer_id: ProducerId,
}

impl Permission for ManageCatalogue {
    fn allows(&self, me: &SignedIn) -> bool {
        me.role == Role::Grower && me.producer_id == Some(self.producer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Viewer;
    use crate::infra::ids::UserId;

    fn user(role: Role, producer_id: Option<ProducerId>) -> Viewer {
        Viewer::User(SignedIn {
            user_id: UserId(1),
            role,
            producer_id,
            session_id: "s".to_owned(),
            language: None,
        })
    }

    #[test]
    fn growers_manage_only_their_own_producer() {
        assert!(user(Role::Grower, Some(ProducerId(10))).may(ManageCatalogue {
            producer_id: ProducerId(10)
        }));
        assert!(!user(Role::Grower, Some(ProducerId(10))).may(ManageCatalogue {
            producer_id: ProducerId(11)
        }));
        assert!(!user(Role::Buyer, None).may(ManageCatalogue {
            producer_id: ProducerId(10)
        }));
        assert!(user(Role::Admin, None).may(ManageCatalogue {
            producer_id: ProducerId(10)
        }));
    }
}
