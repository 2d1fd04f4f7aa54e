//! Integration tests of the presence emulator through raw HTTP requests (one test binary,
//! one module per area).

mod access;
mod admin;
mod common;
mod encoding;
mod faults;
mod fixtures_shape;
mod groups;
mod hardening;
mod here_now;
mod lifecycle;
mod presence;
mod sdk_scripts;
mod state;
mod subscribe;
mod subscribe_faults;
