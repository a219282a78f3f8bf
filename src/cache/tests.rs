use super::*;

fn entry(bytes: usize) -> CachedResponse {
    CachedResponse {
        body: CutBody {
            segments: vec!["x".repeat(bytes)],
            figures: Vec::new(),
            variant_ids: Vec::new(),
        },
        availability_version: None,
    }
}

#[tokio::test]
async fn the_in_process_cache_is_bounded_in_bytes() {
    let cache = StorefrontCache::in_process(1 << 20);
    for i in 0..100 {
        cache.put(&format!("key-{i}"), entry(100 * 1024)).await;
    }
    let Store::Memory { entries, .. } = &cache.store else {
        panic!("in process");
    };
    assert!(entries.weight() <= 1 << 20, "{} bytes kept", entries.weight());
    assert!(entries.len() >= 5, "it still caches: {} entries", entries.len());
}
