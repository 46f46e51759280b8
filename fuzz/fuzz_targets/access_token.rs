#![no_main]
//! See `auth_fuzz::access_token` for the input layout and the properties.

use auth_fuzz::access_token::{AccessCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: AccessCase| run(&case));
