//! A claim's photos: up to six per claim (the position's CHECK), each the media store's keys of
//! its three copies and the original's size. Written in the claim's transaction.

use sea_orm_migration::prelude::*;

use crate::sql::execute;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let big = if manager.get_database_backend() == DbBackend::Postgres {
            "bigint"
        } else {
            "integer"
        };
        execute(
            manager,
            &format!(
                "CREATE TABLE claim_photos (
                    claim_id {big} NOT NULL REFERENCES claims (id),
                    position integer NOT NULL CHECK (position BETWEEN 0 AND 5),
                    width integer NOT NULL CHECK (width > 0),
                    height integer NOT NULL CHECK (height > 0),
                    thumbnail_key varchar(256) NOT NULL,
                    medium_key varchar(256) NOT NULL,
                    large_key varchar(256) NOT NULL,
                    PRIMARY KEY (claim_id, position)
                )"
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, "DROP TABLE claim_photos").await
    }
}
