//! The Alipay stand-in's state: trades by `out_trade_no` with their refunds, what goes wrong
//! next, and the trades as answers and notifications show them. Amounts are kept in fen and
//! written as yuan strings, as Alipay writes them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The work is done, but the answer comes only after this long (longer than the shop
    /// waits): to the shop, the answer is lost.
    LostAnswer(Duration),
    /// The work is done, then `20000 isp.unknow-error` (service unavailable).
    UnavailableAfterWork,
    /// The work is done; the answer is signed with a stranger's key.
    ForgedAnswer,
}

/// How the next notification goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Once, at once (answered before the action returns).
    Once,
    /// Twice in a row, the same notification (same `notify_id`).
    Twice,
    /// Once, this long after the action.
    After(Duration),
    /// Not at all: the shop must ask.
    Never,
}

/// One notification POSTed: the trade status it told, the shop's status (0: no answer) and
/// whether it answered `success`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub trade_status: String,
    pub status: u16,
    pub acknowledged: bool,
}

#[derive(Default)]
pub(super) struct Ledger {
    pub trades: BTreeMap<String, TradeRow>,
    /// Requests by method.
    pub calls: HashMap<String, usize>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub notify: VecDeque<Notify>,
    pub deliveries: Vec<Delivery>,
    counter: u64,
}

pub(super) struct TradeRow {
    pub out_trade_no: String,
    pub trade_no: String,
    pub subject: String,
    pub total: i64,
    /// CREATED (precreated, not scanned: Alipay does not know it yet), WAIT_BUYER_PAY,
    /// TRADE_SUCCESS or TRADE_CLOSED.
    pub status: String,
    pub notify_url: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The precreate answer's code, given again for the same request.
    pub qr_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunds: Vec<RefundRow>,
}

pub(super) struct RefundRow {
    pub out_request_no: String,
    pub amount: i64,
    pub at: DateTime<Utc>,
}

pub(super) fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// A time as Alipay writes it.
pub(super) fn alipay_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Fen as Alipay writes yuan: "12.50".
pub(super) fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Yuan as Alipay reads them: at most two decimals, from 0.01.
pub(super) fn fen(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 2 {
        return None;
    }
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(fraction)
}

impl TradeRow {
    pub fn refunded(&self) -> i64 {
        self.refunds.iter().map(|refund| refund.amount).sum()
    }

    /// The fields `alipay.trade.query` answers (besides code and msg).
    pub fn fields(&self) -> Value {
        let mut fields = json!({
            "trade_no": self.trade_no,
            "out_trade_no": self.out_trade_no,
            "trade_status": self.status,
            "total_amount": yuan(self.total),
            "buyer_logon_id": "159****5620",
        });
        if let Some(paid_at) = self.paid_at {
            fields["buyer_pay_amount"] = json!(yuan(self.total));
            fields["receipt_amount"] = json!(yuan(self.total));
            fields["send_pay_date"] = json!(alipay_time(paid_at));
            fields["buyer_user_id"] = json!("2088101117955611");
        }
        fields
    }
}

impl Ledger {
    pub fn next_trade_no(&mut self, at: DateTime<Utc>) -> String {
        self.counter += 1;
        format!(
            "{}2200{:014}",
            at.with_timezone(&beijing()).format("%Y%m%d"),
            self.counter
        )
    }

    pub fn scan(&mut self, out_trade_no: &str, now: DateTime<Utc>) -> Result<(), String> {
        let trade = self
            .trades
            .get_mut(out_trade_no)
            .ok_or_else(|| format!("no trade {out_trade_no}"))?;
        if trade.expires_at.is_some_and(|at| at < now) {
            return Err(format!("{out_trade_no}'s code has lapsed"));
        }
        match trade.status.as_str() {
            "CREATED" => {
                trade.status = "WAIT_BUYER_PAY".to_owned();
                Ok(())
            }
            "WAIT_BUYER_PAY" => Ok(()),
            other => Err(format!("{out_trade_no} is {other}")),
        }
    }

    pub fn pay(&mut self, out_trade_no: &str, now: DateTime<Utc>) -> Result<(), String> {
        self.scan(out_trade_no, now)?;
        let trade = self.trades.get_mut(out_trade_no).ok_or("no trade")?;
        trade.status = "TRADE_SUCCESS".to_owned();
        trade.paid_at = Some(now);
        Ok(())
    }

    /// The notification (URL and unsigned parameters) about the trade as it is now; with
    /// `refund`, the one that refund caused. `None` when the trade asked for none.
    pub fn notification(
        &self,
        app_id: &str,
        seller_id: &str,
        out_trade_no: &str,
        refund: Option<&RefundRow>,
    ) -> Option<(String, Vec<(String, String)>)> {
        let trade = self.trades.get(out_trade_no)?;
        let url = trade.notify_url.clone()?;
        let now = Utc::now();
        let mut params: Vec<(&str, String)> = vec![
            ("notify_time", alipay_time(now)),
            ("notify_type", "trade_status_sync".to_owned()),
            ("notify_id", uuid::Uuid::new_v4().simple().to_string()),
            ("charset", "utf-8".to_owned()),
            ("version", "1.0".to_owned()),
            ("app_id", app_id.to_owned()),
            ("auth_app_id", app_id.to_owned()),
            ("seller_id", seller_id.to_owned()),
            ("buyer_id", "2088101117955611".to_owned()),
            ("buyer_logon_id", "159****5620".to_owned()),
            ("trade_no", trade.trade_no.clone()),
            ("out_trade_no", trade.out_trade_no.clone()),
            ("trade_status", trade.status.clone()),
            ("subject", trade.subject.clone()),
            ("total_amount", yuan(trade.total)),
            ("gmt_create", alipay_time(trade.created_at)),
        ];
        if let Some(paid_at) = trade.paid_at {
            params.push(("receipt_amount", yuan(trade.total)));
            params.push(("buyer_pay_amount", yuan(trade.total)));
            params.push(("invoice_amount", yuan(trade.total)));
            params.push(("point_amount", "0.00".to_owned()));
            params.push(("gmt_payment", alipay_time(paid_at)));
            let funds = json!([{ "amount": yuan(trade.total), "fundChannel": "ALIPAYACCOUNT" }]);
            params.push(("fund_bill_list", funds.to_string()));
        }
        if let Some(refund) = refund {
            params.push(("refund_fee", yuan(trade.refunded())));
            params.push(("out_biz_no", refund.out_request_no.clone()));
            params.push(("gmt_refund", format!("{}.000", alipay_time(refund.at))));
            if trade.status == "TRADE_CLOSED" {
                params.push(("gmt_close", alipay_time(refund.at)));
            }
        }
        Some((
            url,
            params.into_iter().map(|(key, value)| (key.to_owned(), value)).collect(),
        ))
    }
}
