//! The presence-proto integration suite, linked as one test binary to save link time:
//! exact requests per operation and option, input validation, every recorded response shape
//! (from hand-written fixtures), error classification, properties and signing vectors.

mod common;
mod errors;
mod fixtures;
mod props;
mod requests;
mod signing;
mod validation;
