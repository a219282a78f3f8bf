//! An asynchronous notification Alipay POSTs (form-encoded) to `/webhooks/alipay`: its `sign`
//! checked against Alipay's key over every other parameter but `sign_type`, sorted, and its
//! `app_id` ours. The route answers [`ACKNOWLEDGED`] to what [`verify`] takes; anything else
//! makes Alipay send it again (over about a day).
//!
//! Alipay's notifications carry no signed time, so a replayed one is not refused here: the
//! shop applies a notification by the trade's state (paid once; a refund by its own number),
//! which makes a repeat harmless.

use super::AlipaySettings;
use super::signing::{self, SIGN_TYPE};
use super::trades::TradeStatus;
use crate::infra::money::Fen;

/// The answer Alipay waits for; any other body counts as not taken.
pub const ACKNOWLEDGED: &str = "success";

/// A `trade_status_sync` notification that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeNotice {
    /// The same on every delivery of one notification: the inbox's key.
    pub notify_id: String,
    pub notify_time: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub trade_status: TradeStatus,
    pub total: Fen,
    /// What the merchant received, when Alipay says.
    pub receipt: Option<Fen>,
    /// Everything refunded of the trade so far, on a notification a refund caused.
    pub refund_fee: Option<Fen>,
    /// The refund's `out_request_no`, on a notification a refund caused.
    pub out_biz_no: Option<String>,
    pub gmt_payment: Option<String>,
}

/// Why a notification is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("not signed by Alipay: {0}")]
    Forged(String),
    #[error("for another application ({0})")]
    OtherApplication(String),
    #[error("not an Alipay notification: {0}")]
    Malformed(String),
}

impl NotificationError {
    /// 401 for what is not Alipay's, 400 for what is not ours or not a notification.
    pub fn status(&self) -> u16 {
        match self {
            NotificationError::Forged(_) => 401,
            NotificationError::OtherApplication(_) | NotificationError::Malformed(_) => 400,
        }
    }
}

/// Verifies a notification from its raw (form-encoded) body, as received.
pub fn verify(settings: &AlipaySettings, body: &[u8]) -> Result<TradeNotice, NotificationError> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|error| NotificationError::Malformed(error.to_string()))?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let sign = get("sign").ok_or_else(|| NotificationError::Forged("no sign".to_owned()))?;
    if get("sign_type") != Some(SIGN_TYPE) {
        return Err(NotificationError::Forged(format!(
            "sign_type {:?}, not RSA2",
            get("sign_type").unwrap_or_default()
        )));
    }
    let content = signing::notification_content(&params);
    if !settings.alipay_key.verify(content.as_bytes(), sign) {
        return Err(NotificationError::Forged("the signature does not verify".to_owned()));
    }
    let app_id = get("app_id").unwrap_or_default();
    if app_id != settings.app_id {
        return Err(NotificationError::OtherApplication(app_id.to_owned()));
    }
    let required = |name: &str| {
        get(name)
            .map(str::to_owned)
            .ok_or_else(|| NotificationError::Malformed(format!("no {name}")))
    };
    let amount = |name: &str| {
        get(name)
            .map(|text| Fen::parse_yuan(text).map_err(|error| NotificationError::Malformed(format!("{name}: {error}"))))
            .transpose()
    };
    Ok(TradeNotice {
        notify_id: required("notify_id")?,
        notify_time: required("notify_time")?,
        out_trade_no: required("out_trade_no")?,
        trade_no: required("trade_no")?,
        trade_status: TradeStatus::parse(&required("trade_status")?),
        total: amount("total_amount")?.ok_or_else(|| NotificationError::Malformed("no total_amount".to_owned()))?,
        receipt: amount("receipt_amount")?,
        refund_fee: amount("refund_fee")?,
        out_biz_no: get("out_biz_no").map(str::to_owned),
        gmt_payment: get("gmt_payment").map(str::to_owned),
    })
}
