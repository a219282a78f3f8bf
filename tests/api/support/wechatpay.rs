//! A WeChat Pay API v3 stand-in for the tests, written from WeChat Pay's published documents
//! (签名生成, 签名验证, 证书和回调报文解密, the Native/JSAPI/H5 下单, 查询订单, 关闭订单, 退款,
//! 交易账单 pages): an HTTP server on port 0 that the shop's real client talks to
//! (`HUAKAI_WECHATPAY_API_BASE` set to `base_url`).
//!
//! It checks every request's `Authorization` as WeChat Pay does (the merchant's key, serial,
//! mchid, a five-minute window) and refuses a bad one with 401 `SIGN_ERROR`; it signs every
//! answer with its platform key (`Wechatpay-Signature`, `-Timestamp`, `-Nonce`, `-Serial`);
//! it keeps transactions by `out_trade_no` and refunds by `out_refund_no`; and it sends
//! notifications signed, their resource encrypted with the APIv3 key (AES-256-GCM), to the
//! `notify_url` of the request that made the object.
//!
//! Served: `POST /v3/pay/transactions/{native,jsapi,h5}`,
//! `GET /v3/pay/transactions/out-trade-no/{no}?mchid=`,
//! `POST /v3/pay/transactions/out-trade-no/{no}/close`, `POST /v3/refund/domestic/refunds`,
//! `GET /v3/refund/domestic/refunds/{no}`, `GET /v3/bill/tradebill`, `GET /v3/billdownload/file`.
//!
//! The test drives what WeChat Pay would do on its own: [`WechatPayStandIn::pay`] plays the
//! buyer, [`WechatPayStandIn::finish_refund`] the bank; [`Fault`] and [`Notify`] make things go
//! wrong as they do in life. Unlike WeChat Pay, it makes a day's bill at once.

// The stand-in offers more than any one test uses.
#![allow(dead_code)]

mod ledger;
mod serve;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::keys::{self, Role, TestKey};
use ledger::{Ledger, TradeRow};

pub use ledger::{Delivery, Fault, Notify};

pub struct WechatPayStandIn {
    /// `http://127.0.0.1:{port}`.
    pub base_url: String,
    shared: Arc<Shared>,
    key_files: tempfile::TempDir,
    server: JoinHandle<()>,
}

struct Shared {
    mchid: String,
    appid: String,
    merchant_serial: String,
    platform_key_id: String,
    apiv3_key: String,
    base_url: String,
    http: reqwest::Client,
    ledger: Mutex<Ledger>,
    /// Notifications sent later (`Notify::After`).
    later: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn merchant_key(&self) -> &'static TestKey {
        keys::key(Role::WechatMerchant)
    }

    fn platform_key(&self) -> &'static TestKey {
        keys::key(Role::WechatPlatform)
    }
}

