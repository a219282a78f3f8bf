//! A day's trade bill (交易账单, `/v3/bill/tradebill`), for reconciliation: WeChat Pay answers
//! with a short-lived download URL and the file's SHA-1; the file itself comes unsigned, so its
//! hash is checked. The file is comma-separated text: a header line, one line per payment or
//! refund (each field behind a backtick, so that spreadsheets keep long numbers), then a summary
//! header and its line. Amounts are yuan with two decimals, read exactly into fen.

use chrono::NaiveDate;
use reqwest::Method;
use serde::Deserialize;

use super::{WechatPay, unknown};
use crate::infra::money::Fen;
use crate::payments::direct::CallError;

/// One payment or refund of the day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRow {
    /// 交易时间, Beijing time as written (`2024-03-01 10:00:00`).
    pub trade_time: String,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 交易类型: NATIVE, JSAPI, MWEB (H5), …
    pub trade_type: String,
    /// 交易状态: SUCCESS for a payment, REFUND for a refund, REVOKED.
    pub trade_state: String,
    /// 应结订单金额: what the payment brings the merchant (zero on a refund line).
    pub settlement_total: Fen,
    /// 微信退款单号 and 商户退款单号, on a refund line.
    pub refund_id: Option<String>,
    pub out_refund_no: Option<String>,
    /// 退款金额.
    pub refund: Fen,
    /// 退款状态.
    pub refund_status: Option<String>,
    /// 手续费 (negative when a refund gives it back).
    pub fee: Fen,
    /// 订单金额.
    pub order_total: Fen,
    /// 申请退款金额.
    pub requested_refund: Fen,
}

/// The bill's last two lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillSummary {
    /// 总交易单数.
    pub count: u64,
    /// 应结订单总金额.
    pub settlement_total: Fen,
    /// 退款总金额.
    pub refund_total: Fen,
    /// 手续费总金额.
    pub fee_total: Fen,
    /// 订单总金额.
    pub order_total: Fen,
    /// 申请退款总金额.
    pub requested_refund_total: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeBill {
    pub rows: Vec<BillRow>,
    pub summary: BillSummary,
}

/// A field without its backtick.
fn field(record: &csv::StringRecord, index: usize) -> &str {
    record
        .get(index)
        .unwrap_or_default()
        .trim()
        .trim_start_matches('`')
        .trim()
}

/// Yuan as written in a bill ("12.50", "-0.05"), exactly in fen.
fn yuan(text: &str, column: &str) -> Result<Fen, String> {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let fen = Fen::parse_yuan(magnitude).map_err(|error| format!("{column} {text:?}: {error}"))?;
    Ok(if negative { -fen } else { fen })
}

/// A refund id column: `0` or empty on a payment line.
fn present(text: &str) -> Option<String> {
    (!text.is_empty() && text != "0").then(|| text.to_owned())
}

/// Where each column is: found by its name (WeChat Pay does not promise their order).
fn column(names: &[String], name: &str) -> Result<usize, String> {
    names
        .iter()
        .position(|column| column == name)
        .ok_or_else(|| format!("the bill has no {name} column"))
}

fn names_of(record: &csv::StringRecord) -> Vec<String> {
    (0..record.len()).map(|i| field(record, i).to_owned()).collect()
}

/// Parses a trade bill file.
pub fn parse_trade_bill(text: &str) -> Result<TradeBill, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let records = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("the bill is not comma-separated text: {error}"))?;
    let mut lines = records
        .iter()
        .filter(|record| record.iter().any(|f| !f.trim().is_empty()));
    let names = names_of(lines.next().ok_or("the bill is empty")?);
    let at = |name: &str| column(&names, name);
    let (time, transaction, out_trade, kind, state) = (
        at("交易时间")?,
        at("微信订单号")?,
        at("商户订单号")?,
        at("交易类型")?,
        at("交易状态")?,
    );
    let (settlement, refund_id, out_refund, refund, refund_status) = (
        at("应结订单金额")?,
        at("微信退款单号")?,
        at("商户退款单号")?,
        at("退款金额")?,
        at("退款状态")?,
    );
    let (fee, order, requested) = (at("手续费")?, at("订单金额")?, at("申请退款金额")?);
    let mut rows = Vec::new();
    loop {
        let record = lines.next().ok_or("the bill has no summary")?;
        if field(record, 0) == "总交易单数" {
            let values = lines.next().ok_or("the bill's summary has no values")?;
            let summary = parse_summary(&names_of(record), values)?;
            return Ok(TradeBill { rows, summary });
        }
        let text = |index: usize| field(record, index);
        let amount = |index: usize| yuan(field(record, index), &names[index]);
        rows.push(BillRow {
            trade_time: text(time).to_owned(),
            transaction_id: text(transaction).to_owned(),
            out_trade_no: text(out_trade).to_owned(),
            trade_type: text(kind).to_owned(),
            trade_state: text(state).to_owned(),
            settlement_total: amount(settlement)?,
            refund_id: present(text(refund_id)),
            out_refund_no: present(text(out_refund)),
            refund: amount(refund)?,
            refund_status: present(text(refund_status)),
            fee: amount(fee)?,
            order_total: amount(order)?,
            requested_refund: amount(requested)?,
        });
    }
}

