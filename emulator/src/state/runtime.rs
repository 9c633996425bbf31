//! The emulator's own machinery: settings, API tokens, list page tokens, queued
//! faults and the request log.

use std::time::{Duration, Instant};

use super::State;
use crate::rules::random_alphanumeric;
use crate::types::{Fault, LoggedRequest, Options};

/// Runtime settings; [`Options`] gives their start-up values.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) link_ttl: Duration,
    /// Lifetime of the API tokens issued from now on.
    pub(crate) api_token_lifetime: Duration,
    pub(crate) latency: Duration,
    pub(crate) verification_mode: bool,
    pub(crate) create_status: u16,
    pub(crate) upstream: Option<String>,
}

impl Settings {
    pub(super) fn from_options(opts: &Options) -> Self {
        Self {
            link_ttl: opts.link_ttl,
            api_token_lifetime: opts.api_token_lifetime,
            latency: opts.latency,
            verification_mode: false,
            create_status: 200,
            upstream: opts.upstream.clone(),
        }
    }
}

/// What an `Authorization` header's bearer token is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Invalid,
    Expired,
}

#[derive(Clone, Debug)]
pub(super) struct ApiToken {
    /// `None`: a lifetime too long to represent, i.e. never.
    expires: Option<Instant>,
    revoked: bool,
}

#[derive(Clone, Debug)]
pub(super) struct QueuedFault {
    fault: Fault,
    /// Matching requests still to let through before the fault applies.
    skip: u32,
    remaining: u32,
}

impl State {
    // ---- API tokens -----------------------------------------------------------

    /// Issues a new opaque API token, valid for the current `api_token_lifetime`, which it
    /// returns as well (`expires_in`).
    pub(crate) fn issue_api_token(&mut self) -> (String, Duration) {
        let token = format!("skemu_{}", random_alphanumeric(40));
        let lifetime = self.settings.api_token_lifetime;
        self.tokens.insert(
            token.clone(),
            ApiToken {
                expires: Instant::now().checked_add(lifetime),
                revoked: false,
            },
        );
        (token, lifetime)
    }

    /// Whether a bearer token is one this emulator issued and still honours.
    pub(crate) fn check_api_token(&self, token: &str) -> TokenCheck {
        match self.tokens.get(token) {
            None => TokenCheck::Invalid,
            Some(t) if t.revoked || t.expires.is_some_and(|at| Instant::now() >= at) => {
                TokenCheck::Expired
            }
            Some(_) => TokenCheck::Valid,
        }
    }

    /// See [`crate::Emulator::expire_api_tokens`].
    pub(crate) fn expire_api_tokens(&mut self) {
        for token in self.tokens.values_mut() {
            token.revoked = true;
        }
    }

    // ---- list paging ----------------------------------------------------------

    /// The opaque page token for an offset (the same one every time).
    pub(crate) fn page_token(&mut self, offset: usize) -> String {
        if let Some(token) = self.page_tokens_by_offset.get(&offset) {
            return token.clone();
        }
        let token = random_alphanumeric(24);
        self.page_tokens.insert(token.clone(), offset);
        self.page_tokens_by_offset.insert(offset, token.clone());
        token
    }

    /// The offset of a page token this emulator issued.
    pub(crate) fn page_offset(&self, token: &str) -> Option<usize> {
        self.page_tokens.get(token).copied()
    }

    // ---- faults ---------------------------------------------------------------

    /// See [`crate::Emulator::queue_fault`].
    pub(crate) fn queue_fault(&mut self, fault: Fault) {
        let remaining = fault.count.max(1);
        let skip = fault.nth.saturating_sub(1);
        self.faults.push(QueuedFault {
            fault,
            skip,
            remaining,
        });
    }

    /// Takes one use of the oldest fault that matches the request and has no
    /// requests left to let through. Every matching fault counts the request.
    pub(crate) fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let mut taken = None;
        for (index, queued) in self.faults.iter_mut().enumerate() {
            if !queued.fault.matches(method, path) {
                continue;
            }
            if queued.skip > 0 {
                queued.skip -= 1;
            } else if taken.is_none() {
                taken = Some(index);
            }
        }
        let index = taken?;
        let queued = &mut self.faults[index];
        queued.remaining -= 1;
        let fault = queued.fault.clone();
        if queued.remaining == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    // ---- request log ----------------------------------------------------------

    /// Records a request as received (status 0); returns its log key.
    pub(crate) fn log_received(&mut self, entry: LoggedRequest) -> u64 {
        self.next_log_seq += 1;
        self.log.push((self.next_log_seq, entry));
        self.next_log_seq
    }

    /// Records the status a logged request was answered with.
    pub(crate) fn log_answered(&mut self, key: u64, status: u16) {
        if let Some((_, entry)) = self.log.iter_mut().rev().find(|(k, _)| *k == key) {
            entry.status = status;
        }
    }

    /// See [`crate::Emulator::requests`].
    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.log.iter().map(|(_, entry)| entry.clone()).collect()
    }

    /// See [`crate::Emulator::clear_requests`].
    pub(crate) fn clear_requests(&mut self) {
        self.log.clear();
    }
}
