//! WeChat Pay API v3, paid directly (issue 27; contract: "WeChat Pay and Alipay, direct"): a
//! client for the merchant's own account, with requests signed by the merchant key and answers
//! verified with the platform's public key (`signing`); Native, JSAPI and H5 prepay, the
//! transaction looked up and closed (`trades`); refunds (`refunds`); a day's trade bill
//! (`bill`); and the checks of a notification the webhook route receives (`notification`).
//!
//! The shop names every object there: `out_trade_no` and `out_refund_no` come from its own
//! rows, so an answer that was lost is found again by asking for them, never by sending the
//! request twice. Amounts are fen, as WeChat Pay counts them.

mod bill;
pub mod notification;
mod refunds;
mod settings;
pub mod signing;
mod trades;

use axum::body::Bytes;
use chrono::Utc;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use bill::{BillRow, BillSummary, TradeBill, parse_trade_bill};
pub use refunds::{Refund, RefundAmount, RefundNotice, RefundNoticeAmount, RefundRequest, RefundStatus};
pub use settings::*;
pub use signing::JsapiParams;
pub use trades::{Payer, Prepay, TradeState, Transaction, TransactionAmount};

use crate::payments::direct::{self, CallError};

/// A client for one merchant account; cheap to clone.
#[derive(Clone, Debug)]
pub struct WechatPay {
    settings: std::sync::Arc<WechatPaySettings>,
    http: reqwest::Client,
}

/// What WeChat Pay says when it does not do something.
#[derive(Deserialize)]
struct ErrorAnswer {
    code: String,
    #[serde(default)]
    message: String,
}

/// Codes that say WeChat Pay could not decide, whatever the status: ask again later.
const UNDECIDED: &[&str] = &[
    "SYSTEM_ERROR",
    "FREQUENCY_LIMITED",
    "BANK_ERROR",
    "USERPAYING",
    "USER_PAYING",
];

/// Only a 400, 403 or 404 with WeChat Pay's error shape is a refusal: the request itself was
/// wrong, or the business rules say no. A 401 is our keys, not the payer's doing; 429 and 5xx
/// may have done the work.
fn classify(status: reqwest::StatusCode, body: &[u8]) -> CallError {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(error) if matches!(status.as_u16(), 400 | 403 | 404) && !UNDECIDED.contains(&error.code.as_str()) => {
            CallError::Refused {
                code: error.code,
                message: error.message,
            }
        }
        Ok(error) => CallError::Unknown(format!("WeChat Pay {status} {}: {}", error.code, error.message)),
        Err(_) => CallError::Unknown(format!(
            "WeChat Pay {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
    }
}

fn unknown(what: impl std::fmt::Display) -> CallError {
    CallError::Unknown(format!("WeChat Pay: {what}"))
}

/// `out_trade_no`: WeChat Pay takes 6 to 32 characters; the shop's are plain.
fn check_out_trade_no(value: &str) -> Result<(), CallError> {
    direct::caller_id("out_trade_no", value, 6, 32, b"_-")
}

impl WechatPay {
    pub fn new(settings: WechatPaySettings) -> Result<WechatPay, String> {
        Ok(WechatPay {
            http: direct::http_client(settings.timeout)?,
            settings: std::sync::Arc::new(settings),
        })
    }

    pub fn settings(&self) -> &WechatPaySettings {
        &self.settings
    }

    /// Sends one signed request to `url` (absolute) and returns the answer's body: verified
    /// against the platform key when `signed_answer` (every answer but a bill file's).
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
        signed_answer: bool,
    ) -> Result<Bytes, CallError> {
        let parsed = url::Url::parse(url).map_err(|error| CallError::not_sent(format!("not a URL: {url}: {error}")))?;
        // The signature covers the path and query exactly as the server receives them.
        let signed_url = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let text = body.as_deref().unwrap_or_default();
        let authorization = signing::authorization(
            &self.settings,
            method.as_str(),
            &signed_url,
            text,
            Utc::now().timestamp(),
            &signing::nonce(),
        )?;
        let mut request = self
            .http
            .request(method, parsed)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            // Asks for answers signed with the platform public key rather than a certificate.
            .header(signing::SERIAL, &self.settings.platform_key_id);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| unknown(direct::describe(&error)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| unknown(format!("the answer was cut off: {}", direct::describe(&error))))?;
        if !status.is_success() {
            return Err(classify(status, &bytes));
        }
        // 202 USER_PAYING (closing while the buyer enters a password): taken in, not done.
        if status == reqwest::StatusCode::ACCEPTED {
            return Err(unknown(format!(
                "202, not done yet: {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        if signed_answer {
            // The work may be done: an answer we cannot trust leaves the outcome unknown.
            signing::verify(&self.settings, &headers, &bytes, Utc::now().timestamp())
                .map_err(|error| unknown(format!("an answer ({status}) not taken: {error}")))?;
        }
        Ok(bytes)
    }

    /// A JSON request to `path_and_query` under the API base, its verified answer parsed.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, CallError> {
        let bytes = self.call_raw(method, path_and_query, body).await?;
        serde_json::from_slice(&bytes).map_err(|error| unknown(format!("an answer that does not parse: {error}")))
    }

    async fn call_raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes, CallError> {
        let url = format!("{}{path_and_query}", self.settings.api_base);
        self.exchange(method, &url, body.map(serde_json::Value::to_string), true)
            .await
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;

    #[test]
    fn only_a_business_no_is_a_refusal() {
        let refused = classify(
            StatusCode::FORBIDDEN,
            br#"{"code":"NOT_ENOUGH","message":"balance too low"}"#,
        );
        assert_eq!(
            refused,
            CallError::Refused {
                code: "NOT_ENOUGH".to_owned(),
                message: "balance too low".to_owned()
            }
        );
        for (status, body) in [
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"code":"SYSTEM_ERROR","message":"x"}"#,
            ),
            (StatusCode::BAD_REQUEST, r#"{"code":"SYSTEM_ERROR","message":"x"}"#),
            (
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"code":"FREQUENCY_LIMITED","message":"x"}"#,
            ),
            (StatusCode::UNAUTHORIZED, r#"{"code":"SIGN_ERROR","message":"x"}"#),
            (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>"),
            (StatusCode::NOT_FOUND, "not json"),
        ] {
            assert!(
                matches!(classify(status, body.as_bytes()), CallError::Unknown(_)),
                "{status} {body}"
            );
        }
    }
}
