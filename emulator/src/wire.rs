//! The wire format: account rendering in proto field order, gRPC-gateway error
//! bodies, timestamps and response builders.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

pub(crate) use crate::rules::{connection_id, is_valid_connector, parse_timestamp, timestamp};
use crate::state::{Account, Connection, Credentials, State};

/// The response body type of every route.
pub(crate) type Body = Full<Bytes>;
/// A response of any route.
pub(crate) type Resp = Response<Body>;

/// `@type` of the `ErrorInfo` detail in gRPC error bodies.
const ERROR_INFO_TYPE: &str = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo";
/// Which rendering of an account a route returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// `/auth`, create, update: with `authorization_details` and `api_config`.
    Auth,
    /// `/details`: with `api_config`, without credentials.
    Details,
    /// `ConnectedAccountForList`: neither.
    List,
}

/// `ConnectedAccount` / `ConnectedAccountForList`, fields in proto order.
#[derive(Debug, Serialize)]
pub(crate) struct AccountWire {
    identifier: String,
    provider: String,
    status: String,
    authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_details: Option<AuthorizationDetailsWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    connector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    id: String,
    connection_id: String,
    is_org_wide_credential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_config: Option<Value>,
}

/// The `authorization_details` oneof: only the member that is set appears.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum AuthorizationDetailsWire {
    OauthToken {
        access_token: String,
        refresh_token: String,
        scopes: Vec<String>,
        domain: String,
    },
    StaticAuth {
        details: Value,
    },
}

/// Renders an account for a view. Accounts waiting for consent or verification show
/// empty credentials and no `token_expires_at`.
pub(crate) fn account(account: &Account, view: View) -> AccountWire {
    let pending = matches!(
        account.status.as_str(),
        "PENDING_AUTH" | "PENDING_VERIFICATION"
    );
    let authorization_details = (view == View::Auth).then(|| match &account.credentials {
        Credentials::OAuth(_) if pending => AuthorizationDetailsWire::OauthToken {
            access_token: String::new(),
            refresh_token: String::new(),
            scopes: Vec::new(),
            domain: String::new(),
        },
        Credentials::OAuth(token) => AuthorizationDetailsWire::OauthToken {
            access_token: token.access_token.clone(),
            refresh_token: token.refresh_token.clone(),
            scopes: token.scopes.clone(),
            domain: token.domain.clone(),
        },
        Credentials::Static(_) if pending => AuthorizationDetailsWire::StaticAuth {
            details: Value::Object(serde_json::Map::new()),
        },
        Credentials::Static(details) => AuthorizationDetailsWire::StaticAuth {
            details: details.clone(),
        },
    });
    AccountWire {
        identifier: account.identifier.clone(),
        provider: account.provider.clone(),
        status: account.status.clone(),
        authorization_type: account.authorization_type.clone(),
        authorization_details,
        token_expires_at: account.token_expires_at.filter(|_| !pending).map(timestamp),
        updated_at: Some(timestamp(account.updated_at)),
        connector: account.connector.clone(),
        last_used_at: account.last_used_at.map(timestamp),
        id: account.id.clone(),
        connection_id: connection_id(&account.connector),
        is_org_wide_credential: false,
        api_config: if view == View::List {
            None
        } else {
            account.api_config.clone()
        },
    }
}

/// The `/auth` rendering of an account, without marking it used.
pub(crate) fn account_json(state: &State, connector: &str, identifier: &str) -> Option<Value> {
    let found = &state.accounts[state.position(connector, identifier)?];
    Some(to_json(&account(found, View::Auth)))
}

/// Every account, rendered as `/auth` would.
pub(crate) fn accounts_json(state: &State) -> Vec<Value> {
    state
        .accounts
        .iter()
        .map(|a| to_json(&account(a, View::Auth)))
        .collect()
}

