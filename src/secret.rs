//! A string that never shows itself in `Debug` or `Display`.

use std::fmt;

/// A client secret or access token. `Debug` prints `Secret(<redacted>)`; there is no
/// `Display`, so it cannot slip into a formatted message by accident. Read it with
/// [`Secret::expose`] only where it must leave the process (a request body, `token`'s stdout).
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret's value. Every call site is a place where the secret leaves the process.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Secret;
    use crate::config::{Config, Credentials, Env, Import, ServiceConfig};
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
            "Credentials",
            &Credentials {
                env_url: Some("https://acme.scalekit.dev".into()),
                client_id: Some("skc_1".into()),
                client_secret: Some(secret()),
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
    fn debug_is_redacted() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
