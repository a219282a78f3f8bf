//! What a request's GraphQL document holds, read before it runs.

/// Whether a document holds a mutation or a subscription (which a GET must never run, and
/// which are never kept as persisted queries). A document that does not parse holds neither:
/// executing it only reports the syntax error.
pub fn holds_write_operation(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    // Parsing costs more than serving a cached answer: the keywords must be in the text of a
    // document that has such an operation, so only documents that contain one are parsed.
    if !query.contains("mutation") && !query.contains("subscription") {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let writes = |ty: OperationType| ty != OperationType::Query;
    match &document.operations {
        DocumentOperations::Single(operation) => writes(operation.node.ty),
        DocumentOperations::Multiple(operations) => operations.values().any(|operation| writes(operation.node.ty)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_writes() {
        assert!(holds_write_operation("mutation { x }"));
        assert!(holds_write_operation("query A { a } mutation B { b }"));
        assert!(!holds_write_operation("{ products { totalCount } }"));
        assert!(!holds_write_operation("{ product(slug: \"mutation\") { name } }"));
    }
}
