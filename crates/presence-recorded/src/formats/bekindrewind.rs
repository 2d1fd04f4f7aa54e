//! BeKindRewind (ObjC testing) XML plists: `scenes[].frames[]`, one scene per exchange.
//!
//! The body may be split over several data frames; they are concatenated in frame order.

use super::plist_fields::{plist_get, plist_headers, plist_status};
use crate::error::{ReadError, err};
use crate::model::{Exchange, Format, Recording, Response};

pub(crate) fn read_bekindrewind(scenes: &[plist::Value]) -> Result<Recording, ReadError> {
    let mut exchanges = Vec::with_capacity(scenes.len());
    for (ordinal, scene) in scenes.iter().enumerate() {
        let frames = plist_get(scene, &["frames"])
            .and_then(plist::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let class = |f: &plist::Value| {
            plist_get(f, &["class"])
                .and_then(plist::Value::as_string)
                .unwrap_or_default()
                .to_owned()
        };
        let request = frames
            .iter()
            .find(|f| class(f) == "BKROriginalRequestFrame")
            .or_else(|| frames.iter().find(|f| class(f) == "BKRCurrentRequestFrame"));
        let Some(url) = request
            .and_then(|r| plist_get(r, &["URL"]))
            .and_then(plist::Value::as_string)
        else {
            return err(format!("scene {ordinal}: no request frame"));
        };
        let method = request
            .and_then(|r| plist_get(r, &["HTTPMethod"]))
            .and_then(plist::Value::as_string)
            .unwrap_or("GET");
        let response = frames.iter().find(|f| class(f) == "BKRResponseFrame");
        let status = plist_status(response.and_then(|r| plist_get(r, &["statusCode"])));
        let body = frames
            .iter()
            .filter(|f| class(f) == "BKRDataFrame")
            .filter_map(|f| plist_get(f, &["data"]).and_then(plist::Value::as_data))
            .flatten()
            .copied()
            .collect();
        exchanges.push(Exchange {
            ordinal,
            method: method.to_ascii_uppercase(),
            url: url.to_owned(),
            response: status.map(|status| Response {
                status,
                headers: plist_headers(response.and_then(|r| plist_get(r, &["allHeaderFields"]))),
                body,
            }),
        });
    }
    Ok(Recording {
        format: Format::BeKindRewind,
        exchanges,
    })
}
