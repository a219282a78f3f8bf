//! The thin wiring layer: configuration, state, HTTP, the command line and telemetry.

pub mod access_log;
pub mod business_metrics;
pub mod cli;
pub mod config;
pub mod cors;
pub mod direct_settings;
pub mod direct_webhooks;
pub mod graphiql;
pub mod graphql_http;
mod graphql_route;
pub mod guard_settings;
pub mod healthcheck;
pub mod http;
pub mod limits;
mod shop_parts;
pub mod socket;
mod stock_listeners;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::accounts::password::PasswordHasher;
use crate::accounts::rate_limit::RateLimiter;
use crate::accounts::reset_codes::ResetCodes;
use crate::accounts::service::{AccountLimits, Accounts};
use crate::accounts::session_cache::SessionCache;
use crate::accounts::tokens::{self, TokenKeys};
use crate::cache::StorefrontCache;
use crate::cache::persisted::PersistedQueries;
use crate::catalogue;
use crate::graphql::{DOORS, HuakaiSchema, Services, build_schema};
use crate::infra::images::ImageStore;
use crate::infra::storage::BlobStore;
use crate::livestream::LivestreamSettings;
use crate::livestream::live_room::LiveRooms;
use crate::payments::direct_pay::DirectPay;
use crate::payments::stripe::StripeGateway;
use crate::shop::Shop;
pub use config::Config;

/// Everything a request handler needs, shared by all requests of one app instance.
pub struct AppState {
    pub config: Config,
    pub db: DatabaseConnection,
    pub redis: Option<Arc<crate::infra::redis::Redis>>,
    pub accounts: Arc<Accounts>,
    pub cache: Arc<StorefrontCache>,
    pub persisted_queries: PersistedQueries,
    /// Stripe, when configured.
    pub stripe: Option<StripeGateway>,
    /// WeChat Pay and Alipay paid directly, when configured.
    pub direct: DirectPay,
    /// Woken when a webhook event is stored, so the inbox worker applies it at once.
    pub webhook_arrived: Arc<tokio::sync::Notify>,
    pub schema: HuakaiSchema,
    /// The shop the requests use; the domains' routes are served with it.
    pub shop: Shop,
    /// Operation names that get their own metrics label (see `http::operation_label`).
    pub operation_labels: HashSet<String>,
    /// Promo codes resolved and their clicks counted (`GET /l/{code}`).
    pub promo_links: Arc<crate::livestream::clicks::Redirects>,
    /// The in-flight cap's places, shared by HTTP requests and queries over sockets.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Open sockets and their caps (`GET /graphql/ws`).
    pub sockets: socket::Sockets,
    /// The media store behind uploads and `GET /media/…`.
    pub images: ImageStore,
    /// The sessions followed in this process (`sessionStock`).
    pub live_rooms: Arc<LiveRooms>,
    /// Where this process's orders for a hot variant wait to be written in batches.
    pub placing_lanes: Arc<crate::infra::lanes::Lanes>,
    statements: Arc<AtomicU64>,
}

impl AppState {
    /// The listeners of this process's shops: its live rooms and its storefront cache.
    pub fn stock_listeners(&self) -> crate::shop::StockListeners {
        stock_listeners::stock_listeners(self.live_rooms.clone(), self.cache.clone())
    }

