//! A faithful, stateful local Scalekit: the connected-accounts REST API, the
//! connections and tools routes (with a small tool catalog), the client-credentials
//! token endpoint, the hosted magic-link page and the proxy.
//!
//! The `scalekit-auth` CLI's tests start one in-process with [`Emulator::start`] and
//! drive the human side (approving a magic link, rotating a token, injecting faults)
//! through the methods of [`Emulator`]. The `scalekit-emulator` binary serves the same
//! thing for the offline quick start; there the control surface is the JSON API under
//! `/_emulator/` (see `emulator/README.md`).
//!
//! The wire format is Scalekit's REST gateway, described route by route in
//! `emulator/README.md`. Where real Scalekit is lenient,
//! the emulator is strict (unknown fields and query parameters are rejected), so that
//! a client bug shows up here rather than in production.

mod api;
mod catalog;
mod control;
mod ctx;
mod page;
mod rules;
mod server;
mod shared;
mod state;
mod types;
mod wire;

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::shared::Shared;
use crate::state::State;
use crate::types::now;
pub use crate::types::{
    API_TOKEN_LIFETIME, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_LINK_TTL, Execution,
    Fault, FaultBody, LoggedRequest, MagicLinkInfo, Options, SeedAccount, SeedConnection,
    default_connections,
};

/// A running emulator on 127.0.0.1. It stops when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    port: u16,
    stop: Arc<Notify>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

