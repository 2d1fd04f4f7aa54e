//! Where the corpus is and which of its files to read: the corpus directory, the files that are
//! deliberately excluded, the `PROVENANCE.tsv` file list, and [`read_recording`], which picks
//! the reader for one file from its name.
//!
//! Files are read in place from `../shared/fixtures`; they are never copied into the project.

use std::path::{Path, PathBuf};

use crate::error::{ReadError, err};
use crate::formats::{read_json_recording, read_plist, read_sepia, read_yaml_recording};
use crate::model::Recording;

/// Files of the corpus that must not be parsed, with the reason printed by the suite.
pub const EXCLUDED: &[(&str, &str)] = &[(
    "ruby/fixtures/vcr_cassettes/heartbeat-non200.yml",
    "unresolved git merge-conflict markers (`<<<<<<< HEAD`): not valid YAML (INDEX.md)",
)];

/// The corpus directory: `../shared/fixtures` from the workspace root (it may be absent).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Reads `PROVENANCE.tsv`: the corpus files as `repo/path`, relative to the corpus directory.
pub fn read_provenance(root: &Path) -> Result<Vec<String>, ReadError> {
    let text = read_text(&root.join("PROVENANCE.tsv"))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("repo\tpath") {
        return err("PROVENANCE.tsv: unexpected header");
    }
    Ok(lines
        .filter_map(|line| {
            let mut cols = line.split('\t');
            match (cols.next(), cols.next()) {
                (Some(repo), Some(path)) if !repo.is_empty() && !path.is_empty() => {
                    Some(format!("{repo}/{path}"))
                }
                _ => None,
            }
        })
        .collect())
}

/// Reads one corpus file (`rel` as in `PROVENANCE.tsv`) in place.
///
/// Returns `Ok(None)` for a sepia body file, which is read together with its `.headers` file.
pub fn read_recording(root: &Path, rel: &str) -> Result<Option<Recording>, ReadError> {
    let path = root.join(rel);
    if rel.ends_with(".headers") {
        return read_sepia(&path).map(Some);
    }
    if path.extension().is_none() && path.with_extension("headers").is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| ReadError(format!("cannot read: {e}")))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("plist") => read_plist(&bytes).map(Some),
        Some("json") => read_json_recording(&bytes).map(Some),
        Some("yml" | "yaml") => read_yaml_recording(&bytes).map(Some),
        _ => err("unknown file type"),
    }
}

/// Reads a UTF-8 text file of the corpus, naming the file in the error (the tables are read
/// before any per-file report exists to say which file failed).
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    std::fs::read_to_string(path)
        .map_err(|e| ReadError(format!("cannot read {}: {e}", path.display())))
}
