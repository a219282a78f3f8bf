//! Which requests the cache may answer, and what makes two of them the same.

use sha2::{Digest, Sha256};

/// A digest of what makes two requests the same: query, variables and operation name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey(pub(super) String);

impl RequestKey {
    pub fn of(request: &async_graphql::Request) -> RequestKey {
        let mut digest = Sha256::new();
        digest.update(request.query.as_bytes());
        digest.update([0]);
        if !request.variables.is_empty() {
            digest.update(serde_json::to_vec(&request.variables).unwrap_or_default());
        }
        digest.update([0]);
        digest.update(request.operation_name.as_deref().unwrap_or_default().as_bytes());
        RequestKey(hex::encode(digest.finalize()))
    }
}

/// Root fields whose anonymous answers may be shared between callers.
const STOREFRONT_FIELDS: &[&str] = &[
    "products",
    "product",
    "villages",
    "village",
    "categories",
    "node",
    "__typename",
];

/// Whether a query reads only the storefront (so its anonymous answer may be shared).
pub fn is_storefront_query(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    operations.iter().all(|operation| {
        operation.node.ty == OperationType::Query
            && operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .all(|selection| match &selection.node {
                    Selection::Field(field) => STOREFRONT_FIELDS.contains(&field.node.name.node.as_str()),
                    _ => false,
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_storefront_queries_are_shared() {
        assert!(is_storefront_query("{ products { totalCount } categories { slug } }"));
        assert!(is_storefront_query("query Q($id: ID!) { node(id: $id) { id } }"));
        assert!(!is_storefront_query("{ me { email } }"));
        assert!(!is_storefront_query("{ products { totalCount } me { email } }"));
        assert!(!is_storefront_query("mutation { logout { revoked } }"));
        assert!(!is_storefront_query(
            "{ ...F } fragment F on Query { products { totalCount } }"
        ));
        assert!(!is_storefront_query("{ broken"));
    }
}
