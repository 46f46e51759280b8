#![no_main]
//! See `auth_fuzz::sqlite_rows` for the input layout and the properties.

use auth_fuzz::sqlite_rows::{SqliteCase, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: SqliteCase| run(&case));
