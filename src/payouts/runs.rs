//! Payout runs: each producer's available earnings (and each livestream host's available
//! commissions) claimed into one payout, a cooperative's household shares frozen with it, then
//! paid: by Stripe transfer to the payee's connected account (settled exactly once, whatever
//! Stripe answers) or by bank in batches that operators export and confirm line by line.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entity::payout::PayeeKind;
use super::entity::{earning, host_commission, payout, payout_batch};
use super::payees::payee_of;
use super::statements::freeze_shares;
use super::{PayoutMethod, PayoutStatus, payout_reference};
use crate::accounts::entity::user;
use crate::catalogue::entity::producer;
use crate::infra::csv::Cell;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Language;
use crate::infra::i18n::csv::Csv;
use crate::infra::ids::ProducerId;
use crate::infra::ids::UserId;
use crate::infra::ids::{PayoutBatchId, PayoutId};
use crate::infra::money::Fen;
use crate::payments::stripe::{CallError, StripeGateway};
use crate::shop::Shop;

/// Whose ledger a payout claims from: a producer's earnings or a host's commissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claimant {
    Producer(ProducerId),
    Host(UserId),
}

impl Claimant {
    /// The sum of the claimant's entries available as of `as_of` and in no payout.
    async fn claimable(self, db: &impl ConnectionTrait, as_of: DateTime<Utc>) -> AppResult<Fen> {
        let amounts: Vec<Fen> = match self {
            Claimant::Producer(producer_id) => {
                earning::Entity::find()
                    .select_only()
                    .column(earning::Column::AmountFen)
                    .filter(earning::Column::ProducerId.eq(producer_id))
                    .filter(earning::Column::PayoutId.is_null())
                    .filter(earning::Column::AvailableAt.lte(as_of))
                    .into_tuple()
                    .all(db)
                    .await?
            }
            Claimant::Host(host_id) => {
                host_commission::Entity::find()
                    .select_only()
                    .column(host_commission::Column::AmountFen)
                    .filter(host_commission::Column::HostId.eq(host_id))
                    .filter(host_commission::Column::PayoutId.is_null())
                    .filter(host_commission::Column::AvailableAt.lte(as_of))
                    .into_tuple()
                    .all(db)
                    .await?
            }
        };
        Ok(amounts.into_iter().sum())
    }

    /// Claims those entries for `payout_id` (a conditional update: `payout_id IS NULL`) and
    /// returns the sum of what it claimed.
    async fn claim(self, db: &impl ConnectionTrait, payout_id: PayoutId, as_of: DateTime<Utc>) -> AppResult<Fen> {
        Ok(match self {
            Claimant::Producer(producer_id) => earning::Entity::update_many()
                .col_expr(earning::Column::PayoutId, Expr::value(payout_id))
                .filter(earning::Column::ProducerId.eq(producer_id))
                .filter(earning::Column::PayoutId.is_null())
                .filter(earning::Column::AvailableAt.lte(as_of))
                .exec_with_returning(db)
                .await?
                .iter()
                .map(|e| e.amount_fen)
                .sum(),
            Claimant::Host(host_id) => host_commission::Entity::update_many()
                .col_expr(host_commission::Column::PayoutId, Expr::value(payout_id))
                .filter(host_commission::Column::HostId.eq(host_id))
                .filter(host_commission::Column::PayoutId.is_null())
                .filter(host_commission::Column::AvailableAt.lte(as_of))
                .exec_with_returning(db)
                .await?
                .iter()
                .map(|e| e.amount_fen)
                .sum(),
        })
    }
}

/// Every producer and host with entries available as of `as_of` and in no payout.
async fn claimants(db: &DatabaseConnection, as_of: DateTime<Utc>) -> AppResult<Vec<Claimant>> {
    let producers: Vec<ProducerId> = earning::Entity::find()
        .select_only()
        .column(earning::Column::ProducerId)
        .distinct()
        .filter(earning::Column::PayoutId.is_null())
        .filter(earning::Column::AvailableAt.lte(as_of))
        .into_tuple()
        .all(db)
        .await?;
    let hosts: Vec<UserId> = host_commission::Entity::find()
        .select_only()
        .column(host_commission::Column::HostId)
        .distinct()
        .filter(host_commission::Column::PayoutId.is_null())
        .filter(host_commission::Column::AvailableAt.lte(as_of))
        .into_tuple()
        .all(db)
        .await?;
    Ok(producers
        .into_iter()
        .map(Claimant::Producer)
        .chain(hosts.into_iter().map(Claimant::Host))
        .collect())
}

