//! The agent process: listens on the Unix socket, serves its own user only, and keeps
//! Scalekit clients (one connection pool and API token per set of credentials) and the
//! token cache in memory until `agent stop`, the idle timeout or the maximum lifetime.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;

use super::cache::{Cache, Entry, Key};
use super::protocol::{
    self, AGENT_NAME, Answer, Hello, Item, Request, Response, Scope, VERSION, read_line, write_line,
};
use super::socket;
use crate::scalekit::types::AccountStatus;
use crate::scalekit::{self, Client, ClientOptions, Observer};
use crate::secret::Secret;

/// A connection that sends nothing for this long is closed.
const CONNECTION_IDLE: Duration = Duration::from_secs(60);
/// At most this many sets of credentials keep a client; more start over (a rotated secret
/// leaves its old client behind).
const MAX_CLIENTS: usize = 16;
/// How often expired tokens are dropped and the timeouts looked at, at the most.
const TICK: Duration = Duration::from_secs(30);

/// How the agent runs.
pub(crate) struct Options {
    pub(crate) socket: PathBuf,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) observer: Option<Observer>,
}

/// Why binding failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BindError {
    #[error("an agent is already running on {0}")]
    Running(PathBuf),
    #[error("{0} exists and is not a socket; not touching it")]
    NotASocket(PathBuf),
    #[error("cannot listen on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Binds the socket: its directory 0700 (checked if it exists), the socket 0600. A socket
/// file a killed agent left is replaced; a live agent's is not.
pub(crate) async fn bind(path: &Path) -> Result<UnixListener, BindError> {
    let io_err = |source| BindError::Io {
        path: path.to_owned(),
        source,
    };
    socket::prepare_dir(path).map_err(io_err)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(BindError::NotASocket(path.to_owned()));
            }
            if super::client::Connection::open(path).await.is_some() {
                return Err(BindError::Running(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(io_err)?;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_err(err)),
    }
    let listener = UnixListener::bind(path).map_err(io_err)?;
    socket::restrict(path).map_err(io_err)?;
    Ok(listener)
}

/// Everything the connections share.
struct State {
    cache: Cache,
    key: Vec<u8>,
    key_hex: String,
    clients: Mutex<HashMap<String, Arc<Client>>>,
    started: Instant,
    max_lifetime: Duration,
    http_timeout: Duration,
    observer: Option<Observer>,
    uid: u32,
    last_activity: Mutex<Instant>,
    open_connections: AtomicUsize,
    stop: Notify,
}

impl State {
    fn new(
        key: Vec<u8>,
        max_lifetime: Duration,
        http_timeout: Duration,
        observer: Option<Observer>,
        uid: u32,
    ) -> State {
        State {
            cache: Cache::default(),
            key_hex: protocol::hex(&key),
            key,
            clients: Mutex::new(HashMap::new()),
            started: Instant::now(),
            max_lifetime,
            http_timeout,
            observer,
            uid,
            last_activity: Mutex::new(Instant::now()),
            open_connections: AtomicUsize::new(0),
            stop: Notify::new(),
        }
    }

    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// The client already made for a fingerprint.
    fn known_client(&self, fingerprint: &str) -> Option<Arc<Client>> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.get(fingerprint).cloned()
    }

    /// The client for the secret a client sent, once the secret matches the scope's
    /// fingerprint; otherwise why it is refused.
    fn verified_client(&self, scope: &Scope, secret: &Secret) -> Result<Arc<Client>, &'static str> {
        let expected =
            protocol::fingerprint(&self.key, &scope.env_url, &scope.client_id, secret.expose());
        if expected != scope.fingerprint {
            return Err("the secret does not match the fingerprint");
        }
        self.client(scope, secret)
            .map_err(|_| "cannot use these credentials")
    }

    /// The client for a fingerprint, made on first use from the secret the client sent.
    fn client(&self, scope: &Scope, secret: &Secret) -> anyhow::Result<Arc<Client>> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&scope.fingerprint) {
            return Ok(Arc::clone(client));
        }
        // The client checked the URL already; the agent does not take that on trust.
        let env_url = crate::config::validate_env_url(&scope.env_url)?;
        let client = Arc::new(Client::new(ClientOptions {
            env_url,
            client_id: scope.client_id.clone(),
            client_secret: secret.clone(),
            http_timeout: self.http_timeout,
            retry_budget: scalekit::DEFAULT_RETRY_BUDGET,
            observer: self.observer.clone(),
        })?);
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(scope.fingerprint.clone(), Arc::clone(&client));
        Ok(client)
    }
}

