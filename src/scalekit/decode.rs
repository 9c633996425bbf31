//! Reading Scalekit's answers: success or a typed error, JSON objects decoded without ever
//! quoting the body.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::{ApiError, sanitize_message};
use super::transport::Answer;
use super::types::{AccountEnvelope, ConnectedAccount, GrpcError};

pub(super) fn expect_success(method: &Method, path: &str, answer: &Answer) -> Result<(), ApiError> {
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(unexpected(method, path, answer))
    }
}

pub(super) fn unexpected(method: &Method, path: &str, answer: &Answer) -> ApiError {
    let err: GrpcError = serde_json::from_slice(&answer.body).unwrap_or_default();
    ApiError::Unexpected {
        method: method.to_string(),
        path: path.to_owned(),
        status: answer.status.as_u16(),
        grpc_code: err.code,
        error_code: err.error_code().as_deref().map(sanitize_message),
        message: err
            .message
            .as_deref()
            .map(sanitize_message)
            .filter(|m| !m.is_empty()),
    }
}

pub(super) fn account_from(
    method: &Method,
    path: &str,
    answer: &Answer,
) -> Result<ConnectedAccount, ApiError> {
    let envelope: AccountEnvelope = decode_answer(method, path, answer)?;
    envelope.connected_account.ok_or_else(|| ApiError::Decode {
        method: method.to_string(),
        path: path.to_owned(),
        detail: "the answer has no connected_account".into(),
    })
}

/// [`decode`], and when that fails on an answer that does not even claim to be JSON (an
/// HTML error page from a proxy, say), the error names its content type.
pub(super) fn decode_answer<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    answer: &Answer,
) -> Result<T, ApiError> {
    decode(method, path, &answer.body).map_err(|err| match (err, &answer.content_type) {
        (
            ApiError::Decode {
                method,
                path,
                detail,
            },
            Some(ct),
        ) if !is_json_type(ct) => ApiError::Decode {
            method,
            path,
            detail: format!("{detail} (content-type: {})", sanitize_message(ct)),
        },
        (err, _) => err,
    })
}

/// `application/json`, `application/problem+json`, … (parameters ignored).
pub(super) fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// Parses a JSON object without ever quoting the body: a decode error names only what and
/// where. Every Scalekit answer is an object; serde would read a struct from an array too.
pub(super) fn decode<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
    {
        let what = match value {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(ApiError::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            detail: format!("unexpected JSON types: {what} where an object belongs"),
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "unexpected JSON types or values",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        let detail = if body.is_empty() {
            "empty body".to_owned()
        } else if std::str::from_utf8(body).is_err() {
            "not UTF-8 text".to_owned()
        } else {
            format!("{what} at line {} column {}", e.line(), e.column())
        };
        ApiError::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            detail,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalekit::types::ListPage;

    #[test]
    fn only_objects_decode_and_json_types_are_recognised() {
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", b" [] ")
            .unwrap_err()
            .to_string();
        assert!(err.contains("an array where an object belongs"), "{err}");
        let err = decode::<ListPage>(&Method::GET, "/x", b"null")
            .unwrap_err()
            .to_string();
        assert!(err.contains("null where an object belongs"), "{err}");
        assert!(decode::<ListPage>(&Method::GET, "/x", b" {}").is_ok());
        assert!(is_json_type("application/json; charset=utf-8"));
        assert!(is_json_type("Application/Problem+JSON"));
        assert!(!is_json_type("text/html; charset=utf-8"));
    }

    #[test]
    fn decode_errors_never_quote_the_body() {
        let body = br#"{"connected_account":{"status":"tok-SECRET-123", "id": 5}}"#;
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", body)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        let err = decode::<AccountEnvelope>(&Method::GET, "/x", b"\xff\xfe")
            .unwrap_err()
            .to_string();
        assert!(err.contains("UTF-8"), "{err}");
    }
}
