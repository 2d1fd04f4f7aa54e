//! The header layout shared by the JSON recorders (vcrpy JSON, YAHTTPVCR, sepia).

use serde_json::Value as Json;

/// Headers as a JSON object of name → string or list of strings.
pub(crate) fn json_headers(node: Option<&Json>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(Json::Object(map)) = node {
        for (name, value) in map {
            match value {
                Json::String(v) => out.push((name.clone(), v.clone())),
                Json::Array(items) => out.extend(
                    items
                        .iter()
                        .filter_map(Json::as_str)
                        .map(|v| (name.clone(), v.to_owned())),
                ),
                Json::Number(n) => out.push((name.clone(), n.to_string())),
                _ => {}
            }
        }
    }
    out
}