/// Records one payout per producer (its available earnings, with its household shares) and per
/// livestream host (its available commissions) as of `as_of`. Each entry is claimed by a
/// conditional update (`payout_id IS NULL`), so two runs racing, or a run repeated after dying
/// half-way, never put an entry in two payouts. A payee whose available sum is not positive is
/// left for a later run (refunds after a payout are deducted so). A payee with a Stripe
/// connected account (producer or host) is paid by transfer, any other by bank.
pub async fn record_payouts(
    db: &DatabaseConnection,
    as_of: DateTime<Utc>,
    stripe_enabled: bool,
) -> AppResult<Vec<payout::Model>> {
    let mut batch: Option<PayoutBatchId> = None;
    let mut recorded = Vec::new();
    for claimant in claimants(db, as_of).await? {
        let by_stripe = match claimant {
            Claimant::Producer(producer_id) => {
                let Some(producer) = producer::Entity::find_by_id(producer_id).one(db).await? else {
                    continue;
                };
                stripe_enabled && producer.stripe_account_id.is_some()
            }
            Claimant::Host(host_id) => {
                let Some(host) = user::Entity::find_by_id(host_id).one(db).await? else {
                    continue;
                };
                stripe_enabled && host.stripe_account_id.is_some()
            }
        };
        if !by_stripe && batch.is_none() {
            let created = payout_batch::ActiveModel {
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            batch = Some(created.id);
        }
        let batch_id = if by_stripe { None } else { batch };
        let txn = begin_write(db).await?;
        let expected = claimant.claimable(&txn, as_of).await?;
        if expected <= Fen::ZERO {
            txn.rollback().await?;
            continue;
        }
        let (payee_kind, producer_id, host_id) = match claimant {
            Claimant::Producer(producer_id) => (PayeeKind::Producer, Some(producer_id), None),
            Claimant::Host(host_id) => (PayeeKind::Host, None, Some(host_id)),
        };
        let row = payout::ActiveModel {
            producer_id: Set(producer_id),
            host_id: Set(host_id),
            payee_kind: Set(payee_kind),
            amount_fen: Set(expected),
            status: Set(PayoutStatus::Pending),
            method: Set(if by_stripe {
                PayoutMethod::StripeTransfer
            } else {
                PayoutMethod::Bank
            }),
            batch_id: Set(batch_id),
            stripe_transfer_id: Set(None),
            reference: Set(None),
            failure_reason: Set(None),
            created_at: Set(Utc::now()),
            paid_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let amount = claimant.claim(&txn, row.id, as_of).await?;
        if amount <= Fen::ZERO {
            // Another run claimed them first.
            txn.rollback().await?;
            continue;
        }
        let row = if amount == expected {
            row
        } else {
            let mut corrected = row.into_active_model();
            corrected.amount_fen = Set(amount);
            corrected.update(&txn).await?
        };
        freeze_shares(&txn, &row).await?;
        txn.commit().await?;
        recorded.push(row);
    }
    // A batch no payout went into (another run took the entries) is not kept.
    if let Some(batch_id) = batch
        && recorded.iter().all(|p| p.batch_id != Some(batch_id))
    {
        payout_batch::Entity::delete_by_id(batch_id).exec(db).await?;
    }
    Ok(recorded)
}

/// Pays every Stripe payout not yet settled, exactly once. A payout whose earlier call got no
/// definite answer is first looked up at Stripe (by its transfer group), so it is paid once
/// also after Stripe has forgotten the idempotency key; a call is then made under the payout's
/// own key. Only a definite refusal fails the payout and returns its earnings to `available`;
/// an unclear answer leaves it IN_TRANSIT for the next run or `huakai payments reconcile`.
pub async fn send_transfers(db: &DatabaseConnection, gateway: &StripeGateway) -> AppResult<Vec<payout::Model>> {
    send_transfers_reporting(db, gateway, |_| {}).await
}

/// As [`send_transfers`], telling `report` of each payout as soon as it is settled.
async fn send_transfers_reporting(
    db: &DatabaseConnection,
    gateway: &StripeGateway,
    mut report: impl FnMut(&payout::Model),
) -> AppResult<Vec<payout::Model>> {
    let waiting = payout::Entity::find()
        .filter(payout::Column::Method.eq(PayoutMethod::StripeTransfer))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending, PayoutStatus::InTransit]))
        .order_by_asc(payout::Column::Id)
        .all(db)
        .await?;
    let mut done = Vec::new();
    for row in waiting {
        match payee_of(db, &row).await?.stripe_account {
            Some(account) => settle_transfer(db, gateway, &row, &account).await?,
            None => settle_without_account(db, gateway, &row).await?,
        }
        if let Some(fresh) = payout::Entity::find_by_id(row.id).one(db).await? {
            report(&fresh);
            done.push(fresh);
        }
    }
    Ok(done)
}

