//! A domain's door: what it brings to the running shop besides its GraphQL roots (which the
//! schema merges at compile time, `graphql::doors`). The app walks every domain's door for its
//! parts when it reads its settings, for its workers when it starts, for its routes, and for
//! its loaders on every request.

use std::sync::Arc;

use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use super::{Parts, Shop};
use crate::accounts::service::Accounts;
use crate::infra::settings::ConfigError;

/// A setting's value by its environment variable's name; blank values read as unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What one domain brings; each method's default brings nothing.
pub trait Door: Sync {
    /// `parts` and what the domain keeps in the shop: its settings, read through `lookup` once
    /// at start (a bad value stops start-up naming the variable), and what its operations
    /// share across requests.
    fn parts(&self, _lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        Ok(parts)
    }

    /// Its background work, on the workers' shop (a pool of their own).
    fn workers(&self, _shop: &Shop) -> Vec<JoinHandle<()>> {
        Vec::new()
    }

    /// `request` with the domain's batched loaders, fresh for each request (and for each
    /// operation over a socket), so that lists load their rows in a few statements.
    fn loaders(&self, _db: &DatabaseConnection, request: async_graphql::Request) -> async_graphql::Request {
        request
    }

    /// Its HTTP routes beside GraphQL, held to the same limits; `accounts` says who is asking.
    fn routes(&self, _shop: &Shop, _accounts: &Arc<Accounts>) -> Router {
        Router::new()
    }
}