/// A connection of `GET /api/v1/connections/app`, fields in proto order.
#[derive(Debug, Serialize)]
pub(crate) struct ConnectionWire {
    id: String,
    provider: String,
    #[serde(rename = "type")]
    connection_type: String,
    status: String,
    enabled: bool,
    provider_key: String,
    key_id: String,
    created_at: String,
    updated_at: String,
}

/// Renders a connection.
pub(crate) fn connection(connection: &Connection) -> ConnectionWire {
    ConnectionWire {
        id: connection_id(&connection.key_id),
        provider: connection.provider_key.clone(),
        connection_type: connection.connection_type.clone(),
        status: connection.status.clone(),
        enabled: connection.enabled,
        provider_key: connection.provider_key.clone(),
        key_id: connection.key_id.clone(),
        created_at: timestamp(connection.created_at),
        updated_at: timestamp(connection.created_at),
    }
}

/// Serializes to a JSON value (infallible for the emulator's own types).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

// ---- responses ------------------------------------------------------------------

/// A response with a status, a content type and a body.
pub(crate) fn response(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A response with a status and these exact bytes, with no content type.
pub(crate) fn raw(status: u16, body: Vec<u8>) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

/// A response with a status and no body (and no content type).
pub(crate) fn empty(status: u16) -> Resp {
    let mut resp = Response::new(Full::default());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

/// Sets a header, skipping values that are not valid header text.
pub(crate) fn set_header(resp: &mut Resp, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        resp.headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
}

/// Plain JSON (token endpoint, control API).
pub(crate) fn json(status: u16, value: &impl Serialize) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_default();
    response(status, "application/json", body)
}

/// A successful `/api/v1` answer, with the gateway's headers.
pub(crate) fn api_ok(status: u16, value: &impl Serialize) -> Resp {
    let mut resp = json(status, value);
    set_header(&mut resp, "grpc-metadata-content-type", "application/grpc");
    set_header(
        &mut resp,
        "x-trace-id",
        &format!("{:032x}", fastrand::u128(..)),
    );
    resp
}

#[derive(Serialize)]
struct GrpcStatus<'a> {
    code: u8,
    message: &'a str,
    details: Vec<ErrorInfo<'a>>,
}

#[derive(Serialize)]
struct ErrorInfo<'a> {
    #[serde(rename = "@type")]
    type_url: &'static str,
    error_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_error_info: Option<ToolErrorInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_error_info: Option<ValidationErrorInfo>,
}

/// `ErrorInfo.validation_error_info`.
#[derive(Serialize)]
struct ValidationErrorInfo {
    field_violations: Vec<FieldViolation>,
}

/// One entry of `field_violations`.
#[derive(Serialize)]
pub(crate) struct FieldViolation {
    pub(crate) field: String,
    pub(crate) description: String,
    pub(crate) constraint: String,
}

/// `ErrorInfo.tool_error_info`: why a tool execution failed.
#[derive(Serialize)]
pub(crate) struct ToolErrorInfo<'a> {
    pub(crate) execution_id: &'a str,
    pub(crate) tool_error_message: &'a str,
    pub(crate) tool_error_code: &'a str,
}

/// A gRPC-gateway error body; `error_code` adds an `ErrorInfo` detail.
pub(crate) fn grpc_error(status: u16, code: u8, message: &str, error_code: Option<&str>) -> Resp {
    let details = error_code
        .map(|error_code| ErrorInfo {
            type_url: ERROR_INFO_TYPE,
            error_code,
            tool_error_info: None,
            validation_error_info: None,
        })
        .into_iter()
        .collect();
    json(
        status,
        &GrpcStatus {
            code,
            message,
            details,
        },
    )
}

/// A failed tool execution: the gRPC error body with `error_code` `TOOL_ERROR` and a
/// `tool_error_info` detail.
pub(crate) fn tool_error(status: u16, code: u8, message: &str, info: ToolErrorInfo<'_>) -> Resp {
    json(
        status,
        &GrpcStatus {
            code,
            message,
            details: vec![ErrorInfo {
                type_url: ERROR_INFO_TYPE,
                error_code: "TOOL_ERROR",
                tool_error_info: Some(info),
                validation_error_info: None,
            }],
        },
    )
}

