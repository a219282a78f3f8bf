//! The back office's catalogue (the contract's "Back office"): operators onboard villages,
//! producers and categories; a product's growers and operators change it, add variants and
//! pictures.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};

use super::listing::{NewVariantInput, ProductPayload};
use super::objects::{Category, Producer, Product, Village};
use super::storefront_cache;
use crate::accounts::Role;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::ProducerKind;
use crate::catalogue::entity::product;
use crate::catalogue::onboarding::{self, CategoryFields, ProducerFields, VillageFields};
use crate::catalogue::policy::ManageCatalogue;
use crate::catalogue::product_changes::{self, ProductChanges};
use crate::catalogue::{creation, images, import};
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::shop::shop;

type Result<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct VillageInput {
    /// Lower-case pinyin words joined by dashes, unique in the shop.
    slug: String,
    name: String,
    town: String,
    district: String,
    /// On the register of poor villages (建档立卡贫困村).
    registered_poor: bool,
    /// The year it left poverty (出列): only for a registered village.
    exited_poverty_year: Option<i32>,
    #[graphql(default)]
    story: String,
}

impl From<VillageInput> for VillageFields {
    fn from(input: VillageInput) -> Self {
        VillageFields {
            slug: input.slug,
            name: input.name,
            town: input.town,
            district: input.district,
            registered_poor: input.registered_poor,
            exited_poverty_year: input.exited_poverty_year,
            story: input.story,
        }
    }
}

#[derive(InputObject)]
pub struct ProducerInput {
    slug: String,
    name: String,
    kind: ProducerKind,
    village_slug: String,
    /// Registered poor households linked to it (利益联结).
    linked_poor_households: i32,
}

impl From<ProducerInput> for ProducerFields {
    fn from(input: ProducerInput) -> Self {
        ProducerFields {
            slug: input.slug,
            name: input.name,
            kind: input.kind,
            village_slug: input.village_slug,
            linked_poor_households: input.linked_poor_households,
        }
    }
}

#[derive(InputObject)]
pub struct CategoryInput {
    slug: String,
    name: String,
}

#[derive(InputObject)]
pub struct ProductUpdateInput {
    name: Option<String>,
    description: Option<String>,
    category_slug: Option<String>,
    /// False takes the product off the storefront at once; its orders stay as they are.
    published: Option<bool>,
}

#[derive(SimpleObject)]
pub struct VillagePayload {
    village: Option<Village>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ProducerPayload {
    producer: Option<Producer>,
    user_errors: Vec<UserError>,
}

/// What `importCatalogue` did (or, in a dry run, would do): rows whose variant is new, rows
/// whose variant was there; nothing at all when there are `userErrors`.
#[derive(SimpleObject, Default)]
pub struct CatalogueImportPayload {
    created: usize,
    updated: usize,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct CategoryPayload {
    category: Option<Category>,
    user_errors: Vec<UserError>,
}

/// Splits an outcome into a payload's two fields.
fn parts<T, U>(outcome: std::result::Result<T, UserError>, shown: impl FnOnce(T) -> U) -> (Option<U>, Vec<UserError>) {
    match outcome {
        Ok(row) => (Some(shown(row)), Vec::new()),
        Err(problem) => (None, vec![problem]),
    }
}

/// After a write that succeeded: the storefront's cached answers are stale.
async fn catalogue_changed<T>(ctx: &Context<'_>, outcome: &std::result::Result<T, UserError>) -> AppResult<()> {
    if outcome.is_ok() {
        storefront_cache(ctx)?.catalogue_changed().await;
    }
    Ok(())
}

/// The product `id` names, if the viewer may manage its producer's catalogue: an unknown id
/// is a `NOT_FOUND` user error, another producer's product FORBIDDEN (as for variants).
async fn managed_product(ctx: &Context<'_>, id: &ID) -> AppResult<std::result::Result<product::Model, UserError>> {
    use sea_orm::EntityTrait;
    let not_found = || UserError::new(ErrorCode::NotFound, "product-not-found").on_field(&["productId"]);
    let Some(product_id) = decode_as::<crate::infra::ids::ProductId>(id, NodeType::Product) else {
        return Ok(Err(not_found()));
    };
    let Some(row) = product::Entity::find_by_id(product_id).one(database(ctx)?).await? else {
        return Ok(Err(not_found()));
    };
    viewer(ctx).authorize(ManageCatalogue {
        producer_id: row.producer_id,
    })?;
    Ok(Ok(row))
}

#[derive(Default)]
pub struct BackOfficeCatalogueMutation;

#[Object]
impl BackOfficeCatalogueMutation {
    /// Adds a village (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn create_village(&self, ctx: &Context<'_>, input: VillageInput) -> Result<VillagePayload> {
        let outcome = onboarding::create_village(database(ctx)?, input.into()).await?;
        catalogue_changed(ctx, &outcome).await?;
        let (village, user_errors) = parts(outcome, Village);
        Ok(VillagePayload { village, user_errors })
    }

    /// Replaces a village's fields (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn update_village(&self, ctx: &Context<'_>, village_id: ID, input: VillageInput) -> Result<VillagePayload> {
        let Some(village_id) = decode_as(&village_id, NodeType::Village) else {
            let problem = UserError::new(ErrorCode::NotFound, "village-not-found").on_field(&["villageId"]);
            return Ok(VillagePayload {
                village: None,
                user_errors: vec![problem],
            });
        };
        let outcome = onboarding::update_village(database(ctx)?, village_id, input.into()).await?;
        catalogue_changed(ctx, &outcome).await?;
        let (village, user_errors) = parts(outcome, Village);
        Ok(VillagePayload { village, user_errors })
    }

