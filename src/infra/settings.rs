//! Settings read from the environment: one parser per kind of value (sizes, counts,
//! durations) and one error that names the setting, so a bad value stops start-up with one
//! line. Each storey's settings are parsed with these.

use std::time::Duration;

/// A setting that cannot be used: its name, the value seen and what is wrong, on one line.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem} (got {value:?})")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    problem: String,
}

/// The error of setting `name`, whose `value` has `problem`.
pub fn error(name: &'static str, value: &str, problem: &str) -> ConfigError {
    ConfigError {
        name,
        value: value.to_owned(),
        problem: problem.to_owned(),
    }
}

pub fn parse_setting<T>(
    name: &'static str,
    value: Option<String>,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let value = value.unwrap_or_else(|| default.to_owned());
    parse(value.trim()).map_err(|problem| error(name, &value, &problem))
}

/// A URL with its password (and anything else between `://` and `@`) hidden, for logs and
/// errors; several comma-separated URLs (a Redis Cluster) are each redacted.
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|one| match (one.find("://"), one.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…{}", &one[..scheme_end], &one[at..]),
            (None, Some(at)) => format!("…{}", &one[at..]),
            _ => one.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A size in bytes: `1048576`, `512KiB`, `1MiB`, `1GiB` (also `KB`, `MB`, `GB` as powers of 1024).
pub fn parse_bytes(value: &str) -> Result<u64, String> {
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| "must be a size such as 1048576, 512KiB or 1MiB".to_owned())
}

/// A whole number above 0.
pub fn parse_count(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "must be a whole number above 0".to_owned())
}

/// A share in basis points, 0 to 10,000 (a fee, a commission cap).
pub fn parse_bps(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|bps| *bps <= 10_000)
        .ok_or_else(|| "must be a whole number of basis points from 0 to 10000".to_owned())
}

/// "2s", "15m", "7d" and the like; zero is refused.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| "must be a duration such as 2s, 15m or 7d".to_owned())
}
