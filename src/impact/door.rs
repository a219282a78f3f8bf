//! What the impact report brings to the shop: its GraphQL query, the reports computed lately
//! (shared by the query and the pages), and the pages `/impact`, `/impact.csv`, `/impact.json`.

use std::sync::Arc;

use axum::Router;

use super::ImpactReports;
pub use super::graphql::ImpactQuery as Query;
use crate::accounts::service::Accounts;
use crate::infra::settings::ConfigError;
use crate::shop::door::{Door, Lookup};
use crate::shop::{Parts, Shop};

pub struct ImpactDoor;

impl Door for ImpactDoor {
    fn parts(&self, _lookup: Lookup<'_>, parts: Parts) -> Result<Parts, ConfigError> {
        Ok(parts.with(Arc::new(ImpactReports::default())))
    }

    fn routes(&self, shop: &Shop, _accounts: &Arc<Accounts>) -> Router {
        super::http::routes(shop.db.clone(), shop.impact_reports().clone())
    }
}

impl Shop {
    pub fn impact_reports(&self) -> &Arc<ImpactReports> {
        self.part()
    }
}
