//! Media: blobs in a local folder and in a real S3-compatible server (s3rver) through one
//! interface; uploads judged by content, resized into three copies, stored once; the media
//! route's types, caching, 404s and path tricks; and the 413 of the upload guard.

use std::path::Path;

use bytes::Bytes;
use huakai::infra::images::demo::demo_picture;
use huakai::infra::images::{ImageError, ImageRejection, ImageSize, ImageStore, StoredImage};
use huakai::infra::storage::http::{BodyCaps, cap_bodies, media_routes};
use huakai::infra::storage::{BlobKey, BlobStore, MediaSettings, MediaType};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::s3::TestS3;

/// A store in a fresh folder (kept by the returned guard).
fn local_store() -> (BlobStore, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("a folder");
    let store = BlobStore::local(&folder.path().join("media")).expect("the folder store opens");
    (store, folder)
}

/// A store on a fresh s3rver, configured as an operator would (`HUAKAI_S3_*`).
fn s3_store(server: &TestS3) -> BlobStore {
    let settings = server.settings();
    let media = MediaSettings::from_lookup(|name| settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .expect("the bucket settings are valid");
    BlobStore::open(&media.storage).expect("the bucket store opens")
}

/// A photo-like picture: smooth colours with some texture, as a camera's would be.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let texture = ((x * 7 + y * 13) % 17) as u8;
        Rgb([
            (x * 255 / width) as u8 ^ texture,
            (y * 255 / height) as u8,
            128 + texture,
        ])
    })
}

fn encoded(image: DynamicImage, format: ImageFormat) -> Bytes {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner().into()
}

fn jpeg(width: u32, height: u32) -> Bytes {
    encoded(DynamicImage::ImageRgb8(photo(width, height)), ImageFormat::Jpeg)
}

/// A PNG whose left half is see-through.
fn transparent_png(width: u32, height: u32) -> Bytes {
    let pixels = RgbaImage::from_fn(width, height, |x, _| {
        Rgba([200, 30, 30, if x < width / 2 { 0 } else { 255 }])
    });
    encoded(DynamicImage::ImageRgba8(pixels), ImageFormat::Png)
}

/// The stored copy's bytes, decoded, with the format they turned out to be.
async fn stored_copy(store: &BlobStore, key: &BlobKey) -> (ImageFormat, DynamicImage) {
    let blob = store
        .get(key)
        .await
        .expect("the store answers")
        .expect("the copy is stored");
    let bytes = blob.bytes().await.expect("read");
    let format = image::guess_format(&bytes).expect("a picture");
    (format, image::load_from_memory(&bytes).expect("decodes"))
}

