//! `scalekit-auth agent`: a per-user process that keeps Scalekit API tokens and fetched
//! access tokens in memory behind a Unix socket, so a repeated `token` costs no request
//! (README "The agent", SECURITY.md "The agent"). Unix only.
//!
//! Rooms: `protocol` (the versioned line protocol and the secret's fingerprint), `cache`
//! (keys, freshness, one fetch per key), `socket` (paths, modes, the peer's uid), `server`
//! (the agent process), `client` (asking it, and giving up on anything odd).

#[cfg(unix)]
pub(crate) mod cache;
#[cfg(unix)]
pub(crate) mod client;
#[cfg(unix)]
pub(crate) mod protocol;
#[cfg(unix)]
pub(crate) mod server;
#[cfg(unix)]
pub(crate) mod socket;

#[cfg(unix)]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Env, Paths};
use crate::scalekit::Client;

/// The agent's socket path for this environment (cli.md `agent`).
#[cfg(unix)]
pub(crate) fn socket_path(env: &Env) -> PathBuf {
    socket::path(
        env.get("SCALEKIT_AUTH_AGENT_SOCK"),
        std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
    )
}

/// A token the agent served.
pub(crate) struct Cached {
    pub(crate) access_token: crate::secret::Secret,
    pub(crate) expires_at: time::OffsetDateTime,
    pub(crate) scopes: Vec<String>,
    pub(crate) authorization_type: String,
}

/// Where this run's token lookups may go first; `None` from [`Agent::for_run`] when the
/// agent is bypassed (`--no-agent`) or the platform has none.
pub(crate) struct Agent {
    #[cfg(unix)]
    source: client::Source,
}

impl Agent {
    /// An agent handle for a run with these credentials, unless bypassed.
    #[cfg_attr(not(unix), allow(unused_variables))]
    pub(crate) fn for_run(
        bypass: bool,
        env: &Env,
        paths: &Paths,
        client: &Client,
    ) -> Option<Arc<Agent>> {
        if bypass {
            return None;
        }
        #[cfg(unix)]
        {
            let (env_url, client_id, secret) = client.credentials();
            Some(Arc::new(Agent {
                source: client::Source {
                    path: socket_path(env),
                    env_url: env_url.to_owned(),
                    client_id: client_id.to_owned(),
                    secret: secret.clone(),
                    config_dir: paths.dir.to_string_lossy().into_owned(),
                    config_stamp: client::config_stamp(&[
                        paths.config_file(),
                        paths.credentials_file(),
                    ]),
                },
            }))
        }
        #[cfg(not(unix))]
        None
    }

    /// The agent's token for a service, or `None`: then ask Scalekit as without an agent.
    #[cfg_attr(not(unix), allow(unused_variables, clippy::unused_async))]
    pub(crate) async fn token(
        &self,
        service: &str,
        connection: &str,
        identifier: &str,
        min_ttl: Duration,
    ) -> Option<Cached> {
        #[cfg(unix)]
        {
            let item = protocol::Item {
                service: service.to_owned(),
                connection: connection.to_owned(),
                identifier: identifier.to_owned(),
            };
            let served = self.source.token(item, min_ttl).await?;
            Some(Cached {
                access_token: served.access_token,
                expires_at: time::OffsetDateTime::from_unix_timestamp(served.expires_at).ok()?,
                scopes: served.scopes,
                authorization_type: served.authorization_type,
            })
        }
        #[cfg(not(unix))]
        None
    }
}

impl Agent {
    /// Starts `client` with the agent's Scalekit API token, so that a command calling the
    /// API itself (`request`) skips `POST /oauth/token`. Nothing happens without an agent.
    #[cfg_attr(not(unix), allow(unused_variables, clippy::unused_async))]
    pub(crate) async fn lend_api_token(&self, client: &Client) {
        #[cfg(unix)]
        if let Some(token) = self.source.api_token().await {
            client.adopt_api_token(token).await;
        }
    }
}

/// Tells a running agent to forget an account's tokens (`remove`, `authorize --force`, a
/// provider's 401): best effort, quick, nothing when no agent runs. No identifier: every
/// identifier of the connection.
pub(crate) async fn forget(env: &Env, connection: &str, identifier: Option<&str>) {
    forget_all(env, &[(connection, identifier)]).await;
}

/// [`forget`] for several accounts, over one connection (`status`).
#[cfg_attr(not(unix), allow(unused_variables, clippy::unused_async))]
pub(crate) async fn forget_all(env: &Env, accounts: &[(&str, Option<&str>)]) {
    #[cfg(unix)]
    client::flush(&socket_path(env), accounts).await;
}

/// Parses a duration: a number with an optional unit, `s`, `m`, `h` or `d` (`90`, `15m`,
/// `12h`). Used by `--idle-timeout` and `--max-lifetime`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 15m, 12h or 2d"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    let secs = number
        .checked_mul(scale)
        .filter(|&s| s > 0 && s <= 366 * 86_400)
        .ok_or_else(|| format!("{text:?}: must be between 1s and 366d"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in [
            "",
            "0",
            "m",
            "5x",
            "-1s",
            "1.5h",
            "99999999999999999999",
            "400d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
