//! Pictures (product images, claim photos): an upload checked by its content, decoded under
//! limits, and stored once as three resized copies under keys made from its hash.
//!
//! Sizes, by the longest side, never enlarged: THUMBNAIL 200 px, MEDIUM 600 px, LARGE 1200 px.
//! Copies of an opaque picture are JPEG at quality 82 (a photo's right format; about a tenth of
//! PNG's size); a picture that uses transparency keeps it as PNG. The colour profile is kept,
//! and nothing else of the original: no EXIF, so no GPS position from a buyer's phone.
//!
//! Keys: `images/{h:2}/{h}/{width}x{height}.{jpg|png}`, `h` the first 128 bits of the original's
//! SHA-256 in hex. The same upload twice finds its copies stored and writes nothing.

mod decode;
pub mod demo;
pub mod graphql;

use std::sync::Arc;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{DynamicImage, ImageEncoder};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use decode::{ImageRejection, MAX_PIXELS, MAX_SIDE};

use super::storage::{BlobKey, BlobStore, MediaType, StorageError};

/// JPEG quality of the copies: no visible loss at these sizes.
const JPEG_QUALITY: u8 = 82;

/// The size of a stored copy, by its longest side: 200, 600 or 1200 px (`Image.url(size:)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ImageSize {
    Thumbnail,
    Medium,
    Large,
}

impl ImageSize {
    pub const ALL: [ImageSize; 3] = [ImageSize::Thumbnail, ImageSize::Medium, ImageSize::Large];

    /// The longest side of this copy, in pixels, unless the original is smaller.
    pub fn long_side(self) -> u32 {
        match self {
            ImageSize::Thumbnail => 200,
            ImageSize::Medium => 600,
            ImageSize::Large => 1200,
        }
    }

    /// The copy's size for an original of `width` × `height`: the same shape, its longest side
    /// at most [`long_side`](Self::long_side), at least one pixel either way.
    pub fn fit(self, width: u32, height: u32) -> (u32, u32) {
        let long = width.max(height);
        if long <= self.long_side() {
            return (width, height);
        }
        let scale = |side: u32| {
            let scaled = (u64::from(side) * u64::from(self.long_side()) + u64::from(long) / 2) / u64::from(long);
            u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
        };
        (scale(width), scale(height))
    }
}

/// One stored copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageCopy {
    pub size: ImageSize,
    pub key: BlobKey,
    pub width: u32,
    pub height: u32,
    pub media_type: MediaType,
}

/// An accepted picture: its identity and its three copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// The first 128 bits of the original's SHA-256, in hex: the same file, the same digest.
    pub digest: String,
    /// The original's size, upright.
    pub width: u32,
    pub height: u32,
    /// THUMBNAIL, MEDIUM and LARGE, in that order.
    pub copies: [ImageCopy; 3],
}

