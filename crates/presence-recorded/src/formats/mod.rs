//! Readers for the eight recorder formats of the corpus, one file per recorder, plus the
//! per-syntax entry points ([`yaml`], [`json`], [`plist`]) that sniff which recorder wrote a file
//! of that syntax ([`sepia`] is recognised by its file names, so it is called directly).
//!
//! Dependencies point one way: entry points → recorder readers → syntax helpers
//! (`yaml_tree`, `json_headers`, `plist_fields`) → [`crate::body`] and [`crate::model`].

mod bekindrewind;
mod go_vcr;
mod json;
mod json_headers;
mod jszvcr;
mod plist;
mod plist_fields;
mod ruby_vcr;
mod sepia;
mod vcrpy;
mod yahttpvcr;
mod yaml;
mod yaml_tree;

pub(crate) use json::read_json_recording;
pub(crate) use plist::read_plist;
pub(crate) use sepia::read_sepia;
pub(crate) use yaml::read_yaml_recording;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::pickled_string;

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        for bad in [
            &b"<<<<<<< HEAD\na: b\n"[..],
            b"interactions: [1, 2",
            b"{",
            b"",
            b"- just a list",
        ] {
            assert!(read_yaml_recording(bad).is_err());
            assert!(read_json_recording(bad).is_err());
            assert!(read_plist(bad).is_err());
        }
        assert!(pickled_string(b"\x80\x02}q\x00X\xff\xff").is_err());
        assert!(pickled_string(b"").is_err());
    }
}
