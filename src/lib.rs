//! Huakai (花开): the backend of a shop that sells produce from poverty-relief villages.
//!
//! Each domain lives in its own folder with its entities, service functions and GraphQL types;
//! `app` wires configuration, state, HTTP and the command line; `graphql` assembles the schema.

// The merged GraphQL roots nest deeply enough (with the Stripe types a future holds) for the
// trait solver to need more than its default depth.
#![recursion_limit = "256"]

#[macro_use]
pub mod infra;

pub mod accounts;
pub mod app;
pub mod cache;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod claims;
pub mod demo;
pub mod graphql;
pub mod impact;
pub mod inventory;
pub mod livestream;
pub mod orders;
pub mod organisations;
pub mod payments;
pub mod payouts;
pub mod reconciliation;
pub mod shop;
pub mod stores;
pub mod unions;
pub mod user_disabling;
