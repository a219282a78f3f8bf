//! What the direct WeChat Pay and Alipay clients share: RSA keys read from PEM files,
//! SHA256withRSA (PKCS#1 v1.5) signatures made and checked with `ring`, the error of a setting,
//! and how a call ends when it gives no usable answer.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::FixedOffset;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use spki::der::Decode;

/// China Standard Time (UTC+8), in which both providers write their times.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is an offset"),
};

/// Why a call to a provider gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// A definite no, from the provider (or from us, before anything was sent): nothing happened
    /// there. `code` is the provider's own (`ORDER_CLOSED`, `ACQ.TRADE_HAS_SUCCESS`, …).
    #[error("refused: {code}: {message}")]
    Refused { code: String, message: String },
    /// No definite answer (time-out, connection lost, 5xx, rate limit, an answer that does not
    /// verify or parse): it may or may not have happened; look it up before anything else.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl CallError {
    /// A request the client would not send: nothing happened anywhere.
    pub(crate) fn not_sent(message: impl Into<String>) -> CallError {
        CallError::Refused {
            code: "NOT_SENT".to_owned(),
            message: message.into(),
        }
    }
}

/// A setting that is missing or wrong, in one line naming its variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct SettingError {
    pub name: &'static str,
    pub problem: String,
}

impl SettingError {
    pub(crate) fn new(name: &'static str, problem: impl Into<String>) -> SettingError {
        SettingError {
            name,
            problem: problem.into(),
        }
    }
}

/// Reads a provider's `names` through `lookup`: all unset is `None` (the provider is off), all
/// set their values; some set is an error naming the first one missing.
pub(crate) fn all_or_none<const N: usize>(
    lookup: &dyn Fn(&str) -> Option<String>,
    names: [&'static str; N],
) -> Result<Option<[String; N]>, SettingError> {
    let values = names.map(|name| lookup(name).filter(|value| !value.trim().is_empty()));
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(missing) = names.iter().zip(&values).find(|(_, value)| value.is_none()) {
        let others = names
            .iter()
            .filter(|name| *name != missing.0)
            .copied()
            .collect::<Vec<_>>();
        return Err(SettingError::new(
            missing.0,
            format!("is needed with {}", others.join(", ")),
        ));
    }
    Ok(Some(values.map(|value| value.unwrap_or_default().trim().to_owned())))
}

/// An optional http(s) base URL, without a trailing slash.
pub(crate) fn base_url(name: &'static str, value: Option<String>, default: &str) -> Result<String, SettingError> {
    let text = value.unwrap_or_else(|| default.to_owned());
    match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => {
            Ok(url.as_str().trim_end_matches('/').to_owned())
        }
        _ => Err(SettingError::new(
            name,
            format!("must be an http(s) URL without a query (got {text:?})"),
        )),
    }
}

/// How long one call may take before its outcome counts as unknown (default 30 s).
pub(crate) fn call_timeout(name: &'static str, value: Option<String>) -> Result<Duration, SettingError> {
    match value.filter(|text| !text.trim().is_empty()) {
        None => Ok(Duration::from_secs(30)),
        Some(text) => humantime::parse_duration(text.trim())
            .ok()
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| SettingError::new(name, format!("must be a duration such as 30s (got {text:?})"))),
    }
}

/// A setting that goes into a header or a signed string: visible ASCII only.
pub(crate) fn visible_ascii(name: &'static str, value: String) -> Result<String, SettingError> {
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value)
    } else {
        Err(SettingError::new(name, "must be visible ASCII without spaces"))
    }
}

fn read_key_file(name: &'static str, path: &str) -> Result<Vec<u8>, SettingError> {
    std::fs::read(path).map_err(|error| SettingError::new(name, format!("cannot read {path}: {error}")))
}

/// A key file without PEM armour: Alipay's key tool writes the bare base64 of the DER.
fn bare_base64(text: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// A merchant's RSA private key (2048 to 4096 bits), signing SHA256withRSA.
pub struct SigningKey {
    pair: RsaKeyPair,
    random: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(hidden)")
    }
}

impl SigningKey {
    /// A PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM, or the bare
    /// base64 of a PKCS#8 key.
    pub fn from_pem(text: &[u8]) -> Result<SigningKey, String> {
        let pair = match PrivateKeyDer::from_pem_slice(text) {
            Ok(PrivateKeyDer::Pkcs8(der)) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Pkcs1(der)) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            Ok(_) => return Err("not an RSA private key".to_owned()),
            Err(pem::Error::NoItemsFound) => match bare_base64(text) {
                Some(der) => RsaKeyPair::from_pkcs8(&der),
                None => return Err("neither PEM nor base64".to_owned()),
            },
            Err(error) => return Err(format!("not a PEM private key: {error}")),
        };
        let pair = pair.map_err(|rejected| format!("not a usable RSA private key: {rejected}"))?;
        Ok(SigningKey {
            pair,
            random: SystemRandom::new(),
        })
    }

    pub(crate) fn read(name: &'static str, path: &str) -> Result<SigningKey, SettingError> {
        SigningKey::from_pem(&read_key_file(name, path)?).map_err(|problem| SettingError::new(name, problem))
    }

    /// The base64 SHA256withRSA signature of `message`. Fails only if the system's random
    /// source does (ring blinds the private operation).
    pub fn sign(&self, message: &[u8]) -> Result<String, CallError> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.random, message, &mut signature)
            .map_err(|_| CallError::not_sent("the request could not be signed"))?;
        Ok(STANDARD.encode(signature))
    }
}

