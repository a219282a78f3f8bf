//! A batch's orders written together: those whose every check can be made before anything of
//! them is written (whatever their variants), against what their buyers hold, read once for
//! the batch (after its buyers' rows were taken, so nothing else adds to it meanwhile) and
//! counted order by order as they are checked. Their orders, lines, attributions and
//! live-session purchases are one multi-row statement each, and no order needs a savepoint. An
//! order that would be refused (a limit), that the allowance pays, that comes from the cart, or
//! whose key turns out taken is left to be written alone in its savepoint (`write`), after
//! these, whose rows it then reads: it gets the answer it would have got alone, with its
//! reasons.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseTransaction, EntityTrait};

use super::write::{line_rows, order_row, parcel_rows};
use super::{HotPart, LeftToBatch, Prepared, Reserved};
use crate::accounts::entity::{membership, user};
use crate::infra::error::AppResult;
use crate::infra::ids::{LiveSessionItemId, OrderId, UserId, VariantId};
use crate::infra::money::Fen;
use crate::livestream::attribution;
use crate::livestream::quota::{self, BuyersLimit};
use crate::orders::PaymentMethod;
use crate::orders::entity::{order, order_line};
use crate::orders::service::holds::{self, Held};
use crate::orders::service::notices;
use crate::payments::service as payments;
use crate::shop::{Effect, Shop};

/// An order of a batch: its place in the batch, and the order.
pub(super) type InBatch = (usize, Prepared);

/// The batch's buyers' rows and current memberships, taken at its start.
pub(super) struct Buyers {
    pub rows: HashMap<UserId, user::Model>,
    pub memberships: HashMap<UserId, membership::Model>,
}

/// Writes together what of `orders` (one line each, in arrival order) can be: answers the
/// placed ones with their place in the batch, and leaves the others, in their order.
pub(super) async fn write_together(
    txn: &DatabaseTransaction,
    shop: &Shop,
    orders: Vec<InBatch>,
    buyers: &Buyers,
) -> AppResult<(Vec<(usize, Reserved)>, Vec<InBatch>)> {
    let (candidates, mut alone): (Vec<InBatch>, Vec<InBatch>) = orders
        .into_iter()
        .partition(|(_, prepared)| checked_before(prepared, buyers));
    let (accepted, refused) = check(txn, shop, candidates).await?;
    alone.extend(refused);
    let rows = accepted.iter().map(|(_, prepared)| {
        let organisation = buyers
            .memberships
            .get(&prepared.buyer_id)
            .and_then(|membership| membership.organisation_id);
        // No allowance pays any of it (those are written alone).
        order_row(prepared, organisation, Fen::ZERO)
    });
    let key_taken = OnConflict::columns([order::Column::BuyerId, order::Column::IdempotencyKey])
        .do_nothing()
        .to_owned();
    let mut inserted: HashMap<(UserId, String), order::Model> = order::Entity::insert_many(rows)
        .on_conflict(key_taken)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|order| ((order.buyer_id, order.idempotency_key.clone()), order))
        .collect();
    let mut placed = Vec::with_capacity(accepted.len());
    for (index, prepared) in accepted {
        match inserted.remove(&(prepared.buyer_id, prepared.idempotency_key.clone())) {
            Some(order) => placed.push((index, prepared, order)),
            // Placed meanwhile by another replica: answered alone with the order that holds it.
            None => alone.push((index, prepared)),
        }
    }
    alone.sort_by_key(|(index, _)| *index);
    write_rows(txn, shop, &placed).await?;
    let reserved = placed
        .into_iter()
        .map(|(index, prepared, order)| (index, reserved(shop, &prepared, order, buyers)))
        .collect();
    Ok((reserved, alone))
}

/// Whether everything that could refuse `prepared` can be checked before it is written.
fn checked_before(prepared: &Prepared, buyers: &Buyers) -> bool {
    prepared.payment_method != PaymentMethod::WelfareAllowance
        && !prepared.from_cart
        && prepared.pickup_store.is_none()
        && prepared.lines.len() == 1
        && buyers.rows.contains_key(&prepared.buyer_id)
}

