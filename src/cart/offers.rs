//! What decides whether a variant sells today: it exists, and its product's poverty-relief
//! catalogue (目录) entry, if it has one, is valid. Placing an order and the cart's live view
//! read it the same way.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect};

use crate::catalogue::entity::{catalogue_entry, product, variant};
use crate::catalogue::today_in_china;
use crate::infra::error::AppResult;
use crate::infra::ids::{CatalogueEntryId, ProducerId, ProductId, VariantId};

/// A variant as it may be sold today.
pub struct Offer {
    pub variant: variant::Model,
    pub producer_id: ProducerId,
    pub product_name: String,
    /// Listed in the poverty-relief catalogue (目录): welfare money may buy it.
    pub in_catalogue: bool,
    /// Not withdrawn: a catalogue product sells while its entry is valid.
    pub on_sale: bool,
}

/// The variants of `variant_ids` that exist, with what decides whether they sell today.
pub async fn offers(
    db: &impl ConnectionTrait,
    variant_ids: impl IntoIterator<Item = VariantId>,
) -> AppResult<HashMap<VariantId, Offer>> {
    // The variants with their products in one statement: placing reads this for every order.
    let with_products = variant::Entity::find()
        .select_also(product::Entity)
        .join(
            JoinType::InnerJoin,
            variant::Entity::belongs_to(product::Entity)
                .from(variant::Column::ProductId)
                .to(product::Column::Id)
                .into(),
        )
        .filter(variant::Column::Id.is_in(variant_ids))
        .all(db)
        .await?;
    let mut variants = Vec::with_capacity(with_products.len());
    let mut products: HashMap<ProductId, product::Model> = HashMap::new();
    for (variant, product) in with_products {
        if let Some(product) = product {
            products.insert(product.id, product);
        }
        variants.push(variant);
    }
    let entry_ids: Vec<CatalogueEntryId> = products.values().filter_map(|p| p.catalogue_entry_id).collect();
    let entries: HashMap<CatalogueEntryId, catalogue_entry::Model> = match entry_ids.is_empty() {
        true => HashMap::new(),
        false => catalogue_entry::Entity::find()
            .filter(catalogue_entry::Column::Id.is_in(entry_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect(),
    };
    let today = today_in_china();
    Ok(variants
        .into_iter()
        .filter_map(|variant| {
            let product = products.get(&variant.product_id)?;
            let on_sale = product.published
                && product
                    .catalogue_entry_id
                    .is_none_or(|entry_id| entries.get(&entry_id).is_some_and(|entry| entry.is_valid_on(today)));
            Some((
                variant.id,
                Offer {
                    producer_id: product.producer_id,
                    product_name: product.name.clone(),
                    in_catalogue: product.catalogue_entry_id.is_some(),
                    on_sale,
                    variant,
                },
            ))
        })
        .collect())
}
