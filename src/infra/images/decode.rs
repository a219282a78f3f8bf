//! An upload judged by its content: its first bytes must be a JPEG, PNG or WebP signature
//! (the file's name and the type the client claims are never asked), and then it must decode
//! in full, within limits that stop a small file from unpacking into gigabytes.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::infra::error_code::ErrorCode;
use crate::infra::i18n::Message;

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 10_000;
/// Pixels accepted in all (a 48-megapixel phone photo is over; 40 MP is 8000 × 5000).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Memory the decoder may take: 40 MP of 8-bit RGBA is 160 MB, and 16-bit RGB 240 MB.
const MAX_DECODER_BYTES: u64 = 256 << 20;

/// Why an upload is not taken: each is `INVALID_IMAGE` for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejection {
    #[error("not a JPEG, PNG or WebP picture")]
    NotAccepted,
    #[error("the picture does not decode")]
    Unreadable,
    #[error("the picture is over the size limits")]
    TooLarge,
}

impl ImageRejection {
    /// The code the API answers with.
    pub const CODE: ErrorCode = ErrorCode::InvalidImage;

    /// What the uploader is told.
    pub fn message(self) -> Message {
        match self {
            ImageRejection::NotAccepted => Message::new("image-not-accepted"),
            ImageRejection::Unreadable => Message::new("image-unreadable"),
            ImageRejection::TooLarge => Message::new("image-too-large")
                .with("max", MAX_SIDE)
                .with("megapixels", MAX_PIXELS / 1_000_000),
        }
    }
}

/// A decoded upload, turned upright.
pub struct Decoded {
    pub image: DynamicImage,
    /// Its colour profile, kept so that a wide-gamut phone photo keeps its colours.
    pub icc_profile: Option<Vec<u8>>,
}

pub fn decode(bytes: &[u8]) -> Result<Decoded, ImageRejection> {
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => format,
        _ => return Err(ImageRejection::NotAccepted),
    };
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImageRejection::Unreadable);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODER_BYTES);
    reader.limits(limits);
    // Only the headers are read here: the size is known before any pixel is.
    let mut decoder = reader.into_decoder().map_err(rejection)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS || decoder.total_bytes() > MAX_DECODER_BYTES {
        return Err(ImageRejection::TooLarge);
    }
    if width == 0 || height == 0 {
        return Err(ImageRejection::Unreadable);
    }
    // Phones store photos sideways with an EXIF note to turn them; the copies carry no EXIF,
    // so they are turned now.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc_profile = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(rejection)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, icc_profile })
}

fn rejection(error: image::ImageError) -> ImageRejection {
    match error {
        image::ImageError::Limits(_) => ImageRejection::TooLarge,
        // A truncated file, a corrupt stream, or a variant of the format the decoder lacks.
        _ => ImageRejection::Unreadable,
    }
}

/// Whether a JPEG's picture runs to its end marker. The JPEG decoder paints a cut-off picture
/// grey where the data stops rather than fail, so a half-uploaded photo would pass. Segments
/// are walked by their lengths (an EXIF thumbnail inside one has end markers of its own), and
/// the compressed data by its markers (a 0xFF in it is always followed by 0x00 or a restart).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2;
    let mut in_scan = false;
    loop {
        if in_scan {
            loop {
                let Some(offset) = bytes.get(at..).and_then(|rest| rest.iter().position(|&b| b == 0xFF)) else {
                    return false;
                };
                at += offset;
                match bytes.get(at + 1) {
                    None => return false,
                    Some(0x00 | 0xD0..=0xD7 | 0xFF) => at += 1,
                    Some(_) => break,
                }
            }
        }
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return false;
        };
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let Some(&[high, low]) = bytes.get(at + 2..at + 4) else {
                    return false;
                };
                at += 2 + usize::from(u16::from_be_bytes([high, low]));
                in_scan = marker == 0xDA;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small JPEG; with `end_markers_in_a_segment`, a comment holding end-of-image bytes comes
    /// first, as an EXIF thumbnail's would.
    fn jpeg(end_markers_in_a_segment: bool) -> Vec<u8> {
        let pixels = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 0xFF]));
        let mut encoded = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 90)
            .encode_image(&pixels)
            .expect("encodes");
        if !end_markers_in_a_segment {
            return encoded;
        }
        let mut with_comment = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
        with_comment.extend_from_slice(&encoded[2..]);
        with_comment
    }

    #[test]
    fn a_jpeg_is_complete_only_up_to_its_end_marker() {
        for whole in [jpeg(false), jpeg(true)] {
            assert!(jpeg_is_complete(&whole));
            let mut trailer = whole.clone();
            trailer.extend_from_slice(b"camera trailer");
            assert!(
                jpeg_is_complete(&trailer),
                "bytes after the end are a camera's business"
            );
            for cut in 3..whole.len() - 1 {
                assert!(!jpeg_is_complete(&whole[..cut]), "cut at {cut} of {}", whole.len());
            }
        }
    }
}
