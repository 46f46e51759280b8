#![no_main]
//! See `auth_fuzz::redis_records` for the input layout and the properties.

use auth_fuzz::redis_records::{RedisCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: RedisCase| run(&case));
