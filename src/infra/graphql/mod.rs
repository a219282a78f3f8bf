//! GraphQL conventions shared by every domain's types: Relay connections, opaque global ids,
//! and the rules every request's document is held to.

pub mod documents;
pub mod global_id;
pub mod input_rules;
pub mod relay;
