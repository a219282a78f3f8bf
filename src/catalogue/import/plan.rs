//! The checked rows against the shop as it is, inside the import's transaction: every slug must
//! name a row there is, a product's rows must agree with each other, a SKU must not belong to
//! another product, and a product keeps its producer. What comes out is what to write.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::rows::{EntryCells, Row, at};
use crate::catalogue::creation::MAX_VARIANTS;
use crate::catalogue::entity::{category, producer, product, variant, village};
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{CategoryId, ProducerId, ProductId, VariantId, VillageId};
use crate::infra::in_list::all_in;
use crate::infra::money::Fen;
use crate::inventory::entity::stock_level;

/// A product as the file wants it.
#[derive(Clone, Debug)]
pub struct ProductPlan {
    pub slug: String,
    pub name: String,
    pub category_id: CategoryId,
    pub producer_id: ProducerId,
    pub village_id: VillageId,
    pub entry_code: Option<String>,
    /// Prices of the file's variants: a new product's price range until its variants are in.
    pub prices: Vec<Fen>,
}

/// A variant as the file wants it.
#[derive(Clone, Debug)]
pub struct VariantPlan {
    pub row: u64,
    pub product_slug: String,
    pub sku: String,
    pub name: String,
    pub price: Fen,
    pub stock: i32,
    /// Its place among the product's variants, for a new one.
    pub position: i32,
    /// Set when the variant exists: its id and its stock now.
    pub existing: Option<(VariantId, stock_level::Model)>,
}

/// Everything the file asks for, checked.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<EntryCells>,
    pub products: Vec<ProductPlan>,
    pub variants: Vec<VariantPlan>,
}

/// Names of slugs to ids, for the slugs the file uses.
async fn ids_by_slug<E, Id>(
    db: &impl ConnectionTrait,
    slug_column: E::Column,
    slugs: impl Iterator<Item = String>,
    of: impl Fn(&E::Model) -> (String, Id),
) -> AppResult<HashMap<String, Id>>
where
    E: EntityTrait,
{
    let slugs: HashSet<String> = slugs.collect();
    Ok(all_in(db, E::find(), slug_column, slugs)
        .await?
        .iter()
        .map(of)
        .collect())
}

/// The plan for `rows`, or every row's problem. Reads under the import's transaction; the
/// stock rows of existing variants are taken, so no order changes what they hold meanwhile.
pub async fn plan(db: &impl ConnectionTrait, rows: Vec<Row>) -> AppResult<Result<Plan, Vec<UserError>>> {
    let categories = ids_by_slug::<category::Entity, _>(
        db,
        category::Column::Slug,
        rows.iter().map(|r| r.category_slug.clone()),
        |c| (c.slug.clone(), c.id),
    )
    .await?;
    let producers: HashMap<String, (ProducerId, VillageId)> = ids_by_slug::<producer::Entity, _>(
        db,
        producer::Column::Slug,
        rows.iter().map(|r| r.producer_slug.clone()),
        |p| (p.slug.clone(), (p.id, p.village_id)),
    )
    .await?;
    let villages = ids_by_slug::<village::Entity, _>(
        db,
        village::Column::Slug,
        rows.iter().filter_map(|r| r.village_slug.clone()),
        |v| (v.slug.clone(), v.id),
    )
    .await?;
    let products: HashMap<String, product::Model> = all_in(
        db,
        product::Entity::find(),
        product::Column::Slug,
        rows.iter().map(|r| r.product_slug.clone()).collect::<HashSet<_>>(),
    )
    .await?
    .into_iter()
    .map(|p| (p.slug.clone(), p))
    .collect();
    let variants: HashMap<String, variant::Model> = all_in(
        db,
        variant::Entity::find(),
        variant::Column::Sku,
        rows.iter().map(|r| r.sku.clone()),
    )
    .await?
    .into_iter()
    .map(|v| (v.sku.clone(), v))
    .collect();
    let stock: HashMap<VariantId, stock_level::Model> = all_in(
        db,
        stock_level::Entity::find().lock_exclusive(),
        stock_level::Column::VariantId,
        variants.values().map(|v| v.id),
    )
    .await?
    .into_iter()
    .map(|s| (s.variant_id, s))
    .collect();
    // Variants each product has, by slug: those there are, then the file's new ones.
    let mut variant_counts: HashMap<String, usize> = HashMap::new();
    let slug_of: HashMap<ProductId, &str> = products.values().map(|p| (p.id, p.slug.as_str())).collect();
    for chunk in crate::infra::in_list::chunks(products.values().map(|p| p.id)) {
        let counted: Vec<(ProductId, i64)> = variant::Entity::find()
            .select_only()
            .column(variant::Column::ProductId)
            .column_as(variant::Column::Id.count(), "count")
            .filter(variant::Column::ProductId.is_in(chunk))
            .group_by(variant::Column::ProductId)
            .into_tuple()
            .all(db)
            .await?;
        variant_counts.extend(
            counted
                .into_iter()
                .filter_map(|(id, n)| Some(((*slug_of.get(&id)?).to_owned(), usize::try_from(n).unwrap_or(0)))),
        );
    }

    let mut plan = Plan::default();
    let mut problems = Vec::new();
    let mut product_index: HashMap<String, usize> = HashMap::new();
    let mut entry_index: HashMap<String, usize> = HashMap::new();
    let mut skus_seen: HashSet<String> = HashSet::new();
    for row in rows {
        match plan_row(
            &row,
            &Known {
                categories: &categories,
                producers: &producers,
                villages: &villages,
                products: &products,
                variants: &variants,
            },
            &mut plan,
            &mut product_index,
            &mut entry_index,
            &mut skus_seen,
            &mut variant_counts,
        ) {
            Ok(()) => {}
            Err(problem) => problems.push(problem),
        }
        if let Some(existing) = variants.get(&row.sku)
            && let Some(last) = plan.variants.last_mut()
            && last.row == row.row
        {
            match stock.get(&existing.id) {
                // The new figure is what is on hand; unpaid orders' units cannot be taken away.
                Some(level) if i64::from(row.stock) < level.reserved => problems.push(at(
                    row.row,
                    "stock",
                    ErrorCode::OutOfStock,
                    Message::new("import-stock-below-reserved").with("reserved", level.reserved),
                )),
                Some(level) => last.existing = Some((existing.id, level.clone())),
                None => problems.push(at(row.row, "variant_sku", ErrorCode::InvalidInput, "sku-taken")),
            }
        }
    }
    Ok(if problems.is_empty() { Ok(plan) } else { Err(problems) })
}

