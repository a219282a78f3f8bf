//! What the catalogue brings to the shop: its GraphQL roots and node types, the batched
//! loader of its rows that every request gets, and the `huakai catalogue import` command. It has
//! no settings, workers or routes of its own.

use async_graphql::MergedObject;
use sea_orm::DatabaseConnection;

use super::graphql::{
    BackOfficeCatalogueMutation, CatalogueListingMutation, CatalogueManagementQuery, CatalogueMutation, CatalogueQuery,
    producer_node, product_node, variant_node, village_node,
};
pub use super::graphql::{Producer, Product, Variant, Village};
use super::import::command::CatalogueCommand;
use crate::infra::graphql::global_id::node_types;
use crate::shop::door::{Door, DoorCommand};

#[derive(MergedObject, Default)]
#[graphql(name = "CatalogueRootQuery")]
pub struct Query(CatalogueQuery, CatalogueManagementQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "CatalogueRootMutation")]
pub struct Mutation(CatalogueMutation, CatalogueListingMutation, BackOfficeCatalogueMutation);

node_types! {
    Product => product_node,
    Variant => variant_node,
    Village => village_node,
    Producer => producer_node,
}

pub struct CatalogueDoor;

impl Door for CatalogueDoor {
    fn loaders(&self, db: &DatabaseConnection, request: async_graphql::Request) -> async_graphql::Request {
        request.data(super::loaders::request_loader(db))
    }

    fn command(&self) -> Option<&dyn DoorCommand> {
        Some(&CatalogueCommand)
    }
}
