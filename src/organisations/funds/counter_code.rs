//! A member's counter code (`Membership.counterCode`): what the member shows a relief
//! supermarket's clerk to pay with the welfare allowance, like a payment code (付款码). Twelve
//! digits: a random handle of six that finds the membership (never its id), then six that an
//! HMAC-SHA256 of the minute under the membership's own secret gives (RFC 4226's truncation).
//! A code is taken during its minute and the next, so one shown just before the minute turns
//! still works; after that it is worthless.

use chrono::{DateTime, Utc};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr};

use crate::accounts::entity::membership;
use crate::infra::error::{AppError, AppResult};
use crate::infra::ids::MembershipId;
use crate::organisations::entity::counter_credential;

const HANDLE_DIGITS: usize = 6;
const CODE_DIGITS: usize = 12;

fn random_bytes<const N: usize>() -> AppResult<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("no randomness")))?;
    Ok(bytes)
}

/// The six digits of `minute` (minutes since the epoch) under `secret`.
fn minute_digits(secret: &[u8], minute: i64) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &minute.to_be_bytes());
    let tag = tag.as_ref();
    let offset = usize::from(tag[tag.len() - 1] & 0x0f);
    let number = u32::from_be_bytes([tag[offset] & 0x7f, tag[offset + 1], tag[offset + 2], tag[offset + 3]]);
    format!("{:06}", number % 1_000_000)
}

fn minute_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(60)
}

/// The credential of `membership_id`, made on first use (a racing first use finds the other's).
async fn credential(db: &impl ConnectionTrait, membership_id: MembershipId) -> AppResult<counter_credential::Model> {
    for _ in 0..8 {
        if let Some(found) = counter_credential::Entity::find_by_id(membership_id).one(db).await? {
            return Ok(found);
        }
        let number = u32::from_be_bytes(random_bytes::<4>()?) % 1_000_000;
        let made = counter_credential::ActiveModel {
            membership_id: Set(membership_id),
            handle: Set(format!("{number:06}")),
            secret: Set(hex::encode(random_bytes::<32>()?)),
            created_at: Set(Utc::now()),
        }
        .insert(db)
        .await;
        match made {
            Ok(made) => return Ok(made),
            // The handle is taken (try another) or the membership got one meanwhile (found above).
            Err(error) if taken(&error) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!("no free counter handle")))
}

fn taken(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The member's code for the minute of `now`.
pub async fn counter_code(
    db: &impl ConnectionTrait,
    membership_id: MembershipId,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let credential = credential(db, membership_id).await?;
    let secret = hex::decode(&credential.secret).map_err(|e| AppError::Internal(e.into()))?;
    Ok(format!(
        "{}{}",
        credential.handle,
        minute_digits(&secret, minute_of(now))
    ))
}

/// The current membership whose code `code` is at `now` (this minute's or the last), if any.
pub async fn member_of_code(
    db: &impl ConnectionTrait,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<membership::Model>> {
    let code = code.trim();
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let (handle, digits) = code.split_at(HANDLE_DIGITS);
    let Some(credential) = counter_credential::Entity::find()
        .filter(counter_credential::Column::Handle.eq(handle))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let secret = hex::decode(&credential.secret).map_err(|e| AppError::Internal(e.into()))?;
    let minute = minute_of(now);
    let matches = [minute, minute - 1]
        .into_iter()
        .fold(false, |found, m| found | same(&minute_digits(&secret, m), digits));
    if !matches {
        return Ok(None);
    }
    Ok(membership::Entity::find_by_id(credential.membership_id)
        .filter(membership::Column::EndedAt.is_null())
        .one(db)
        .await?)
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_minute_has_its_own_six_digits() {
        let secret = [7u8; 32];
        let first = minute_digits(&secret, 29_000_000);
        assert_eq!(first.len(), 6);
        assert_eq!(
            first,
            minute_digits(&secret, 29_000_000),
            "the same minute, the same code"
        );
        let differ = (1..20)
            .filter(|m| minute_digits(&secret, 29_000_000 + m) != first)
            .count();
        assert!(differ >= 18, "codes change from minute to minute");
        assert_ne!(minute_digits(&[8u8; 32], 29_000_000), first, "another member's secret");
        assert!(same("012345", "012345") && !same("012345", "012346") && !same("0", "00"));
    }
}
