//! The WeChat Pay stand-in's HTTP side: each request's signature checked as WeChat Pay checks
//! it, the routes, answers signed with the platform key, and notifications signed and
//! encrypted.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::Shared;
use super::ledger::{Fault, Ledger, RefundRow, TradeRow, beijing};
use crate::support::keys::{self, Role};

/// An answer before it is signed: 204 has no body.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }

    /// WeChat Pay's error shape.
    fn error(status: StatusCode, code: &str, message: &str) -> Reply {
        Reply {
            status,
            body: Some(json!({ "code": code, "message": message })),
        }
    }

    fn param(message: &str) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
    }

    /// Signed with `signer`'s key under the platform key's id, as WeChat Pay signs every answer.
    fn signed(self, shared: &Shared, signer: Role) -> Response {
        let body = self.body.map(|body| body.to_string()).unwrap_or_default();
        let timestamp = Utc::now().timestamp().to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let signature = keys::key(signer).sign(format!("{timestamp}\n{nonce}\n{body}\n").as_bytes());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        for (name, value) in [
            ("request-id", uuid::Uuid::new_v4().to_string()),
            ("wechatpay-timestamp", timestamp),
            ("wechatpay-nonce", nonce),
            ("wechatpay-signature", signature),
            ("wechatpay-serial", shared.platform_key_id.clone()),
            ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048".to_owned()),
        ] {
            headers.insert(name, HeaderValue::from_str(&value).expect("a header value"));
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

pub(super) async fn request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = format!("{method} {}", uri.path());
    let fault = {
        let mut ledger = shared.ledger();
        *ledger.calls.entry(route.clone()).or_default() += 1;
        ledger.faults.get_mut(&route).and_then(|faults| faults.pop_front())
    };
    if let Err(refusal) = authenticate(&shared, &method, &uri, &headers, &body) {
        return refusal.signed(&shared, Role::WechatPlatform);
    }
    // The bill file: no signature on the answer (下载账单: "请求头中不包含…签名值").
    if method == Method::GET && uri.path() == "/v3/billdownload/file" {
        return download(&shared, &uri);
    }
    let json: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(json) => json,
            Err(_) => return Reply::param("请求体不是合法的JSON").signed(&shared, Role::WechatPlatform),
        }
    };
    let query: HashMap<String, String> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    if fault == Some(Fault::BuyerPaying) {
        let paying = Reply::error(StatusCode::ACCEPTED, "USER_PAYING", "用户支付中，需要输入密码");
        return paying.signed(&shared, Role::WechatPlatform);
    }
    let reply = {
        let mut ledger = shared.ledger();
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        serve(&mut ledger, &shared, &method, &segments, &query, &json)
    };
    match fault {
        None => reply.signed(&shared, Role::WechatPlatform),
        Some(Fault::LostAnswer(delay)) => {
            tokio::time::sleep(delay).await;
            reply.signed(&shared, Role::WechatPlatform)
        }
        Some(Fault::ServerErrorAfterWork) => {
            Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "SYSTEM_ERROR", "系统错误")
                .signed(&shared, Role::WechatPlatform)
        }
        Some(Fault::ForgedAnswer) => reply.signed(&shared, Role::Stranger),
        Some(Fault::BuyerPaying) => unreachable!("answered before the work"),
    }
}

