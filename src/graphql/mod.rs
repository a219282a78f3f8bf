//! Schema assembly: the root types merge each domain's roots, and the `Node` interface its node
//! types, from the one list of domains (`doors.rs`); limits guard the server.

mod doors;
mod links;
pub mod query_limits;
pub mod socket_guard;
mod user_admin;

use std::sync::Arc;

use async_graphql::Schema;

use crate::accounts::service::Accounts;
use crate::catalogue;
use crate::shop::Shop;
pub use doors::{DOORS, Mutation, Node, Query, Subscription};

/// Deeper queries are refused: no legitimate client nests more than this.
pub const MAX_DEPTH: usize = 10;
/// Every list counts as its size bound times its fields: a page of 100 products with their
/// variants (20 at most each) and every field costs about 21,000; lists nested in lists (pages
/// of pages, `variants { product { variants … } }`) cost their product and are refused.
pub const MAX_COMPLEXITY: usize = 25_000;

pub type HuakaiSchema = Schema<Query, Mutation, Subscription>;

/// What the resolvers share across requests.
pub struct Services {
    pub accounts: Arc<Accounts>,
    pub shop: Shop,
    pub invites: crate::unions::guessing::InviteSettings,
    pub live_rooms: Arc<crate::livestream::live_room::LiveRooms>,
}

/// The schema with its limits, serving `services`.
pub fn build_schema(services: Option<Services>) -> HuakaiSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        // Instead of the builder's limits, which would refuse the standard introspection query.
        .extension(query_limits::QueryLimits {
            max_depth: MAX_DEPTH,
            max_complexity: MAX_COMPLEXITY,
        })
        .extension(crate::infra::graphql::input_rules::InputRules {
            self_checked_text: catalogue::graphql::SELF_CHECKED_TEXT,
        })
        .extension(socket_guard::SocketGuard);
    if let Some(services) = services {
        builder = builder
            .data(services.shop.db.clone())
            .data(services.accounts)
            .data(services.shop.cache.clone())
            .data(services.shop)
            .data(services.invites)
            .data(services.live_rooms);
    }
    builder.finish()
}

/// The schema in SDL, as `huakai export-schema` prints it and `schema/schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// The names of the root fields of queries and mutations: operation names the shop knows.
pub fn root_field_names() -> Vec<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let Ok(document) = async_graphql::parser::parse_schema(sdl()) else {
        return Vec::new();
    };
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) if ["Query", "Mutation"].contains(&ty.node.name.node.as_str()) => {
                match &ty.node.kind {
                    TypeKind::Object(object) => {
                        Some(object.fields.iter().map(|field| field.node.name.node.to_string()))
                    }
                    _ => None,
                }
            }
            _ => None,
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fields_are_known_operation_names() {
        let names = root_field_names();
        assert!(names.iter().any(|name| name == "products"));
        assert!(names.iter().any(|name| name == "login"));
    }
}
