//! Collecting a payment: a QR code (`alipay.trade.precreate`), a phone browser's signed
//! redirect (`alipay.trade.wap.pay`), the trade looked up (`alipay.trade.query`) and closed
//! (`alipay.trade.close`).
//!
//! A precreated trade exists at Alipay only once the buyer has scanned its code: until then a
//! lookup or a close says `ACQ.TRADE_NOT_EXIST`, and the code stays payable until its
//! `time_expire`. So the shop gives every trade the end of its reservation as `time_expire`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::signing::{self, beijing_time};
use super::{Alipay, check_out_trade_no, text, unknown, yuan};
use crate::infra::money::Fen;
use crate::payments::direct::CallError;

/// What the shop asks a buyer to pay.
#[derive(Clone, Debug)]
pub struct TradeRequest<'a> {
    /// The shop's number for this payment (up to 64 letters, digits or `_`).
    pub out_trade_no: &'a str,
    /// What the buyer sees (cut to 256 bytes).
    pub subject: &'a str,
    pub amount: Fen,
    /// Where Alipay POSTs its notifications (the shop's `/webhooks/alipay`).
    pub notify_url: &'a str,
    /// After this the buyer can no longer pay.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A trade as `alipay.trade.query` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    pub out_trade_no: String,
    /// Alipay's own number.
    pub trade_no: Option<String>,
    pub status: TradeStatus,
    pub total: Fen,
    /// What the buyer paid (less than `total` by Alipay's own discounts).
    pub buyer_pay: Option<Fen>,
}

/// `trade_status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    /// Unpaid and closed, or paid and wholly refunded.
    Closed,
    Success,
    /// Paid, and past the time refunds are possible.
    Finished,
    Other(String),
}

impl TradeStatus {
    pub fn parse(status: &str) -> TradeStatus {
        match status {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_CLOSED" => TradeStatus::Closed,
            "TRADE_SUCCESS" => TradeStatus::Success,
            "TRADE_FINISHED" => TradeStatus::Finished,
            other => TradeStatus::Other(other.to_owned()),
        }
    }

    /// The money arrived.
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeStatus::Success | TradeStatus::Finished)
    }
}

/// What closing came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closed {
    Closed,
    /// Alipay has no such trade: its code was never scanned (it lapses at `time_expire`).
    NeverOpened,
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn at_most(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn not_found(error: &CallError) -> bool {
    matches!(error, CallError::Refused { code, .. } if code == "ACQ.TRADE_NOT_EXIST")
}

impl Alipay {
    fn trade_biz(trade: &TradeRequest<'_>) -> Result<Value, CallError> {
        check_out_trade_no(trade.out_trade_no)?;
        if trade.amount <= Fen::ZERO {
            return Err(CallError::not_sent(format!("a payment of {} yuan", trade.amount)));
        }
        let mut biz = json!({
            "out_trade_no": trade.out_trade_no,
            "total_amount": trade.amount.to_string(),
            "subject": at_most(trade.subject.trim(), 256),
        });
        if let Some(expires_at) = trade.expires_at {
            biz["time_expire"] = json!(beijing_time(expires_at));
        }
        Ok(biz)
    }

    /// The QR code (`qr_code`, a URL) the buyer scans with Alipay.
    pub async fn precreate(&self, trade: &TradeRequest<'_>) -> Result<String, CallError> {
        let biz = Self::trade_biz(trade)?;
        let member = self
            .call("alipay.trade.precreate", &biz, &[("notify_url", trade.notify_url)])
            .await?;
        text(&member, "qr_code").ok_or_else(|| unknown("a precreate answer without qr_code"))
    }

    /// The signed URL a phone's browser is sent to, to pay in Alipay's cashier; `return_url`
    /// is where it comes back to, `quit_url` where it goes when the buyer gives up. Nothing is
    /// sent: the trade is made when the buyer opens it.
    pub fn wap_pay_url(
        &self,
        trade: &TradeRequest<'_>,
        return_url: Option<&str>,
        quit_url: Option<&str>,
    ) -> Result<String, CallError> {
        let mut biz = Self::trade_biz(trade)?;
        biz["product_code"] = json!("QUICK_WAP_WAY");
        if let Some(quit_url) = quit_url {
            biz["quit_url"] = json!(quit_url);
        }
        let mut extra = vec![("notify_url", trade.notify_url)];
        extra.extend(return_url.map(|url| ("return_url", url)));
        let params = signing::signed_request(
            &self.settings,
            "alipay.trade.wap.pay",
            &biz.to_string(),
            &extra,
            Utc::now(),
        )?;
        let query = serde_urlencoded::to_string(&params).map_err(|error| CallError::not_sent(error.to_string()))?;
        Ok(format!("{}?{query}", self.settings.gateway))
    }

    /// The trade `out_trade_no`, or `None` when Alipay has none (never scanned, or unknown).
    pub async fn query(&self, out_trade_no: &str) -> Result<Option<Trade>, CallError> {
        check_out_trade_no(out_trade_no)?;
        let biz = json!({ "out_trade_no": out_trade_no });
        let member = match self.call("alipay.trade.query", &biz, &[]).await {
            Ok(member) => member,
            Err(error) if not_found(&error) => return Ok(None),
            Err(error) => return Err(error),
        };
        let status = text(&member, "trade_status").ok_or_else(|| unknown("a trade without trade_status"))?;
        Ok(Some(Trade {
            out_trade_no: text(&member, "out_trade_no").unwrap_or_else(|| out_trade_no.to_owned()),
            trade_no: text(&member, "trade_no"),
            status: TradeStatus::parse(&status),
            total: yuan(&member, "total_amount")?.ok_or_else(|| unknown("a trade without total_amount"))?,
            buyer_pay: yuan(&member, "buyer_pay_amount")?,
        }))
    }

    /// Closes an unpaid trade, so that the buyer can no longer pay it; a paid one is refused
    /// (`ACQ.TRADE_STATUS_ERROR`).
    pub async fn close(&self, out_trade_no: &str) -> Result<Closed, CallError> {
        check_out_trade_no(out_trade_no)?;
        let biz = json!({ "out_trade_no": out_trade_no });
        match self.call("alipay.trade.close", &biz, &[]).await {
            Ok(_) => Ok(Closed::Closed),
            Err(error) if not_found(&error) => Ok(Closed::NeverOpened),
            Err(error) => Err(error),
        }
    }
}
