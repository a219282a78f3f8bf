//! Livestream hosts (直播带货): commission plans per product, promo links whose codes bring
//! buyers in and credit their order lines to the host, and the host's views of what the links
//! sold and earned. Commissions themselves move with the order's money in the payouts ledger.

pub mod attribution;
pub mod clicks;
pub mod command;
pub mod demo;
pub mod door;
pub mod entity;
pub mod graphql;
pub mod http;
pub mod links;
pub mod live_room;
pub mod plans;
pub mod policy;
pub mod quota;
pub mod report;
pub mod sessions;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

/// What the livestream rules need to know.
#[derive(Clone, Debug)]
pub struct LivestreamSettings {
    /// The highest commission a plan may set (`HUAKAI_MAX_COMMISSION_BPS`).
    pub max_commission_bps: u32,
    /// How long after it is set a cut in a rate applies (`HUAKAI_COMMISSION_NOTICE`).
    pub commission_notice: Duration,
    /// The storefront that promo links send buyers to, ending in `/` (`HUAKAI_STOREFRONT_URL`).
    pub storefront_url: Arc<str>,
    /// How often a followed session's stock is read again even when no sale was heard of
    /// (`HUAKAI_LIVE_STOCK_RESYNC`): what a lost pub/sub message costs at most.
    pub live_stock_resync: Duration,
}

/// An absolute http(s) URL, given a trailing `/` so that product paths append to it.
pub fn parse_storefront_url(value: &str) -> Result<Arc<str>, String> {
    let parsed =
        url::Url::parse(value).map_err(|_| "must be an absolute URL such as https://shop.example/".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must be an http(s) URL without a query or fragment".to_owned());
    }
    let mut text = parsed.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    Ok(text.into())
}

/// Where a link sends its buyers: the product's storefront page, carrying the code.
pub fn product_url(storefront_url: &str, product_slug: &str, code: &str) -> String {
    format!("{storefront_url}products/{product_slug}?ref={code}")
}

impl crate::shop::Shop {
    pub fn livestream_settings(&self) -> &LivestreamSettings {
        self.part()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storefront_urls_end_in_a_slash_and_carry_the_code() {
        let base = parse_storefront_url("https://shop.example/cn").expect("valid");
        assert_eq!(&*base, "https://shop.example/cn/");
        assert_eq!(
            product_url(&base, "sanwang-xian-baihe", "Ab3"),
            "https://shop.example/cn/products/sanwang-xian-baihe?ref=Ab3"
        );
        assert!(parse_storefront_url("ftp://x/").is_err());
        assert!(parse_storefront_url("not a url").is_err());
        assert!(parse_storefront_url("https://x/?a=1").is_err());
    }
}