    /// Adds a producer in a village (operators); its payout account and growers come after.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn create_producer(&self, ctx: &Context<'_>, input: ProducerInput) -> Result<ProducerPayload> {
        let outcome = onboarding::create_producer(database(ctx)?, input.into()).await?;
        catalogue_changed(ctx, &outcome).await?;
        let (producer, user_errors) = parts(outcome, Producer);
        Ok(ProducerPayload { producer, user_errors })
    }

    /// Replaces a producer's fields (operators); its payout account and growers stay.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn update_producer(
        &self,
        ctx: &Context<'_>,
        producer_id: ID,
        input: ProducerInput,
    ) -> Result<ProducerPayload> {
        let Some(producer_id) = decode_as(&producer_id, NodeType::Producer) else {
            let problem = UserError::new(ErrorCode::NotFound, "producer-not-found").on_field(&["producerId"]);
            return Ok(ProducerPayload {
                producer: None,
                user_errors: vec![problem],
            });
        };
        let outcome = onboarding::update_producer(database(ctx)?, producer_id, input.into()).await?;
        catalogue_changed(ctx, &outcome).await?;
        let (producer, user_errors) = parts(outcome, Producer);
        Ok(ProducerPayload { producer, user_errors })
    }

    /// Adds a category, listed after the others (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn create_category(&self, ctx: &Context<'_>, input: CategoryInput) -> Result<CategoryPayload> {
        let fields = CategoryFields {
            slug: input.slug,
            name: input.name,
        };
        let outcome = onboarding::create_category(database(ctx)?, fields).await?;
        catalogue_changed(ctx, &outcome).await?;
        let (category, user_errors) = parts(outcome, Category::from);
        Ok(CategoryPayload { category, user_errors })
    }

    /// The district's 目录 list as CSV (the contract's columns, UTF-8, a header, a BOM allowed):
    /// creates or updates catalogue entries, products and variants, all rows or none; each bad
    /// row is named (`field: ["csv", row, column]`). `dryRun` reports without writing
    /// (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn import_catalogue(
        &self,
        ctx: &Context<'_>,
        csv: String,
        dry_run: Option<bool>,
    ) -> Result<CatalogueImportPayload> {
        let me = viewer(ctx).signed_in()?;
        let dry_run = dry_run.unwrap_or(false);
        let outcome = import::import(database(ctx)?, Some(me.user_id), &csv, dry_run, &mut |_| {}).await?;
        Ok(match outcome {
            Ok(applied) => {
                if !dry_run {
                    let cache = storefront_cache(ctx)?;
                    cache.stock_changed(database(ctx)?, &applied.stock_changed, &[]).await;
                    cache.availability_changed().await;
                    cache.catalogue_changed().await;
                }
                CatalogueImportPayload {
                    created: applied.created,
                    updated: applied.updated,
                    user_errors: Vec::new(),
                }
            }
            Err(user_errors) => CatalogueImportPayload {
                user_errors,
                ..CatalogueImportPayload::default()
            },
        })
    }

    /// Renames, describes, moves, publishes or unpublishes a product (its growers, operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        input: ProductUpdateInput,
    ) -> Result<ProductPayload> {
        let row = match managed_product(ctx, &product_id).await? {
            Ok(row) => row,
            Err(problem) => return Ok(ProductPayload::of(Err(problem))),
        };
        let changes = ProductChanges {
            name: input.name,
            description: input.description,
            category_slug: input.category_slug,
            published: input.published,
        };
        let outcome = product_changes::update_product(database(ctx)?, row, changes).await?;
        catalogue_changed(ctx, &outcome).await?;
        Ok(ProductPayload::of(outcome.map(Product)))
    }

    /// Adds a variant with its opening stock (the product's growers, operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn add_variant(&self, ctx: &Context<'_>, product_id: ID, input: NewVariantInput) -> Result<ProductPayload> {
        let row = match managed_product(ctx, &product_id).await? {
            Ok(row) => row,
            Err(problem) => return Ok(ProductPayload::of(Err(problem))),
        };
        let actor = viewer(ctx).signed_in()?;
        let new = creation::NewVariant {
            sku: input.sku,
            name: input.name,
            price: input.price,
            weight_grams: input.weight_grams,
            stock: input.stock,
        };
        let outcome = product_changes::add_variant(database(ctx)?, actor, &row, new).await?;
        if let Ok((_, variant)) = &outcome {
            let cache = storefront_cache(ctx)?;
            cache.stock_changed(database(ctx)?, &[variant.id], &[]).await;
            cache.availability_changed().await;
        }
        catalogue_changed(ctx, &outcome).await?;
        Ok(ProductPayload::of(outcome.map(|(product, _)| Product(product))))
    }

    /// Adds a picture (JPEG, PNG or WebP, judged by its content) through a GraphQL multipart
    /// request; three resized copies are stored once (the product's growers, operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn upload_product_image(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        file: Upload,
        alt: Option<String>,
    ) -> Result<ProductPayload> {
        let row = match managed_product(ctx, &product_id).await? {
            Ok(row) => row,
            Err(problem) => return Ok(ProductPayload::of(Err(problem))),
        };
        let content = file
            .value(ctx)
            .map_err(|error| async_graphql::Error::new(error.to_string()))?
            .content;
        let outcome = images::add(database(ctx)?, &shop(ctx)?.images, row.id, content, alt).await?;
        catalogue_changed(ctx, &outcome).await?;
        Ok(ProductPayload::of(outcome.map(|()| Product(row))))
    }
}
