//! The demo catalogue, built from the 涪口区 poverty-relief report: real place names,
//! invented but plausible prices and stock.

use std::collections::HashMap;
use std::fmt;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set, TransactionSession, TransactionTrait,
};
use serde::Deserialize;

use super::ProducerKind;
use super::entity::{catalogue_entry, category, producer, product, variant, village};
use crate::infra::db::begin_write;
use crate::infra::error::AppResult;
use crate::infra::money::Fen;
use crate::inventory::entity::{stock_level, stock_movement};

const DEMO_CATALOGUE: &str = include_str!("demo_catalogue.json");

#[derive(Deserialize)]
struct DemoCatalogue {
    categories: Vec<DemoCategory>,
    villages: Vec<DemoVillage>,
    producers: Vec<DemoProducer>,
    catalogue_entries: Vec<DemoEntry>,
    products: Vec<DemoProduct>,
}

#[derive(Deserialize)]
struct DemoCategory {
    slug: String,
    name: String,
}

#[derive(Deserialize)]
struct DemoVillage {
    slug: String,
    name: String,
    town: String,
    district: String,
    registered_poor: bool,
    exited_poverty_year: Option<i32>,
    story: String,
}

#[derive(Deserialize)]
struct DemoProducer {
    slug: String,
    name: String,
    kind: ProducerKind,
    village: String,
    linked_poor_households: i32,
}

#[derive(Deserialize)]
struct DemoEntry {
    code: String,
    issuer: String,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
}

#[derive(Deserialize)]
struct DemoProduct {
    slug: String,
    name: String,
    description: String,
    category: String,
    village: String,
    producer: String,
    catalogue_code: Option<String>,
    units_sold: i64,
    listed_at: DateTime<Utc>,
    variants: Vec<DemoVariant>,
}

#[derive(Deserialize)]
struct DemoVariant {
    sku: String,
    name: String,
    price_fen: i64,
    weight_grams: i32,
    on_hand: i64,
}

/// What a load inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub villages: usize,
    pub producers: usize,
    pub products: usize,
    pub variants: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} villages, {} producers, {} products, {} variants",
            self.villages, self.producers, self.products, self.variants
        )
    }
}

pub async fn is_empty(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(product::Entity::find().count(db).await? == 0)
}

fn id_of<Id: Copy>(ids: &HashMap<String, Id>, kind: &str, slug: &str) -> anyhow::Result<Id> {
    ids.get(slug)
        .copied()
        .with_context(|| format!("demo catalogue names an unknown {kind} {slug:?}"))
}

/// Inserts the whole demo catalogue in one transaction: all of it or nothing.
pub async fn load(db: &impl TransactionTrait) -> anyhow::Result<DemoSummary> {
    let demo: DemoCatalogue =
        serde_json::from_str(DEMO_CATALOGUE).context("the embedded demo catalogue is malformed")?;
    let txn = begin_write(db).await?;

    let mut categories = HashMap::new();
    for (position, item) in demo.categories.iter().enumerate() {
        let row = category::ActiveModel {
            slug: Set(item.slug.clone()),
            name: Set(item.name.clone()),
            position: Set(i32::try_from(position)?),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        categories.insert(item.slug.clone(), row.id);
    }

    let mut villages = HashMap::new();
    for item in &demo.villages {
        let row = village::ActiveModel {
            slug: Set(item.slug.clone()),
            name: Set(item.name.clone()),
            town: Set(item.town.clone()),
            district: Set(item.district.clone()),
            registered_poor: Set(item.registered_poor),
            exited_poverty_year: Set(item.exited_poverty_year),
            story: Set(item.story.clone()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        villages.insert(item.slug.clone(), row.id);
    }

    let mut producers = HashMap::new();
    for item in &demo.producers {
        let row = producer::ActiveModel {
            slug: Set(item.slug.clone()),
            name: Set(item.name.clone()),
            kind: Set(item.kind),
            village_id: Set(id_of(&villages, "village", &item.village)?),
            linked_poor_households: Set(item.linked_poor_households),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        producers.insert(item.slug.clone(), row.id);
    }

    let mut entries = HashMap::new();
    for item in &demo.catalogue_entries {
        let row = catalogue_entry::ActiveModel {
            code: Set(item.code.clone()),
            issuer: Set(item.issuer.clone()),
            valid_from: Set(item.valid_from),
            valid_to: Set(item.valid_to),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        entries.insert(item.code.clone(), row.id);
    }

    let mut variant_count = 0;
    for item in &demo.products {
        let prices = item.variants.iter().map(|v| Fen::new(v.price_fen));
        let row = product::ActiveModel {
            slug: Set(item.slug.clone()),
            name: Set(item.name.clone()),
            description: Set(item.description.clone()),
            category_id: Set(id_of(&categories, "category", &item.category)?),
            village_id: Set(id_of(&villages, "village", &item.village)?),
            producer_id: Set(id_of(&producers, "producer", &item.producer)?),
            catalogue_entry_id: Set(item
                .catalogue_code
                .as_deref()
                .map(|code| id_of(&entries, "catalogue entry", code))
                .transpose()?),
            min_price_fen: Set(prices.clone().min().unwrap_or(Fen::ZERO)),
            max_price_fen: Set(prices.max().unwrap_or(Fen::ZERO)),
            units_sold: Set(item.units_sold),
            listed_at: Set(item.listed_at),
            published: Set(true),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for (position, item) in item.variants.iter().enumerate() {
            let variant = variant::ActiveModel {
                product_id: Set(row.id),
                sku: Set(item.sku.clone()),
                name: Set(item.name.clone()),
                price_fen: Set(Fen::new(item.price_fen)),
                weight_grams: Set(item.weight_grams),
                position: Set(i32::try_from(position)?),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            stock_level::ActiveModel {
                variant_id: Set(variant.id),
                on_hand: Set(item.on_hand),
                reserved: Set(0),
                version: Set(0),
            }
            .insert(&txn)
            .await?;
            // The ledger starts with the opening stock, so stock can be rebuilt from it.
            stock_movement::ActiveModel {
                variant_id: Set(variant.id),
                on_hand_delta: Set(item.on_hand),
                reserved_delta: Set(0),
                reason: Set("opening stock".to_owned()),
                actor_user_id: Set(None),
                order_id: Set(None),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            variant_count += 1;
        }
    }
    txn.commit().await?;
    Ok(DemoSummary {
        villages: demo.villages.len(),
        producers: demo.producers.len(),
        products: demo.products.len(),
        variants: variant_count,
    })
}

/// Gives every product without a picture one drawn from its slug
/// ([`crate::infra::images::demo::demo_picture`]), stored like any upload: nothing is
/// downloaded. Returns how many it added.
pub async fn add_pictures(
    db: &sea_orm::DatabaseConnection,
    images: &crate::infra::images::ImageStore,
) -> anyhow::Result<usize> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let pictured: Vec<crate::infra::ids::ProductId> = super::entity::product_image::Entity::find()
        .select_only()
        .column(super::entity::product_image::Column::ProductId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let bare = product::Entity::find()
        .filter(product::Column::Id.is_not_in(pictured))
        .all(db)
        .await?;
    for row in &bare {
        let picture = crate::infra::images::demo::demo_picture(&row.slug);
        if let Err(problem) = super::images::add(db, images, row.id, picture.into(), Some(row.name.clone())).await? {
            anyhow::bail!("the demo picture of {} was refused: {}", row.slug, problem.code);
        }
    }
    Ok(bare.len())
}
