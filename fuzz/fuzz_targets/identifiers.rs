#![no_main]
//! See `auth_fuzz::identifiers` for the properties.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| auth_fuzz::identifiers::run(data));
