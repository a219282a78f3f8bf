//! GraphQL conventions shared by every domain's types: Relay connections, opaque global ids,
//! and the rules every request's document is held to.

pub mod context;
pub mod date;
pub mod documents;
pub mod global_id;
pub mod input_rules;
pub mod relay;
