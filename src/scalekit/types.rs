//! Scalekit's JSON, parsed tolerantly (docs/scalekit-wire.md §2): absent, `null`, `""` and the
//! Go zero time all mean "unknown"; unknown fields are ignored; wrong types are errors.

use std::fmt;

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::secret::Secret;

/// `ConnectorStatus`: the state of a connected account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum AccountStatus {
    Active,
    Expired,
    PendingAuth,
    PendingVerification,
    Disconnected,
    /// The proto zero value, or a missing/`null` field.
    #[default]
    Unspecified,
    /// A value newer than this tool.
    Other(String),
}

impl AccountStatus {
    /// The wire name (`"ACTIVE"`, …).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Active => "ACTIVE",
            Self::Expired => "EXPIRED",
            Self::PendingAuth => "PENDING_AUTH",
            Self::PendingVerification => "PENDING_VERIFICATION",
            Self::Disconnected => "DISCONNECTED",
            Self::Unspecified => "CONNECTION_STATUS_UNSPECIFIED",
            Self::Other(s) => s,
        }
    }

    fn from_wire(s: &str) -> Self {
        match s {
            "ACTIVE" => Self::Active,
            "EXPIRED" => Self::Expired,
            "PENDING_AUTH" => Self::PendingAuth,
            "PENDING_VERIFICATION" => Self::PendingVerification,
            "DISCONNECTED" => Self::Disconnected,
            "" | "CONNECTION_STATUS_UNSPECIFIED" => Self::Unspecified,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for AccountStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        Ok(s.map_or(Self::Unspecified, |s| Self::from_wire(&s)))
    }
}

/// A connected account as `/auth`, `/details`, create and list return it.
/// `authorization_details` is only present on `/auth` (and create).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConnectedAccount {
    #[serde(deserialize_with = "null_default")]
    pub(crate) id: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) identifier: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) provider: String,
    pub(crate) status: AccountStatus,
    #[serde(deserialize_with = "null_default")]
    pub(crate) authorization_type: String,
    pub(crate) authorization_details: Option<AuthorizationDetails>,
    #[serde(deserialize_with = "timestamp")]
    pub(crate) token_expires_at: Option<OffsetDateTime>,
    #[serde(deserialize_with = "timestamp")]
    pub(crate) updated_at: Option<OffsetDateTime>,
    #[serde(deserialize_with = "timestamp")]
    pub(crate) last_used_at: Option<OffsetDateTime>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) connector: String,
    #[serde(deserialize_with = "null_default")]
    pub(crate) connection_id: String,
}

/// The oneof `authorization_details.details`: only one member is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AuthorizationDetails {
    pub(crate) oauth_token: Option<OauthToken>,
    pub(crate) static_auth: Option<StaticAuth>,
}

/// OAuth tokens. The refresh token is never used by this tool; it is kept typed as a
/// secret so that it cannot leak through `Debug`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OauthToken {
    #[serde(deserialize_with = "null_default")]
    pub(crate) access_token: Secret,
    #[serde(deserialize_with = "null_default")]
    pub(crate) refresh_token: Secret,
    #[serde(deserialize_with = "null_default")]
    pub(crate) scopes: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) domain: String,
}

/// Static credentials (API key, bearer token, basic auth): a free-form object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StaticAuth {
    #[serde(deserialize_with = "null_default")]
    pub(crate) details: SecretMap,
}

/// A JSON object whose values are credentials: `Debug` shows only the keys, and every
/// string in it is registered for redaction from server text as it is read.
#[derive(Clone, Default)]
pub(crate) struct SecretMap(pub(crate) serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for SecretMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::deserialize(d)?;
        map.values().for_each(crate::secret::register_json);
        Ok(Self(map))
    }
}

impl fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.0.keys().map(|k| format!("{k}: <redacted>")))
            .finish()
    }
}

/// `POST /oauth/token`'s answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: Secret,
    /// Seconds the token lives; `None` when absent or not a number (§3).
    #[serde(default, deserialize_with = "lenient_seconds")]
    pub(crate) expires_in: Option<u64>,
}

