//! A string that never shows itself in `Debug` or `Display`, and the registry of every
//! secret this run has seen, so that server text can be redacted before it is shown.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// What a secret is replaced with in server messages.
pub(crate) const REDACTED: &str = "[redacted]";

/// Values shorter than this are not redacted: a one- or two-letter "secret" would turn every
/// message into `[redacted]` soup while hiding nothing an attacker could not guess.
const MIN_REDACTED_LEN: usize = 4;

/// Every secret value this run has held (client secret, API token, access tokens, static
/// credential fields), with the forms a server could echo them in. Process-wide, so that
/// one printer can redact what any part of the run learnt.
static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Off in the agent: a long-lived process shows no server text to anyone, and a registry of
/// every token it ever held would keep them all in memory for its whole life.
static REGISTERING: AtomicBool = AtomicBool::new(true);

/// A client secret or access token. `Debug` prints `Secret(<redacted>)`; there is no
/// `Display`, so it cannot slip into a formatted message by accident. Read it with
/// [`Secret::expose`] only where it must leave the process (a request body, `token`'s stdout).
/// Creating one registers its value for [`redact`].
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The secret's value. Every call site is a place where the secret leaves the process.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The bytes are overwritten before the memory is freed, so a dropped token does not linger
/// in the heap (the agent holds tokens for hours). Best effort: copies made by libraries
/// (request buffers) are beyond reach.
impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from dropping the writes to memory that is freed next.
        std::hint::black_box(&mut bytes);
    }
}

