//! The contract's "Relief supermarkets" section: stores and their clerks, moving stock to a
//! shelf, counter sales and the till's days.

mod objects;
mod refunds;

pub use objects::{CounterSale, Store, StoreDay, StoreStock, sale_node, store_node};

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use self::objects::{till_worker, with_numbers};
use self::refunds::{CounterRefund, CounterRefundInput, CounterRefundPayload};
use crate::accounts::Role;
use crate::accounts::graphql::accounts;
use crate::accounts::policy::{RoleGuard, viewer};
use crate::catalogue::management;
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::context::database;
use crate::infra::graphql::date::Date;
use crate::infra::graphql::global_id::{NodeType, decode_as};
use crate::infra::ids::StoreId;
use crate::inventory::entity::store;
use crate::orders::graphql::{OrderLineInput, OrderPayload};
use crate::organisations::funds;
use crate::shop::shop;
use crate::stores::CounterPaymentMethod;
use crate::stores::policy::{ManageStores, StockShelf};
use crate::stores::service::counter::{self, SaleLine, SaleRequest};
use crate::stores::service::counter_refunds::{self, CounterRefundRequest};
use crate::stores::service::{days, pickups, shelves, stores};

type Result<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct StoreInput {
    /// Lower-case letters, digits and dashes, unique in the shop.
    pub slug: String,
    pub name: String,
    pub address: String,
    pub opening_hours: Option<String>,
}

