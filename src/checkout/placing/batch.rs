//! Orders of one line written in batches (issue 29; the design and its failure modes are in
//! docs/orders-and-payments.md). On PostgreSQL, an order of one line waits in its buyer's lane
//! (a shard of the buyers, by id, whatever the variant); whoever gets a turn at the lane writes
//! everyone waiting (up to `MAX_BATCH`) in one transaction, and one commit answers them all. No
//! timer: a buyer alone is a batch of one; under load batches grow by themselves. The batch
//! takes its buyers' rows first, in id order, and reads their memberships once. Orders whose
//! checks can all be made before they are written go together, one multi-row statement for
//! each kind of row (`together`); the others are written one by one, each in a savepoint of its
//! own (all of it or none, exactly as alone).
//!
//! The hot rows (each variant's stock, or its live session item's quota) are taken once per
//! row, at the batch's end, in one order (quotas, then stock, each by id): so a batch holds a
//! row only for its last statements and its commit, and the lanes' batches, written at once,
//! wait for each other only there. Two batches written at once never share a buyer, whose row
//! each batch locks from its start to its commit. When a row cannot give a batch its units at
//! once (the last units of a flash sale), or a batch of several rows meets a writer that takes
//! them in another order (a deadlock), nothing of that batch stands: each variant's orders are
//! written again as a batch of their own, and a variant's whose row is short for them, order by
//! order, as a single order does, so each buyer gets exactly the answer it would have got alone.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::LockType;
use sea_orm::{ColumnTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::together::{Buyers, InBatch, write_together};
use super::{Hot, HotPart, Prepared, Reserved, Taken, write};
use crate::accounts::entity::user;
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::ids::{LiveSessionItemId, OrderId, UserId, VariantId};
use crate::infra::lanes::LaneKey;
use crate::infra::mail;
use crate::inventory::{self, Moved};
use crate::livestream::quota;
use crate::orders::entity::{order, shipment};
use crate::organisations::current_memberships;
use crate::payments::entity::payment;
use crate::payments::service as payments;
use crate::shop::Shop;

/// The most orders one transaction writes.
const MAX_BATCH: usize = 64;

/// The lanes, each for a shard of the buyers (by id), each writing one batch at a time: batches
/// wait for each other only at the hot rows, at their ends, so while one commits another is
/// writing its orders. (With two batches of one lane at once, measured 2026-12-06, the second
/// waited for the first's commit at its first statement, on the buyers they shared.)
const SHARDS: i64 = 2;

type Answer = oneshot::Sender<AppResult<Result<Reserved, UserError>>>;

/// What waits in a lane (`infra::lanes`).
type Waiting = (Prepared, Answer);

/// The lane `prepared` waits in, its buyer's shard: an order of one online line, on PostgreSQL
/// (SQLite writes one transaction at a time, batched or not).
pub(super) fn lane_of(shop: &Shop, prepared: &Prepared) -> Option<LaneKey> {
    let single = prepared.lines.len() == 1 && prepared.pickup_store.is_none();
    (single && shop.db.get_database_backend() == DatabaseBackend::Postgres)
        .then(|| prepared.buyer_id.0.rem_euclid(SHARDS))
}

/// Places `prepared` through the lane `shard`; answered once the batch it was written in has
/// committed (or failed).
pub(super) async fn place(shop: &Shop, shard: LaneKey, prepared: Prepared) -> Outcome<Reserved> {
    let lane = shop.placing_lanes.lane(shard)?;
    let (answer, mut answered) = oneshot::channel();
    let waiting: Waiting = (prepared, answer);
    lane.push(Box::new(waiting))?;
    loop {
        // Answered while waiting for a turn (another turn wrote it), it leaves the turns' queue
        // at once: the next batch's writer does not wait for a line of answered buyers.
        let writing = tokio::select! {
            biased;
            outcome = &mut answered => return outcome.map_err(|_| unanswered())?,
            turn = lane.turn() => turn?,
        };
        if let Some(outcome) = taken(&mut answered)? {
            return outcome;
        }
        // Only this file puts jobs in the placing lanes: each is a `Waiting`.
        let batch: Vec<Waiting> = lane
            .take(MAX_BATCH)?
            .into_iter()
            .filter_map(|job| job.downcast::<Waiting>().ok().map(|waiting| *waiting))
            .collect();
        if batch.is_empty() {
            // This one is in a batch another turn is writing: its answer comes from there.
            drop(writing);
            return answered.await.map_err(|_| unanswered())?;
        }
        // A task of its own, holding the turn: a buyer who leaves does not cut the batch short.
        let shop = shop.clone();
        let _ = tokio::spawn(async move {
            write_batch(&shop, batch).await;
            drop(writing);
        })
        .await;
        if let Some(outcome) = taken(&mut answered)? {
            return outcome;
        }
    }
}

/// The order's answer, if it has come.
fn taken(
    answered: &mut oneshot::Receiver<AppResult<Result<Reserved, UserError>>>,
) -> AppResult<Option<Outcome<Reserved>>> {
    match answered.try_recv() {
        Ok(outcome) => Ok(Some(outcome)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(TryRecvError::Closed) => Err(unanswered()),
    }
}

fn unanswered() -> AppError {
    AppError::Internal(anyhow::anyhow!("a placing batch ended unanswered"))
}

/// Writes `batch`, its hot rows taken at the end; when that cannot stand, each variant's orders
/// as a batch of their own, and a variant's whose row is short for them, order by order.
/// Answers each order with its own outcome.
async fn write_batch(shop: &Shop, batch: Vec<Waiting>) {
    shop.placing_lanes.count(batch.len());
    metrics::histogram!("huakai_placing_batch_orders").record(batch.len() as f64);
    let (prepared, answers): (Vec<Prepared>, Vec<Answer>) = batch.into_iter().unzip();
    let outcomes = match write_all(shop, prepared.clone(), Hot::AtTheEnd).await {
        Some(outcomes) => outcomes,
        None => write_in_parts(shop, &prepared).await,
    };
    for (outcome, answer) in outcomes.into_iter().zip(answers) {
        let _ = answer.send(outcome);
    }
}

/// Writes each variant's orders of `batch` as a batch of their own (one hot row each), and a
/// variant's whose row is short for them, order by order; the outcomes in `batch`'s order.
async fn write_in_parts(shop: &Shop, batch: &[Prepared]) -> Vec<Outcome<Reserved>> {
    let parts = by_variant(batch);
    let several = parts.len() > 1;
    let mut outcomes: Vec<Option<Outcome<Reserved>>> = batch.iter().map(|_| None).collect();
    for part in parts {
        let orders: Vec<Prepared> = part.iter().map(|&index| batch[index].clone()).collect();
        // A batch of one variant came here for its row: it is short for them all.
        let whole = if several {
            write_all(shop, orders.clone(), Hot::AtTheEnd).await
        } else {
            None
        };
        let written = match whole {
            Some(written) => Some(written),
            None => write_all(shop, orders, Hot::EachOrder).await,
        };
        for (index, outcome) in part.into_iter().zip(written.into_iter().flatten()) {
            outcomes[index] = Some(outcome);
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(unanswered())))
        .collect()
}

/// The places of `batch`'s orders, by the variant of their line, in the order the variants
/// first came.
fn by_variant(batch: &[Prepared]) -> Vec<Vec<usize>> {
    let mut parts: Vec<(VariantId, Vec<usize>)> = Vec::new();
    for (index, prepared) in batch.iter().enumerate() {
        let variant = prepared.lines[0].variant.id;
        match parts.iter_mut().find(|(of, _)| *of == variant) {
            Some((_, part)) => part.push(index),
            None => parts.push((variant, vec![index])),
        }
    }
    parts.into_iter().map(|(_, part)| part).collect()
}

/// One transaction for `batch`: its buyers' rows, each order in its savepoint, with
/// `Hot::AtTheEnd` the hot rows once each for all, one commit; each order's outcome, in the
/// batch's order. When the transaction itself fails, the orders it placed come to that error
/// (nothing of them stands: the same keys retry safely), and refusals stand as they were.
/// `None`: nothing of it stands, and it is to be written again in parts (`take_hot_rows`).
async fn write_all(shop: &Shop, batch: Vec<Prepared>, hot: Hot) -> Option<Vec<Outcome<Reserved>>> {
    let count = batch.len();
    let failed = |error: AppError| {
        let error = error.to_string();
        Some(
            (0..count)
                .map(|_| Err(internal(&format!("placing batch failed: {error}"))))
                .collect(),
        )
    };
    let txn = match begin_write(&shop.db).await {
        Ok(txn) => txn,
        Err(error) => return failed(error.into()),
    };
    let buyers = match take_buyers(&txn, batch.iter().map(|prepared| prepared.buyer_id)).await {
        Ok(taken) => taken,
        Err(error) => return failed(error),
    };
    // A key twice in one batch: the second is the first's order, found again after the commit.
    let mut first_of: HashMap<(UserId, String), usize> = HashMap::new();
    let mut written: Vec<(usize, Written)> = Vec::with_capacity(count);
    let mut firsts: Vec<InBatch> = Vec::with_capacity(count);
    for (index, prepared) in batch.into_iter().enumerate() {
        let key = (prepared.buyer_id, prepared.idempotency_key.clone());
        match first_of.get(&key) {
            Some(first) => written.push((index, Written::Again(*first))),
            None => {
                first_of.insert(key, index);
                firsts.push((index, prepared));
            }
        }
    }
    // Taking the hot row at the end, the orders that can be checked before they are written go
    // together; the others, and all when the hot row is taken order by order, one by one.
    let alone = match hot {
        Hot::AtTheEnd => match write_together(&txn, shop, firsts, &buyers).await {
            Ok((placed, alone)) => {
                written.extend(
                    placed
                        .into_iter()
                        .map(|(index, reserved)| (index, own(Ok(Ok(reserved))))),
                );
                alone
            }
            Err(error) => {
                let _ = txn.rollback().await;
                return failed(error);
            }
        },
        Hot::EachOrder => firsts,
    };
    for (index, prepared) in alone {
        let buyer = Taken::Before {
            buyer: buyers.rows.get(&prepared.buyer_id).cloned().map(Box::new),
            membership: buyers.memberships.get(&prepared.buyer_id).cloned(),
        };
        written.push((index, own(write(&txn, shop, prepared, buyer, hot).await)));
    }
    written.sort_by_key(|(index, _)| *index);
    let mut outcomes: Vec<Written> = written.into_iter().map(|(_, written)| written).collect();
    let taken = match write_later(&txn, &mut outcomes).await {
        Ok(()) => take_hot_rows(&txn, &mut outcomes).await,
        Err(error) => Err(error),
    };
    let committed = match taken {
        Ok(true) => txn.commit().await.map_err(|error| error.to_string()),
        Ok(false) => {
            let _ = txn.rollback().await;
            return None;
        }
        Err(error) => {
            let _ = txn.rollback().await;
            Err(error.to_string())
        }
    };
    // What a repeated key is answered: its first order's, found again, or the same refusal.
    let firsts: Vec<Option<Result<order::Model, UserError>>> = outcomes
        .iter()
        .map(|written| match written {
            Written::Own(outcome) => match outcome.as_ref() {
                Ok(Ok(reserved)) => Some(Ok(reserved.order.clone())),
                Ok(Err(refused)) => Some(Err(refused.clone())),
                Err(_) => None,
            },
            Written::Again(_) => None,
        })
        .collect();
    Some(
        outcomes
            .into_iter()
            .map(|written| match (written, &committed) {
                (Written::Own(outcome), _) if matches!(*outcome, Ok(Err(_))) => *outcome,
                (_, Err(error)) => Err(internal(&format!("the batch did not commit: {error}"))),
                (Written::Own(outcome), Ok(())) => *outcome,
                (Written::Again(first), Ok(())) => match &firsts[first] {
                    Some(Ok(order)) => Ok(Ok(Reserved::found_again(order.clone()))),
                    Some(Err(refused)) => Ok(Err(refused.clone())),
                    None => Err(internal("the first order of a repeated key failed")),
                },
            })
            .collect(),
    )
}

fn internal(what: &str) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what}"))
}