/// Stops registering new secrets for redaction (the agent; see `REGISTERING`).
pub(crate) fn stop_registering() {
    REGISTERING.store(false, Ordering::Relaxed);
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Remembers `value` (and its form-encoded spelling, the way it travels in
/// `POST /oauth/token`'s body) as a secret to redact from server text for the rest of the run.
pub(crate) fn register(value: &str) {
    if value.chars().count() < MIN_REDACTED_LEN || !REGISTERING.load(Ordering::Relaxed) {
        return;
    }
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let encoded = form_encode(value);
    if encoded != value {
        seen.insert(encoded);
    }
    seen.insert(value.to_owned());
}

/// Registers every string inside a JSON value (static credentials are free-form objects).
pub(crate) fn register_json(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => register(s),
        serde_json::Value::Array(items) => items.iter().for_each(register_json),
        serde_json::Value::Object(map) => map.values().for_each(register_json),
        _ => {}
    }
}

/// `text` with every registered secret replaced by `[redacted]`, longest first (so a
/// `user:password` pair goes whole, not around its password). Applied to every server
/// message before it is shown (SECURITY.md, "Output from outside").
pub(crate) fn redact(text: &str) -> String {
    let seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut secrets: Vec<&String> = seen.iter().filter(|s| text.contains(s.as_str())).collect();
    if secrets.is_empty() {
        return text.to_owned();
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in secrets {
        out = out.replace(secret.as_str(), REDACTED);
    }
    out
}

/// `application/x-www-form-urlencoded` spelling of `value` (as `reqwest`'s form encoder
/// writes it): ASCII letters, digits and `*-._` kept, space as `+`, other bytes `%XX`.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Secret;
    use crate::config::resolve::{Layer, Setting, Source};
    use crate::config::{Config, Env, Import, ServiceConfig, StoredCredentials};
    use crate::flows::context::Target;
    use crate::flows::credentials::{Credential, Scheme};
    use crate::scalekit::ClientOptions;
    use crate::scalekit::types::{
        AccountEnvelope, ConnectedAccount, OauthToken, StaticAuth, TokenResponse,
    };

    /// Fails when the `Debug` of `value`, plain or pretty, shows anything marked `HIDDEN`.
    #[track_caller]
    fn assert_redacted(what: &str, value: &impl std::fmt::Debug) {
        let shown = format!("{value:?}\n{value:#?}");
        assert!(!shown.contains("HIDDEN"), "{what} shows a secret: {shown}");
    }

    #[test]
    fn debug_of_every_type_that_holds_a_secret_is_redacted() {
        let secret = || Secret::new("client-HIDDEN-1");
        let services = [(
            "gmail".to_owned(),
            ServiceConfig {
                connection_name: "gmail_u3134a".into(),
                identifier: Some("mess".into()),
                hosts: vec!["gmail.googleapis.com".into()],
            },
        )];
        assert_redacted(
            "Config",
            &Config {
                env_url: Some("https://acme.scalekit.dev".into()),
                client_id: Some("skc_1".into()),
                identifier: Some("mess".into()),
                services: services.clone().into_iter().collect(),
            },
        );
        assert_redacted(
            "StoredCredentials",
            &StoredCredentials {
                env_url: Some("https://acme.scalekit.dev".into()),
                client_secret: Some(secret()),
            },
        );
        assert_redacted(
            "resolve::Layer",
            &Layer {
                env_url: None,
                client_id: Some(Setting::new("skc_1".into(), Source::Flag("--client-id"))),
                client_secret: Some(Setting::new(secret(), Source::Prompt)),
            },
        );
        assert_redacted(
            "Import::Env",
            &Import::Env {
                env_url: None,
                client_id: Some("skc_1".into()),
                client_secret: Some(secret()),
                identifier: None,
            },
        );
        assert_redacted("Import::Services", &Import::Services(services.into()));
        assert_redacted(
            "Env",
            &Env::from_pairs([
                ("SCALEKIT_CLIENT_SECRET", "env-HIDDEN-2"),
                ("OTHER", "value-HIDDEN-3"),
            ]),
        );
        assert_redacted(
            "ClientOptions",
            &ClientOptions {
                env_url: "https://acme.scalekit.dev".parse().unwrap(),
                client_id: "skc_1".into(),
                client_secret: secret(),
                http_timeout: Duration::from_secs(30),
                retry_budget: Duration::from_secs(30),
                observer: Some(Arc::new(|_| {})),
            },
        );
        let token: TokenResponse =
            serde_json::from_str(r#"{"access_token":"api-HIDDEN-4","expires_in":1}"#).unwrap();
        assert_redacted("TokenResponse", &token);
        let oauth: OauthToken = serde_json::from_str(
            r#"{"access_token":"at-HIDDEN-5","refresh_token":"rt-HIDDEN-6","scopes":["a"]}"#,
        )
        .unwrap();
        assert_redacted("OauthToken", &oauth);
        let static_auth: StaticAuth = serde_json::from_str(
            r#"{"details":{"api_key":"k-HIDDEN-7","password":"p-HIDDEN-8","n":{"x":"HIDDEN-9"}}}"#,
        )
        .unwrap();
        assert_redacted("StaticAuth", &static_auth);
        let envelope: AccountEnvelope = serde_json::from_str(
            r#"{"connected_account":{"status":"ACTIVE","authorization_details":{
                "oauth_token":{"access_token":"at-HIDDEN-10","refresh_token":"rt-HIDDEN-11"},
                "static_auth":{"details":{"token":"t-HIDDEN-12"}}}}}"#,
        )
        .unwrap();
        assert_redacted("AccountEnvelope", &envelope);
        let account: ConnectedAccount = envelope.connected_account.unwrap();
        assert_redacted("ConnectedAccount", &account);
        let credential = Credential {
            target: Target {
                service: "gmail".into(),
                connection_name: "gmail_u3134a".into(),
                identifier: "mess".into(),
            },
            value: Secret::new("at-HIDDEN-13"),
            scheme: Scheme::Bearer,
            authorization_type: "API_KEY".into(),
            expires_at: None,
            scopes: vec!["a".into()],
            static_fields: Some(static_auth.details.clone()),
        };
        assert_redacted("Credential", &credential);
    }

    #[test]
    fn registered_secrets_are_redacted_longest_first() {
        use super::{REDACTED, redact, register_json};
        let _ = Secret::new("pw-REDACT-1 with space&more");
        let _ = Secret::new("tok-REDACT-2");
        let _ = Secret::new("u-REDACT-3:tok-REDACT-2x");
        register_json(&serde_json::json!({"k": ["nested-REDACT-4", 5, {"x": "obj-REDACT-5"}]}));
        let text = "a tok-REDACT-2 b u-REDACT-3:tok-REDACT-2x c pw-REDACT-1+with+space%26more \
                    d nested-REDACT-4 e obj-REDACT-5 f pw-REDACT-1 with space&more";
        let shown = redact(text);
        assert!(!shown.contains("REDACT-"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 6, "{shown}");
        // Too short to be worth hiding: left alone.
        let _ = Secret::new("ab");
        assert_eq!(redact("ab cd"), "ab cd");
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