#[derive(InputObject)]
pub struct StockTransferInput {
    pub store_id: ID,
    pub variant_id: ID,
    /// Units moved from the online stock to the shelf; negative: back to online stock.
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct CounterSaleInput {
    pub store_id: ID,
    pub lines: Vec<OrderLineInput>,
    pub payment_method: CounterPaymentMethod,
    /// The member's counter code (`Membership.counterCode`), for WELFARE_ALLOWANCE.
    pub member_code: Option<String>,
    /// The till's own key for this sale: sent again (a flaky network), the same sale answers.
    pub idempotency_key: String,
}

#[derive(SimpleObject)]
pub struct StorePayload {
    store: Option<Store>,
    user_errors: Vec<UserError>,
}

impl StorePayload {
    fn answer(outcome: std::result::Result<store::Model, UserError>) -> StorePayload {
        match outcome {
            Ok(row) => StorePayload {
                store: Some(Store(row)),
                user_errors: Vec::new(),
            },
            Err(problem) => StorePayload {
                store: None,
                user_errors: vec![problem],
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct CounterSalePayload {
    sale: Option<CounterSale>,
    user_errors: Vec<UserError>,
}

/// The store `id` names, or a NOT_FOUND user error on `path`.
async fn named_store(
    ctx: &Context<'_>,
    id: &ID,
    path: &[&str],
) -> AppResult<std::result::Result<store::Model, UserError>> {
    let found = match decode_as::<StoreId>(id, NodeType::Store) {
        Some(store_id) => stores::find(database(ctx)?, store_id).await?,
        None => None,
    };
    Ok(found.ok_or_else(|| UserError::new(ErrorCode::NotFound, "store-not-found").on_field(path)))
}

#[derive(Default)]
pub struct StoresQuery;

#[Object]
impl StoresQuery {
    /// Every relief supermarket, by slug.
    async fn stores(&self, ctx: &Context<'_>) -> Result<Vec<Store>> {
        Ok(stores::all(database(ctx)?).await?.into_iter().map(Store).collect())
    }

    async fn store(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Store>> {
        Ok(stores::by_slug(database(ctx)?, slug.trim()).await?.map(Store))
    }
}

#[derive(Default)]
pub struct StoresMutation;

#[Object]
impl StoresMutation {
    /// Opens a store (operators).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn create_store(&self, ctx: &Context<'_>, input: StoreInput) -> Result<StorePayload> {
        viewer(ctx).authorize(ManageStores)?;
        let new = stores::NewStore {
            slug: input.slug,
            name: input.name,
            address: input.address,
            opening_hours: input.opening_hours,
        };
        Ok(StorePayload::answer(stores::create_store(database(ctx)?, new).await?))
    }

    /// Seats a buyer as a clerk of the store (operators): the user becomes STORE_CLERK.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn add_store_clerk(&self, ctx: &Context<'_>, store_id: ID, user_id: ID) -> Result<StorePayload> {
        viewer(ctx).authorize(ManageStores)?;
        let store = match named_store(ctx, &store_id, &["storeId"]).await? {
            Ok(store) => store,
            Err(problem) => return Ok(StorePayload::answer(Err(problem))),
        };
        let Some(user_id) = decode_as(&user_id, NodeType::User) else {
            return Ok(StorePayload::answer(Err(UserError::new(
                ErrorCode::NotFound,
                "user-not-found",
            )
            .on_field(&["userId"]))));
        };
        Ok(StorePayload::answer(
            stores::add_clerk(database(ctx)?, &accounts(ctx)?.sessions, store.id, user_id).await?,
        ))
    }

    /// Moves units of a variant from the online stock to the store's shelf, or back (operators
    /// and the variant's growers); the storefront shows the online stock moved at once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Grower, Role::Admin])")]
    async fn transfer_stock(&self, ctx: &Context<'_>, input: StockTransferInput) -> Result<StorePayload> {
        let store = match named_store(ctx, &input.store_id, &["input", "storeId"]).await? {
            Ok(store) => store,
            Err(problem) => return Ok(StorePayload::answer(Err(problem))),
        };
        let not_found = || UserError::new(ErrorCode::NotFound, "variant-not-found").on_field(&["input", "variantId"]);
        let found = match decode_as(&input.variant_id, NodeType::Variant) {
            Some(variant_id) => management::variant_with_producer(database(ctx)?, variant_id).await?,
            None => None,
        };
        let Some((variant, producer_id)) = found else {
            return Ok(StorePayload::answer(Err(not_found())));
        };
        let me = viewer(ctx).authorize(StockShelf { producer_id })?;
        let shop = shop(ctx)?;
        Ok(
            match shelves::transfer_stock(&shop.db, me.user_id, store.id, variant.id, input.quantity).await? {
                Ok(effect) => {
                    shop.announce(effect).await;
                    StorePayload::answer(Ok(store))
                }
                Err(problem) => StorePayload::answer(Err(problem)),
            },
        )
    }

    /// Sells from the store's shelf over the counter (the store's clerks): delivered at once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::StoreClerk])")]
    async fn record_counter_sale(&self, ctx: &Context<'_>, input: CounterSaleInput) -> Result<CounterSalePayload> {
        let refused = |problem| CounterSalePayload {
            sale: None,
            user_errors: vec![problem],
        };
        let store = match named_store(ctx, &input.store_id, &["input", "storeId"]).await? {
            Ok(store) => store,
            Err(problem) => return Ok(refused(problem)),
        };
        let me = till_worker(ctx, store.id).await?;
        let request = SaleRequest {
            lines: input
                .lines
                .iter()
                .map(|line| SaleLine {
                    variant_id: decode_as(&line.variant_id, NodeType::Variant),
                    quantity: line.quantity,
                })
                .collect(),
            payment_method: input.payment_method,
            member_code: input.member_code,
            idempotency_key: input.idempotency_key,
        };
        let shop = shop(ctx)?;
        Ok(
            match counter::record_sale(&shop.db, shop.payout_settings(), &store, me.user_id, request).await? {
                Ok(sale) => CounterSalePayload {
                    sale: with_numbers(&shop.db, vec![sale]).await?.pop(),
                    user_errors: Vec::new(),
                },
                Err(problem) => refused(problem),
            },
        )
    }

    /// Hands a pickup order over at the counter (a store's clerk, at the clerk's own store): its
    /// buyer shows the order's pickup code, and the order is delivered. INVALID_CODE when no
    /// order of the store has the code; NOT_DELIVERABLE when it is not paid, or was collected or
    /// cancelled.
    #[graphql(guard = "RoleGuard::any_of(&[Role::StoreClerk])")]
    async fn confirm_pickup(&self, ctx: &Context<'_>, code: String) -> Result<OrderPayload> {
        let me = viewer(ctx).signed_in()?;
        let Some(store_id) = stores::clerk_store(database(ctx)?, me.user_id).await? else {
            return Err(AppError::Forbidden.into());
        };
        till_worker(ctx, store_id).await?;
        Ok(match pickups::confirm(shop(ctx)?, store_id, &code).await? {
            Ok(order) => OrderPayload::handed_over(order),
            Err(problem) => OrderPayload::failed(problem),
        })
    }

    /// Gives back (part of) one of the store's sales over the counter (the store's clerks):
    /// through the one refund path, by the sale's method, on today's day (cash comes out of
    /// the cash expected; a closed day takes none). Idempotent by key.
    #[graphql(guard = "RoleGuard::any_of(&[Role::StoreClerk])")]
    async fn refund_counter_sale(&self, ctx: &Context<'_>, input: CounterRefundInput) -> Result<CounterRefundPayload> {
        let refused = |problem| CounterRefundPayload {
            refund: None,
            user_errors: vec![problem],
        };
        let store = match named_store(ctx, &input.store_id, &["input", "storeId"]).await? {
            Ok(store) => store,
            Err(problem) => return Ok(refused(problem)),
        };
        let me = till_worker(ctx, store.id).await?;
        let amount = match input
            .amount
            .as_deref()
            .map(|text| funds::parse_amount(text, &["input", "amount"]))
        {
            Some(Err(problem)) => return Ok(refused(problem)),
            Some(Ok(amount)) => Some(amount),
            None => None,
        };
        let request = CounterRefundRequest {
            sale_id: decode_as(&input.sale_id, NodeType::CounterSale),
            amount,
            idempotency_key: input.idempotency_key,
        };
        Ok(
            match counter_refunds::refund_sale(shop(ctx)?, &store, me.user_id, request).await? {
                Ok(refund) => CounterRefundPayload {
                    refund: Some(CounterRefund(refund)),
                    user_errors: Vec::new(),
                },
                Err(problem) => refused(problem),
            },
        )
    }

    /// Closes the store's day with the cash counted (its clerks and operators): the difference
    /// from the cash expected is kept, and the day takes no more sales.
    #[graphql(guard = "RoleGuard::any_of(&[Role::StoreClerk, Role::Admin])")]
    async fn close_day(
        &self,
        ctx: &Context<'_>,
        store_id: ID,
        date: Date,
        cash_counted: String,
    ) -> Result<StorePayload> {
        let store = match named_store(ctx, &store_id, &["storeId"]).await? {
            Ok(store) => store,
            Err(problem) => return Ok(StorePayload::answer(Err(problem))),
        };
        let me = till_worker(ctx, store.id).await?;
        let counted = match funds::parse_amount(&cash_counted, &["cashCounted"]) {
            Ok(counted) => counted,
            Err(problem) => return Ok(StorePayload::answer(Err(problem))),
        };
        Ok(StorePayload::answer(
            days::close_day(database(ctx)?, store.id, date.0, counted, me.user_id)
                .await?
                .map(|_| store),
        ))
    }
}
