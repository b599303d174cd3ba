//! Frames parsed from arbitrary bytes: never a panic, and what parses
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfrec::framing::{encode_frame, parse_frame, FrameCheck};
use tfrec::SliceReader;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(frame)) = parse_frame(rest, FrameCheck::default()) {
        let mut again = Vec::new();
        encode_frame(frame.payload, &mut again);
        assert_eq!(&again[..], &rest[..frame.frame_len]);
        rest = &rest[frame.frame_len..];
    }
    for record in SliceReader::new(data) {
        if record.is_err() {
            break;
        }
    }
});
