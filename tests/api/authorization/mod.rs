//! The authorization matrix: every private query and mutation, asked by each kind of caller,
//! with the outcome each must get. Every issue that adds a private operation adds its rows.

use huakai::accounts::Role;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::{Actor, Backend, TestApp};

/// What a caller gets back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// An answer (the field is not null, no errors).
    Allowed,
    /// A null answer: the object is not theirs to see, and its existence is not revealed.
    Hidden,
    /// `extensions.code = UNAUTHENTICATED`.
    Unauthenticated,
    /// `extensions.code = FORBIDDEN`.
    Forbidden,
}

use Outcome::{Allowed, Forbidden, Hidden, Unauthenticated};

mod back_office_catalogue;
mod back_office_desk;
mod checkout;
mod claims;
mod hosts_and_organisations;
mod notify;
mod private_operations;
mod stores;

/// The callers, in the order of each row's outcomes.
struct Cast {
    names: [&'static str; 6],
    anonymous: Actor,
    buyer: Actor,
    other_buyer: Actor,
    grower: Actor,
    other_grower: Actor,
    operator: Actor,
}

impl Cast {
    fn all(&self) -> [(&'static str, &Actor); 6] {
        let [anonymous, buyer, other_buyer, grower, other_grower, operator] = self.names;
        [
            (anonymous, &self.anonymous),
            (buyer, &self.buyer),
            (other_buyer, &self.other_buyer),
            (grower, &self.grower),
            (other_grower, &self.other_grower),
            (operator, &self.operator),
        ]
    }
}

struct Row {
    operation: &'static str,
    query: &'static str,
    variables: Value,
    /// anonymous, buyer, another buyer, grower, another grower, operator
    expected: [Outcome; 6],
}

fn outcome_of(status: u16, answer: &Value, field: &str) -> Outcome {
    if let Some(code) = answer["errors"][0]["extensions"]["code"].as_str() {
        return match code {
            "UNAUTHENTICATED" => Unauthenticated,
            "FORBIDDEN" => Forbidden,
            other => panic!("unexpected error code {other} (HTTP {status}): {answer:#}"),
        };
    }
    assert_eq!(status, 200, "{answer:#}");
    assert!(answer.get("errors").is_none(), "{answer:#}");
    // A mutation on an object the caller may not see answers as if it did not exist.
    let payload = &answer["data"][field];
    if payload.is_null() || payload["userErrors"][0]["code"] == "NOT_FOUND" {
        Hidden
    } else {
        Allowed
    }
}

async fn check_rows(app: &TestApp, cast: &Cast, rows: &[Row]) {
    for row in rows {
        for ((who, actor), expected) in cast.all().into_iter().zip(row.expected) {
            let (status, answer) = app.graphql_as(actor, row.query, row.variables.clone()).await;
            let got = outcome_of(status, &answer, row.operation);
            assert_eq!(got, expected, "{} as {who}: {answer:#}", row.operation);
        }
    }
}
