//! Accounts: users and their roles, sign-in, tokens, and the one authorization policy every
//! domain asks.

pub mod entity;
pub mod graphql;
pub mod memberships;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod service;
pub mod tokens;

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Buys for themselves (个人买家).
    Buyer,
    /// Belongs to one producer: manages its catalogue, ships, sees its money.
    Grower,
    /// A livestream host (直播带货主播).
    Host,
    /// Buys for a labour union (工会采购).
    UnionAdmin,
    /// An operator of the shop.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Buyer, Role::Grower, Role::Host, Role::UnionAdmin, Role::Admin];

    /// The value stored in `users.role`.
    pub fn as_db(self) -> &'static str {
        match self {
            Role::Buyer => "BUYER",
            Role::Grower => "GROWER",
            Role::Host => "HOST",
            Role::UnionAdmin => "UNION_ADMIN",
            Role::Admin => "ADMIN",
        }
    }

    pub fn from_db(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_db() == value)
    }

    /// The spelling the command line uses: `union-admin`.
    pub fn from_cli(value: &str) -> Option<Role> {
        Role::from_db(&value.to_ascii_uppercase().replace('-', "_"))
    }
}

/// A signed-in caller, as the request's token proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: i64,
    pub role: Role,
    pub producer_id: Option<i64>,
    pub session_id: String,
}

/// Who is asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Viewer {
    #[default]
    Anonymous,
    User(SignedIn),
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_round_trip_through_their_spellings() {
        for role in Role::ALL {
            assert_eq!(Role::from_db(role.as_db()), Some(role));
        }
        assert_eq!(Role::from_cli("union-admin"), Some(Role::UnionAdmin));
        assert_eq!(Role::from_cli("admin"), Some(Role::Admin));
        assert_eq!(Role::from_cli("root"), None);
    }
}
