//! CORS for storefronts on their own origin (`HUAKAI_CORS_ORIGINS`), with tower-http's layer.
//! The API authenticates with a bearer token, never a cookie, so credentials stay off: a page
//! of another origin can only act as whoever's token it holds. Preflights are answered before
//! any limit counts them; a browser may keep a preflight's answer for ten minutes.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `router` answering CORS for `origins` (nothing changes when there are none).
pub fn around<S: Clone + Send + Sync + 'static>(router: Router<S>, origins: &[String]) -> Router<S> {
    let allowed = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else if origins.is_empty() {
        return router;
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
    };
    let request_id = HeaderName::from_static("x-request-id");
    router.layer(
        CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                header::ACCEPT_LANGUAGE,
                header::IF_NONE_MATCH,
                request_id.clone(),
            ])
            // The ETag makes a conditional GET possible from script; the request id ties a
            // browser's report to the server's log line.
            .expose_headers([header::ETAG, header::RETRY_AFTER, request_id])
            .allow_credentials(false)
            .max_age(Duration::from_secs(600)),
    )
}

/// Comma-separated origins (`https://shop.example.com`, `http://localhost:3000`): a scheme, a
/// host and maybe a port, nothing more, as browsers send them in `Origin`; or `*` alone.
pub fn parse_origins(value: &str) -> Result<Vec<String>, String> {
    let origins: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(str::to_owned)
        .collect();
    if origins.iter().any(|origin| origin == "*") {
        return if origins.len() == 1 {
            Ok(origins)
        } else {
            Err("* allows every origin and cannot be listed with others".to_owned())
        };
    }
    for origin in &origins {
        let parsed = url::Url::parse(origin).ok();
        let is_origin = parsed.as_ref().is_some_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && url.path() == "/"
                && !origin.ends_with('/')
                && url.query().is_none()
                && url.username().is_empty()
        });
        if !is_origin {
            return Err(format!(
                "{origin:?} is not an origin such as https://shop.example.com (scheme, host, port; no path)"
            ));
        }
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::super::config::Config;
    use crate::infra::settings::ConfigError;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn origins_and_the_pool_size_are_checked() {
        let defaults = config(&[]).expect("valid");
        assert!(defaults.cors_origins.is_empty());
        assert_eq!(defaults.db_pool, None);
        let set = config(&[
            ("HUAKAI_CORS_ORIGINS", "https://shop.example.com, http://localhost:3000"),
            ("HUAKAI_DB_POOL", "8"),
        ])
        .expect("valid");
        assert_eq!(set.cors_origins, ["https://shop.example.com", "http://localhost:3000"]);
        assert_eq!(set.db_pool, Some(8));
        assert_eq!(
            config(&[("HUAKAI_CORS_ORIGINS", "*")]).expect("valid").cors_origins,
            ["*"]
        );
        for origins in [
            "https://shop.example.com/",
            "shop.example.com",
            "https://a.example/path",
            "*, https://a.example",
        ] {
            let message = config(&[("HUAKAI_CORS_ORIGINS", origins)])
                .expect_err(origins)
                .to_string();
            assert!(message.starts_with("HUAKAI_CORS_ORIGINS: "), "{message}");
        }
        assert!(config(&[("HUAKAI_DB_POOL", "3")]).is_err());
        assert_eq!(crate::infra::db::split_pool(4), (2, 2));
        assert_eq!(crate::infra::db::split_pool(20), (16, 4));
        assert_eq!(crate::infra::db::split_pool(100), (96, 4));
        assert!(config(&[("HUAKAI_DB_POOL", "many")]).is_err());
    }
}
