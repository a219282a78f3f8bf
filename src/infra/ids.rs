//! Row ids as types of their own, one per kind of row, so that an order's id cannot be passed
//! where a user's is expected. Each domain declares its ids in its own module with `typed_id!`;
//! in the database they stay plain bigint columns.

/// Declares row id types: a newtype over `i64` that sea-orm stores as its number (and accepts as
/// a primary key), printed and serialized as that number (so cursors and cached values read the
/// same as before). The `i64` conversions serve the code that handles every kind of id alike:
/// the GraphQL global ids.
macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(
                Clone,
                Copy,
                Debug,
                PartialEq,
                Eq,
                Hash,
                PartialOrd,
                Ord,
                serde::Serialize,
                serde::Deserialize,
                sea_orm::DeriveValueType,
            )]
            #[serde(transparent)]
            pub struct $name(pub i64);

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }

            impl From<i64> for $name {
                fn from(row: i64) -> Self {
                    Self(row)
                }
            }

            impl From<$name> for i64 {
                fn from(id: $name) -> Self {
                    id.0
                }
            }
        )+
    };
}

// Every kind of row's id, declared here at the bottom so that a row of one domain can name a
// row of another (an order's organisation, a stock movement's order) without importing that
// domain: the names are shared vocabulary, the rows and their rules stay in their domains.

typed_id!(UserId, MembershipId);

typed_id!(
    VillageId,
    ProducerId,
    CategoryId,
    CatalogueEntryId,
    ProductId,
    VariantId,
    StockMovementId,
);

typed_id!(OrderId, OrderLineId, OrderLineAttributionId, ShipmentId, ShipmentItemId);

typed_id!(PaymentId, RefundId);

typed_id!(
    PayoutId,
    PayoutBatchId,
    EarningId,
    HostCommissionId,
    CooperativeMemberId,
    HouseholdShareId
);

typed_id!(
    LiveSessionId,
    LiveSessionItemId,
    PromoLinkId,
    CommissionPlanId,
    SessionPurchaseId
);

typed_id!(
    OrganisationId,
    AllowanceGrantId,
    InviteId,
    LedgerEntryId,
    OrganisationAdminId,
    PledgeId
);

typed_id!(ClaimId, ClaimLineId);

typed_id!(SavedAddressId, CartLineId, ShippingProvinceId);
typed_id!(StoreId, ShelfMovementId, CounterSaleId, CounterRefundId);