/// Runs until stopped; removes the socket on the way out. Exit 0 for every planned end.
pub(crate) async fn serve(listener: UnixListener, options: Options) -> io::Result<()> {
    let state = Arc::new(State::new(
        random_key()?,
        options.max_lifetime,
        options.http_timeout,
        options.observer,
        socket::own_uid(),
    ));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = loop {
        let idle_at = *state
            .last_activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            + options.idle_timeout;
        let end_at = state.started + options.max_lifetime;
        let wake = idle_at.min(end_at).min(Instant::now() + TICK);
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move { connection(stream, &state).await });
                }
                // Out of file descriptors and the like: wait a moment, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            () = state.stop.notified() => break Ok(()),
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = terminate.recv() => break Ok(()),
            () = tokio::time::sleep_until(wake.into()) => {
                state.cache.sweep();
                let now = Instant::now();
                if now >= end_at {
                    break Ok(());
                }
                let idle = state.open_connections.load(Ordering::SeqCst) == 0;
                if idle && now >= idle_at {
                    break Ok(());
                }
            }
        }
    };
    remove_socket(&listener, &options.socket);
    result
}

/// Removes the socket file, unless another agent has replaced it meanwhile.
fn remove_socket(listener: &UnixListener, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let ours = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_owned));
    let same = ours.is_some_and(|p| p == path);
    if same && std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == socket::own_uid()) {
        let _ = std::fs::remove_file(path);
    }
}

fn random_key() -> io::Result<Vec<u8>> {
    use ring::rand::SecureRandom;
    let mut key = vec![0; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| io::Error::other("no random numbers from the system"))?;
    Ok(key)
}

/// One client connection: the uid check, the greeting, then requests until it closes.
async fn connection(stream: UnixStream, state: &Arc<State>) {
    // Security: only this user's processes get anything, not even the greeting.
    if !socket::peer_is(&stream, state.uid) {
        return;
    }
    state.open_connections.fetch_add(1, Ordering::SeqCst);
    state.touch();
    let _ = requests(stream, state).await;
    state.open_connections.fetch_sub(1, Ordering::SeqCst);
    state.touch();
}

async fn requests(stream: UnixStream, state: &Arc<State>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let hello = Hello {
        agent: AGENT_NAME.into(),
        v: VERSION,
        key: state.key_hex.clone(),
        pid: std::process::id(),
    };
    write_line(&mut write, &hello).await?;
    // The last `get`: what a following `fetch` fetches.
    let mut pending: Option<(Scope, Vec<Item>, u64)> = None;
    loop {
        let Ok(line) = tokio::time::timeout(CONNECTION_IDLE, read_line(&mut reader)).await else {
            return Ok(());
        };
        let Some(line) = line? else {
            return Ok(());
        };
        state.touch();
        let parsed = serde_json::from_str::<Request>(&line);
        protocol::wipe(line);
        let Ok(request) = parsed else {
            write_line(&mut write, &refusal("not a request")).await?;
            continue;
        };
        // `stop` is understood whatever the version, so an old agent can always be stopped.
        if request.op == "stop" {
            write_line(
                &mut write,
                &Response {
                    v: VERSION,
                    ..Response::default()
                },
            )
            .await?;
            state.stop.notify_one();
            return Ok(());
        }
        if request.v != VERSION {
            let why = format!("protocol version {} is not {VERSION}", request.v);
            write_line(&mut write, &refusal(&why)).await?;
            continue;
        }
        let response = match request.op.as_str() {
            "get" => get(state, request, &mut pending),
            "fetch" => fetch(state, request, pending.take()).await,
            "api_token" => api_token(state, request).await,
            "status" => Response {
                v: VERSION,
                entries: state.cache.entries(),
                uptime: state.started.elapsed().as_secs(),
                remaining_lifetime: state
                    .max_lifetime
                    .saturating_sub(state.started.elapsed())
                    .as_secs(),
                ..Response::default()
            },
            "flush" => Response {
                v: VERSION,
                flushed: state
                    .cache
                    .flush(request.connection.as_deref(), request.identifier.as_deref()),
                ..Response::default()
            },
            _ => refusal("unknown op"),
        };
        write_line(&mut write, &response).await?;
    }
}

fn refusal(why: &str) -> Response {
    Response {
        v: VERSION,
        error: Some(why.to_owned()),
        ..Response::default()
    }
}

