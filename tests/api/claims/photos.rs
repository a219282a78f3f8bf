//! Claim photos: sent with `openClaim` as a GraphQL multipart request, judged by content, kept
//! in the media store (a folder, and a real S3-compatible bucket), served to who sees the claim;
//! a 7th photo, a file that is no picture and an upload over the cap are refused.

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use super::*;
use crate::on_each_backend;
use crate::support::s3::TestS3;
use crate::support::{Actor, Backend, TestApp};

on_each_backend!(
    a_buyers_photos_reach_the_grower_and_no_one_else,
    pictures_that_are_not_or_too_many_are_refused,
    an_upload_over_the_cap_answers_413,
    photos_are_kept_in_a_bucket
);

const OPEN_WITH_PHOTOS: &str = "mutation($input: ClaimInput!) { openClaim(input: $input) {
    claim { id photos { url width height thumbnail: url(size: THUMBNAIL) large: url(size: LARGE) } }
    userErrors { field code } } }";

const CLAIM_PHOTOS: &str = "query($id: ID!) { node(id: $id) { ... on Claim { photos { url width height } } } }";

fn encoded(pixels: RgbImage, format: ImageFormat) -> Bytes {
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .expect("encodes");
    out.into_inner().into()
}

/// A photo-like picture of `width` × `height`, a crushed box as a phone would send it.
fn photo(width: u32, height: u32, format: ImageFormat) -> Bytes {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        let texture = ((x * 7 + y * 13) % 17) as u8;
        Rgb([
            (x * 255 / width) as u8 ^ texture,
            (y * 255 / height) as u8,
            90 + texture,
        ])
    });
    encoded(pixels, format)
}

const BOUNDARY: &str = "huakai-claim-photos-5c1e";

/// `openClaim` as a GraphQL multipart request body, with `files` as `input.photos`.
fn multipart(mut variables: Value, files: &[Bytes]) -> Vec<u8> {
    variables["input"]["photos"] = Value::Array(vec![Value::Null; files.len()]);
    let map: serde_json::Map<String, Value> = (0..files.len())
        .map(|i| (i.to_string(), json!([format!("variables.input.photos.{i}")])))
        .collect();
    let mut body = Vec::new();
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    let operations = json!({ "query": OPEN_WITH_PHOTOS, "variables": variables }).to_string();
    part(
        "Content-Disposition: form-data; name=\"operations\"".into(),
        operations.as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"map\"".into(),
        Value::Object(map).to_string().as_bytes(),
    );
    for (i, file) in files.iter().enumerate() {
        // The name and type a phone would claim; the shop looks at the bytes only.
        part(
            format!(
                "Content-Disposition: form-data; name=\"{i}\"; filename=\"crushed-{i}.jpg\"\r\nContent-Type: image/jpeg"
            ),
            file,
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `openClaim` as `actor` with `files` as `input.photos`: status, answer.
async fn open_with_photos(app: &TestApp, actor: &Actor, variables: Value, files: &[Bytes]) -> (u16, Value) {
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(variables, files));
    if let Some(token) = &actor.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request is sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("answer is JSON"))
}

/// `body` sent over a bare connection, since the server answers 413 before reading it and
/// closes (a client library reports that as a broken pipe): the status and the answer's text.
async fn sent_raw(app: &TestApp, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connects");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, text)
}

/// The claim's `openClaim` answer, expecting it opened.
fn opened(status: u16, answer: &Value) -> Value {
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(answer["data"]["openClaim"]["userErrors"], json!([]), "{answer:#}");
    answer["data"]["openClaim"]["claim"].clone()
}

/// `GET url`: the picture served there, checked for its type and cache headers.
async fn served(app: &TestApp, url: &str) -> DynamicImage {
    assert!(url.starts_with("/media/images/"), "{url}");
    let response = app.http().get(app.url(url)).send().await.expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    let headers = response.headers().clone();
    assert!(
        headers["cache-control"].to_str().expect("ascii").contains("immutable"),
        "{headers:?}"
    );
    let content_type = headers["content-type"].to_str().expect("ascii").to_owned();
    let bytes = response.bytes().await.expect("body");
    let format = image::guess_format(&bytes).expect("a picture");
    assert_eq!(format.to_mime_type(), content_type);
    image::load_from_memory(&bytes).expect("decodes")
}

async fn a_buyers_photos_reach_the_grower_and_no_one_else(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 3, "photos").await;
    let files = [photo(1600, 1200, ImageFormat::Jpeg), photo(300, 500, ImageFormat::Png)];
    let (status, answer) =
        open_with_photos(&app, &people.cast.buyer, claim_input(&order_id, &variant_id, 2), &files).await;
    let claim = opened(status, &answer);
    let photos = claim["photos"].as_array().expect("photos").clone();
    assert_eq!(photos.len(), 2, "{claim}");
    assert_eq!(
        (&photos[0]["width"], &photos[0]["height"]),
        (&json!(1600), &json!(1200))
    );
    assert_eq!((&photos[1]["width"], &photos[1]["height"]), (&json!(300), &json!(500)));

    // The grower sees the photos in the order they were sent, and each copy is served.
    let seen = app
        .query_as(&people.grower, CLAIM_PHOTOS, json!({ "id": claim["id"] }))
        .await;
    let seen = seen["node"]["photos"]
        .as_array()
        .expect("the grower sees the photos")
        .clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["url"], photos[0]["url"]);
    let medium = served(&app, seen[0]["url"].as_str().expect("url")).await;
    assert_eq!((medium.width(), medium.height()), (600, 450));
    let large = served(&app, photos[0]["large"].as_str().expect("url")).await;
    assert_eq!((large.width(), large.height()), (1200, 900));
    let thumbnail = served(&app, photos[1]["thumbnail"].as_str().expect("url")).await;
    assert_eq!((thumbnail.width(), thumbnail.height()), (120, 200));
    // A small picture is never enlarged.
    let small = served(&app, seen[1]["url"].as_str().expect("url")).await;
    assert_eq!((small.width(), small.height()), (300, 500));

    // A grower of another producer and another buyer see no claim, so no photos.
    let other_grower = app
        .user("crayfish@example.com", Role::Grower, Some("changyuan-longxia-hezuoshe"))
        .await;
    let stranger = app.user("stranger@example.com", Role::Buyer, None).await;
    for outsider in [&other_grower, &stranger] {
        let data = app.query_as(outsider, CLAIM_PHOTOS, json!({ "id": claim["id"] })).await;
        assert_eq!(data["node"], Value::Null, "{data}");
    }

    // A claim opened from JSON (no files) has no photos.
    let (other_order, other_variant) = delivered_lilies(&app, &people, 1, "no-photos").await;
    let plain = open(&app, &people, &other_order, &other_variant, 1).await;
    let data = app
        .query_as(&people.cast.buyer, CLAIM_PHOTOS, json!({ "id": plain["id"] }))
        .await;
    assert_eq!(data["node"]["photos"], json!([]));
}

