//! Accounts: users and their roles, sign-in, tokens, and the one authorization policy every
//! domain asks.

pub mod disabling;
pub mod door;
pub mod emails;
pub mod entity;
pub mod graphql;
pub mod memberships;
pub mod password;
pub mod password_reset;
pub mod phone;
pub mod policy;
pub mod rate_limit;
pub mod recipients;
pub mod reset_codes;
pub mod service;
pub mod session_cache;
pub mod tokens;

use async_graphql::Enum;
use sea_orm::ActiveEnum;
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

use crate::infra::i18n::Language;
use crate::infra::ids::{ProducerId, UserId};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Buys for themselves (个人买家).
    #[sea_orm(string_value = "BUYER")]
    Buyer,
    /// Belongs to one producer: manages its catalogue, ships, sees its money.
    #[sea_orm(string_value = "GROWER")]
    Grower,
    /// A livestream host (直播带货主播).
    #[sea_orm(string_value = "HOST")]
    Host,
    /// Buys for a labour union (工会采购).
    #[sea_orm(string_value = "UNION_ADMIN")]
    UnionAdmin,
    /// An operator of the shop.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// Sells over the counter of one relief supermarket (扶贫超市店员).
    #[sea_orm(string_value = "STORE_CLERK")]
    StoreClerk,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Buyer,
        Role::Grower,
        Role::Host,
        Role::UnionAdmin,
        Role::Admin,
        Role::StoreClerk,
    ];

    /// The spelling the command line uses: `union-admin`.
    pub fn from_cli(value: &str) -> Option<Role> {
        Role::try_from_value(&value.to_ascii_uppercase().replace('-', "_")).ok()
    }
}

/// A signed-in caller, as the request's token proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: UserId,
    pub role: Role,
    pub producer_id: Option<ProducerId>,
    pub session_id: String,
    /// The language the user chose, if any.
    pub language: Option<Language>,
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
    fn roles_have_a_command_line_spelling() {
        assert_eq!(Role::from_cli("union-admin"), Some(Role::UnionAdmin));
        assert_eq!(Role::from_cli("admin"), Some(Role::Admin));
        assert_eq!(Role::from_cli("root"), None);
    }
}
