#![no_main]
//! See `auth_fuzz::http_routes` for the input layout and the properties.

use auth_fuzz::http_routes::{HttpCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: HttpCase| run(&case));
