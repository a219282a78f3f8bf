//! Collecting a payment: Native (a QR code), JSAPI (inside WeChat) and H5 (a phone's browser)
//! prepay, the transaction looked up by `out_trade_no`, and closing it.
//!
//! Prepaying again with the same `out_trade_no` and the same parameters gives the same
//! prepay (WeChat Pay's rule while the order is open), so a prepay whose answer was lost is asked
//! again; whether the buyer paid is only ever learnt from a verified notification or from
//! [`WechatPay::transaction`].

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::signing::{self, JsapiParams};
use super::{WechatPay, check_out_trade_no};
use crate::infra::money::{CURRENCY, Fen};
use crate::payments::direct::{BEIJING, CallError};

/// What the shop asks a buyer to pay.
#[derive(Clone, Debug)]
pub struct Prepay<'a> {
    /// The shop's number for this payment (6 to 32 letters, digits, `_` or `-`).
    pub out_trade_no: &'a str,
    /// What the buyer sees in WeChat (cut to 127 bytes).
    pub description: &'a str,
    pub amount: Fen,
    /// Where WeChat Pay sends the notification (the shop's `/webhooks/wechatpay`).
    pub notify_url: &'a str,
    /// After this the buyer can no longer pay (the order's reservation ends).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A transaction as WeChat Pay reports it (query answer and payment notification alike).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    #[serde(default)]
    pub appid: String,
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    /// WeChat Pay's own number, once the buyer has paid.
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub trade_type: Option<String>,
    pub trade_state: TradeState,
    #[serde(default)]
    pub trade_state_desc: Option<String>,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
    #[serde(default)]
    pub payer: Option<Payer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TransactionAmount {
    /// What the order asked, in fen.
    #[serde(default)]
    pub total: Option<i64>,
    /// What the buyer paid, in fen (less than `total` by WeChat's own coupons).
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Payer {
    #[serde(default)]
    pub openid: Option<String>,
}

impl Transaction {
    /// What the order asked, if WeChat Pay says.
    pub fn total(&self) -> Option<Fen> {
        self.amount.as_ref().and_then(|amount| amount.total).map(Fen::new)
    }
}

/// `trade_state`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum TradeState {
    Success,
    /// Paid, then (partly) refunded.
    Refund,
    NotPay,
    Closed,
    Revoked,
    UserPaying,
    PayError,
    Other(String),
}

impl From<String> for TradeState {
    fn from(state: String) -> TradeState {
        match state.as_str() {
            "SUCCESS" => TradeState::Success,
            "REFUND" => TradeState::Refund,
            "NOTPAY" => TradeState::NotPay,
            "CLOSED" => TradeState::Closed,
            "REVOKED" => TradeState::Revoked,
            "USERPAYING" => TradeState::UserPaying,
            "PAYERROR" => TradeState::PayError,
            _ => TradeState::Other(state),
        }
    }
}

