//! vcrpy cassettes, in both of its serialisations (YAML and JSON): one interaction each.
//!
//! `response.url` is preferred over `request.uri` when a cassette has both, because
//! [`Exchange::url`] promises the most complete URL the recorder kept.

use serde_json::Value as Json;

use super::json_headers::json_headers;
use super::yaml_tree::{Yaml, yaml_headers};
use crate::body::{decode_base64, pickled_string};
use crate::error::ReadError;
use crate::model::{Exchange, Response};

pub(crate) fn vcrpy_yaml_exchange(ordinal: usize, item: &Yaml) -> Result<Exchange, ReadError> {
    let url = item
        .path(&["response", "url"])
        .or_else(|| item.path(&["request", "uri"]))
        .and_then(Yaml::str)
        .ok_or_else(|| ReadError("no request.uri".to_owned()))?;
    let method = item
        .path(&["request", "method"])
        .and_then(Yaml::str)
        .unwrap_or("GET");
    let status = item
        .path(&["response", "status", "code"])
        .and_then(Yaml::str)
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ReadError("no numeric response.status.code".to_owned()))?;
    let body = match item.path(&["response", "body", "string"]) {
        Some(node) if node.tag().is_some_and(|t| t.ends_with("binary")) => {
            decode_base64(node.str().unwrap_or_default())?
        }
        Some(node) => node.str().unwrap_or_default().as_bytes().to_vec(),
        None => match item
            .path(&["response", "body", "pickle"])
            .and_then(Yaml::str)
        {
            Some(b64) => pickled_string(&decode_base64(b64)?)?,
            None => Vec::new(),
        },
    };
    Ok(Exchange {
        ordinal,
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        response: Some(Response {
            status,
            headers: yaml_headers(item.path(&["response", "headers"])),
            body,
        }),
    })
}

pub(crate) fn vcrpy_json_exchange(ordinal: usize, item: &Json) -> Result<Exchange, ReadError> {
    let url = item
        .pointer("/response/url")
        .or_else(|| item.pointer("/request/uri"))
        .and_then(Json::as_str)
        .ok_or_else(|| ReadError("no request.uri".to_owned()))?;
    let method = item
        .pointer("/request/method")
        .and_then(Json::as_str)
        .unwrap_or("GET");
    let status = item
        .pointer("/response/status/code")
        .and_then(Json::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| ReadError("no numeric response.status.code".to_owned()))?;
    let body = if let Some(text) = item.pointer("/response/body/string").and_then(Json::as_str) {
        text.as_bytes().to_vec()
    } else if let Some(b64) = item.pointer("/response/body/pickle").and_then(Json::as_str) {
        pickled_string(&decode_base64(b64)?)?
    } else {
        Vec::new()
    };
    Ok(Exchange {
        ordinal,
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        response: Some(Response {
            status,
            headers: json_headers(item.pointer("/response/headers")),
            body,
        }),
    })
}
