//! Whole files (plain or compressed, recognised by content) read from
//! arbitrary bytes through every reader: never a panic, and the stream and
//! slice readers agree on plain input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfrec::{Compression, Reader, SliceReader};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Reader::from_read(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let mut streamed = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let _ = r.decode();
                streamed.push(r.payload.into_owned());
            }
            Err(_) => break,
        }
    }
    if reader.compression() == Compression::None {
        let sliced: Vec<Vec<u8>> = SliceReader::new(data)
            .map_while(Result::ok)
            .map(|r| r.payload.into_owned())
            .collect();
        assert_eq!(sliced, streamed);
        let _ = tfrec::verify::verify_bytes(data, &|_| {});
    }
});
