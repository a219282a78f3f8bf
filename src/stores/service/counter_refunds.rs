//! Money given back over a store's counter for one of its sales (退款): through the one refund
//! path (`payments::refunds::decide`: the producers' earnings reversed at the sale's rates, an
//! allowance back on the member's grants, cash or the terminal's money handed back at once),
//! with the till's side on today's day: a cash refund comes out of the day's cash expected, and
//! a closed day takes no refund (`DAY_CLOSED`). Idempotent by key, as sales are. The goods are
//! not put back on the shelf: fresh produce handed back is not sold again.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::counter::{MAX_KEY_CHARS, key_taken, take_day};
use crate::catalogue::today_in_china;
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::{CounterSaleId, StoreId, UserId};
use crate::infra::money::Fen;
use crate::inventory::entity::store;
use crate::payments::records::payment_of;
use crate::payments::refunds;
use crate::shop::Shop;
use crate::stores::entity::{counter_refund, counter_sale};

pub struct CounterRefundRequest {
    /// `None`: an id that names no sale.
    pub sale_id: Option<CounterSaleId>,
    /// All that is left when `None`.
    pub amount: Option<Fen>,
    pub idempotency_key: String,
}

async fn by_key(db: &impl ConnectionTrait, store_id: StoreId, key: &str) -> AppResult<Option<counter_refund::Model>> {
    Ok(counter_refund::Entity::find()
        .filter(counter_refund::Column::StoreId.eq(store_id))
        .filter(counter_refund::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// `refundCounterSale` by a clerk of `store`.
pub async fn refund_sale(
    shop: &Shop,
    store: &store::Model,
    clerk_id: UserId,
    request: CounterRefundRequest,
) -> Outcome<counter_refund::Model> {
    let db = &shop.db;
    let key = request.idempotency_key.trim().to_owned();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("counter-key-length").with("max", MAX_KEY_CHARS),
        )
        .on_field(&["input", "idempotencyKey"])));
    }
    if let Some(refund) = by_key(db, store.id, &key).await? {
        return Ok(Ok(refund));
    }
    let sale = match request.sale_id {
        Some(id) => counter_sale::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let Some(sale) = sale.filter(|sale| sale.store_id == store.id) else {
        return Ok(Err(
            UserError::new(ErrorCode::NotFound, "counter-sale-not-found").on_field(&["input", "saleId"])
        ));
    };
    let txn = begin_write(db).await?;
    // None: sold before counter sales kept their payment, nothing the refund path can take.
    let payment = payment_of(&txn, sale.order_id).await?;
    let left = payment.as_ref().map_or(Fen::ZERO, |p| p.amount_fen - p.refunded_fen);
    let Some(payment) = payment.filter(|_| left > Fen::ZERO) else {
        let nothing = UserError::new(ErrorCode::NotRefundable, "nothing-to-refund").on_field(&["input", "saleId"]);
        return end_write(txn, Err(nothing)).await;
    };
    let amount = request.amount.unwrap_or(left);
    if amount <= Fen::ZERO || amount > left {
        let out_of_range = UserError::new(ErrorCode::InvalidInput, Message::new("refund-range").with("max", left))
            .on_field(&["input", "amount"]);
        return end_write(txn, Err(out_of_range)).await;
    }
    let decided = match refunds::decide(&txn, &payment, amount, "refunded at the counter", None, shop).await? {
        Ok(decided) => decided,
        Err(problem) => return end_write(txn, Err(problem)).await,
    };
    let inserted = counter_refund::ActiveModel {
        store_id: Set(store.id),
        counter_sale_id: Set(sale.id),
        refund_id: Set(decided.refund.id),
        clerk_id: Set(clerk_id),
        payment_method: Set(sale.payment_method),
        amount_fen: Set(amount),
        business_date: Set(today_in_china()),
        idempotency_key: Set(key.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let refund = match inserted {
        Ok(refund) => refund,
        Err(error) if key_taken(&error) => {
            // Another till sent the same key meanwhile: its refund is the answer to both.
            txn.rollback().await?;
            let found = by_key(db, store.id, &key).await?;
            return Ok(Ok(found.ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("idempotent counter refund vanished"))
            })?));
        }
        Err(error) => return Err(error.into()),
    };
    // Last, as a sale does: the day's row is held only from here to the commit.
    if !take_day(&txn, store.id, refund.business_date).await? {
        return end_write(txn, Err(UserError::new(ErrorCode::DayClosed, "store-day-closed"))).await;
    }
    txn.commit().await?;
    shop.announce(decided.effect).await;
    Ok(Ok(refund))
}
