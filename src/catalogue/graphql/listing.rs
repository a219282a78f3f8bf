//! What growers (for their own producer) and operators change in the catalogue: variants,
//! stock, new products, catalogue entries.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::objects::{CatalogueEntry, Product, Variant};
use super::storefront_cache;
use crate::accounts::Role;
use crate::accounts::policy::{ReadUser, RoleGuard, viewer};
use crate::catalogue::entity::{producer, variant};
use crate::catalogue::policy::ManageCatalogue;
use crate::catalogue::{creation, management};
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as, encode};
use crate::infra::graphql::relay::PageRequest;
use crate::inventory::entity::stock_movement;

type Result<T> = async_graphql::Result<T>;

/// Text inputs the catalogue checks itself, refusing control characters as `INVALID_INPUT`
/// user errors (every other string input is refused earlier by
/// [`crate::infra::graphql::input_rules`], which the schema hands this list): root field, and
/// the path to the input within it.
pub const SELF_CHECKED_TEXT: &[(&str, &[&str])] = &[
    ("updateVariant", &["input", "name"]),
    ("createProduct", &["input", "name"]),
    ("createProduct", &["input", "description"]),
    ("createProduct", &["input", "variants", "name"]),
    ("updateProduct", &["input", "name"]),
    ("updateProduct", &["input", "description"]),
    ("addVariant", &["input", "name"]),
];

#[derive(SimpleObject)]
pub struct VariantPayload {
    variant: Option<Variant>,
    user_errors: Vec<UserError>,
}

impl VariantPayload {
    fn failed(problem: UserError) -> Self {
        VariantPayload {
            variant: None,
            user_errors: vec![problem],
        }
    }
}

#[derive(InputObject)]
pub struct VariantUpdateInput {
    /// Decimal yuan such as "39.80".
    pub price: Option<String>,
    pub name: Option<String>,
}

/// One change to a variant's stock, as the audit trail keeps it.
pub struct StockMovement(stock_movement::Model);

#[Object]
impl StockMovement {
    async fn on_hand_delta(&self) -> i64 {
        self.0.on_hand_delta
    }

    async fn reserved_delta(&self) -> i64 {
        self.0.reserved_delta
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// Who made the change, as the policy lets the viewer see users: the viewer's own changes
    /// and, to operators, everyone's. Null for the shop's own changes (an expired
    /// reservation) and for other people (a grower must not learn which buyers ordered).
    async fn actor_id(&self, ctx: &Context<'_>) -> Option<ID> {
        self.0
            .actor_user_id
            .filter(|user_id| viewer(ctx).may(ReadUser { user_id: *user_id }))
            .map(|user_id| encode(NodeType::User, user_id))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The variant `id` names, if the viewer may manage its producer's catalogue. An unknown id is
/// a `NOT_FOUND` user error; a variant of another producer is FORBIDDEN (variants are public,
/// so this leaks nothing).
async fn managed_variant(ctx: &Context<'_>, id: &ID) -> AppResult<std::result::Result<variant::Model, UserError>> {
    let not_found = || UserError::new(ErrorCode::NotFound, "variant-not-found").on_field(&["variantId"]);
    let Some(variant_id) = decode_as(id, NodeType::Variant) else {
        return Ok(Err(not_found()));
    };
    let Some((variant, producer_id)) = management::variant_with_producer(database(ctx)?, variant_id).await? else {
        return Ok(Err(not_found()));
    };
    viewer(ctx).authorize(ManageCatalogue { producer_id })?;
    Ok(Ok(variant))
}

#[derive(Default)]
pub struct CatalogueMutation;

/// Listing products and keeping catalogue entries (merged into the mutation root with
/// [`CatalogueMutation`]).
#[derive(Default)]
pub struct CatalogueListingMutation;

#[Object]
impl CatalogueMutation {
    /// Changes a variant's price or name (its producer's growers, and operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn update_variant(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        input: VariantUpdateInput,
    ) -> Result<VariantPayload> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(problem) => return Ok(VariantPayload::failed(problem)),
        };
        let changes = management::VariantChanges {
            price: input.price,
            name: input.name,
        };
        let outcome = management::update_variant(database(ctx)?, variant, changes).await?;
        Ok(match outcome {
            Ok(variant) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                VariantPayload {
                    variant: Some(Variant(variant)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => VariantPayload::failed(problem),
        })
    }

    /// Adds (or, negative, removes) on-hand stock, with a reason kept in the audit trail.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        delta: i32,
        reason: String,
    ) -> Result<VariantPayload> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(problem) => return Ok(VariantPayload::failed(problem)),
        };
        let actor = viewer(ctx).signed_in()?;
        let outcome = management::adjust_stock(database(ctx)?, actor, variant.id, delta, &reason).await?;
        Ok(match outcome {
            Ok(change) => {
                let cache = storefront_cache(ctx)?;
                cache.stock_changed(database(ctx)?, &[variant.id], &[]).await;
                if change.availability_flipped() {
                    cache.availability_changed().await;
                }
                VariantPayload {
                    variant: Some(Variant(variant)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => VariantPayload::failed(problem),
        })
    }
}

#[derive(InputObject)]
pub struct NewVariantInput {
    /// Capital letters, digits and dashes, unique in the shop.
    pub sku: String,
    pub name: String,
    /// Decimal yuan such as "39.80".
    pub price: String,
    #[graphql(default)]
    pub weight_grams: i32,
    /// Opening stock on hand.
    #[graphql(default)]
    pub stock: i32,
}

#[derive(InputObject)]
pub struct NewProductInput {
    /// Lower-case pinyin words joined by dashes, unique in the shop.
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub category_slug: String,
    /// Where it is grown or made; the producer's village when not given.
    pub village_slug: Option<String>,
    /// The producer it is listed for: required of operators; a grower lists for its own.
    pub producer_slug: Option<String>,
    /// Its 贫困地区农产品目录 entry, when listed.
    pub catalogue_code: Option<String>,
    pub variants: Vec<NewVariantInput>,
}

#[derive(SimpleObject)]
pub struct ProductPayload {
    product: Option<Product>,
    user_errors: Vec<UserError>,
}

impl ProductPayload {
    pub(super) fn of(outcome: std::result::Result<Product, UserError>) -> Self {
        match outcome {
            Ok(product) => ProductPayload {
                product: Some(product),
                user_errors: Vec::new(),
            },
            Err(problem) => ProductPayload {
                product: None,
                user_errors: vec![problem],
            },
        }
    }
}

#[derive(InputObject)]
pub struct CatalogueEntryUpdateInput {
    pub issuer: Option<String>,
    pub valid_from: Option<NaiveDate>,
    /// Last day of validity (China time); a day in the past takes the entry's products off sale.
    pub valid_to: Option<NaiveDate>,
}

#[derive(SimpleObject)]
pub struct CatalogueEntryPayload {
    catalogue_entry: Option<CatalogueEntry>,
    user_errors: Vec<UserError>,
}

/// The producer a new product is listed for: a grower's own; for an operator, the one named.
async fn listing_producer(
    ctx: &Context<'_>,
    producer_slug: Option<&str>,
) -> AppResult<std::result::Result<producer::Model, UserError>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let me = viewer(ctx).signed_in()?;
    let producer = match (producer_slug, me.producer_id) {
        (Some(slug), _) => {
            producer::Entity::find()
                .filter(producer::Column::Slug.eq(slug))
                .one(database(ctx)?)
                .await?
        }
        (None, Some(own)) => producer::Entity::find_by_id(own).one(database(ctx)?).await?,
        (None, None) => {
            return Ok(Err(
                UserError::new(ErrorCode::InvalidInput, "name-the-producer").on_field(&["input", "producerSlug"])
            ));
        }
    };
    let Some(producer) = producer else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["input", "producerSlug"])
        ));
    };
    viewer(ctx).authorize(ManageCatalogue {
        producer_id: producer.id,
    })?;
    Ok(Ok(producer))
}

