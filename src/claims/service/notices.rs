//! Mail at each step of a claim, to the buyer, the producer's growers and the operators,
//! enqueued in the step's transaction (so a message exists if and only if the step committed,
//! once: the dedupe key names the claim, the step and the recipient).

use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::accounts::Role;
use crate::accounts::entity::membership::{self, MembershipKind};
use crate::accounts::entity::user;
use crate::claims::ClaimStatus;
use crate::claims::entity::claim;
use crate::infra::error::AppResult;
use crate::infra::i18n::Message;
use crate::infra::mail::{self, OutgoingMail};
use crate::orders::service::state::find as find_order;

/// The buyer who opened the claim, the producer's current growers and every operator.
async fn audience(txn: &impl ConnectionTrait, claim: &claim::Model) -> AppResult<Vec<user::Model>> {
    let growers: Vec<_> = membership::Entity::find()
        .filter(membership::Column::Kind.eq(MembershipKind::Producer))
        .filter(membership::Column::ProducerId.eq(claim.producer_id))
        .filter(membership::Column::EndedAt.is_null())
        .all(txn)
        .await?
        .into_iter()
        .map(|tie| tie.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(
            user::Column::Id
                .eq(claim.opened_by)
                .or(user::Column::Id.is_in(growers).and(user::Column::Role.eq(Role::Grower)))
                .or(user::Column::Role.eq(Role::Admin)),
        )
        .all(txn)
        .await?)
}

async fn tell(txn: &impl ConnectionTrait, claim: &claim::Model, step: &'static str) -> AppResult<()> {
    let order = find_order(txn, claim.order_id).await?;
    let status = match claim.status {
        ClaimStatus::Open => "OPEN",
        ClaimStatus::Escalated => "ESCALATED",
        ClaimStatus::Refunded => "REFUNDED",
        ClaimStatus::Reshipped => "RESHIPPED",
        ClaimStatus::Rejected => "REJECTED",
    };
    let subject = Message::new("claim-mail-subject").with("order", order.number.as_str());
    let body = Message::new("claim-mail-body")
        .with("order", order.number.as_str())
        .with("status", status)
        .with(
            "note",
            claim.response_note.clone().or(claim.note.clone()).unwrap_or_default(),
        );
    for person in audience(txn, claim).await? {
        let language = person.language.unwrap_or_default();
        let words = mail::render(language, &subject, &body);
        let key = format!("claim-{step}:{}:{}:{}", claim.id, status, person.id);
        mail::enqueue(txn, &OutgoingMail::new(key, &person.email, language, words)).await?;
    }
    Ok(())
}

pub async fn opened(txn: &impl ConnectionTrait, claim: &claim::Model) -> AppResult<()> {
    tell(txn, claim, "opened").await
}

pub async fn decided(txn: &impl ConnectionTrait, claim: &claim::Model) -> AppResult<()> {
    tell(txn, claim, "decided").await
}

pub async fn escalated(txn: &impl ConnectionTrait, claim: &claim::Model) -> AppResult<()> {
    tell(txn, claim, "escalated").await
}
