//! One connected account: its stored credentials, and how a seed becomes one.

use serde_json::Value;
use time::OffsetDateTime;

use crate::rules::{derive_provider, random_alphanumeric};
use crate::types::SeedAccount;

/// Scopes granted on consent when the account has none of its own.
pub(crate) const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];

/// Lifetime of a third-party access token minted by the emulator.
pub(crate) const PROVIDER_TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);

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
    pub(crate) fn activate(&mut self, now: OffsetDateTime) {
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

/// Builds the account a seed describes.
pub(super) fn account_from_seed(seed: SeedAccount, id: String, now: OffsetDateTime) -> Account {
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

/// The scopes granted when none are known.
pub(crate) fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// A new third-party access token, Google-style.
pub(crate) fn fresh_access_token() -> String {
    format!("ya29.emu.{}", random_alphanumeric(40))
}

/// A new third-party refresh token, Google-style.
fn fresh_refresh_token() -> String {
    format!("1//emu.{}", random_alphanumeric(40))
}
