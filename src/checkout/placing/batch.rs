//! Hot variants beyond one row's lock (issue 29; the design and its failure modes are in
//! docs/orders-and-payments.md). On PostgreSQL, an order of one line waits in its variant's
//! lane; whoever gets a turn at the lane writes everyone waiting (up to `MAX_BATCH`) in one
//! transaction, and one commit answers them all. No timer: a buyer alone is a batch of one;
//! under load batches grow by themselves. The batch takes its buyers' rows first, in id order,
//! and reads their memberships once. Orders whose checks can all be made before they are
//! written go together, one multi-row statement for each kind of row (`together`); the others
//! are written one by one, each in a savepoint of its own (all of it or none, exactly as alone).
//!
//! The hot row (the variant's stock, or its live session item's quota) is taken once, at the
//! batch's end, for all its orders: so a batch holds the row only for its last statement and
//! its commit, and `SHARDS` batches of one variant write at once, each waiting for the row only
//! there. A variant has a lane per shard of its buyers: two batches written at once never share
//! a buyer, whose row each batch locks from its start to its commit. When the row cannot give a
//! batch its units at once (the last units of a flash sale), nothing of that batch stands, and
//! it is written again taking the row order by order, as a single order does, so each buyer
//! gets exactly the answer it would have got alone.

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

/// A variant's lanes, each for a shard of its buyers (by id), each writing one batch at a time:
/// batches of one variant wait for each other only at the hot row, at their ends, so while one
/// commits another is writing its orders. (With two batches of one lane at once, measured
/// 2026-12-06, the second waited for the first's commit at its first statement, on the buyers
/// they shared.)
const SHARDS: i64 = 2;

type Answer = oneshot::Sender<AppResult<Result<Reserved, UserError>>>;

/// What waits in a lane (`infra::lanes`).
type Waiting = (Prepared, Answer);

/// The variant whose lane `prepared` waits in: an order of one online line, on PostgreSQL
/// (SQLite writes one transaction at a time, batched or not).
pub(super) fn lane_of(shop: &Shop, prepared: &Prepared) -> Option<VariantId> {
    let single = prepared.lines.len() == 1 && prepared.pickup_store.is_none();
    (single && shop.db.get_database_backend() == DatabaseBackend::Postgres).then(|| prepared.lines[0].variant.id)
}

/// Places `prepared` through its buyer's lane of `variant`; answered once the batch it was
/// written in has committed (or failed).
pub(super) async fn place(shop: &Shop, variant: VariantId, prepared: Prepared) -> Outcome<Reserved> {
    let shard = prepared.buyer_id.0.rem_euclid(SHARDS);
    let lane = shop.placing_lanes.lane((variant.0, shard))?;
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

/// Writes `batch`, its hot row taken at the end, or, when the row is short for all of it at
/// once, order by order; answers each order with its own outcome.
async fn write_batch(shop: &Shop, batch: Vec<Waiting>) {
    shop.placing_lanes.count(batch.len());
    metrics::histogram!("huakai_placing_batch_orders").record(batch.len() as f64);
    let (prepared, answers): (Vec<Prepared>, Vec<Answer>) = batch.into_iter().unzip();
    let outcomes = match write_all(shop, prepared.clone(), Hot::AtTheEnd).await {
        Some(outcomes) => outcomes,
        None => match write_all(shop, prepared, Hot::EachOrder).await {
            Some(outcomes) => outcomes,
            None => answers.iter().map(|_| Err(unanswered())).collect(),
        },
    };
    for (outcome, answer) in outcomes.into_iter().zip(answers) {
        let _ = answer.send(outcome);
    }
}

/// One transaction for `batch`: its buyers' rows, each order in its savepoint, with
/// `Hot::AtTheEnd` the hot row once for all, one commit; each order's outcome, in the batch's
/// order. When the transaction itself fails, the orders it placed come to that error (nothing
/// of them stands: the same keys retry safely), and refusals stand as they were. `None`: the
/// hot row could not give the batch its units at once, and nothing of it stands.
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
/// `false` when a row is short for all of it.
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
    for (item, units) in quotas {
        if !quota::take(txn, item, units).await? {
            return Ok(false);
        }
    }
    for (variant, orders) in stock {
        let Moved::Done {
            availability_flipped,
            figure,
        } = inventory::reserve_for_orders(txn, variant, &orders).await?
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
