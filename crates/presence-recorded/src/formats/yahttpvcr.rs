//! YAHTTPVCR (ObjC) JSON event lists, reassembled into exchanges by event id.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::json_headers::json_headers;
use crate::body::decode_base64;
use crate::error::{ReadError, err};
use crate::model::{Exchange, Format, Recording, Response};

/// YAHTTPVCR: events `{id, type, data}`; 0 request, 1 response, 2 body (base64 chunk),
/// 3 error, 4 end. Events of one exchange share an id.
pub(crate) fn read_yahttpvcr(events: &[Json]) -> Result<Recording, ReadError> {
    #[derive(Default)]
    struct Partial {
        method: String,
        url: Option<String>,
        status: Option<u16>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }
    let mut order: Vec<String> = Vec::new();
    let mut by_id: BTreeMap<String, Partial> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        let Some(id) = event.get("id").and_then(Json::as_str) else {
            return err(format!("event {i} has no id"));
        };
        let entry = by_id.entry(id.to_owned()).or_insert_with(|| {
            order.push(id.to_owned());
            Partial::default()
        });
        let data = event.get("data");
        match event.get("type").and_then(Json::as_u64) {
            Some(0) => {
                entry.url = data
                    .and_then(|d| d.get("url"))
                    .and_then(Json::as_str)
                    .map(str::to_owned);
                entry.method = data
                    .and_then(|d| d.get("method"))
                    .and_then(Json::as_str)
                    .unwrap_or("GET")
                    .to_ascii_uppercase();
            }
            Some(1) => {
                entry.status = data
                    .and_then(|d| d.get("status"))
                    .and_then(Json::as_u64)
                    .and_then(|s| u16::try_from(s).ok());
                entry.headers = json_headers(data.and_then(|d| d.get("headers")));
            }
            Some(2) => {
                let b64 = data
                    .and_then(|d| d.get("base64"))
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                entry.body.extend(decode_base64(b64)?);
            }
            Some(3 | 4) => {}
            _ => return err(format!("event {i} has an unknown type")),
        }
    }
    let mut exchanges = Vec::with_capacity(order.len());
    for (ordinal, id) in order.iter().enumerate() {
        let Some(p) = by_id.remove(id) else { continue };
        let Some(url) = p.url else {
            return err(format!("exchange {id} has no request event"));
        };
        exchanges.push(Exchange {
            ordinal,
            method: p.method,
            url,
            response: p.status.map(|status| Response {
                status,
                headers: p.headers,
                body: p.body,
            }),
        });
    }
    Ok(Recording {
        format: Format::YahttpVcr,
        exchanges,
    })
}
