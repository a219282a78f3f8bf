//! What accounts bring to the shop: their GraphQL roots and node type. The accounts' service
//! (token keys, rate limits, the session cache) stands below the shop, so the app builds it.

pub use super::graphql::{AccountsMutation as Mutation, AccountsQuery as Query, User};
use crate::infra::graphql::global_id::node_types;

node_types! {
    User => super::graphql::node,
}
