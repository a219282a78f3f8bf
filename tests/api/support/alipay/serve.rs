//! The Alipay stand-in's gateway: each request's parameters and RSA2 signature checked as
//! Alipay checks them, the methods, answers signed over their member's text, and
//! notifications signed and POSTed form-encoded.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::ledger::{Fault, Ledger, Notify, RefundRow, TradeRow, alipay_time, beijing, fen, yuan};
use super::{Delivery, Shared};
use crate::support::keys::{self, Role};

/// A failed call: `code`, `msg`, `sub_code`, `sub_msg`, as Alipay's error answers carry them.
struct Failure(&'static str, &'static str, String, String);

impl Failure {
    /// `40004 Business Failed`: the call was understood and refused.
    fn business(sub_code: &str, sub_msg: &str) -> Failure {
        Failure("40004", "Business Failed", sub_code.to_owned(), sub_msg.to_owned())
    }

    /// `40002 Invalid Arguments`.
    fn arguments(sub_code: &str, sub_msg: &str) -> Failure {
        Failure("40002", "Invalid Arguments", sub_code.to_owned(), sub_msg.to_owned())
    }
}

type Outcome = Result<Value, Failure>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

pub(super) async fn request(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    if uri.path() != "/gateway.do" {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    // Alipay reads parameters from the query and the form body alike.
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    params.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default());
    let api_method = param(&params, "method").to_owned();
    let fault = {
        let mut ledger = shared.ledger();
        *ledger.calls.entry(api_method.clone()).or_default() += 1;
        ledger.faults.get_mut(&api_method).and_then(|faults| faults.pop_front())
    };
    // A phone's browser opening the cashier: an HTML page, an error page on a bad request.
    if method == Method::GET && api_method == "alipay.trade.wap.pay" {
        return match check(&shared, &params).and_then(|biz| open_cashier(&mut shared.ledger(), &params, &biz)) {
            Ok(()) => Html("<html><body>支付宝收银台</body></html>".to_owned()).into_response(),
            Err(Failure(_, _, sub_code, sub_msg)) => Html(format!(
                "<html><body>调试错误，请回到请求来源地，重新发起请求。错误代码 {} 错误原因: {sub_msg}</body></html>",
                sub_code.trim_start_matches("isv.")
            ))
            .into_response(),
        };
    }
    let outcome = check(&shared, &params).and_then(|biz| {
        let mut ledger = shared.ledger();
        call(&mut ledger, &shared, &api_method, &params, &biz)
    });
    let outcome = match outcome {
        Ok((fields, notification)) => {
            if let Some((url, notice)) = notification {
                let later = tokio::spawn(notify_owned(Arc::clone(&shared), url, notice));
                shared
                    .later
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(later);
            }
            Ok(fields)
        }
        Err(failure) => Err(failure),
    };
    let answer = |outcome: Outcome, signer: Role| answer(&api_method, outcome, signer);
    match fault {
        None => answer(outcome, Role::AlipayPlatform),
        Some(Fault::LostAnswer(delay)) => {
            tokio::time::sleep(delay).await;
            answer(outcome, Role::AlipayPlatform)
        }
        Some(Fault::UnavailableAfterWork) => answer(
            Err(Failure(
                "20000",
                "Service Currently Unavailable",
                "isp.unknow-error".to_owned(),
                "系统繁忙".to_owned(),
            )),
            Role::AlipayPlatform,
        ),
        Some(Fault::ForgedAnswer) => answer(outcome, Role::Stranger),
    }
}