impl TradeState {
    /// The money arrived (whatever was refunded since).
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

/// `time_expire`: RFC 3339 in Beijing time, to the second, as WeChat Pay writes it.
fn beijing_rfc3339(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn at_most(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl WechatPay {
    fn prepay_body(&self, order: &Prepay<'_>) -> Result<Value, CallError> {
        check_out_trade_no(order.out_trade_no)?;
        if order.amount <= Fen::ZERO {
            return Err(CallError::not_sent(format!("a payment of {} yuan", order.amount)));
        }
        let mut body = json!({
            "appid": self.settings.appid,
            "mchid": self.settings.mchid,
            "description": at_most(order.description.trim(), 127),
            "out_trade_no": order.out_trade_no,
            "notify_url": order.notify_url,
            "amount": { "total": order.amount.get(), "currency": CURRENCY },
        });
        if let Some(expires_at) = order.expires_at {
            body["time_expire"] = json!(beijing_rfc3339(expires_at));
        }
        Ok(body)
    }

    /// Native: the `code_url` to show as a QR code (on a computer, on a livestream screen).
    pub async fn native_prepay(&self, order: &Prepay<'_>) -> Result<String, CallError> {
        #[derive(Deserialize)]
        struct Answer {
            code_url: String,
        }
        let body = self.prepay_body(order)?;
        let answer: Answer = self
            .call(Method::POST, "/v3/pay/transactions/native", Some(&body))
            .await?;
        Ok(answer.code_url)
    }

    /// JSAPI: the signed parameters a page inside WeChat passes to `wx.requestPayment`, for the
    /// buyer `openid` (of this AppID).
    pub async fn jsapi_prepay(&self, order: &Prepay<'_>, openid: &str) -> Result<JsapiParams, CallError> {
        #[derive(Deserialize)]
        struct Answer {
            prepay_id: String,
        }
        if openid.trim().is_empty() {
            return Err(CallError::not_sent("JSAPI needs the buyer's openid"));
        }
        let mut body = self.prepay_body(order)?;
        body["payer"] = json!({ "openid": openid.trim() });
        let answer: Answer = self
            .call(Method::POST, "/v3/pay/transactions/jsapi", Some(&body))
            .await?;
        signing::jsapi_params(
            &self.settings,
            &answer.prepay_id,
            Utc::now().timestamp(),
            signing::nonce(),
        )
    }

    /// H5: the `h5_url` a phone's browser (outside WeChat) is sent to; `payer_ip` is the
    /// buyer's address, which WeChat Pay checks against the phone that opens it.
    pub async fn h5_prepay(&self, order: &Prepay<'_>, payer_ip: IpAddr) -> Result<String, CallError> {
        #[derive(Deserialize)]
        struct Answer {
            h5_url: String,
        }
        let mut body = self.prepay_body(order)?;
        body["scene_info"] = json!({
            "payer_client_ip": payer_ip.to_string(),
            "h5_info": { "type": "Wap" },
        });
        let answer: Answer = self.call(Method::POST, "/v3/pay/transactions/h5", Some(&body)).await?;
        Ok(answer.h5_url)
    }

    /// The transaction `out_trade_no`, or `None` when WeChat Pay has none by that number.
    pub async fn transaction(&self, out_trade_no: &str) -> Result<Option<Transaction>, CallError> {
        check_out_trade_no(out_trade_no)?;
        let mchid: String = url::form_urlencoded::byte_serialize(self.settings.mchid.as_bytes()).collect();
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={mchid}");
        match self.call(Method::GET, &path, None).await {
            Ok(transaction) => Ok(Some(transaction)),
            Err(CallError::Refused { code, .. }) if code == "ORDER_NOT_EXIST" => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Closes an unpaid transaction, so that the buyer can no longer pay it. WeChat Pay answers
    /// 204 also for a number it does not know, refuses (`ORDERPAID`) a paid one, and answers 202
    /// while the buyer is entering a password (an unknown outcome: look it up).
    pub async fn close(&self, out_trade_no: &str) -> Result<(), CallError> {
        check_out_trade_no(out_trade_no)?;
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = json!({ "mchid": self.settings.mchid });
        self.call_raw(Method::POST, &path, Some(&body)).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn expiry_is_written_in_beijing_time() {
        let at = Utc.with_ymd_and_hms(2018, 6, 8, 2, 34, 56).single().expect("a time");
        assert_eq!(beijing_rfc3339(at), "2018-06-08T10:34:56+08:00");
    }

    #[test]
    fn descriptions_are_cut_at_a_character() {
        assert_eq!(at_most("花开助农", 7), "花开");
        assert_eq!(at_most("short", 127), "short");
    }

    #[test]
    fn trade_states_read_as_published() {
        let parse = |state: &str| serde_json::from_value::<TradeState>(json!(state)).expect("a state");
        assert_eq!(parse("SUCCESS"), TradeState::Success);
        assert_eq!(parse("NOTPAY"), TradeState::NotPay);
        assert!(parse("REFUND").is_paid());
        assert!(!parse("CLOSED").is_paid());
        assert_eq!(parse("ACCEPT"), TradeState::Other("ACCEPT".to_owned()));
    }
}
