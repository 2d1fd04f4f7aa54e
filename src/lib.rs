//! Support code for the workspace's end-to-end tests and examples (not published).
//!
//! [`scenarios`] holds the cross-adapter scenario table: the same calls, faults and expected
//! outcomes run through every adapter (tokio, blocking) against the embedded emulator.
#![forbid(unsafe_code)]

pub mod scenarios;

/// The root README's Rust examples, compiled as doc tests so none is text only.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