/// The common parameters and the signature; the parsed `biz_content`.
fn check(shared: &Shared, params: &[(String, String)]) -> Result<Value, Failure> {
    if param(params, "app_id") != shared.app_id {
        return Err(Failure::arguments("isv.invalid-app-id", "无效的AppID参数"));
    }
    if !param(params, "charset").eq_ignore_ascii_case("utf-8") {
        return Err(Failure::arguments("isv.invalid-charset", "字符集错误"));
    }
    if param(params, "sign_type") != "RSA2" {
        return Err(Failure::arguments("isv.invalid-signature-type", "无效的签名类型"));
    }
    let signed_at = NaiveDateTime::parse_from_str(param(params, "timestamp"), "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|at| beijing().from_local_datetime(&at).single());
    if signed_at.is_none_or(|at| (Utc::now() - at.with_timezone(&Utc)).num_minutes().abs() > 15) {
        return Err(Failure::arguments("isv.invalid-timestamp", "非法的时间戳参数"));
    }
    // 验签: every parameter but sign, empty ones left out, sorted, `k=v` joined with `&`.
    let mut signed: Vec<(&str, &str)> = params
        .iter()
        .filter(|(key, value)| key != "sign" && !value.is_empty())
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    signed.sort();
    let content = signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    if !keys::key(Role::AlipayApp).verifies(content.as_bytes(), param(params, "sign")) {
        return Err(Failure::arguments(
            "isv.invalid-signature",
            &format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
                content.replace('&', "&amp;")
            ),
        ));
    }
    serde_json::from_str(param(params, "biz_content"))
        .map_err(|_| Failure::arguments("isv.invalid-biz-content", "biz_content不是合法的JSON"))
}