async fn pictures_that_are_not_or_too_many_are_refused(backend: Backend) {
    let Some(app) = TestApp::on(backend).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "refused").await;
    let input = || claim_input(&order_id, &variant_id, 1);
    let good = photo(64, 48, ImageFormat::Jpeg);

    // A text file named `.jpg` and sent as `image/jpeg` is judged by its bytes.
    let text = Bytes::from_static(b"the box arrived crushed, see for yourself\n");
    let (status, answer) = open_with_photos(&app, &people.cast.buyer, input(), &[good.clone(), text]).await;
    assert_eq!(status, 200, "{answer:#}");
    let problem = &answer["data"]["openClaim"]["userErrors"][0];
    assert_eq!(problem["code"], "INVALID_IMAGE", "{answer:#}");
    assert_eq!(problem["field"], json!(["input", "photos", "1"]));
    assert_eq!(answer["data"]["openClaim"]["claim"], Value::Null);

    // A picture over the pixel limits (a tiny file claiming 10,001 pixels a side).
    let too_wide = encoded(RgbImage::new(10_001, 1), ImageFormat::Png);
    let (_, answer) = open_with_photos(&app, &people.cast.buyer, input(), &[too_wide]).await;
    assert_eq!(
        answer["data"]["openClaim"]["userErrors"][0]["code"], "INVALID_IMAGE",
        "{answer:#}"
    );

    // Six photos are taken, a seventh is not.
    let seven = vec![good.clone(); 7];
    let (_, answer) = open_with_photos(&app, &people.cast.buyer, input(), &seven).await;
    let problem = &answer["data"]["openClaim"]["userErrors"][0];
    assert_eq!(problem["code"], "TOO_MANY_PHOTOS", "{answer:#}");
    assert_eq!(problem["field"], json!(["input", "photos"]));

    // Nothing of the refused requests was opened: the units are still there to claim.
    let (status, answer) = open_with_photos(&app, &people.cast.buyer, input(), &seven[..6]).await;
    let claim = opened(status, &answer);
    assert_eq!(claim["photos"].as_array().expect("photos").len(), 6);
}

async fn an_upload_over_the_cap_answers_413(backend: Backend) {
    let Some(app) = TestApp::on(backend)
        .settings(&[("HUAKAI_MAX_UPLOAD", "256KiB")])
        .start()
        .await
    else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 2, "oversized").await;
    let input = || claim_input(&order_id, &variant_id, 1);
    let big = photo(1800, 1400, ImageFormat::Png);
    assert!(big.len() > 256 << 10, "{} bytes", big.len());
    let (status, answer) = sent_raw(&app, &multipart(input(), &[big])).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("\"PAYLOAD_TOO_LARGE\""), "{answer}");

    // Under the cap the same buyer's claim opens; JSON requests keep their own cap.
    let (status, answer) =
        open_with_photos(&app, &people.cast.buyer, input(), &[photo(400, 300, ImageFormat::Jpeg)]).await;
    assert_eq!(opened(status, &answer)["photos"].as_array().expect("photos").len(), 1);
}

async fn photos_are_kept_in_a_bucket(backend: Backend) {
    let Some(server) = TestS3::start() else {
        return;
    };
    let bucket = server.settings();
    let mut settings: Vec<(&str, &str)> = bucket.iter().map(|(name, value)| (*name, value.as_str())).collect();
    settings.push(("HUAKAI_MEDIA_DIR", ""));
    let Some(app) = TestApp::on(backend).settings(&settings).start().await else {
        return;
    };
    let people = people(&app).await;
    let (order_id, variant_id) = delivered_lilies(&app, &people, 1, "bucket").await;
    let (status, answer) = open_with_photos(
        &app,
        &people.cast.buyer,
        claim_input(&order_id, &variant_id, 1),
        &[photo(900, 600, ImageFormat::Jpeg)],
    )
    .await;
    let claim = opened(status, &answer);
    let seen = app
        .query_as(&people.grower, CLAIM_PHOTOS, json!({ "id": claim["id"] }))
        .await;
    let picture = served(&app, seen["node"]["photos"][0]["url"].as_str().expect("url")).await;
    assert_eq!((picture.width(), picture.height()), (600, 400));
}