fn files_under(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn round_trip(store: &BlobStore) {
    let key = BlobKey::parse("tests/round-trip/picture.png").expect("a key");
    assert!(!store.exists(&key).await.expect("exists"));
    assert!(store.get(&key).await.expect("get").is_none(), "a missing blob is None");
    let bytes = Bytes::from_static(b"\x89PNG\r\n\x1a\n not really the rest of a png");
    store.put(&key, bytes.clone()).await.expect("put");
    assert!(store.exists(&key).await.expect("exists"));
    let blob = store.get(&key).await.expect("get").expect("stored");
    assert_eq!(blob.media_type, MediaType::Png);
    assert_eq!(blob.size, bytes.len() as u64);
    assert_eq!(blob.bytes().await.expect("read"), bytes);
    store.delete(&key).await.expect("delete");
    assert!(!store.exists(&key).await.expect("exists"));
    store.delete(&key).await.expect("deleting a missing blob is no error");
}

#[tokio::test]
async fn local_folder_and_s3_bucket_keep_blobs_through_one_interface() {
    let (local, _folder) = local_store();
    round_trip(&local).await;
    let Some(server) = TestS3::start() else { return };
    round_trip(&s3_store(&server)).await;
}

async fn check_three_sizes(
    images: &ImageStore,
    upload: Bytes,
    original: (u32, u32),
    expected: [(u32, u32); 3],
    kind: MediaType,
) -> StoredImage {
    let stored = images.store(upload).await.expect("accepted");
    assert_eq!((stored.width, stored.height), original);
    for (size, (width, height)) in ImageSize::ALL.into_iter().zip(expected) {
        let copy = stored.copy(size);
        assert_eq!(copy.size, size);
        assert_eq!((copy.width, copy.height), (width, height), "{size:?}");
        assert_eq!(copy.media_type, kind);
        assert!(
            copy.key
                .as_str()
                .starts_with(&format!("images/{}/{}/", &stored.digest[..2], stored.digest))
        );
        let (format, picture) = stored_copy(images.blobs(), &copy.key).await;
        assert_eq!(
            (picture.width(), picture.height()),
            (width, height),
            "{size:?} as stored"
        );
        let expected_format = if kind == MediaType::Png {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        };
        assert_eq!(format, expected_format);
    }
    stored
}

#[tokio::test]
async fn each_accepted_format_makes_three_copies_of_the_right_size() {
    let (blobs, _folder) = local_store();
    let images = ImageStore::new(blobs, 2);
    let landscape = [(200, 133), (600, 400), (1200, 800)];
    check_three_sizes(&images, jpeg(3000, 2000), (3000, 2000), landscape, MediaType::Jpeg).await;
    let portrait = encoded(DynamicImage::ImageRgb8(photo(1500, 2400)), ImageFormat::Png);
    check_three_sizes(
        &images,
        portrait,
        (1500, 2400),
        [(125, 200), (375, 600), (750, 1200)],
        MediaType::Jpeg,
    )
    .await;
    let webp = encoded(DynamicImage::ImageRgb8(photo(1800, 1200)), ImageFormat::WebP);
    check_three_sizes(&images, webp, (1800, 1200), landscape, MediaType::Jpeg).await;
    // Transparency is kept, as PNG; and a small picture is never enlarged.
    let stored = check_three_sizes(
        &images,
        transparent_png(900, 300),
        (900, 300),
        [(200, 67), (600, 200), (900, 300)],
        MediaType::Png,
    )
    .await;
    let (_, thumbnail) = stored_copy(images.blobs(), &stored.copy(ImageSize::Thumbnail).key).await;
    assert_eq!(
        thumbnail.to_rgba8().get_pixel(5, 30).0[3],
        0,
        "the left half stays see-through"
    );
    assert_eq!(thumbnail.to_rgba8().get_pixel(195, 30).0[3], 255);
    let tiny = check_three_sizes(&images, jpeg(150, 100), (150, 100), [(150, 100); 3], MediaType::Jpeg).await;
    assert_eq!(
        tiny.copy(ImageSize::Thumbnail).key,
        tiny.copy(ImageSize::Large).key,
        "one copy serves all three"
    );
}

#[tokio::test]
async fn the_same_upload_twice_is_stored_once() {
    let folder = tempfile::tempdir().expect("a folder");
    let images = ImageStore::new(BlobStore::local(folder.path()).expect("opens"), 2);
    let upload = jpeg(1600, 1200);
    let first = images.store(upload.clone()).await.expect("accepted");
    assert_eq!(files_under(folder.path()).len(), 3);
    // Were the copies written again, this mark would be gone.
    let large = folder.path().join(first.copy(ImageSize::Large).key.as_str());
    std::fs::write(&large, b"mark").expect("marked");
    let again = images.store(upload.clone()).await.expect("accepted");
    assert_eq!(again, first);
    assert_eq!(std::fs::read(&large).expect("read"), b"mark");
    // Many at once, racing: one set of copies, the same answer for all.
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let (images, upload) = (images.clone(), jpeg(1000, 700));
            tokio::spawn(async move { images.store(upload).await.expect("accepted") })
        })
        .collect();
    let results = futures::future::join_all(racing).await;
    let digests: std::collections::BTreeSet<String> = results.into_iter().map(|r| r.expect("task").digest).collect();
    assert_eq!(digests.len(), 1);
    assert_eq!(files_under(folder.path()).len(), 6);
}

