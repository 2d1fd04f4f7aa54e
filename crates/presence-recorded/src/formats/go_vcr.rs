//! go-vcr YAML cassettes: one interaction (`request.url`, `response.code`).

use super::yaml_tree::{Yaml, yaml_headers};
use crate::error::ReadError;
use crate::model::{Exchange, Response};

pub(crate) fn go_vcr_exchange(ordinal: usize, item: &Yaml) -> Result<Exchange, ReadError> {
    let url = item
        .path(&["request", "url"])
        .and_then(Yaml::str)
        .ok_or_else(|| ReadError("no request.url".to_owned()))?;
    let method = item
        .path(&["request", "method"])
        .and_then(Yaml::str)
        .unwrap_or("GET");
    let status = item
        .path(&["response", "code"])
        .and_then(Yaml::str)
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| {
            item.path(&["response", "status"])
                .and_then(Yaml::str)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
        })
        .ok_or_else(|| ReadError("no numeric response.code".to_owned()))?;
    let body = item
        .path(&["response", "body"])
        .and_then(Yaml::str)
        .unwrap_or_default();
    Ok(Exchange {
        ordinal,
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        response: Some(Response {
            status,
            headers: yaml_headers(item.path(&["response", "headers"])),
            body: body.as_bytes().to_vec(),
        }),
    })
}
