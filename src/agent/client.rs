//! The client side: find the agent, check that it is one (this user's, speaking our
//! protocol), ask it. Anything odd (no socket, a dead or silent one, garbage, another
//! user's process, another version) means "no agent": the command works without it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::protocol::{
    self, AGENT_NAME, Hello, Item, Request, Response, Scope, Served, VERSION, read_line, write_line,
};
use super::socket;
use crate::secret::Secret;

/// Connecting and reading the greeting take at most this long: a silent socket is given up
/// on well within the "second or two" of cli.md.
const HELLO_TIMEOUT: Duration = Duration::from_millis(800);
/// A quick request (a cache lookup, status, flush, stop): the agent answers these at once, so
/// one that greets and then says nothing is given up on within the "second or two".
const QUICK_TIMEOUT: Duration = Duration::from_millis(1500);
/// A fetch waits for Scalekit: the retry budget, and a margin.
const FETCH_TIMEOUT: Duration = Duration::from_secs(35);

/// Why there is no usable agent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("no agent is running on {0}")]
    Absent(PathBuf),
    #[error("{0} did not answer like an agent")]
    NotAnAgent(PathBuf),
    #[error("the process on {0} runs as another user; not trusted")]
    Foreign(PathBuf),
}

/// An open connection to an agent that greeted us.
pub(crate) struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    pub(crate) hello: Hello,
}

impl Connection {
    /// Connects and reads the greeting; `None` for anything but an agent of this user.
    pub(crate) async fn open(path: &Path) -> Option<Connection> {
        Self::open_checked(path).await.ok()
    }

    /// Like [`Connection::open`], saying why not.
    pub(crate) async fn open_checked(path: &Path) -> Result<Connection, Unusable> {
        let absent = |_| Unusable::Absent(path.to_owned());
        let not_agent = || Unusable::NotAnAgent(path.to_owned());
        let stream = tokio::time::timeout(HELLO_TIMEOUT, UnixStream::connect(path))
            .await
            .map_err(|_| not_agent())?
            .map_err(absent)?;
        // Security: another user's process could hand out tokens of its choosing.
        if !socket::peer_is(&stream, socket::own_uid()) {
            return Err(Unusable::Foreign(path.to_owned()));
        }
        let (read, writer) = stream.into_split();
        let mut reader = BufReader::new(read);
        let line = tokio::time::timeout(HELLO_TIMEOUT, read_line(&mut reader))
            .await
            .map_err(|_| not_agent())?
            .ok()
            .flatten()
            .ok_or_else(not_agent)?;
        let hello: Hello = serde_json::from_str(&line).map_err(|_| not_agent())?;
        if hello.agent != AGENT_NAME {
            return Err(not_agent());
        }
        Ok(Connection {
            reader,
            writer,
            hello,
        })
    }

    /// Whether the agent speaks this binary's protocol version.
    pub(crate) fn speaks_our_version(&self) -> bool {
        self.hello.v == VERSION
    }

    /// Sends a request and reads the reply within `timeout`.
    pub(crate) async fn call(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> io::Result<Response> {
        let exchange = async {
            write_line(&mut self.writer, request).await?;
            let line = read_line(&mut self.reader)
                .await?
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the agent hung up"))?;
            let parsed = serde_json::from_str::<Response>(&line);
            protocol::wipe(line);
            parsed.map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a reply"))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the agent did not answer"))?
    }

    /// A quick request with this binary's version.
    pub(crate) async fn quick(
        &mut self,
        op: &str,
        tweak: impl FnOnce(&mut Request),
    ) -> io::Result<Response> {
        let mut request = Request {
            v: VERSION,
            op: op.to_owned(),
            ..Request::default()
        };
        tweak(&mut request);
        let response = self.call(&request, QUICK_TIMEOUT).await?;
        match response.error {
            Some(err) => Err(io::Error::other(err)),
            None => Ok(response),
        }
    }
}

/// What a run tells the agent about its credentials, for token lookups.
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    pub(crate) env_url: String,
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
    pub(crate) config_dir: String,
    pub(crate) config_stamp: String,
}

