//! Balances, payout runs, bank batches, confirmations and statements.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::entity::{cooperative_member, earning, payout, payout_batch};
use super::{METHOD_BANK, METHOD_STRIPE, PayoutStatus, divide};
use crate::app::db::begin_write;
use crate::catalogue::entity::producer;
use crate::error::{AppError, AppResult, UserError};
use crate::graphql::relay::PageRequest;
use crate::money::Fen;
use crate::orders::entity::order;
use crate::payments::stripe::StripeGateway;

pub type Outcome<T> = AppResult<Result<T, UserError>>;

/// A producer's money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Earned, still within the hold after delivery.
    pub pending: Fen,
    /// Past the hold and in no payout yet (negative when refunds outweigh new earnings: carried
    /// into the next payout).
    pub available: Fen,
    /// In a payout not yet paid.
    pub in_transit: Fen,
    /// In payouts that were paid.
    pub paid_out: Fen,
}

pub async fn balance(db: &DatabaseConnection, producer_id: i64, now: DateTime<Utc>) -> AppResult<Balance> {
    let entries = earning::Entity::find()
        .filter(earning::Column::ProducerId.eq(producer_id))
        .all(db)
        .await?;
    let payouts: HashMap<i64, String> = payout::Entity::find()
        .filter(payout::Column::ProducerId.eq(producer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.status))
        .collect();
    let mut sums = [0i64; 4];
    for entry in entries {
        let slot = match entry.payout_id.and_then(|id| payouts.get(&id)).map(String::as_str) {
            None if entry.available_at > now => 0,
            None => 1,
            Some("PAID") => 3,
            Some(_) => 2,
        };
        sums[slot] += entry.amount_fen;
    }
    Ok(Balance {
        pending: Fen::new(sums[0]),
        available: Fen::new(sums[1]),
        in_transit: Fen::new(sums[2]),
        paid_out: Fen::new(sums[3]),
    })
}