fn own(outcome: Outcome<Reserved>) -> Written {
    Written::Own(Box::new(outcome))
}

/// What writing an order of a batch came to.
enum Written {
    Own(Box<Outcome<Reserved>>),
    /// The same buyer's key as the batch's order at this index.
    Again(usize),
}

/// Writes what the batch's placed orders left it (`Reserved::left_to_batch`): their shipments,
/// payment rows and mails, one statement each; each order is answered with its payment row.
async fn write_later(txn: &DatabaseTransaction, outcomes: &mut [Written]) -> AppResult<()> {
    let (mut shipments, mut rows, mut mails) = (Vec::new(), Vec::new(), Vec::new());
    for reserved in placed(outcomes) {
        let left = &mut reserved.left_to_batch;
        shipments.append(&mut left.shipments);
        rows.extend(left.payment.take());
        mails.extend(left.mail.take());
    }
    if !shipments.is_empty() {
        shipment::Entity::insert_many(shipments)
            .exec_without_returning(txn)
            .await?;
    }
    let mut opened: HashMap<OrderId, payment::Model> = payments::open_all(txn, rows)
        .await?
        .into_iter()
        .map(|row| (row.order_id, row))
        .collect();
    mail::enqueue_all(txn, &mails).await?;
    for reserved in placed(outcomes) {
        if let Some(row) = opened.remove(&reserved.order.id) {
            reserved.payment = Some(row);
        }
    }
    Ok(())
}