#[Object]
impl CatalogueListingMutation {
    /// Lists a new product with its variants and opening stock (a grower for its own producer,
    /// operators for any).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn create_product(&self, ctx: &Context<'_>, input: NewProductInput) -> Result<ProductPayload> {
        let producer = match listing_producer(ctx, input.producer_slug.as_deref()).await? {
            Ok(producer) => producer,
            Err(problem) => {
                return Ok(ProductPayload {
                    product: None,
                    user_errors: vec![problem],
                });
            }
        };
        let actor = viewer(ctx).signed_in()?;
        let new = creation::NewProduct {
            slug: input.slug,
            name: input.name,
            description: input.description,
            category_slug: input.category_slug,
            village_slug: input.village_slug,
            catalogue_code: input.catalogue_code,
            variants: input
                .variants
                .into_iter()
                .map(|v| creation::NewVariant {
                    sku: v.sku,
                    name: v.name,
                    price: v.price,
                    weight_grams: v.weight_grams,
                    stock: v.stock,
                })
                .collect(),
        };
        let outcome = creation::create_product(database(ctx)?, actor, &producer, new).await?;
        Ok(match outcome {
            Ok(product) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                ProductPayload {
                    product: Some(Product(product)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => ProductPayload {
                product: None,
                user_errors: vec![problem],
            },
        })
    }

    /// Renews, corrects or withdraws a 贫困地区农产品目录 entry (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn update_catalogue_entry(
        &self,
        ctx: &Context<'_>,
        code: String,
        input: CatalogueEntryUpdateInput,
    ) -> Result<CatalogueEntryPayload> {
        let changes = management::EntryChanges {
            issuer: input.issuer,
            valid_from: input.valid_from,
            valid_to: input.valid_to,
        };
        let outcome = management::update_catalogue_entry(database(ctx)?, &code, changes).await?;
        Ok(match outcome {
            Ok(entry) => {
                storefront_cache(ctx)?.catalogue_changed().await;
                CatalogueEntryPayload {
                    catalogue_entry: Some(CatalogueEntry(entry)),
                    user_errors: Vec::new(),
                }
            }
            Err(problem) => CatalogueEntryPayload {
                catalogue_entry: None,
                user_errors: vec![problem],
            },
        })
    }
}

#[derive(Default)]
pub struct CatalogueManagementQuery;

#[Object]
impl CatalogueManagementQuery {
    /// A variant's stock changes, newest first (its producer's growers, and operators).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])",
        complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)"
    )]
    async fn stock_history(&self, ctx: &Context<'_>, variant_id: ID, first: Option<i32>) -> Result<Vec<StockMovement>> {
        let variant = match managed_variant(ctx, &variant_id).await? {
            Ok(variant) => variant,
            Err(_) => return Ok(Vec::new()),
        };
        let limit = PageRequest::<i64>::new(first, None)?.limit;
        let rows = management::stock_history(database(ctx)?, variant.id, limit).await?;
        Ok(rows.into_iter().map(StockMovement).collect())
    }
}
