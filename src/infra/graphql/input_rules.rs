//! Rules every request's document is held to before anything runs:
//!
//! - At most one field that checks a password (`register`, `login`, `changePassword`) per
//!   request: each costs an argon2 hash of 19 MiB, and aliases would otherwise let one POST
//!   ask for thousands.
//! - No control characters in string inputs (PostgreSQL refuses NUL outright, and none belongs
//!   in an email, an address or a search). The catalogue's names and descriptions are left to
//!   the catalogue, which refuses them as `INVALID_INPUT` user errors: the schema names such
//!   inputs when it installs the rules (`InputRules::self_checked_text`).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Pos, ServerError, ServerResult, Value as ConstValue, Variables};

use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// Root mutation fields that check a password.
pub const CREDENTIAL_FIELDS: &[&str] = &["register", "login", "changePassword"];

/// Text inputs a domain checks itself, refusing control characters as its own user errors:
/// root field, and the path to the input within it.
pub type SelfCheckedText = &'static [(&'static str, &'static [&'static str])];

#[derive(Clone, Copy)]
pub struct InputRules {
    pub self_checked_text: SelfCheckedText,
}

impl ExtensionFactory for InputRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for InputRules {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, variables, self.self_checked_text)?;
        Ok(document)
    }
}

fn refusal(message: Message, code: ErrorCode, pos: Option<Pos>) -> ServerError {
    crate::infra::error::coded(message, code).into_server_error(pos.unwrap_or_default())
}

fn check(document: &ExecutableDocument, variables: &Variables, self_checked: SelfCheckedText) -> ServerResult<()> {
    let mut walk = Walk {
        document,
        variables,
        credential_fields: 0,
        fragments_seen: HashSet::new(),
        self_checked,
    };
    for (_, operation) in document.operations.iter() {
        let root = match operation.node.ty {
            OperationType::Mutation => Root::Mutation,
            _ => Root::Other,
        };
        walk.selections(&operation.node.selection_set.node, Some(root))?;
        if walk.credential_fields > 1 {
            return Err(refusal(
                Message::new("one-password-per-request").with("fields", CREDENTIAL_FIELDS.join(", ")),
                ErrorCode::TooManyCredentialFields,
                Some(operation.pos),
            ));
        }
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            if variables.get(name).is_none()
                && let Some(default) = &definition.node.default_value
            {
                check_text(
                    &default.node,
                    &format!("${name}"),
                    &[],
                    "",
                    Some(default.pos),
                    self_checked,
                )?;
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    Mutation,
    Other,
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    credential_fields: usize,
    fragments_seen: HashSet<String>,
    self_checked: SelfCheckedText,
}

impl Walk<'_> {
    /// `root` is set while the selections are the operation's own (root fields), through
    /// fragments spread there.
    fn selections(&mut self, set: &SelectionSet, root: Option<Root>) -> ServerResult<()> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if root == Some(Root::Mutation) && CREDENTIAL_FIELDS.contains(&name) {
                        self.credential_fields += 1;
                    }
                    let root_field = if root.is_some() { name } else { "" };
                    for (argument, value) in &field.node.arguments {
                        // Variables are checked where they are used, as part of the argument.
                        let value = value.node.clone().into_const_with(|name| {
                            Ok::<_, std::convert::Infallible>(
                                self.variables.get(&name).cloned().unwrap_or(ConstValue::Null),
                            )
                        });
                        let Ok(value) = value;
                        let name = argument.node.as_str();
                        check_text(&value, name, &[name], root_field, Some(argument.pos), self.self_checked)?;
                    }
                    self.selections(&field.node.selection_set.node, None)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    // Each fragment once: a cycle (refused later by validation) must not loop here.
                    if !self.fragments_seen.insert(name.clone()) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(name.as_str()) {
                        self.selections(&fragment.node.selection_set.node, root)?;
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selections(&fragment.node.selection_set.node, root)?;
                }
            }
        }
        Ok(())
    }
}

/// Checks every string in `value`, an argument at `path` of `root_field` (or a variable).
fn check_text(
    value: &ConstValue,
    shown: &str,
    path: &[&str],
    root_field: &str,
    pos: Option<Pos>,
    self_checked: SelfCheckedText,
) -> ServerResult<()> {
    match value {
        ConstValue::String(text) => {
            let checked_by_its_domain = self_checked
                .iter()
                .any(|(field, field_path)| *field == root_field && *field_path == path);
            if checked_by_its_domain {
                return Ok(());
            }
            refuse_control(text, shown, pos)
        }
        ConstValue::List(items) => items
            .iter()
            .try_for_each(|item| check_text(item, shown, path, root_field, pos, self_checked)),
        ConstValue::Object(fields) => fields.iter().try_for_each(|(key, field)| {
            let mut path = path.to_vec();
            path.push(key.as_str());
            check_text(field, &format!("{shown}.{key}"), &path, root_field, pos, self_checked)
        }),
        _ => Ok(()),
    }
}

fn refuse_control(text: &str, shown: &str, pos: Option<Pos>) -> ServerResult<()> {
    if !text.chars().any(crate::infra::text::is_refused_control) {
        return Ok(());
    }
    Err(refusal(
        Message::new("control-character-in-input").with("input", shown),
        ErrorCode::BadUserInput,
        pos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str, variables: serde_json::Value) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        check(&document, &variables, &[("updateVariant", &["input", "name"])]).map_err(|error| error.message)
    }

    #[test]
    fn one_password_check_per_request() {
        assert!(
            checked(
                "mutation { login(email: \"a\", password: \"b\") { token } }",
                serde_json::json!({})
            )
            .is_ok()
        );
        let aliased = "mutation { a: login(email: \"a\", password: \"b\") { token } b: login(email: \"a\", password: \"c\") { token } }";
        assert!(checked(aliased, serde_json::json!({})).is_err());
        let hidden = "mutation { ...F register(input: {email: \"a\", password: \"b\", displayName: \"c\"}) { token } }
            fragment F on Mutation { ... on Mutation { changePassword(currentPassword: \"a\", newPassword: \"b\") { token } } }";
        assert!(checked(hidden, serde_json::json!({})).is_err());
        let cyclic = "mutation { ...F } fragment F on Mutation { ...F login(email: \"a\", password: \"b\") { token } }";
        assert!(
            checked(cyclic, serde_json::json!({})).is_ok(),
            "validation refuses the cycle later"
        );
    }

    #[test]
    fn control_characters_are_refused_in_inputs() {
        let query = "query($s: String) { products(filter: { search: $s }) { totalCount } }";
        assert!(checked(query, serde_json::json!({ "s": "百合" })).is_ok());
        assert!(checked(query, serde_json::json!({ "s": "a\u{0}b" })).is_err());
        assert!(checked("{ product(slug: \"a\\u0000\") { name } }", serde_json::json!({})).is_err());
        assert!(checked("{ product(slug: \"a\\nb\") { name } }", serde_json::json!({})).is_ok());
        // An input its domain checks itself is left to it.
        let update = "mutation($input: VariantUpdateInput!) { updateVariant(variantId: \"x\", input: $input) { userErrors { code } } }";
        assert!(checked(update, serde_json::json!({ "input": { "name": "a\u{1}" } })).is_ok());
        assert!(checked(update, serde_json::json!({ "input": { "price": "1\u{0}" } })).is_err());
    }
}
