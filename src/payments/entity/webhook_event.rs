use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, Set};

use crate::infra::error::AppResult;

/// A verified Stripe event or WeChat Pay / Alipay notification, kept until it is applied (and
/// after, as the record of it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// Stripe's event id: the same event delivered twice is one row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub received_at: DateTimeUtc,
    /// A worker holds the event until then; after that another may take it.
    pub claimed_until: Option<DateTimeUtc>,
    pub processed_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Keeps a verified event until it is applied; the same id again is the same event.
pub async fn keep(db: &DatabaseConnection, id: &str, event_type: &str, payload: &str) -> AppResult<()> {
    Entity::insert(ActiveModel {
        id: Set(id.to_owned()),
        event_type: Set(event_type.to_owned()),
        payload: Set(payload.to_owned()),
        received_at: Set(Utc::now()),
        claimed_until: Set(None),
        processed_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
    })
    .on_conflict(OnConflict::column(Column::Id).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}