fn refused(result: Result<StoredImage, ImageError>) -> ImageRejection {
    match result {
        Err(ImageError::Rejected(rejection)) => rejection,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn uploads_are_judged_by_content_never_by_name() {
    let folder = tempfile::tempdir().expect("a folder");
    let images = ImageStore::new(BlobStore::local(folder.path()).expect("opens"), 2);
    // A PNG someone named `photo.jpg` (a name and a claimed type are not even inputs): it is
    // read as the PNG it is, transparency and all.
    let named_jpg = transparent_png(400, 400);
    let stored = images
        .store(named_jpg)
        .await
        .expect("a PNG is accepted whatever its name");
    assert_eq!(stored.copy(ImageSize::Large).media_type, MediaType::Png);
    // Text named `.png`, an HTML page, a GIF and an SVG are not pictures the shop takes.
    for not_accepted in [
        Bytes::from_static(b"hello, this is a text file named picture.png"),
        Bytes::from_static(b"<!doctype html><script>alert(1)</script>"),
        Bytes::from_static(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
        Bytes::from_static(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"),
        Bytes::new(),
    ] {
        let rejection = refused(images.store(not_accepted).await);
        assert_eq!(rejection, ImageRejection::NotAccepted);
        assert_eq!(ImageRejection::CODE.as_str(), "INVALID_IMAGE");
        let english = rejection.message().in_language(huakai::infra::i18n::Language::En);
        assert_eq!(english, "only JPEG, PNG and WebP pictures are accepted");
    }
    // 200 × 200, and 400 × 400 for both MEDIUM and LARGE.
    assert_eq!(files_under(folder.path()).len(), 2, "only the PNG's copies are stored");
}

#[tokio::test]
async fn truncated_and_oversized_pictures_are_refused() {
    let folder = tempfile::tempdir().expect("a folder");
    let images = ImageStore::new(BlobStore::local(folder.path()).expect("opens"), 2);
    for whole in [
        jpeg(1200, 900),
        encoded(DynamicImage::ImageRgb8(photo(1200, 900)), ImageFormat::Png),
        encoded(DynamicImage::ImageRgb8(photo(1200, 900)), ImageFormat::WebP),
    ] {
        let truncated = whole.slice(..whole.len() / 2);
        assert_eq!(refused(images.store(truncated).await), ImageRejection::Unreadable);
    }
    // Wider than 10,000 pixels, and a decompression bomb: 49 megapixels of one grey, which
    // compress to a few hundred KiB and would unpack to 147 MB.
    let wide = encoded(
        DynamicImage::ImageLuma8(image::GrayImage::new(12_000, 10)),
        ImageFormat::Png,
    );
    let bomb = encoded(
        DynamicImage::ImageLuma8(image::GrayImage::new(7_000, 7_000)),
        ImageFormat::Png,
    );
    assert!(bomb.len() < 1 << 20, "the bomb is small: {} bytes", bomb.len());
    for oversized in [wide, bomb] {
        let rejection = refused(images.store(oversized).await);
        assert_eq!(rejection, ImageRejection::TooLarge);
        assert_eq!(
            rejection.message().in_language(huakai::infra::i18n::Language::En),
            "the picture is too large: at most 10000 pixels on a side and 40 megapixels in all"
        );
    }
    assert!(files_under(folder.path()).is_empty(), "nothing refused is stored");
}

#[tokio::test]
async fn demo_pictures_are_stored_like_uploads() {
    let (blobs, _folder) = local_store();
    let images = ImageStore::new(blobs, 2);
    let stored = images.store(demo_picture("crayfish").into()).await.expect("accepted");
    assert_eq!((stored.width, stored.height), (800, 600));
    assert_eq!(stored.copy(ImageSize::Medium).media_type, MediaType::Jpeg);
    let other = images.store(demo_picture("lily-bulbs").into()).await.expect("accepted");
    assert_ne!(other.digest, stored.digest);
}

/// A small app: the media route, and an upload endpoint that reads its whole body, both
/// behind the body caps. Serves until dropped with the runtime.
async fn serve(store: BlobStore, caps: BodyCaps) -> std::net::SocketAddr {
    let upload = axum::routing::post(|body: Bytes| async move { body.len().to_string() });
    let app = cap_bodies(media_routes(store).route("/upload", upload), caps);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends `head` (and `body`) as written, without a client that would tidy the path up.
async fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.write_all(head.as_bytes()).await.expect("head sent");
    // The server may answer and close before the whole body is sent.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {text}"));
    (status, text)
}

async fn served_with_caching(addr: std::net::SocketAddr, stored: &StoredImage, store: &BlobStore) {
    let http = reqwest::Client::new();
    for copy in &stored.copies {
        let response = http
            .get(format!("http://{addr}/media/{}", copy.key))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 200);
        let header = |name: &str| response.headers()[name].to_str().expect("text").to_owned();
        assert_eq!(header("content-type"), copy.media_type.mime());
        assert_eq!(header("cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(header("x-content-type-options"), "nosniff");
        let body = response.bytes().await.expect("body");
        let kept = store
            .get(&copy.key)
            .await
            .expect("get")
            .expect("stored")
            .bytes()
            .await
            .expect("read");
        assert_eq!(body, kept);
    }
    let missing = format!("http://{addr}/media/images/00/00000000000000000000000000000000/10x10.jpg");
    assert_eq!(http.get(missing).send().await.expect("answers").status(), 404);
}

#[tokio::test]
async fn the_media_route_serves_copies_as_immutable_and_nothing_else() {
    let folder = tempfile::tempdir().expect("a folder");
    std::fs::write(folder.path().join("secret.jpg"), b"the secret beside the media folder").expect("written");
    let store = BlobStore::local(&folder.path().join("media")).expect("opens");
    let images = ImageStore::new(store.clone(), 2);
    let opaque = images.store(jpeg(1300, 900)).await.expect("accepted");
    let transparent = images.store(transparent_png(300, 300)).await.expect("accepted");
    let addr = serve(
        store.clone(),
        BodyCaps {
            other: 1 << 20,
            uploads: 8 << 20,
        },
    )
    .await;
    served_with_caching(addr, &opaque, &store).await;
    served_with_caching(addr, &transparent, &store).await;

    let tricks = [
        "/media/../secret.jpg",
        "/media/..%2Fsecret.jpg",
        "/media/%2e%2e/secret.jpg",
        "/media/%2E%2E%2Fsecret.jpg",
        "/media/images/..%2F..%2Fsecret.jpg",
        "/media/%2Fetc%2Fpasswd",
        "/media//etc/passwd",
        "/media/..%5Csecret.jpg",
        "/media/secret.jpg%00.png",
    ];
    for path in tricks {
        let (status, text) = raw(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            b"",
        )
        .await;
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(!text.contains("secret beside"), "{path} leaked the file");
    }
}

#[tokio::test]
async fn pictures_in_the_bucket_are_served_the_same() {
    let Some(server) = TestS3::start() else { return };
    let store = s3_store(&server);
    let images = ImageStore::new(store.clone(), 2);
    let stored = check_three_sizes(
        &images,
        jpeg(2400, 1600),
        (2400, 1600),
        [(200, 133), (600, 400), (1200, 800)],
        MediaType::Jpeg,
    )
    .await;
    let addr = serve(
        store.clone(),
        BodyCaps {
            other: 1 << 20,
            uploads: 8 << 20,
        },
    )
    .await;
    served_with_caching(addr, &stored, &store).await;
}

#[tokio::test]
async fn uploads_over_the_limit_answer_413() {
    let (store, _folder) = local_store();
    let caps = BodyCaps {
        other: 64 << 10,
        uploads: 256 << 10,
    };
    let addr = serve(store, caps).await;
    let multipart = |length: usize| {
        format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n"
        )
    };
    // Over the upload cap: refused from the declared length, unread.
    let (status, text) = raw(addr, &multipart(300 << 10), &vec![b'x'; 300 << 10]).await;
    assert_eq!(status, 413);
    assert!(text.contains("\"PAYLOAD_TOO_LARGE\""), "{text}");
    // Under it (and over the cap of other requests): read in full.
    let (status, text) = raw(addr, &multipart(200 << 10), &vec![b'x'; 200 << 10]).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with(&(200 << 10).to_string()), "{text}");
    // Without a declared length, cut off at the cap all the same.
    let head = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = format!("1000\r\n{}\r\n", "x".repeat(4096));
    let (status, _) = raw(addr, head, chunk.repeat(80).as_bytes()).await;
    assert_eq!(status, 413);
    // Anything else keeps the smaller cap.
    let json = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        100 << 10
    );
    let (status, _) = raw(addr, &json, &vec![b' '; 100 << 10]).await;
    assert_eq!(status, 413);
}
