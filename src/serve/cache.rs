//! Identical requests share one computation: the first computes, those arriving meanwhile
//! wait for its answer, later ones reuse it. Once an answer is older than `[serve]
//! cache_ttl` the next request still gets it at once while one refresh runs in the
//! background (stale-while-revalidate), so a slow query is never paid by every reader; an
//! answer older than [`MAX_STALE`] is recomputed before answering, and served anyway (up to
//! [`MAX_STALE_ON_ERROR`]) when that fails. A recovery from the web clears everything.
//! Errors are never kept.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Slot {
    value: Option<(Instant, Arc<dyn Any + Send + Sync>)>,
    refreshing: bool,
}

type Entry = Arc<tokio::sync::Mutex<Slot>>;

/// More distinct keys than this and the idle ones are dropped.
const MAX_KEYS: usize = 512;

/// An answer older than this is recomputed before answering.
pub const MAX_STALE: Duration = Duration::from_secs(30);
/// When recomputing fails (a `run` kept the database past `[serve] lock_timeout`), an
/// answer this old is still served rather than an error.
pub const MAX_STALE_ON_ERROR: Duration = Duration::from_secs(120);

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
        E: Send + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
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
        if let Some((at, value)) = slot.value.as_ref()
            && let Ok(value) = value.clone().downcast::<T>()
        {
            let age = at.elapsed();
            if age < self.ttl {
                return Ok(value);
            }
            if age < MAX_STALE.max(self.ttl) {
                if !slot.refreshing {
                    slot.refreshing = true;
                    let refresh = compute();
                    let entry = entry.clone();
                    tokio::spawn(async move {
                        let result = refresh.await;
                        let mut slot = entry.lock().await;
                        if let Ok(fresh) = result {
                            slot.value = Some((Instant::now(), Arc::new(fresh)));
                        }
                        slot.refreshing = false;
                    });
                }
                return Ok(value);
            }
        }
        match compute().await {
            Ok(value) => {
                let value = Arc::new(value);
                slot.value = Some((Instant::now(), value.clone()));
                Ok(value)
            }
            Err(err) => match slot.value.as_ref() {
                Some((at, value)) if at.elapsed() < MAX_STALE_ON_ERROR => {
                    value.clone().downcast::<T>().map_err(|_| err)
                }
                _ => Err(err),
            },
        }
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
    async fn concurrent_identical_requests_compute_once_and_stale_answers_refresh_behind() {
        let cache = Arc::new(Cache::new(Duration::from_millis(100)));
        let computed = Arc::new(AtomicUsize::new(0));
        let compute = |computed: Arc<AtomicUsize>| {
            move || async move {
                let n = computed.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, ()>(n)
            }
        };
        let mut handles = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let computed = computed.clone();
            handles.push(tokio::spawn(async move {
                cache.get("k".to_string(), compute(computed)).await
            }));
        }
        for handle in handles {
            assert_eq!(*handle.await.unwrap().unwrap(), 1);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        // Stale: answered at once with the old value, refreshed behind.
        tokio::time::sleep(Duration::from_millis(120)).await;
        let stale = cache.get("k".to_string(), compute(computed.clone())).await;
        assert_eq!(*stale.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let fresh = cache.get("k".to_string(), compute(computed.clone())).await;
        assert_eq!(*fresh.unwrap(), 2);
        // Cleared: computed again before answering.
        cache.clear();
        let again = cache.get("k".to_string(), compute(computed.clone())).await;
        assert_eq!(*again.unwrap(), 3);
    }
}
