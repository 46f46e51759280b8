#![no_main]
//! See `auth_fuzz::guard_header` for the input layout and the properties.

use auth_fuzz::guard_header::{GuardCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: GuardCase| run(&case));
