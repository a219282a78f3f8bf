//! Cooperatives and their households (二次分配): the member list, how each payout was shared
//! (frozen with the payout), and where a producer's money goes.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};

use super::divide;
use super::entity::{cooperative_member, payout, payout_household_share};
use crate::catalogue::ProducerKind;
use crate::catalogue::entity::producer;
use crate::infra::db::begin_write;
use crate::infra::error::Outcome;
use crate::infra::error::{AppResult, UserError};
use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// How a cooperative's payout was shared among its member households (二次分配), as written
/// when the payout was made.
pub async fn statement(
    db: &DatabaseConnection,
    payout: &payout::Model,
) -> AppResult<Vec<payout_household_share::Model>> {
    Ok(payout_household_share::Entity::find()
        .filter(payout_household_share::Column::PayoutId.eq(payout.id))
        .order_by_asc(payout_household_share::Column::Position)
        .all(db)
        .await?)
}

/// Inside the payout's transaction: shares `payout` among the producer's households as they
/// are now, and keeps the parts with it.
pub async fn freeze_shares(db: &impl ConnectionTrait, payout: &payout::Model) -> AppResult<()> {
    let Some(producer_id) = payout.producer_id else {
        return Ok(());
    };
    let members = cooperative_member::Entity::find()
        .filter(cooperative_member::Column::ProducerId.eq(producer_id))
        .order_by_asc(cooperative_member::Column::Id)
        .all(db)
        .await?;
    if members.is_empty() {
        return Ok(());
    }
    let shares: Vec<i32> = members.iter().map(|m| m.share_bps).collect();
    let parts = divide(payout.amount_fen, &shares);
    payout_household_share::Entity::insert_many(members.into_iter().zip(parts).enumerate().map(
        |(position, (member, amount))| payout_household_share::ActiveModel {
            payout_id: Set(payout.id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            name: Set(member.name),
            registered_poor: Set(member.registered_poor),
            share_bps: Set(member.share_bps),
            amount_fen: Set(amount),
            ..Default::default()
        },
    ))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The most households one cooperative registers (a village's cooperative has dozens).
pub const MAX_HOUSEHOLDS: usize = 500;

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
    if producer.kind != ProducerKind::Cooperative {
        return Ok(Err(UserError::new(ErrorCode::InvalidInput, "only-cooperatives-share")));
    }
    if members.len() > MAX_HOUSEHOLDS {
        return Ok(Err(UserError::new(
            ErrorCode::InvalidInput,
            Message::new("household-count").with("max", MAX_HOUSEHOLDS),
        )
        .on_field(&["members"])));
    }
    let total: i64 = members.iter().map(|m| i64::from(m.share_bps)).sum();
    if members.iter().any(|m| !(1..=10_000).contains(&m.share_bps)) || total > 10_000 {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "household-shares-range").on_field(&["members"])
        ));
    }
    if members
        .iter()
        .any(|m| m.name.trim().is_empty() || m.name.chars().count() > 50)
    {
        return Ok(Err(
            UserError::new(ErrorCode::InvalidInput, "household-name-length").on_field(&["members"])
        ));
    }
    let txn = begin_write(db).await?;
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
    if let Err(problem) = super::payees::check_stripe_account(stripe_account_id.as_deref()) {
        return Ok(Err(problem));
    }
    let mut changed = producer.into_active_model();
    changed.stripe_account_id = Set(stripe_account_id);
    changed.bank_account_name = Set(bank_account_name);
    changed.bank_account_number = Set(bank_account_number);
    Ok(Ok(changed.update(db).await?))
}
