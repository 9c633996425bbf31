//! The line protocol between clients and the agent: one JSON object per line, each way,
//! on a Unix socket. Versioned: the agent greets every connection with [`Hello`], and a
//! client that does not speak its version uses no agent (README "The agent").
//!
//! A token request goes in two steps, so that the client secret crosses the socket only on a
//! miss: `get` names the cache keys and a keyed fingerprint of the secret; items the agent
//! cannot serve come back as misses; then `fetch` hands over the secret and the agent asks
//! Scalekit (once per key, however many clients wait).

use std::io;

use ring::hmac;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::secret::Secret;

/// The protocol this binary speaks. Bump it on any change an older peer would misread.
pub(crate) const VERSION: u32 = 1;
/// What the agent calls itself in [`Hello`]: anything else on the socket is not an agent.
pub(crate) const AGENT_NAME: &str = "scalekit-auth-agent";
/// Longest line either side accepts (a request names a few services; a status lists many).
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// The agent's first line on every connection.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) agent: String,
    pub(crate) v: u32,
    /// The key for [`fingerprint`], random per agent run (hex).
    pub(crate) key: String,
    pub(crate) pid: u32,
}

/// Which Scalekit environment and credentials a request is for, and the state of the
/// client's configuration files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Scope {
    pub(crate) env_url: String,
    pub(crate) client_id: String,
    /// [`fingerprint`] of the client secret with the agent's key: never the secret itself.
    pub(crate) fingerprint: String,
    /// The client's config directory and a stamp of its config.toml and credentials.toml;
    /// a changed stamp flushes the cache.
    pub(crate) config_dir: String,
    pub(crate) config_stamp: String,
}

/// One service's cache key beyond the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) service: String,
    pub(crate) connection: String,
    pub(crate) identifier: String,
}

/// A client's request. `op` says which; the other fields belong to some ops only.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Request {
    pub(crate) v: u32,
    /// `get`, `fetch`, `api_token`, `status`, `flush` or `stop`.
    pub(crate) op: String,
    pub(crate) scope: Option<Scope>,
    pub(crate) items: Vec<Item>,
    /// Seconds a served token must still be valid beyond the agent's own 60 s margin.
    pub(crate) min_ttl: u64,
    /// `fetch`, and `api_token` when the agent has no client for the fingerprint yet: the
    /// client secret the fingerprint was made from.
    #[serde(serialize_with = "expose_opt")]
    pub(crate) secret: Option<Secret>,
    /// `flush`: only this connection's entries (and only this identifier's, when given).
    pub(crate) connection: Option<String>,
    pub(crate) identifier: Option<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("v", &self.v)
            .field("op", &self.op)
            .field("scope", &self.scope)
            .field("items", &self.items)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A served token.
#[derive(Serialize, Deserialize)]
pub(crate) struct Served {
    #[serde(serialize_with = "expose")]
    pub(crate) access_token: Secret,
    /// Unix seconds.
    pub(crate) expires_at: i64,
    pub(crate) scopes: Vec<String>,
    pub(crate) authorization_type: String,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The one place a token is written into a reply (the served token, on the agent's side).
fn expose<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

#[allow(clippy::ref_option)] // serde's `serialize_with` hands over `&Option<T>`.
fn expose_opt<S: serde::Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose()),
        None => s.serialize_none(),
    }
}

/// What the agent has for one item: a token, or nothing (the client asks Scalekit itself).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Answer {
    pub(crate) token: Option<Served>,
}

/// One cache entry in `status`: never a token.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct EntryInfo {
    pub(crate) service: String,
    pub(crate) connection: String,
    pub(crate) identifier: String,
    pub(crate) env_url: String,
    /// Unix seconds.
    pub(crate) expires_at: i64,
}

/// The agent's reply to a request.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Response {
    pub(crate) v: u32,
    /// Set when the request was refused; the rest is then empty.
    pub(crate) error: Option<String>,
    /// `get`/`fetch`: one answer per item, in order.
    pub(crate) items: Vec<Answer>,
    /// `status`.
    pub(crate) entries: Vec<EntryInfo>,
    /// `status`: seconds since the agent started, and until it stops at the latest.
    pub(crate) uptime: u64,
    pub(crate) remaining_lifetime: u64,
    /// `flush`: how many entries went.
    pub(crate) flushed: usize,
    /// `api_token`: the agent's Scalekit API token for the scope, when it has a client for
    /// it; nothing (and no error) means: ask again with the secret.
    #[serde(serialize_with = "expose_opt")]
    pub(crate) api_token: Option<Secret>,
}

/// HMAC-SHA256 of the environment URL, client ID and client secret, under the agent's
/// per-run key, as hex. The agent serves a token only to a client whose fingerprint equals
/// the one it fetched with, so a changed secret (or a client with another one) never gets a
/// token fetched with a different secret, and the secret never travels for a hit.
pub(crate) fn fingerprint(key: &[u8], env_url: &str, client_id: &str, secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for part in [env_url, client_id, secret] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    hex(ctx.sign().as_ref())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

/// The inverse of [`hex`]; `None` for anything else.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Writes one JSON line, then overwrites the buffer (it may hold a token).
pub(crate) async fn write_line<W: AsyncWriteExt + Unpin>(
    write: &mut W,
    value: &impl serde::Serialize,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    let result = write.write_all(&line).await;
    line.fill(0);
    std::hint::black_box(&mut line);
    result
}

/// Overwrites a line read from the socket before it is freed (it may hold a secret).
pub(crate) fn wipe(line: String) {
    let mut bytes = line.into_bytes();
    bytes.fill(0);
    std::hint::black_box(&mut bytes);
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at the end of the stream.
pub(crate) async fn read_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
) -> io::Result<Option<String>> {
    use tokio::io::AsyncReadExt as _;
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "line too long or cut off",
        ));
    }
    line.pop();
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_depend_on_key_url_id_and_secret_and_hide_it() {
        let f = fingerprint(b"k1", "https://a", "id", "s3cret-value");
        assert_eq!(f.len(), 64);
        assert!(!f.contains("s3cret"));
        assert_ne!(f, fingerprint(b"k2", "https://a", "id", "s3cret-value"));
        assert_ne!(f, fingerprint(b"k1", "https://b", "id", "s3cret-value"));
        assert_ne!(f, fingerprint(b"k1", "https://a", "id2", "s3cret-value"));
        assert_ne!(f, fingerprint(b"k1", "https://a", "id", "s3cret-valuf"));
        // Length prefixes: moving a byte between fields changes the fingerprint.
        assert_ne!(
            fingerprint(b"k", "ab", "c", "d"),
            fingerprint(b"k", "a", "bc", "d")
        );
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn debug_never_shows_the_secret_or_token() {
        let req = Request {
            secret: Some(Secret::new("the-secret")),
            ..Request::default()
        };
        assert!(!format!("{req:?}").contains("the-secret"));
        let served = Served {
            access_token: Secret::new("the-token"),
            expires_at: 0,
            scopes: vec![],
            authorization_type: "OAUTH".into(),
        };
        assert!(!format!("{served:?}").contains("the-token"));
    }
}