/// `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",
/// timestamp="…",serial_no="…"` over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` (签名生成).
fn authenticate(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), Reply> {
    let refuse = |why: &str| Reply::error(StatusCode::UNAUTHORIZED, "SIGN_ERROR", &format!("签名错误：{why}"));
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refuse("缺少Authorization"))?;
    let fields = value
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or_else(|| refuse("认证类型不是WECHATPAY2-SHA256-RSA2048"))?;
    let fields: HashMap<&str, &str> = fields
        .split(',')
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name, value.trim_matches('"')))
        .collect();
    let field = |name: &str| fields.get(name).copied().ok_or_else(|| refuse(&format!("缺少{name}")));
    if field("mchid")? != shared.mchid {
        return Err(refuse("商户号不匹配"));
    }
    if field("serial_no")? != shared.merchant_serial {
        return Err(refuse("商户证书序列号不匹配"));
    }
    let timestamp: i64 = field("timestamp")?.parse().map_err(|_| refuse("时间戳不是数字"))?;
    if (Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err(refuse("请求时间与当前时间相差超过5分钟"));
    }
    let nonce = field("nonce_str")?;
    let url = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_owned(),
    };
    let mut message = format!("{method}\n{url}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    if !shared.merchant_key().verifies(&message, field("signature")?) {
        return Err(refuse("签名验证失败"));
    }
    Ok(())
}

fn serve(
    ledger: &mut Ledger,
    shared: &Shared,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    body: &Value,
) -> Reply {
    match (method.as_str(), segments) {
        ("POST", ["v3", "pay", "transactions", kind @ ("native" | "jsapi" | "h5")]) => {
            prepay(ledger, shared, kind, body)
        }
        ("GET", ["v3", "pay", "transactions", "out-trade-no", no]) => {
            if query.get("mchid") != Some(&shared.mchid) {
                return Reply::param("mchid与请求的商户号不一致");
            }
            match ledger.trades.get(*no) {
                Some(trade) => Reply::ok(trade.resource(&shared.appid, &shared.mchid)),
                None => Reply::error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
            }
        }
        ("POST", ["v3", "pay", "transactions", "out-trade-no", no, "close"]) => {
            if body["mchid"].as_str() != Some(&shared.mchid) {
                return Reply::param("mchid与请求的商户号不一致");
            }
            // 204 also for a number WeChat Pay does not know.
            match ledger.trades.get_mut(*no) {
                Some(trade) if matches!(trade.state.as_str(), "SUCCESS" | "REFUND") => {
                    Reply::error(StatusCode::BAD_REQUEST, "ORDERPAID", "订单已支付")
                }
                Some(trade) => {
                    trade.state = "CLOSED".to_owned();
                    Reply::no_content()
                }
                None => Reply::no_content(),
            }
        }
        ("POST", ["v3", "refund", "domestic", "refunds"]) => refund(ledger, body),
        ("GET", ["v3", "refund", "domestic", "refunds", no]) => match ledger.refunds.get(*no) {
            Some(refund) => Reply::ok(refund.resource()),
            None => Reply::error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在"),
        },
        ("GET", ["v3", "bill", "tradebill"]) => trade_bill(ledger, shared, query),
        _ => Reply::error(StatusCode::NOT_FOUND, "NOT_FOUND", "请求的资源不存在"),
    }
}

fn plain_id(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
}

