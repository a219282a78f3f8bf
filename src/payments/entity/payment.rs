use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderId;
use crate::infra::ids::PaymentId;
use crate::infra::money::Fen;
use crate::payments::checkout::PaymentActionKind;
use crate::payments::{PaymentStatus, ProviderKind};

/// How an order is paid: one row per order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: PaymentId,
    pub order_id: OrderId,
    pub provider: ProviderKind,
    pub status: PaymentStatus,
    pub amount_fen: Fen,
    /// Refunded so far; never more than `amount_fen` (a CHECK holds it).
    pub refunded_fen: Fen,
    pub currency: String,
    pub stripe_payment_intent_id: Option<String>,
    pub client_secret: Option<String>,
    /// The 对公转账 reference an operator recorded.
    pub bank_reference: Option<String>,
    pub last_error: Option<String>,
    /// Set when Stripe's word and the order disagree (an amount that does not match, say).
    pub needs_review: bool,
    pub review_reason: Option<String>,
    /// What the buyer's app does to pay (WeChat Pay and Alipay paid directly), with its value.
    pub next_action_kind: Option<PaymentActionKind>,
    pub next_action: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
