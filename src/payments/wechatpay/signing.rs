//! WeChat Pay API v3's signatures: each request carries `Authorization:
//! WECHATPAY2-SHA256-RSA2048 …` over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` signed with the
//! merchant key; each answer and notification carries `Wechatpay-Signature` over
//! `TIMESTAMP\nNONCE\nBODY\n` signed with the platform key named by `Wechatpay-Serial`. The
//! strings are the providers' ("签名生成", "签名验证"); the JSAPI `paySign` signs
//! `appId\ntimeStamp\nnonceStr\npackage\n` ("JSAPI调起支付").

use axum::http::HeaderMap;
use serde::Serialize;

use super::WechatPaySettings;
use crate::payments::direct::CallError;

/// How far a signed timestamp may be from our clock: WeChat Pay's window for requests, applied
/// to its answers and notifications, so that a replayed one is refused.
pub const WINDOW_SECONDS: i64 = 5 * 60;

pub const SIGNATURE: &str = "wechatpay-signature";
pub const TIMESTAMP: &str = "wechatpay-timestamp";
pub const NONCE: &str = "wechatpay-nonce";
pub const SERIAL: &str = "wechatpay-serial";

/// The authentication scheme of requests.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// A random string for a signature (32 hex digits, as WeChat Pay's own examples).
pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

/// The string a request's signature covers. `url` is the path with its query, as sent.
pub fn request_message(method: &str, url: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The `Authorization` header of a request made at `timestamp` with `nonce`.
pub fn authorization(
    settings: &WechatPaySettings,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<String, CallError> {
    let signature = settings
        .merchant_key
        .sign(request_message(method, url, timestamp, nonce, body).as_bytes())?;
    Ok(format!(
        "{SCHEME} mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
        settings.mchid, settings.merchant_serial
    ))
}

/// Why a signed answer or notification is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Wechatpay-Signature, -Timestamp, -Nonce or -Serial header is missing")]
    Unsigned,
    #[error("signed with {0}, not the configured platform key")]
    UnknownKey(String),
    #[error("the signed timestamp is more than five minutes from now")]
    Stale,
    #[error("the signature does not verify")]
    BadSignature,
}

/// Checks that `body` was signed by the configured platform key, within the window around
/// `now` (unix seconds). WeChat Pay probes merchants now and then with a deliberately wrong
/// signature (`WECHATPAY/SIGNTEST/…`); that is refused like any other.
pub fn verify(settings: &WechatPaySettings, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(signature), Some(timestamp), Some(nonce), Some(serial)) =
        (header(SIGNATURE), header(TIMESTAMP), header(NONCE), header(SERIAL))
    else {
        return Err(SignatureError::Unsigned);
    };
    if serial != settings.platform_key_id {
        return Err(SignatureError::UnknownKey(serial.to_owned()));
    }
    let signed_at: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Stale)?;
    if (now - signed_at).abs() > WINDOW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let mut message = Vec::with_capacity(body.len() + timestamp.len() + nonce.len() + 3);
    for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    if settings.platform_key.verify(&message, signature) {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

/// What a page inside WeChat passes to `wx.requestPayment` (field names as WeChat spells them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// Always `RSA`.
    pub sign_type: String,
    pub pay_sign: String,
}

/// The string `paySign` covers.
pub fn pay_sign_message(appid: &str, timestamp: i64, nonce: &str, package: &str) -> String {
    format!("{appid}\n{timestamp}\n{nonce}\n{package}\n")
}

/// The signed parameters for `prepay_id`, made at `timestamp`.
pub fn jsapi_params(
    settings: &WechatPaySettings,
    prepay_id: &str,
    timestamp: i64,
    nonce: String,
) -> Result<JsapiParams, CallError> {
    let package = format!("prepay_id={prepay_id}");
    let message = pay_sign_message(&settings.appid, timestamp, &nonce, &package);
    Ok(JsapiParams {
        app_id: settings.appid.clone(),
        time_stamp: timestamp.to_string(),
        pay_sign: settings.merchant_key.sign(message.as_bytes())?,
        nonce_str: nonce,
        package,
        sign_type: "RSA".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of WeChat Pay's "签名生成" page: GET of the certificates, at
    /// 1554208460 with nonce 593BEC0C930BF1AFEB40B4A08C8FB242 and no body.
    #[test]
    fn the_request_string_is_the_published_example() {
        assert_eq!(
            request_message(
                "GET",
                "/v3/certificates",
                1554208460,
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                ""
            ),
            "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
        );
    }

    /// The example of "JSAPI调起支付": appId wx8888888888888888, timeStamp 1414561699.
    #[test]
    fn the_pay_sign_string_is_the_published_example() {
        assert_eq!(
            pay_sign_message(
                "wx8888888888888888",
                1414561699,
                "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                "prepay_id=123456789"
            ),
            "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=123456789\n"
        );
    }

    #[test]
    fn nonces_are_32_hex_digits_and_differ() {
        let (a, b) = (nonce(), nonce());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
