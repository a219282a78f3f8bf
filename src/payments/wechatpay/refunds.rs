//! Refunds (`/v3/refund/domestic/refunds`): one per `out_refund_no` the shop names, looked up by
//! that number when an answer was lost. WeChat Pay takes a refund in (`PROCESSING`) and tells its
//! end (`SUCCESS`, `CLOSED`, `ABNORMAL`) by a `REFUND.*` notification or a lookup.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{WechatPay, check_out_trade_no};
use crate::infra::money::{CURRENCY, Fen};
use crate::payments::direct::{self, CallError};

/// A refund the shop has decided.
#[derive(Clone, Debug)]
pub struct RefundRequest<'a> {
    /// The payment it refunds.
    pub out_trade_no: &'a str,
    /// The shop's number for this refund (up to 64 letters, digits, `_` or `-`).
    pub out_refund_no: &'a str,
    pub amount: Fen,
    /// What the payment was (WeChat Pay checks it).
    pub paid_total: Fen,
    /// Shown to the buyer.
    pub reason: Option<&'a str>,
    /// Where the `REFUND.*` notification goes.
    pub notify_url: Option<&'a str>,
}

/// A refund as WeChat Pay reports it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub out_trade_no: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    pub status: RefundStatus,
    pub amount: RefundAmount,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RefundAmount {
    /// The payment's total, in fen.
    pub total: i64,
    /// This refund, in fen.
    pub refund: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub payer_refund: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

impl Refund {
    pub fn amount(&self) -> Fen {
        Fen::new(self.amount.refund)
    }
}

/// The decrypted resource of a `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED`
/// notification (its status is `refund_status`, unlike the query's `status`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RefundNotice {
    #[serde(default)]
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_status: RefundStatus,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    pub amount: RefundNoticeAmount,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RefundNoticeAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub payer_refund: Option<i64>,
}

/// `status` / `refund_status`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum RefundStatus {
    /// The money is back with the buyer.
    Success,
    /// Closed by WeChat Pay: nothing was refunded.
    Closed,
    /// Taken in, not ended yet.
    Processing,
    /// The buyer's account could not take it (a closed card): an operator must send it another
    /// way, or retry from the merchant platform.
    Abnormal,
    Other(String),
}

impl From<String> for RefundStatus {
    fn from(status: String) -> RefundStatus {
        match status.as_str() {
            "SUCCESS" => RefundStatus::Success,
            "CLOSED" => RefundStatus::Closed,
            "PROCESSING" => RefundStatus::Processing,
            "ABNORMAL" => RefundStatus::Abnormal,
            _ => RefundStatus::Other(status),
        }
    }
}

fn check_out_refund_no(value: &str) -> Result<(), CallError> {
    direct::caller_id("out_refund_no", value, 1, 64, b"_-")
}

impl WechatPay {
    /// Asks WeChat Pay to refund. The same `out_refund_no` with the same amount is one refund
    /// there however often it is sent, but send it once: after a lost answer, use
    /// [`refund_once`](Self::refund_once).
    pub async fn refund(&self, request: &RefundRequest<'_>) -> Result<Refund, CallError> {
        check_out_trade_no(request.out_trade_no)?;
        check_out_refund_no(request.out_refund_no)?;
        if request.amount <= Fen::ZERO || request.amount > request.paid_total {
            return Err(CallError::not_sent(format!(
                "a refund of {} yuan of a payment of {} yuan",
                request.amount, request.paid_total
            )));
        }
        let mut body = json!({
            "out_trade_no": request.out_trade_no,
            "out_refund_no": request.out_refund_no,
            "amount": {
                "refund": request.amount.get(),
                "total": request.paid_total.get(),
                "currency": CURRENCY,
            },
        });
        if let Some(reason) = request.reason.map(str::trim).filter(|reason| !reason.is_empty()) {
            body["reason"] = json!(reason);
        }
        if let Some(notify_url) = request.notify_url {
            body["notify_url"] = json!(notify_url);
        }
        self.call(Method::POST, "/v3/refund/domestic/refunds", Some(&body))
            .await
    }

    /// The refund `out_refund_no`, or `None` when WeChat Pay has none by that number.
    pub async fn find_refund(&self, out_refund_no: &str) -> Result<Option<Refund>, CallError> {
        check_out_refund_no(out_refund_no)?;
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        match self.call(Method::GET, &path, None).await {
            Ok(refund) => Ok(Some(refund)),
            Err(CallError::Refused { code, .. }) if code == "RESOURCE_NOT_EXISTS" => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The refund, sent only if it is not there yet: after an attempt whose outcome is unknown
    /// (`attempted_before`), WeChat Pay is asked first, and the refund is sent again only when
    /// it has none by that number.
    pub async fn refund_once(&self, request: &RefundRequest<'_>, attempted_before: bool) -> Result<Refund, CallError> {
        if attempted_before && let Some(found) = self.find_refund(request.out_refund_no).await? {
            return Ok(found);
        }
        self.refund(request).await
    }
}