/// Records one payout per producer covering all its available earnings as of `as_of`. Each
/// earning is claimed by a conditional update (`payout_id IS NULL`), so two runs racing, or a
/// run repeated after dying half-way, never put an earning in two payouts. A producer whose
/// available sum is not positive is left for a later run (refunds carried over).
pub async fn record_payouts(
    db: &DatabaseConnection,
    as_of: DateTime<Utc>,
    stripe_enabled: bool,
) -> AppResult<Vec<payout::Model>> {
    let producers: Vec<i64> = earning::Entity::find()
        .select_only()
        .column(earning::Column::ProducerId)
        .distinct()
        .filter(earning::Column::PayoutId.is_null())
        .filter(earning::Column::AvailableAt.lte(as_of))
        .into_tuple()
        .all(db)
        .await?;
    let mut batch: Option<i64> = None;
    let mut recorded = Vec::new();
    for producer_id in producers {
        let Some(producer) = producer::Entity::find_by_id(producer_id).one(db).await? else {
            continue;
        };
        let by_stripe = stripe_enabled && producer.stripe_account_id.is_some();
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
        let claimable: Vec<i64> = earning::Entity::find()
            .select_only()
            .column(earning::Column::AmountFen)
            .filter(earning::Column::ProducerId.eq(producer_id))
            .filter(earning::Column::PayoutId.is_null())
            .filter(earning::Column::AvailableAt.lte(as_of))
            .into_tuple()
            .all(&txn)
            .await?;
        let expected: i64 = claimable.iter().sum();
        if expected <= 0 {
            txn.rollback().await?;
            continue;
        }
        let row = payout::ActiveModel {
            producer_id: Set(producer_id),
            amount_fen: Set(expected),
            status: Set(PayoutStatus::Pending.as_db().to_owned()),
            method: Set(if by_stripe { METHOD_STRIPE } else { METHOD_BANK }.to_owned()),
            batch_id: Set(batch_id),
            stripe_transfer_id: Set(None),
            reference: Set(None),
            failure_reason: Set(None),
            created_at: Set(Utc::now()),
            paid_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let claimed = earning::Entity::update_many()
            .col_expr(earning::Column::PayoutId, Expr::value(row.id))
            .filter(earning::Column::ProducerId.eq(producer_id))
            .filter(earning::Column::PayoutId.is_null())
            .filter(earning::Column::AvailableAt.lte(as_of))
            .exec_with_returning(&txn)
            .await?;
        let amount: i64 = claimed.iter().map(|e| e.amount_fen).sum();
        if amount <= 0 {
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
        txn.commit().await?;
        recorded.push(row);
    }
    // A batch no payout went into (another run took the earnings) is not kept.
    if let Some(batch_id) = batch
        && recorded.iter().all(|p| p.batch_id != Some(batch_id))
    {
        payout_batch::Entity::delete_by_id(batch_id).exec(db).await?;
    }
    Ok(recorded)
}

/// Pays every PENDING Stripe payout by transfer, under the payout's own idempotency key (so a
/// payout recorded by a run that died before Stripe answered is paid once by the next run). A
/// refused transfer fails the payout and returns its earnings to `available`.
pub async fn send_transfers(db: &DatabaseConnection, gateway: &StripeGateway) -> AppResult<Vec<payout::Model>> {
    let waiting = payout::Entity::find()
        .filter(payout::Column::Method.eq(METHOD_STRIPE))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending.as_db()))
        .all(db)
        .await?;
    let mut done = Vec::new();
    for row in waiting {
        let Some(account) = producer::Entity::find_by_id(row.producer_id)
            .one(db)
            .await?
            .and_then(|p| p.stripe_account_id)
        else {
            continue;
        };
        match gateway.transfer(row.id, &account, row.amount_fen).await {
            Ok(transfer) => {
                payout::Entity::update_many()
                    .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Paid.as_db()))
                    .col_expr(payout::Column::StripeTransferId, Expr::value(transfer.id.to_string()))
                    .col_expr(payout::Column::PaidAt, Expr::value(Utc::now()))
                    .filter(payout::Column::Id.eq(row.id))
                    .filter(payout::Column::Status.eq(PayoutStatus::Pending.as_db()))
                    .exec(db)
                    .await?;
            }
            Err(error) => {
                tracing::warn!(payout = row.id, error = ?error, "a payout transfer failed; its earnings are available again");
                let txn = db.begin().await?;
                payout::Entity::update_many()
                    .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Failed.as_db()))
                    .col_expr(payout::Column::FailureReason, Expr::value(format!("{error}")))
                    .filter(payout::Column::Id.eq(row.id))
                    .exec(&txn)
                    .await?;
                earning::Entity::update_many()
                    .col_expr(earning::Column::PayoutId, Expr::value(Option::<i64>::None))
                    .filter(earning::Column::PayoutId.eq(row.id))
                    .exec(&txn)
                    .await?;
                txn.commit().await?;
            }
        }
        if let Some(fresh) = payout::Entity::find_by_id(row.id).one(db).await? {
            done.push(fresh);
        }
    }
    Ok(done)
}

/// `runPayouts` / `huakai payouts run`: records the payouts, then pays the Stripe ones.
pub async fn run(
    db: &DatabaseConnection,
    gateway: Option<&StripeGateway>,
    as_of: DateTime<Utc>,
) -> AppResult<Vec<payout::Model>> {
    let recorded = record_payouts(db, as_of, gateway.is_some()).await?;
    let mut by_id: HashMap<i64, payout::Model> = recorded.into_iter().map(|p| (p.id, p)).collect();
    if let Some(gateway) = gateway {
        for paid in send_transfers(db, gateway).await? {
            by_id.insert(paid.id, paid);
        }
    }
    let mut all: Vec<payout::Model> = by_id.into_values().collect();
    all.sort_by_key(|p| p.id);
    Ok(all)
}

/// `confirmPayout`: the bank paid this line of a batch.
pub async fn confirm(db: &DatabaseConnection, payout_id: i64, reference: &str) -> Outcome<payout::Model> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "a reference has 1 to 100 characters",
        )
        .on_field(&["reference"])));
    }
    if payout::Entity::find_by_id(payout_id).one(db).await?.is_none() {
        return Ok(Err(
            UserError::new("NOT_FOUND", "no such payout").on_field(&["payoutId"])
        ));
    }
    let updated = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::Paid.as_db()))
        .col_expr(payout::Column::Reference, Expr::value(reference))
        .col_expr(payout::Column::PaidAt, Expr::value(Utc::now()))
        .filter(payout::Column::Id.eq(payout_id))
        .filter(payout::Column::Method.eq(METHOD_BANK))
        .filter(payout::Column::Status.is_in([PayoutStatus::Pending.as_db(), PayoutStatus::InTransit.as_db()]))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(Err(UserError::new(
            "NOT_CONFIRMABLE",
            "only a bank payout not yet paid can be confirmed",
        )
        .on_field(&["payoutId"])));
    }
    Ok(Ok(payout::Entity::find_by_id(payout_id).one(db).await?.ok_or_else(
        || AppError::Internal(anyhow::anyhow!("payout vanished")),
    )?))
}

