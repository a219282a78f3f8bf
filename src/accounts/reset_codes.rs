//! Password-reset codes: six random digits, kept only as a keyed hash (the key derived from the
//! token secret, the same on every replica).

use ring::hmac;

use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::UserId;

/// The key codes are hashed under, derived from the token secret (so it is the same on every
/// replica, and never the JWT key itself).
pub struct ResetCodes {
    key: hmac::Key,
}

impl ResetCodes {
    pub fn new(token_secret: &[u8]) -> ResetCodes {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, token_secret);
        let derived = hmac::sign(&derive, b"huakai password-reset codes");
        ResetCodes {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    pub(super) fn hash(&self, user_id: UserId, code: &str) -> String {
        hex::encode(hmac::sign(&self.key, format!("{user_id}:{code}").as_bytes()))
    }

    /// Whether `code` is the one hashed in `stored` (compared in constant time).
    pub(super) fn matches(&self, user_id: UserId, code: &str, stored: &str) -> bool {
        hex::decode(stored)
            .is_ok_and(|tag| hmac::verify(&self.key, format!("{user_id}:{code}").as_bytes(), &tag).is_ok())
    }
}

/// Six digits, uniform: a random `u32` below the largest multiple of a million is reduced.
pub(super) fn fresh_code() -> AppResult<String> {
    use ring::rand::SecureRandom;
    const FAIR: u32 = u32::MAX - u32::MAX % 1_000_000;
    let random = ring::rand::SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        random
            .fill(&mut bytes)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the system's random source failed")))?;
        let value = u32::from_le_bytes(bytes);
        if value < FAIR {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashed_per_user() {
        let code = fresh_code().expect("a code");
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|byte| byte.is_ascii_digit()));
        let codes = ResetCodes::new(b"0123456789abcdef0123456789abcdef");
        let stored = codes.hash(UserId(7), "123456");
        assert_eq!(stored.len(), 64);
        assert!(codes.matches(UserId(7), "123456", &stored));
        assert!(!codes.matches(UserId(7), "123457", &stored));
        assert!(!codes.matches(UserId(8), "123456", &stored));
        let other = ResetCodes::new(b"another secret of at least 32 bytes!");
        assert!(!other.matches(UserId(7), "123456", &stored));
    }
}
