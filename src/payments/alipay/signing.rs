//! Alipay's RSA2 signatures ("签名与验签", "自行实现验签"): a request signs the sorted
//! `key=value&…` of all its parameters but `sign` (empty ones left out); an answer signs the raw
//! JSON text of its `…_response` member as sent; an asynchronous notification signs the sorted
//! `key=value&…` of all its parameters but `sign` and `sign_type`. Values are signed as they
//! are, not URL-encoded.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::AlipaySettings;
use crate::payments::direct::{BEIJING, CallError};

pub const SIGN_TYPE: &str = "RSA2";
pub const CHARSET: &str = "utf-8";
pub const VERSION: &str = "1.0";
pub const FORMAT: &str = "JSON";

/// `key=value` pairs sorted by key, joined with `&`.
pub fn sign_content<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a request's `sign` covers.
pub fn request_content(params: &[(String, String)]) -> String {
    sign_content(
        params
            .iter()
            .filter(|(key, value)| key != "sign" && !value.is_empty())
            .map(|(key, value)| (key.as_str(), value.as_str())),
    )
}

/// What a notification's `sign` covers.
pub fn notification_content(params: &[(String, String)]) -> String {
    sign_content(
        params
            .iter()
            .filter(|(key, _)| key != "sign" && key != "sign_type")
            .map(|(key, value)| (key.as_str(), value.as_str())),
    )
}

/// A time as Alipay writes it: Beijing time, `yyyy-MM-dd HH:mm:ss`.
pub fn beijing_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The parameters of a request for `method` with `biz_content` and the common `extra` ones
/// (`notify_url`, `return_url`), signed at `at`.
pub fn signed_request(
    settings: &AlipaySettings,
    method: &str,
    biz_content: &str,
    extra: &[(&str, &str)],
    at: DateTime<Utc>,
) -> Result<Vec<(String, String)>, CallError> {
    let timestamp = beijing_time(at);
    let mut params: Vec<(String, String)> = [
        ("app_id", settings.app_id.as_str()),
        ("method", method),
        ("format", FORMAT),
        ("charset", CHARSET),
        ("sign_type", SIGN_TYPE),
        ("timestamp", timestamp.as_str()),
        ("version", VERSION),
        ("biz_content", biz_content),
    ]
    .iter()
    .chain(extra)
    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
    .collect();
    let sign = settings.app_key.sign(request_content(&params).as_bytes())?;
    params.push(("sign".to_owned(), sign));
    Ok(params)
}

/// The member of an answer that `method`'s signature covers (`alipay.trade.query` answers in
/// `alipay_trade_query_response`, or in `error_response` when the gateway refused the call
/// itself).
pub fn response_member_name(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// An answer's member, as its raw JSON text, and the answer's `sign` if it has one.
pub fn answer_member<'a>(body: &'a str, method: &str) -> Result<(&'a str, Option<String>), String> {
    let members: BTreeMap<String, &RawValue> =
        serde_json::from_str(body).map_err(|error| format!("not a JSON object: {error}"))?;
    let member = members
        .get(&response_member_name(method))
        .or_else(|| members.get("error_response"))
        .ok_or_else(|| format!("no {} member", response_member_name(method)))?;
    let sign = match members.get("sign") {
        Some(raw) => Some(serde_json::from_str::<String>(raw.get()).map_err(|_| "a sign that is not a string")?),
        None => None,
    };
    Ok((member.get(), sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Alipay's "自行实现签名": every parameter but `sign`, sorted, raw.
    #[test]
    fn the_request_string_is_the_published_example() {
        let biz = r#"{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}"#;
        let params: Vec<(String, String)> = [
            ("app_id", "2014072300007148"),
            ("method", "alipay.mobile.public.menu.add"),
            ("charset", "GBK"),
            ("sign_type", "RSA2"),
            ("timestamp", "2014-07-24 03:07:50"),
            ("biz_content", biz),
            ("version", "1.0"),
            ("sign", "left out"),
            ("app_auth_token", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            request_content(&params),
            format!(
                "app_id=2014072300007148&biz_content={biz}&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
            )
        );
    }

    #[test]
    fn a_notification_leaves_out_sign_and_sign_type() {
        let params: Vec<(String, String)> = [
            ("trade_status", "TRADE_SUCCESS"),
            ("sign_type", "RSA2"),
            ("app_id", "2021000000000000"),
            ("sign", "x"),
            ("total_amount", "12.50"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            notification_content(&params),
            "app_id=2021000000000000&total_amount=12.50&trade_status=TRADE_SUCCESS"
        );
    }

    /// The signed text is the member exactly as sent, escaped slashes and spacing included.
    #[test]
    fn the_answer_member_is_taken_as_sent() {
        let body = r#"{"alipay_trade_precreate_response":{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/bax01"} ,"sign":"c2lnbg=="}"#;
        let (member, sign) = answer_member(body, "alipay.trade.precreate").expect("a member");
        assert_eq!(
            member,
            r#"{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/bax01"}"#
        );
        assert_eq!(sign.as_deref(), Some("c2lnbg=="));
        let refused =
            r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}"#;
        assert_eq!(answer_member(refused, "alipay.trade.query").expect("a member").1, None);
        assert!(answer_member("{}", "alipay.trade.query").is_err());
    }
}
