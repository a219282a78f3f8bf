//! Where media is kept and how large an upload may be, read from the environment. A bad value
//! is one line naming the variable, as the rest of the configuration does.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `HUAKAI_MEDIA_DIR` | the local folder | `media` (beside the working directory) |
//! | `HUAKAI_S3_BUCKET` | a bucket instead of the folder | unset: the folder |
//! | `HUAKAI_S3_ENDPOINT` | `https://s3.oss-cn-hangzhou.aliyuncs.com`, `https://cos.ap-guangzhou.myqcloud.com`, … | AWS |
//! | `HUAKAI_S3_REGION` | the region the requests are signed for | `us-east-1` |
//! | `HUAKAI_S3_ACCESS_KEY_ID`, `HUAKAI_S3_SECRET_ACCESS_KEY` | both or neither (neither: the machine's role) | — |
//! | `HUAKAI_S3_PATH_STYLE` | `on`: `endpoint/bucket/key` (MinIO); `off`: `bucket.endpoint/key` (AWS, OSS, COS) | `off` |
//! | `HUAKAI_MAX_UPLOAD` | largest upload; larger answers 413 | `8MiB` |

use std::path::PathBuf;

/// The media folder when neither it nor a bucket is configured.
pub const DEFAULT_MEDIA_DIR: &str = "media";

const DEFAULT_MAX_UPLOAD: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem} (got {value:?})")]
pub struct SettingError {
    name: &'static str,
    value: String,
    problem: &'static str,
}

/// The app's configuration reports it like any other bad setting.
impl From<SettingError> for crate::infra::settings::ConfigError {
    fn from(problem: SettingError) -> Self {
        crate::infra::settings::error(problem.name, &problem.value, problem.problem)
    }
}

fn error(name: &'static str, value: &str, problem: &'static str) -> SettingError {
    SettingError {
        name,
        value: value.to_owned(),
        problem,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSettings {
    pub storage: StorageSettings,
    /// Bytes an upload request may carry.
    pub max_upload_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageSettings {
    Local { folder: PathBuf },
    S3(S3Settings),
}

#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Unset: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    pub path_style: bool,
    /// Unset: the credentials of the machine's role (AWS only).
    pub credentials: Option<S3Credentials>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The secret never reaches a log.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field(
                "access_key_id",
                &self.credentials.as_ref().map(|c| c.access_key_id.as_str()),
            )
            .finish()
    }
}

impl MediaSettings {
    pub fn from_env() -> Result<MediaSettings, SettingError> {
        MediaSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests configure without the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<MediaSettings, SettingError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let max_upload_bytes = match get("HUAKAI_MAX_UPLOAD") {
            None => DEFAULT_MAX_UPLOAD,
            Some(value) => parse_bytes(&value)
                .ok_or_else(|| error("HUAKAI_MAX_UPLOAD", &value, "must be a size such as 8MiB or 512KiB"))?,
        };
        let storage = match (get("HUAKAI_S3_BUCKET"), get("HUAKAI_MEDIA_DIR")) {
            (Some(_), Some(folder)) => {
                return Err(error(
                    "HUAKAI_MEDIA_DIR",
                    &folder,
                    "is not used with HUAKAI_S3_BUCKET: unset one of them",
                ));
            }
            (None, folder) => StorageSettings::Local {
                folder: PathBuf::from(folder.as_deref().unwrap_or(DEFAULT_MEDIA_DIR)),
            },
            (Some(bucket), None) => StorageSettings::S3(s3_settings(bucket, &get)?),
        };
        Ok(MediaSettings {
            storage,
            max_upload_bytes,
        })
    }
}

fn s3_settings(bucket: String, get: &impl Fn(&str) -> Option<String>) -> Result<S3Settings, SettingError> {
    // S3's bucket naming rules (OSS's and COS's are the same or narrower).
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !valid_bucket {
        return Err(error(
            "HUAKAI_S3_BUCKET",
            &bucket,
            "must be 3 to 63 lower-case letters, digits, dots or dashes",
        ));
    }
    let endpoint = match get("HUAKAI_S3_ENDPOINT") {
        None => None,
        Some(endpoint) => match url::Url::parse(&endpoint) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.username().is_empty()
                    && url.password().is_none() =>
            {
                Some(endpoint.trim_end_matches('/').to_owned())
            }
            _ => {
                return Err(error(
                    "HUAKAI_S3_ENDPOINT",
                    &endpoint,
                    "must be an http(s) URL without credentials, such as https://s3.oss-cn-hangzhou.aliyuncs.com",
                ));
            }
        },
    };
    let credentials = match (get("HUAKAI_S3_ACCESS_KEY_ID"), get("HUAKAI_S3_SECRET_ACCESS_KEY")) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(error(
                "HUAKAI_S3_SECRET_ACCESS_KEY",
                "",
                "is needed with HUAKAI_S3_ACCESS_KEY_ID",
            ));
        }
        (None, Some(_)) => {
            return Err(error(
                "HUAKAI_S3_ACCESS_KEY_ID",
                "",
                "is needed with HUAKAI_S3_SECRET_ACCESS_KEY",
            ));
        }
        (Some(access_key_id), Some(secret_access_key)) => Some(S3Credentials {
            access_key_id,
            secret_access_key,
        }),
    };
    let path_style = match get("HUAKAI_S3_PATH_STYLE").as_deref() {
        None | Some("off") => false,
        Some("on") => true,
        Some(other) => return Err(error("HUAKAI_S3_PATH_STYLE", other, "must be on or off")),
    };
    Ok(S3Settings {
        bucket,
        endpoint,
        region: get("HUAKAI_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        path_style,
        credentials,
    })
}