/// Quotes every field, doubling quotes inside: safe for names with commas.
fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    format!("{}\n", quoted.join(","))
}

/// `huakai payouts export BATCH_ID`: the bank file (payee, account, amount in yuan, reference).
/// Exported payouts are IN_TRANSIT until confirmed. `None` when there is no such batch.
pub async fn export_batch(db: &DatabaseConnection, batch_id: i64) -> AppResult<Option<String>> {
    if payout_batch::Entity::find_by_id(batch_id).one(db).await?.is_none() {
        return Ok(None);
    }
    let rows = payout::Entity::find()
        .filter(payout::Column::BatchId.eq(batch_id))
        .order_by_asc(payout::Column::Id)
        .all(db)
        .await?;
    let mut csv = csv_row(&[
        "payee".into(),
        "account".into(),
        "amount_yuan".into(),
        "reference".into(),
    ]);
    for row in &rows {
        let producer = producer::Entity::find_by_id(row.producer_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payout without its producer")))?;
        csv.push_str(&csv_row(&[
            producer
                .bank_account_name
                .clone()
                .unwrap_or_else(|| producer.name.clone()),
            producer.bank_account_number.clone().unwrap_or_default(),
            Fen::new(row.amount_fen).to_string(),
            payout_reference(row.id),
        ]));
    }
    payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(PayoutStatus::InTransit.as_db()))
        .filter(payout::Column::BatchId.eq(batch_id))
        .filter(payout::Column::Status.eq(PayoutStatus::Pending.as_db()))
        .exec(db)
        .await?;
    Ok(Some(csv))
}

/// What the bank shows the producer next to the money.
pub fn payout_reference(payout_id: i64) -> String {
    format!("HUAKAI-PAYOUT-{payout_id}")
}