/// Splits `candidates` into those within their buyers' limits (what each buyer holds unpaid,
/// and of a live session's item) and those that would be refused, each counting the ones
/// before it.
async fn check(
    txn: &DatabaseTransaction,
    shop: &Shop,
    candidates: Vec<InBatch>,
) -> AppResult<(Vec<InBatch>, Vec<InBatch>)> {
    let ordered: Vec<(UserId, VariantId)> = candidates
        .iter()
        .map(|(_, prepared)| (prepared.buyer_id, prepared.lines[0].variant.id))
        .collect();
    let mut buyer_ids: Vec<UserId> = ordered.iter().map(|(buyer, _)| *buyer).collect();
    buyer_ids.sort_unstable();
    buyer_ids.dedup();
    // The earliest of the orders' times: a hold that ends between them counts (stricter).
    let Some(now) = candidates.iter().map(|(_, prepared)| prepared.now).min() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut held = holds::held_by(txn, &ordered, now).await?;
    let mut session_limits: HashMap<LiveSessionItemId, Option<BuyersLimit>> = HashMap::new();
    for item in candidates.iter().filter_map(|(_, prepared)| item_of(prepared)) {
        if let std::collections::hash_map::Entry::Vacant(e) = session_limits.entry(item) {
            e.insert(quota::buyers_limit(txn, item, &buyer_ids).await?);
        }
    }
    let limits = shop.settings.order_limits;
    Ok(candidates.into_iter().partition(|(_, prepared)| {
        let (variant, quantity) = (prepared.lines[0].variant.id, prepared.lines[0].quantity);
        let of_buyer: &mut Held = held.entry(prepared.buyer_id).or_default();
        let within = of_buyer.allows(limits, variant, quantity)
            && match item_of(prepared) {
                None => true,
                Some(item) => session_limits
                    .get_mut(&item)
                    .and_then(Option::as_mut)
                    .is_some_and(|limit| limit.take(prepared.buyer_id, quantity)),
            };
        if within {
            of_buyer.add(variant, quantity);
        }
        within
    }))
}

/// The placed orders' lines, their attributions and their live-session purchases, one
/// statement each.
async fn write_rows(
    txn: &DatabaseTransaction,
    shop: &Shop,
    placed: &[(usize, Prepared, order::Model)],
) -> AppResult<()> {
    let lines = placed
        .iter()
        .flat_map(|(_, prepared, order)| line_rows(shop, order.id, &prepared.lines));
    let lines = order_line::Entity::insert_many(lines).exec_with_returning(txn).await?;
    let of_order: HashMap<OrderId, &Prepared> =
        placed.iter().map(|(_, prepared, order)| (order.id, prepared)).collect();
    let credited = lines.iter().filter_map(|line| {
        let prepared = of_order.get(&line.order_id)?;
        Some((line, prepared.referral.as_ref()?, prepared.now))
    });
    attribution::attribute_lines(txn, credited).await?;
    let purchases = placed.iter().filter_map(|(_, prepared, order)| {
        let item = item_of(prepared)?;
        Some((
            item,
            prepared.buyer_id,
            order.id,
            prepared.lines[0].quantity,
            prepared.now,
        ))
    });
    quota::record_purchases(txn, purchases).await
}

/// A placed order's answer, with what it leaves its batch: its units of the hot row (its session
/// item's quota, or its variant's stock), its parcels, its payment row and its buyer's mail.
fn reserved(shop: &Shop, prepared: &Prepared, order: order::Model, buyers: &Buyers) -> Reserved {
    let (variant, quantity) = (prepared.lines[0].variant.id, prepared.lines[0].quantity);
    let (hot, moved) = match item_of(prepared) {
        Some(item) => (HotPart::Quota { item, units: quantity }, (vec![], vec![variant])),
        None => {
            let units = i64::from(quantity);
            let buyer = prepared.buyer_id;
            (HotPart::Stock { variant, units, buyer }, (vec![variant], vec![]))
        }
    };
    let left_to_batch = LeftToBatch {
        hot: Some(hot),
        shipments: parcel_rows(order.id, &prepared.shipping),
        payment: payments::opening(shop, &order),
        mail: buyers
            .rows
            .get(&prepared.buyer_id)
            .map(|buyer| notices::placed(&order, buyer)),
    };
    Reserved {
        order,
        availability_changed: false,
        variant_ids: moved.0,
        quota_variant_ids: moved.1,
        figures: Vec::new(),
        paid: Effect::default(),
        payment: None,
        left_to_batch,
    }
}

/// The live session item the order's one line buys from, if any.
fn item_of(prepared: &Prepared) -> Option<LiveSessionItemId> {
    prepared.session.item_of(prepared.lines[0].variant.id)
}
