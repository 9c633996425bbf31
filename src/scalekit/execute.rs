//! `POST /api/v1/execute_tool` (docs/scalekit-wire.md §16): Scalekit runs a tool with the connected
//! account's credentials on its side. Never sent again once it may have reached Scalekit.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::error::sanitize_message;
use super::transport::{MAX_ATTEMPTS, backoff, describe_transport_error};
use super::types::GrpcError;
use super::{ApiError, Client};
use crate::secret::Secret;

/// `execute_tool` runs as long as the provider takes; this is its per-request timeout unless
/// `--http-timeout` says otherwise (the Node SDK allows 60 s).
pub(crate) const EXECUTE_TIMEOUT: Duration = Duration::from_secs(120);
/// A tool's answer (mails, pages, files) may be large, but not unbounded.
const MAX_EXECUTE_BODY_BYTES: usize = 64 * 1024 * 1024;

/// `POST /api/v1/execute_tool`'s body.
#[derive(Debug, Clone)]
pub(crate) struct Execution<'a> {
    pub(crate) tool_name: &'a str,
    pub(crate) connector: &'a str,
    pub(crate) identifier: &'a str,
    /// Always a JSON object (a protobuf Struct).
    pub(crate) params: &'a Map<String, Value>,
    pub(crate) agent_run_id: Option<&'a str>,
    /// Per-attempt timeout.
    pub(crate) timeout: Duration,
}

/// A tool that ran.
#[derive(Debug, Clone)]
pub(crate) struct Executed {
    pub(crate) data: Value,
    pub(crate) execution_id: Option<String>,
}

/// Scalekit's error answer to `execute_tool`, made safe to show.
#[derive(Debug, Clone, Default)]
pub(crate) struct ToolFailure {
    pub(crate) status: u16,
    pub(crate) grpc_code: Option<i64>,
    pub(crate) error_code: Option<String>,
    /// Scalekit's message (or the tool's, from `tool_error_info`), sanitized.
    pub(crate) message: Option<String>,
    pub(crate) execution_id: Option<String>,
    /// The parameters Scalekit names as wrong (`field_violations`), sanitized.
    pub(crate) fields: Vec<String>,
}

/// Why `execute_tool` did not return data.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecuteError {
    /// Nothing reached Scalekit (every attempt failed to connect), or the API token could not
    /// be had: the usual meaning of each [`ApiError`].
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Scalekit answered with an error status.
    #[error("Scalekit answered {}", .0.status)]
    Answered(ToolFailure),
    /// The request may have reached Scalekit, and no usable answer came back (a timeout, a
    /// dropped connection, an unreadable answer): the tool may have run.
    #[error("{detail}")]
    Lost { detail: String },
}

impl Client {
    /// `POST /api/v1/execute_tool`. Never sent again once it may have reached Scalekit (a tool
    /// can send an email): only attempts that failed to connect are retried, and Scalekit's
    /// own 401 (it refused the API token before running anything) gets a new API token and
    /// one more attempt.
    pub(crate) async fn execute_tool(
        &self,
        execution: &Execution<'_>,
    ) -> Result<Executed, ExecuteError> {
        let path = "/api/v1/execute_tool";
        let mut body = serde_json::json!({
            "tool_name": execution.tool_name,
            "connector": execution.connector,
            "identifier": execution.identifier,
            "params": execution.params,
        });
        if let Some(run_id) = execution.agent_run_id {
            body["agent_run_id"] = Value::from(run_id);
        }
        let (token, generation) = self.api_token(None).await?;
        let mut answer = self
            .execute_once(path, &body, &token, execution.timeout)
            .await?;
        if answer.0 == StatusCode::UNAUTHORIZED && is_token_refusal(&answer.1) {
            let (token, _) = self.api_token(Some(generation)).await?;
            answer = self
                .execute_once(path, &body, &token, execution.timeout)
                .await?;
            if answer.0 == StatusCode::UNAUTHORIZED && is_token_refusal(&answer.1) {
                let err: GrpcError = serde_json::from_slice(&answer.1).unwrap_or_default();
                return Err(ApiError::TokenRejected {
                    method: "POST".into(),
                    path: path.into(),
                    message: err
                        .message
                        .as_deref()
                        .map_or_else(|| "401".to_owned(), sanitize_message),
                }
                .into());
            }
        }
        let (status, bytes) = answer;
        if !status.is_success() {
            return Err(ExecuteError::Answered(tool_failure(status, &bytes)));
        }
        let doc: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| ExecuteError::Lost {
                detail: format!(
                    "Scalekit answered {} but its answer is not a JSON object; the tool ran",
                    status.as_u16()
                ),
            })?;
        Ok(Executed {
            data: doc.get("data").cloned().unwrap_or(Value::Null),
            execution_id: doc
                .get("execution_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(sanitize_message),
        })
    }

