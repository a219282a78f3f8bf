//! Writing a step's entries to the earnings ledger and the hosts' commissions, for every kind
//! of step (`ledger`, `shipping_ledger`): a repeat of a step writes nothing (the unique key on
//! line, kind and refund).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait};

use super::entity::{earning, host_commission};
use crate::infra::error::AppResult;

/// A step's entries: the producers' earnings and the hosts' commissions.
#[derive(Default)]
pub(super) struct Entries {
    pub earnings: Vec<earning::ActiveModel>,
    pub commissions: Vec<host_commission::ActiveModel>,
}

impl Entries {
    pub(super) fn push(&mut self, (earning, commission): (earning::ActiveModel, Option<host_commission::ActiveModel>)) {
        self.earnings.push(earning);
        self.commissions.extend(commission);
    }
}

/// Writes producers' entries that carry no commission (a repeat writes nothing).
pub(super) async fn insert_earnings(db: &impl ConnectionTrait, earnings: Vec<earning::ActiveModel>) -> AppResult<()> {
    insert(
        db,
        Entries {
            earnings,
            commissions: Vec::new(),
        },
    )
    .await
}

pub(super) async fn insert(db: &impl ConnectionTrait, entries: Entries) -> AppResult<()> {
    if !entries.commissions.is_empty() {
        host_commission::Entity::insert_many(entries.commissions)
            .on_conflict(
                OnConflict::columns([
                    host_commission::Column::OrderLineId,
                    host_commission::Column::Kind,
                    host_commission::Column::RefundId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    if entries.earnings.is_empty() {
        return Ok(());
    }
    earning::Entity::insert_many(entries.earnings)
        .on_conflict(
            OnConflict::columns([
                earning::Column::OrderLineId,
                earning::Column::Kind,
                earning::Column::RefundId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
