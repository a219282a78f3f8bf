//! Immutable media blobs (product and claim pictures) in a local folder, the embedded default,
//! or an S3-compatible bucket (AWS, Aliyun OSS, Tencent COS, MinIO) for several replicas.
//!
//! Both are `object_store` stores behind one [`BlobStore`]. A blob is written once under a
//! key derived from its content and never changed, so it can be cached for a year. Its type
//! is part of its key (`….jpg`, `….png`, `….webp`): a local folder keeps no metadata, and
//! this way both stores always agree on it, and the media route never serves a type it does
//! not know (no HTML or script from a bucket).

pub mod http;
mod settings;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions, RetryConfig};

pub use settings::{MediaSettings, S3Settings, SettingError, StorageSettings};

/// The types a blob can have, named by its key's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
}

impl MediaType {
    /// The `Content-Type` it is served with.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::Webp => "webp",
        }
    }

    fn from_extension(extension: &str) -> Option<MediaType> {
        [MediaType::Jpeg, MediaType::Png, MediaType::Webp]
            .into_iter()
            .find(|media_type| media_type.extension() == extension)
    }
}

/// Longest key accepted (S3 allows 1024 bytes; ours are about 60).
const MAX_KEY_LENGTH: usize = 256;

/// Where a blob lives: `/`-separated segments of lower-case letters, digits, `-`, `_` and `.`,
/// none empty or starting with a dot (so no `..`, no hidden files, no absolute path), ending in
/// a known extension. A key that parses is safe to join to a folder and to put in a URL as is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobKey {
    text: String,
    media_type: MediaType,
}

impl BlobKey {
    pub fn parse(text: &str) -> Result<BlobKey, StorageError> {
        let invalid = || StorageError::InvalidKey(text.chars().take(MAX_KEY_LENGTH).collect());
        if text.is_empty() || text.len() > MAX_KEY_LENGTH {
            return Err(invalid());
        }
        let safe_segment = |segment: &str| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !text.split('/').all(safe_segment) {
            return Err(invalid());
        }
        let media_type = text
            .rsplit_once('.')
            .and_then(|(_, extension)| MediaType::from_extension(extension))
            .ok_or_else(invalid)?;
        Ok(BlobKey {
            text: text.to_owned(),
            media_type,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    fn path(&self) -> object_store::path::Path {
        // Every segment is already in the path's alphabet: this never re-encodes anything.
        object_store::path::Path::from(self.text.as_str())
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not a media key: {0:?}")]
    InvalidKey(String),
    #[error("media folder {folder}: {source}")]
    Folder { folder: String, source: std::io::Error },
    #[error("media store: {0}")]
    Backend(#[from] object_store::Error),
}

/// A blob being read: its type and size, and its bytes as they arrive.
pub struct Blob {
    pub media_type: MediaType,
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

impl Blob {
    /// All of it in memory (blobs are pictures of a few hundred KiB).
    pub async fn bytes(self) -> Result<Bytes, StorageError> {
        use futures_util::TryStreamExt;
        let parts: Vec<Bytes> = self.stream.try_collect().await?;
        Ok(parts.concat().into())
    }
}

/// The media store. Cheap to clone; every replica of the shop must see the same one (a shared
/// bucket, or one folder on one machine).
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Whether the store keeps a `Content-Type` beside each blob (a bucket does, for a CDN
    /// that serves it directly; a folder does not).
    keeps_content_type: bool,
    description: Arc<str>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl BlobStore {
    pub fn open(settings: &StorageSettings) -> Result<BlobStore, StorageError> {
        match settings {
            StorageSettings::Local { folder } => BlobStore::local(folder),
            StorageSettings::S3(s3) => BlobStore::s3(s3),
        }
    }

    /// A folder, created when missing. Writes land in a temporary file renamed into place, so
    /// a reader never sees half a picture.
    pub fn local(folder: &Path) -> Result<BlobStore, StorageError> {
        let folder_error = |source| StorageError::Folder {
            folder: folder.display().to_string(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(folder_error)?;
        let folder = folder.canonicalize().map_err(folder_error)?;
        Ok(BlobStore {
            store: Arc::new(LocalFileSystem::new_with_prefix(&folder)?),
            keeps_content_type: false,
            description: format!("local folder {}", folder.display()).into(),
        })
    }

    /// A bucket. Nothing is sent until the first call: a wrong key or bucket shows there.
    pub fn s3(settings: &S3Settings) -> Result<BlobStore, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            // A picture request waits on this: a few quick retries, not object_store's minutes.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(30)),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(credentials) = &settings.credentials {
            builder = builder
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(&credentials.secret_access_key);
        }
        let at = settings.endpoint.as_deref().unwrap_or("AWS");
        Ok(BlobStore {
            store: Arc::new(builder.build()?),
            keeps_content_type: true,
            description: format!("bucket {} at {at}", settings.bucket).into(),
        })
    }

    /// Writes `bytes` under `key`, typed by the key's extension. Writing a key again replaces
    /// it: callers derive keys from content, so the same key always means the same bytes.
    pub async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), StorageError> {
        let mut attributes = Attributes::new();
        if self.keeps_content_type {
            attributes.insert(Attribute::ContentType, key.media_type().mime().into());
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store.put_opts(&key.path(), bytes.into(), options).await?;
        Ok(())
    }

    /// The blob under `key`, or `None` when there is none.
    pub async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, StorageError> {
        match self.store.get(&key.path()).await {
            Ok(found) => Ok(Some(Blob {
                media_type: key.media_type(),
                size: found.meta.size,
                stream: found.into_stream(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn exists(&self, key: &BlobKey) -> Result<bool, StorageError> {
        match self.store.head(&key.path()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes the blob; removing one that is not there is no error.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        match self.store.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_plain_relative_paths_with_a_known_type() {
        let key = BlobKey::parse("images/ab/abcdef/600x400.jpg").expect("a key");
        assert_eq!(key.media_type(), MediaType::Jpeg);
        assert_eq!(BlobKey::parse("a.webp").expect("a key").media_type(), MediaType::Webp);
        for bad in [
            "",
            "../etc/passwd.png",
            "images/../../secret.png",
            "/etc/x.png",
            "images//x.png",
            "images/.hidden.png",
            "images\\x.png",
            "images/%2e%2e/x.png",
            "images/X.png",
            "images/x.html",
            "images/x",
            "images/x.png/",
            "图片.png",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(BlobKey::parse(&format!("{}.png", "a".repeat(300))).is_err());
    }
}
