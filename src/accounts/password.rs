//! Passwords: argon2id hashes only, checked off the async runtime (hashing is deliberately slow).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Passwords attackers try first; refused whatever their length.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "a123456789",
    "aa12345678",
    "abc1234567",
    "abcd123456",
    "admin12345",
    "administrator",
    "asdfghjkl;",
    "iloveyou12",
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "qazwsxedc123",
    "qwerty1234",
    "qwerty12345",
    "qwertyuiop",
    "qwertyuiop123",
    "welcome123",
    "woaini1314",
    "woaini520",
    "zxcvbnm123",
    "0987654321",
    "1111111111",
    "0000000000",
    "5201314520",
    "1314520520",
    "11223344556",
    "huakai1234",
    "changeme123",
    "letmein123",
    "football123",
    "baseball123",
    "sunshine123",
    "princess123",
    "dragon1234",
];

/// Why a password is refused, if it is.
pub fn weakness(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(format!("a password needs at least {MIN_PASSWORD_CHARS} characters"));
    }
    let lowered = password.to_lowercase();
    let first = lowered.chars().next();
    let one_repeated_character = lowered.chars().all(|c| Some(c) == first);
    if COMMON_PASSWORDS.contains(&lowered.as_str()) || one_repeated_character {
        return Some("this password is too common; choose another".to_owned());
    }
    None
}

pub async fn hash(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::Internal(anyhow::anyhow!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| AppError::Internal(error.into()))?
}

/// Whether `password` matches `stored`. Without a stored hash (no such user), a dummy hash is
/// checked instead, so an unknown email takes as long to refuse as a wrong password.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool, AppError> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash_text = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let matches = PasswordHash::new(hash_text)
            .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false);
        known && matches
    })
    .await
    .map_err(|error| AppError::Internal(error.into()))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no user has this password", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_named() {
        assert!(weakness("short").is_some());
        assert!(
            weakness("Password123").is_some(),
            "common passwords are refused in any case"
        );
        assert!(weakness("aaaaaaaaaaaa").is_some());
        assert!(
            weakness("三旺村的百合最好吃了").is_none(),
            "ten Chinese characters are ten characters"
        );
        assert!(weakness("correct horse battery").is_none());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash("correct horse battery").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&hash)).await.expect("verify"));
        assert!(!verify("wrong horse battery", Some(&hash)).await.expect("verify"));
        assert!(!verify("correct horse battery", None).await.expect("verify"));
    }
}
