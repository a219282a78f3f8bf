//! An organisation's bulk order (慰问品): up to 2,000 recipient lines placed by one of its admins
//! in one transaction, all or nothing, and split into one shipment per recipient and producer,
//! each with its own acceptance code. Paid by bank transfer (an operator records it, as for any
//! order) or from the organisation's fund there and then.
//!
//! Every problem found is listed, each naming its line (`input.recipients.N.field`, or the CSV
//! line), so an admin fixes a list in one go. Stock is held per variant for the whole order: a
//! variant short of stock fails every line that asks for it.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::placing::{
    Address, Offer, Placed, Reserved, announce_and_start_payment, by_idempotency_key, check_address, key_taken, offers,
    order_number, pay_at_once, placed_meanwhile,
};
use crate::catalogue::entity::variant;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::UserId;
use crate::infra::ids::{OrderId, ShipmentId};
use crate::infra::ids::{ProducerId, VariantId};
use crate::infra::money::Fen;
use crate::inventory::{self, Moved, Movement};
use crate::orders::MAX_QUANTITY;
use crate::orders::entity::{order, order_line, shipment, shipment_item};
use crate::orders::service::holds::within_organisation_limits;
use crate::orders::{OrderStatus, PaymentMethod};
use crate::organisations::funds;
use crate::payments::ProviderKind;
use crate::shop::{Effect, Shop};

pub const MAX_RECIPIENT_LINES: usize = 2_000;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bound-parameter limits.
const INSERT_CHUNK: usize = 500;

/// Where a recipient line came from, so that its problems name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinePlace {
    /// The index in `input.recipients`.
    Input(usize),
    /// The line number in the uploaded CSV (the header is line 1).
    Csv(usize),
}

impl LinePlace {
    /// A problem with `field` of this line.
    pub fn problem(self, code: ErrorCode, message: impl Into<Message>, field: &str) -> UserError {
        match self {
            LinePlace::Input(index) => {
                UserError::new(code, message).on_field(&["input", "recipients", &index.to_string(), field])
            }
            LinePlace::Csv(line) => UserError::new(
                code,
                Message::new("csv-line")
                    .with("line", line)
                    .with("problem", message.into()),
            )
            .on_field(&["csv", &line.to_string(), field]),
        }
    }
}

/// How a line names its variant: by id (GraphQL input) or by SKU (CSV).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VariantRef {
    /// `None`: an id that names no variant.
    Id(Option<VariantId>),
    Sku(String),
}

pub struct RecipientLine {
    pub place: LinePlace,
    pub recipient: Address,
    pub variant: VariantRef,
    pub quantity: i32,
}

pub struct BulkOrderRequest {
    pub organisation_id: OrganisationId,
    pub organisation_name: String,
    pub lines: Vec<RecipientLine>,
    pub idempotency_key: String,
    pub payment_method: PaymentMethod,
}

/// A line checked and priced.
struct Checked<'a> {
    line: &'a RecipientLine,
    offer: &'a Offer,
}

/// `placeBulkOrder` (an admin of the organisation, checked by the caller): the order, or every
/// problem found.
pub async fn place_bulk(
    shop: &Shop,
    admin_id: UserId,
    request: BulkOrderRequest,
) -> AppResult<Result<Placed, Vec<UserError>>> {
    Ok(match reserve(shop, admin_id, &request).await? {
        Ok(reserved) => Ok(announce_and_start_payment(shop, reserved, &Default::default()).await),
        Err(problems) => Err(problems),
    })
}

fn check_request(request: &BulkOrderRequest) -> Vec<UserError> {
    let mut problems = Vec::new();
    let key_chars = request.idempotency_key.chars().count();
    if key_chars == 0 || key_chars > 100 {
        problems.push(
            UserError::new(ErrorCode::InvalidInput, "idempotency-key-length").on_field(&["input", "idempotencyKey"]),
        );
    }
    if !matches!(
        request.payment_method,
        PaymentMethod::BankTransfer | PaymentMethod::OrganisationFund
    ) {
        problems
            .push(UserError::new(ErrorCode::InvalidInput, "bulk-payment-method").on_field(&["input", "paymentMethod"]));
    }
    if request.lines.is_empty() || request.lines.len() > MAX_RECIPIENT_LINES {
        problems.push(
            UserError::new(
                ErrorCode::InvalidInput,
                Message::new("bulk-line-count").with("max", MAX_RECIPIENT_LINES),
            )
            .on_field(&["input", "recipients"]),
        );
    }
    for line in &request.lines {
        if let Err((field, problem)) = check_address(&line.recipient) {
            problems.push(line.place.problem(ErrorCode::InvalidInput, problem, field));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            problems.push(line.place.problem(
                ErrorCode::InvalidQuantity,
                Message::new("quantity-range").with("max", MAX_QUANTITY),
                "quantity",
            ));
        }
    }
    problems
}

