//! A domain's door: what it brings to the running shop besides its GraphQL roots (which the
//! schema merges at compile time, `graphql::doors`). The app walks every domain's door for its
//! parts when it reads its settings, for its workers when it starts, for its routes, and for
//! its loaders on every request, and for its subcommand of `huakai`.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;

use super::{Parts, Shop};
use crate::accounts::service::Accounts;
use crate::infra::i18n::Language;
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

    /// Its subcommand of `huakai` (`huakai payouts …`), beside the app's own.
    fn command(&self) -> Option<&dyn DoorCommand> {
        None
    }
}

/// A domain's subcommand of `huakai`.
#[async_trait]
pub trait DoorCommand: Sync {
    /// Its name, help and arguments, which the app adds to its own command line.
    fn command(&self) -> clap::Command;

    /// Runs it with what was parsed under its name. An error is printed by the app, which then
    /// exits with 1.
    async fn run(&self, matches: &clap::ArgMatches, opener: &dyn OpenShop, language: Language) -> anyhow::Result<()>;
}

/// How a command opens what it works on, from the app's configuration. Only when asked: a
/// command checks its own arguments first, and some need only the database.
#[async_trait]
pub trait OpenShop: Sync {
    /// The shop as commands use it, its database migrated.
    async fn shop(&self) -> anyhow::Result<Shop>;

    /// Only the database, migrated.
    async fn database(&self) -> anyhow::Result<DatabaseConnection>;
}