impl Source {
    /// The scope of this run's requests, with the fingerprint under the agent's key.
    fn scope(&self, key: &[u8]) -> Scope {
        Scope {
            env_url: self.env_url.clone(),
            client_id: self.client_id.clone(),
            fingerprint: protocol::fingerprint(
                key,
                &self.env_url,
                &self.client_id,
                self.secret.expose(),
            ),
            config_dir: self.config_dir.clone(),
            config_stamp: self.config_stamp.clone(),
        }
    }

    /// The agent's Scalekit API token for this run's credentials (handing over the secret
    /// only if the agent has no client for them yet). `None`: fetch one as without an agent.
    pub(crate) async fn api_token(&self) -> Option<Secret> {
        let mut conn = Connection::open(&self.path).await?;
        if !conn.speaks_our_version() {
            return None;
        }
        let key = protocol::unhex(&conn.hello.key)?;
        let mut request = Request {
            v: VERSION,
            op: "api_token".into(),
            scope: Some(self.scope(&key)),
            ..Request::default()
        };
        let response = conn.call(&request, QUICK_TIMEOUT).await.ok()?;
        if response.error.is_some() {
            return None;
        }
        if let Some(token) = response.api_token {
            return Some(token);
        }
        request.secret = Some(self.secret.clone());
        let response = conn.call(&request, FETCH_TIMEOUT).await.ok()?;
        response.api_token.filter(|_| response.error.is_none())
    }

    /// The agent's token for one service, asking it to fetch on a miss. `None` whenever the
    /// agent cannot or will not serve it: the caller asks Scalekit itself.
    pub(crate) async fn token(&self, item: Item, min_ttl: Duration) -> Option<Served> {
        let mut conn = Connection::open(&self.path).await?;
        if !conn.speaks_our_version() {
            return None;
        }
        let key = protocol::unhex(&conn.hello.key)?;
        let get = Request {
            v: VERSION,
            op: "get".into(),
            scope: Some(self.scope(&key)),
            items: vec![item],
            min_ttl: min_ttl.as_secs(),
            ..Request::default()
        };
        let mut response = conn.call(&get, QUICK_TIMEOUT).await.ok()?;
        if let Some(token) = first_token(&mut response) {
            return Some(token);
        }
        if response.error.is_some() {
            return None;
        }
        let fetch = Request {
            v: VERSION,
            op: "fetch".into(),
            secret: Some(self.secret.clone()),
            ..Request::default()
        };
        let mut response = conn.call(&fetch, FETCH_TIMEOUT).await.ok()?;
        first_token(&mut response)
    }
}

fn first_token(response: &mut Response) -> Option<Served> {
    if response.error.is_some() || response.items.len() != 1 {
        return None;
    }
    let served = response.items.pop()?.token?;
    // An empty token or an expired one is never used, whoever sent it.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (!served.access_token.is_empty() && served.expires_at > now).then_some(served)
}

/// A stamp of config.toml and credentials.toml: device, inode, size, modification and
/// change times. Any write (an atomic rename included) changes it.
pub(crate) fn config_stamp(files: &[PathBuf]) -> String {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .map(|file| match std::fs::metadata(file) {
            Ok(m) => format!(
                "{}:{}:{}:{}.{}:{}.{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            ),
            Err(_) => "-".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Tells a running agent to drop the entries of each `(connection, identifier)` (all of the
/// connection's when no identifier), over one connection: best effort, quick, nothing when
/// none runs.
pub(crate) async fn flush(path: &Path, accounts: &[(&str, Option<&str>)]) {
    if accounts.is_empty() {
        return;
    }
    if let Some(mut conn) = Connection::open(path).await
        && conn.speaks_our_version()
    {
        for (connection, identifier) in accounts {
            let flushed = conn
                .quick("flush", |r| {
                    r.connection = Some((*connection).to_owned());
                    r.identifier = identifier.map(str::to_owned);
                })
                .await;
            if flushed.is_err() {
                return;
            }
        }
    }
}