fn key_of(scope: &Scope, item: &Item) -> Key {
    Key {
        env_url: scope.env_url.clone(),
        client_id: scope.client_id.clone(),
        connection: item.connection.clone(),
        identifier: item.identifier.clone(),
    }
}

/// Serves what the cache holds; remembers the request for a `fetch` of the misses.
fn get(
    state: &Arc<State>,
    request: Request,
    pending: &mut Option<(Scope, Vec<Item>, u64)>,
) -> Response {
    let Some(scope) = request.scope else {
        return refusal("no scope");
    };
    state
        .cache
        .note_config(&scope.config_dir, &scope.config_stamp);
    let min_ttl = Duration::from_secs(request.min_ttl);
    let mut items = Vec::with_capacity(request.items.len());
    for item in &request.items {
        let token = state
            .cache
            .get(&key_of(&scope, item), &scope.fingerprint, min_ttl);
        items.push(Answer { token });
    }
    *pending = Some((scope, request.items, request.min_ttl));
    Response {
        v: VERSION,
        items,
        ..Response::default()
    }
}

/// Fetches the items of the last `get`, concurrently, once per key however many clients
/// ask, with the secret the client hands over now. The secret must match the fingerprint
/// the `get` named: the cache stays keyed to what was really fetched with.
async fn fetch(
    state: &Arc<State>,
    request: Request,
    pending: Option<(Scope, Vec<Item>, u64)>,
) -> Response {
    let Some((scope, items, min_ttl)) = pending else {
        return refusal("fetch without get");
    };
    let Some(secret) = request.secret else {
        return refusal("no secret");
    };
    let client = match state.verified_client(&scope, &secret) {
        Ok(client) => client,
        Err(why) => return refusal(why),
    };
    let min_ttl = Duration::from_secs(min_ttl);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let state = Arc::clone(state);
        let client = Arc::clone(&client);
        let key = key_of(&scope, &item);
        let fingerprint = scope.fingerprint.clone();
        tasks.spawn(async move {
            let upstream = upstream(&client, item, fingerprint.clone());
            let token = state
                .cache
                .get_or_fetch(&key, &fingerprint, min_ttl, upstream)
                .await;
            (index, token)
        });
    }
    let mut answers: Vec<Answer> = Vec::new();
    answers.resize_with(tasks.len(), Answer::default);
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, token)) = joined {
            answers[index] = Answer { token };
        }
    }
    Response {
        v: VERSION,
        items: answers,
        ..Response::default()
    }
}

/// The Scalekit API token for a scope, so that `request` costs only the proxy call. With no
/// client for the fingerprint yet, an answer without a token asks for the secret.
async fn api_token(state: &Arc<State>, request: Request) -> Response {
    let Some(scope) = request.scope else {
        return refusal("no scope");
    };
    state
        .cache
        .note_config(&scope.config_dir, &scope.config_stamp);
    let client = match (state.known_client(&scope.fingerprint), request.secret) {
        (Some(client), _) => client,
        (None, None) => {
            return Response {
                v: VERSION,
                ..Response::default()
            };
        }
        (None, Some(secret)) => match state.verified_client(&scope, &secret) {
            Ok(client) => client,
            Err(why) => return refusal(why),
        },
    };
    match client.lendable_api_token().await {
        Ok(token) => Response {
            v: VERSION,
            api_token: Some(token),
            ..Response::default()
        },
        Err(_) => refusal("no API token"),
    }
}

