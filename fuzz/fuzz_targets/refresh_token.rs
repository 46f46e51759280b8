#![no_main]
//! See `auth_fuzz::refresh_token` for the input layout and the properties.

use auth_fuzz::refresh_token::{RefreshCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: RefreshCase| run(&case));