impl WechatPayStandIn {
    /// Binds 127.0.0.1:0 and serves. The merchant and platform keys are the process's test keys.
    pub async fn start() -> WechatPayStandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the WeChat Pay stand-in binds a local port");
        let base_url = format!("http://{}", listener.local_addr().expect("its address"));
        let shared = Arc::new(Shared {
            mchid: "1900009191".to_owned(),
            appid: "wxd678efh567hg6787".to_owned(),
            merchant_serial: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".to_owned(),
            platform_key_id: "PUB_KEY_ID_0119000091912024010100000000000001".to_owned(),
            apiv3_key: uuid::Uuid::new_v4().simple().to_string(),
            base_url: base_url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client for notifications"),
            ledger: Mutex::default(),
            later: Mutex::default(),
        });
        let key_files = tempfile::tempdir().expect("a folder for the key files");
        keys::key(Role::WechatMerchant).write_files(key_files.path(), "merchant");
        keys::key(Role::WechatPlatform).write_files(key_files.path(), "platform");
        keys::key(Role::Stranger).write_files(key_files.path(), "stranger");
        let router = axum::Router::new()
            .fallback(serve::request)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("the WeChat Pay stand-in stopped serving: {error}");
            }
        });
        WechatPayStandIn {
            base_url,
            shared,
            key_files,
            server,
        }
    }

    fn key_file(&self, name: &str) -> String {
        let path: PathBuf = self.key_files.path().join(name);
        path.to_string_lossy().into_owned()
    }

    /// The shop's settings for this stand-in, as the environment would give them; `timeout`
    /// is how long the client waits for an answer.
    pub fn env(&self, timeout: &str) -> Vec<(&'static str, String)> {
        use huakai::payments::wechatpay as settings;
        vec![
            (settings::MCHID, self.shared.mchid.clone()),
            (settings::APPID, self.shared.appid.clone()),
            (settings::SERIAL, self.shared.merchant_serial.clone()),
            (settings::PRIVATE_KEY, self.key_file("merchant_private.pem")),
            (settings::APIV3_KEY, self.shared.apiv3_key.clone()),
            (settings::PLATFORM_PUBLIC_KEY, self.key_file("platform_public.pem")),
            (settings::PLATFORM_KEY_ID, self.shared.platform_key_id.clone()),
            (settings::API_BASE, self.base_url.clone()),
            (settings::TIMEOUT, timeout.to_owned()),
        ]
    }

    /// The paths of a stranger's key files (private, public), for a misconfigured shop.
    pub fn stranger_key_files(&self) -> (String, String) {
        (
            self.key_file("stranger_private.pem"),
            self.key_file("stranger_public.pem"),
        )
    }

    pub fn mchid(&self) -> &str {
        &self.shared.mchid
    }

    pub fn appid(&self) -> &str {
        &self.shared.appid
    }

    /// The transaction `out_trade_no` as a query answers it.
    pub fn transaction(&self, out_trade_no: &str) -> Option<Value> {
        let ledger = self.shared.ledger();
        ledger
            .trades
            .get(out_trade_no)
            .map(|trade| trade.resource(&self.shared.appid, &self.shared.mchid))
    }

    /// The refund `out_refund_no` as a query answers it.
    pub fn refund(&self, out_refund_no: &str) -> Option<Value> {
        self.shared
            .ledger()
            .refunds
            .get(out_refund_no)
            .map(|refund| refund.resource())
    }

    /// How many requests `METHOD path` (e.g. `"POST /v3/refund/domestic/refunds"`) had,
    /// refused ones included.
    pub fn calls(&self, route: &str) -> usize {
        self.shared.ledger().calls.get(route).copied().unwrap_or(0)
    }

    /// Makes the next request `METHOD path` go wrong the way `fault` says.
    pub fn fault_next(&self, route: &str, fault: Fault) {
        self.shared
            .ledger()
            .faults
            .entry(route.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// How the next notification is sent (otherwise once, at once).
    pub fn notify_next(&self, notify: Notify) {
        self.shared.ledger().notify.push_back(notify);
    }

    /// Makes the next bill file differ from the hash its answer gave.
    pub fn corrupt_next_bill(&self) {
        self.shared.ledger().corrupt_next_bill = true;
    }

    /// Every notification delivery so far, in the order they were answered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.ledger().deliveries.clone()
    }

    /// The buyer pays `out_trade_no` (scans the code, confirms in WeChat): the transaction
    /// becomes SUCCESS and `TRANSACTION.SUCCESS` is sent as [`Notify`] says; what is sent at once
    /// is answered before this returns. Fails when the transaction cannot be paid.
    pub async fn pay(&self, out_trade_no: &str) -> Result<Value, String> {
        let (resource, notify_url) = {
            let mut ledger = self.shared.ledger();
            let transaction_id = ledger.next_id("4200000000");
            let trade: &mut TradeRow = ledger
                .trades
                .get_mut(out_trade_no)
                .ok_or_else(|| format!("no transaction {out_trade_no}"))?;
            if trade.state != "NOTPAY" {
                return Err(format!("{out_trade_no} is {}", trade.state));
            }
            if trade.expires_at.is_some_and(|at| at < Utc::now()) {
                return Err(format!("{out_trade_no} expired"));
            }
            trade.state = "SUCCESS".to_owned();
            trade.transaction_id = Some(transaction_id);
            trade.success_time = Some(Utc::now());
            trade
                .openid
                .get_or_insert_with(|| "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".to_owned());
            (
                trade.resource(&self.shared.appid, &self.shared.mchid),
                trade.notify_url.clone(),
            )
        };
        self.notify(&notify_url, "TRANSACTION.SUCCESS", "支付成功", "transaction", &resource)
            .await;
        Ok(resource)
    }

    /// The refund `out_refund_no` ends as `status` (`SUCCESS`, `CLOSED` or `ABNORMAL`), and its
    /// `REFUND.*` notification is sent if the refund asked for one.
    pub async fn finish_refund(&self, out_refund_no: &str, status: &str) -> Value {
        let (resource, notify_url) = {
            let mut ledger = self.shared.ledger();
            let refund = ledger
                .refunds
                .get_mut(out_refund_no)
                .unwrap_or_else(|| panic!("the WeChat Pay stand-in has no refund {out_refund_no}"));
            assert_eq!(refund.status, "PROCESSING", "{out_refund_no} has ended already");
            refund.status = status.to_owned();
            if status == "SUCCESS" {
                refund.success_time = Some(Utc::now());
            }
            let ended = (refund.notice(&self.shared.mchid), refund.notify_url.clone());
            // A closed refund gives its amount back to what the payment can still refund.
            if status == "CLOSED" {
                let (out_trade_no, amount) = (refund.out_trade_no.clone(), refund.amount);
                if let Some(trade) = ledger.trades.get_mut(&out_trade_no) {
                    trade.refunded -= amount;
                }
            }
            ended
        };
        if let Some(url) = notify_url {
            let summary = if status == "SUCCESS" {
                "退款成功"
            } else {
                "退款异常"
            };
            self.notify(&url, &format!("REFUND.{status}"), summary, "refund", &resource)
                .await;
        }
        resource
    }

    /// Sends (or not, or later, or twice) one notification as the next [`Notify`] says.
    async fn notify(&self, url: &str, event_type: &str, summary: &str, original_type: &str, resource: &Value) {
        let body = self.notification(event_type, summary, original_type, resource);
        let mode = self.shared.ledger().notify.pop_front().unwrap_or(Notify::Once);
        match mode {
            Notify::Never => {}
            Notify::Once => {
                self.deliver(url, &body, Utc::now().timestamp(), Role::WechatPlatform)
                    .await;
            }
            Notify::Twice => {
                for _ in 0..2 {
                    self.deliver(url, &body, Utc::now().timestamp(), Role::WechatPlatform)
                        .await;
                }
            }
            Notify::After(delay) => {
                let shared = Arc::clone(&self.shared);
                let url = url.to_owned();
                let later = tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    serve::post_notification(&shared, &url, &body, Utc::now().timestamp(), Role::WechatPlatform).await;
                });
                self.shared
                    .later
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(later);
            }
        }
    }

    /// A notification body (compact JSON) whose resource is `resource` encrypted with the
    /// APIv3 key, as WeChat Pay makes them.
    pub fn notification(&self, event_type: &str, summary: &str, original_type: &str, resource: &Value) -> String {
        let ciphertext = serve::encrypt(&self.shared.apiv3_key, original_type, resource);
        json!({
            "id": format!("EV-{}", uuid::Uuid::new_v4().simple()),
            "create_time": ledger::rfc3339(Utc::now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": ciphertext,
        })
        .to_string()
    }

    /// POSTs `body` to `url` signed at `timestamp` with `signer`'s key (under the platform
    /// key's id): for stale and forged notifications. Returns the status the shop answered.
    pub async fn deliver(&self, url: &str, body: &str, timestamp: i64, signer: Role) -> u16 {
        serve::post_notification(&self.shared, url, body, timestamp, signer).await
    }

    /// Waits for the notifications sent later to have been answered.
    pub async fn settle(&self) {
        let later = std::mem::take(&mut *self.shared.later.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in later {
            let _ = handle.await;
        }
    }
}

impl Drop for WechatPayStandIn {
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
