//! Bearer tokens: JWTs (HS256) naming a session row.
//!
//! The signature and expiry are checked before the database is asked, so a forged or expired
//! token costs nothing; the session row makes every token revocable (logout, password change).

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};

use super::entity::setting;
use crate::infra::error::AppError;
use crate::infra::ids::UserId;

const SECRET_SETTING: &str = "token_secret";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub lifetime: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], lifetime: Duration) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    pub fn issue(
        &self,
        user_id: UserId,
        session_id: &str,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_owned(),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AppError::Internal(anyhow::anyhow!("token signing failed: {error}")))
    }

    /// The claims of a token signed by us and not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The configured secret, or the one kept in the database (made by whichever replica got there
/// first).
pub async fn secret(db: &impl ConnectionTrait, configured: Option<&str>) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let generated = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    setting::Entity::insert(setting::ActiveModel {
        name: Set(SECRET_SETTING.to_owned()),
        value: Set(generated),
    })
    .on_conflict(OnConflict::column(setting::Column::Name).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    let stored = setting::Entity::find_by_id(SECRET_SETTING.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the token secret was not stored")))?;
    Ok(stored.value.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_tampered_and_expired_tokens() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let now = Utc::now();
        let token = keys
            .issue(UserId(7), "s1", now, now + chrono::Duration::minutes(1))
            .expect("token");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("7", "s1"));

        let mut tampered = token.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        assert!(keys.verify(&String::from_utf8(tampered).expect("ascii")).is_none());

        let other = TokenKeys::new(b"another secret of at least 32 bytes!", Duration::from_secs(60));
        assert!(other.verify(&token).is_none());

        let expired = keys
            .issue(
                UserId(7),
                "s1",
                now - chrono::Duration::hours(2),
                now - chrono::Duration::hours(1),
            )
            .expect("token");
        assert!(keys.verify(&expired).is_none());
    }
}
