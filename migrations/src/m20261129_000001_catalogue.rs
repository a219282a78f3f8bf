//! The storefront catalogue: villages, producers, catalogue entries, products, variants and stock.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Categories {
    Table,
    Slug,
    Name,
    Position,
}

#[derive(DeriveIden)]
enum Villages {
    Table,
    Slug,
    Name,
    Town,
    District,
    RegisteredPoor,
    ExitedPovertyYear,
    Story,
}

#[derive(DeriveIden)]
enum Producers {
    Table,
    Slug,
    Name,
    Kind,
    VillageId,
    LinkedPoorHouseholds,
}

#[derive(DeriveIden)]
enum CatalogueEntries {
    Table,
    Code,
    Issuer,
    ValidFrom,
    ValidTo,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Slug,
    Name,
    Description,
    CategoryId,
    VillageId,
    ProducerId,
    CatalogueEntryId,
    MinPriceFen,
    MaxPriceFen,
    UnitsSold,
    ListedAt,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    ProductId,
    Sku,
    Name,
    PriceFen,
    WeightGrams,
    Position,
}

#[derive(DeriveIden)]
enum StockLevels {
    Table,
    VariantId,
    OnHand,
    Reserved,
}

fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn fk(from_table: impl IntoIden, from_col: impl IntoIden, to_table: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, Alias::new("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(id())
                    .col(ColumnDef::new(Categories::Slug).string().not_null().unique_key())
                    .col(ColumnDef::new(Categories::Name).string().not_null())
                    .col(ColumnDef::new(Categories::Position).integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Villages::Table)
                    .col(id())
                    .col(ColumnDef::new(Villages::Slug).string().not_null().unique_key())
                    .col(ColumnDef::new(Villages::Name).string().not_null())
                    .col(ColumnDef::new(Villages::Town).string().not_null())
                    .col(ColumnDef::new(Villages::District).string().not_null())
                    .col(ColumnDef::new(Villages::RegisteredPoor).boolean().not_null())
                    .col(ColumnDef::new(Villages::ExitedPovertyYear).integer().null())
                    .col(ColumnDef::new(Villages::Story).text().not_null().default(""))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Producers::Table)
                    .col(id())
                    .col(ColumnDef::new(Producers::Slug).string().not_null().unique_key())
                    .col(ColumnDef::new(Producers::Name).string().not_null())
                    .col(ColumnDef::new(Producers::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Producers::VillageId).big_integer().not_null())
                    .col(
                        ColumnDef::new(Producers::LinkedPoorHouseholds)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .check(Expr::col(Producers::Kind).is_in(["HOUSEHOLD", "COOPERATIVE", "WORKSHOP"]))
                    .check(Expr::col(Producers::LinkedPoorHouseholds).gte(0))
                    .foreign_key(&mut fk(Producers::Table, Producers::VillageId, Villages::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CatalogueEntries::Table)
                    .col(id())
                    .col(ColumnDef::new(CatalogueEntries::Code).string().not_null().unique_key())
                    .col(ColumnDef::new(CatalogueEntries::Issuer).string().not_null())
                    .col(ColumnDef::new(CatalogueEntries::ValidFrom).date().not_null())
                    .col(ColumnDef::new(CatalogueEntries::ValidTo).date().not_null())
                    .check(Expr::col(CatalogueEntries::ValidTo).gte(Expr::col(CatalogueEntries::ValidFrom)))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(id())
                    .col(ColumnDef::new(Products::Slug).string().not_null().unique_key())
                    .col(ColumnDef::new(Products::Name).string().not_null())
                    .col(ColumnDef::new(Products::Description).text().not_null())
                    .col(ColumnDef::new(Products::CategoryId).big_integer().not_null())
                    .col(ColumnDef::new(Products::VillageId).big_integer().not_null())
                    .col(ColumnDef::new(Products::ProducerId).big_integer().not_null())
                    .col(ColumnDef::new(Products::CatalogueEntryId).big_integer().null())
                    // The cheapest and dearest variant, kept in step with the variants so that
                    // price sorts and keyset pagination run on indexed columns.
                    .col(
                        ColumnDef::new(Products::MinPriceFen)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Products::MaxPriceFen)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Products::UnitsSold).big_integer().not_null().default(0))
                    .col(ColumnDef::new(Products::ListedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::col(Products::MinPriceFen).gte(0))
                    .check(Expr::col(Products::MaxPriceFen).gte(Expr::col(Products::MinPriceFen)))
                    .check(Expr::col(Products::UnitsSold).gte(0))
                    .foreign_key(&mut fk(Products::Table, Products::CategoryId, Categories::Table))
                    .foreign_key(&mut fk(Products::Table, Products::VillageId, Villages::Table))
                    .foreign_key(&mut fk(Products::Table, Products::ProducerId, Producers::Table))
                    .foreign_key(&mut fk(
                        Products::Table,
                        Products::CatalogueEntryId,
                        CatalogueEntries::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_products_listed_at", Products::ListedAt),
            ("idx_products_min_price", Products::MinPriceFen),
            ("idx_products_units_sold", Products::UnitsSold),
            ("idx_products_category", Products::CategoryId),
            ("idx_products_village", Products::VillageId),
            ("idx_products_producer", Products::ProducerId),
        ] {
            manager
                .create_index(Index::create().name(name).table(Products::Table).col(column).to_owned())
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Variants::Table)
                    .col(id())
                    .col(ColumnDef::new(Variants::ProductId).big_integer().not_null())
                    .col(ColumnDef::new(Variants::Sku).string().not_null().unique_key())
                    .col(ColumnDef::new(Variants::Name).string().not_null())
                    .col(ColumnDef::new(Variants::PriceFen).big_integer().not_null())
                    .col(ColumnDef::new(Variants::WeightGrams).integer().not_null().default(0))
                    .col(ColumnDef::new(Variants::Position).integer().not_null().default(0))
                    .check(Expr::col(Variants::PriceFen).gt(0))
                    .check(Expr::col(Variants::WeightGrams).gte(0))
                    .foreign_key(&mut fk(Variants::Table, Variants::ProductId, Products::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_variants_product")
                    .table(Variants::Table)
                    .col(Variants::ProductId)
                    .to_owned(),
            )
            .await?;

        // Stock sits in its own narrow table: it changes far more often than the catalogue,
        // and the storefront cache keeps it apart from the cached catalogue data.
        manager
            .create_table(
                Table::create()
                    .table(StockLevels::Table)
                    .col(
                        ColumnDef::new(StockLevels::VariantId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(StockLevels::OnHand).big_integer().not_null().default(0))
                    .col(
                        ColumnDef::new(StockLevels::Reserved)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .check(Expr::col(StockLevels::OnHand).gte(0))
                    .check(Expr::col(StockLevels::Reserved).gte(0))
                    .check(Expr::col(StockLevels::Reserved).lte(Expr::col(StockLevels::OnHand)))
                    .foreign_key(&mut fk(StockLevels::Table, StockLevels::VariantId, Variants::Table))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