    /// Sends `execute_tool` until it reaches Scalekit: attempts that fail to connect (DNS,
    /// refused, TLS) are retried with backoff within the retry budget; anything after a
    /// connection was made is final.
    async fn execute_once(
        &self,
        path: &str,
        body: &Value,
        token: &Secret,
        timeout: Duration,
    ) -> Result<(StatusCode, Vec<u8>), ExecuteError> {
        let url = self.url(path);
        let deadline = Instant::now() + self.retry_budget;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let sent = self
                .http
                .post(url.clone())
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
                .timeout(timeout)
                .json(body)
                .send()
                .await;
            let mut resp = match sent {
                Ok(resp) => resp,
                Err(err) if err.is_connect() => {
                    let detail = describe_transport_error(&err);
                    self.observe(
                        &Method::POST,
                        path,
                        None,
                        started.elapsed(),
                        Some(detail.clone()),
                    );
                    let delay = backoff(attempt);
                    if attempt >= MAX_ATTEMPTS || Instant::now() + delay >= deadline {
                        return Err(ApiError::Unreachable {
                            host: self.host(),
                            detail,
                            attempts: attempt,
                        }
                        .into());
                    }
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(err) => {
                    let detail = describe_transport_error(&err);
                    self.observe(
                        &Method::POST,
                        path,
                        None,
                        started.elapsed(),
                        Some(detail.clone()),
                    );
                    return Err(ExecuteError::Lost {
                        detail: format!(
                            "no answer from Scalekit to POST {path} ({detail}); the tool may \
                             have run"
                        ),
                    });
                }
            };
            let status = resp.status();
            let mut bytes = Vec::new();
            let read = loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) if bytes.len() + chunk.len() > MAX_EXECUTE_BODY_BYTES => {
                        break Err(format!(
                            "its answer is larger than {} MiB",
                            MAX_EXECUTE_BODY_BYTES >> 20
                        ));
                    }
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    Ok(None) => break Ok(()),
                    Err(err) => break Err(describe_transport_error(&err)),
                }
            };
            self.observe(
                &Method::POST,
                path,
                Some(status.as_u16()),
                started.elapsed(),
                None,
            );
            return match read {
                Ok(()) => Ok((status, bytes)),
                Err(detail) => Err(ExecuteError::Lost {
                    detail: format!(
                        "Scalekit answered {} to POST {path} but {detail}; the tool may have run",
                        status.as_u16()
                    ),
                }),
            };
        }
    }
}

/// A 401 that is Scalekit refusing the API token, not a tool's error relayed with that status.
fn is_token_refusal(body: &[u8]) -> bool {
    let err: GrpcError = serde_json::from_slice(body).unwrap_or_default();
    !err.details
        .iter()
        .any(|d| d.get("tool_error_info").is_some())
}

/// Reads Scalekit's error body leniently: message, `ErrorInfo.error_code`, the tool's own
/// error (`tool_error_info`) and the parameters named in `validation_error_info`.
fn tool_failure(status: StatusCode, body: &[u8]) -> ToolFailure {
    let err: GrpcError = serde_json::from_slice(body).unwrap_or_default();
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(sanitize_message)
            .filter(|s| !s.is_empty())
    };
    let mut failure = ToolFailure {
        status: status.as_u16(),
        grpc_code: err.code,
        error_code: err.error_code().as_deref().map(sanitize_message),
        message: err
            .message
            .as_deref()
            .map(sanitize_message)
            .filter(|m| !m.is_empty()),
        ..ToolFailure::default()
    };
    for detail in &err.details {
        if let Some(info) = detail.get("tool_error_info") {
            failure.execution_id = failure
                .execution_id
                .or_else(|| text(info.get("execution_id")));
            if let Some(tool_message) = text(info.get("tool_error_message")) {
                failure.message = Some(match failure.message.take() {
                    Some(m) if m != tool_message => format!("{m}: {tool_message}"),
                    _ => tool_message,
                });
            }
        }
        let violations = detail
            .get("validation_error_info")
            .and_then(|v| v.get("field_violations"))
            .and_then(Value::as_array);
        for violation in violations.into_iter().flatten() {
            if let Some(field) = text(violation.get("field")) {
                failure.fields.push(field);
            }
        }
    }
    failure
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tool_failures_read_every_detail_and_stay_printable() {
        let body = json!({
            "code": 3, "message": "invalid \u{1b}[31mparams",
            "details": [
                {"@type": "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo",
                 "error_code": "BAD_REQUEST",
                 "validation_error_info": {"field_violations": [{"field": "to", "description": "x"}]},
                 "tool_error_info": {"execution_id": "ex_1", "tool_error_message": "boom"}}
            ]
        });
        let f = tool_failure(StatusCode::BAD_REQUEST, body.to_string().as_bytes());
        assert_eq!(f.status, 400);
        assert_eq!(f.grpc_code, Some(3));
        assert_eq!(f.error_code.as_deref(), Some("BAD_REQUEST"));
        assert_eq!(f.execution_id.as_deref(), Some("ex_1"));
        assert_eq!(f.fields, vec!["to".to_owned()]);
        let message = f.message.unwrap();
        assert!(!message.contains('\u{1b}'), "{message}");
        assert!(message.ends_with(": boom"), "{message}");
        let f = tool_failure(StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(f.status, 502);
        assert!(f.message.is_none() && f.fields.is_empty());
        assert!(is_token_refusal(b"{}"));
        assert!(!is_token_refusal(
            json!({"details": [{"tool_error_info": {}}]})
                .to_string()
                .as_bytes()
        ));
    }
}
