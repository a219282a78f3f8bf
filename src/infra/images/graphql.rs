//! The contract's `Image`: a stored picture's size and where each of its copies is served.

use async_graphql::Object;

use super::ImageSize;
use crate::infra::storage::BlobKey;

/// A stored picture as the API shows it; its copies are served by `GET /media/{key}`.
pub struct Image {
    /// The original's size, upright.
    pub width: u32,
    pub height: u32,
    /// THUMBNAIL, MEDIUM and LARGE, in that order.
    pub keys: [BlobKey; 3],
    pub alt: Option<String>,
}

#[Object]
impl Image {
    /// The copy of that size (the picture's shape, its longest side at most 200, 600 or
    /// 1200 px), as a path on this server.
    async fn url(&self, #[graphql(default_with = "ImageSize::Medium")] size: ImageSize) -> String {
        format!("/media/{}", self.keys[size as usize])
    }

    async fn width(&self) -> u32 {
        self.width
    }

    async fn height(&self) -> u32 {
        self.height
    }

    async fn alt(&self) -> Option<&str> {
        self.alt.as_deref()
    }
}
