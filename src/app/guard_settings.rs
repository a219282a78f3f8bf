//! Settings of the guards against abuse added for issue 22 (sockets, invite codes, promo-link
//! clicks), parsed with the rest of the configuration; each is in the README's table.

use std::time::Duration;

use super::config::{ConfigError, parse_bytes, parse_count, parse_duration, parse_setting};
use super::socket::SocketLimits;

#[derive(Clone, Debug)]
pub struct GuardSettings {
    pub sockets: SocketLimits,
    /// How long an invite code admits someone after it is made.
    pub invite_ttl: Duration,
    /// `joinOrganisation` attempts per client address, and per account, per rate window.
    pub invite_guesses_per_address: u32,
    pub invite_guesses_per_account: u32,
    /// Invite codes one organisation may make per rate window.
    pub invites_per_organisation: u32,
    /// A promo link's click counts once per client in this window.
    pub click_window: Duration,
}

impl GuardSettings {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<GuardSettings, ConfigError> {
        let duration = |name: &'static str, default: &str| parse_setting(name, get(name), default, parse_duration);
        let count = |name: &'static str, default: &str| parse_setting(name, get(name), default, parse_count);
        let bytes = |name: &'static str, default: &str| {
            parse_setting(name, get(name), default, |value| {
                parse_bytes(value).and_then(|n| usize::try_from(n).map_err(|_| "too large".to_owned()))
            })
        };
        Ok(GuardSettings {
            sockets: SocketLimits {
                max_connections: count("HUAKAI_WS_MAX_CONNECTIONS", "10000")? as usize,
                max_operations: count("HUAKAI_WS_MAX_OPERATIONS", "10")? as usize,
                max_message_bytes: bytes("HUAKAI_WS_MAX_MESSAGE", "64KiB")?,
                recheck: duration("HUAKAI_WS_RECHECK", "5s")?,
            },
            invite_ttl: duration("HUAKAI_INVITE_TTL", "14d")?,
            invite_guesses_per_address: count("HUAKAI_INVITE_GUESSES_PER_ADDRESS", "20")?,
            invite_guesses_per_account: count("HUAKAI_INVITE_GUESSES_PER_ACCOUNT", "10")?,
            invites_per_organisation: count("HUAKAI_INVITES_PER_ORGANISATION", "500")?,
            click_window: duration("HUAKAI_CLICK_WINDOW", "1h")?,
        })
    }
}