/// 下单 (Native, JSAPI, H5).
fn prepay(ledger: &mut Ledger, shared: &Shared, kind: &str, body: &Value) -> Reply {
    let text = |field: &str| body[field].as_str().unwrap_or_default();
    if text("appid") != shared.appid || text("mchid") != shared.mchid {
        return Reply::error(StatusCode::BAD_REQUEST, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
    }
    let out_trade_no = text("out_trade_no");
    if !plain_id(out_trade_no, 6, 32) {
        return Reply::param("商户订单号out_trade_no须为6-32位数字、大小写字母_-|*");
    }
    if text("description").is_empty() || text("description").len() > 127 {
        return Reply::param("商品描述description须为1-127字节");
    }
    let notify_url = text("notify_url");
    if !(notify_url.starts_with("https://") || notify_url.starts_with("http://")) || notify_url.contains('?') {
        return Reply::param("通知地址notify_url须为不带参数的http(s)地址");
    }
    let total = body["amount"]["total"].as_i64().unwrap_or(0);
    if total < 1 || body["amount"]["currency"].as_str().is_some_and(|c| c != "CNY") {
        return Reply::param("订单金额amount.total须为大于0的整数（分），币种CNY");
    }
    let expires_at = match body.get("time_expire").and_then(Value::as_str) {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => return Reply::param("time_expire须为RFC 3339格式"),
        },
    };
    let trade_type = match kind {
        "jsapi" if body["payer"]["openid"].as_str().unwrap_or_default().is_empty() => {
            return Reply::param("JSAPI下单须传入payer.openid");
        }
        "h5" if body["scene_info"]["payer_client_ip"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            || body["scene_info"]["h5_info"]["type"]
                .as_str()
                .unwrap_or_default()
                .is_empty() =>
        {
            return Reply::param("H5下单须传入scene_info.payer_client_ip与h5_info.type");
        }
        "jsapi" => "JSAPI",
        "h5" => "MWEB",
        _ => "NATIVE",
    };
    if let Some(existing) = ledger.trades.get(out_trade_no) {
        return match existing.state.as_str() {
            "SUCCESS" | "REFUND" => Reply::error(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付"),
            "CLOSED" => Reply::error(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "订单已关闭"),
            _ if existing.request == *body && existing.trade_type == trade_type => {
                Reply::ok(existing.prepay_answer.clone())
            }
            _ => Reply::error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "201 商户订单号重复"),
        };
    }
    let prepay_id = format!("wx{}", ledger.next_id(&Utc::now().format("%d%H%M%S").to_string()));
    let answer = match trade_type {
        "JSAPI" => json!({ "prepay_id": prepay_id }),
        "MWEB" => json!({
            "h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package=2150917749")
        }),
        _ => json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={}", &prepay_id[2..]) }),
    };
    ledger.trades.insert(
        out_trade_no.to_owned(),
        TradeRow {
            out_trade_no: out_trade_no.to_owned(),
            trade_type: trade_type.to_owned(),
            request: body.clone(),
            prepay_answer: answer.clone(),
            description: text("description").to_owned(),
            notify_url: notify_url.to_owned(),
            total,
            state: "NOTPAY".to_owned(),
            transaction_id: None,
            success_time: None,
            openid: body["payer"]["openid"].as_str().map(str::to_owned),
            expires_at,
            refunded: 0,
        },
    );
    Reply::ok(answer)
}

/// 退款申请: one refund per `out_refund_no`; the same request again answers the same refund.
fn refund(ledger: &mut Ledger, body: &Value) -> Reply {
    let out_trade_no = body["out_trade_no"].as_str().unwrap_or_default();
    let out_refund_no = body["out_refund_no"].as_str().unwrap_or_default();
    if !plain_id(out_refund_no, 1, 64) {
        return Reply::param("商户退款单号out_refund_no须为1-64位数字、大小写字母_-|*@");
    }
    let amount = body["amount"]["refund"].as_i64().unwrap_or(0);
    let total = body["amount"]["total"].as_i64().unwrap_or(0);
    if amount < 1 || total < 1 || body["amount"]["currency"].as_str() != Some("CNY") {
        return Reply::param("退款金额amount.refund、原订单金额amount.total须为大于0的整数（分），币种CNY");
    }
    if let Some(existing) = ledger.refunds.get(out_refund_no) {
        return if existing.out_trade_no == out_trade_no && existing.amount == amount {
            Reply::ok(existing.resource())
        } else {
            Reply::error(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "退款单号重复，且请求参数与原请求不一致",
            )
        };
    }
    let refund_id = ledger.next_id("5030000000");
    let Some(trade) = ledger.trades.get_mut(out_trade_no) else {
        return Reply::error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在");
    };
    if !matches!(trade.state.as_str(), "SUCCESS" | "REFUND") {
        return Reply::error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单未支付，不能退款");
    }
    if total != trade.total {
        return Reply::param("原订单金额amount.total与订单实际金额不一致");
    }
    if trade.refunded + amount > trade.total {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "申请退款金额超过订单可退金额",
        );
    }
    trade.refunded += amount;
    trade.state = "REFUND".to_owned();
    let row = RefundRow {
        refund_id,
        out_refund_no: out_refund_no.to_owned(),
        out_trade_no: out_trade_no.to_owned(),
        transaction_id: trade.transaction_id.clone().unwrap_or_default(),
        amount,
        total,
        status: "PROCESSING".to_owned(),
        notify_url: body["notify_url"].as_str().map(str::to_owned),
        create_time: Utc::now(),
        success_time: None,
    };
    let answer = row.resource();
    ledger.refunds.insert(out_refund_no.to_owned(), row);
    Reply::ok(answer)
}

