//! Commission plans: per product, an open rate for any host and targeted rates for named hosts
//! (a targeted rate wins). A plan is a history of rows: a raise applies at once, a cut only to
//! orders placed after the notice period, so a host never loses a rate it announced on air
//! without warning. The rate of an order line is the newest row in effect when it was placed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::LivestreamSettings;
use super::entity::commission_plan;
use crate::accounts::Role;
use crate::accounts::entity::user;
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;
use crate::infra::ids::ProductId;
use crate::infra::ids::UserId;

/// A rate asked for: which product, which host (none: the open rate), how much.
pub struct PlanRequest {
    pub product_id: ProductId,
    pub host_id: Option<UserId>,
    pub rate_bps: i32,
}

/// The newest row for exactly this key (`host_id` none: the open rate) in effect at `at`.
async fn in_effect(
    db: &impl ConnectionTrait,
    product_id: ProductId,
    host_id: Option<UserId>,
    at: DateTime<Utc>,
) -> AppResult<Option<commission_plan::Model>> {
    let mut select = commission_plan::Entity::find()
        .filter(commission_plan::Column::ProductId.eq(product_id))
        .filter(commission_plan::Column::EffectiveFrom.lte(at));
    select = match host_id {
        Some(host_id) => select.filter(commission_plan::Column::HostId.eq(host_id)),
        None => select.filter(commission_plan::Column::HostId.is_null()),
    };
    Ok(select.order_by_desc(commission_plan::Column::Id).one(db).await?)
}

/// The rate `host_id` earns on `product_id` for an order placed at `at`: its targeted rate if
/// it has one, else the open rate; `None` when no plan covers the host.
pub async fn rate_for(
    db: &impl ConnectionTrait,
    product_id: ProductId,
    host_id: UserId,
    at: DateTime<Utc>,
) -> AppResult<Option<u32>> {
    Ok(rates_for(db, [product_id], host_id, at).await?.remove(&product_id))
}

/// [`rate_for`] each of `product_ids`, in one read: the products no plan covers for the host
/// are left out.
pub async fn rates_for(
    db: &impl ConnectionTrait,
    product_ids: impl IntoIterator<Item = ProductId>,
    host_id: UserId,
    at: DateTime<Utc>,
) -> AppResult<HashMap<ProductId, u32>> {
    let rows = commission_plan::Entity::find()
        .filter(commission_plan::Column::ProductId.is_in(product_ids))
        .filter(commission_plan::Column::EffectiveFrom.lte(at))
        .filter(
            Condition::any()
                .add(commission_plan::Column::HostId.eq(host_id))
                .add(commission_plan::Column::HostId.is_null()),
        )
        .order_by_desc(commission_plan::Column::Id)
        .all(db)
        .await?;
    // Newest first: a product's first targeted row wins, else its first open row.
    let mut rates: HashMap<ProductId, (bool, u32)> = HashMap::new();
    for plan in rows {
        let targeted = plan.host_id.is_some();
        let rate = u32::try_from(plan.rate_bps).unwrap_or(0);
        let kept = rates.entry(plan.product_id).or_insert((targeted, rate));
        if targeted && !kept.0 {
            *kept = (true, rate);
        }
    }
    Ok(rates.into_iter().map(|(product, (_, rate))| (product, rate)).collect())
}

/// `setCommissionPlan` (the caller's right to the product is checked by the resolver). The cap
/// is the lower of `HUAKAI_MAX_COMMISSION_BPS` and what the platform fee leaves of the line.
pub async fn set_plan(
    db: &impl ConnectionTrait,
    settings: &LivestreamSettings,
    platform_fee_bps: u32,
    set_by: UserId,
    request: PlanRequest,
    now: DateTime<Utc>,
) -> Outcome<commission_plan::Model> {
    let Ok(rate) = u32::try_from(request.rate_bps) else {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "rate-not-negative").on_field(&["input", "rateBps"])
        ));
    };
    let cap = settings.max_commission_bps.min(10_000 - platform_fee_bps.min(10_000));
    if rate > cap {
        return Ok(Err(UserError::new(
            ErrorCode::CommissionTooHigh,
            Message::new("commission-cap").with("max", cap),
        )
        .on_field(&["input", "rateBps"])));
    }
    if let Some(host_id) = request.host_id {
        let host = user::Entity::find_by_id(host_id).one(db).await?;
        if host.is_none_or(|h| h.role != Role::Host) {
            return Ok(Err(
                UserError::new(ErrorCode::NotFound, "host-not-found").on_field(&["input", "hostId"])
            ));
        }
    }
    let current = match request.host_id {
        Some(host_id) => rate_for(db, request.product_id, host_id, now).await?,
        None => in_effect(db, request.product_id, None, now)
            .await?
            .map(|p| u32::try_from(p.rate_bps).unwrap_or(0)),
    };
    let effective_from = if current.is_some_and(|current| rate < current) {
        now + chrono::Duration::from_std(settings.commission_notice).map_err(|e| AppError::Internal(e.into()))?
    } else {
        now
    };
    let plan = commission_plan::ActiveModel {
        product_id: Set(request.product_id),
        host_id: Set(request.host_id),
        rate_bps: Set(request.rate_bps),
        effective_from: Set(effective_from),
        set_by: Set(Some(set_by)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Ok(plan))
}
