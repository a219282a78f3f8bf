use sea_orm::entity::prelude::*;

use crate::infra::ids::OrderId;
use crate::infra::ids::OrganisationId;
use crate::infra::ids::StoreId;
use crate::infra::ids::UserId;
use crate::infra::money::Fen;
use crate::orders::{OrderStatus, PaymentMethod};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: OrderId,
    /// What the buyer and the growers quote, e.g. `HK20260915A1B2C3D4E5`.
    pub number: String,
    pub buyer_id: UserId,
    pub status: OrderStatus,
    pub payment_method: PaymentMethod,
    pub total_fen: Fen,
    /// The shipments' fees, part of the total (the goods are the rest).
    pub shipping_fee_fen: Fen,
    /// A pickup order (到店自提): the relief supermarket it is collected from, and the code its
    /// buyer shows there (both or neither).
    pub pickup_store_id: Option<StoreId>,
    pub pickup_code: Option<String>,
    pub idempotency_key: String,
    /// The livestream promo link the order came through.
    pub referral_code: Option<String>,
    /// The labour union the order is bought for (消费帮扶), once unions exist.
    pub union_id: Option<OrganisationId>,
    pub ship_name: String,
    pub ship_phone: String,
    pub ship_province: String,
    pub ship_city: String,
    pub ship_district: String,
    pub ship_line1: String,
    pub ship_postal_code: Option<String>,
    /// While unpaid: when the held stock is released and the order cancelled.
    pub reserved_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    /// What the welfare allowance paid, spent when the order was placed (all of it, or part
    /// with `remainder_method` paying the rest).
    pub allowance_fen: Fen,
    /// How the part the allowance did not cover is paid.
    pub remainder_method: Option<PaymentMethod>,
    /// An organisation's bulk order: its shipments go to many recipients (`ship_*` names the
    /// organisation only).
    pub bulk: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