/// What the shop holds already, by slug or SKU.
struct Known<'a> {
    categories: &'a HashMap<String, CategoryId>,
    producers: &'a HashMap<String, (ProducerId, VillageId)>,
    villages: &'a HashMap<String, VillageId>,
    products: &'a HashMap<String, product::Model>,
    variants: &'a HashMap<String, variant::Model>,
}

fn plan_row(
    row: &Row,
    known: &Known<'_>,
    plan: &mut Plan,
    product_index: &mut HashMap<String, usize>,
    entry_index: &mut HashMap<String, usize>,
    skus_seen: &mut HashSet<String>,
    variant_counts: &mut HashMap<String, usize>,
) -> Result<(), UserError> {
    let n = row.row;
    let not_found = |column: &str, message: &'static str| at(n, column, ErrorCode::NotFound, message);
    let differs = |column: &str| at(n, column, ErrorCode::InvalidInput, "import-row-disagrees");
    let category_id = *known
        .categories
        .get(&row.category_slug)
        .ok_or_else(|| not_found("category_slug", "category-not-found"))?;
    let (producer_id, producer_village) = *known
        .producers
        .get(&row.producer_slug)
        .ok_or_else(|| not_found("producer_slug", "producer-not-found"))?;
    let village_id = match &row.village_slug {
        None => producer_village,
        Some(slug) => *known
            .villages
            .get(slug)
            .ok_or_else(|| not_found("village_slug", "village-not-found"))?,
    };
    if let Some(entry) = &row.entry {
        match entry_index.get(&entry.code) {
            Some(&index) if plan.entries[index] != *entry => return Err(differs("catalogue_code")),
            Some(_) => {}
            None => {
                entry_index.insert(entry.code.clone(), plan.entries.len());
                plan.entries.push(entry.clone());
            }
        }
    }
    let existing = known.products.get(&row.product_slug);
    if let Some(existing) = existing
        && existing.producer_id != producer_id
    {
        return Err(at(
            n,
            "producer_slug",
            ErrorCode::InvalidInput,
            "import-product-of-another-producer",
        ));
    }
    let wanted = ProductPlan {
        slug: row.product_slug.clone(),
        name: row.product_name.clone(),
        category_id,
        producer_id,
        village_id,
        entry_code: row.entry.as_ref().map(|entry| entry.code.clone()),
        prices: Vec::new(),
    };
    let index = match product_index.get(&row.product_slug) {
        Some(&index) => {
            let planned = &plan.products[index];
            for (column, same) in [
                ("product_name", planned.name == wanted.name),
                ("category_slug", planned.category_id == wanted.category_id),
                ("producer_slug", planned.producer_id == wanted.producer_id),
                ("village_slug", planned.village_id == wanted.village_id),
                ("catalogue_code", planned.entry_code == wanted.entry_code),
            ] {
                if !same {
                    return Err(differs(column));
                }
            }
            index
        }
        None => {
            product_index.insert(row.product_slug.clone(), plan.products.len());
            plan.products.push(wanted);
            plan.products.len() - 1
        }
    };
    if !skus_seen.insert(row.sku.clone()) {
        return Err(at(n, "variant_sku", ErrorCode::InvalidInput, "import-sku-twice"));
    }
    let existing_variant = known.variants.get(&row.sku);
    let mut position = 0;
    match (existing_variant, existing) {
        (Some(variant), Some(product)) if variant.product_id == product.id => {}
        (Some(_), _) => return Err(at(n, "variant_sku", ErrorCode::InvalidInput, "sku-taken")),
        (None, _) => {
            let count = variant_counts.entry(row.product_slug.clone()).or_insert(0);
            position = i32::try_from(*count).unwrap_or(i32::MAX);
            *count += 1;
            if *count > MAX_VARIANTS {
                return Err(at(
                    n,
                    "variant_sku",
                    ErrorCode::InvalidInput,
                    Message::new("variant-count").with("max", MAX_VARIANTS),
                ));
            }
        }
    }
    plan.products[index].prices.push(row.price);
    plan.variants.push(VariantPlan {
        row: n,
        product_slug: row.product_slug.clone(),
        sku: row.sku.clone(),
        name: row.variant_name.clone(),
        price: row.price,
        stock: row.stock,
        position,
        existing: None,
    });
    Ok(())
}