fn parse_summary(names: &[String], values: &csv::StringRecord) -> Result<BillSummary, String> {
    let value = |name: &str| column(names, name).map(|index| field(values, index));
    let amount = |name: &str| value(name).and_then(|text| yuan(text, name));
    Ok(BillSummary {
        count: value("总交易单数")?
            .parse()
            .map_err(|_| "总交易单数 is not a count".to_owned())?,
        settlement_total: amount("应结订单总金额")?,
        refund_total: amount("退款总金额")?,
        fee_total: amount("手续费总金额")?,
        order_total: amount("订单总金额")?,
        requested_refund_total: amount("申请退款总金额")?,
    })
}

impl WechatPay {
    /// The trade bill (every payment and refund) of `day`, Beijing time. WeChat Pay makes a
    /// day's bill the next morning; before that it refuses (`NO_STATEMENT_EXIST`).
    pub async fn trade_bill(&self, day: NaiveDate) -> Result<TradeBill, CallError> {
        #[derive(Deserialize)]
        struct Answer {
            hash_type: String,
            hash_value: String,
            download_url: String,
        }
        let path = format!("/v3/bill/tradebill?bill_date={}&bill_type=ALL", day.format("%Y-%m-%d"));
        let answer: Answer = self.call(Method::GET, &path, None).await?;
        if !answer.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(unknown(format!("a bill hashed with {}", answer.hash_type)));
        }
        let file = self.exchange(Method::GET, &answer.download_url, None, false).await?;
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &file);
        if !hex::encode(digest.as_ref()).eq_ignore_ascii_case(answer.hash_value.trim()) {
            return Err(unknown("the bill file does not match its SHA-1"));
        }
        let text = std::str::from_utf8(&file).map_err(|_| unknown("the bill file is not UTF-8"))?;
        parse_trade_bill(text).map_err(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BILL: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n\
`2024-03-01 10:00:00,`wx8888888888888888,`1900000109,`0,`,`4200000001,`hk_pay_1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`12.50,`0.00,`0,`0,`0.00,`0.00,`,`,`苹果,`,`0.08,`0.60%,`12.50,`0.00,`\n\
`2024-03-01 11:00:00,`wx8888888888888888,`1900000109,`0,`,`4200000001,`hk_pay_1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000001,`hk_refund_7,`3.05,`0.00,`ORIGINAL,`SUCCESS,`苹果,`,`-0.02,`0.60%,`0.00,`3.05,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`2,`12.50,`3.05,`0.00,`0.06,`12.50,`3.05\n";

    #[test]
    fn a_bill_reads_exactly_into_fen() {
        let bill = parse_trade_bill(BILL).expect("the bill parses");
        assert_eq!(bill.rows.len(), 2);
        let payment = &bill.rows[0];
        assert_eq!(payment.out_trade_no, "hk_pay_1");
        assert_eq!(payment.trade_state, "SUCCESS");
        assert_eq!(payment.settlement_total, Fen::new(1250));
        assert_eq!(payment.refund_id, None);
        assert_eq!(payment.fee, Fen::new(8));
        let refund = &bill.rows[1];
        assert_eq!(refund.out_refund_no.as_deref(), Some("hk_refund_7"));
        assert_eq!(refund.refund, Fen::new(305));
        assert_eq!(refund.fee, Fen::new(-2));
        assert_eq!(
            bill.summary,
            BillSummary {
                count: 2,
                settlement_total: Fen::new(1250),
                refund_total: Fen::new(305),
                fee_total: Fen::new(6),
                order_total: Fen::new(1250),
                requested_refund_total: Fen::new(305),
            }
        );
    }

    #[test]
    fn a_bill_that_is_cut_or_odd_is_an_error() {
        let without_summary: String = BILL.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(parse_trade_bill(&without_summary).is_err());
        let rounded = BILL.replace("`12.50,`0.00,`0,", "`12.505,`0.00,`0,");
        assert!(parse_trade_bill(&rounded).unwrap_err().contains("应结订单金额"));
        assert!(parse_trade_bill("").is_err());
    }
}
