//! The emulator's state: connected accounts, magic links, API tokens, settings,
//! queued faults and the request log. Plain data behind one mutex; every operation
//! is synchronous and never held across an `.await`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;

use crate::wire;
use crate::{Fault, LoggedRequest, MagicLinkInfo, Options, SeedAccount};

/// The `ConnectorStatus` names.
pub(crate) const STATUSES: &[&str] = &[
    "ACTIVE",
    "EXPIRED",
    "PENDING_AUTH",
    "PENDING_VERIFICATION",
    "DISCONNECTED",
];

/// The `ConnectorType` names.
pub(crate) const AUTHORIZATION_TYPES: &[&str] = &[
    "OAUTH",
    "API_KEY",
    "BASIC_AUTH",
    "BEARER_TOKEN",
    "CUSTOM",
    "BASIC",
    "OAUTH_M2M",
    "TRELLO_OAUTH1",
    "GOOGLE_DWD",
    "TRUSTED_IDP",
    "SMART_FHIR",
    "NO_AUTH",
];

/// Scopes granted on consent when the account has none of its own.
pub(crate) const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];

/// Lifetime of a third-party access token minted by the emulator.
pub(crate) const PROVIDER_TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);

/// Lifetime of an API token from `POST /oauth/token` (`expires_in`).
pub(crate) const API_TOKEN_LIFETIME: Duration = Duration::from_secs(86_399);

/// Stored credentials: the `authorization_details` oneof.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    /// `oauth_token`.
    OAuth(OAuthToken),
    /// `static_auth.details`, a JSON object.
    Static(Value),
}

/// The `oauth_token` member.
#[derive(Clone, Debug, Default)]
pub(crate) struct OAuthToken {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) domain: String,
}

/// One connected account.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) connector: String,
    pub(crate) identifier: String,
    pub(crate) provider: String,
    pub(crate) status: String,
    pub(crate) authorization_type: String,
    pub(crate) credentials: Credentials,
    pub(crate) token_expires_at: Option<OffsetDateTime>,
    pub(crate) updated_at: OffsetDateTime,
    pub(crate) last_used_at: Option<OffsetDateTime>,
    pub(crate) organization_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) api_config: Option<Value>,
}

impl Account {
    /// A new account with empty OAuth credentials in `PENDING_AUTH`.
    pub(crate) fn pending(
        id: String,
        connector: &str,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            connector: connector.to_owned(),
            identifier: identifier.to_owned(),
            provider: derive_provider(connector),
            status: "PENDING_AUTH".to_owned(),
            authorization_type: "OAUTH".to_owned(),
            credentials: Credentials::OAuth(OAuthToken::default()),
            token_expires_at: None,
            updated_at: now,
            last_used_at: None,
            organization_id: None,
            user_id: None,
            api_config: None,
        }
    }

    /// What the consent page's Allow does to the account (without verification).
    fn activate(&mut self, now: OffsetDateTime) {
        "ACTIVE".clone_into(&mut self.status);
        self.updated_at = now;
        if let Credentials::OAuth(token) = &mut self.credentials {
            token.access_token = fresh_access_token();
            token.refresh_token = fresh_refresh_token();
            if token.scopes.is_empty() {
                token.scopes = default_scopes();
            }
            self.token_expires_at = Some(now + PROVIDER_TOKEN_LIFETIME);
        }
    }
}

/// Runtime settings; [`Options`] gives their start-up values.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) link_ttl: Duration,
    pub(crate) latency: Duration,
    pub(crate) verification_mode: bool,
    pub(crate) create_status: u16,
    pub(crate) upstream: Option<String>,
}

impl Settings {
    fn from_options(opts: &Options) -> Self {
        Self {
            link_ttl: opts.link_ttl,
            latency: opts.latency,
            verification_mode: false,
            create_status: 200,
            upstream: opts.upstream.clone(),
        }
    }
}

/// A minted magic link.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) uuid: String,
    /// The account it was minted for; a deleted and re-created account is another.
    pub(crate) account_id: String,
    pub(crate) connector: String,
    pub(crate) identifier: String,
    pub(crate) expiry: OffsetDateTime,
    pub(crate) used: bool,
    pub(crate) state: Option<String>,
    pub(crate) user_verify_url: Option<String>,
}

