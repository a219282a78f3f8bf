//! The depth and cost limits, with introspection answered in full.
//!
//! A data query is refused past [`super::MAX_DEPTH`] and [`super::MAX_COMPLEXITY`]. The standard
//! introspection query (graphql-js's `getIntrospectionQuery`, which GraphiQL, graphql-codegen,
//! Apollo's tools, Postman and Insomnia send) nests type references nine `ofType`s deep, past
//! any depth a data query needs; raising the limits for it would raise them for everyone. So a
//! document whose every root field is `__schema`, `__type` or `__typename` is held to bounds of
//! its own instead, which the standard queries pass and which keep its work proportional to the
//! schema's size: it runs no resolver of the shop, and
//!
//! - lists (`types`, `fields`, `args`, …) nest at most [`INTROSPECTION_LIST_NESTING`] deep, and
//!   none is selected under a type reference (`type`, `ofType`), where a query could otherwise
//!   walk the schema's graph again from every field;
//! - it is at most [`INTROSPECTION_MAX_DEPTH`] deep and selects at most
//!   [`INTROSPECTION_MAX_COMPLEXITY`] fields (fragments counted where they are spread), which
//!   bounds how many copies of the schema one request can ask for.
//!
//! A document mixing introspection with data fields is a data query, under the shop's limits.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_graphql::ServerError;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerResult, ValidationResult, Variables};

use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// Deep enough for graphql-js's type references (nine `ofType`s under `__schema.types.fields.type`).
pub const INTROSPECTION_MAX_DEPTH: usize = 20;
/// About four times what the deepest standard introspection query selects.
pub const INTROSPECTION_MAX_COMPLEXITY: usize = 1_000;
/// `__schema.types.fields.args`, the deepest lists the standard query nests.
pub const INTROSPECTION_LIST_NESTING: usize = 3;

/// Introspection fields that answer a list.
const LIST_FIELDS: &[&str] = &[
    "types",
    "directives",
    "fields",
    "args",
    "inputFields",
    "enumValues",
    "interfaces",
    "possibleTypes",
];
/// Introspection fields that follow a reference to another type.
const TYPE_REFERENCES: &[&str] = &["type", "ofType"];
const INTROSPECTION_ROOTS: &[&str] = &["__schema", "__type", "__typename"];

/// Installs the limits (instead of the schema builder's `limit_depth`/`limit_complexity`).
pub struct QueryLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            shape: Mutex::new(Shape::Data),
        })
    }
}

/// What a parsed document is, as far as the limits care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Data,
    /// Introspection only, within its list rules.
    Introspection,
    /// Introspection only, but with lists nested past the rules.
    IntrospectionTooWide,
}

/// One request's limits: the document's shape is found when it is parsed and judged once
/// validation has measured its depth and cost.
struct RequestLimits {
    max_depth: usize,
    max_complexity: usize,
    shape: Mutex<Shape>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        *self.shape.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = shape_of(&document);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let measured = next.run(ctx).await?;
        let shape = *self.shape.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (max_depth, max_complexity) = match shape {
            Shape::Data => (self.max_depth, self.max_complexity),
            Shape::Introspection => (INTROSPECTION_MAX_DEPTH, INTROSPECTION_MAX_COMPLEXITY),
            Shape::IntrospectionTooWide => return Err(vec![refusal("query-too-complex", ErrorCode::QueryTooComplex)]),
        };
        if measured.complexity > max_complexity {
            return Err(vec![refusal("query-too-complex", ErrorCode::QueryTooComplex)]);
        }
        if measured.depth > max_depth {
            return Err(vec![refusal("query-too-deep", ErrorCode::QueryTooDeep)]);
        }
        Ok(measured)
    }
}

fn refusal(message: &'static str, code: ErrorCode) -> ServerError {
    crate::infra::error::coded(Message::new(message), code).into_server_error(Default::default())
}

/// Whether `document` asks for introspection alone, and whether its lists keep to the rules.
fn shape_of(document: &ExecutableDocument) -> Shape {
    let mut walk = Walk {
        document,
        expanding: HashSet::new(),
        data: false,
        too_wide: false,
    };
    for (_, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Query {
            return Shape::Data;
        }
        walk.root(&operation.node.selection_set.node);
    }
    match (walk.data, walk.too_wide) {
        (true, _) => Shape::Data,
        (false, true) => Shape::IntrospectionTooWide,
        (false, false) => Shape::Introspection,
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Fragments being expanded on the current path: a cycle (refused by validation) must not loop.
    expanding: HashSet<String>,
    data: bool,
    too_wide: bool,
}

impl Walk<'_> {
    fn root(&mut self, set: &SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if INTROSPECTION_ROOTS.contains(&field.node.name.node.as_str()) {
                        self.nested(&field.node.selection_set.node, 0, false);
                    } else {
                        self.data = true;
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    if let Some(fragment) = self.document.fragments.get(name.as_str())
                        && self.expanding.insert(name.clone())
                    {
                        self.root(&fragment.node.selection_set.node);
                        self.expanding.remove(&name);
                    }
                }
                Selection::InlineFragment(fragment) => self.root(&fragment.node.selection_set.node),
            }
        }
    }

    /// Selections under an introspection root, `lists` list fields deep, below a type
    /// reference or not.
    fn nested(&mut self, set: &SelectionSet, lists: usize, in_reference: bool) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let is_list = LIST_FIELDS.contains(&name);
                    if is_list && (in_reference || lists + 1 > INTROSPECTION_LIST_NESTING) {
                        self.too_wide = true;
                        return;
                    }
                    self.nested(
                        &field.node.selection_set.node,
                        lists + usize::from(is_list),
                        in_reference || TYPE_REFERENCES.contains(&name),
                    );
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    if let Some(fragment) = self.document.fragments.get(name.as_str())
                        && self.expanding.insert(name.clone())
                    {
                        self.nested(&fragment.node.selection_set.node, lists, in_reference);
                        self.expanding.remove(&name);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.nested(&fragment.node.selection_set.node, lists, in_reference)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        shape_of(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn introspection_alone_is_told_from_data() {
        assert_eq!(
            shape("{ __schema { types { name fields { name args { name } } } } }"),
            Shape::Introspection
        );
        assert_eq!(
            shape("query Q { ...Root } fragment Root on Query { __type(name: \"Product\") { fields { name } } }"),
            Shape::Introspection
        );
        assert_eq!(
            shape("{ __schema { queryType { name } } products { totalCount } }"),
            Shape::Data
        );
        assert_eq!(shape("mutation { __typename }"), Shape::Data);
    }

    #[test]
    fn lists_under_type_references_or_nested_too_deep_are_refused() {
        assert_eq!(
            shape("{ __schema { types { fields { type { fields { name } } } } } }"),
            Shape::IntrospectionTooWide
        );
        assert_eq!(
            shape("{ __schema { types { interfaces { fields { args { name } } } } } }"),
            Shape::IntrospectionTooWide
        );
        assert_eq!(
            shape("{ __schema { types { ...T } } } fragment T on __Type { ofType { ...T fields { name } } }"),
            Shape::IntrospectionTooWide
        );
    }
}
