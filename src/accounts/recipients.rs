//! Who hears of an event by mail, and the one way a domain writes a message to a user: in the
//! user's language (zh-CN when none is chosen), rendered through the catalogues, enqueued in
//! the event's transaction under a key naming the event and the recipient (so an event
//! enqueued again is one message).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::Role;
use super::entity::membership::{self, MembershipKind};
use super::entity::user;
use crate::infra::error::AppResult;
use crate::infra::i18n::Message;
use crate::infra::ids::{ProducerId, UserId};
use crate::infra::mail::{self, OutgoingMail};

/// The user, if the account exists.
pub async fn user(db: &impl ConnectionTrait, user_id: UserId) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(user_id).one(db).await?)
}

/// The producer's current growers.
pub async fn growers_of(db: &impl ConnectionTrait, producer_id: ProducerId) -> AppResult<Vec<user::Model>> {
    let ties: Vec<_> = membership::Entity::find()
        .filter(membership::Column::Kind.eq(MembershipKind::Producer))
        .filter(membership::Column::ProducerId.eq(producer_id))
        .filter(membership::Column::EndedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|tie| tie.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ties))
        .filter(user::Column::Role.eq(Role::Grower))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

/// Every operator.
pub async fn operators(db: &impl ConnectionTrait) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

/// Enqueues `subject` and `body` to `person` in the caller's transaction; `event` names the
/// event (the recipient is added to make the message's dedupe key).
pub async fn tell(
    txn: &impl ConnectionTrait,
    person: &user::Model,
    event: &str,
    subject: &Message,
    body: &Message,
) -> AppResult<()> {
    mail::enqueue(txn, &mail_to(person, event, subject, body)).await?;
    Ok(())
}

/// The message [`tell`] enqueues, for a caller that enqueues several at once.
pub fn mail_to(person: &user::Model, event: &str, subject: &Message, body: &Message) -> OutgoingMail {
    let language = person.language.unwrap_or_default();
    let words = mail::render(language, subject, body);
    OutgoingMail::new(format!("{event}:to:{}", person.id), &person.email, language, words)
}