/// `POST …/magic_link`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MagicLink {
    pub(crate) link: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub(crate) expiry: Option<OffsetDateTime>,
}

/// `{"connected_account": …}`, the envelope of get and create.
#[derive(Debug, Deserialize)]
pub(crate) struct AccountEnvelope {
    #[serde(default)]
    pub(crate) connected_account: Option<ConnectedAccount>,
}

/// One page of `GET /api/v1/connected_accounts`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListPage {
    #[serde(deserialize_with = "null_default")]
    pub(crate) connected_accounts: Vec<ConnectedAccount>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) next_page_token: String,
}

/// The grpc-gateway error body (docs/scalekit-wire.md §4), read leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GrpcError {
    pub(crate) code: Option<i64>,
    pub(crate) message: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub(crate) details: Vec<serde_json::Value>,
}

impl GrpcError {
    /// The first `ErrorInfo.error_code` in `details`.
    pub(crate) fn error_code(&self) -> Option<String> {
        self.details
            .iter()
            .find_map(|d| d.get("error_code").and_then(serde_json::Value::as_str))
            .map(str::to_owned)
    }

    /// Whether the body carries Scalekit's own `ErrorInfo` (docs/scalekit-wire.md §4). Through the
    /// proxy this tells Scalekit's refusals apart from the provider's answers, which it
    /// relays: a provider never sends Scalekit's error-detail type.
    pub(crate) fn is_scalekit(&self) -> bool {
        self.details.iter().any(|d| {
            d.get("@type")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|t| t.ends_with("scalekit.v1.errdetails.ErrorInfo"))
        })
    }

    /// Parses a body as Scalekit's error, `None` when it is something else.
    pub(crate) fn scalekit_error(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body)
            .ok()
            .filter(Self::is_scalekit)
    }
}

/// The RFC 6749 error body of `/oauth/token`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OAuthError {
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
}

/// `null` becomes the type's default (protojson never sends `null`, but we must not break if
/// Scalekit ever does).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A count of seconds given as a number or a string of digits, read leniently: anything else
/// (`null`, negative, text, an object) is "unknown", never an error. Larger than a u64:
/// `u64::MAX` (the caller bounds it).
fn lenient_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "finite and non-negative; `as` saturates past u64::MAX"
                )]
                |f| f as u64,
            )
        }),
        serde_json::Value::String(s) => {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().unwrap_or(u64::MAX))
        }
        _ => None,
    })
}

/// RFC 3339 timestamps; absent, `null`, `""`, the Go zero time and unparseable strings are
/// all "unknown".
fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.as_deref().and_then(parse_timestamp))
}

/// Parses an RFC 3339 timestamp (0, 3, 6 or 9 fraction digits), in UTC. `None` for
/// "unknown", which includes a time whose UTC form is past year 9999
/// (`9999-12-31T23:59:59-01:00`): converting that one would panic.
pub(crate) fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .ok()?
        .checked_to_offset(time::UtcOffset::UTC)?;
    // The Go zero time (and anything before the Unix epoch) means "never".
    (t.unix_timestamp() > 0).then_some(t)
}

