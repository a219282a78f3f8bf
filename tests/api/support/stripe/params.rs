//! Form parameters as Stripe reads them, and the small encodings and signatures the stand-in
//! needs.

use super::*;

/// Decoded `application/x-www-form-urlencoded` parameters (a body or a query string), in order,
/// keys with Stripe's bracket notation kept as sent (`metadata[order_id]`,
/// `payment_method_types[0]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn decode(input: &str) -> Params {
        Params(
            input
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The last value sent for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// The entries of the hash `name` (`name[k]=v`), in order, a key sent twice counting once
    /// with its last value.
    pub fn hash(&self, name: &str) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (key, value) in &self.0 {
            let Some(inner) = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            else {
                continue;
            };
            match entries.iter_mut().find(|(existing, _)| existing == inner) {
                Some(entry) => entry.1 = value.clone(),
                None => entries.push((inner.to_owned(), value.clone())),
            }
        }
        entries
    }

    /// The array `name` (`name[0]=a&name[1]=b`, or `name[]=a&name[]=b`), by index.
    pub fn array(&self, name: &str) -> Vec<String> {
        let mut items: Vec<(usize, usize, String)> = Vec::new();
        for (position, (key, value)) in self.0.iter().enumerate() {
            let Some(index) = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            else {
                continue;
            };
            let index = match index {
                "" => usize::MAX,
                digits => match digits.parse::<usize>() {
                    Ok(index) => index,
                    Err(_) => continue,
                },
            };
            items.push((index, position, value.clone()));
        }
        items.sort_by_key(|(index, position, _)| (*index, *position));
        items.into_iter().map(|(_, _, value)| value).collect()
    }

    /// `metadata[k]=v` as a JSON object of strings (empty values, which unset a key at Stripe,
    /// left out).
    pub fn metadata(&self) -> Map<String, Value> {
        self.hash("metadata")
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key, Value::String(value)))
            .collect()
    }

    /// Applies `metadata[k]=v` to stored metadata as Stripe's updates do: an empty value removes
    /// the key, and `metadata=` (empty) removes them all.
    pub(super) fn merge_metadata(&self, metadata: &mut Value) {
        if !metadata.is_object() {
            *metadata = json!({});
        }
        let Some(stored) = metadata.as_object_mut() else { return };
        if self.get("metadata") == Some("") {
            stored.clear();
        }
        for (key, value) in self.hash("metadata") {
            if value.is_empty() {
                stored.remove(&key);
            } else {
                stored.insert(key, Value::String(value));
            }
        }
    }

    pub(super) fn required(&self, key: &str) -> Result<&str, Reply> {
        self.get(key)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| missing_param(key))
    }

    /// The string sent for `key`, or JSON null.
    pub(super) fn optional_string(&self, key: &str) -> Value {
        match self.get(key) {
            Some(value) if !value.is_empty() => json!(value),
            _ => Value::Null,
        }
    }

    pub(super) fn integer(&self, key: &str) -> Result<Option<i64>, Reply> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
                Reply::bad(
                    &format!("Invalid integer: {text}"),
                    Some("parameter_invalid_integer"),
                    Some(key),
                )
            }),
        }
    }

    pub(super) fn required_integer(&self, key: &str) -> Result<i64, Reply> {
        self.integer(key)?.ok_or_else(|| missing_param(key))
    }

    /// A three-letter ISO currency code, lowercased as Stripe answers it.
    pub(super) fn currency(&self, key: &str) -> Result<Option<String>, Reply> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(code) if code.len() == 3 && code.bytes().all(|byte| byte.is_ascii_alphabetic()) => {
                Ok(Some(code.to_ascii_lowercase()))
            }
            Some(code) => Err(Reply::bad(&format!("Invalid currency: {code}"), None, Some(key))),
        }
    }

    /// The pairs in a canonical order, to compare two requests.
    pub(super) fn sorted(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }
}

/// Decodes `%XX` escapes and `+` (a space); a `%` not followed by two hex digits stays as is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            b'%' => {
                let escaped = bytes
                    .get(index + 1..index + 3)
                    .and_then(|hex| Some(hex_digit(hex[0])? << 4 | hex_digit(hex[1])?));
                match escaped {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 3;
                    }
                    None => {
                        decoded.push(b'%');
                        index += 1;
                    }
                }
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

pub(super) fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Small tools

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Stripe's webhook signature header: `t={timestamp},v1={hex HMAC-SHA256 of "{timestamp}.{payload}"}`.
pub fn sign(secret: &str, payload: &str, timestamp: i64) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp}.{payload}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac))
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `{prefix}_` and `length` random letters and digits, as Stripe's ids look.
pub(super) fn new_id(prefix: &str, length: usize) -> String {
    format!("{prefix}_{}", random_alnum(length))
}

pub(super) fn random_alnum(length: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut text = String::with_capacity(length);
    while text.len() < length {
        let uuid = uuid::Uuid::new_v4();
        // Bytes 6 and 8 carry the UUID's version and variant, not randomness.
        for (index, byte) in uuid.as_bytes().iter().enumerate() {
            if index == 6 || index == 8 || text.len() == length {
                continue;
            }
            text.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
        }
    }
    text
}