    /// Opens and migrates the database; the embedded default is filled with the demo
    /// catalogue while it holds no products.
    pub async fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        crate::infra::telemetry::metrics();
        let statements = Arc::new(AtomicU64::new(0));
        let db = open_database(&config, statements.clone()).await?;
        // The embedded default is a demo shop: at its first start it gets the catalogue and,
        // once the shop is assembled below, a year of activity.
        let first_demo_start = config.embedded_database && catalogue::demo::is_empty(&db).await?;
        if first_demo_start {
            let summary = catalogue::demo::load(&db).await?;
            tracing::info!(%summary, "loaded the demo catalogue into the embedded database");
            let activity = crate::livestream::demo::load_activity(&db).await?;
            tracing::info!(%activity, "loaded the livestream demo activity into the embedded database");
        }
        let redis = match &config.redis_url {
            Some(url) => Some(Arc::new(crate::infra::redis::Redis::connect(
                url,
                &config.redis_prefix,
            )?)),
            None => None,
        };
        let secret = tokens::secret(&db, config.token_secret.as_deref()).await?;
        let accounts = Arc::new(Accounts {
            keys: TokenKeys::new(&secret, config.token_ttl),
            sessions: Arc::new(SessionCache::new(config.session_cache_ttl, redis.clone())),
            limiter: RateLimiter::new(redis.clone(), config.limits.rate_window),
            hasher: PasswordHasher::new(config.limits.password_hashes),
            limits: AccountLimits {
                login_failures_per_address: config.limits.login_failures_per_address,
                login_failures_per_account: config.limits.login_failures_per_account,
                registrations_per_address: config.limits.registrations_per_address,
                password_change_failures: config.limits.password_change_failures,
                password_resets_per_address: config.limits.password_resets_per_address,
                password_resets_per_email: config.limits.password_resets_per_email,
            },
            codes: ResetCodes::new(&secret),
        });
        let cache = Arc::new(match (&redis, config.cache_enabled) {
            (_, false) => StorefrontCache::off(),
            (Some(redis), true) => StorefrontCache::redis(redis.clone(), config.cache_memory_bytes),
            (None, true) => StorefrontCache::in_process(config.cache_memory_bytes),
        });
        let persisted_queries = match &redis {
            Some(redis) => PersistedQueries::Redis(redis.clone()),
            None => PersistedQueries::in_process(config.persisted_queries_memory_bytes),
        };
        let (stripe, direct) = config.payment_clients()?;
        let images = image_store(&config)?;
        if first_demo_start {
            let pictures = catalogue::demo::add_pictures(&db, &images).await?;
            tracing::info!(pictures, "drew the demo products' pictures");
        }
        let livestream: &LivestreamSettings = config.part();
        let live_rooms = LiveRooms::new(redis.clone(), livestream.live_stock_resync);
        let placing_lanes = Arc::new(crate::infra::lanes::Lanes::default());
        let shop = Shop {
            db: db.clone(),
            cache: cache.clone(),
            images: images.clone(),
            stock_listeners: stock_listeners::stock_listeners(live_rooms.clone(), cache.clone()),
            placing_lanes: placing_lanes.clone(),
            settings: config.shop_settings(),
            parts: config.shop_parts(stripe.clone(), direct.clone()),
        };
        if first_demo_start {
            let summary = crate::demo::load_activity(&shop).await?;
            tracing::info!(%summary, "loaded demo activity into the embedded database");
        }
        let schema = build_schema(Some(Services {
            accounts: accounts.clone(),
            shop: shop.clone(),
            invites: config.limits.guards.invites.clone(),
            live_rooms: live_rooms.clone(),
        }));
        let in_flight = Arc::new(tokio::sync::Semaphore::new(config.limits.max_in_flight));
        let sockets = socket::Sockets::new(
            config.limits.guards.sockets.clone(),
            in_flight.clone(),
            config.limits.request_timeout,
        );
        Ok(Arc::new(AppState {
            live_rooms,
            placing_lanes,
            in_flight,
            sockets,
            images,
            db,
            redis,
            accounts,
            cache,
            persisted_queries,
            stripe,
            direct,
            webhook_arrived: Arc::new(tokio::sync::Notify::new()),
            schema,
            shop,
            operation_labels: crate::graphql::root_field_names()
                .into_iter()
                .chain(config.metrics_operations.iter().cloned())
                .collect(),
            promo_links: Arc::new(crate::livestream::clicks::Redirects::new(
                livestream.storefront_url.clone(),
                config.limits.guards.click_window,
            )),
            config,
            statements,
        }))
    }

    /// SQL statements this instance has run so far (for tests and diagnostics).
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// Connections of (requests, background workers): `HUAKAI_DB_POOL` in all, per process.
fn pool_sizes(config: &Config) -> (u32, u32) {
    crate::infra::db::split_pool(
        config
            .db_pool
            .unwrap_or_else(|| crate::infra::db::default_pool_size(&config.database_url)),
    )
}

/// Opens the database (its URL's password hidden in any error) and brings its schema up to date.
async fn open_database(config: &Config, statements: Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    let db = crate::infra::db::connect_with_pool(&config.database_url, statements, pool_sizes(config).0)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at {}",
                crate::infra::settings::redact_url(&config.database_url)
            )
        })?;
    crate::infra::db::migrate(&db)
        .await
        .context("cannot migrate the database")?;
    Ok(db)
}

