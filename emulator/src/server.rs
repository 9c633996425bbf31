//! The HTTP/1.1 server: a manual accept loop that numbers TCP connections, the
//! request log, latency, faults, `--verbose` lines and dispatch to the routes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::ctx::{Ctx, Req};
use crate::shared::Shared;
use crate::types::{Fault, FaultBody, LoggedRequest};
use crate::wire::{self, Resp};
use crate::{api, control, page};

/// Accepts connections until `stop` is notified. Each connection gets the next id.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: Arc<Notify>) {
    let ctx = Arc::new(Ctx {
        shared,
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    loop {
        let accepted = tokio::select! {
            () = stop.notified() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or an aborted handshake: try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Small request/response pairs on keep-alive connections: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let connection = ctx.shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let ctx = Arc::clone(&ctx);
                async move { handle(&ctx, connection, req).await }
            });
            // A connection error (client gone mid-request) only ends this connection.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Whether a path goes into the request log (and gets latency and faults): all but
/// the control API and the pages a person's browser opens.
fn is_logged(path: &str) -> bool {
    !(path == "/_emulator"
        || path.starts_with("/_emulator/")
        || path.starts_with("/magicLink/")
        || path == "/connect/success")
}

/// A `drop` fault: the service fails, so hyper closes the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault")
    }
}

impl std::error::Error for Dropped {}

async fn handle(ctx: &Ctx, connection: u64, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let received = Instant::now();
    let (parts, body) = req.into_parts();
    let Ok(body) = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
    else {
        return Ok(wire::parse_error("cannot read the request body"));
    };
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    let resp = if is_logged(&req.path) {
        handle_logged(ctx, connection, received, &req).await
    } else {
        Ok(route(ctx, &req).await)
    };
    let status = match &resp {
        Ok(resp) => resp.status().as_u16().to_string(),
        Err(Dropped) => "dropped".to_owned(),
    };
    verbose_line(ctx, &req, &status, received);
    resp
}

/// Logs the request, applies latency and any queued fault, then answers.
async fn handle_logged(
    ctx: &Ctx,
    connection: u64,
    received: Instant,
    req: &Req,
) -> Result<Resp, Dropped> {
    let (key, latency, fault) = {
        let mut state = ctx.shared.state();
        let key = state.log_received(LoggedRequest {
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            status: 0,
            connection,
            at_ms: u64::try_from(received.duration_since(ctx.shared.started).as_millis())
                .unwrap_or(u64::MAX),
        });
        (
            key,
            state.settings.latency,
            state.take_fault(req.method.as_str(), &req.path),
        )
    };
    if fault.as_ref().is_some_and(|f| f.hang) {
        // Logged with status 0 when received; never answered. The connection task
        // ends when the client disconnects or the emulator stops.
        verbose_line(ctx, req, "hang", received);
        return std::future::pending().await;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let resp = match fault {
        Some(fault) => answer_fault(ctx, req, &fault).await?,
        None => route(ctx, req).await,
    };
    ctx.shared.state().log_answered(key, resp.status().as_u16());
    Ok(resp)
}

/// A queued fault's answer: optionally the real handling first, a delay, then a
/// dropped connection, the fault's own status/body, or the normal answer; plus the
/// fault's headers and `Retry-After`.
async fn answer_fault(ctx: &Ctx, req: &Req, fault: &Fault) -> Result<Resp, Dropped> {
    let handled = if fault.handle_first {
        Some(route(ctx, req).await)
    } else {
        None
    };
    if let Some(ms) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if fault.drop {
        return Err(Dropped);
    }
    let status = fault
        .status
        .or(fault.no_body.then_some(503))
        .or(fault.body.as_ref().map(|_| 200));
    let mut resp = match (status, &fault.body) {
        (Some(status), _) if fault.no_body => wire::empty(status),
        (Some(status), Some(body)) => fault_body(status, body),
        (Some(status), None) => wire::error_for_path(&req.path, status),
        (None, _) => match handled {
            Some(resp) => resp,
            None => route(ctx, req).await,
        },
    };
    if let Some(secs) = fault.retry_after {
        wire::set_header(&mut resp, "retry-after", &secs.to_string());
    }
    add_headers(&mut resp, &fault.headers);
    Ok(resp)
}

/// A fault's own body.
fn fault_body(status: u16, body: &FaultBody) -> Resp {
    match body {
        FaultBody::Json(value) => wire::json(status, value),
        FaultBody::Text(text) => wire::raw(status, text.clone().into_bytes()),
        FaultBody::Bytes(bytes) => wire::raw(status, bytes.clone()),
    }
}

/// Appends a fault's headers; a `content-type` among them replaces the default one.
/// Names and values HTTP cannot carry are skipped.
fn add_headers(resp: &mut Resp, headers: &[(String, String)]) {
    let mut replaced_type = false;
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        if name == CONTENT_TYPE && !replaced_type {
            resp.headers_mut().remove(CONTENT_TYPE);
            replaced_type = true;
        }
        resp.headers_mut().append(name, value);
    }
}

/// Dispatches by path.
async fn route(ctx: &Ctx, req: &Req) -> Resp {
    let path = req.path.as_str();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        control::handle(ctx, req)
    } else if path == "/oauth/token" {
        api::token(ctx, req)
    } else if path.starts_with("/api/") {
        api::v1(ctx, req)
    } else if path == "/proxy" || path.starts_with("/proxy/") {
        api::proxy(ctx, req).await
    } else if path.starts_with("/magicLink/") {
        page::magic_link(ctx, req)
    } else if path == "/connect/success" {
        page::verified(req)
    } else {
        wire::route_not_found()
    }
}

/// One stderr line per request with `--verbose`: method, path, status, time.
/// Never the query string, a body or a header.
fn verbose_line(ctx: &Ctx, req: &Req, status: &str, received: Instant) {
    if ctx.shared.verbose.load(Ordering::Relaxed) {
        eprintln!(
            "{} {} {} {}ms",
            req.method,
            req.path,
            status,
            received.elapsed().as_millis()
        );
    }
}