async fn settle_transfer(
    db: &DatabaseConnection,
    gateway: &StripeGateway,
    row: &payout::Model,
    account: &str,
) -> AppResult<()> {
    if row.attempts > 0 {
        match gateway.find_transfer(row.id).await {
            Ok(Some(transfer)) => return mark_paid(db, row.id, transfer.id.as_str()).await,
            Ok(None) => {}
            Err(error) => return note_unknown(db, row.id, &error).await,
        }
    }
    // One caller at a time makes the call; the claim counts the attempt.
    let claimed = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::InTransit))
        .col_expr(payout::Column::Attempts, Expr::col(payout::Column::Attempts).add(1))
        .filter(payout::Column::Id.eq(row.id))
        .filter(payout::Column::Attempts.eq(row.attempts))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending, PayoutStatus::InTransit]))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    match gateway.transfer(row.id, account, row.amount_fen).await {
        Ok(transfer) => mark_paid(db, row.id, transfer.id.as_str()).await,
        Err(CallError::Refused(reason)) => {
            tracing::warn!(payout = row.id.0, %reason, "Stripe refused a payout transfer; its earnings are available again");
            fail_transfer(db, row.id, &reason).await
        }
        Err(error @ CallError::Unknown(_)) => note_unknown(db, row.id, &error).await,
    }
}

/// A transfer payout whose payee no longer has a connected account (removed since the payout
/// was recorded): one sent before is still found and kept; otherwise nothing can be sent, so
/// the payout fails and its money is the payee's again (paid by the next run, by bank).
async fn settle_without_account(
    db: &DatabaseConnection,
    gateway: &StripeGateway,
    row: &payout::Model,
) -> AppResult<()> {
    if row.attempts > 0 {
        match gateway.find_transfer(row.id).await {
            Ok(Some(transfer)) => return mark_paid(db, row.id, transfer.id.as_str()).await,
            Ok(None) => {}
            Err(error) => return note_unknown(db, row.id, &error).await,
        }
    }
    tracing::warn!(
        payout = row.id.0,
        "a payout's Stripe account was removed; its earnings are available again"
    );
    fail_transfer(db, row.id, "the payee's Stripe account was removed").await
}