/// The shop as a command (`huakai payouts run`, `huakai payments reconcile`) uses it: the
/// migrated database, Stripe when configured, and the storefront cache the servers read, so
/// stock a command frees or sells shows at once.
pub async fn shop_for_command(config: &Config) -> anyhow::Result<Shop> {
    let db = open_database(config, Default::default()).await?;
    let redis = match &config.redis_url {
        Some(url) => Some(Arc::new(crate::infra::redis::Redis::connect(
            url,
            &config.redis_prefix,
        )?)),
        None => None,
    };
    let cache = match (&redis, config.cache_enabled) {
        (Some(redis), true) => StorefrontCache::redis(redis.clone(), config.cache_memory_bytes),
        _ => StorefrontCache::off(),
    };
    let (stripe, direct) = config.payment_clients()?;
    let cache = Arc::new(cache);
    // A command's sales reach the servers' live rooms through Redis.
    let live_rooms = LiveRooms::new(redis, config.part::<LivestreamSettings>().live_stock_resync);
    Ok(Shop {
        db,
        cache: cache.clone(),
        images: image_store(config)?,
        stock_listeners: stock_listeners::stock_listeners(live_rooms, cache),
        placing_lanes: Default::default(),
        settings: config.shop_settings(),
        parts: config.shop_parts(stripe, direct),
    })
}

/// Pictures decoded at once per process: each takes a core and up to 256 MiB while it lasts.
const IMAGES_DECODED_AT_ONCE: usize = 2;

fn image_store(config: &Config) -> anyhow::Result<ImageStore> {
    let blobs = BlobStore::open(&config.media.storage)?;
    Ok(ImageStore::new(blobs, IMAGES_DECODED_AT_ONCE))
}

/// A server accepting requests; `stop` shuts it down gracefully.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    /// Writes counted clicks; told to stop only after the last request was answered.
    click_flusher: (oneshot::Sender<()>, JoinHandle<()>),
}

impl RunningServer {
    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        // The workers' work is transactional: stopping one mid-way rolls back what it had begun.
        for worker in &self.workers {
            worker.abort();
        }
        let _ = self.shutdown.send(());
        let served = self.task.await.context("server task panicked")?;
        let (stop_flusher, flusher) = self.click_flusher;
        let _ = stop_flusher.send(());
        flusher.await.context("click flusher panicked")?;
        served.context("server failed")
    }
}

/// Opens the state and serves it on `config.addr` (port 0 picks a free port).
pub async fn start(mut config: Config) -> anyhow::Result<RunningServer> {
    let addr = config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    // Port 0 picked a port: notification URLs name the one listened on.
    config.addr = addr;
    let state = AppState::open(config).await?;
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let router = http::router(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = shutdown_signal.await;
            })
            .await
    });
    // The worker has a pool of its own: background work never takes a request's connection,
    // and the request pool's statement count stays the requests' own.
    let worker_shop = Shop {
        db: crate::infra::db::connect_with_pool(
            &state.config.database_url,
            Default::default(),
            pool_sizes(&state.config).1,
        )
        .await?,
        cache: state.cache.clone(),
        images: state.images.clone(),
        stock_listeners: state.stock_listeners(),
        placing_lanes: Default::default(),
        settings: state.config.shop_settings(),
        parts: state.config.shop_parts(state.stripe.clone(), state.direct.clone()),
    };
    state.live_rooms.listen();
    let (stop_flusher, flusher_stop) = oneshot::channel();
    let click_flusher = (
        stop_flusher,
        state
            .promo_links
            .clone()
            .spawn_flusher(worker_shop.db.clone(), flusher_stop),
    );
    let mut workers: Vec<JoinHandle<()>> = state.accounts.sessions.spawn_listener().into_iter().collect();
    workers.extend(DOORS.iter().flat_map(|door| door.workers(&worker_shop)));
    workers.push(crate::infra::mail::MailWorker::new(worker_shop.db.clone(), &state.config.mail)?.spawn());
    if worker_shop.stripe().is_some() || worker_shop.direct().any() {
        workers.push(crate::payments::inbox::spawn(
            worker_shop,
            state.webhook_arrived.clone(),
        ));
    }
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
        workers,
        click_flusher,
    })
}

/// `huakai serve`: runs until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Listening before serving: a SIGTERM sent as soon as the first answer went out must stop
    // the server gracefully, not kill it (the default action) before a handler is in place.
    let stop = shutdown_requested()?;
    let server = start(config).await?;
    tracing::info!(addr = %server.addr, "serving GraphQL on http://{}/graphql", server.addr);
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.stop().await
}

/// Resolves at SIGTERM or Ctrl-C; the SIGTERM handler is in place when this returns.
fn shutdown_requested() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminate => {},
        }
    })
}
