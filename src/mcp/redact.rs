//! The last guard before a result leaves the server: no tool result may carry an access
//! token, a static credential or the client secret (docs/cli.md, `mcp`). The server never
//! fetches an account's token, so it cannot name them; but a provider that echoes its request
//! (a debugging endpoint, an error page) would hand back the `Authorization` header Scalekit's
//! proxy added. So every value that follows `Bearer ` or `Basic ` is replaced, and so is each
//! known secret.

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";
/// Shorter runs after a scheme word are prose ("Bearer auth"), not credentials.
const MIN_CREDENTIAL_CHARS: usize = 8;

/// `text` with every known secret (those given, and those the run registered) and every
/// `Bearer`/`Basic` credential replaced.
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), REDACTED);
        // The same secret as it appears inside a JSON string.
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != secret {
            out = out.replace(escaped, REDACTED);
        }
    }
    // Then every secret this run has seen (`secret::register`, as for the CLI's messages).
    redact_schemes(&crate::secret::redact(&out))
}

/// Replaces the credential after each `Bearer ` / `Basic ` (any case, any run of spaces).
fn redact_schemes(text: &str) -> String {
    let lower = text.to_ascii_lowercase().into_bytes();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let scheme = ["bearer", "basic"]
            .into_iter()
            .find(|w| lower[at..].starts_with(w.as_bytes()));
        let Some(scheme) = scheme else {
            at += 1;
            continue;
        };
        let mut start = at + scheme.len();
        let spaces = bytes[start..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if spaces == 0 {
            at += 1;
            continue;
        }
        start += spaces;
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/=:".contains(b))
            .count();
        if len >= MIN_CREDENTIAL_CHARS {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = start + len;
        }
        at = start + len.max(1);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_after_a_scheme_and_known_secrets_are_replaced() {
        let text = r#"{"authorization": "Bearer ya29.a0AfH6SMB-x_y", "b": "basic dXNlcjpwYXNz", "s": "sek\"ret1"}"#;
        let out = redact(text, &["sek\"ret1".to_owned()]);
        assert_eq!(
            out,
            r#"{"authorization": "Bearer [redacted]", "b": "basic [redacted]", "s": "[redacted]"}"#
        );
        // Prose stays: a short word after the scheme, or the word alone.
        assert_eq!(redact("Bearer auth, basic", &[]), "Bearer auth, basic");
        // Multi-byte text around a scheme word is copied whole.
        assert_eq!(
            redact("é Bearer abcdefgh12 ü", &[]),
            "é Bearer [redacted] ü"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        /// Any text, any secret: no panic, and neither the secret nor a `Bearer` credential
        /// survives.
        #[test]
        fn nothing_panics_and_no_secret_survives(
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            secret in "[A-Za-z0-9._~+/=-]{8,40}",
        ) {
            let text = format!("{before}{secret}{after} Authorization: Bearer {secret}x");
            let out = redact(&text, std::slice::from_ref(&secret));
            proptest::prop_assert!(!out.contains(&secret), "{out}");
            let out = redact(&format!("{before}bearer {secret}{after}"), &[]);
            proptest::prop_assert!(!out.contains(&secret), "{out}");
        }
    }
}