/// The variants the lines name, by id, and the id each SKU names.
async fn resolve_variants(
    db: &impl ConnectionTrait,
    lines: &[RecipientLine],
) -> AppResult<(HashMap<VariantId, Offer>, HashMap<String, VariantId>)> {
    let skus: Vec<&str> = lines
        .iter()
        .filter_map(|line| match &line.variant {
            VariantRef::Sku(sku) => Some(sku.trim()),
            VariantRef::Id(_) => None,
        })
        .collect();
    let by_sku: HashMap<String, VariantId> = if skus.is_empty() {
        HashMap::new()
    } else {
        variant::Entity::find()
            .select_only()
            .column(variant::Column::Sku)
            .column(variant::Column::Id)
            .filter(variant::Column::Sku.is_in(skus))
            .into_tuple::<(String, VariantId)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let ids = lines.iter().filter_map(|line| match &line.variant {
        VariantRef::Id(id) => *id,
        VariantRef::Sku(sku) => by_sku.get(sku.trim()).copied(),
    });
    Ok((offers(db, ids).await?, by_sku))
}

/// Checks every line against the catalogue: each one's offer, or every problem found.
fn check_lines<'a>(
    request: &'a BulkOrderRequest,
    offers: &'a HashMap<VariantId, Offer>,
    by_sku: &HashMap<String, VariantId>,
) -> Result<Vec<Checked<'a>>, Vec<UserError>> {
    let mut checked = Vec::with_capacity(request.lines.len());
    let mut problems = Vec::new();
    for line in &request.lines {
        let (found, field) = match &line.variant {
            VariantRef::Id(id) => (id.and_then(|id| offers.get(&id)), "variantId"),
            VariantRef::Sku(sku) => (by_sku.get(sku.trim()).and_then(|id| offers.get(id)), "sku"),
        };
        let Some(offer) = found else {
            problems.push(line.place.problem(ErrorCode::NotFound, "variant-not-found", field));
            continue;
        };
        if !offer.on_sale {
            problems.push(line.place.problem(
                ErrorCode::NotOnSale,
                Message::new("not-on-sale").with("product", offer.product_name.as_str()),
                field,
            ));
        } else if request.payment_method == PaymentMethod::OrganisationFund && !offer.in_catalogue {
            // The fund is 消费帮扶 money: like an allowance, it buys only what the 目录 lists.
            problems.push(line.place.problem(
                ErrorCode::NotEligible,
                Message::new("fund-product-not-eligible").with("product", offer.product_name.as_str()),
                field,
            ));
        } else {
            checked.push(Checked { line, offer });
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// The recipient a line ships to, as one shipment's key: lines to the same person at the same
/// address share a parcel per producer.
fn recipient_key(address: &Address) -> Recipient {
    [
        &address.name,
        &address.phone,
        &address.province,
        &address.city,
        &address.district,
        &address.line1,
    ]
    .map(|part| part.trim().to_owned())
}

/// A code a recipient can read out or type: ten characters without 0/O or 1/I (50 random bits).
fn acceptance_code() -> String {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let random = uuid::Uuid::new_v4().as_u128();
    (0..10)
        .map(|i| char::from(ALPHABET[((random >> (5 * i)) & 31) as usize]))
        .collect()
}

/// The placing transaction: the order, its lines, shipments and items, the stock for every
/// variant, and the fund's payment, all committed together or not at all.
async fn reserve(
    shop: &Shop,
    admin_id: UserId,
    request: &BulkOrderRequest,
) -> AppResult<Result<Reserved, Vec<UserError>>> {
    // The same key is the same order, whatever the catalogue says now (a retry after a product
    // went off sale still gets the order placed).
    let mut problems = check_request(request);
    let db = &shop.db;
    if problems.is_empty()
        && let Some(order) = by_idempotency_key(db, admin_id, &request.idempotency_key).await?
    {
        return Ok(Ok(Reserved::found_again(order)));
    }
    // Every problem at once: the request's own, and each line's against the catalogue.
    let (offers, by_sku) = resolve_variants(db, &request.lines).await?;
    let checked = match check_lines(request, &offers, &by_sku) {
        Ok(checked) => checked,
        Err(found) => {
            problems.extend(found);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Ok(Err(problems));
    }

    // Per variant: units wanted and the lines asking. Per recipient and producer: a parcel.
    let mut per_variant: BTreeMap<VariantId, (i64, Vec<LinePlace>)> = BTreeMap::new();
    let mut parcels: Parcels = BTreeMap::new();
    for Checked { line, offer } in &checked {
        let wanted = per_variant.entry(offer.variant.id).or_default();
        wanted.0 += i64::from(line.quantity);
        wanted.1.push(line.place);
        *parcels
            .entry((recipient_key(&line.recipient), offer.producer_id))
            .or_default()
            .entry(offer.variant.id)
            .or_default() += line.quantity;
    }
    let mut total = Fen::ZERO;
    let mut lines = Vec::with_capacity(per_variant.len());
    let fee_bps = shop.payout_settings().line_fee_bps();
    for (variant_id, (quantity, _)) in &per_variant {
        let offer = &offers[variant_id];
        let unit_price = offer.variant.price_fen;
        let line_total = unit_price
            .checked_mul(*quantity)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line total overflows")))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order total overflows")))?;
        let quantity =
            i32::try_from(*quantity).map_err(|_| AppError::Internal(anyhow::anyhow!("quantity overflows")))?;
        lines.push(order_line::ActiveModel {
            variant_id: Set(*variant_id),
            product_id: Set(offer.variant.product_id),
            producer_id: Set(offer.producer_id),
            quantity: Set(quantity),
            unit_price_fen: Set(unit_price),
            line_total_fen: Set(line_total),
            platform_fee_bps: Set(Some(fee_bps)),
            ..Default::default()
        });
    }

    let now = Utc::now();
    let reserved_until =
        now + chrono::Duration::from_std(shop.settings.reservation).map_err(|e| AppError::Internal(e.into()))?;
    let txn = begin_write(db).await?;
    // Paid by bank, the order holds its stock unpaid: within the organisation's limits.
    if request.payment_method == PaymentMethod::BankTransfer {
        let units = per_variant.values().map(|(quantity, _)| quantity).sum();
        let limits = shop.settings.order_limits;
        if let Err(problem) =
            within_organisation_limits(&txn, request.organisation_id, units, limits, (now, reserved_until)).await?
        {
            return end_write(txn, Err(vec![problem])).await;
        }
    }
    let inserted = order::ActiveModel {
        number: Set(order_number()),
        buyer_id: Set(admin_id),
        status: Set(OrderStatus::PendingPayment),
        payment_method: Set(request.payment_method),
        total_fen: Set(total),
        idempotency_key: Set(request.idempotency_key.clone()),
        referral_code: Set(None),
        union_id: Set(Some(request.organisation_id)),
        // Each shipment carries its recipient; the order itself names the organisation.
        ship_name: Set(request.organisation_name.clone()),
        ship_phone: Set(String::new()),
        ship_province: Set(String::new()),
        ship_city: Set(String::new()),
        ship_district: Set(String::new()),
        ship_line1: Set(String::new()),
        ship_postal_code: Set(None),
        reserved_until: Set(Some(reserved_until)),
        created_at: Set(now),
        allowance_fen: Set(Fen::ZERO),
        remainder_method: Set(None),
        bulk: Set(true),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let mut order = match inserted {
        Ok(order) => order,
        Err(error) if key_taken(&error) => {
            txn.rollback().await?;
            return Ok(Ok(placed_meanwhile(db, admin_id, &request.idempotency_key).await?));
        }
        Err(error) => return Err(error.into()),
    };
    for line in &mut lines {
        line.order_id = Set(order.id);
    }
    order_line::Entity::insert_many(lines)
        .exec_without_returning(&txn)
        .await?;
    insert_parcels(&txn, order.id, &parcels).await?;

    // Stock in variant order (no deadlocks between orders); every short variant is reported.
    let mut short = Vec::new();
    let mut availability_changed = false;
    for (variant_id, (quantity, places)) in &per_variant {
        match inventory::apply(
            &txn,
            Movement::Reserve,
            *variant_id,
            *quantity,
            order.id,
            Some(admin_id),
        )
        .await?
        {
            Moved::Done {
                availability_flipped, ..
            } => availability_changed |= availability_flipped,
            Moved::Refused => short.extend(places.iter().map(|place| {
                place.problem(
                    ErrorCode::OutOfStock,
                    Message::new("out-of-stock").with("variant", offers[variant_id].variant.name.as_str()),
                    "quantity",
                )
            })),
        }
    }
    if !short.is_empty() {
        return end_write(txn, Err(short)).await;
    }

    let mut paid = Effect::default();
    if request.payment_method == PaymentMethod::OrganisationFund {
        if !funds::purchase(&txn, request.organisation_id, order.id, total, admin_id, now).await? {
            let short = Message::new("fund-insufficient").with("total", total);
            let problem = UserError::new(ErrorCode::InsufficientFunds, short).on_field(&["input", "paymentMethod"]);
            return end_write(txn, Err(vec![problem])).await;
        }
        paid = pay_at_once(&txn, &order, ProviderKind::OrganisationFund, now).await?;
        order = order::Entity::find_by_id(order.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} vanished", order.id)))?;
    }
    end_write(
        txn,
        Ok(Reserved {
            order,
            availability_changed,
            variant_ids: per_variant.keys().copied().collect(),
            quota_variant_ids: Vec::new(),
            figures: Vec::new(), // a bulk order's stock is read again after the commit
            paid,
            payment: None,
            left_to_batch: Default::default(),
        }),
    )
    .await
}

/// A recipient's name, phone and address, trimmed: lines with the same share a parcel.
type Recipient = [String; 6];
/// Units per variant.
type Items = BTreeMap<VariantId, i32>;
/// Per recipient and producer: what goes in the parcel.
type Parcels = BTreeMap<(Recipient, ProducerId), Items>;

/// One shipment per recipient and producer, each with a fresh acceptance code, and what goes in
/// it: multi-row inserts, then the shipments read back by code to link their items.
async fn insert_parcels(txn: &impl ConnectionTrait, order_id: OrderId, parcels: &Parcels) -> AppResult<()> {
    let coded: Vec<(String, &(Recipient, ProducerId), &Items)> = parcels
        .iter()
        .map(|(key, items)| (acceptance_code(), key, items))
        .collect();
    for chunk in coded.chunks(INSERT_CHUNK) {
        shipment::Entity::insert_many(chunk.iter().map(|(code, (recipient, producer_id), _)| {
            let [name, phone, province, city, district, line1] = recipient.clone();
            shipment::ActiveModel {
                order_id: Set(order_id),
                producer_id: Set(*producer_id),
                recipient_name: Set(Some(name)),
                recipient_phone: Set(Some(phone)),
                recipient_province: Set(Some(province)),
                recipient_city: Set(Some(city)),
                recipient_district: Set(Some(district)),
                recipient_line1: Set(Some(line1)),
                acceptance_code: Set(Some(code.clone())),
                ..Default::default()
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    let ids: HashMap<String, ShipmentId> = shipment::Entity::find()
        .select_only()
        .column(shipment::Column::AcceptanceCode)
        .column(shipment::Column::Id)
        .filter(shipment::Column::OrderId.eq(order_id))
        .into_tuple::<(String, ShipmentId)>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let items: Vec<shipment_item::ActiveModel> = coded
        .iter()
        .flat_map(|(code, _, items)| {
            let shipment_id = ids.get(code).copied();
            items
                .iter()
                .map(move |(variant_id, quantity)| (shipment_id, *variant_id, *quantity))
        })
        .map(|(shipment_id, variant_id, quantity)| {
            Ok(shipment_item::ActiveModel {
                shipment_id: Set(
                    shipment_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a bulk shipment vanished")))?
                ),
                order_id: Set(order_id),
                variant_id: Set(variant_id),
                quantity: Set(quantity),
                ..Default::default()
            })
        })
        .collect::<AppResult<_>>()?;
    for chunk in items.chunks(INSERT_CHUNK) {
        shipment_item::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
