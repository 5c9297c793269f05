//! Identical requests within `[serve] cache_ttl` share one computation: the first computes,
//! those arriving meanwhile wait for its answer, later ones reuse it until it is older than
//! the TTL. A recovery from the web clears everything. Errors are never kept.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Entry = Arc<tokio::sync::Mutex<Option<(Instant, Arc<dyn Any + Send + Sync>)>>>;

/// More distinct keys than this and the idle ones are dropped.
const MAX_KEYS: usize = 512;

pub struct Cache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Cache {
    pub fn new(ttl: Duration) -> Cache {
        Cache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub async fn get<T, E, F, Fut>(&self, key: String, compute: F) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.ttl.is_zero() {
            return compute().await.map(Arc::new);
        }
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= MAX_KEYS && !entries.contains_key(&key) {
                entries.retain(|_, entry| Arc::strong_count(entry) > 1);
                if entries.len() >= MAX_KEYS {
                    entries.clear();
                }
            }
            entries.entry(key).or_default().clone()
        };
        let mut slot = entry.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < self.ttl
            && let Ok(value) = value.clone().downcast::<T>()
        {
            return Ok(value);
        }
        let value = Arc::new(compute().await?);
        *slot = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_identical_requests_compute_once() {
        let cache = Arc::new(Cache::new(Duration::from_secs(60)));
        let computed = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let computed = computed.clone();
            handles.push(tokio::spawn(async move {
                cache
                    .get("k".to_string(), || async {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(42u32)
                    })
                    .await
            }));
        }
        for handle in handles {
            assert_eq!(*handle.await.unwrap().unwrap(), 42);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        cache.clear();
        let again = cache
            .get("k".to_string(), || async { Ok::<_, ()>(7u32) })
            .await
            .unwrap();
        assert_eq!(*again, 7);
    }
}
