//! Ruby VCR YAML cassettes (`http_interactions`).

use super::yaml_tree::{Yaml, yaml_headers};
use crate::body::decode_base64;
use crate::error::ReadError;
use crate::model::{Exchange, Format, Recording, Response};

pub(crate) fn read_ruby_vcr(items: &[Yaml]) -> Result<Recording, ReadError> {
    let mut exchanges = Vec::with_capacity(items.len());
    for (ordinal, item) in items.iter().enumerate() {
        let bad = |what: &str| ReadError(format!("interaction {ordinal}: {what}"));
        let url = item
            .path(&["request", "uri"])
            .and_then(Yaml::str)
            .ok_or_else(|| bad("no request.uri"))?;
        let method = item
            .path(&["request", "method"])
            .and_then(Yaml::str)
            .unwrap_or("get");
        let status = item
            .path(&["response", "status", "code"])
            .and_then(Yaml::str)
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| bad("no numeric response.status.code"))?;
        let body = item
            .path(&["response", "body"])
            .ok_or_else(|| bad("no response.body"))?;
        let body = if let Some(text) = body.get("string").and_then(Yaml::str) {
            text.as_bytes().to_vec()
        } else if let Some(b64) = body.get("base64_string").and_then(Yaml::str) {
            decode_base64(b64).map_err(|e| bad(&e.0))?
        } else {
            Vec::new()
        };
        exchanges.push(Exchange {
            ordinal,
            method: method.to_ascii_uppercase(),
            url: url.to_owned(),
            response: Some(Response {
                status,
                headers: yaml_headers(item.path(&["response", "headers"])),
                body,
            }),
        });
    }
    Ok(Recording {
        format: Format::RubyVcr,
        exchanges,
    })
}
