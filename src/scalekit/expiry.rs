//! When the cached API token is due for renewal (docs/scalekit-wire.md §3): a long-lived
//! client (`mcp`, the agent) fetches a new one shortly before Scalekit would answer 401.

use std::time::{Duration, Instant};

use crate::secret::Secret;

/// Renew this long before the token expires…
const MARGIN: Duration = Duration::from_secs(60);
/// …or, for a lifetime shorter than this, half the lifetime before.
const SHORT_LIFETIME: Duration = Duration::from_secs(120);
/// An `expires_in` longer than this counts as this long (SECURITY.md: numbers from outside
/// are bounded); Scalekit's tokens live about a day.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The cached API token.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) token: Option<Secret>,
    /// How many times a token was fetched (or adopted); lets concurrent requests that all
    /// saw a 401 re-authenticate only once.
    pub(super) generation: u64,
    /// When the token expires and how long before that it is renewed; `None`: unknown, so
    /// it is used until a 401.
    pub(super) expiry: Option<(Instant, Duration)>,
}

impl Slot {
    /// The token, unless there is none, it is the generation that got a 401 (`stale`), or
    /// it is within its renewal margin at `now`.
    pub(super) fn usable(&self, stale: Option<u64>, now: Instant) -> Option<(Secret, u64)> {
        let token = self.token.as_ref()?;
        if stale == Some(self.generation) {
            return None;
        }
        if let Some((expires, margin)) = self.expiry
            && expires.saturating_duration_since(now) <= margin
        {
            return None;
        }
        Some((token.clone(), self.generation))
    }

    /// Stores a token fetched with a request sent at `sent` that said `expires_in`.
    pub(super) fn store(&mut self, token: Secret, sent: Instant, expires_in: Option<u64>) -> u64 {
        self.token = Some(token);
        self.generation += 1;
        self.expiry = expiry(sent, expires_in);
        self.generation
    }
}

/// When a token that lives `expires_in` seconds from `sent` expires, and its renewal
/// margin; `None` when unknown or beyond the clock.
fn expiry(sent: Instant, expires_in: Option<u64>) -> Option<(Instant, Duration)> {
    let lifetime = Duration::from_secs(expires_in?).min(MAX_LIFETIME);
    Some((sent.checked_add(lifetime)?, margin(lifetime)))
}

/// How long before its expiry a token of this lifetime is renewed.
fn margin(lifetime: Duration) -> Duration {
    if lifetime < SHORT_LIFETIME {
        lifetime / 2
    } else {
        MARGIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_minute_or_half_a_short_lifetime() {
        assert_eq!(margin(Duration::from_secs(86_399)), MARGIN);
        assert_eq!(margin(Duration::from_secs(120)), MARGIN);
        assert_eq!(
            margin(Duration::from_secs(119)),
            Duration::from_millis(59_500)
        );
        assert_eq!(margin(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_token_is_renewed_within_its_margin_and_unknown_expiry_never() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut slot = Slot::default();
        assert!(slot.usable(None, t0).is_none());

        // A day: used until a minute before it expires.
        let generation = slot.store(Secret::new("a"), t0, Some(86_400));
        assert_eq!(generation, 1);
        assert!(slot.usable(None, t0).is_some());
        assert!(slot.usable(None, t0 + secs(86_400 - 61)).is_some());
        assert!(slot.usable(None, t0 + secs(86_400 - 60)).is_none());
        assert!(slot.usable(None, t0 + secs(90_000)).is_none());
        // The generation that got a 401 is never handed out again.
        assert!(slot.usable(Some(1), t0).is_none());
        assert_eq!(slot.usable(Some(0), t0).map(|(_, g)| g), Some(1));

        // Two seconds: renewed after one.
        slot.store(Secret::new("b"), t0, Some(2));
        assert!(slot.usable(None, t0 + Duration::from_millis(999)).is_some());
        assert!(slot.usable(None, t0 + secs(1)).is_none());
        // Zero: never reused.
        slot.store(Secret::new("c"), t0, Some(0));
        assert!(slot.usable(None, t0).is_none());

        // Unknown: reused until a 401, however long.
        let generation = slot.store(Secret::new("d"), t0, None);
        assert!(slot.usable(None, t0 + secs(10_000_000)).is_some());
        assert!(slot.usable(Some(generation), t0).is_none());
    }

    #[test]
    fn huge_lifetimes_are_bounded_and_never_panic() {
        let t0 = Instant::now();
        for secs in [86_401, u64::MAX / 2, u64::MAX] {
            let (expires, margin) = expiry(t0, Some(secs)).expect("bounded");
            assert_eq!(expires - t0, MAX_LIFETIME, "{secs}");
            assert_eq!(margin, MARGIN);
        }
        assert!(expiry(t0, None).is_none());
    }
}
