//! # presence-recorded (dev-only)
//!
//! Reads the recorded PubNub HTTP exchanges of the shared fixture corpus
//! (`../shared/fixtures`, see its `INDEX.md` and `PROVENANCE.tsv`) **in place**, in every recorder
//! format it holds, and hands them out as plain [`Exchange`]s (method, URL, status, headers, body
//! bytes). The regression suite in `tests/recorded.rs` replays them through `presence-proto`.
//!
//! Formats: Ruby VCR YAML, vcrpy YAML and JSON (including a base64 Python-pickle body), go-vcr
//! YAML, sepia (`<hash>.headers` JSON + `<hash>` body), YAHTTPVCR JSON event lists and XML
//! plists (JSZVCR and BeKindRewind). Nothing here panics on an odd file: every problem is a
//! [`ReadError`] for the caller to report.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

// Layout: `corpus` (which files, where) and `index` (INDEX.md) drive loading; `formats` turns one
// file into a `model::Recording`, using `body` for storage encodings; `url` serves the suite's
// request matching. Imports point one way: index → corpus → formats → body/model → error.
mod body;
mod corpus;
mod error;
mod formats;
mod index;
mod model;
mod url;

pub use body::{decode_base64, pickled_string};
pub use corpus::{EXCLUDED, fixtures_dir, read_provenance, read_recording};
pub use error::ReadError;
pub use index::{IndexEntry, read_index};
pub use model::{Exchange, Format, Recording, Response};
pub use url::{percent_decode, split_url};