/// 400, code 3, `BAD_REQUEST` with a `validation_error_info` detail.
pub(crate) fn invalid_fields(message: &str, field_violations: Vec<FieldViolation>) -> Resp {
    json(
        400,
        &GrpcStatus {
            code: 3,
            message,
            details: vec![ErrorInfo {
                type_url: ERROR_INFO_TYPE,
                error_code: "BAD_REQUEST",
                tool_error_info: None,
                validation_error_info: Some(ValidationErrorInfo { field_violations }),
            }],
        },
    )
}

/// The error body a fault gives a path for a bare status: a tool error for a failed
/// `execute_tool`, else [`error_for_status`].
pub(crate) fn error_for_path(path: &str, status: u16) -> Resp {
    if path == "/api/v1/execute_tool" && status >= 400 {
        let (code, _, _) = grpc_for_status(status);
        let execution_id = format!("exec_fault_{}", crate::rules::random_alphanumeric(12));
        return tool_error(
            status,
            code,
            "tool execution failed",
            ToolErrorInfo {
                execution_id: &execution_id,
                tool_error_message: "the provider failed (injected fault)",
                tool_error_code: "PROVIDER_ERROR",
            },
        );
    }
    error_for_status(status)
}

/// gRPC code, `error_code` and message used for an HTTP status (fault bodies).
pub(crate) fn grpc_for_status(status: u16) -> (u8, &'static str, &'static str) {
    match status {
        400 => (3, "BAD_REQUEST", "bad request"),
        401 => (16, "UNAUTHENTICATED", "invalid token"),
        403 => (7, "PERMISSION_DENIED", "permission denied"),
        404 => (5, "NOT_FOUND", "not found"),
        409 => (6, "ALREADY_EXISTS", "already exists"),
        429 => (8, "RATE_LIMITED", "rate limit exceeded"),
        499 => (1, "CANCELLED", "request cancelled"),
        500 => (13, "INTERNAL_ERROR", "internal error"),
        501 => (12, "UNIMPLEMENTED", "not implemented"),
        502 | 503 => (14, "UNAVAILABLE", "service unavailable"),
        504 => (4, "DEADLINE_EXCEEDED", "deadline exceeded"),
        _ => (2, "UNKNOWN", "unknown error"),
    }
}

/// The error body for a bare HTTP status (`{}` for a 2xx).
pub(crate) fn error_for_status(status: u16) -> Resp {
    if (200..300).contains(&status) {
        return json(status, &serde_json::json!({}));
    }
    let (code, error_code, message) = grpc_for_status(status);
    grpc_error(status, code, message, Some(error_code))
}

/// 400, code 3, `BAD_REQUEST`: a request that fails validation.
pub(crate) fn bad_request(message: &str) -> Resp {
    grpc_error(400, 3, message, Some("BAD_REQUEST"))
}

/// 400, code 3, no details: what the gateway says when it cannot parse a request.
pub(crate) fn parse_error(message: &str) -> Resp {
    grpc_error(400, 3, message, None)
}

/// 401, code 16.
pub(crate) fn unauthenticated(message: &str) -> Resp {
    grpc_error(401, 16, message, Some("UNAUTHENTICATED"))
}

/// 404 for a missing connected account.
pub(crate) fn account_not_found() -> Resp {
    grpc_error(404, 5, "connected account not found", Some("NOT_FOUND"))
}

/// The gateway's 404 for a route it does not know.
pub(crate) fn route_not_found() -> Resp {
    grpc_error(404, 5, "Not Found", None)
}

/// The gateway's 405 for a known route with another method.
pub(crate) fn method_not_allowed() -> Resp {
    grpc_error(405, 12, "Method Not Allowed", None)
}

/// An HTML page.
pub(crate) fn html(status: u16, page: String) -> Resp {
    response(status, "text/html; charset=utf-8", page)
}
