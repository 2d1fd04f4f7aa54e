//! JSZVCR (ObjC) XML plists: an array of `{request, response, data}`.
//!
//! A missing status means the request was cancelled before a reply: the exchange is kept with no
//! response so the suite can report it rather than lose it.

use super::plist_fields::{plist_get, plist_headers, plist_status};
use crate::error::{ReadError, err};
use crate::model::{Exchange, Format, Recording, Response};

pub(crate) fn read_jszvcr(items: &[plist::Value]) -> Result<Recording, ReadError> {
    let mut exchanges = Vec::with_capacity(items.len());
    for (ordinal, item) in items.iter().enumerate() {
        let request = plist_get(item, &["request", "originalRequest"])
            .or_else(|| plist_get(item, &["request", "currentRequest"]));
        let Some(url) = request
            .and_then(|r| plist_get(r, &["URL"]))
            .and_then(plist::Value::as_string)
        else {
            return err(format!("entry {ordinal}: no request URL"));
        };
        let method = request
            .and_then(|r| plist_get(r, &["HTTPMethod"]))
            .and_then(plist::Value::as_string)
            .unwrap_or("GET");
        let response = plist_get(item, &["response", "response"]);
        let status = plist_status(response.and_then(|r| plist_get(r, &["statusCode"])));
        exchanges.push(Exchange {
            ordinal,
            method: method.to_ascii_uppercase(),
            url: url.to_owned(),
            response: status.map(|status| Response {
                status,
                headers: plist_headers(response.and_then(|r| plist_get(r, &["allHeaderFields"]))),
                body: plist_get(item, &["data", "data"])
                    .and_then(plist::Value::as_data)
                    .unwrap_or_default()
                    .to_vec(),
            }),
        });
    }
    Ok(Recording {
        format: Format::JszVcr,
        exchanges,
    })
}