/// A provider's RSA public key, checking its SHA256withRSA signatures.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The PKCS#1 `RSAPublicKey` inside the SubjectPublicKeyInfo, which is what ring reads.
    rsa_public_key: Vec<u8>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({} bytes)", self.rsa_public_key.len())
    }
}

/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl VerifyingKey {
    /// A SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), or its bare base64.
    pub fn from_pem(text: &[u8]) -> Result<VerifyingKey, String> {
        let der = match SubjectPublicKeyInfoDer::from_pem_slice(text) {
            Ok(der) => der.as_ref().to_vec(),
            Err(pem::Error::NoItemsFound) => bare_base64(text).ok_or("neither PEM nor base64")?,
            Err(error) => return Err(format!("not a PEM public key: {error}")),
        };
        let info = spki::SubjectPublicKeyInfoRef::from_der(&der)
            .map_err(|error| format!("not a SubjectPublicKeyInfo: {error}"))?;
        if info.algorithm.oid != RSA_ENCRYPTION {
            return Err(format!("not an RSA public key (algorithm {})", info.algorithm.oid));
        }
        let rsa_public_key = info
            .subject_public_key
            .as_bytes()
            .ok_or("the public key's bit string is not whole bytes")?
            .to_vec();
        Ok(VerifyingKey { rsa_public_key })
    }

    pub(crate) fn read(name: &'static str, path: &str) -> Result<VerifyingKey, SettingError> {
        VerifyingKey::from_pem(&read_key_file(name, path)?).map_err(|problem| SettingError::new(name, problem))
    }

    /// Whether `signature` (base64) is this key's SHA256withRSA signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.rsa_public_key)
            .verify(message, &signature)
            .is_ok()
    }
}

/// The HTTP client of a provider: rustls, our name as the User-Agent (WeChat Pay requires one),
/// and one deadline for the whole exchange, answer included.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("huakai/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .build()
        .map_err(|error| format!("the HTTP client: {error}"))
}

/// A transport error with its causes (reqwest's own text names only the URL).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "no answer in time".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An id the shop makes for the provider (an order's or a refund's number there), checked
/// before it goes into a path or a signed string: `min..=max` ASCII letters, digits and the
/// `extra` punctuation.
pub(crate) fn caller_id(what: &str, value: &str, min: usize, max: usize, extra: &[u8]) -> Result<(), CallError> {
    let allowed = value.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if allowed && (min..=max).contains(&value.len()) {
        Ok(())
    } else {
        Err(CallError::not_sent(format!(
            "{what} must be {min} to {max} letters, digits or {} (got {value:?})",
            String::from_utf8_lossy(extra)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_configured_whole_or_not_at_all() {
        let none = |_: &str| None;
        assert_eq!(all_or_none(&none, ["A", "B"]), Ok(None));
        let blank = |_: &str| Some("  ".to_owned());
        assert_eq!(all_or_none(&blank, ["A", "B"]), Ok(None));
        let half = |name: &str| (name == "A").then(|| "x".to_owned());
        let error = all_or_none(&half, ["A", "B", "C"]).unwrap_err();
        assert_eq!(error.to_string(), "B: is needed with A, C");
        let all = |name: &str| Some(format!(" {name} "));
        assert_eq!(
            all_or_none(&all, ["A", "B"]),
            Ok(Some(["A".to_owned(), "B".to_owned()]))
        );
    }

    #[test]
    fn settings_name_their_variable() {
        assert_eq!(
            base_url("X", None, "https://api.example.com/"),
            Ok("https://api.example.com".to_owned())
        );
        assert!(base_url("X", Some("ftp://example.com".to_owned()), "").is_err());
        assert!(base_url("X", Some("https://example.com/?a=1".to_owned()), "").is_err());
        assert_eq!(call_timeout("T", None), Ok(Duration::from_secs(30)));
        assert_eq!(call_timeout("T", Some("2s".to_owned())), Ok(Duration::from_secs(2)));
        assert_eq!(call_timeout("T", Some("0s".to_owned())).unwrap_err().name, "T");
        assert!(visible_ascii("S", "1DDE55AD".to_owned()).is_ok());
        assert!(visible_ascii("S", "1DDE 55AD".to_owned()).is_err());
    }

    #[test]
    fn keys_that_are_not_rsa_keys_are_refused() {
        assert!(SigningKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
        assert!(SigningKey::from_pem(b"not a key at all!").is_err());
        assert!(VerifyingKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
    }

    #[test]
    fn only_plain_ids_go_into_paths() {
        assert!(caller_id("out_trade_no", "hk_pay_42", 6, 32, b"_-").is_ok());
        for bad in ["hk_1", "a/../b_c", "hk pay 42", "订单号123456", &"x".repeat(33)] {
            assert!(caller_id("out_trade_no", bad, 6, 32, b"_-").is_err(), "{bad}");
        }
    }
}
