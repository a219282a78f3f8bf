//! What a resolver takes from the request's context: the database, the shop's handles, the
//! request's loaders, and what the client selected.

use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache};
use sea_orm::DatabaseConnection;

use crate::cache::StorefrontCache;
use crate::catalogue::loaders::CatalogueLoader;
use crate::infra::error::{AppError, AppResult};
use crate::shop::Shop;

/// Per-request data: batched loaders that must not outlive the request.
pub fn request_loader(db: &DatabaseConnection) -> DataLoader<CatalogueLoader, HashMapCache> {
    DataLoader::with_cache(CatalogueLoader::new(db.clone()), tokio::spawn, HashMapCache::default())
}

pub fn database<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without a database")))
}

pub fn loader<'a>(ctx: &Context<'a>) -> AppResult<&'a DataLoader<CatalogueLoader, HashMapCache>> {
    ctx.data::<DataLoader<CatalogueLoader, HashMapCache>>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("request without a catalogue loader")))
}

/// The shop's operations' handles (database, Stripe, cache, settings).
pub fn shop<'a>(ctx: &Context<'a>) -> AppResult<&'a Shop> {
    ctx.data::<Shop>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without the shop")))
}

/// The storefront cache, for writes to announce what they changed.
pub fn storefront_cache<'a>(ctx: &Context<'a>) -> AppResult<&'a Arc<StorefrontCache>> {
    ctx.data::<Arc<StorefrontCache>>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("schema built without a storefront cache")))
}

/// Whether the client selected `totalCount` on the connection being resolved.
pub fn wants_total_count(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}
