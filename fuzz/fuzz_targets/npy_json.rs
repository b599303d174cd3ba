//! The `pack` input parsers on arbitrary bytes: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = tfrec::npy::read_npy(data) {
        let _ = tfrec::npy::write_npy(&t);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tfrec::json::tensor_from_json_line(text);
    }
});