/// A page of a producer's payouts (all producers' for `None`), newest first.
pub async fn list_payouts(
    db: &DatabaseConnection,
    producer_id: Option<i64>,
    status: Option<PayoutStatus>,
    page: &PageRequest<i64>,
) -> AppResult<Vec<payout::Model>> {
    let mut select = payout::Entity::find();
    if let Some(producer_id) = producer_id {
        select = select.filter(payout::Column::ProducerId.eq(producer_id));
    }
    if let Some(status) = status {
        select = select.filter(payout::Column::Status.eq(status.as_db()));
    }
    if let Some(after) = page.after {
        select = select.filter(payout::Column::Id.lt(after));
    }
    Ok(select
        .order_by_desc(payout::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}

/// A page of a producer's earnings, newest first.
pub async fn list_earnings(
    db: &DatabaseConnection,
    producer_id: i64,
    page: &PageRequest<i64>,
) -> AppResult<Vec<earning::Model>> {
    let mut select = earning::Entity::find().filter(earning::Column::ProducerId.eq(producer_id));
    if let Some(after) = page.after {
        select = select.filter(earning::Column::Id.lt(after));
    }
    Ok(select
        .order_by_desc(earning::Column::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?)
}

/// A household's part of a payout.
pub struct HouseholdPart {
    pub member: cooperative_member::Model,
    pub amount: Fen,
}

/// How a cooperative's payout is shared among its member households (二次分配).
pub async fn statement(db: &DatabaseConnection, payout: &payout::Model) -> AppResult<Vec<HouseholdPart>> {
    let members = cooperative_member::Entity::find()
        .filter(cooperative_member::Column::ProducerId.eq(payout.producer_id))
        .order_by_asc(cooperative_member::Column::Id)
        .all(db)
        .await?;
    let shares: Vec<i32> = members.iter().map(|m| m.share_bps).collect();
    let parts = divide(Fen::new(payout.amount_fen), &shares);
    Ok(members
        .into_iter()
        .zip(parts)
        .map(|(member, amount)| HouseholdPart { member, amount })
        .collect())
}

pub struct NewMember {
    pub name: String,
    pub registered_poor: bool,
    pub share_bps: i32,
}

/// Replaces a cooperative's member households and their shares.
pub async fn set_members(
    db: &DatabaseConnection,
    producer: &producer::Model,
    members: Vec<NewMember>,
) -> Outcome<Vec<cooperative_member::Model>> {
    if producer.kind != "COOPERATIVE" {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "only a cooperative shares its payouts with member households",
        )));
    }
    let total: i64 = members.iter().map(|m| i64::from(m.share_bps)).sum();
    if members.iter().any(|m| !(1..=10_000).contains(&m.share_bps)) || total > 10_000 {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "shares are 1 to 10000 basis points each and 10000 in all at most",
        )
        .on_field(&["members"])));
    }
    if members
        .iter()
        .any(|m| m.name.trim().is_empty() || m.name.chars().count() > 50)
    {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "a household's name has 1 to 50 characters",
        )
        .on_field(&["members"])));
    }
    let txn = db.begin().await?;
    cooperative_member::Entity::delete_many()
        .filter(cooperative_member::Column::ProducerId.eq(producer.id))
        .exec(&txn)
        .await?;
    for member in &members {
        cooperative_member::ActiveModel {
            producer_id: Set(producer.id),
            name: Set(member.name.trim().to_owned()),
            registered_poor: Set(member.registered_poor),
            share_bps: Set(member.share_bps),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(Ok(cooperative_member::Entity::find()
        .filter(cooperative_member::Column::ProducerId.eq(producer.id))
        .order_by_asc(cooperative_member::Column::Id)
        .all(db)
        .await?))
}

/// `setProducerPayoutAccount` (operators): where a producer's money goes.
pub async fn set_payout_account(
    db: &DatabaseConnection,
    producer: producer::Model,
    stripe_account_id: Option<String>,
    bank_account_name: Option<String>,
    bank_account_number: Option<String>,
) -> Outcome<producer::Model> {
    if let Some(account) = &stripe_account_id
        && !(account.starts_with("acct_") && account.len() <= 100)
    {
        return Ok(Err(UserError::new(
            "INVALID_INPUT",
            "a Stripe connected account id starts with acct_",
        )
        .on_field(&["stripeAccountId"])));
    }
    let mut changed = producer.into_active_model();
    changed.stripe_account_id = Set(stripe_account_id);
    changed.bank_account_name = Set(bank_account_name);
    changed.bank_account_number = Set(bank_account_number);
    Ok(Ok(changed.update(db).await?))
}

/// The earnings of a month (`YYYY-MM`, China time) as CSV, for a producer's records.
pub async fn monthly_statement(db: &DatabaseConnection, producer_id: i64, month: &str) -> Outcome<String> {
    let Some((year, month_number)) = month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
    else {
        return Ok(Err(
            UserError::new("INVALID_INPUT", "a month is written YYYY-MM").on_field(&["month"])
        ));
    };
    let china = FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::Internal(anyhow::anyhow!("UTC+8")))?;
    let entries = earning::Entity::find()
        .filter(earning::Column::ProducerId.eq(producer_id))
        .order_by_asc(earning::Column::Id)
        .all(db)
        .await?;
    let order_ids: Vec<i64> = entries.iter().map(|e| e.order_id).collect();
    let numbers: HashMap<i64, String> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.number))
        .collect();
    let mut csv = csv_row(
        &[
            "date",
            "order",
            "kind",
            "line_total_yuan",
            "platform_fee_yuan",
            "commission_yuan",
            "earning_yuan",
            "payout",
        ]
        .map(str::to_owned),
    );
    let mut total = 0;
    for entry in entries {
        let local = entry.created_at.with_timezone(&china);
        if local.year() != year || local.month() != month_number {
            continue;
        }
        total += entry.amount_fen;
        csv.push_str(&csv_row(&[
            local.format("%Y-%m-%d").to_string(),
            numbers.get(&entry.order_id).cloned().unwrap_or_default(),
            entry.kind.clone(),
            Fen::new(entry.line_total_fen).to_string(),
            Fen::new(entry.platform_fee_fen).to_string(),
            Fen::new(entry.commission_fen).to_string(),
            Fen::new(entry.amount_fen).to_string(),
            entry.payout_id.map(payout_reference).unwrap_or_default(),
        ]));
    }
    csv.push_str(&csv_row(&[
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        Fen::new(total).to_string(),
        String::new(),
    ]));
    Ok(Ok(csv))
}
