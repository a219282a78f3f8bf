//! Pictures for the demo catalogue, drawn from a seed (a product's slug): a sky-to-ground
//! gradient, a round fruit with a highlight and a leaf, in colours the seed chooses. The same
//! seed always draws the same picture; nothing is downloaded and no font is needed.

use image::{ImageEncoder, Rgb, RgbImage};
use sha2::{Digest, Sha256};

pub const DEMO_WIDTH: u32 = 800;
pub const DEMO_HEIGHT: u32 = 600;

/// A PNG of [`DEMO_WIDTH`] × [`DEMO_HEIGHT`] for `seed`, to be stored like any upload.
pub fn demo_picture(seed: &str) -> Vec<u8> {
    let hash = Sha256::digest(seed.as_bytes());
    let unit = |i: usize| f32::from(hash[i]) / 255.0;
    let fruit_hue = unit(0) * 360.0;
    let background_hue = (fruit_hue + 150.0 + unit(1) * 60.0) % 360.0;
    let (cx, cy) = (0.35 + unit(2) * 0.3, 0.45 + unit(3) * 0.15);
    let radius = 0.22 + unit(4) * 0.1;
    let leaf_angle = unit(5) * std::f32::consts::PI;
    let stripes = 3.0 + (unit(6) * 5.0).floor();
    let (w, h) = (DEMO_WIDTH as f32, DEMO_HEIGHT as f32);

    let picture = RgbImage::from_fn(DEMO_WIDTH, DEMO_HEIGHT, |px, py| {
        // Coordinates in heights, so circles stay round on a wide picture.
        let (x, y) = (px as f32 / h, py as f32 / h);
        let (fx, fy) = (x - cx * w / h, y - cy);
        let distance = (fx * fx + fy * fy).sqrt() / radius;
        let (lx, ly) = (fx - radius * 0.2, fy + radius * 1.05);
        let (along, across) = (
            lx * leaf_angle.cos() + ly * leaf_angle.sin(),
            -lx * leaf_angle.sin() + ly * leaf_angle.cos(),
        );
        let in_leaf = (along / (radius * 0.55)).powi(2) + (across / (radius * 0.22)).powi(2) < 1.0;
        if distance < 1.0 {
            // Lit from the upper left: lighter towards the highlight, darker at the rim.
            let highlight = ((fx + radius * 0.35).powi(2) + (fy + radius * 0.35).powi(2)).sqrt() / radius;
            let lightness = 0.62 - 0.25 * distance.powi(3) + 0.25 * (1.0 - highlight).max(0.0).powi(2);
            hsl(fruit_hue, 0.7, lightness)
        } else if in_leaf {
            hsl(110.0 + unit(7) * 30.0, 0.55, 0.35 + 0.1 * (across / radius).abs())
        } else {
            let band = ((y * stripes).fract() < 0.5) as u8 as f32;
            hsl(background_hue, 0.35, 0.86 - 0.18 * y + 0.03 * band)
        }
    });
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            picture.as_raw(),
            DEMO_WIDTH,
            DEMO_HEIGHT,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap_or_else(|error| unreachable!("a PNG of a valid buffer into memory cannot fail: {error}"));
    png
}

/// A colour from hue (degrees), saturation and lightness (0 to 1).
fn hsl(hue: f32, saturation: f32, lightness: f32) -> Rgb<u8> {
    let lightness = lightness.clamp(0.0, 1.0);
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = (hue.rem_euclid(360.0)) / 60.0;
    let second = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, second, 0.0),
        1 => (second, chroma, 0.0),
        2 => (0.0, chroma, second),
        3 => (0.0, second, chroma),
        4 => (second, 0.0, chroma),
        _ => (chroma, 0.0, second),
    };
    let base = lightness - chroma / 2.0;
    let channel = |value: f32| ((value + base) * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgb([channel(r), channel(g), channel(b)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_draws_the_same_picture_and_seeds_differ() {
        let crayfish = demo_picture("crayfish");
        assert_eq!(crayfish, demo_picture("crayfish"));
        assert_ne!(crayfish, demo_picture("lily-bulbs"));
        let decoded = image::load_from_memory(&crayfish).expect("a PNG");
        assert_eq!((decoded.width(), decoded.height()), (DEMO_WIDTH, DEMO_HEIGHT));
    }

    #[test]
    fn hues_turn_into_their_colours() {
        assert_eq!(hsl(0.0, 1.0, 0.5), Rgb([255, 0, 0]));
        assert_eq!(hsl(120.0, 1.0, 0.5), Rgb([0, 255, 0]));
        assert_eq!(hsl(240.0, 1.0, 0.5), Rgb([0, 0, 255]));
        assert_eq!(hsl(0.0, 0.0, 1.0), Rgb([255, 255, 255]));
    }
}