/// Formats a time as RFC 3339 UTC with a `Z` and whole seconds; empty if it has no UTC form.
pub(crate) fn format_timestamp(t: OffsetDateTime) -> String {
    let Some(t) = t.checked_to_offset(time::UtcOffset::UTC) else {
        return String::new();
    };
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_leniently() {
        let read = |expires_in: &str| {
            let body = if expires_in.is_empty() {
                r#"{"access_token":"t"}"#.to_owned()
            } else {
                format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#)
            };
            serde_json::from_str::<TokenResponse>(&body)
                .unwrap_or_else(|e| panic!("{expires_in}: {e}"))
                .expires_in
        };
        assert_eq!(read("86399"), Some(86_399));
        assert_eq!(read(r#""3600""#), Some(3600));
        assert_eq!(read(r#"" 60 ""#), Some(60));
        assert_eq!(read("0"), Some(0));
        assert_eq!(read("59.9"), Some(59));
        // The 2024 capture (docs/scalekit-wire.md §3), and beyond a u64: bounded later.
        assert_eq!(
            read("18446744064486179580"),
            Some(18_446_744_064_486_179_580)
        );
        assert_eq!(read("1e30"), Some(u64::MAX));
        assert_eq!(read(r#""99999999999999999999999""#), Some(u64::MAX));
        // Anything else is unknown, never an error.
        for unknown in [
            "",
            "null",
            "-1",
            "-0.5",
            r#""""#,
            r#""soon""#,
            r#""-5""#,
            r#""1e3""#,
            "true",
            "[1]",
            r#"{"s":1}"#,
        ] {
            assert_eq!(read(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn parses_the_documented_auth_example() {
        let body = r#"{"connected_account":{"identifier":"user_123","provider":"GMAIL","status":"ACTIVE",
            "authorization_type":"OAUTH","authorization_details":{"oauth_token":{"access_token":"ya29.x",
            "refresh_token":"1//0g","scopes":["https://www.googleapis.com/auth/gmail.readonly"],"domain":""}},
            "token_expires_at":"2026-03-01T11:59:57.237447Z","updated_at":"2026-03-01T10:59:58.104512Z",
            "connector":"gmail_u3134a","last_used_at":"2026-03-01T10:30:01.374253Z","id":"ca_101531404000559370",
            "connection_id":"conn_100668583155073286","is_org_wide_credential":false}}"#;
        let env: AccountEnvelope = serde_json::from_str(body).unwrap();
        let a = env.connected_account.unwrap();
        assert_eq!(a.status, AccountStatus::Active);
        let tok = a.authorization_details.unwrap().oauth_token.unwrap();
        assert_eq!(tok.access_token.expose(), "ya29.x");
        assert_eq!(
            format_timestamp(a.token_expires_at.unwrap()),
            "2026-03-01T11:59:57Z"
        );
    }

    #[test]
    fn tolerates_nulls_empties_and_zero_times() {
        let body = r#"{"connected_account":{"identifier":null,"status":null,"token_expires_at":"",
            "updated_at":"0001-01-01T00:00:00Z","last_used_at":null,"authorization_details":null,
            "something_new":{"x":1}}}"#;
        let a: AccountEnvelope = serde_json::from_str(body).unwrap();
        let a = a.connected_account.unwrap();
        assert_eq!(a.status, AccountStatus::Unspecified);
        assert!(a.token_expires_at.is_none() && a.updated_at.is_none() && a.last_used_at.is_none());
        assert!(a.identifier.is_empty());
    }

    #[test]
    fn fraction_digits_all_parse() {
        for s in [
            "2024-05-20T12:07:51Z",
            "2024-05-20T12:07:51.680Z",
            "2024-05-20T12:07:51.687483Z",
            "2024-06-19T11:11:58.823707848Z",
        ] {
            assert!(parse_timestamp(s).is_some(), "{s}");
        }
        assert!(parse_timestamp("yesterday").is_none());
        // Valid RFC 3339, but year 10000 in UTC: unknown, never a panic.
        assert!(parse_timestamp("9999-12-31T23:59:59-23:59").is_none());
        assert_eq!(
            parse_timestamp("2024-05-20T14:07:51+02:00").map(format_timestamp),
            Some("2024-05-20T12:07:51Z".to_owned())
        );
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(
            serde_json::from_str::<AccountEnvelope>(r#"{"connected_account":{"status":5}}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<ListPage>(r#"{"connected_accounts":{}}"#).is_err());
    }

    #[test]
    fn debug_never_shows_credentials() {
        let body = r#"{"connected_account":{"authorization_details":{"oauth_token":{"access_token":"tok-SECRET",
            "refresh_token":"ref-SECRET"}}}}"#;
        let a: AccountEnvelope = serde_json::from_str(body).unwrap();
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        let s: StaticAuth =
            serde_json::from_str(r#"{"details":{"api_key":"key-SECRET"}}"#).unwrap();
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("api_key") && !dbg.contains("key-SECRET"),
            "{dbg}"
        );
    }
}
