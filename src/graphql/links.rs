//! The fields by which a domain's object leads to a domain standing above it: an order's
//! payment, after-sales claims and organisation, a grower's claims, an account's saved addresses and
//! producer. The domains below declare their objects with room for these
//! (`#[graphql(complex)]`), and the schema, which stands above them all, fills it in here, so a
//! domain never names the domains built on it.

use async_graphql::{ComplexObject, Context};

use crate::accounts::graphql::User;
use crate::accounts::memberships;
use crate::cart::graphql::{SavedAddress, addresses_of};
use crate::catalogue::graphql::Producer;
use crate::catalogue::loaders::loader;
use crate::claims::ClaimStatus;
use crate::claims::graphql::{Claim, of_order, queue};
use crate::infra::error::AppError;
use crate::infra::graphql::context::database;
use crate::infra::graphql::relay::RelayConnection;
use crate::infra::ids::ClaimId;
use crate::orders::graphql::Order;
use crate::payments::graphql::payment::{Payment, payment_for};
use crate::payouts::graphql::ProducerAccount;
use crate::unions::graphql::{Organisation, organisation_node};

type Result<T> = async_graphql::Result<T>;

#[ComplexObject]
impl Order {
    /// After-sales claims on the order; to a grower, those on its own lines.
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<Claim>> {
        of_order(ctx, self.order_id(), self.only_producer()).await
    }

    /// How the order is paid; the client secret only to the buyer.
    async fn payment(&self, ctx: &Context<'_>) -> Result<Option<Payment>> {
        Ok(payment_for(ctx, self.row(), self.only_producer()).await?)
    }

    /// The union or budget unit the order is credited to (消费帮扶), to those who may see it.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let Some(organisation_id) = self.organisation_id() else {
            return Ok(None);
        };
        Ok(organisation_node(ctx, organisation_id).await?)
    }
}

#[ComplexObject]
impl ProducerAccount {
    /// The producer's after-sales claims, newest first: its growers' queue.
    #[graphql(complexity = "crate::infra::graphql::relay::connection_complexity(first, child_complexity)")]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<ClaimStatus>>,
    ) -> Result<RelayConnection<ClaimId, Claim>> {
        queue(ctx, Some(self.producer_id()), first, after, status).await
    }
}

#[ComplexObject]
impl User {
    /// The producer a grower works for.
    async fn producer(&self, ctx: &Context<'_>) -> Result<Option<Producer>> {
        let Some(producer_id) = memberships::current_producer(database(ctx)?, self.user_id()).await? else {
            return Ok(None);
        };
        let producer = loader(ctx)?.load_one(producer_id).await.map_err(AppError::from)?;
        Ok(producer.map(Producer))
    }

    /// The user's address book, the default first.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<SavedAddress>> {
        Ok(addresses_of(ctx, self.user_id()).await?)
    }
}
