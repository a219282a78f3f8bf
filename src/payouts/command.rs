//! `huakai payouts run` and `huakai payouts export`.

use async_trait::async_trait;
use clap::{FromArgMatches, Parser, Subcommand};

use super::entity::payout;
use super::runs::{export_batch, run_reporting};
use crate::infra::i18n::Language;
use crate::infra::ids::PayoutBatchId;
use crate::shop::door::{DoorCommand, OpenShop};

/// Grower payouts.
#[derive(Parser)]
#[command(name = "payouts")]
struct Payouts {
    #[command(subcommand)]
    action: PayoutsAction,
}

#[derive(Subcommand)]
enum PayoutsAction {
    /// Pay every producer its available earnings (for a scheduler): Stripe transfers to
    /// connected accounts, a bank batch for the others.
    Run,
    /// Write a bank batch as CSV (payee, account, amount in yuan, reference) to standard output.
    Export {
        /// The batch id a run printed (or `Payout.batchId`).
        batch_id: i64,
    },
}

pub struct PayoutsCommand;

#[async_trait]
impl DoorCommand for PayoutsCommand {
    fn command(&self) -> clap::Command {
        <Payouts as clap::CommandFactory>::command()
    }

    async fn run(&self, matches: &clap::ArgMatches, opener: &dyn OpenShop, language: Language) -> anyhow::Result<()> {
        let Payouts { action } = Payouts::from_arg_matches(matches)?;
        let shop = opener.shop().await?;
        match action {
            PayoutsAction::Run => {
                // Each payout is printed once settled for this run, while transfers go on.
                let report = |payout: &payout::Model| {
                    println!(
                        "payout {} to {:?} {}: {} yuan by {:?}, {:?}{}",
                        payout.id,
                        payout.payee_kind,
                        payout
                            .producer_id
                            .map(|id| id.0)
                            .or(payout.host_id.map(|id| id.0))
                            .unwrap_or_default(),
                        payout.amount_fen,
                        payout.method,
                        payout.status,
                        payout.batch_id.map(|b| format!(", batch {b}")).unwrap_or_default()
                    );
                };
                let payouts = run_reporting(&shop, chrono::Utc::now(), report).await?;
                println!("{} payouts", payouts.len());
                Ok(())
            }
            PayoutsAction::Export { batch_id } => {
                match export_batch(&shop.db, PayoutBatchId(batch_id), language).await? {
                    Some(csv) => {
                        print!("{csv}");
                        Ok(())
                    }
                    None => anyhow::bail!("there is no payout batch {batch_id}"),
                }
            }
        }
    }
}
