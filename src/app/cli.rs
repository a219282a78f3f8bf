//! The `huakai` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::config::Config;
use crate::accounts::Role;
use crate::infra::i18n::Language;
use crate::infra::ids::PayoutBatchId;
use crate::infra::telemetry;

#[derive(Parser)]
#[command(
    name = "huakai",
    version,
    about = "花开 Huakai: the shop for produce from poverty-relief villages"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The language of CSV headers and messages: zh-CN (the default) or en.
    #[arg(long, global = true, default_value = "zh-CN", value_parser = parse_language)]
    lang: Language,
}

fn parse_language(tag: &str) -> Result<Language, String> {
    Language::from_tag(tag).ok_or_else(|| format!("{tag:?} is not zh-CN or en"))
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Bring the database schema up to date.
    Migrate,
    /// The demo catalogue from the 涪口区 report.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Print the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Grower payouts.
    Payouts {
        #[command(subcommand)]
        action: PayoutsAction,
    },
    /// Payments.
    Payments {
        #[command(subcommand)]
        action: PaymentsAction,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The catalogue.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
    /// Livestream hosts.
    Hosts {
        #[command(subcommand)]
        action: HostsAction,
    },
    /// Exit 0 when the server on HUAKAI_ADDR answers `/readyz` with 200 (for a container's
    /// HEALTHCHECK: the image has no curl).
    Healthcheck {
        /// Another address to ask than HUAKAI_ADDR's (an unspecified one, 0.0.0.0, means this host).
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
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

#[derive(Subcommand)]
enum CatalogueAction {
    /// Import the district's 目录 list (CSV: catalogue_code, product_slug, product_name,
    /// category_slug, producer_slug, village_slug, issuer, valid_from, valid_to, variant_sku,
    /// variant_name, price, stock): entries, products and variants created or updated, all rows
    /// or none. A progress line per hundred rows goes to standard error.
    Import {
        file: std::path::PathBuf,
        /// Check and report without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
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

#[derive(Subcommand)]
enum PaymentsAction {
    /// Compare recent payments at Stripe, WeChat Pay (its trade bills and trades) and Alipay
    /// with the orders and repair what a missed webhook left behind.
    Reconcile {
        /// How far back to look.
        #[arg(long, default_value = "3d", value_parser = humantime::parse_duration)]
        since: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account with any role (the first operator is made this way). The password is
    /// read from HUAKAI_USER_PASSWORD when set, else from standard input (its first line; typed
    /// at a terminal, it is not shown), never from the command line, which shell histories and
    /// process lists keep.
    Create {
        #[arg(long)]
        email: String,
        /// admin, grower, host, union-admin or buyer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The producer a grower belongs to (its slug).
        #[arg(long)]
        producer: Option<String>,
        /// The name shown for the account (defaults to the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::from_cli(value).ok_or_else(|| "expected admin, grower, host, union-admin or buyer".to_owned())
}

#[derive(Subcommand)]
enum DemoAction {
    /// Load the demo catalogue into a database that holds no products.
    Load {
        /// Also demo activity into a shop with no orders: a year of orders, deliveries, refunds
        /// and payouts, and a livestream host's links and sessions; the catalogue is loaded first
        /// if the database has none.
        #[arg(long)]
        activity: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::ExportSchema = command {
        print!("{}", crate::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("huakai: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Command::Healthcheck { addr, timeout } = command {
        return super::healthcheck::check(addr.unwrap_or(config.addr), timeout);
    }
    telemetry::init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("huakai: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command, config, cli.lang)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("huakai: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config, language: Language) -> anyhow::Result<()> {
    match command {
        Command::Serve => super::serve(config).await,
        Command::Migrate => {
            let db = crate::infra::db::connect(&config.database_url, Default::default()).await?;
            crate::infra::db::migrate(&db).await?;
            println!("database schema is up to date");
            Ok(())
        }
        Command::Demo {
            action: DemoAction::Load { activity },
        } => {
            let shop = super::shop_for_command(&config).await?;
            let empty = crate::catalogue::demo::is_empty(&shop.db).await?;
            if empty {
                let summary = crate::catalogue::demo::load(&shop.db).await?;
                println!("loaded the demo catalogue: {summary}");
                let pictures = crate::catalogue::demo::add_pictures(&shop.db, &shop.images).await?;
                println!("drew {pictures} product pictures");
            } else if !activity {
                anyhow::bail!(
                    "the database already holds products; the demo catalogue is only loaded into an empty one"
                );
            }
            if activity {
                if crate::demo::has_activity(&shop.db).await? {
                    anyhow::bail!("the shop already has orders; demo activity is only loaded into a shop without");
                }
                let summary = crate::demo::load_activity(&shop).await?;
                println!("loaded demo activity: {summary}");
                let hosts = crate::livestream::demo::load_activity(&shop.db).await?;
                println!("loaded the livestream demo activity: {hosts}");
            }
            Ok(())
        }
        Command::User {
            action:
                UserAction::Create {
                    email,
                    role,
                    producer,
                    name,
                },
        } => {
            let password = new_password()?;
            let db = crate::infra::db::connect(&config.database_url, Default::default()).await?;
            crate::infra::db::migrate(&db).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            let producer = crate::catalogue::service::producer_asked(&db, producer.as_deref()).await?;
            match crate::accounts::service::create_user(&db, &email, &password, &name, role, producer).await? {
                Ok(user) => {
                    println!("created {} ({:?}) as user {}", user.email, user.role, user.id);
                    Ok(())
                }
                Err(problem) => anyhow::bail!("{}: {}", problem.code, problem.message.in_language(language)),
            }
        }
        Command::Payouts { action } => {
            let shop = super::shop_for_command(&config).await?;
            match action {
                PayoutsAction::Run => {
                    // Each payout is printed once settled for this run, while transfers go on.
                    let report = |payout: &crate::payouts::entity::payout::Model| {
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
                    let payouts = crate::payouts::runs::run_reporting(&shop, chrono::Utc::now(), report).await?;
                    println!("{} payouts", payouts.len());
                    Ok(())
                }
                PayoutsAction::Export { batch_id } => {
                    match crate::payouts::runs::export_batch(&shop.db, PayoutBatchId(batch_id), language).await? {
                        Some(csv) => {
                            print!("{csv}");
                            Ok(())
                        }
                        None => anyhow::bail!("there is no payout batch {batch_id}"),
                    }
                }
            }
        }
        Command::Payments {
            action: PaymentsAction::Reconcile { since },
        } => {
            if config.stripe.is_none() && config.direct.wechatpay.is_none() && config.direct.alipay.is_none() {
                anyhow::bail!("neither Stripe nor WeChat Pay nor Alipay is configured: there is nothing to reconcile");
            }
            let shop = super::shop_for_command(&config).await?;
            let since = chrono::Utc::now() - chrono::Duration::from_std(since)?;
            let found = crate::reconciliation::reconcile(&shop, since).await?;
            println!(
                "checked {} payments: {} repaired, {} flagged for an operator, {} not ours; \
                 {} refunds and {} payouts in doubt settled",
                found.payments.checked,
                found.payments.repaired,
                found.payments.flagged,
                found.payments.unknown,
                found.payments.refunds_settled,
                found.payouts_settled
            );
            Ok(())
        }
        Command::Hosts {
            action: HostsAction::Report { host, month },
        } => {
            let db = crate::infra::db::connect(&config.database_url, Default::default()).await?;
            crate::infra::db::migrate(&db).await?;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let email = crate::accounts::emails::normalize_email(&host);
            let found = crate::accounts::entity::user::Entity::find()
                .filter(crate::accounts::entity::user::Column::Email.eq(email))
                .one(&db)
                .await?;
            let Some(host) = found else {
                anyhow::bail!("there is no user {host}");
            };
            if host.role != crate::accounts::Role::Host {
                anyhow::bail!("{} is not a host", host.email);
            }
            match crate::livestream::report::monthly(&db, host.id, &month, language).await? {
                Ok(csv) => {
                    print!("{csv}");
                    Ok(())
                }
                Err(problem) => anyhow::bail!("{}", problem.message.in_language(language)),
            }
        }
        Command::Catalogue {
            action: CatalogueAction::Import { file, dry_run },
        } => import_catalogue(&config, &file, dry_run, language).await,
        Command::ExportSchema | Command::Healthcheck { .. } => Ok(()),
    }
}

/// `huakai catalogue import FILE [--dry-run]`.
async fn import_catalogue(
    config: &Config,
    file: &std::path::Path,
    dry_run: bool,
    language: Language,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let csv = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let csv = String::from_utf8(csv).with_context(|| format!("{} is not UTF-8", file.display()))?;
    let shop = super::shop_for_command(config).await?;
    let mut progress = |rows: usize| eprintln!("{rows} rows written");
    match crate::catalogue::import::import(&shop.db, None, &csv, dry_run, &mut progress).await? {
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

/// The password of `huakai user create`: HUAKAI_USER_PASSWORD when set, else the first line of
/// standard input (asked for without echo at a terminal).
fn new_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if let Ok(password) = std::env::var("HUAKAI_USER_PASSWORD") {
        return Ok(password);
    }
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("no password: set HUAKAI_USER_PASSWORD or give it on standard input");
    }
    Ok(password)
}
