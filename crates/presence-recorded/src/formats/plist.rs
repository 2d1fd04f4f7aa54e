//! Entry point for XML plists: a JSZVCR array or a BeKindRewind cassette (`scenes`).

use super::bekindrewind::read_bekindrewind;
use super::jszvcr::read_jszvcr;
use crate::error::{ReadError, err};
use crate::model::Recording;

pub(crate) fn read_plist(bytes: &[u8]) -> Result<Recording, ReadError> {
    let doc = plist::Value::from_reader_xml(bytes)
        .map_err(|e| ReadError(format!("invalid XML plist: {e}")))?;
    if let Some(items) = doc.as_array() {
        return read_jszvcr(items);
    }
    if let Some(scenes) = doc
        .as_dictionary()
        .and_then(|d| d.get("scenes"))
        .and_then(plist::Value::as_array)
    {
        return read_bekindrewind(scenes);
    }
    err("plist is neither a JSZVCR array nor a BeKindRewind cassette")
}
