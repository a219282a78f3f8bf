//! Configuration from the environment, parsed once at start. A bad value stops start-up with
//! one line that names the setting.

use crate::infra::settings::{ConfigError, error, parse_bytes, parse_duration, parse_setting, redact_url};
use crate::infra::telemetry::LogFormat;
use std::net::SocketAddr;
use std::time::Duration;

/// The embedded default: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://huakai.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    /// True when `DATABASE_URL` was unset: the embedded demo shop, filled with the demo
    /// catalogue when empty.
    pub embedded_database: bool,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several shops (or tests) can share one Redis.
    pub redis_prefix: String,
    pub cache_enabled: bool,
    pub reservation_ttl: Duration,
    /// A shipped order counts as delivered this long after shipment if the buyer never says.
    pub auto_delivery: Duration,
    /// What each domain's door keeps in the shop: its settings, read here with the rest.
    pub parts: crate::shop::Parts,
    /// Where and how the outbox's mail is sent.
    pub mail: crate::infra::mail::MailSettings,
    /// Where pictures are kept and how large an upload may be (`HUAKAI_MEDIA_DIR`, `HUAKAI_S3_*`,
    /// `HUAKAI_MAX_UPLOAD`).
    pub media: crate::infra::storage::MediaSettings,
    pub log_format: LogFormat,
    /// Secret for signing tokens; unset, one is generated and kept in the database, so all
    /// replicas on that database agree.
    pub token_secret: Option<String>,
    pub token_ttl: Duration,
    /// How long a replica remembers who a session is (`accounts::session_cache`); zero: never.
    pub session_cache_ttl: Duration,
    pub stripe: Option<StripeSettings>,
    /// WeChat Pay and Alipay paid directly (`super::direct_settings`).
    pub direct: super::direct_settings::DirectSettings,
    pub limits: Limits,
    /// Peers whose `X-Forwarded-For` is believed (the ingress, a CDN); empty: nobody's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Operation names that get their own metrics label; every other name is `other`.
    pub metrics_operations: Vec<String>,
    /// Bytes the in-process storefront cache may hold.
    pub cache_memory_bytes: u64,
    /// Bytes the in-process store of persisted queries may hold.
    pub persisted_queries_memory_bytes: u64,
    /// Database connections per process at most; unset, [`super::db::default_pool_size`].
    pub db_pool: Option<u32>,
    /// Origins whose pages may call the API from a browser; empty: none, `*` alone: any.
    pub cors_origins: Vec<String>,
}

/// What one client, or all of them together, may ask of the server. Each is a setting, so a
/// union's office behind one address or a load test can raise it.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Larger request bodies answer 413 unread.
    pub max_body_bytes: usize,
    /// A request still running after this answers 504.
    pub request_timeout: Duration,
    /// Requests served at once; more answer 503 with `Retry-After` at once instead of queueing.
    pub max_in_flight: usize,
    /// Password hashes (argon2, 19 MiB each) computed at once in this process.
    pub password_hashes: usize,
    /// The window every rate limit below counts in.
    pub rate_window: Duration,
    /// Failed logins from one client address, whatever the email.
    pub login_failures_per_address: u32,
    /// Failed logins for one email from one client address (its owner elsewhere is unaffected).
    pub login_failures_per_account: u32,
    /// New accounts from one client address.
    pub registrations_per_address: u32,
    /// Wrong current passwords in `changePassword` for one account.
    pub password_change_failures: u32,
    /// `requestPasswordReset` calls from one client address, and for one email.
    pub password_resets_per_address: u32,
    pub password_resets_per_email: u32,
    /// What one buyer, or one organisation's bulk orders, may hold unpaid at once.
    pub orders: crate::shop::OrderLimits,
    /// Sockets, invite codes, promo-link clicks (`super::guard_settings`).
    pub guards: super::guard_settings::GuardSettings,
}

/// Stripe, when the shop takes card (and Alipay and WeChat Pay unless paid directly).
#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub secret_key: String,
    pub webhook_secret: String,
    /// Another API base (a local stand-in), instead of api.stripe.com.
    pub api_base: Option<String>,
    /// How long one Stripe call may take before its outcome counts as unknown (and is settled
    /// later by looking the object up).
    pub timeout: Duration,
}

