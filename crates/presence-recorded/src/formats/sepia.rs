//! sepia recordings: a `<hash>.headers` JSON file whose body is the sibling `<hash>` file.

use std::path::Path;

use serde_json::Value as Json;

use super::json_headers::json_headers;
use crate::error::ReadError;
use crate::model::{Exchange, Format, Recording, Response};

/// sepia: `<hash>.headers` = `{statusCode, headers, url, request: {method}}`, body in `<hash>`.
pub(crate) fn read_sepia(headers_path: &Path) -> Result<Recording, ReadError> {
    let bytes = std::fs::read(headers_path).map_err(|e| ReadError(format!("cannot read: {e}")))?;
    let meta: Json =
        serde_json::from_slice(&bytes).map_err(|e| ReadError(format!("invalid JSON: {e}")))?;
    let url = meta
        .get("url")
        .and_then(Json::as_str)
        .ok_or_else(|| ReadError("no url".to_owned()))?;
    let status = meta
        .get("statusCode")
        .and_then(Json::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| ReadError("no statusCode".to_owned()))?;
    let body_path = headers_path.with_extension("");
    let body = std::fs::read(&body_path)
        .map_err(|e| ReadError(format!("cannot read the body file: {e}")))?;
    Ok(Recording {
        format: Format::Sepia,
        exchanges: vec![Exchange {
            ordinal: 0,
            method: meta
                .pointer("/request/method")
                .and_then(Json::as_str)
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            url: url.to_owned(),
            response: Some(Response {
                status,
                headers: json_headers(meta.get("headers")),
                body,
            }),
        }],
    })
}
