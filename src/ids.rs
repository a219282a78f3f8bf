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
