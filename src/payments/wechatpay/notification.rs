//! A notification WeChat Pay POSTs to `/webhooks/wechatpay`: checked against the platform key
//! and the five-minute window (`signing::verify`), then its `resource` decrypted with the APIv3
//! key (AEAD_AES_256_GCM, with the resource's `nonce` and `associated_data`). The route answers
//! 200 or 204 to what [`verify`] takes, and otherwise 4xx with [`failure_body`]; WeChat Pay sends
//! again what was not taken.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::Deserialize;
use serde_json::Value;

use super::refunds::RefundNotice;
use super::signing::{self, SignatureError};
use super::trades::Transaction;
use super::{ApiV3Key, WechatPaySettings};

/// A notification that verified and decrypted.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// WeChat Pay's id for it, the same on every delivery: the inbox's key.
    pub id: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`, …
    pub event_type: String,
    pub create_time: String,
    pub resource: Resource,
    /// The decrypted resource as WeChat Pay wrote it (JSON), for the inbox to keep.
    pub plaintext: String,
}

/// The decrypted `resource`, by its `original_type`.
#[derive(Clone, Debug, PartialEq)]
pub enum Resource {
    Transaction(Transaction),
    Refund(RefundNotice),
    /// Of a kind the shop does not act on.
    Other {
        original_type: String,
        plaintext: Value,
    },
}

/// Why a notification is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("not from WeChat Pay: {0}")]
    Forged(SignatureError),
    #[error("the body is not a WeChat Pay notification: {0}")]
    Malformed(String),
    #[error("the resource does not decrypt with the APIv3 key")]
    Undecryptable,
}

impl NotificationError {
    /// 401 for what is not WeChat Pay's (or is stale), 400 for what is not a notification.
    pub fn status(&self) -> u16 {
        match self {
            NotificationError::Forged(_) => 401,
            NotificationError::Malformed(_) | NotificationError::Undecryptable => 400,
        }
    }
}

/// The answer body of a notification not taken, in WeChat Pay's shape.
pub fn failure_body(error: &NotificationError) -> String {
    serde_json::json!({ "code": "FAIL", "message": error.to_string() }).to_string()
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    create_time: String,
    event_type: String,
    resource: EncryptedResource,
}

/// The encrypted part of a notification.
#[derive(Clone, Debug, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: Option<String>,
    pub nonce: String,
    #[serde(default)]
    pub original_type: Option<String>,
}

/// Verifies and decrypts a notification from its headers and raw body, as received.
pub fn verify(
    settings: &WechatPaySettings,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Notification, NotificationError> {
    verify_at(settings, headers, body, Utc::now().timestamp())
}

/// As [`verify`], at `now` (unix seconds).
pub fn verify_at(
    settings: &WechatPaySettings,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Notification, NotificationError> {
    signing::verify(settings, headers, body, now).map_err(NotificationError::Forged)?;
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|error| NotificationError::Malformed(error.to_string()))?;
    let plaintext = decrypt(&settings.apiv3_key, &envelope.resource)?;
    let text = String::from_utf8(plaintext.clone())
        .map_err(|_| NotificationError::Malformed("the resource is not UTF-8".to_owned()))?;
    let malformed = |error: serde_json::Error| NotificationError::Malformed(format!("the resource: {error}"));
    let original_type = envelope.resource.original_type.unwrap_or_default();
    let resource = match original_type.as_str() {
        "transaction" => Resource::Transaction(serde_json::from_slice(&plaintext).map_err(malformed)?),
        "refund" => Resource::Refund(serde_json::from_slice(&plaintext).map_err(malformed)?),
        _ => Resource::Other {
            original_type,
            plaintext: serde_json::from_slice(&plaintext).map_err(malformed)?,
        },
    };
    Ok(Notification {
        id: envelope.id,
        event_type: envelope.event_type,
        create_time: envelope.create_time,
        resource,
        plaintext: text,
    })
}

/// The plaintext of an AEAD_AES_256_GCM resource: the ciphertext ends with the 16-byte tag.
pub fn decrypt(key: &ApiV3Key, resource: &EncryptedResource) -> Result<Vec<u8>, NotificationError> {
    if resource.algorithm != "AEAD_AES_256_GCM" {
        return Err(NotificationError::Malformed(format!(
            "unknown algorithm {}",
            resource.algorithm
        )));
    }
    let nonce = Nonce::try_assume_unique_for_key(resource.nonce.as_bytes())
        .map_err(|_| NotificationError::Malformed("the nonce is not 12 bytes".to_owned()))?;
    let mut sealed = STANDARD
        .decode(resource.ciphertext.trim())
        .map_err(|_| NotificationError::Malformed("the ciphertext is not base64".to_owned()))?;
    let key = UnboundKey::new(&AES_256_GCM, &key.0).map_err(|_| NotificationError::Undecryptable)?;
    let associated_data = resource.associated_data.as_deref().unwrap_or_default();
    let plaintext = LessSafeKey::new(key)
        .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut sealed)
        .map_err(|_| NotificationError::Undecryptable)?;
    Ok(plaintext.to_vec())
}
