//! Deciding a claim: the grower answers (`respondToClaim`), the worker answers for a grower that
//! did not in time (a refund as asked), the buyer escalates a rejection, and an operator decides
//! finally (`decideClaim`). The decision, its refund or new parcel, and the claim's new status
//! are one transaction; the status moves by a conditional update, so a claim is decided once,
//! whoever races to decide it. The refund's money moves after the commit (`settling::settle`).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::opening::clean_note;
use super::{find, remedies};
use crate::claims::entity::claim;
use crate::claims::{ClaimDecision, ClaimStatus};
use crate::infra::db::{begin_write, end_write};
use crate::infra::error::{AppError, AppResult, Outcome, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::ids::{ClaimId, RefundId, ShipmentId};
use crate::infra::money::Fen;
use crate::orders::service::state::{find as find_order, lock_order};
use crate::payments::settling;
use crate::shop::{Effect, Shop};

/// Who decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider {
    /// The lines' grower, once, while the claim is open.
    Grower,
    /// Nobody answered in time: the grower is taken to accept.
    Timeout,
    /// An operator, finally, whether the claim is open or escalated.
    Operator,
}

/// What the grower or the operator decides.
pub struct Decision {
    pub decision: ClaimDecision,
    /// Of a partial refund, how much.
    pub amount: Option<Fen>,
    pub note: Option<String>,
}

fn closed() -> UserError {
    UserError::new(ErrorCode::ClaimClosed, "claim-closed").on_field(&["claimId"])
}

/// Decides claim `claim_id` (whom the caller checked may).
pub async fn decide(shop: &Shop, claim_id: ClaimId, by: Decider, decision: Decision) -> Outcome<claim::Model> {
    let note = match clean_note(decision.note.as_deref(), &["note"]) {
        Ok(note) => note,
        Err(problem) => return Ok(Err(problem)),
    };
    if decision.decision == ClaimDecision::Reject && note.is_none() {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            "claim-reject-needs-reason",
        )
        .on_field(&["note"])));
    }
    if decision.decision == ClaimDecision::PartialRefund && decision.amount.is_none() {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "claim-amount-required").on_field(&["amount"])
        ));
    }
    let Some(found) = find(&shop.db, claim_id).await? else {
        return Ok(Err(closed()));
    };
    let txn = begin_write(&shop.db).await?;
    lock_order(&txn, found.order_id).await?;
    let Some(claim) = find(&txn, claim_id).await? else {
        return end_write(txn, Err(closed())).await;
    };
    let decidable = match by {
        Decider::Grower | Decider::Timeout => {
            claim.status == ClaimStatus::Open && claim.responded_at.is_none() && claim.escalated_at.is_none()
        }
        Decider::Operator => ClaimStatus::UNDECIDED.contains(&claim.status),
    };
    if !decidable {
        return end_write(txn, Err(closed())).await;
    }
    let order = find_order(&txn, claim.order_id).await?;
    let mut refund: Option<(RefundId, Fen)> = None;
    let mut parcel: Option<ShipmentId> = None;
    let mut effect = Effect::default();
    let status = match decision.decision {
        ClaimDecision::Refund | ClaimDecision::PartialRefund => {
            let amount = match decision.decision {
                ClaimDecision::PartialRefund => decision.amount,
                _ => None,
            };
            match remedies::refund(&txn, shop, &claim, amount).await? {
                Ok((decided, amount)) => {
                    refund = Some((decided.refund.id, amount));
                    effect = decided.effect;
                    ClaimStatus::Refunded
                }
                Err(problem) => {
                    return end_write(txn, Err(problem)).await;
                }
            }
        }
        ClaimDecision::Reship => match remedies::reship(&txn, &claim, &order).await? {
            Ok((shipment_id, moved)) => {
                parcel = Some(shipment_id);
                effect = moved;
                ClaimStatus::Reshipped
            }
            Err(problem) => {
                return end_write(txn, Err(problem)).await;
            }
        },
        ClaimDecision::Reject => ClaimStatus::Rejected,
    };
    let now = Utc::now();
    let mut update = claim::Entity::update_many()
        .col_expr(claim::Column::Status, Expr::value(status))
        .col_expr(claim::Column::Decision, Expr::value(decision.decision))
        .col_expr(claim::Column::AmountFen, Expr::value(refund.map(|(_, amount)| amount)))
        .col_expr(claim::Column::RefundId, Expr::value(refund.map(|(id, _)| id)))
        .col_expr(claim::Column::ReshipShipmentId, Expr::value(parcel))
        .col_expr(claim::Column::ResponseNote, Expr::value(note))
        .col_expr(claim::Column::DecidedAt, Expr::value(now))
        .filter(claim::Column::Id.eq(claim.id))
        .filter(claim::Column::Status.eq(claim.status));
    update = match by {
        Decider::Grower | Decider::Timeout => update.col_expr(claim::Column::RespondedAt, Expr::value(now)),
        // An operator's word is final: nothing is escalated after it.
        Decider::Operator => update.col_expr(
            claim::Column::EscalatedAt,
            Expr::value(claim.escalated_at.unwrap_or(now)),
        ),
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        return end_write(txn, Err(closed())).await;
    }
    let decided = find(&txn, claim.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("claim {claim_id} vanished")))?;
    super::notices::decided(&txn, &decided).await?;
    txn.commit().await?;
    shop.announce(effect).await;
    if let Some((refund_id, _)) = refund {
        settling::settle(shop, refund_id).await?;
    }
    Ok(Ok(decided))
}

/// An unanswered claim the worker could not refund goes to the operators' queue, escalated.
pub async fn hand_to_operators(shop: &Shop, claim_id: ClaimId) -> AppResult<()> {
    let txn = begin_write(&shop.db).await?;
    let handed = claim::Entity::update_many()
        .col_expr(claim::Column::Status, Expr::value(ClaimStatus::Escalated))
        .col_expr(claim::Column::EscalatedAt, Expr::value(Utc::now()))
        .filter(claim::Column::Id.eq(claim_id))
        .filter(claim::Column::Status.eq(ClaimStatus::Open))
        .filter(claim::Column::RespondedAt.is_null())
        .exec(&txn)
        .await?;
    if handed.rows_affected == 1
        && let Some(claim) = find(&txn, claim_id).await?
    {
        super::notices::escalated(&txn, &claim).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `escalateClaim`: the buyer puts a grower's rejection to an operator.
pub async fn escalate(shop: &Shop, claim_id: ClaimId) -> Outcome<claim::Model> {
    let txn = begin_write(&shop.db).await?;
    let escalated = claim::Entity::update_many()
        .col_expr(claim::Column::Status, Expr::value(ClaimStatus::Escalated))
        .col_expr(claim::Column::EscalatedAt, Expr::value(Utc::now()))
        .col_expr(
            claim::Column::DecidedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(claim::Column::Id.eq(claim_id))
        .filter(claim::Column::Status.eq(ClaimStatus::Rejected))
        .filter(claim::Column::EscalatedAt.is_null())
        .exec(&txn)
        .await?;
    if escalated.rows_affected != 1 {
        return end_write(
            txn,
            Err(UserError::new(ErrorCode::NotEscalatable, "claim-not-escalatable").on_field(&["claimId"])),
        )
        .await;
    }
    let claim = find(&txn, claim_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("claim {claim_id} vanished")))?;
    super::notices::escalated(&txn, &claim).await?;
    end_write(txn, Ok(claim)).await
}