impl StripeSettings {
    pub fn gateway(&self) -> anyhow::Result<crate::payments::stripe::StripeGateway> {
        crate::payments::stripe::StripeGateway::new(
            &self.secret_key,
            &self.webhook_secret,
            self.api_base.as_deref(),
            self.timeout,
        )
        .map_err(|problem| anyhow::anyhow!("the Stripe client: {problem}"))
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can configure an app without touching the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let database_url = get("DATABASE_URL");
        let count = |name: &'static str, default: &str| {
            parse_setting(name, get(name), default, |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| "must be a whole number above 0".to_owned())
            })
        };
        let limits = Limits {
            max_body_bytes: parse_setting("HUAKAI_MAX_BODY", get("HUAKAI_MAX_BODY"), "1MiB", parse_bytes).and_then(
                |bytes| usize::try_from(bytes).map_err(|_| error("HUAKAI_MAX_BODY", &bytes.to_string(), "too large")),
            )?,
            request_timeout: parse_setting(
                "HUAKAI_REQUEST_TIMEOUT",
                get("HUAKAI_REQUEST_TIMEOUT"),
                "30s",
                parse_duration,
            )?,
            max_in_flight: count("HUAKAI_MAX_IN_FLIGHT", "256")? as usize,
            password_hashes: count("HUAKAI_PASSWORD_HASHES", "4")? as usize,
            rate_window: parse_setting("HUAKAI_RATE_WINDOW", get("HUAKAI_RATE_WINDOW"), "15m", parse_duration)?,
            login_failures_per_address: count("HUAKAI_LOGIN_FAILURES_PER_ADDRESS", "20")?,
            login_failures_per_account: count("HUAKAI_LOGIN_FAILURES_PER_ACCOUNT", "5")?,
            registrations_per_address: count("HUAKAI_REGISTRATIONS_PER_ADDRESS", "10")?,
            password_change_failures: count("HUAKAI_PASSWORD_CHANGE_FAILURES", "5")?,
            password_resets_per_address: count("HUAKAI_PASSWORD_RESETS_PER_ADDRESS", "10")?,
            password_resets_per_email: count("HUAKAI_PASSWORD_RESETS_PER_EMAIL", "3")?,
            guards: super::guard_settings::GuardSettings::from_lookup(&get)?,
            orders: crate::shop::OrderLimits {
                unpaid_orders_per_buyer: count("HUAKAI_UNPAID_ORDERS_PER_BUYER", "5")?,
                reserved_units_per_buyer: count("HUAKAI_RESERVED_UNITS_PER_BUYER", "500")?,
                reserved_units_per_variant: count("HUAKAI_RESERVED_UNITS_PER_VARIANT", "50")?,
                unpaid_bulk_orders_per_organisation: count("HUAKAI_UNPAID_BULK_ORDERS_PER_ORGANISATION", "5")?,
                reserved_units_per_organisation: count("HUAKAI_RESERVED_UNITS_PER_ORGANISATION", "20000")?,
            },
        };
        Ok(Config {
            direct: super::direct_settings::DirectSettings::from_lookup(&get)?,
            limits,
            db_pool: get("HUAKAI_DB_POOL")
                .map(|value| parse_setting("HUAKAI_DB_POOL", Some(value), "", crate::infra::db::parse_pool_size))
                .transpose()?,
            cors_origins: parse_setting(
                "HUAKAI_CORS_ORIGINS",
                get("HUAKAI_CORS_ORIGINS"),
                "",
                super::cors::parse_origins,
            )?,
            trusted_proxies: parse_setting("HUAKAI_TRUSTED_PROXIES", get("HUAKAI_TRUSTED_PROXIES"), "", |v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        part.parse::<ipnet::IpNet>()
                            .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                            .map_err(|_| format!("{part:?} is not an address or a network such as 10.0.0.0/8"))
                    })
                    .collect()
            })?,
            metrics_operations: get("HUAKAI_METRICS_OPERATIONS")
                .map(|names| {
                    names
                        .split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            cache_memory_bytes: parse_setting("HUAKAI_CACHE_MEMORY", get("HUAKAI_CACHE_MEMORY"), "64MiB", parse_bytes)?,
            persisted_queries_memory_bytes: parse_setting(
                "HUAKAI_PERSISTED_QUERIES_MEMORY",
                get("HUAKAI_PERSISTED_QUERIES_MEMORY"),
                "8MiB",
                parse_bytes,
            )?,
            addr: parse_setting("HUAKAI_ADDR", get("HUAKAI_ADDR"), "127.0.0.1:8080", |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "not a socket address such as 127.0.0.1:8080".to_owned())
            })?,
            embedded_database: database_url.is_none(),
            database_url: match database_url {
                Some(url)
                    if url.starts_with("postgres://")
                        || url.starts_with("postgresql://")
                        || url.starts_with("sqlite:") =>
                {
                    url
                }
                Some(url) => {
                    return Err(error(
                        "DATABASE_URL",
                        &redact_url(&url),
                        "must start with postgres:// or sqlite:",
                    ));
                }
                None => DEFAULT_DATABASE_URL.to_owned(),
            },
            redis_url: match get("REDIS_URL") {
                Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url),
                Some(url) => {
                    return Err(error(
                        "REDIS_URL",
                        &redact_url(&url),
                        "must start with redis:// or rediss://",
                    ));
                }
                None => None,
            },
            // Braces would make the prefix a hash tag and put every key on one cluster node.
            redis_prefix: match get("HUAKAI_REDIS_PREFIX") {
                Some(prefix) if prefix.contains(['{', '}']) => {
                    return Err(error("HUAKAI_REDIS_PREFIX", &prefix, "must not contain { or }"));
                }
                Some(prefix) => prefix,
                None => "huakai:".to_owned(),
            },
            cache_enabled: parse_setting("HUAKAI_CACHE", get("HUAKAI_CACHE"), "on", |v| match v {
                "on" => Ok(true),
                "off" => Ok(false),
                _ => Err("must be on or off".to_owned()),
            })?,
            reservation_ttl: parse_setting(
                "HUAKAI_RESERVATION_TTL",
                get("HUAKAI_RESERVATION_TTL"),
                "30m",
                parse_duration,
            )?,
            auto_delivery: parse_setting(
                "HUAKAI_AUTO_DELIVERY",
                get("HUAKAI_AUTO_DELIVERY"),
                "14d",
                parse_duration,
            )?,
            mail: crate::infra::mail::MailSettings::from_lookup(&lookup)
                .map_err(|problem| error(problem.name(), "", problem.problem()))?,
            media: crate::infra::storage::MediaSettings::from_lookup(&lookup)?,
            parts: crate::graphql::DOORS
                .iter()
                .try_fold(crate::shop::Parts::default(), |parts, door| door.parts(&get, parts))?,
            log_format: parse_setting("HUAKAI_LOG_FORMAT", get("HUAKAI_LOG_FORMAT"), "text", |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("must be text or json".to_owned()),
            })?,
            token_secret: match get("HUAKAI_TOKEN_SECRET") {
                Some(secret) if secret.len() < 32 => {
                    return Err(error(
                        "HUAKAI_TOKEN_SECRET",
                        "(hidden)",
                        "must be at least 32 characters",
                    ));
                }
                secret => secret,
            },
            token_ttl: parse_setting("HUAKAI_TOKEN_TTL", get("HUAKAI_TOKEN_TTL"), "7d", parse_duration)?,
            session_cache_ttl: parse_setting(
                "HUAKAI_SESSION_CACHE_TTL",
                get("HUAKAI_SESSION_CACHE_TTL"),
                "5s",
                parse_duration,
            )?,
            stripe: match (get("STRIPE_SECRET_KEY"), get("STRIPE_WEBHOOK_SECRET")) {
                (None, None) => None,
                (Some(_), None) => return Err(error("STRIPE_WEBHOOK_SECRET", "", "is needed with STRIPE_SECRET_KEY")),
                (None, Some(_)) => return Err(error("STRIPE_SECRET_KEY", "", "is needed with STRIPE_WEBHOOK_SECRET")),
                // It is sent in a header, which takes visible ASCII only.
                (Some(secret_key), Some(_)) if !secret_key.bytes().all(|b| b.is_ascii_graphic()) => {
                    return Err(error("STRIPE_SECRET_KEY", "(hidden)", "must be visible ASCII"));
                }
                (Some(secret_key), Some(webhook_secret)) => Some(StripeSettings {
                    secret_key,
                    webhook_secret,
                    api_base: match get("STRIPE_API_BASE") {
                        None => None,
                        Some(base) => match url::Url::parse(&base) {
                            // Normalised (percent-encoded) as the client's URI type takes it.
                            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url.to_string()),
                            _ => return Err(error("STRIPE_API_BASE", &redact_url(&base), "must be an http(s) URL")),
                        },
                    },
                    timeout: parse_setting(
                        "HUAKAI_STRIPE_TIMEOUT",
                        get("HUAKAI_STRIPE_TIMEOUT"),
                        "30s",
                        parse_duration,
                    )?,
                }),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_serve_the_embedded_demo_shop() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert!(config.embedded_database);
        assert!(config.cache_enabled);
        assert_eq!(config.reservation_ttl, Duration::from_secs(30 * 60));
        assert_eq!(config.payout_settings().hold, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.payout_settings().platform_fee_bps, 500);
    }

    #[test]
    fn limits_have_defaults_and_take_sizes() {
        let defaults = config_of(&[]);
        assert_eq!(defaults.limits.max_body_bytes, 1024 * 1024);
        assert_eq!(defaults.limits.request_timeout, Duration::from_secs(30));
        assert!(defaults.trusted_proxies.is_empty());
        let set = config_of(&[
            ("HUAKAI_MAX_BODY", "512KiB"),
            ("HUAKAI_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
        ]);
        assert_eq!(set.limits.max_body_bytes, 512 * 1024);
        assert_eq!(set.trusted_proxies.len(), 2);
        assert!(config(&[("HUAKAI_MAX_BODY", "lots")]).is_err());
        assert!(config(&[("HUAKAI_MAX_IN_FLIGHT", "0")]).is_err());
        assert!(config(&[("HUAKAI_TRUSTED_PROXIES", "the ingress")]).is_err());
    }

    fn config_of(pairs: &[(&str, &str)]) -> Config {
        config(pairs).expect("valid")
    }

    #[test]
    fn a_bad_url_is_named_without_its_password() {
        for (name, value) in [
            ("DATABASE_URL", "mysql://huakai:hunter2-secret@db:3306/shop"),
            ("REDIS_URL", "http://:hunter2-secret@cache:6379"),
            ("STRIPE_API_BASE", "ftp://user:hunter2-secret@stripe.local"),
        ] {
            let mut pairs = vec![(name, value)];
            if name == "STRIPE_API_BASE" {
                pairs.extend([("STRIPE_SECRET_KEY", "sk_test_x"), ("STRIPE_WEBHOOK_SECRET", "whsec_x")]);
            }
            let message = config(&pairs).expect_err("invalid").to_string();
            assert!(message.starts_with(name), "{message}");
            assert!(!message.contains("hunter2"), "the password leaked: {message}");
        }
        assert_eq!(
            redact_url("redis://:pw@a:6379,redis://:pw@b:6379"),
            "redis://…@a:6379,redis://…@b:6379"
        );
    }

    #[test]
    fn a_bad_setting_is_named_in_one_line() {
        let message = config(&[("HUAKAI_RESERVATION_TTL", "soon")])
            .expect_err("invalid")
            .to_string();
        assert!(message.starts_with("HUAKAI_RESERVATION_TTL: "), "{message}");
        assert!(!message.contains('\n'));
        let message = config(&[("DATABASE_URL", "mysql://x")])
            .expect_err("invalid")
            .to_string();
        assert!(message.starts_with("DATABASE_URL: "), "{message}");
        assert!(config(&[("HUAKAI_PLATFORM_FEE_BPS", "10001")]).is_err());
        assert!(config(&[("HUAKAI_ADDR", "localhost")]).is_err());
        let message = config(&[
            ("STRIPE_SECRET_KEY", "sk_test_a\nb"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ])
        .expect_err("invalid")
        .to_string();
        assert!(message.starts_with("STRIPE_SECRET_KEY: "), "{message}");
        assert!(!message.contains("sk_test"), "the key leaked: {message}");
        assert_eq!(
            config(&[("HUAKAI_RESERVATION_TTL", "2s")])
                .expect("valid")
                .reservation_ttl,
            Duration::from_secs(2)
        );
    }
}
