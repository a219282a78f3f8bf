//! Opaque global ids for `Node`: base64url of "Type:number". Clients must not parse them;
//! they only need to be stable and to say which type they name.

use std::future::Future;

use async_graphql::{Context, ID};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::infra::error::AppResult;

/// An object type `node(id:)` can fetch, by its GraphQL name. Each domain declares its own in
/// its door (`impl NodeType { pub const Claim: NodeType = NodeType::named("Claim"); }`), so this
/// storey names none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeType(&'static str);

impl NodeType {
    pub const fn named(name: &'static str) -> NodeType {
        NodeType(name)
    }

    pub fn name(self) -> &'static str {
        self.0
    }
}

/// An object `node(id:)` fetches: its type, and how its domain finds it for the caller (null
/// when there is none the caller may see).
pub trait NodeObject: Sized {
    const TYPE: NodeType;

    fn fetch(ctx: &Context<'_>, row_id: i64) -> impl Future<Output = AppResult<Option<Self>>> + Send;
}

/// Declares a domain's node types, each fetched by its resolver given a typed row id:
/// `node_types! { Claim => super::graphql::node }` makes `NodeType::Claim` and the
/// `NodeObject` the schema's `node(id:)` dispatches to.
macro_rules! node_types {
    ($($object:ident => $resolver:path),* $(,)?) => {
        // Spelled as the GraphQL types they name, as the ids spell them.
        #[allow(non_upper_case_globals)]
        impl $crate::infra::graphql::global_id::NodeType {
            $(pub const $object: $crate::infra::graphql::global_id::NodeType =
                $crate::infra::graphql::global_id::NodeType::named(stringify!($object));)*
        }
        $(impl $crate::infra::graphql::global_id::NodeObject for $object {
            const TYPE: $crate::infra::graphql::global_id::NodeType =
                $crate::infra::graphql::global_id::NodeType::$object;

            async fn fetch(
                ctx: &async_graphql::Context<'_>,
                row_id: i64,
            ) -> $crate::infra::error::AppResult<Option<$object>> {
                $resolver(ctx, row_id.into()).await
            }
        })*
    };
}
pub(crate) use node_types;

pub fn encode(node_type: NodeType, id: impl Into<i64>) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", node_type.name(), id.into())))
}

/// The type's name and the row id an opaque id holds, or `None` when it is not one of ours;
/// which names are types is the schema's to say.
pub fn decode(id: &str) -> Option<(String, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, number) = text.split_once(':')?;
    let number: i64 = number.parse().ok()?;
    (number > 0).then(|| (name.to_owned(), number))
}

/// The row id when `id` names an object of `expected` type, as the caller's id type.
pub fn decode_as<RowId: From<i64>>(id: &str, expected: NodeType) -> Option<RowId> {
    decode(id).and_then(|(name, number)| (name == expected.name()).then(|| number.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARIANT: NodeType = NodeType::named("Variant");
    const PRODUCT: NodeType = NodeType::named("Product");

    #[test]
    fn round_trips_and_rejects_foreign_ids() {
        let id = encode(VARIANT, 42);
        assert_eq!(decode(&id), Some(("Variant".to_owned(), 42)));
        assert_eq!(decode_as::<i64>(&id, VARIANT), Some(42));
        assert_eq!(decode_as::<i64>(&id, PRODUCT), None);
        assert_eq!(decode("not-an-id"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Variant:-1")), None);
    }
}
