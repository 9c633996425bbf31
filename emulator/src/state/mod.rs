//! The emulator's state: connected accounts, magic links, API tokens, settings,
//! queued faults and the request log. Plain data behind one mutex; every operation
//! is synchronous and never held across an `.await`.

mod account;
mod links;
mod runtime;
mod tools;

use std::collections::HashMap;

use time::OffsetDateTime;

pub(crate) use account::{
    Account, Credentials, OAuthToken, PROVIDER_TOKEN_LIFETIME, fresh_access_token,
    static_authorization_type,
};
pub(crate) use links::{Link, LinkOutcome, LinkProblem, VerifyError};
pub(crate) use runtime::{Settings, TokenCheck};
pub(crate) use tools::Connection;

use crate::types::{Execution, LoggedRequest, Options, SeedAccount};
use account::account_from_seed;
use runtime::{ApiToken, QueuedFault};

/// How to find an account from a request: by `id`, else by connector + identifier
/// (narrowed by `organization_id` / `user_id` when given).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lookup<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) connector: Option<&'a str>,
    pub(crate) identifier: Option<&'a str>,
    pub(crate) organization_id: Option<&'a str>,
    pub(crate) user_id: Option<&'a str>,
}

/// Everything the emulator remembers.
#[derive(Debug)]
pub(crate) struct State {
    base_url: String,
    /// In creation order, which is also the list order.
    pub(crate) accounts: Vec<Account>,
    links: Vec<Link>,
    tokens: HashMap<String, ApiToken>,
    pub(crate) settings: Settings,
    faults: Vec<QueuedFault>,
    log: Vec<(u64, LoggedRequest)>,
    next_log_seq: u64,
    page_tokens: HashMap<String, usize>,
    page_tokens_by_offset: HashMap<usize, String>,
    /// `auth_request_id` → account id.
    verifications: HashMap<String, String>,
    /// In the order configured, which is also the list order.
    pub(crate) connections: Vec<Connection>,
    /// Tool executions that ran, oldest first.
    executions: Vec<Execution>,
}

impl State {
    /// The start-up state for `opts`, seeds included.
    pub(crate) fn new(opts: &Options, base_url: &str) -> Self {
        let mut state = Self {
            base_url: base_url.to_owned(),
            accounts: Vec::new(),
            links: Vec::new(),
            tokens: HashMap::new(),
            settings: Settings::from_options(opts),
            faults: Vec::new(),
            log: Vec::new(),
            next_log_seq: 0,
            page_tokens: HashMap::new(),
            page_tokens_by_offset: HashMap::new(),
            verifications: HashMap::new(),
            connections: Vec::new(),
            executions: Vec::new(),
        };
        let now = crate::types::now();
        for seed in &opts.seed {
            state.seed(seed.clone(), now);
        }
        for connection in &opts.connections {
            state.seed_connection(connection.clone(), now);
        }
        state
    }

    /// Back to the start-up state (the base URL stays).
    pub(crate) fn reset(&mut self, opts: &Options) {
        let base_url = std::mem::take(&mut self.base_url);
        *self = Self::new(opts, &base_url);
    }

    /// The emulator's own URL.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    // ---- accounts -------------------------------------------------------------

    /// A `ca_` id that no account has.
    pub(crate) fn new_account_id(&self) -> String {
        loop {
            let id = format!(
                "ca_{}",
                fastrand::u64(100_000_000_000_000_000..1_000_000_000_000_000_000)
            );
            if !self.accounts.iter().any(|a| a.id == id) {
                return id;
            }
        }
    }

    /// Index of the account with this connector and identifier.
    pub(crate) fn position(&self, connector: &str, identifier: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|a| a.connector == connector && a.identifier == identifier)
    }

    /// Index of the account a request designates.
    pub(crate) fn locate(&self, lookup: &Lookup<'_>) -> Option<usize> {
        if let Some(id) = lookup.id.filter(|id| !id.is_empty()) {
            return self.accounts.iter().position(|a| a.id == id);
        }
        let index = self.position(lookup.connector?, lookup.identifier?)?;
        let account = &self.accounts[index];
        let scoped = |wanted: Option<&str>, have: &Option<String>| match wanted {
            Some(w) if !w.is_empty() => have.as_deref() == Some(w),
            _ => true,
        };
        (scoped(lookup.organization_id, &account.organization_id)
            && scoped(lookup.user_id, &account.user_id))
        .then_some(index)
    }

    /// Puts a seeded account in place; see [`crate::Emulator::seed`].
    pub(crate) fn seed(&mut self, seed: SeedAccount, now: OffsetDateTime) -> String {
        let existing = self.position(&seed.connector, &seed.identifier);
        let id = match existing {
            Some(index) => self.accounts[index].id.clone(),
            None => self.new_account_id(),
        };
        let account = account_from_seed(seed, id.clone(), now);
        match existing {
            Some(index) => self.accounts[index] = account,
            None => self.accounts.push(account),
        }
        id
    }

    /// See [`crate::Emulator::activate`].
    pub(crate) fn activate(
        &mut self,
        connector: &str,
        identifier: &str,
        now: OffsetDateTime,
    ) -> bool {
        match self.position(connector, identifier) {
            Some(index) => {
                self.accounts[index].activate(now);
                true
            }
            None => false,
        }
    }

    /// See [`crate::Emulator::set_status`].
    pub(crate) fn set_status(
        &mut self,
        connector: &str,
        identifier: &str,
        status: &str,
        now: OffsetDateTime,
    ) -> bool {
        let Some(index) = self.position(connector, identifier) else {
            return false;
        };
        let account = &mut self.accounts[index];
        let needs_token = matches!(&account.credentials,
            Credentials::OAuth(token) if token.access_token.is_empty());
        if status == "ACTIVE" && needs_token {
            account.activate(now);
        } else {
            status.clone_into(&mut account.status);
            account.updated_at = now;
        }
        true
    }

    /// See [`crate::Emulator::rotate_token`].
    pub(crate) fn rotate_token(
        &mut self,
        connector: &str,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Option<String> {
        let index = self.position(connector, identifier)?;
        let account = &mut self.accounts[index];
        let Credentials::OAuth(token) = &mut account.credentials else {
            return None;
        };
        token.access_token = fresh_access_token();
        account.token_expires_at = Some(now + PROVIDER_TOKEN_LIFETIME);
        account.updated_at = now;
        Some(token.access_token.clone())
    }

    /// See [`crate::Emulator::set_token_expiry`].
    pub(crate) fn set_token_expiry(
        &mut self,
        connector: &str,
        identifier: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> bool {
        match self.position(connector, identifier) {
            Some(index) => {
                self.accounts[index].token_expires_at = expires_at;
                true
            }
            None => false,
        }
    }
}