/// 申请交易账单: the bill is made now, kept under a token, and its SHA-1 given.
fn trade_bill(ledger: &mut Ledger, shared: &Shared, query: &HashMap<String, String>) -> Reply {
    let Some(day) = query
        .get("bill_date")
        .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
    else {
        return Reply::param("bill_date须为yyyy-MM-DD格式");
    };
    if query.get("bill_type").is_some_and(|kind| kind != "ALL") {
        return Reply::param("本模拟服务只提供ALL类型账单");
    }
    if day > Utc::now().with_timezone(&beijing()).date_naive() {
        return Reply::param("不能申请未来日期的账单");
    }
    let Some(text) = ledger.bill(day, &shared.appid, &shared.mchid) else {
        return Reply::error(StatusCode::BAD_REQUEST, "NO_STATEMENT_EXIST", "该日期无账单");
    };
    let hash = hex::encode(ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        text.as_bytes(),
    ));
    let mut file = text.into_bytes();
    if std::mem::take(&mut ledger.corrupt_next_bill) {
        file.truncate(file.len() / 2);
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    ledger.bills.insert(token.clone(), file);
    Reply::ok(json!({
        "hash_type": "SHA1",
        "hash_value": hash,
        "download_url": format!("{}/v3/billdownload/file?token={token}", shared.base_url),
    }))
}

fn download(shared: &Shared, uri: &Uri) -> Response {
    let token = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.into_owned())
        .unwrap_or_default();
    match shared.ledger().bills.get(&token) {
        Some(file) => (StatusCode::OK, file.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            json!({ "code": "RESOURCE_NOT_EXISTS", "message": "账单下载地址已过期" }).to_string(),
        )
            .into_response(),
    }
}

/// A notification's `resource`: `resource` encrypted with the APIv3 key (AES-256-GCM, the
/// tag after the ciphertext), `associated_data` its type (证书和回调报文解密).
pub(super) fn encrypt(apiv3_key: &str, original_type: &str, resource: &Value) -> Value {
    let nonce: String = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let cipher = Aes256Gcm::new_from_slice(apiv3_key.as_bytes()).expect("the APIv3 key is 32 bytes");
    let plaintext = resource.to_string();
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext.as_bytes(),
                aad: original_type.as_bytes(),
            },
        )
        .expect("AES-GCM encrypts");
    json!({
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": STANDARD.encode(sealed),
        "associated_data": original_type,
        "nonce": nonce,
    })
}

/// POSTs a notification signed at `timestamp` by `signer` and records the shop's answer.
pub(super) async fn post_notification(shared: &Shared, url: &str, body: &str, timestamp: i64, signer: Role) -> u16 {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let signature = keys::key(signer).sign(format!("{timestamp}\n{nonce}\n{body}\n").as_bytes());
    let sent = shared
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header("wechatpay-timestamp", timestamp.to_string())
        .header("wechatpay-nonce", nonce)
        .header("wechatpay-signature", signature)
        .header("wechatpay-serial", &shared.platform_key_id)
        .header("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048")
        .body(body.to_owned())
        .send()
        .await;
    let status = sent.map(|response| response.status().as_u16()).unwrap_or(0);
    let event_type = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|event| event["event_type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    shared.ledger().deliveries.push(super::Delivery { event_type, status });
    status
}