/// Why a link cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkProblem {
    /// No such link.
    Unknown,
    /// Already allowed or denied.
    Used,
    /// Past its expiry.
    Expired,
    /// Its account was deleted.
    AccountGone,
}

/// What happened to a link when it was shown, allowed or denied.
#[derive(Clone, Debug)]
pub(crate) enum LinkOutcome {
    /// The link cannot be used.
    Unusable(LinkProblem),
    /// The link is usable (only from [`State::link_page`]).
    Open { link: Link, provider: String },
    /// Deny: the account is unchanged.
    Denied { link: Link },
    /// Allow: `ACTIVE`, or `PENDING_VERIFICATION` with a verification to complete.
    Approved {
        link: Link,
        verification: Option<Verification>,
    },
}

impl LinkOutcome {
    /// Whether this is a successful Allow.
    pub(crate) fn is_approved(&self) -> bool {
        matches!(self, Self::Approved { .. })
    }
}

/// A pending user verification (verification mode).
#[derive(Clone, Debug)]
pub(crate) struct Verification {
    pub(crate) auth_request_id: String,
    /// `user_verify_url` with `auth_request_id` and `state` added, when one was given.
    pub(crate) redirect: Option<String>,
}

/// Why `POST …/user/verify` failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum VerifyError {
    NotFound,
    IdentifierMismatch,
}

/// What an `Authorization` header's bearer token is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Invalid,
    Expired,
}

#[derive(Clone, Debug)]
struct ApiToken {
    issued: Instant,
    revoked: bool,
}

