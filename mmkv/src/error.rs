//! The error answer of the HTTP API: `{"error": "...", "definite": true|false}` with a status
//! code that says the same: 400 malformed request, 503 definitely not done, 500/504 maybe done.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status code.
    pub status: StatusCode,
    /// What went wrong, as a lowercase fragment.
    pub message: String,
    /// True when the operation certainly did not take effect.
    pub definite: bool,
}

impl ApiError {
    /// A malformed request or a value of the wrong type: nothing happened.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            definite: true,
        }
    }

    /// The node cannot serve the request now, and did not try.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            definite: true,
        }
    }

    /// Something failed after the request may have taken effect.
    pub fn indefinite(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            definite: false,
        }
    }

    /// The request timed out after it may have taken effect.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::GATEWAY_TIMEOUT,
            message: message.into(),
            definite: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "definite": self.definite});
        (self.status, Json(body)).into_response()
    }
}
