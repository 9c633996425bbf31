//! The agent's token cache (cli.md `agent`): keyed by environment URL, client ID, connection
//! and identifier; an entry is served only to a client with the same secret fingerprint and
//! while its token has more than `max(60 s, min_ttl)` left; concurrent misses for one key
//! wait for one upstream fetch. Memory only; tokens are zeroed when dropped (`Secret`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use super::protocol::{EntryInfo, Served};
use crate::secret::Secret;

/// A token is never served with less than this left, whatever the client asks.
pub(crate) const MIN_SERVED_TTL: Duration = Duration::from_secs(60);

/// What a cached token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) env_url: String,
    pub(crate) client_id: String,
    pub(crate) connection: String,
    pub(crate) identifier: String,
}

/// One cached token, with the fingerprint of the secret it was fetched with.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) service: String,
    pub(crate) fingerprint: String,
    pub(crate) token: Secret,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) scopes: Vec<String>,
    pub(crate) authorization_type: String,
}

impl Entry {
    /// Whether this entry may go to a client with `fingerprint` that wants `min_ttl` left.
    fn serves(&self, fingerprint: &str, min_ttl: Duration, now: OffsetDateTime) -> bool {
        self.fingerprint == fingerprint && self.expires_at - now > min_ttl.max(MIN_SERVED_TTL)
    }

    fn served(&self) -> Served {
        Served {
            access_token: self.token.clone(),
            expires_at: self.expires_at.unix_timestamp(),
            scopes: self.scopes.clone(),
            authorization_type: self.authorization_type.clone(),
        }
    }
}

/// One key's slot: the async lock makes concurrent misses wait for the first one's fetch.
type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// The cache. Cheap to share behind an `Arc`.
#[derive(Default)]
pub(crate) struct Cache {
    slots: Mutex<HashMap<Key, Slot>>,
    /// The last config stamp seen per client config directory.
    stamps: Mutex<HashMap<String, String>>,
}

