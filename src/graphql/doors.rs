//! The one list of domains. Each domain declares in its `door.rs` what it brings (its GraphQL
//! roots and node types, and its run-time door: parts, workers, routes, command); its line here
//! merges its roots into the schema's, adds its node types to the `Node` interface and to
//! `node(id:)`, and puts its door in [`DOORS`], which the app walks. The macro is why one line is enough:
//! async-graphql's merged roots and interfaces need every type at compile time.

use async_graphql::{Context, ID, Interface, MergedObject, MergedSubscription, Object};

use super::user_admin::UserAdminMutation;
use crate::infra::graphql::global_id::{self, NodeObject};
use crate::shop::door::Door;

/// Each line: a domain's folder, the roots its door declares (`query`, `mutation`,
/// `subscription`, those it has), its node types, and its run-time door where it has one.
macro_rules! domains {
    ($(
        $domain:ident {
            $(query: $query:ident,)?
            $(mutation: $mutation:ident,)?
            $(subscription: $subscription:ident,)?
            nodes: [$($node:ident),*]
            $(, door: $door:ident)?
        }
    ),* $(,)?) => {
        #[derive(MergedObject, Default)]
        pub struct Query($($(crate::$domain::door::$query,)?)* NodeQuery);

        #[derive(MergedObject, Default)]
        pub struct Mutation($($(crate::$domain::door::$mutation,)?)* UserAdminMutation);

        #[derive(MergedSubscription, Default)]
        pub struct Subscription($($(crate::$domain::door::$subscription,)?)*);

        #[derive(Interface)]
        #[graphql(field(name = "id", ty = "ID"))]
        pub enum Node {
            $($($node(Box<crate::$domain::door::$node>),)*)*
        }

        #[derive(Default)]
        pub struct NodeQuery;

        #[Object]
        impl NodeQuery {
            /// Any object by its global id; null when there is none the caller may see.
            async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
                let Some((type_name, row_id)) = global_id::decode(&id) else {
                    return Ok(None);
                };
                // Each domain answers for its own types, and checks who is asking.
                $($(
                    if type_name == <crate::$domain::door::$node as NodeObject>::TYPE.name() {
                        let found = <crate::$domain::door::$node as NodeObject>::fetch(ctx, row_id).await?;
                        return Ok(found.map(|object| Node::$node(Box::new(object))));
                    }
                )*)*
                Ok(None)
            }
        }

        /// Every domain's run-time door, in the list's order.
        pub const DOORS: &[&dyn Door] = &[$($(&crate::$domain::door::$door,)?)*];
    };
}

domains! {
    catalogue { query: Query, mutation: Mutation, nodes: [Product, Variant, Village, Producer], door: CatalogueDoor },
    accounts { query: Query, mutation: Mutation, nodes: [User] },
    orders { query: Query, mutation: Mutation, nodes: [Order, Shipment], door: OrdersDoor },
    payments { query: Query, mutation: Mutation, nodes: [BankRefund] },
    payouts { query: Query, mutation: Mutation, nodes: [Payout], door: PayoutsDoor },
    impact { query: Query, nodes: [], door: ImpactDoor },
    unions { query: Query, mutation: Mutation, nodes: [Organisation, Membership], door: UnionsDoor },
    checkout { mutation: Mutation, nodes: [], door: CheckoutDoor },
    livestream {
        query: Query, mutation: Mutation, subscription: Subscription,
        nodes: [Host, PromoLink, LiveSession, LiveSessionItem], door: LivestreamDoor
    },
    claims { query: Query, mutation: Mutation, nodes: [Claim], door: ClaimsDoor },
    cart { query: Query, mutation: Mutation, nodes: [SavedAddress] },
    stores { query: Query, mutation: Mutation, nodes: [Store, CounterSale], door: StoresDoor },
}
