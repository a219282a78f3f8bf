//! The WeChat Pay stand-in's state: transactions by `out_trade_no`, refunds by
//! `out_refund_no`, what goes wrong next, and the objects as WeChat Pay's answers and
//! notifications show them (查询订单, 查询单笔退款, 支付通知, 退款结果通知, 交易账单).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The work is done, but the answer comes only after this long (longer than the shop
    /// waits): to the shop, the answer is lost.
    LostAnswer(Duration),
    /// The work is done, then 500 `SYSTEM_ERROR`.
    ServerErrorAfterWork,
    /// The work is done; the answer is signed with a stranger's key.
    ForgedAnswer,
    /// Nothing done: 202 `USER_PAYING`, as a close gets while the buyer enters a password.
    BuyerPaying,
}

/// How the next notification goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Once, at once (answered before the action returns).
    Once,
    /// Twice in a row, the same notification (as WeChat Pay does when it got no answer in time).
    Twice,
    /// Once, this long after the action.
    After(Duration),
    /// Not at all: the shop must ask.
    Never,
}

/// One notification POSTed: its event type and the shop's answer (0: none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_type: String,
    pub status: u16,
}

#[derive(Default)]
pub(super) struct Ledger {
    pub trades: BTreeMap<String, TradeRow>,
    pub refunds: BTreeMap<String, RefundRow>,
    /// Requests by `METHOD path`.
    pub calls: HashMap<String, usize>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub notify: VecDeque<Notify>,
    pub corrupt_next_bill: bool,
    /// Bill files by download token.
    pub bills: HashMap<String, Vec<u8>>,
    pub deliveries: Vec<Delivery>,
    counter: u64,
}

impl Ledger {
    /// `prefix` and a running number: WeChat Pay's ids are digits.
    pub fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{:010}", self.counter)
    }
}

pub(super) struct TradeRow {
    pub out_trade_no: String,
    /// NATIVE, JSAPI or MWEB.
    pub trade_type: String,
    /// The prepay request's body: asking again with the same one gives the same prepay.
    pub request: Value,
    pub prepay_answer: Value,
    pub description: String,
    pub notify_url: String,
    pub total: i64,
    /// NOTPAY, SUCCESS, REFUND or CLOSED.
    pub state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<DateTime<Utc>>,
    pub openid: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Refunded or being refunded, in fen.
    pub refunded: i64,
}

pub(super) struct RefundRow {
    pub refund_id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub amount: i64,
    pub total: i64,
    /// PROCESSING, SUCCESS, CLOSED or ABNORMAL.
    pub status: String,
    pub notify_url: Option<String>,
    pub create_time: DateTime<Utc>,
    pub success_time: Option<DateTime<Utc>>,
}

/// RFC 3339 in Beijing time, as WeChat Pay writes times.
pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing()).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub(super) fn beijing() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

impl TradeRow {
    /// The transaction as 查询订单 answers it and 支付通知 carries it.
    pub fn resource(&self, appid: &str, mchid: &str) -> Value {
        let paid = matches!(self.state.as_str(), "SUCCESS" | "REFUND");
        let description = match self.state.as_str() {
            "SUCCESS" => "支付成功",
            "REFUND" => "转入退款",
            "CLOSED" => "订单已关闭",
            _ => "订单未支付",
        };
        let mut resource = json!({
            "appid": appid,
            "mchid": mchid,
            "out_trade_no": self.out_trade_no,
            "trade_state": self.state,
            "trade_state_desc": description,
            "attach": "",
            "amount": { "total": self.total, "currency": "CNY", "payer_currency": "CNY" },
        });
        if paid {
            resource["transaction_id"] = json!(self.transaction_id);
            resource["trade_type"] = json!(self.trade_type);
            resource["bank_type"] = json!("OTHERS");
            resource["success_time"] = json!(self.success_time.map(rfc3339));
            resource["payer"] = json!({ "openid": self.openid });
            resource["amount"]["payer_total"] = json!(self.total);
        }
        resource
    }
}

