//! Entry point for YAML cassettes: tells Ruby VCR, vcrpy and go-vcr apart by their keys.

use super::go_vcr::go_vcr_exchange;
use super::ruby_vcr::read_ruby_vcr;
use super::vcrpy::vcrpy_yaml_exchange;
use super::yaml_tree::{Yaml, parse_yaml};
use crate::error::{ReadError, err};
use crate::model::{Format, Recording};

pub(crate) fn read_yaml_recording(bytes: &[u8]) -> Result<Recording, ReadError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("\n<<<<<<< ") || text.starts_with("<<<<<<< ") {
        return err("unresolved merge-conflict markers");
    }
    let doc = parse_yaml(&text)?;
    if let Some(Yaml::Seq(items)) = doc.get("http_interactions") {
        return read_ruby_vcr(items);
    }
    let Some(Yaml::Seq(items)) = doc.get("interactions") else {
        return err("YAML without `http_interactions` or `interactions`");
    };
    let go = items
        .first()
        .and_then(|i| i.path(&["request", "url"]))
        .is_some();
    let mut exchanges = Vec::with_capacity(items.len());
    for (ordinal, item) in items.iter().enumerate() {
        let exchange = if go {
            go_vcr_exchange(ordinal, item)
        } else {
            vcrpy_yaml_exchange(ordinal, item)
        };
        exchanges.push(exchange.map_err(|e| ReadError(format!("interaction {ordinal}: {e}")))?);
    }
    Ok(Recording {
        format: if go { Format::GoVcr } else { Format::VcrpyYaml },
        exchanges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_binary_tags_and_python_tuples() {
        let text = "interactions:\n- request: {method: GET, uri: 'http://h/p?x=1'}\n  response:\n    status: {code: 200}\n    body:\n      string: !!binary |\n        aGk=\n    headers:\n    - !!python/tuple\n      - Content-Type\n      - [text/javascript]\n";
        let rec = read_yaml_recording(text.as_bytes()).unwrap();
        assert_eq!(rec.format, Format::VcrpyYaml);
        let resp = rec.exchanges[0].response.as_ref().unwrap();
        assert_eq!(resp.body, b"hi");
        assert_eq!(
            resp.headers,
            [("Content-Type".to_owned(), "text/javascript".to_owned())]
        );
    }
}