/// The orders of a batch that were placed (not refused, not a repeated key).
fn placed(outcomes: &mut [Written]) -> impl Iterator<Item = &mut Reserved> {
    outcomes.iter_mut().filter_map(|written| match written {
        Written::Own(outcome) => match outcome.as_mut() {
            Ok(Ok(reserved)) => Some(reserved),
            _ => None,
        },
        Written::Again(_) => None,
    })
}

/// Takes from the hot rows what the batch's placed orders left them (`LeftToBatch::hot`): each
/// live session item's quota, then each variant's stock (the order a single order takes them
/// in), one statement each; the stock's figure goes to its orders, for the storefront's mirror.
/// `false` when a row is short for all of it, or when, taking several rows, one could not be
/// taken: a writer that takes rows in another order (expiring orders, say) deadlocked with the
/// batch, which one variant's orders at a time cannot.
async fn take_hot_rows(txn: &DatabaseTransaction, outcomes: &mut [Written]) -> AppResult<bool> {
    let mut quotas: BTreeMap<LiveSessionItemId, i64> = BTreeMap::new();
    let mut stock: BTreeMap<VariantId, Vec<(OrderId, i64, UserId)>> = BTreeMap::new();
    for reserved in placed(outcomes) {
        match reserved.left_to_batch.hot {
            Some(HotPart::Quota { item, units }) => *quotas.entry(item).or_default() += i64::from(units),
            Some(HotPart::Stock { variant, units, buyer }) => {
                stock
                    .entry(variant)
                    .or_default()
                    .push((reserved.order.id, units, buyer))
            }
            None => {}
        }
    }
    let several = quotas.len() + stock.len() > 1;
    for (item, units) in quotas {
        if or_in_parts(quota::take(txn, item, units).await, several)? != Some(true) {
            return Ok(false);
        }
    }
    for (variant, orders) in stock {
        let Some(Moved::Done {
            availability_flipped,
            figure,
        }) = or_in_parts(inventory::reserve_for_orders(txn, variant, &orders).await, several)?
        else {
            return Ok(false);
        };
        for reserved in placed(outcomes) {
            if matches!(reserved.left_to_batch.hot, Some(HotPart::Stock { variant: of, .. }) if of == variant) {
                reserved.availability_changed = availability_flipped;
                reserved.figures = figure.map(|figure| vec![(variant, figure)]).unwrap_or_default();
            }
        }
    }
    Ok(true)
}

/// A hot row's taking, or, when it failed taking one of `several` rows, `None`: the batch is
/// written again in parts.
fn or_in_parts<T>(taken: AppResult<T>, several: bool) -> AppResult<Option<T>> {
    match taken {
        Ok(taken) => Ok(Some(taken)),
        Err(error) if several => {
            tracing::warn!(%error, "a batch could not take its hot rows: written again in parts");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Takes the batch's buyers' rows, in id order, in one statement, and answers them with their
/// current memberships (read once they are taken, as a single order reads its buyer's).
async fn take_buyers(txn: &DatabaseTransaction, buyers: impl Iterator<Item = UserId>) -> AppResult<Buyers> {
    let mut ids: Vec<UserId> = buyers.collect();
    ids.sort_unstable();
    ids.dedup();
    // `FOR NO KEY UPDATE`, as the single order's update of the row takes: rows are locked as
    // the ordered scan returns them, and other rows' foreign keys to a buyer still go through.
    let taken = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(user::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .all(txn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(Buyers {
        rows: taken,
        memberships: current_memberships(txn, &ids).await?,
    })
}