impl RefundRow {
    /// The refund as 申请退款 and 查询单笔退款 answer it.
    pub fn resource(&self) -> Value {
        let mut resource = json!({
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(self.create_time),
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total,
                "refund": self.amount,
                "payer_total": self.total,
                "payer_refund": self.amount,
                "settlement_total": self.total,
                "settlement_refund": self.amount,
                "discount_refund": 0,
                "currency": "CNY",
            },
        });
        if let Some(at) = self.success_time {
            resource["success_time"] = json!(rfc3339(at));
        }
        resource
    }

    /// The refund as 退款结果通知 carries it.
    pub fn notice(&self, mchid: &str) -> Value {
        let mut notice = json!({
            "mchid": mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total,
                "refund": self.amount,
                "payer_total": self.total,
                "payer_refund": self.amount,
            },
        });
        if let Some(at) = self.success_time {
            notice["success_time"] = json!(rfc3339(at));
        }
        notice
    }
}

/// Fen as a bill writes yuan: "12.50", "-0.02".
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

/// WeChat Pay's fee at 0.60%, to the fen (half up).
fn fee(fen: i64) -> i64 {
    (fen * 6 + 500) / 1000
}

const BILL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

impl Ledger {
    /// The trade bill (ALL) of `day` in Beijing time, or `None` when nothing happened then.
    pub fn bill(&self, day: NaiveDate, appid: &str, mchid: &str) -> Option<String> {
        let on_day = |at: DateTime<Utc>| at.with_timezone(&beijing()).date_naive() == day;
        let time = |at: DateTime<Utc>| at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M:%S").to_string();
        let line = |fields: &[String]| fields.iter().map(|f| format!("`{f}")).collect::<Vec<_>>().join(",");
        let mut lines = vec![BILL_HEADER.to_owned()];
        let (mut count, mut settled, mut refunded, mut fees, mut ordered) = (0, 0, 0, 0, 0);
        for trade in self.trades.values() {
            let Some(paid_at) = trade.success_time.filter(|at| on_day(*at)) else {
                continue;
            };
            let fee = fee(trade.total);
            (count, settled, fees, ordered) = (count + 1, settled + trade.total, fees + fee, ordered + trade.total);
            lines.push(line(&[
                time(paid_at),
                appid.to_owned(),
                mchid.to_owned(),
                "0".to_owned(),
                String::new(),
                trade.transaction_id.clone().unwrap_or_default(),
                trade.out_trade_no.clone(),
                trade.openid.clone().unwrap_or_default(),
                trade.trade_type.clone(),
                "SUCCESS".to_owned(),
                "OTHERS".to_owned(),
                "CNY".to_owned(),
                yuan(trade.total),
                yuan(0),
                "0".to_owned(),
                "0".to_owned(),
                yuan(0),
                yuan(0),
                String::new(),
                String::new(),
                trade.description.clone(),
                String::new(),
                yuan(fee),
                "0.60%".to_owned(),
                yuan(trade.total),
                yuan(0),
                String::new(),
            ]));
        }
        for refund in self.refunds.values().filter(|refund| on_day(refund.create_time)) {
            let trade = &self.trades[&refund.out_trade_no];
            let fee = -fee(refund.amount);
            (count, refunded, fees) = (count + 1, refunded + refund.amount, fees + fee);
            lines.push(line(&[
                time(refund.create_time),
                appid.to_owned(),
                mchid.to_owned(),
                "0".to_owned(),
                String::new(),
                refund.transaction_id.clone(),
                refund.out_trade_no.clone(),
                trade.openid.clone().unwrap_or_default(),
                trade.trade_type.clone(),
                "REFUND".to_owned(),
                "OTHERS".to_owned(),
                "CNY".to_owned(),
                yuan(0),
                yuan(0),
                refund.refund_id.clone(),
                refund.out_refund_no.clone(),
                yuan(refund.amount),
                yuan(0),
                "ORIGINAL".to_owned(),
                refund.status.clone(),
                trade.description.clone(),
                String::new(),
                yuan(fee),
                "0.60%".to_owned(),
                yuan(0),
                yuan(refund.amount),
                String::new(),
            ]));
        }
        if count == 0 {
            return None;
        }
        lines.push(SUMMARY_HEADER.to_owned());
        lines.push(line(&[
            count.to_string(),
            yuan(settled),
            yuan(refunded),
            yuan(0),
            yuan(fees),
            yuan(ordered),
            yuan(refunded),
        ]));
        Some(lines.join("\r\n") + "\r\n")
    }
}
