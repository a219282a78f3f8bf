//! How long an upload takes to become its three stored copies, and how large they are.
//!
//!     cargo run --release --example media_resize -- PHOTO.jpg [RUNS]
//!
//! The photo is first made a 3000 × 2000 JPEG at quality 90 (the middle cut to 3:2, scaled),
//! as a phone's would be; then each run stores it in a fresh folder (so nothing is found
//! stored already), through the same `ImageStore::store` the API calls.

use std::time::{Duration, Instant};

use huakai::infra::images::{ImageSize, ImageStore};
use huakai::infra::storage::BlobStore;
use image::imageops::FilterType;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: media_resize PHOTO.jpg [RUNS]"))?;
    let runs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(7);

    let photo = image::open(&path)?;
    let (width, height) = (photo.width(), photo.height());
    let (cut_width, cut_height) = if width * 2 > height * 3 {
        (height * 3 / 2, height)
    } else {
        (width, width * 2 / 3)
    };
    let cut = photo.crop_imm(
        (width - cut_width) / 2,
        (height - cut_height) / 2,
        cut_width,
        cut_height,
    );
    let camera = cut.resize_exact(3000, 2000, FilterType::Lanczos3).into_rgb8();
    let mut upload = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut upload, 90).encode_image(&camera)?;
    println!(
        "upload: 3000x2000 JPEG, {} KiB (from {path}, {width}x{height})",
        upload.len() / 1024
    );

    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let folder = tempfile::tempdir()?;
        let images = ImageStore::new(BlobStore::local(folder.path())?, 1);
        let started = Instant::now();
        let stored = images.store(upload.clone().into()).await?;
        times.push(started.elapsed());
        if times.len() == 1 {
            for size in ImageSize::ALL {
                let copy = stored.copy(size);
                let bytes = std::fs::metadata(folder.path().join(copy.key.as_str()))?.len();
                println!(
                    "{size:?}: {}x{} {}, {} KiB",
                    copy.width,
                    copy.height,
                    copy.media_type.mime(),
                    bytes / 1024
                );
            }
        }
    }
    times.sort();
    println!(
        "store (decode, 3 resizes, 3 encodes, 3 writes), {runs} runs: min {:.0} ms, median {:.0} ms, max {:.0} ms",
        times[0].as_secs_f64() * 1000.0,
        times[runs / 2].as_secs_f64() * 1000.0,
        times[runs - 1].as_secs_f64() * 1000.0
    );
    Ok(())
}