/// One `GET /auth`: an `ACTIVE` account's OAuth token with a known expiry, else nothing
/// (the client then asks Scalekit itself and handles links, static keys and errors).
async fn upstream(client: &Client, item: Item, fingerprint: String) -> Option<Entry> {
    let account = client
        .account_auth(&item.connection, &item.identifier)
        .await
        .ok()??;
    if account.status != AccountStatus::Active {
        return None;
    }
    let expires_at = account.token_expires_at?;
    let oauth = account.authorization_details?.oauth_token?;
    if oauth.access_token.is_empty() {
        return None;
    }
    Some(Entry {
        service: item.service,
        fingerprint,
        token: oauth.access_token,
        expires_at,
        scopes: oauth.scopes,
        authorization_type: if account.authorization_type.is_empty() {
            "OAUTH".to_owned()
        } else {
            account.authorization_type
        },
    })
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt as _;

    use super::*;

    const KEY: &[u8] = b"test-key";

    fn state(uid: u32) -> Arc<State> {
        Arc::new(State::new(
            KEY.to_vec(),
            Duration::from_secs(60),
            Duration::from_secs(5),
            None,
            uid,
        ))
    }

    /// A connection served by `state`, and our end of it.
    fn connect(state: &Arc<State>) -> BufReader<UnixStream> {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let state = Arc::clone(state);
        tokio::spawn(async move { connection(theirs, &state).await });
        BufReader::new(ours)
    }

    async fn send(conn: &mut BufReader<UnixStream>, line: &str) -> Response {
        conn.get_mut().write_all(line.as_bytes()).await.unwrap();
        conn.get_mut().write_all(b"\n").await.unwrap();
        let reply = read_line(conn).await.unwrap().expect("a reply");
        serde_json::from_str(&reply).unwrap()
    }

    fn scope_json(fingerprint: &str) -> serde_json::Value {
        serde_json::json!({
            "env_url": "http://127.0.0.1:9/", "client_id": "id", "fingerprint": fingerprint,
            "config_dir": "/c", "config_stamp": "1"
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_peer_of_another_uid_gets_nothing_not_even_the_greeting() {
        let state = state(socket::own_uid().wrapping_add(1));
        let mut conn = connect(&state);
        assert_eq!(read_line(&mut conn).await.unwrap(), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hostile_requests_are_refused_and_the_connection_survives_them() {
        let state = state(socket::own_uid());
        let mut conn = connect(&state);
        let hello: Hello =
            serde_json::from_str(&read_line(&mut conn).await.unwrap().unwrap()).unwrap();
        assert_eq!((hello.agent.as_str(), hello.v), (AGENT_NAME, VERSION));
        assert_eq!(protocol::unhex(&hello.key).unwrap(), KEY);

        let err = |r: Response| r.error.unwrap_or_default();
        assert!(err(send(&mut conn, "\u{1b}]52;garbage").await).contains("not a request"));
        assert!(err(send(&mut conn, r#"{"v":2,"op":"status"}"#).await).contains("version 2"));
        assert!(err(send(&mut conn, r#"{"v":1,"op":"nope"}"#).await).contains("unknown op"));
        let fetch = r#"{"v":1,"op":"fetch","secret":"s3cret-value"}"#;
        assert!(err(send(&mut conn, fetch).await).contains("without get"));

        // A secret that does not match the fingerprint the get named is never used.
        let right = protocol::fingerprint(KEY, "http://127.0.0.1:9/", "id", "right-secret");
        let get = serde_json::json!({"v": 1, "op": "get", "scope": scope_json(&right),
            "items": [{"service": "s", "connection": "c", "identifier": "i"}]});
        let answer = send(&mut conn, &get.to_string()).await;
        assert_eq!(answer.items.len(), 1);
        assert!(answer.items[0].token.is_none());
        assert!(err(send(&mut conn, fetch).await).contains("does not match"));
        let api = serde_json::json!({"v": 1, "op": "api_token", "scope": scope_json(&right),
            "secret": "wrong-secret"});
        assert!(err(send(&mut conn, &api.to_string()).await).contains("does not match"));
        // Without a secret and without a client for the fingerprint: nothing, no error.
        let api = serde_json::json!({"v": 1, "op": "api_token", "scope": scope_json(&right)});
        let answer = send(&mut conn, &api.to_string()).await;
        assert!(answer.error.is_none() && answer.api_token.is_none());
        assert!(
            state.clients.lock().unwrap().is_empty(),
            "no client was made"
        );

        let status = send(&mut conn, r#"{"v":1,"op":"status"}"#).await;
        assert!(status.error.is_none() && status.entries.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_endless_line_closes_the_connection() {
        let state = state(socket::own_uid());
        let mut conn = connect(&state);
        read_line(&mut conn).await.unwrap().unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut write_failed = false;
        for _ in 0..(protocol::MAX_LINE / chunk.len() + 2) {
            if conn.get_mut().write_all(&chunk).await.is_err() {
                write_failed = true;
                break;
            }
        }
        if !write_failed {
            let _ = conn.get_mut().write_all(b"\n").await;
        }
        assert!(matches!(read_line(&mut conn).await, Ok(None) | Err(_)));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn stop_is_understood_whatever_the_version() {
        let state = state(socket::own_uid());
        let mut conn = connect(&state);
        read_line(&mut conn).await.unwrap().unwrap();
        let stopped = state.stop.notified();
        let reply = send(&mut conn, r#"{"v":99,"op":"stop"}"#).await;
        assert!(reply.error.is_none());
        tokio::time::timeout(Duration::from_secs(1), stopped)
            .await
            .expect("the agent is told to stop");
    }
}