/// `8388608`, `512KiB`, `8MiB`, `1GiB` (`KB`, `MB`, `GB` count in 1024s too), above zero.
fn parse_bytes(value: &str) -> Option<usize> {
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|bytes| *bytes > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<MediaSettings, SettingError> {
        MediaSettings::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn the_default_is_a_media_folder_and_8_mib() {
        let defaults = settings(&[]).expect("valid");
        assert_eq!(
            defaults.storage,
            StorageSettings::Local {
                folder: PathBuf::from("media")
            }
        );
        assert_eq!(defaults.max_upload_bytes, 8 * 1024 * 1024);
        assert_eq!(
            settings(&[("HUAKAI_MAX_UPLOAD", "512KiB")])
                .expect("valid")
                .max_upload_bytes,
            512 * 1024
        );
    }

    #[test]
    fn a_bucket_replaces_the_folder() {
        let oss = settings(&[
            ("HUAKAI_S3_BUCKET", "huakai-media"),
            ("HUAKAI_S3_ENDPOINT", "https://s3.oss-cn-hangzhou.aliyuncs.com/"),
            ("HUAKAI_S3_REGION", "cn-hangzhou"),
            ("HUAKAI_S3_ACCESS_KEY_ID", "LTAIexample"),
            ("HUAKAI_S3_SECRET_ACCESS_KEY", "hunter2-secret"),
        ])
        .expect("valid");
        let StorageSettings::S3(s3) = &oss.storage else {
            panic!("a bucket: {oss:?}");
        };
        assert_eq!(s3.endpoint.as_deref(), Some("https://s3.oss-cn-hangzhou.aliyuncs.com"));
        assert_eq!(s3.region, "cn-hangzhou");
        assert!(!s3.path_style);
        assert!(
            !format!("{oss:?}").contains("hunter2"),
            "the secret is in the debug output"
        );
    }

    #[test]
    fn a_bad_setting_is_one_line_naming_the_variable() {
        for (pairs, name) in [
            (vec![("HUAKAI_MAX_UPLOAD", "lots")], "HUAKAI_MAX_UPLOAD"),
            (vec![("HUAKAI_MAX_UPLOAD", "0")], "HUAKAI_MAX_UPLOAD"),
            (vec![("HUAKAI_S3_BUCKET", "Huakai_Media")], "HUAKAI_S3_BUCKET"),
            (
                vec![("HUAKAI_S3_BUCKET", "media"), ("HUAKAI_MEDIA_DIR", "/srv/media")],
                "HUAKAI_MEDIA_DIR",
            ),
            (
                vec![("HUAKAI_S3_BUCKET", "media"), ("HUAKAI_S3_ENDPOINT", "oss-cn-hangzhou")],
                "HUAKAI_S3_ENDPOINT",
            ),
            (
                vec![("HUAKAI_S3_BUCKET", "media"), ("HUAKAI_S3_ACCESS_KEY_ID", "AKID")],
                "HUAKAI_S3_SECRET_ACCESS_KEY",
            ),
            (
                vec![("HUAKAI_S3_BUCKET", "media"), ("HUAKAI_S3_PATH_STYLE", "yes")],
                "HUAKAI_S3_PATH_STYLE",
            ),
        ] {
            let message = settings(&pairs).expect_err("invalid").to_string();
            assert!(message.starts_with(&format!("{name}: ")), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