impl StoredImage {
    pub fn copy(&self, size: ImageSize) -> &ImageCopy {
        &self.copies[size as usize]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The upload's fault: `INVALID_IMAGE`.
    #[error(transparent)]
    Rejected(#[from] ImageRejection),
    /// Ours: the store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Turns uploads into stored copies. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ImageStore {
    blobs: BlobStore,
    /// Decoding takes up to 256 MiB and a core for a fraction of a second: this many at once.
    decoding: Arc<Semaphore>,
}

impl ImageStore {
    /// `at_once`: uploads decoded at the same time (the others wait their turn).
    pub fn new(blobs: BlobStore, at_once: usize) -> ImageStore {
        ImageStore {
            blobs,
            decoding: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Checks `upload`, makes its copies and stores those not stored yet.
    pub async fn store(&self, upload: Bytes) -> Result<StoredImage, ImageError> {
        let prepared = {
            let _turn = self.decoding.acquire().await;
            tokio::task::spawn_blocking(move || prepare(&upload))
                .await
                .unwrap_or_else(|panic| {
                    // A decoder bug met by a hostile file: the file is refused, the bug logged.
                    tracing::error!(?panic, "decoding a picture panicked");
                    Err(ImageRejection::Unreadable)
                })?
        };
        for (copy, bytes) in &prepared.encoded {
            if !self.blobs.exists(&copy.key).await? {
                self.blobs.put(&copy.key, bytes.clone()).await?;
            }
        }
        Ok(prepared.image)
    }
}

struct Prepared {
    image: StoredImage,
    /// Each distinct copy once (a small original makes the same copy for several sizes).
    encoded: Vec<(ImageCopy, Bytes)>,
}

/// The CPU part of [`ImageStore::store`]: decode, resize, encode.
fn prepare(upload: &[u8]) -> Result<Prepared, ImageRejection> {
    let hash = Sha256::digest(upload);
    let digest = hex::encode(&hash[..16]);
    let decode::Decoded { image, icc_profile } = decode::decode(upload)?;
    let (width, height) = (image.width(), image.height());
    let (mut source, media_type, encode): (DynamicImage, MediaType, Encoder) = if uses_transparency(&image) {
        (DynamicImage::ImageRgba8(image.into_rgba8()), MediaType::Png, encode_png)
    } else {
        (DynamicImage::ImageRgb8(image.into_rgb8()), MediaType::Jpeg, encode_jpeg)
    };
    let mut encoded: Vec<(ImageCopy, Bytes)> = Vec::new();
    // Largest first, each from the one before: far less work than each from the original.
    let mut make = |size: ImageSize| -> Result<ImageCopy, ImageRejection> {
        let (copy_width, copy_height) = size.fit(width, height);
        let name = format!(
            "images/{}/{digest}/{copy_width}x{copy_height}.{}",
            &digest[..2],
            media_type.extension()
        );
        let copy = ImageCopy {
            size,
            key: BlobKey::parse(&name).map_err(|_| ImageRejection::Unreadable)?,
            width: copy_width,
            height: copy_height,
            media_type,
        };
        if !encoded.iter().any(|(done, _)| done.key == copy.key) {
            if (source.width(), source.height()) != (copy_width, copy_height) {
                source = source.resize_exact(copy_width, copy_height, FilterType::Lanczos3);
            }
            encoded.push((copy.clone(), encode(&source, icc_profile.as_deref())?));
        }
        Ok(copy)
    };
    let large = make(ImageSize::Large)?;
    let medium = make(ImageSize::Medium)?;
    let thumbnail = make(ImageSize::Thumbnail)?;
    Ok(Prepared {
        image: StoredImage {
            digest,
            width,
            height,
            copies: [thumbnail, medium, large],
        },
        encoded,
    })
}

/// Whether any pixel is less than opaque (a PNG may carry an alpha channel it never uses).
fn uses_transparency(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(pixels) => pixels.pixels().any(|p| p.0[1] < u8::MAX),
        DynamicImage::ImageRgba8(pixels) => pixels.pixels().any(|p| p.0[3] < u8::MAX),
        other if other.color().has_alpha() => other.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX),
        _ => false,
    }
}

type Encoder = fn(&DynamicImage, Option<&[u8]>) -> Result<Bytes, ImageRejection>;

fn encode_jpeg(image: &DynamicImage, icc_profile: Option<&[u8]>) -> Result<Bytes, ImageRejection> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    // A profile the encoder refuses is left out: the colours are then read as sRGB.
    if let Some(profile) = icc_profile {
        let _ = encoder.set_icc_profile(profile.to_vec());
    }
    encoder
        .write_image(image.as_bytes(), image.width(), image.height(), image.color().into())
        .map_err(|_| ImageRejection::Unreadable)?;
    Ok(out.into())
}

fn encode_png(image: &DynamicImage, icc_profile: Option<&[u8]>) -> Result<Bytes, ImageRejection> {
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Default, PngFilter::Adaptive);
    if let Some(profile) = icc_profile {
        let _ = encoder.set_icc_profile(profile.to_vec());
    }
    encoder
        .write_image(image.as_bytes(), image.width(), image.height(), image.color().into())
        .map_err(|_| ImageRejection::Unreadable)?;
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_the_shape_and_are_never_enlarged() {
        assert_eq!(ImageSize::Large.fit(3000, 2000), (1200, 800));
        assert_eq!(ImageSize::Medium.fit(2000, 3000), (400, 600));
        assert_eq!(ImageSize::Thumbnail.fit(3000, 2000), (200, 133));
        assert_eq!(ImageSize::Large.fit(800, 600), (800, 600));
        assert_eq!(ImageSize::Thumbnail.fit(10_000, 3), (200, 1));
    }
}