#[derive(Clone, Debug)]
struct QueuedFault {
    fault: Fault,
    remaining: u32,
}

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
        };
        let now = crate::now();
        for seed in &opts.seed {
            state.seed(seed.clone(), now);
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

    /// The `/auth` rendering of an account, without marking it used.
    pub(crate) fn account_json(&self, connector: &str, identifier: &str) -> Option<Value> {
        let account = &self.accounts[self.position(connector, identifier)?];
        Some(wire::to_json(&wire::account(account, wire::View::Auth)))
    }

    /// Every account, rendered as `/auth` would.
    pub(crate) fn accounts_json(&self) -> Vec<Value> {
        self.accounts
            .iter()
            .map(|a| wire::to_json(&wire::account(a, wire::View::Auth)))
            .collect()
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

    // ---- magic links ----------------------------------------------------------

    /// Mints a link for the account at `index`; returns the URL and its expiry.
    pub(crate) fn mint_link(
        &mut self,
        index: usize,
        state: Option<String>,
        user_verify_url: Option<String>,
        now: OffsetDateTime,
    ) -> (String, OffsetDateTime) {
        let account = &self.accounts[index];
        let ttl = time::Duration::try_from(self.settings.link_ttl).unwrap_or(time::Duration::MAX);
        let expiry = now.checked_add(ttl).unwrap_or(now);
        let uuid = uuid::Uuid::new_v4().to_string();
        let url = self.link_url(&uuid);
        self.links.push(Link {
            uuid,
            account_id: account.id.clone(),
            connector: account.connector.clone(),
            identifier: account.identifier.clone(),
            expiry,
            used: false,
            state,
            user_verify_url,
        });
        (url, expiry)
    }

    fn link_url(&self, uuid: &str) -> String {
        format!("{}/magicLink/{uuid}", self.base_url)
    }

    /// See [`crate::Emulator::magic_links`].
    pub(crate) fn magic_links(&self) -> Vec<MagicLinkInfo> {
        self.links
            .iter()
            .map(|link| MagicLinkInfo {
                link: self.link_url(&link.uuid),
                connector: link.connector.clone(),
                identifier: link.identifier.clone(),
                expiry: wire::timestamp(link.expiry),
                used: link.used,
            })
            .collect()
    }

    /// Finds a usable link by URL or uuid, or says why it is not usable.
    fn usable_link(&self, link: &str, now: OffsetDateTime) -> Result<usize, LinkProblem> {
        let uuid = link
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let Some(index) = self.links.iter().position(|l| l.uuid == uuid) else {
            return Err(LinkProblem::Unknown);
        };
        let found = &self.links[index];
        if found.used {
            return Err(LinkProblem::Used);
        }
        if now > found.expiry {
            return Err(LinkProblem::Expired);
        }
        if !self.accounts.iter().any(|a| a.id == found.account_id) {
            return Err(LinkProblem::AccountGone);
        }
        Ok(index)
    }

    /// What the consent page shows for a link (`Open`, or why not).
    pub(crate) fn link_page(&self, link: &str, now: OffsetDateTime) -> LinkOutcome {
        match self.usable_link(link, now) {
            Ok(index) => {
                let link = self.links[index].clone();
                let provider = self
                    .accounts
                    .iter()
                    .find(|a| a.id == link.account_id)
                    .map(|a| a.provider.clone())
                    .unwrap_or_default();
                LinkOutcome::Open { link, provider }
            }
            Err(problem) => LinkOutcome::Unusable(problem),
        }
    }

    /// Allow or Deny on a link's consent page. Either way the link is used up.
    pub(crate) fn decide_link(
        &mut self,
        link: &str,
        allow: bool,
        now: OffsetDateTime,
    ) -> LinkOutcome {
        let index = match self.usable_link(link, now) {
            Ok(index) => index,
            Err(problem) => return LinkOutcome::Unusable(problem),
        };
        self.links[index].used = true;
        let link = self.links[index].clone();
        if !allow {
            return LinkOutcome::Denied { link };
        }
        let Some(account) = self.accounts.iter_mut().find(|a| a.id == link.account_id) else {
            return LinkOutcome::Unusable(LinkProblem::AccountGone);
        };
        if !self.settings.verification_mode {
            account.activate(now);
            return LinkOutcome::Approved {
                link,
                verification: None,
            };
        }
        "PENDING_VERIFICATION".clone_into(&mut account.status);
        account.updated_at = now;
        let auth_request_id = random_alphanumeric(32);
        self.verifications
            .insert(auth_request_id.clone(), account.id.clone());
        let redirect = link
            .user_verify_url
            .as_deref()
            .filter(|url| !url.is_empty())
            .map(|url| {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("auth_request_id", &auth_request_id);
                if let Some(state) = link.state.as_deref().filter(|s| !s.is_empty()) {
                    query.append_pair("state", state);
                }
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}{}", query.finish())
            });
        LinkOutcome::Approved {
            link,
            verification: Some(Verification {
                auth_request_id,
                redirect,
            }),
        }
    }

    /// `POST …/user/verify`: completes a verification and activates the account.
    pub(crate) fn verify_user(
        &mut self,
        auth_request_id: &str,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let account_id = self
            .verifications
            .get(auth_request_id)
            .ok_or(VerifyError::NotFound)?;
        let account = self
            .accounts
            .iter_mut()
            .find(|a| &a.id == account_id)
            .ok_or(VerifyError::NotFound)?;
        if account.identifier != identifier {
            return Err(VerifyError::IdentifierMismatch);
        }
        account.activate(now);
        self.verifications.remove(auth_request_id);
        Ok(())
    }

    // ---- API tokens -----------------------------------------------------------

    /// Issues a new opaque API token.
    pub(crate) fn issue_api_token(&mut self) -> String {
        let token = format!("skemu_{}", random_alphanumeric(40));
        self.tokens.insert(
            token.clone(),
            ApiToken {
                issued: Instant::now(),
                revoked: false,
            },
        );
        token
    }

    /// Whether a bearer token is one this emulator issued and still honours.
    pub(crate) fn check_api_token(&self, token: &str) -> TokenCheck {
        match self.tokens.get(token) {
            None => TokenCheck::Invalid,
            Some(t) if t.revoked || t.issued.elapsed() > API_TOKEN_LIFETIME => TokenCheck::Expired,
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
        self.faults.push(QueuedFault { fault, remaining });
    }

    /// Takes one use of the oldest fault queued for `path`.
    pub(crate) fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| f.fault.path == path)?;
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

/// Builds the account a seed describes.
fn account_from_seed(seed: SeedAccount, id: String, now: OffsetDateTime) -> Account {
    let status = seed.status.unwrap_or_else(|| "ACTIVE".to_owned());
    let active = status == "ACTIVE";
    let expires_in = |default: Option<i64>| {
        seed.token_expires_in_secs
            .or(default)
            .map(|secs| now + time::Duration::seconds(secs))
    };
    let (credentials, authorization_type, token_expires_at) =
        if let Some(details) = seed.static_auth {
            let kind = seed
                .authorization_type
                .unwrap_or_else(|| static_authorization_type(&details).to_owned());
            (Credentials::Static(details), kind, expires_in(None))
        } else {
            let mut token = OAuthToken {
                access_token: seed.access_token.unwrap_or_default(),
                refresh_token: seed.refresh_token.unwrap_or_default(),
                scopes: seed.scopes,
                domain: String::new(),
            };
            let mut default_expiry = None;
            if active {
                if token.access_token.is_empty() {
                    token.access_token = fresh_access_token();
                }
                if token.refresh_token.is_empty() {
                    token.refresh_token = fresh_refresh_token();
                }
                if token.scopes.is_empty() {
                    token.scopes = default_scopes();
                }
                default_expiry = Some(PROVIDER_TOKEN_LIFETIME.whole_seconds());
            }
            let kind = seed
                .authorization_type
                .unwrap_or_else(|| "OAUTH".to_owned());
            (Credentials::OAuth(token), kind, expires_in(default_expiry))
        };
    let provider = seed
        .provider
        .unwrap_or_else(|| derive_provider(&seed.connector));
    Account {
        id,
        connector: seed.connector,
        identifier: seed.identifier,
        provider,
        status,
        authorization_type,
        credentials,
        token_expires_at,
        updated_at: now,
        last_used_at: None,
        organization_id: None,
        user_id: None,
        api_config: None,
    }
}

/// Checks a seed; see [`SeedAccount::validate`].
pub(crate) fn validate_seed(seed: &SeedAccount) -> Result<(), String> {
    if seed.connector.is_empty() || !wire::is_valid_connector(&seed.connector) {
        return Err(format!(
            "connector {:?} must be 1-400 characters matching ^[a-zA-Z0-9_: -]*$",
            seed.connector
        ));
    }
    let identifier_len = seed.identifier.chars().count();
    if identifier_len == 0 || identifier_len > 100 {
        return Err(format!(
            "identifier {:?} must be 1-100 characters",
            seed.identifier
        ));
    }
    if let Some(status) = &seed.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(format!(
            "status {status:?} is not one of {}",
            STATUSES.join(", ")
        ));
    }
    if let Some(kind) = &seed.authorization_type
        && !AUTHORIZATION_TYPES.contains(&kind.as_str())
    {
        return Err(format!(
            "authorization_type {kind:?} is not one of {}",
            AUTHORIZATION_TYPES.join(", ")
        ));
    }
    if let Some(details) = &seed.static_auth
        && !details.is_object()
    {
        return Err("static_auth must be a JSON object (the details)".to_owned());
    }
    Ok(())
}

/// The `authorization_type` implied by static credentials.
pub(crate) fn static_authorization_type(details: &Value) -> &'static str {
    let has = |key: &str| details.get(key).is_some_and(|v| !v.is_null());
    if has("username") && has("password") {
        "BASIC_AUTH"
    } else if has("token") || has("access_token") {
        "BEARER_TOKEN"
    } else {
        "API_KEY"
    }
}

/// Provider key from a connection name: the text before the first `_` or `-`,
/// upper-cased (`gmail_u3134a` → `GMAIL`).
pub(crate) fn derive_provider(connector: &str) -> String {
    connector
        .split(['_', '-'])
        .next()
        .unwrap_or_default()
        .to_uppercase()
}

/// The scopes granted when none are known.
pub(crate) fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// `n` random ASCII letters and digits.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(n)
        .collect()
}

/// A new third-party access token, Google-style.
pub(crate) fn fresh_access_token() -> String {
    format!("ya29.emu.{}", random_alphanumeric(40))
}

/// A new third-party refresh token, Google-style.
fn fresh_refresh_token() -> String {
    format!("1//emu.{}", random_alphanumeric(40))
}
