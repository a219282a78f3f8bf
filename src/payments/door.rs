//! What payments bring to the shop: their GraphQL roots and node type. The providers'
//! clients, webhooks and the inbox worker are wired by the app, which reads the providers'
//! settings and wakes the inbox when a webhook arrives.

pub use super::graphql::{BankRefund, PaymentsMutation as Mutation, PaymentsQuery as Query};
use crate::infra::graphql::global_id::node_types;

node_types! {
    BankRefund => super::graphql::node,
}
