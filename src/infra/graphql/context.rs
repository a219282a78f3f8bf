//! What a resolver takes from the request's context: the database, the handles the app put in
//! the schema's data, and what the client selected. A domain adds its own accessor beside its
//! handle (the shop's in `shop.rs`, the catalogue's loader in `catalogue::loaders`).

use std::any::Any;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::infra::error::{AppError, AppResult};

pub fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    handle(ctx)
}

/// A handle the app put in the schema's or the request's data, or an internal error naming
/// what the schema was built without (a fault of the wiring, never of the request).
pub fn handle<'a, T: Any + Send + Sync>(ctx: &Context<'a>) -> AppResult<&'a T> {
    ctx.data::<T>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without {}", std::any::type_name::<T>())))
}

/// Whether the client selected `totalCount` on the connection being resolved.
pub fn wants_total_count(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}
