//! The `huakai` command line: the app's own commands, and each domain's from its door.

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use sea_orm::DatabaseConnection;

use super::config::Config;
use crate::accounts::Role;
use crate::graphql::DOORS;
use crate::infra::i18n::Language;
use crate::infra::telemetry;
use crate::shop::Shop;
use crate::shop::door::{DoorCommand, OpenShop};

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

/// What the command line asked for: one of the app's commands, or a domain's.
enum Chosen<'a> {
    App(Command),
    Domain(&'a dyn DoorCommand, &'a ArgMatches),
}

/// The app's commands and every door's.
fn command_line() -> clap::Command {
    DOORS
        .iter()
        .filter_map(|door| door.command())
        .fold(Cli::command(), |line, command| line.subcommand(command.command()))
}

pub fn main() -> ExitCode {
    let matches = command_line().get_matches();
    let domain = matches.subcommand().and_then(|(name, arguments)| {
        DOORS
            .iter()
            .filter_map(|door| door.command())
            .find(|command| command.command().get_name() == name)
            .map(|command| (command, arguments))
    });
    let (chosen, language) = match domain {
        Some((command, arguments)) => {
            // `--lang` is global, so clap gives its value to every level.
            let language = *matches.get_one::<Language>("lang").expect("--lang has a default");
            (Chosen::Domain(command, arguments), language)
        }
        None => {
            let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
            (Chosen::App(cli.command.unwrap_or(Command::Serve)), cli.lang)
        }
    };
    if let Chosen::App(Command::ExportSchema) = chosen {
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
    if let Chosen::App(Command::Healthcheck { addr, timeout }) = chosen {
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
    let ran = match chosen {
        Chosen::App(command) => runtime.block_on(run(command, config, language)),
        Chosen::Domain(command, arguments) => {
            runtime.block_on(command.run(arguments, &OpenFromConfig(&config), language))
        }
    };
    match ran {
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
        Command::ExportSchema | Command::Healthcheck { .. } => Ok(()),
    }
}

/// What a domain's command opens, from the configuration.
struct OpenFromConfig<'a>(&'a Config);

#[async_trait]
impl OpenShop for OpenFromConfig<'_> {
    async fn shop(&self) -> anyhow::Result<Shop> {
        super::shop_for_command(self.0).await
    }

    async fn database(&self) -> anyhow::Result<DatabaseConnection> {
        let db = crate::infra::db::connect(&self.0.database_url, Default::default()).await?;
        crate::infra::db::migrate(&db).await?;
        Ok(db)
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
