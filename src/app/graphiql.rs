//! GraphiQL, served by the shop itself: the page and its scripts and styles (production builds,
//! pinned, with their licences, in `assets/graphiql/`) are compiled into the binary, so the
//! explorer works where a CDN is slow, blocked or unreachable.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// The asset paths carry GraphiQL's version, so a browser may keep each file for a year.
const ASSETS: &str = "/graphiql/4.1.2";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Huakai GraphiQL</title>
    <link rel="stylesheet" href="/graphiql/4.1.2/graphiql.min.css">
    <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="/graphiql/4.1.2/react.production.min.js"></script>
    <script src="/graphiql/4.1.2/react-dom.production.min.js"></script>
    <script src="/graphiql/4.1.2/graphiql.min.js"></script>
    <script>
      const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
      // The second tab: an operator onboards a village from scratch (sign in as an operator
      // and put its token in the headers first; docs/back-office.md).
      const onboarding = `# An operator onboards a village: the village, its producer, a category,
# then its products (or importCatalogue with the district's CSV), then a picture
# (uploadProductImage is a multipart request: curl -F, or Apollo's upload link).
mutation Onboard {
  createVillage(input: { slug: "xintian-cun", name: "新田村", town: "南洲镇", district: "渌口区",
                         registeredPoor: true, exitedPovertyYear: 2018, story: "湘江边的村子。" }) {
    village { id slug } userErrors { field code message } }
  createProducer(input: { slug: "xintian-youcha", name: "新田油茶合作社", kind: COOPERATIVE,
                          villageSlug: "xintian-cun", linkedPoorHouseholds: 42 }) {
    producer { id slug } userErrors { field code message } }
  createCategory(input: { slug: "youcha", name: "油茶" }) { category { slug } userErrors { field code message } }
  createProduct(input: { slug: "xintian-chayou", name: "新田茶油 500ml", categorySlug: "youcha",
                         producerSlug: "xintian-youcha",
                         variants: [{ sku: "XT-CHAYOU-500", name: "500ml", price: "88.00", stock: 30 }] }) {
    product { id slug } userErrors { field code message } }
  importCatalogue(dryRun: true, csv: """
catalogue_code,product_slug,product_name,category_slug,producer_slug,village_slug,issuer,valid_from,valid_to,variant_sku,variant_name,price,stock
FK-2026-0901,xintian-chayou-gift,新田茶油礼盒,youcha,xintian-youcha,,渌口区农业农村局,2026-01-01,2028-12-31,XT-GIFT-2,2 瓶装,168.00,12
""") { created updated userErrors { field code message } }
}
`;
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultTabs: [
            { query: "{\n  products(first: 5) {\n    nodes { name inStock priceRange { min { amount } } }\n  }\n}\n" },
            { query: onboarding, headers: '{ "Authorization": "Bearer <an operator\'s token>" }' },
          ],
        }),
      );
    </script>
  </body>
</html>
"#;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
];

/// The explorer's page.
pub fn page() -> Response {
    Html(PAGE).into_response()
}

/// The explorer's files, under `/graphiql/4.1.2/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(&format!("{ASSETS}/{{file}}"), get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = FILES.iter().find(|asset| asset.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_the_shops_own_files() {
        for asset in FILES {
            assert!(PAGE.contains(&format!("{ASSETS}/{}", asset.name)), "{}", asset.name);
        }
        assert!(!PAGE.contains("//unpkg") && !PAGE.contains("http://") && !PAGE.contains("https://"));
    }
}
