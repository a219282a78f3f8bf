//! `huakai hosts report`.

use async_trait::async_trait;
use clap::{FromArgMatches, Parser, Subcommand};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::accounts::Role;
use crate::accounts::emails::normalize_email;
use crate::accounts::entity::user;
use crate::infra::i18n::Language;
use crate::shop::door::{DoorCommand, OpenShop};

/// Livestream hosts.
#[derive(Parser)]
#[command(name = "hosts")]
struct Hosts {
    #[command(subcommand)]
    action: HostsAction,
}

#[derive(Subcommand)]
enum HostsAction {
    /// Write a host's commissions of a month as CSV to standard output.
    Report {
        /// The host's email.
        #[arg(long)]
        host: String,
        /// The month, `YYYY-MM` (China time).
        #[arg(long)]
        month: String,
    },
}

pub struct HostsCommand;

#[async_trait]
impl DoorCommand for HostsCommand {
    fn command(&self) -> clap::Command {
        <Hosts as clap::CommandFactory>::command()
    }

    async fn run(&self, matches: &clap::ArgMatches, opener: &dyn OpenShop, language: Language) -> anyhow::Result<()> {
        let Hosts {
            action: HostsAction::Report { host, month },
        } = Hosts::from_arg_matches(matches)?;
        let db = opener.database().await?;
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(normalize_email(&host)))
            .one(&db)
            .await?;
        let Some(host) = found else {
            anyhow::bail!("there is no user {host}");
        };
        if host.role != Role::Host {
            anyhow::bail!("{} is not a host", host.email);
        }
        match super::report::monthly(&db, host.id, &month, language).await? {
            Ok(csv) => {
                print!("{csv}");
                Ok(())
            }
            Err(problem) => anyhow::bail!("{}", problem.message.in_language(language)),
        }
    }
}
