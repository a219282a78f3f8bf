use sea_orm::entity::prelude::*;

/// A verified Stripe event, kept until it is applied (and after, as the record of it).
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
