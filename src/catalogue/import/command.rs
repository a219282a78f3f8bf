//! `huakai catalogue import FILE [--dry-run]`.

use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use clap::{FromArgMatches, Parser, Subcommand};

use crate::infra::i18n::Language;
use crate::shop::door::{DoorCommand, OpenShop};

/// The catalogue.
#[derive(Parser)]
#[command(name = "catalogue")]
struct Catalogue {
    #[command(subcommand)]
    action: CatalogueAction,
}

#[derive(Subcommand)]
enum CatalogueAction {
    /// Import the district's 目录 list (CSV: catalogue_code, product_slug, product_name,
    /// category_slug, producer_slug, village_slug, issuer, valid_from, valid_to, variant_sku,
    /// variant_name, price, stock): entries, products and variants created or updated, all rows
    /// or none. A progress line per hundred rows goes to standard error.
    Import {
        file: PathBuf,
        /// Check and report without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

pub struct CatalogueCommand;

#[async_trait]
impl DoorCommand for CatalogueCommand {
    fn command(&self) -> clap::Command {
        <Catalogue as clap::CommandFactory>::command()
    }

    async fn run(&self, matches: &clap::ArgMatches, opener: &dyn OpenShop, language: Language) -> anyhow::Result<()> {
        let Catalogue {
            action: CatalogueAction::Import { file, dry_run },
        } = Catalogue::from_arg_matches(matches)?;
        let csv = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let csv = String::from_utf8(csv).with_context(|| format!("{} is not UTF-8", file.display()))?;
        let shop = opener.shop().await?;
        let mut progress = |rows: usize| eprintln!("{rows} rows written");
        match super::import(&shop.db, None, &csv, dry_run, &mut progress).await? {
            Ok(applied) => {
                if !dry_run {
                    shop.cache.stock_changed(&shop.db, &applied.stock_changed, &[]).await;
                    shop.cache.availability_changed().await;
                    shop.cache.catalogue_changed().await;
                }
                let what = if dry_run { "would import" } else { "imported" };
                println!(
                    "{what}: {} rows created, {} rows updated",
                    applied.created, applied.updated
                );
                Ok(())
            }
            Err(problems) => {
                for problem in &problems {
                    eprintln!("{}: {}", problem.code, problem.message.in_language(language));
                }
                anyhow::bail!("{} problems: nothing was imported", problems.len())
            }
        }
    }
}
