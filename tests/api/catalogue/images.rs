//! Product pictures: `uploadProductImage` as a GraphQL multipart request, judged by content,
//! resized once, kept in the media store (a folder, and a real S3-compatible bucket), shown in
//! `Product.images` and served under `/media/`; a file that is no picture, another grower and an
//! upload over the cap are refused.

use bytes::Bytes;
use huakai::accounts::Role;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use crate::on_each_backend;
use crate::support::s3::TestS3;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    a_growers_picture_is_resized_and_shown_on_its_product,
    only_its_grower_and_operators_upload_pictures,
    an_upload_over_the_cap_answers_413,
    pictures_are_kept_in_a_bucket,
);

const UPLOAD: &str = "mutation($id: ID!, $file: Upload!, $alt: String) {
    uploadProductImage(productId: $id, file: $file, alt: $alt) {
        product { images { url width height alt thumbnail: url(size: THUMBNAIL) large: url(size: LARGE) } }
        userErrors { field code } } }";

const BOUNDARY: &str = "huakai-product-image-77ab";

/// A photo-like picture of `width` × `height`.
fn photo(width: u32, height: u32, format: ImageFormat) -> Bytes {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        let texture = ((x * 7 + y * 13) % 17) as u8;
        Rgb([
            (x * 255 / width) as u8 ^ texture,
            (y * 255 / height) as u8,
            60 + texture,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .expect("encodes");
    out.into_inner().into()
}

/// `uploadProductImage` as a GraphQL multipart request body, the file named as a phone would.
fn multipart(product_id: &Value, alt: Option<&str>, file: &[u8]) -> Vec<u8> {
    let operations =
        json!({ "query": UPLOAD, "variables": { "id": product_id, "file": null, "alt": alt } }).to_string();
    let mut body = Vec::new();
    let mut part = |headers: &str, content: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"operations\"",
        operations.as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"map\"",
        br#"{"0":["variables.file"]}"#,
    );
    part(
        "Content-Disposition: form-data; name=\"0\"; filename=\"IMG_0001.png\"\r\nContent-Type: image/png",
        file,
    );
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(app: &TestApp, actor: &Actor, product_id: &Value, alt: Option<&str>, file: &[u8]) -> (u16, Value) {
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(product_id, alt, file));
    if let Some(token) = &actor.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request is sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("answer is JSON"))
}

/// `GET url`: the picture served there, checked for its type and cache headers.
async fn served(app: &TestApp, url: &str) -> DynamicImage {
    assert!(url.starts_with("/media/images/"), "{url}");
    let response = app.http().get(app.url(url)).send().await.expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    let content_type = headers["content-type"].to_str().expect("ascii").to_owned();
    let bytes = response.bytes().await.expect("body");
    assert_eq!(
        image::guess_format(&bytes).expect("a picture").to_mime_type(),
        content_type
    );
    image::load_from_memory(&bytes).expect("decodes")
}

async fn lilies(app: &TestApp) -> (Actor, Value) {
    let grower = app
        .user("lily@example.com", Role::Grower, Some("sanwang-baihe-hezuoshe"))
        .await;
    let id = app
        .query("{ product(slug: \"sanwang-baihe-gan\") { id } }", json!({}))
        .await["product"]["id"]
        .clone();
    (grower, id)
}

