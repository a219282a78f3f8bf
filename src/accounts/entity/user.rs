use sea_orm::entity::prelude::*;

use crate::accounts::Role;
use crate::infra::i18n::Language;
use crate::infra::ids::UserId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: UserId,
    /// Lower-cased: emails are unique whatever their case.
    pub email: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub display_name: String,
    pub role: Role,
    /// The language the user chose; `None` follows each request's `Accept-Language`.
    pub language: Option<Language>,
    pub created_at: DateTimeUtc,
    /// A host's Stripe connected account (`acct_…`), which its payouts are transferred to;
    /// none: paid by bank. Only hosts have one.
    pub stripe_account_id: Option<String>,
    /// A host's bank account (the name on it, its number), for payouts by bank.
    pub bank_account_name: Option<String>,
    pub bank_account_number: Option<String>,
    /// A mainland mobile number, `+86` and eleven digits (`setPhoneNumber`); seen only by its
    /// owner and operators.
    pub phone: Option<String>,
    /// Set by an operator: the user cannot sign in and has no live session.
    pub disabled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
