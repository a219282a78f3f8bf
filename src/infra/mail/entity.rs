//! A row of the mail outbox (`mail_outbox`; its CHECKs and indexes are in the migration).

use sea_orm::entity::prelude::*;

use crate::infra::i18n::Language;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Names the event the message is about: the same event enqueued twice is one message.
    pub dedupe_key: String,
    /// The left part of the `Message-ID` header, chosen once: every attempt, by any replica,
    /// sends the same id, so a duplicate is recognisable.
    pub message_id: String,
    pub recipient: String,
    pub language: Language,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    /// Attempts begun (counted when a worker takes the message, so a replica that dies
    /// mid-attempt still uses one up).
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker is sending it until then; after that another may.
    pub leased_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    /// Given up after the last attempt failed.
    pub failed_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