async fn a_growers_picture_is_resized_and_shown_on_its_product(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let (grower, id) = lilies(&app).await;
    let (status, answer) = upload(
        &app,
        &grower,
        &id,
        Some("晒干的百合片"),
        &photo(1600, 1200, ImageFormat::Png),
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(
        answer["data"]["uploadProductImage"]["userErrors"],
        json!([]),
        "{answer:#}"
    );
    let (_, answer) = upload(&app, &grower, &id, None, &photo(300, 500, ImageFormat::Jpeg)).await;
    let images = answer["data"]["uploadProductImage"]["product"]["images"].clone();
    assert_eq!(images.as_array().map(Vec::len), Some(2), "{answer:#}");
    assert_eq!(
        (&images[0]["width"], &images[0]["height"], &images[0]["alt"]),
        (&json!(1600), &json!(1200), &json!("晒干的百合片"))
    );
    assert_eq!(images[1]["alt"], Value::Null);

    // The storefront shows them at once, each copy served with a year of caching.
    let shown = app
        .query("{ product(slug: \"sanwang-baihe-gan\") { images { url large: url(size: LARGE) thumbnail: url(size: THUMBNAIL) } } }", json!({}))
        .await;
    assert_eq!(shown["product"]["images"][0]["url"], images[0]["url"]);
    let medium = served(&app, shown["product"]["images"][0]["url"].as_str().expect("url")).await;
    assert_eq!((medium.width(), medium.height()), (600, 450));
    let large = served(&app, shown["product"]["images"][0]["large"].as_str().expect("url")).await;
    assert_eq!((large.width(), large.height()), (1200, 900));
    let thumbnail = served(&app, shown["product"]["images"][1]["thumbnail"].as_str().expect("url")).await;
    assert_eq!((thumbnail.width(), thumbnail.height()), (120, 200));

    // A text file named `.png` is judged by its bytes.
    let (_, answer) = upload(&app, &grower, &id, None, b"not a picture at all\n").await;
    assert_eq!(
        answer["data"]["uploadProductImage"]["userErrors"],
        json!([{ "field": ["file"], "code": "INVALID_IMAGE" }])
    );
    let listed = app
        .query("{ product(slug: \"sanwang-baihe-gan\") { images { url } } }", json!({}))
        .await;
    assert_eq!(
        listed["product"]["images"].as_array().map(Vec::len),
        Some(2),
        "the refused file added nothing"
    );
}

async fn only_its_grower_and_operators_upload_pictures(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let (grower, id) = lilies(&app).await;
    let file = photo(64, 48, ImageFormat::Png);
    let other = app
        .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let buyer = app.user("buyer@example.com", Role::Buyer, None).await;
    let operator = app.user("operator@example.com", Role::Admin, None).await;
    for (who, actor, expected) in [
        ("anonymous", Actor::anonymous(), Some("UNAUTHENTICATED")),
        ("a buyer", buyer, Some("FORBIDDEN")),
        ("another grower", other, Some("FORBIDDEN")),
        ("its grower", grower, None),
        ("an operator", operator, None),
    ] {
        let (_, answer) = upload(&app, &actor, &id, None, &file).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"].as_str(),
            expected,
            "{who}: {answer:#}"
        );
    }
    let listed = app
        .query("{ product(slug: \"sanwang-baihe-gan\") { images { url } } }", json!({}))
        .await;
    assert_eq!(listed["product"]["images"].as_array().map(Vec::len), Some(2));
}

async fn an_upload_over_the_cap_answers_413(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_MAX_UPLOAD", "256KiB")])
        .start()
        .await
    else {
        return;
    };
    let (grower, id) = lilies(&app).await;
    let big = photo(1800, 1400, ImageFormat::Png);
    assert!(big.len() > 256 << 10, "{} bytes", big.len());
    let body = multipart(&id, None, &big);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        grower.token.as_deref().unwrap_or_default(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let _ = stream.write_all(&body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"PAYLOAD_TOO_LARGE\""), "{text}");
    let listed = app
        .query("{ product(slug: \"sanwang-baihe-gan\") { images { url } } }", json!({}))
        .await;
    assert_eq!(listed["product"]["images"], json!([]));
}

async fn pictures_are_kept_in_a_bucket(backend: Backend) {
    let Some(server) = TestS3::start() else {
        return;
    };
    let bucket = server.settings();
    let mut settings: Vec<(&str, &str)> = bucket.iter().map(|(name, value)| (*name, value.as_str())).collect();
    settings.push(("HUAKAI_MEDIA_DIR", ""));
    let Some(app) = TestApp::on(backend).settings(&settings).start().await else {
        return;
    };
    let (grower, id) = lilies(&app).await;
    let (_, answer) = upload(&app, &grower, &id, None, &photo(900, 600, ImageFormat::Jpeg)).await;
    assert_eq!(
        answer["data"]["uploadProductImage"]["userErrors"],
        json!([]),
        "{answer:#}"
    );
    let url = answer["data"]["uploadProductImage"]["product"]["images"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let picture = served(&app, &url).await;
    assert_eq!((picture.width(), picture.height()), (600, 400));
}