// The bool/String results are conveniences tests often ignore, so no `#[must_use]`.
#[allow(clippy::must_use_candidate)]
impl Emulator {
    /// Binds `127.0.0.1:opts.port` and serves on a thread of its own with its own
    /// tokio runtime. Returns once the socket is listening. Works from synchronous
    /// code and from inside a tokio runtime alike.
    pub fn start(opts: Options) -> io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", opts.port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let state = State::new(&opts, &base_url);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            initial: opts,
            base_url,
            started: Instant::now(),
            verbose: AtomicBool::new(false),
            connections: AtomicU64::new(0),
        });
        let stop = Arc::new(Notify::new());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("scalekit-emulator-{port}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .thread_name("scalekit-emulator-worker")
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime,
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        match tokio::net::TcpListener::from_std(listener) {
                            Ok(listener) => {
                                let _ = ready_tx.send(Ok(()));
                                server::serve(listener, shared, stop).await;
                            }
                            Err(err) => {
                                let _ = ready_tx.send(Err(err));
                            }
                        }
                    });
                    // Pending connections (a hung request, idle keep-alives) are
                    // dropped, not awaited.
                    runtime.shutdown_background();
                })?
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Emulator {
                shared,
                port,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(io::Error::other(
                "the emulator thread ended before listening",
            )),
        }
    }

    /// `http://127.0.0.1:PORT`, the environment URL to give a client.
    #[must_use]
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client id `POST /oauth/token` accepts.
    #[must_use]
    pub fn client_id(&self) -> String {
        self.shared.initial.client_id.clone()
    }

    /// The client secret `POST /oauth/token` accepts.
    #[must_use]
    pub fn client_secret(&self) -> String {
        self.shared.initial.client_secret.clone()
    }

    /// Puts an account in place, replacing one with the same connector and
    /// identifier (which keeps its id). Returns the account's `ca_…` id.
    pub fn seed(&self, account: SeedAccount) -> String {
        self.shared.state().seed(account, now())
    }

    /// The account as `GET …/auth` would render `connected_account` (without marking
    /// it used), or `None`.
    #[must_use]
    pub fn account(&self, connector: &str, identifier: &str) -> Option<serde_json::Value> {
        wire::account_json(&self.shared.state(), connector, identifier)
    }

    /// Does what the consent page's Allow does: `ACTIVE` with a fresh access token,
    /// refresh token and an expiry an hour away; ignores verification mode.
    /// Returns false when there is no such account.
    pub fn activate(&self, connector: &str, identifier: &str) -> bool {
        self.shared.state().activate(connector, identifier, now())
    }

    /// Sets any `ConnectorStatus` name. An OAuth account set to `ACTIVE` without an
    /// access token gets one. Returns false when there is no such account.
    pub fn set_status(&self, connector: &str, identifier: &str, status: &str) -> bool {
        self.shared
            .state()
            .set_status(connector, identifier, status, now())
    }

    /// Replaces the OAuth access token (expiry an hour away) and returns it; `None`
    /// when there is no such account or it holds static credentials.
    pub fn rotate_token(&self, connector: &str, identifier: &str) -> Option<String> {
        self.shared
            .state()
            .rotate_token(connector, identifier, now())
    }

    /// Sets (or, with `None`, clears) `token_expires_at`.
    /// Returns false when there is no such account.
    pub fn set_token_expiry(
        &self,
        connector: &str,
        identifier: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> bool {
        self.shared
            .state()
            .set_token_expiry(connector, identifier, expires_at)
    }

    /// Lifetime of magic links minted from now on.
    pub fn set_link_ttl(&self, ttl: Duration) {
        self.shared.state().settings.link_ttl = ttl;
    }

    /// Lifetime of the API tokens `POST /oauth/token` issues from now on (its
    /// `expires_in`); tokens already issued keep theirs.
    pub fn set_api_token_lifetime(&self, lifetime: Duration) {
        self.shared.state().settings.api_token_lifetime = lifetime;
    }

    /// Delay added before answering every logged request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().settings.latency = latency;
    }

    /// With verification mode on, Allow on the consent page leaves the account in
    /// `PENDING_VERIFICATION` until `POST …/user/verify` (or [`Emulator::activate`]).
    pub fn set_verification_mode(&self, on: bool) {
        self.shared.state().settings.verification_mode = on;
    }

    /// Status answered by a successful create: 200 (default) or 201. Other values
    /// are ignored.
    pub fn set_create_status(&self, status: u16) {
        if matches!(status, 200 | 201) {
            self.shared.state().settings.create_status = status;
        }
    }

    /// Base URL the proxy forwards to (a leading `/` means the emulator itself), or
    /// `None` to answer proxy calls with 501.
    pub fn set_upstream(&self, upstream: Option<String>) {
        self.shared.state().settings.upstream = upstream;
    }

    /// Prints one stderr line per request (method, path, status, milliseconds).
    /// Never bodies or tokens. Not affected by [`Emulator::reset`].
    pub fn set_verbose(&self, on: bool) {
        self.shared.verbose.store(on, Ordering::Relaxed);
    }

    /// Queues a fault for the next `fault.count` requests to `fault.path`.
    pub fn queue_fault(&self, fault: Fault) {
        self.shared.state().queue_fault(fault);
    }

    /// Adds a connection to `GET /api/v1/connections/app`, replacing one with the same
    /// `key_id`. Not checked; see [`SeedConnection::validate`].
    pub fn seed_connection(&self, connection: SeedConnection) {
        self.shared.state().seed_connection(connection, now());
    }

    /// Removes a connection; false when there is none with this name.
    pub fn remove_connection(&self, key_id: &str) -> bool {
        self.shared.state().remove_connection(key_id)
    }

    /// The connections, rendered as `GET /api/v1/connections/app` does.
    #[must_use]
    pub fn connections(&self) -> Vec<serde_json::Value> {
        let state = self.shared.state();
        state
            .connections
            .iter()
            .map(|c| wire::to_json(&wire::connection(c)))
            .collect()
    }

    /// Every tool execution that ran (`POST /api/v1/execute_tool` got as far as
    /// running the tool), oldest first. A fault that answers instead of the route
    /// (without `handle_first`) means the tool did not run.
    #[must_use]
    pub fn executions(&self) -> Vec<Execution> {
        self.shared.state().executions()
    }

    /// Forgets the executions recorded so far.
    pub fn clear_executions(&self) {
        self.shared.state().clear_executions();
    }

    /// Every API token issued so far is rejected from now on (401 "token expired").
    pub fn expire_api_tokens(&self) {
        self.shared.state().expire_api_tokens();
    }

    /// The request log: every request outside `/_emulator/` and the magic-link
    /// pages, in the order received.
    #[must_use]
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.state().clear_requests();
    }

    /// Every magic link minted, oldest first.
    #[must_use]
    pub fn magic_links(&self) -> Vec<MagicLinkInfo> {
        self.shared.state().magic_links()
    }

    /// Same as clicking Allow on the link's page (so verification mode applies).
    /// Takes the full link or its uuid. Returns false for an unknown, used or
    /// expired link, or when its account is gone.
    pub fn approve_link(&self, link: &str) -> bool {
        let outcome = self.shared.state().decide_link(link, true, now());
        outcome.is_approved()
    }

    /// Same as clicking Deny on the link's page: the link is used up, the account keeps
    /// its status and credentials and its `updated_at` moves. Returns false for an unknown,
    /// used or expired link, or when its account is gone.
    pub fn deny_link(&self, link: &str) -> bool {
        let outcome = self.shared.state().decide_link(link, false, now());
        matches!(outcome, state::LinkOutcome::Denied { .. })
    }

    /// Back to the start-up state: seeded accounts (with new ids) and connections, no
    /// links, faults, log entries, executions or API tokens, and the settings from
    /// [`Options`]. TCP connection ids keep counting.
    pub fn reset(&self) {
        self.shared.state().reset(&self.shared.initial);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