/// Fails a transfer payout still pending or in transit and frees what it claimed (earnings,
/// commissions) in the same transaction, so they are paid by a later run.
async fn fail_transfer(db: &DatabaseConnection, payout_id: PayoutId, reason: &str) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let failed = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Failed))
        .col_expr(payout::Column::FailureReason, Expr::value(reason))
        .filter(payout::Column::Id.eq(payout_id))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending, PayoutStatus::InTransit]))
        .exec(&txn)
        .await?;
    if failed.rows_affected == 1 {
        earning::Entity::update_many()
            .col_expr(earning::Column::PayoutId, Expr::value(Option::<PayoutId>::None))
            .filter(earning::Column::PayoutId.eq(payout_id))
            .exec(&txn)
            .await?;
        host_commission::Entity::update_many()
            .col_expr(host_commission::Column::PayoutId, Expr::value(Option::<PayoutId>::None))
            .filter(host_commission::Column::PayoutId.eq(payout_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Stripe made the transfer: PAID, and its payee told, in one transaction.
async fn mark_paid(db: &DatabaseConnection, payout_id: PayoutId, transfer_id: &str) -> AppResult<()> {
    let txn = begin_write(db).await?;
    let paid = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Paid))
        .col_expr(payout::Column::StripeTransferId, Expr::value(transfer_id))
        .col_expr(payout::Column::PaidAt, Expr::value(Utc::now()))
        .col_expr(payout::Column::LastError, Expr::value(Option::<String>::None))
        .filter(payout::Column::Id.eq(payout_id))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending, PayoutStatus::InTransit]))
        .exec(&txn)
        .await?;
    if paid.rows_affected == 1 {
        tell_paid(&txn, payout_id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Inside the transaction that made the payout PAID.
async fn tell_paid(txn: &impl ConnectionTrait, payout_id: PayoutId) -> AppResult<payout::Model> {
    let payout = payout::Entity::find_by_id(payout_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payout {payout_id} vanished")))?;
    super::notices::payout_sent(txn, &payout).await?;
    Ok(payout)
}

async fn note_unknown(db: &impl ConnectionTrait, payout_id: PayoutId, error: &CallError) -> AppResult<()> {
    tracing::warn!(payout = payout_id.0, %error, "a payout's outcome at Stripe is unknown; the next run looks it up");
    metrics::counter!("huakai_payouts_unknown_total").increment(1);
    payout::Entity::update_many()
        .col_expr(payout::Column::LastError, Expr::value(error.to_string()))
        .filter(payout::Column::Id.eq(payout_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `runPayouts` / `huakai payouts run`: records the payouts, then pays the Stripe ones (also
/// those an earlier run left in flight).
pub async fn run(shop: &Shop, as_of: DateTime<Utc>) -> AppResult<Vec<payout::Model>> {
    run_reporting(shop, as_of, |_| {}).await
}

/// As [`run`], telling `report` of each payout as soon as this run is done with it: a bank
/// payout once recorded, a Stripe transfer once Stripe has answered (or its outcome is left
/// unknown), so an operator sees a long run progress.
pub async fn run_reporting(
    shop: &Shop,
    as_of: DateTime<Utc>,
    mut report: impl FnMut(&payout::Model),
) -> AppResult<Vec<payout::Model>> {
    let recorded = record_payouts(&shop.db, as_of, shop.stripe().is_some()).await?;
    let mut reported = HashSet::new();
    for payout in &recorded {
        if payout.method != PayoutMethod::StripeTransfer {
            report(payout);
            reported.insert(payout.id);
        }
    }
    let mut by_id: HashMap<PayoutId, payout::Model> = recorded.into_iter().map(|p| (p.id, p)).collect();
    if let Some(gateway) = shop.stripe() {
        let sent = send_transfers_reporting(&shop.db, gateway, |paid| {
            report(paid);
            reported.insert(paid.id);
        })
        .await?;
        for paid in sent {
            by_id.insert(paid.id, paid);
        }
    }
    let mut all: Vec<payout::Model> = by_id.into_values().collect();
    all.sort_by_key(|p| p.id);
    for payout in all.iter().filter(|payout| !reported.contains(&payout.id)) {
        report(payout);
    }
    Ok(all)
}

/// `confirmPayout`: the bank paid this line of a batch.
pub async fn confirm(db: &DatabaseConnection, payout_id: PayoutId, reference: &str) -> Outcome<payout::Model> {
    let reference = match crate::infra::text::bank_reference(reference) {
        Ok(reference) => reference,
        Err(problem) => return Ok(Err(problem)),
    };
    if payout::Entity::find_by_id(payout_id).one(db).await?.is_none() {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "payout-not-found").on_field(&["payoutId"])
        ));
    }
    let txn = begin_write(db).await?;
    let updated = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Paid))
        .col_expr(payout::Column::Reference, Expr::value(reference))
        .col_expr(payout::Column::PaidAt, Expr::value(Utc::now()))
        .filter(payout::Column::Id.eq(payout_id))
        .filter(payout::Column::Method.eq(PayoutMethod::Bank))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending, PayoutStatus::InTransit]))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return end_write(
            txn,
            Err(UserError::new(ErrorCode::NotConfirmable, "confirm-only-unpaid-bank-payout").on_field(&["payoutId"])),
        )
        .await;
    }
    let paid = tell_paid(&txn, payout_id).await?;
    end_write(txn, Ok(paid)).await
}

/// `huakai payouts export BATCH_ID`: the bank file (payee, account, amount in yuan, reference).
/// Exported payouts are IN_TRANSIT until confirmed. `None` when there is no such batch.
pub async fn export_batch(
    db: &DatabaseConnection,
    batch_id: PayoutBatchId,
    language: Language,
) -> AppResult<Option<String>> {
    if payout_batch::Entity::find_by_id(batch_id).one(db).await?.is_none() {
        return Ok(None);
    }
    let rows = payout::Entity::find()
        .filter(payout::Column::BatchId.eq(batch_id))
        .order_by_asc(payout::Column::Id)
        .all(db)
        .await?;
    let mut csv = Csv::new(language, &["csv-payee", "csv-account", "csv-amount", "csv-reference"]);
    for row in &rows {
        let payee = payee_of(db, row).await?;
        csv.cells(&[
            Cell::Text(payee.bank_account_name.unwrap_or(payee.name)),
            Cell::Digits(payee.bank_account_number.unwrap_or_default()),
            Cell::Text(row.amount_fen.to_string()),
            Cell::Text(payout_reference(row.id)),
        ]);
    }
    payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::InTransit))
        .filter(payout::Column::BatchId.eq(batch_id))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending))
        .exec(db)
        .await?;
    Ok(Some(csv.finish()))
}
