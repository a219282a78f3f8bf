//! Invite codes against guessing: `joinOrganisation` attempts are counted per client address
//! and per account (every attempt, aliases in one request included, since each runs the
//! resolver), and invite codes made per organisation, in the rate-limit window; the codes
//! themselves are long enough that guessing gets nowhere.

use std::sync::Arc;

use async_graphql::Context;

use crate::accounts::graphql::ClientAddress;
use crate::accounts::rate_limit::Limit;
use crate::accounts::service::{Accounts, client_key};
use crate::infra::error::{AppError, AppResult, UserError};
use crate::infra::ids::OrganisationId;
use crate::infra::ids::UserId;

/// The invite guards' settings (`HUAKAI_INVITE_TTL`, `HUAKAI_INVITE_GUESSES_PER_ADDRESS`,
/// `HUAKAI_INVITE_GUESSES_PER_ACCOUNT`, `HUAKAI_INVITES_PER_ORGANISATION`), parsed with the
/// rest of the configuration and handed to the resolvers.
#[derive(Clone, Debug)]
pub struct InviteSettings {
    /// How long an invite code admits someone after it is made.
    pub ttl: std::time::Duration,
    /// `joinOrganisation` attempts per client address, and per account, per rate window.
    pub guesses_per_address: u32,
    pub guesses_per_account: u32,
    /// Invite codes one organisation may make per rate window.
    pub per_organisation: u32,
}

/// Characters of an invite code: no look-alikes (0/O, 1/I/L), so it is easy to read out.
const INVITE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 16 characters of 31, each drawn uniformly from the operating system's random source: 79
/// bits, against which a guesser allowed `HUAKAI_INVITE_GUESSES_PER_ADDRESS` tries per window
/// gets nowhere. (The codes were 8 characters taken from a v4 UUID's first bytes, one of which
/// holds the UUID's version, by a biased modulo: under 39 bits.)
pub const INVITE_CODE_LENGTH: usize = 16;

/// A fresh invite code.
pub fn invite_code() -> String {
    // A byte below 248 (8 × 31) maps uniformly onto the alphabet; the others are skipped.
    let fair = INVITE_ALPHABET.len() * (256 / INVITE_ALPHABET.len());
    let mut code = String::with_capacity(INVITE_CODE_LENGTH);
    while code.len() < INVITE_CODE_LENGTH {
        let random = uuid::Uuid::new_v4().into_bytes();
        // Bytes 6 and 8 carry the UUID's version and variant: only the others are random.
        for byte in random[..6].iter().chain(&random[9..]) {
            if usize::from(*byte) < fair && code.len() < INVITE_CODE_LENGTH {
                code.push(char::from(INVITE_ALPHABET[usize::from(*byte) % INVITE_ALPHABET.len()]));
            }
        }
    }
    code
}

fn handles<'a>(ctx: &Context<'a>) -> AppResult<(&'a Arc<Accounts>, &'a InviteSettings)> {
    let missing = || AppError::Internal(anyhow::anyhow!("schema built without accounts or invite settings"));
    Ok((
        ctx.data::<Arc<Accounts>>().map_err(|_| missing())?,
        ctx.data::<InviteSettings>().map_err(|_| missing())?,
    ))
}

/// Counts one `joinOrganisation` attempt of `user_id` from the request's client; `Err` with
/// `RATE_LIMITED` when either has tried too often in the window.
pub async fn count_guess(ctx: &Context<'_>, user_id: UserId) -> AppResult<Result<(), UserError>> {
    let (accounts, settings) = handles(ctx)?;
    let address = ctx.data_opt::<ClientAddress>().and_then(|address| address.0);
    let limits = [
        Limit {
            key: format!("invite-guesses:address:{}", client_key(address)),
            max: settings.guesses_per_address,
        },
        Limit {
            key: format!("invite-guesses:user:{user_id}"),
            max: settings.guesses_per_account,
        },
    ];
    Ok(match accounts.limiter.attempt(&limits).await {
        Ok(()) => Ok(()),
        Err(wait) => Err(UserError::rate_limited("too-many-invite-guesses", wait.seconds())),
    })
}

/// Counts one invite code made for `organisation_id`; `Err` with `RATE_LIMITED` past
/// `HUAKAI_INVITES_PER_ORGANISATION` in the window.
pub async fn count_invite(ctx: &Context<'_>, organisation_id: OrganisationId) -> AppResult<Result<(), UserError>> {
    let (accounts, settings) = handles(ctx)?;
    let limit = Limit {
        key: format!("invites-made:organisation:{organisation_id}"),
        max: settings.per_organisation,
    };
    Ok(match accounts.limiter.attempt(&[limit]).await {
        Ok(()) => Ok(()),
        Err(wait) => Err(UserError::rate_limited("too-many-invites", wait.seconds())),
    })
}

/// How long a code admits someone (`HUAKAI_INVITE_TTL`).
pub fn invite_ttl(ctx: &Context<'_>) -> AppResult<std::time::Duration> {
    Ok(handles(ctx)?.1.ttl)
}
