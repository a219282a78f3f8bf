//! Hot variants beyond one row's lock (issue 29; the design and its failure modes are in
//! docs/orders-and-payments.md). On PostgreSQL, an order of one line waits in its variant's
//! lane; whoever finds the lane free writes everyone waiting (up to `MAX_BATCH`) in one
//! transaction, each order in a savepoint of its own (all of it or none, exactly as alone),
//! and one commit answers them all: N orders cost one WAL flush and one hand-over of the
//! variant's row. No timer: a buyer alone is a batch of one; under load batches grow by
//! themselves. The batch takes its buyers' rows first, in id order, before any stock row, so
//! the lock order every placing keeps (buyers, then stock in variant order) holds; it reads
//! their memberships once, and each order writes what it alone decides.

use std::collections::HashMap;

use sea_orm::sea_query::LockType;
use sea_orm::{ColumnTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::{Prepared, Reserved, Taken, write};
use crate::accounts::entity::{membership, user};
use crate::infra::db::begin_write;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::ids::{UserId, VariantId};
use crate::orders::entity::order;
use crate::organisations::current_memberships;
use crate::shop::Shop;

/// The most orders one transaction writes (it holds its variant's row for all of them).
const MAX_BATCH: usize = 64;

type Answer = oneshot::Sender<AppResult<Result<Reserved, UserError>>>;

/// What waits in a variant's lane (`infra::lanes`).
type Waiting = (Prepared, Answer);

/// The variant whose lane `prepared` waits in: an order of one online line, on PostgreSQL
/// (SQLite writes one transaction at a time, batched or not).
pub(super) fn lane_of(shop: &Shop, prepared: &Prepared) -> Option<VariantId> {
    let single = prepared.lines.len() == 1 && prepared.pickup_store.is_none();
    (single && shop.db.get_database_backend() == DatabaseBackend::Postgres).then(|| prepared.lines[0].variant.id)
}

/// Places `prepared` through `variant`'s lane; answered once the batch it was written in has
/// committed (or failed).
pub(super) async fn place(shop: &Shop, variant: VariantId, prepared: Prepared) -> Outcome<Reserved> {
    let lane = shop.placing_lanes.lane(variant.0)?;
    let (answer, mut answered) = oneshot::channel();
    let waiting: Waiting = (prepared, answer);
    lane.push(Box::new(waiting))?;
    loop {
        let writing = lane.turn().await;
        // Written while this one waited for the lane: answered already.
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
            continue;
        }
        // A task of its own, holding the lane: a buyer who leaves does not cut the batch short.
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
        Err(TryRecvError::Closed) => Err(AppError::Internal(anyhow::anyhow!("a placing batch ended unanswered"))),
    }
}

/// One transaction for `batch`: its buyers' rows, each order in its savepoint, one commit.
/// Each order is answered with its own outcome; when the transaction itself fails, the orders
/// it placed are answered with that error (nothing of them stands: the same keys retry
/// safely), and refusals stand as they were.
async fn write_batch(shop: &Shop, batch: Vec<Waiting>) {
    shop.placing_lanes.count(batch.len());
    metrics::histogram!("huakai_placing_batch_orders").record(batch.len() as f64);
    let txn = match begin_write(&shop.db).await {
        Ok(txn) => txn,
        Err(error) => return fail(batch, &error.into()),
    };
    let (buyers, memberships) = match take_buyers(&txn, batch.iter().map(|(prepared, _)| prepared.buyer_id)).await {
        Ok(taken) => taken,
        Err(error) => return fail(batch, &error),
    };
    // A key twice in one batch: the second is the first's order, found again after the commit.
    let mut first_of: HashMap<(UserId, String), usize> = HashMap::new();
    let mut outcomes: Vec<Written> = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    for (index, (prepared, answer)) in batch.into_iter().enumerate() {
        answers.push(answer);
        let key = (prepared.buyer_id, prepared.idempotency_key.clone());
        if let Some(first) = first_of.get(&key) {
            outcomes.push(Written::Again(*first));
            continue;
        }
        first_of.insert(key, index);
        let buyer = Taken::Before {
            buyer: buyers.get(&prepared.buyer_id).cloned().map(Box::new),
            membership: memberships.get(&prepared.buyer_id).cloned(),
        };
        outcomes.push(Written::Own(Box::new(write(&txn, shop, prepared, buyer).await)));
    }
    let committed = txn.commit().await;
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
    for (written, answer) in outcomes.into_iter().zip(answers) {
        let outcome = match (written, &committed) {
            (Written::Own(outcome), _) if matches!(*outcome, Ok(Err(_))) => *outcome,
            (_, Err(error)) => Err(AppError::Internal(anyhow::anyhow!("the batch did not commit: {error}"))),
            (Written::Own(outcome), Ok(())) => *outcome,
            (Written::Again(first), Ok(())) => match &firsts[first] {
                Some(Ok(order)) => Ok(Ok(Reserved::found_again(order.clone()))),
                Some(Err(refused)) => Ok(Err(refused.clone())),
                None => Err(AppError::Internal(anyhow::anyhow!(
                    "the first order of a repeated key failed"
                ))),
            },
        };
        let _ = answer.send(outcome);
    }
}

/// What writing an order of a batch came to.
enum Written {
    Own(Box<Outcome<Reserved>>),
    /// The same buyer's key as the batch's order at this index.
    Again(usize),
}

/// Takes the batch's buyers' rows, in id order, in one statement, and answers them with their
/// current memberships (read once they are taken, as a single order reads its buyer's).
async fn take_buyers(
    txn: &DatabaseTransaction,
    buyers: impl Iterator<Item = UserId>,
) -> AppResult<(HashMap<UserId, user::Model>, HashMap<UserId, membership::Model>)> {
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
    Ok((taken, current_memberships(txn, &ids).await?))
}

fn fail(batch: Vec<Waiting>, error: &AppError) {
    for (_, answer) in batch {
        let _ = answer.send(Err(AppError::Internal(anyhow::anyhow!(
            "placing batch failed: {error:?}"
        ))));
    }
}
