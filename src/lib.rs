//! Support code for the workspace's end-to-end tests and examples (not published).
#![forbid(unsafe_code)]
