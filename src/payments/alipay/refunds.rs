//! Refunds (`alipay.trade.refund`), one per `out_request_no` the shop names, and their lookup
//! (`alipay.trade.fastpay.refund.query`) after an answer was lost. Alipay refunds at once or
//! refuses; a lookup that finds nothing means nothing was refunded.

use serde_json::json;

use super::{Alipay, check_out_trade_no, text, unknown, yuan};
use crate::infra::money::Fen;
use crate::payments::direct::{self, CallError};

/// A refund the shop has decided.
#[derive(Clone, Debug)]
pub struct RefundRequest<'a> {
    pub out_trade_no: &'a str,
    /// The shop's number for this refund (up to 64 letters, digits or `_`).
    pub out_request_no: &'a str,
    pub amount: Fen,
    pub reason: Option<&'a str>,
}

/// A refund Alipay made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub out_trade_no: String,
    pub out_request_no: String,
    /// This refund.
    pub amount: Fen,
    pub trade_no: Option<String>,
}

fn check_out_request_no(value: &str) -> Result<(), CallError> {
    direct::caller_id("out_request_no", value, 1, 64, b"_")
}

impl Alipay {
    /// Asks Alipay to refund. The same `out_request_no` is one refund there however often it
    /// is sent, but send it once: after a lost answer, use [`refund_once`](Self::refund_once).
    pub async fn refund(&self, request: &RefundRequest<'_>) -> Result<Refund, CallError> {
        check_out_trade_no(request.out_trade_no)?;
        check_out_request_no(request.out_request_no)?;
        if request.amount <= Fen::ZERO {
            return Err(CallError::not_sent(format!("a refund of {} yuan", request.amount)));
        }
        let mut biz = json!({
            "out_trade_no": request.out_trade_no,
            "out_request_no": request.out_request_no,
            "refund_amount": request.amount.to_string(),
        });
        if let Some(reason) = request.reason.map(str::trim).filter(|reason| !reason.is_empty()) {
            biz["refund_reason"] = json!(reason);
        }
        // The answer's `refund_fee` is everything refunded of the trade so far, not this refund.
        let member = self.call("alipay.trade.refund", &biz, &[]).await?;
        Ok(Refund {
            out_trade_no: request.out_trade_no.to_owned(),
            out_request_no: request.out_request_no.to_owned(),
            amount: request.amount,
            trade_no: text(&member, "trade_no"),
        })
    }

    /// The refund `out_request_no` of `out_trade_no`, or `None` when Alipay made none.
    pub async fn find_refund(&self, out_trade_no: &str, out_request_no: &str) -> Result<Option<Refund>, CallError> {
        check_out_trade_no(out_trade_no)?;
        check_out_request_no(out_request_no)?;
        let biz = json!({ "out_trade_no": out_trade_no, "out_request_no": out_request_no });
        let member = match self.call("alipay.trade.fastpay.refund.query", &biz, &[]).await {
            Ok(member) => member,
            Err(CallError::Refused { code, .. }) if code == "ACQ.TRADE_NOT_EXIST" => return Ok(None),
            Err(error) => return Err(error),
        };
        // Found: `refund_amount` is there and `refund_status`, if any, is REFUND_SUCCESS.
        let Some(amount) = yuan(&member, "refund_amount")? else {
            return Ok(None);
        };
        match text(&member, "refund_status").as_deref() {
            None | Some("REFUND_SUCCESS") => Ok(Some(Refund {
                out_trade_no: out_trade_no.to_owned(),
                out_request_no: out_request_no.to_owned(),
                amount,
                trade_no: text(&member, "trade_no"),
            })),
            Some(other) => Err(unknown(format!("a refund in state {other}"))),
        }
    }

    /// The refund, sent only if it is not there yet: after an attempt whose outcome is unknown
    /// (`attempted_before`), Alipay is asked first.
    pub async fn refund_once(&self, request: &RefundRequest<'_>, attempted_before: bool) -> Result<Refund, CallError> {
        if attempted_before && let Some(found) = self.find_refund(request.out_trade_no, request.out_request_no).await? {
            return Ok(found);
        }
        self.refund(request).await
    }
}
