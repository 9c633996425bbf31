//! Plain rules and formats shared by every layer: the enum names, the connection-name
//! pattern, timestamps, `conn_…` ids and random text. No state, no HTTP.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

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

/// Connection `type` names (`GET /api/v1/connections/app`).
pub(crate) const CONNECTION_TYPES: &[&str] = &[
    "OAUTH",
    "API_KEY",
    "BASIC",
    "BEARER",
    "OAUTH_M2M",
    "GOOGLE_DWD",
    "BASIC_AUTH",
    "BEARER_TOKEN",
    "CUSTOM",
    "TRELLO_OAUTH1",
    "TRUSTED_IDP",
    "SMART_FHIR",
    "NO_AUTH",
];

/// Connection `status` names.
pub(crate) const CONNECTION_STATUSES: &[&str] = &["DRAFT", "IN_PROGRESS", "COMPLETED"];

/// Provider key from a connection name: the text before the first `_` or `-`,
/// upper-cased (`gmail_u3134a` → `GMAIL`).
pub(crate) fn derive_provider(connector: &str) -> String {
    connector
        .split(['_', '-'])
        .next()
        .unwrap_or_default()
        .to_uppercase()
}

/// RFC 3339 UTC with `Z` and six fraction digits, as Scalekit's gateway emits.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats a timestamp the way the API does.
pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp.
pub(crate) fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Whether a connection name passes Scalekit's rule: `^[a-zA-Z0-9_: -]*$`, ≤400 chars.
pub(crate) fn is_valid_connector(connector: &str) -> bool {
    connector.len() <= 400
        && connector
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | ' ' | '-'))
}

/// FNV-1a over the parts (each followed by a 0 byte): tiny and stable across runs.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The connection's `conn_…` id: stable per connection name, across runs too.
pub(crate) fn connection_id(connector: &str) -> String {
    // FNV-1a: tiny, stable, good enough to spread names over 18 digits.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in connector.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let base = 100_000_000_000_000_000_u64;
    format!("conn_{}", base + hash % (9 * base))
}

/// `n` random ASCII letters and digits.
pub(crate) fn random_alphanumeric(n: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(n)
        .collect()
}
