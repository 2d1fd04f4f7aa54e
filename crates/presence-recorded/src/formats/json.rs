//! Entry point for JSON recordings: a YAHTTPVCR event list (top-level array) or a vcrpy JSON
//! cassette (object with `interactions`).

use serde_json::Value as Json;

use super::vcrpy::vcrpy_json_exchange;
use super::yahttpvcr::read_yahttpvcr;
use crate::error::{ReadError, err};
use crate::model::{Format, Recording};

pub(crate) fn read_json_recording(bytes: &[u8]) -> Result<Recording, ReadError> {
    let doc: Json =
        serde_json::from_slice(bytes).map_err(|e| ReadError(format!("invalid JSON: {e}")))?;
    match &doc {
        Json::Array(events) => read_yahttpvcr(events),
        Json::Object(map) => match map.get("interactions") {
            Some(Json::Array(items)) => {
                let mut exchanges = Vec::with_capacity(items.len());
                for (ordinal, item) in items.iter().enumerate() {
                    exchanges.push(
                        vcrpy_json_exchange(ordinal, item)
                            .map_err(|e| ReadError(format!("interaction {ordinal}: {e}")))?,
                    );
                }
                Ok(Recording {
                    format: Format::VcrpyJson,
                    exchanges,
                })
            }
            _ => err("JSON object without `interactions`"),
        },
        _ => err("JSON is neither an event list nor a cassette"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yahttpvcr_pairs_events_by_id() {
        let events = r#"[
            {"id":"a","type":0,"data":{"method":"get","url":"http://h/x"}},
            {"id":"b","type":0,"data":{"method":"get","url":"http://h/y"}},
            {"id":"a","type":1,"data":{"status":200,"headers":{"Content-Encoding":"gzip"}}},
            {"id":"a","type":2,"data":{"base64":"aGk="}},
            {"id":"b","type":3,"data":{"code":-999}},
            {"id":"a","type":4}]"#;
        let rec = read_json_recording(events.as_bytes()).unwrap();
        assert_eq!(rec.format, Format::YahttpVcr);
        assert_eq!(rec.exchanges.len(), 2);
        assert_eq!(rec.exchanges[0].response.as_ref().unwrap().body, b"hi");
        assert!(rec.exchanges[1].response.is_none());
    }
}