/// The signed answer: `{"<method>_response":{…},"sign":"…"}`, the member written with escaped
/// slashes and signed as written.
fn answer(api_method: &str, outcome: Outcome, signer: Role) -> Response {
    let member = match outcome {
        Ok(Value::Object(fields)) => {
            let mut member = Map::new();
            member.insert("code".to_owned(), json!("10000"));
            member.insert("msg".to_owned(), json!("Success"));
            member.extend(fields);
            Value::Object(member)
        }
        Ok(other) => json!({ "code": "10000", "msg": "Success", "value": other }),
        Err(Failure(code, msg, sub_code, sub_msg)) => {
            json!({ "code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg })
        }
    };
    let text = member.to_string().replace('/', "\\/");
    let name = match api_method {
        "" => "error_response".to_owned(),
        known => format!("{}_response", known.replace('.', "_")),
    };
    let sign = keys::key(signer).sign(text.as_bytes());
    let body = format!("{{\"{name}\":{text},\"sign\":\"{sign}\"}}");
    ([(header::CONTENT_TYPE, "text/html;charset=utf-8")], body).into_response()
}

type Notification = Option<(String, Vec<(String, String)>)>;

fn call(
    ledger: &mut Ledger,
    shared: &Shared,
    api_method: &str,
    params: &[(String, String)],
    biz: &Value,
) -> Result<(Value, Notification), Failure> {
    let out_trade_no = out_trade_no(biz)?;
    let visible = ledger
        .trades
        .get(out_trade_no)
        .filter(|trade| trade.status != "CREATED");
    match api_method {
        "alipay.trade.precreate" => precreate(ledger, params, biz).map(|fields| (fields, None)),
        "alipay.trade.query" => match visible {
            Some(trade) => Ok((trade.fields(), None)),
            None => Err(Failure::business("ACQ.TRADE_NOT_EXIST", "交易不存在")),
        },
        "alipay.trade.close" => {
            let trade = ledger
                .trades
                .get_mut(out_trade_no)
                .filter(|trade| trade.status != "CREATED")
                .ok_or_else(|| Failure::business("ACQ.TRADE_NOT_EXIST", "交易不存在"))?;
            if trade.status == "TRADE_SUCCESS" {
                return Err(Failure::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
            }
            trade.status = "TRADE_CLOSED".to_owned();
            Ok((
                json!({ "trade_no": trade.trade_no, "out_trade_no": out_trade_no }),
                None,
            ))
        }
        "alipay.trade.refund" => refund(ledger, shared, biz),
        "alipay.trade.fastpay.refund.query" => {
            let trade = visible.ok_or_else(|| Failure::business("ACQ.TRADE_NOT_EXIST", "交易不存在"))?;
            let out_request_no = biz["out_request_no"].as_str().unwrap_or_default();
            Ok((
                match trade
                    .refunds
                    .iter()
                    .find(|refund| refund.out_request_no == out_request_no)
                {
                    Some(refund) => json!({
                        "trade_no": trade.trade_no,
                        "out_trade_no": out_trade_no,
                        "out_request_no": out_request_no,
                        "total_amount": yuan(trade.total),
                        "refund_amount": yuan(refund.amount),
                        "refund_status": "REFUND_SUCCESS",
                    }),
                    // Nothing refunded by that number: success, without refund fields.
                    None => json!({}),
                },
                None,
            ))
        }
        _ => Err(Failure::arguments("isv.invalid-method", "不存在的方法名")),
    }
}

/// `out_trade_no`: letters, digits and underscores, at most 64.
fn out_trade_no(biz: &Value) -> Result<&str, Failure> {
    let number = biz["out_trade_no"].as_str().unwrap_or_default();
    if number.is_empty() || number.len() > 64 || !number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Failure::arguments(
            "isv.invalid-out-trade-no",
            "商户订单号仅支持字母、数字、下划线，最长64位",
        ));
    }
    Ok(number)
}

/// The trade a precreate or a wap pay asks for: its amount, subject and expiry, checked.
fn trade_request(biz: &Value) -> Result<(i64, String, Option<DateTime<Utc>>), Failure> {
    let total = biz["total_amount"]
        .as_str()
        .and_then(fen)
        .filter(|total| (1..=10_000_000_000).contains(total))
        .ok_or_else(|| {
            Failure::arguments(
                "isv.invalid-total-amount",
                "订单金额须为0.01至100000000.00元，最多两位小数",
            )
        })?;
    let subject = biz["subject"].as_str().unwrap_or_default();
    if subject.is_empty() || subject.len() > 256 {
        return Err(Failure::arguments("isv.missing-subject", "订单标题subject不能为空"));
    }
    let expires_at = match biz["time_expire"].as_str() {
        None => None,
        Some(text) => Some(
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .and_then(|at| beijing().from_local_datetime(&at).single())
                .ok_or_else(|| Failure::arguments("isv.invalid-time-expire", "time_expire格式须为yyyy-MM-dd HH:mm:ss"))?
                .with_timezone(&Utc),
        ),
    };
    Ok((total, subject.to_owned(), expires_at))
}

fn new_trade(ledger: &mut Ledger, params: &[(String, String)], biz: &Value, status: &str) -> Result<String, Failure> {
    let out_trade_no = out_trade_no(biz)?.to_owned();
    let (total, subject, expires_at) = trade_request(biz)?;
    if let Some(existing) = ledger.trades.get(&out_trade_no) {
        return match existing.status.as_str() {
            "TRADE_SUCCESS" => Err(Failure::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
            "TRADE_CLOSED" => Err(Failure::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")),
            _ if existing.total != total || existing.subject != subject => {
                Err(Failure::business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"))
            }
            _ => Ok(out_trade_no),
        };
    }
    let now = Utc::now();
    let trade_no = ledger.next_trade_no(now);
    let notify_url = Some(param(params, "notify_url").to_owned()).filter(|url| !url.is_empty());
    ledger.trades.insert(
        out_trade_no.clone(),
        TradeRow {
            out_trade_no: out_trade_no.clone(),
            trade_no,
            subject,
            total,
            status: status.to_owned(),
            notify_url,
            expires_at,
            qr_code: None,
            created_at: now,
            paid_at: None,
            refunds: Vec::new(),
        },
    );
    Ok(out_trade_no)
}

fn precreate(ledger: &mut Ledger, params: &[(String, String)], biz: &Value) -> Outcome {
    let out_trade_no = new_trade(ledger, params, biz, "CREATED")?;
    let trade = ledger
        .trades
        .get_mut(&out_trade_no)
        .ok_or_else(|| Failure::business("ACQ.SYSTEM_ERROR", "系统错误"))?;
    let code = trade
        .qr_code
        .get_or_insert_with(|| {
            format!(
                "https://qr.alipay.com/bax0{}",
                &uuid::Uuid::new_v4().simple().to_string()[..20]
            )
        })
        .clone();
    Ok(json!({ "out_trade_no": out_trade_no, "qr_code": code }))
}

fn open_cashier(ledger: &mut Ledger, params: &[(String, String)], biz: &Value) -> Result<(), Failure> {
    if biz["product_code"].as_str() != Some("QUICK_WAP_WAY") {
        return Err(Failure::arguments(
            "isv.invalid-product-code",
            "product_code须为QUICK_WAP_WAY",
        ));
    }
    new_trade(ledger, params, biz, "WAIT_BUYER_PAY").map(|_| ())
}

/// alipay.trade.refund: one refund per `out_request_no`; the same request again answers the
/// same refund with `fund_change` N.
fn refund(ledger: &mut Ledger, shared: &Shared, biz: &Value) -> Result<(Value, Notification), Failure> {
    let out_trade_no = biz["out_trade_no"].as_str().unwrap_or_default();
    let out_request_no = biz["out_request_no"].as_str().unwrap_or(out_trade_no).to_owned();
    let amount = biz["refund_amount"]
        .as_str()
        .and_then(fen)
        .filter(|amount| *amount >= 1)
        .ok_or_else(|| Failure::arguments("isv.invalid-refund-amount", "退款金额须为大于0的金额，最多两位小数"))?;
    let trade = ledger
        .trades
        .get_mut(out_trade_no)
        .filter(|trade| trade.status != "CREATED")
        .ok_or_else(|| Failure::business("ACQ.TRADE_NOT_EXIST", "交易不存在"))?;
    let repeated = trade
        .refunds
        .iter()
        .find(|refund| refund.out_request_no == out_request_no);
    let fund_change = match repeated {
        Some(earlier) if earlier.amount == amount => "N",
        Some(_) => {
            return Err(Failure::business(
                "ACQ.INVALID_PARAMETER",
                "同一退款请求号的退款金额不一致",
            ));
        }
        None if trade.status != "TRADE_SUCCESS" => {
            return Err(Failure::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        None if trade.refunded() + amount > trade.total => {
            return Err(Failure::business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
        }
        None => "Y",
    };
    let now = Utc::now();
    if fund_change == "Y" {
        trade.refunds.push(RefundRow {
            out_request_no: out_request_no.clone(),
            amount,
            at: now,
        });
        if trade.refunded() == trade.total {
            trade.status = "TRADE_CLOSED".to_owned();
        }
    }
    let fields = json!({
        "trade_no": trade.trade_no,
        "out_trade_no": out_trade_no,
        "buyer_logon_id": "159****5620",
        "fund_change": fund_change,
        "refund_fee": yuan(trade.refunded()),
        "gmt_refund_pay": alipay_time(now),
        "buyer_user_id": "2088101117955611",
    });
    let notification = match fund_change {
        "Y" => {
            let made = trade.refunds.last().map(|refund| RefundRow {
                out_request_no: refund.out_request_no.clone(),
                amount: refund.amount,
                at: refund.at,
            });
            ledger.notification(&shared.app_id, &shared.seller_id, out_trade_no, made.as_ref())
        }
        _ => None,
    };
    Ok((fields, notification))
}

/// `params` with `sign_type` RSA2 and the `sign` of `signer` over every other parameter but
/// `sign_type`, sorted (异步通知验签).
pub(super) fn sign_notification(mut params: Vec<(String, String)>, signer: Role) -> Vec<(String, String)> {
    params.retain(|(key, _)| key != "sign" && key != "sign_type");
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let content = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let sign = keys::key(signer).sign(content.as_bytes());
    params.push(("sign_type".to_owned(), "RSA2".to_owned()));
    params.push(("sign".to_owned(), sign));
    params
}

pub(super) async fn post_form(shared: &Shared, url: &str, params: &[(String, String)]) -> (u16, String) {
    let body = serde_urlencoded::to_string(params).expect("form-encodes");
    let sent = shared
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(body)
        .send()
        .await;
    let (status, text) = match sent {
        Ok(response) => (response.status().as_u16(), response.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    };
    shared.ledger().deliveries.push(Delivery {
        trade_status: param(params, "trade_status").to_owned(),
        status,
        acknowledged: text == "success",
    });
    (status, text)
}

/// Sends one notification as the next [`Notify`] says; what is sent at once is answered
/// before this returns.
pub(super) async fn notify(shared: &Arc<Shared>, url: String, params: Vec<(String, String)>) {
    let signed = sign_notification(params, Role::AlipayPlatform);
    let mode = shared.ledger().notify.pop_front().unwrap_or(Notify::Once);
    match mode {
        Notify::Never => {}
        Notify::Once => {
            post_form(shared, &url, &signed).await;
        }
        Notify::Twice => {
            post_form(shared, &url, &signed).await;
            post_form(shared, &url, &signed).await;
        }
        Notify::After(delay) => {
            let shared_later = Arc::clone(shared);
            let later = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                post_form(&shared_later, &url, &signed).await;
            });
            shared
                .later
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(later);
        }
    }
}

async fn notify_owned(shared: Arc<Shared>, url: String, params: Vec<(String, String)>) {
    notify(&shared, url, params).await;
}
