//! An Alipay open API stand-in for the tests, written from Alipay's published documents
//! ("签名与验签", "自行实现验签", "异步通知说明", and the pages of `alipay.trade.precreate`,
//! `.wap.pay`, `.query`, `.close`, `.refund`, `.fastpay.refund.query`): an HTTP server on port 0
//! whose `/gateway.do` the shop's real client calls (`HUAKAI_ALIPAY_GATEWAY`).
//!
//! It checks every request's RSA2 signature with the application's public key (as uploaded to
//! Alipay) and refuses a bad one with `40002 isv.invalid-signature`; it signs every answer's
//! `…_response` member with its own key and writes slashes escaped (`https:\/\/…`) as Alipay
//! does, so only a client that checks the text as sent passes; it keeps trades by
//! `out_trade_no` and refunds by `out_request_no`; and it POSTs signed, form-encoded
//! notifications to the trade's `notify_url`. A precreated trade exists only once scanned,
//! as at Alipay.
//!
//! The test drives what Alipay would do on its own: [`AlipayStandIn::scan`] and
//! [`AlipayStandIn::pay`] play the buyer; [`Fault`] and [`Notify`] make things go wrong.

// The stand-in offers more than any one test uses.
#![allow(dead_code)]

mod ledger;
mod serve;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::keys::{self, Role};
use ledger::Ledger;

pub use ledger::{Delivery, Fault, Notify};

pub struct AlipayStandIn {
    /// `http://127.0.0.1:{port}/gateway.do`.
    pub gateway: String,
    shared: Arc<Shared>,
    key_files: tempfile::TempDir,
    server: JoinHandle<()>,
}

struct Shared {
    app_id: String,
    /// The seller's Alipay user id (`seller_id` of notifications).
    seller_id: String,
    http: reqwest::Client,
    ledger: Mutex<Ledger>,
    /// Notifications sent later (`Notify::After`).
    later: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AlipayStandIn {
    /// Binds 127.0.0.1:0 and serves. The application's and Alipay's keys are the process's
    /// test keys.
    pub async fn start() -> AlipayStandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Alipay stand-in binds a local port");
        let gateway = format!("http://{}/gateway.do", listener.local_addr().expect("its address"));
        let shared = Arc::new(Shared {
            app_id: "2021000117600001".to_owned(),
            seller_id: "2088621955780001".to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client for notifications"),
            ledger: Mutex::default(),
            later: Mutex::default(),
        });
        let key_files = tempfile::tempdir().expect("a folder for the key files");
        keys::key(Role::AlipayApp).write_files(key_files.path(), "app");
        keys::key(Role::AlipayPlatform).write_files(key_files.path(), "alipay");
        keys::key(Role::Stranger).write_files(key_files.path(), "stranger");
        let router = axum::Router::new()
            .fallback(serve::request)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("the Alipay stand-in stopped serving: {error}");
            }
        });
        AlipayStandIn {
            gateway,
            shared,
            key_files,
            server,
        }
    }

    /// The path of one of the key files: `app_private.pem`, `alipay_public.pem`,
    /// `stranger_private.pem`, …
    pub fn key_file(&self, name: &str) -> String {
        self.key_files.path().join(name).to_string_lossy().into_owned()
    }

    /// The shop's settings for this stand-in, as the environment would give them; `timeout`
    /// is how long the client waits for an answer.
    pub fn env(&self, timeout: &str) -> Vec<(&'static str, String)> {
        use huakai::payments::alipay as settings;
        vec![
            (settings::APP_ID, self.shared.app_id.clone()),
            (settings::PRIVATE_KEY, self.key_file("app_private.pem")),
            (settings::PUBLIC_KEY, self.key_file("alipay_public.pem")),
            (settings::GATEWAY, self.gateway.clone()),
            (settings::TIMEOUT, timeout.to_owned()),
        ]
    }

    pub fn app_id(&self) -> &str {
        &self.shared.app_id
    }

    /// The trade as `alipay.trade.query` would answer it, whether or not it was scanned yet.
    pub fn trade(&self, out_trade_no: &str) -> Option<Value> {
        self.shared
            .ledger()
            .trades
            .get(out_trade_no)
            .map(ledger::TradeRow::fields)
    }

    /// How many requests for `method` (e.g. `"alipay.trade.refund"`) the gateway had, refused
    /// ones included.
    pub fn calls(&self, method: &str) -> usize {
        self.shared.ledger().calls.get(method).copied().unwrap_or(0)
    }

    /// Makes the next request for `method` go wrong the way `fault` says.
    pub fn fault_next(&self, method: &str, fault: Fault) {
        self.shared
            .ledger()
            .faults
            .entry(method.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// How the next notification is sent (otherwise once, at once).
    pub fn notify_next(&self, notify: Notify) {
        self.shared.ledger().notify.push_back(notify);
    }

    /// Every notification delivery so far, in the order they were answered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.ledger().deliveries.clone()
    }

    /// The buyer scans a precreated code: from now on the trade exists at Alipay (waiting for
    /// the buyer to pay).
    pub fn scan(&self, out_trade_no: &str) -> Result<(), String> {
        self.shared.ledger().scan(out_trade_no, Utc::now())
    }

    /// The buyer pays (scanning first if need be): TRADE_SUCCESS, and its notification sent as
    /// [`Notify`] says (what is sent at once is answered before this returns).
    pub async fn pay(&self, out_trade_no: &str) -> Result<(), String> {
        let notification = {
            let mut ledger = self.shared.ledger();
            ledger.pay(out_trade_no, Utc::now())?;
            ledger.notification(&self.shared.app_id, &self.shared.seller_id, out_trade_no, None)
        };
        if let Some((url, params)) = notification {
            serve::notify(&self.shared, url, params).await;
        }
        Ok(())
    }

    /// The parameters of a notification about the trade as it is now, unsigned.
    pub fn notification_params(&self, out_trade_no: &str) -> Vec<(String, String)> {
        let ledger = self.shared.ledger();
        let (_, params) = ledger
            .notification(&self.shared.app_id, &self.shared.seller_id, out_trade_no, None)
            .unwrap_or_else(|| panic!("the Alipay stand-in has no trade {out_trade_no} with a notify_url"));
        params
    }

    /// `params` with `sign_type` and the `sign` of `signer`'s key, as Alipay signs them.
    pub fn sign(&self, params: Vec<(String, String)>, signer: Role) -> Vec<(String, String)> {
        serve::sign_notification(params, signer)
    }

    /// POSTs `params` form-encoded to `url`; returns the status and body the shop answered.
    pub async fn post_form(&self, url: &str, params: &[(String, String)]) -> (u16, String) {
        serve::post_form(&self.shared, url, params).await
    }

    /// Waits for the notifications sent later to have been answered.
    pub async fn settle(&self) {
        let later = std::mem::take(&mut *self.shared.later.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in later {
            let _ = handle.await;
        }
    }
}

impl Drop for AlipayStandIn {
    fn drop(&mut self) {
        self.server.abort();
        for handle in self
            .shared
            .later
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            handle.abort();
        }
    }
}
