//! Passwords: argon2id hashes only, checked off the async runtime (hashing is deliberately slow).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};

use crate::infra::error::AppError;
use crate::infra::i18n::Message;

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
pub fn weakness(password: &str) -> Option<Message> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(Message::new("password-length").with("min", MIN_PASSWORD_CHARS));
    }
    let lowered = password.to_lowercase();
    let first = lowered.chars().next();
    let one_repeated_character = lowered.chars().all(|c| Some(c) == first);
    if COMMON_PASSWORDS.contains(&lowered.as_str()) || one_repeated_character {
        return Some(Message::new("password-too-common"));
    }
    None
}

/// Computes argon2 hashes off the async runtime, a few at a time. Each takes 19 MiB and tens
/// of milliseconds of a core; without a bound, a burst of sign-ins would hold as many as the
/// blocking pool has threads (hundreds) and exhaust a small pod's memory. Callers beyond the
/// bound wait their turn (the request timeout and the overload guard bound the wait).
pub struct PasswordHasher {
    permits: tokio::sync::Semaphore,
}

impl PasswordHasher {
    /// At most `at_once` hashes computed at the same time (at least one).
    pub fn new(at_once: usize) -> PasswordHasher {
        PasswordHasher {
            permits: tokio::sync::Semaphore::new(at_once.max(1)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|error| AppError::Internal(error.into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| AppError::Internal(error.into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| AppError::Internal(anyhow::anyhow!("password hashing failed: {error}")))
        })
        .await?
    }

    /// Whether `password` matches `stored`. Without a stored hash (no such user), a dummy hash
    /// is checked instead, so an unknown email takes as long to refuse as a wrong password.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, AppError> {
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.run(move || {
            let known = stored.is_some();
            let hash_text = stored.as_deref().unwrap_or_else(|| dummy_hash());
            let matches = PasswordHash::new(hash_text)
                .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
                .unwrap_or(false);
            known && matches
        })
        .await
    }
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
    use std::time::Duration;

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
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse battery").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await.expect("verify"));
        assert!(!hasher.verify("correct horse battery", None).await.expect("verify"));
    }

    #[tokio::test]
    async fn hashes_wait_for_a_turn() {
        let hasher = PasswordHasher::new(1);
        let busy = hasher.permits.acquire().await.expect("permit");
        let waiting = tokio::time::timeout(Duration::from_millis(300), hasher.hash("correct horse battery")).await;
        assert!(waiting.is_err(), "no hash runs while the only turn is taken");
        drop(busy);
        let hash = tokio::time::timeout(Duration::from_secs(10), hasher.hash("correct horse battery"))
            .await
            .expect("the turn is free again");
        assert!(hash.is_ok());
    }
}
