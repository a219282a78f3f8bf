use sea_orm::entity::prelude::*;

use crate::infra::ids::UserId;

/// A password-reset code mailed to a user: only its keyed hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "password_resets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: UserId,
    /// HMAC-SHA256 of the user and the code, in hex, under a key derived from the token secret.
    pub code_hash: String,
    /// Guesses made at this code (the migration's CHECK holds the most allowed).
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set when the code reset the password, or when a newer code replaced it.
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
