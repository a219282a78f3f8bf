//! Settings of the guards against abuse added for issue 22 (sockets, invite codes, promo-link
//! clicks), parsed with the rest of the configuration; each is in docs/configuration.md's table.

use std::time::Duration;

use crate::infra::settings::{ConfigError, parse_bytes, parse_count, parse_duration, parse_setting};
use crate::unions::guessing::InviteSettings;

#[derive(Clone, Debug)]
pub struct GuardSettings {
    pub sockets: SocketLimits,
    pub invites: InviteSettings,
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
            invites: InviteSettings {
                ttl: duration("HUAKAI_INVITE_TTL", "14d")?,
                guesses_per_address: count("HUAKAI_INVITE_GUESSES_PER_ADDRESS", "20")?,
                guesses_per_account: count("HUAKAI_INVITE_GUESSES_PER_ACCOUNT", "10")?,
                per_organisation: count("HUAKAI_INVITES_PER_ORGANISATION", "500")?,
            },
            click_window: duration("HUAKAI_CLICK_WINDOW", "1h")?,
        })
    }
}

/// What sockets may hold (settings, see docs/configuration.md).
#[derive(Clone, Debug)]
pub struct SocketLimits {
    /// Sockets open at once in this process.
    pub max_connections: usize,
    /// Operations (subscriptions, queries) running at once on one socket.
    pub max_operations: usize,
    /// The largest message a client may send, in bytes.
    pub max_message_bytes: usize,
    /// How often an open socket's session is looked at again.
    pub recheck: Duration,
}
