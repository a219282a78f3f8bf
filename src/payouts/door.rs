//! What payouts bring to the shop: their GraphQL roots and node type, the ledger's settings
//! (`HUAKAI_PLATFORM_FEE_BPS`, `HUAKAI_PAYOUT_HOLD`), the ledger as the follower of
//! deliveries and refunds, which the domains below call without naming payouts, and the
//! `huakai payouts` command.

use std::sync::Arc;

use super::command::PayoutsCommand;
pub use super::graphql::{Payout, PayoutsMutation as Mutation, PayoutsQuery as Query};
use super::ledger::{CreditOnDelivery, PayoutSettings, ReverseOnRefund};
use crate::infra::graphql::global_id::node_types;
use crate::infra::settings::{ConfigError, parse_bps, parse_duration, parse_setting};
use crate::orders::DeliveryFollower;
use crate::payments::follower::RefundFollower;
use crate::shop::Parts;
use crate::shop::door::{Door, DoorCommand, Lookup};

node_types! {
    Payout => super::graphql::node,
}

pub struct PayoutsDoor;

impl Door for PayoutsDoor {
    fn parts(&self, lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        let settings = PayoutSettings {
            platform_fee_bps: parse_setting(
                "HUAKAI_PLATFORM_FEE_BPS",
                lookup("HUAKAI_PLATFORM_FEE_BPS"),
                "500",
                parse_bps,
            )?,
            hold: parse_setting("HUAKAI_PAYOUT_HOLD", lookup("HUAKAI_PAYOUT_HOLD"), "7d", parse_duration)?,
        };
        Ok(parts
            .with(settings)
            .with::<Arc<dyn DeliveryFollower>>(Arc::new(CreditOnDelivery))
            .with::<Arc<dyn RefundFollower>>(Arc::new(ReverseOnRefund)))
    }

    fn command(&self) -> Option<&dyn DoorCommand> {
        Some(&PayoutsCommand)
    }
}
