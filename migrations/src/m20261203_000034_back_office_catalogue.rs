//! The back office's catalogue: a product can be unpublished (taken off the storefront, its
//! orders kept), and carries pictures, each the media store's keys of its three copies.

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
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let big = if postgres { "bigint" } else { "integer" };
        execute(
            manager,
            "ALTER TABLE products ADD COLUMN published boolean NOT NULL DEFAULT true",
        )
        .await?;
        execute(
            manager,
            &format!(
                "CREATE TABLE product_images (
                    product_id {big} NOT NULL REFERENCES products (id),
                    position integer NOT NULL CHECK (position BETWEEN 0 AND 11),
                    width integer NOT NULL CHECK (width > 0),
                    height integer NOT NULL CHECK (height > 0),
                    thumbnail_key varchar(256) NOT NULL,
                    medium_key varchar(256) NOT NULL,
                    large_key varchar(256) NOT NULL,
                    alt varchar(200),
                    PRIMARY KEY (product_id, position)
                )"
            ),
        )
        .await?;
        // SQLite cannot add a CHECK to a table that exists; PostgreSQL holds these too.
        if postgres {
            execute(
                manager,
                "ALTER TABLE villages
                    ADD CONSTRAINT villages_exit_year CHECK (
                        exited_poverty_year IS NULL
                        OR (registered_poor AND exited_poverty_year BETWEEN 1978 AND 2100)),
                    ADD CONSTRAINT villages_slug_format CHECK (slug ~ '^[a-z0-9-]{2,80}$')",
            )
            .await?;
            execute(
                manager,
                "ALTER TABLE producers ADD CONSTRAINT producers_slug_format CHECK (slug ~ '^[a-z0-9-]{2,80}$');
                 ALTER TABLE categories ADD CONSTRAINT categories_slug_format CHECK (slug ~ '^[a-z0-9-]{2,80}$')",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            execute(
                manager,
                "ALTER TABLE villages DROP CONSTRAINT villages_exit_year, DROP CONSTRAINT villages_slug_format;
                 ALTER TABLE producers DROP CONSTRAINT producers_slug_format;
                 ALTER TABLE categories DROP CONSTRAINT categories_slug_format",
            )
            .await?;
        }
        execute(manager, "DROP TABLE product_images").await?;
        execute(manager, "ALTER TABLE products DROP COLUMN published").await
    }
}
