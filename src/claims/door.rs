//! What claims bring to the shop: their GraphQL roots and node type, their settings
//! (`HUAKAI_CLAIM_WINDOW`, `HUAKAI_CLAIM_RESPONSE`), and the worker that refunds claims left
//! unanswered and completes orders past their claim window.

use tokio::task::JoinHandle;

use super::ClaimSettings;
pub use super::graphql::{Claim, ClaimsMutation as Mutation, ClaimsQuery as Query};
use crate::infra::graphql::global_id::node_types;
use crate::infra::settings::{ConfigError, parse_duration, parse_setting};
use crate::shop::door::{Door, Lookup};
use crate::shop::{Parts, Shop};

node_types! {
    Claim => super::graphql::node,
}

pub struct ClaimsDoor;

impl Door for ClaimsDoor {
    fn parts(&self, lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        Ok(parts.with(ClaimSettings {
            window: parse_setting(
                "HUAKAI_CLAIM_WINDOW",
                lookup("HUAKAI_CLAIM_WINDOW"),
                "7d",
                parse_duration,
            )?,
            response: parse_setting(
                "HUAKAI_CLAIM_RESPONSE",
                lookup("HUAKAI_CLAIM_RESPONSE"),
                "48h",
                parse_duration,
            )?,
        }))
    }

    fn workers(&self, shop: &Shop) -> Vec<JoinHandle<()>> {
        vec![super::worker::spawn(shop.clone())]
    }
}