impl Cache {
    fn slot(&self, key: &Key) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key.clone()).or_default())
    }

    /// The cached token, if it may be served, without waiting: while another client's fetch
    /// for the key is under way this is a miss, and the `fetch` that follows waits for that
    /// fetch's result in [`Cache::get_or_fetch`].
    pub(crate) fn get(&self, key: &Key, fingerprint: &str, min_ttl: Duration) -> Option<Served> {
        let slot = self.slot(key);
        let guard = slot.try_lock().ok()?;
        let now = OffsetDateTime::now_utc();
        guard
            .as_ref()
            .filter(|e| e.serves(fingerprint, min_ttl, now))
            .map(Entry::served)
    }

    /// The cached token, or the one `upstream` fetches; at most one `upstream` runs per key
    /// at a time, and a waiter served by the previous one's result does not run its own.
    /// `upstream` returning `None` (not `ACTIVE`, an error, too short) empties the slot.
    pub(crate) async fn get_or_fetch(
        &self,
        key: &Key,
        fingerprint: &str,
        min_ttl: Duration,
        upstream: impl Future<Output = Option<Entry>>,
    ) -> Option<Served> {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(entry) = guard
            .as_ref()
            .filter(|e| e.serves(fingerprint, min_ttl, now))
        {
            return Some(entry.served());
        }
        // A token too close to its expiry for anyone is not kept at all.
        *guard = upstream
            .await
            .filter(|e| e.expires_at - now > MIN_SERVED_TTL);
        guard
            .as_ref()
            .filter(|e| e.serves(fingerprint, min_ttl, now))
            .map(Entry::served)
    }

    /// Records a client's config stamp; a stamp that changed since the last request from that
    /// directory flushes everything (any change to config.toml or credentials.toml).
    pub(crate) fn note_config(&self, dir: &str, stamp: &str) -> bool {
        let mut stamps = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = stamps
            .insert(dir.to_owned(), stamp.to_owned())
            .is_some_and(|old| old != stamp);
        drop(stamps);
        if changed {
            self.flush(None, None);
        }
        changed
    }

    /// Drops the entries of `connection` (and `identifier`), or all of them; returns how many
    /// held a token. A fetch under way for a dropped key finishes into a slot nobody reads.
    pub(crate) fn flush(&self, connection: Option<&str>, identifier: Option<&str>) -> usize {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let matches = |k: &Key| {
            connection.is_none_or(|c| c == k.connection)
                && identifier.is_none_or(|i| i == k.identifier)
        };
        let gone: Vec<Key> = slots.keys().filter(|k| matches(k)).cloned().collect();
        let mut count = 0;
        for key in gone {
            if let Some(slot) = slots.remove(&key) {
                // Being fetched (locked): the fetcher's result lands in the removed slot.
                if let Ok(mut guard) = slot.try_lock() {
                    count += usize::from(guard.take().is_some());
                }
            }
        }
        count
    }

    /// Drops entries whose tokens can no longer be served (less than [`MIN_SERVED_TTL`]
    /// left), so their memory is zeroed and freed.
    pub(crate) fn sweep(&self) {
        let now = OffsetDateTime::now_utc();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, slot| match slot.try_lock() {
            Ok(guard) => guard
                .as_ref()
                .is_some_and(|e| e.expires_at - now > MIN_SERVED_TTL),
            Err(_) => true,
        });
    }

    /// What `agent status` shows: never a token.
    pub(crate) fn entries(&self) -> Vec<EntryInfo> {
        let now = OffsetDateTime::now_utc();
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<EntryInfo> = slots
            .iter()
            .filter_map(|(key, slot)| {
                let guard = slot.try_lock().ok()?;
                let entry = guard
                    .as_ref()
                    .filter(|e| e.expires_at - now > MIN_SERVED_TTL)?;
                Some(EntryInfo {
                    service: entry.service.clone(),
                    connection: key.connection.clone(),
                    identifier: key.identifier.clone(),
                    env_url: key.env_url.clone(),
                    expires_at: entry.expires_at.unix_timestamp(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.service, &a.identifier).cmp(&(&b.service, &b.identifier)));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(connection: &str) -> Key {
        Key {
            env_url: "https://a".into(),
            client_id: "id".into(),
            connection: connection.into(),
            identifier: "me".into(),
        }
    }

    fn entry(ttl: Duration) -> Entry {
        Entry {
            service: "gmail".into(),
            fingerprint: "fp".into(),
            token: Secret::new("tok-123456"),
            expires_at: OffsetDateTime::now_utc() + ttl,
            scopes: vec![],
            authorization_type: "OAUTH".into(),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_misses_fetch_once_and_rules_hold() {
        let cache = Arc::new(Cache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let cache = Arc::clone(&cache);
            let calls = Arc::clone(&calls);
            tasks.spawn(async move {
                cache
                    .get_or_fetch(&key("c"), "fp", Duration::ZERO, async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Some(entry(Duration::from_secs(3600)))
                    })
                    .await
                    .is_some()
            });
        }
        while let Some(served) = tasks.join_next().await {
            assert!(served.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another fingerprint (another secret) is not served; a larger min_ttl neither.
        assert!(cache.get(&key("c"), "other", Duration::ZERO).is_none());
        assert!(
            cache
                .get(&key("c"), "fp", Duration::from_secs(7200))
                .is_none()
        );
        assert!(cache.get(&key("c"), "fp", Duration::ZERO).is_some());
        assert_eq!(cache.entries().len(), 1);
        // A config change flushes; the first stamp of a directory does not.
        assert!(!cache.note_config("/d", "1"));
        assert!(cache.get(&key("c"), "fp", Duration::ZERO).is_some());
        assert!(cache.note_config("/d", "2"));
        assert!(cache.get(&key("c"), "fp", Duration::ZERO).is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tokens_near_expiry_are_never_served_and_flush_is_selective() {
        let cache = Cache::default();
        let short = cache
            .get_or_fetch(&key("a"), "fp", Duration::ZERO, async {
                Some(entry(Duration::from_secs(59)))
            })
            .await;
        assert!(short.is_none(), "less than 60 s left is never served");
        for c in ["b", "c"] {
            cache
                .get_or_fetch(&key(c), "fp", Duration::ZERO, async {
                    Some(entry(Duration::from_secs(600)))
                })
                .await
                .unwrap();
        }
        assert_eq!(cache.flush(Some("b"), Some("me")), 1);
        assert!(cache.get(&key("b"), "fp", Duration::ZERO).is_none());
        assert!(cache.get(&key("c"), "fp", Duration::ZERO).is_some());
        // A fetch that finds nothing (not ACTIVE) empties the slot.
        assert!(
            cache
                .get_or_fetch(&key("c"), "other", Duration::ZERO, async { None })
                .await
                .is_none()
        );
        assert!(cache.get(&key("c"), "fp", Duration::ZERO).is_none());
        cache.sweep();
        assert!(cache.entries().is_empty());
    }
}
