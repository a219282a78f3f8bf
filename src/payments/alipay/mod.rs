//! Alipay's open API (RSA2), paid directly (issue 27; contract: "WeChat Pay and Alipay,
//! direct"): requests signed with the application key and answers verified with Alipay's
//! public key (`signing`); a QR code (precreate), a phone browser's signed redirect (wap pay),
//! the trade looked up and closed (`trades`); refunds (`refunds`); and the checks of an
//! asynchronous notification the webhook route receives (`notification`).
//!
//! The shop names every object there (`out_trade_no`, `out_request_no`), so an answer that was
//! lost is found again by asking for it. Amounts are yuan strings ("12.50") at Alipay, read and
//! written exactly as fen.

pub mod notification;
mod refunds;
mod settings;
pub mod signing;
mod trades;

use std::sync::Arc;

use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::Value;

pub use refunds::{Refund, RefundRequest};
pub use settings::*;
pub use trades::{Closed, Trade, TradeRequest, TradeStatus};

use crate::infra::money::Fen;
use crate::payments::direct::{self, CallError};

/// A client for one application; cheap to clone.
#[derive(Clone, Debug)]
pub struct Alipay {
    settings: Arc<AlipaySettings>,
    http: reqwest::Client,
}

/// The common fields of every answer member.
#[derive(Deserialize)]
struct Outcome {
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    sub_code: Option<String>,
    #[serde(default)]
    sub_msg: Option<String>,
}

/// `10000` is success. `20000` (service unavailable) and a `…SYSTEM_ERROR` sub-code may have
/// done the work; a refused signature or missing rights (`20001`, `isv.invalid-signature`) is
/// our keys, not the payer's doing. Anything else is a definite no.
fn classify(outcome: Outcome) -> CallError {
    let sub_code = outcome.sub_code.unwrap_or_default();
    let undecided = outcome.code == "20000"
        || outcome.code == "20001"
        || sub_code.ends_with("SYSTEM_ERROR")
        || sub_code == "isv.invalid-signature";
    let message = outcome.sub_msg.unwrap_or(outcome.msg);
    if undecided {
        CallError::Unknown(format!("Alipay {} {sub_code}: {message}", outcome.code))
    } else {
        CallError::Refused {
            code: if sub_code.is_empty() { outcome.code } else { sub_code },
            message,
        }
    }
}

fn unknown(what: impl std::fmt::Display) -> CallError {
    CallError::Unknown(format!("Alipay: {what}"))
}

/// `out_trade_no`: Alipay takes up to 64 letters, digits and underscores.
fn check_out_trade_no(value: &str) -> Result<(), CallError> {
    direct::caller_id("out_trade_no", value, 1, 64, b"_")
}

/// An amount in an answer, exactly in fen.
fn yuan(member: &Value, field: &str) -> Result<Option<Fen>, CallError> {
    match member.get(field).and_then(Value::as_str) {
        None | Some("") => Ok(None),
        Some(text) => Fen::parse_yuan(text)
            .map(Some)
            .map_err(|error| unknown(format!("{field} {text:?}: {error}"))),
    }
}

fn text(member: &Value, field: &str) -> Option<String> {
    member
        .get(field)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

impl Alipay {
    pub fn new(settings: AlipaySettings) -> Result<Alipay, String> {
        Ok(Alipay {
            http: direct::http_client(settings.timeout)?,
            settings: Arc::new(settings),
        })
    }

    pub fn settings(&self) -> &AlipaySettings {
        &self.settings
    }

    /// Calls `method` with `biz` and returns the answer's member when Alipay says `10000`. An
    /// answer whose signature does not verify against Alipay's key is no answer.
    async fn call(&self, method: &str, biz: &Value, extra: &[(&str, &str)]) -> Result<Value, CallError> {
        let params = signing::signed_request(&self.settings, method, &biz.to_string(), extra, Utc::now())?;
        let form = serde_urlencoded::to_string(&params).map_err(|error| CallError::not_sent(error.to_string()))?;
        let response = self
            .http
            .post(&self.settings.gateway)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
            .body(form)
            .send()
            .await
            .map_err(|error| unknown(direct::describe(&error)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| unknown(format!("the answer was cut off: {}", direct::describe(&error))))?;
        if !status.is_success() {
            return Err(unknown(format!("HTTP {status}")));
        }
        let body = std::str::from_utf8(&bytes).map_err(|_| unknown("an answer that is not UTF-8"))?;
        let (member, sign) = signing::answer_member(body, method).map_err(unknown)?;
        let sign = sign.ok_or_else(|| unknown(format!("an unsigned answer: {member}")))?;
        if !self.settings.alipay_key.verify(member.as_bytes(), &sign) {
            return Err(unknown("an answer not signed by Alipay's key"));
        }
        let parsed: Value = serde_json::from_str(member).map_err(unknown)?;
        let outcome: Outcome = serde_json::from_value(parsed.clone()).map_err(unknown)?;
        if outcome.code == "10000" {
            Ok(parsed)
        } else {
            Err(classify(outcome))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: &str, sub_code: Option<&str>) -> Outcome {
        Outcome {
            code: code.to_owned(),
            msg: "Business Failed".to_owned(),
            sub_code: sub_code.map(str::to_owned),
            sub_msg: None,
        }
    }

    #[test]
    fn only_a_business_no_is_a_refusal() {
        assert_eq!(
            classify(outcome("40004", Some("ACQ.TRADE_HAS_SUCCESS"))),
            CallError::Refused {
                code: "ACQ.TRADE_HAS_SUCCESS".to_owned(),
                message: "Business Failed".to_owned()
            }
        );
        assert!(matches!(
            classify(outcome("40002", Some("isv.invalid-arguments"))),
            CallError::Refused { .. }
        ));
        for (code, sub_code) in [
            ("20000", Some("isp.unknow-error")),
            ("40004", Some("ACQ.SYSTEM_ERROR")),
            ("40004", Some("aop.ACQ.SYSTEM_ERROR")),
            ("40002", Some("isv.invalid-signature")),
            ("20001", Some("aop.invalid-auth-token")),
        ] {
            assert!(
                matches!(classify(outcome(code, sub_code)), CallError::Unknown(_)),
                "{code} {sub_code:?}"
            );
        }
    }
}
