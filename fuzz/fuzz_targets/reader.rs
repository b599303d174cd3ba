//! Whole files (plain or compressed, recognised by content) read from
//! arbitrary bytes through every reader: never a panic, the stream and
//! slice readers agree on plain input, and verification and indexing agree
//! with them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfrec::index::Index;
use tfrec::{Compression, Reader, SliceReader};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Reader::from_read(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let mut streamed = Vec::new();
    let mut stream_failed = false;
    let mut decoded = true;
    for record in reader.records() {
        match record {
            Ok(r) => {
                decoded &= r.decode().is_ok();
                streamed.push(r.payload.into_owned());
            }
            Err(_) => {
                stream_failed = true;
                break;
            }
        }
    }
    if reader.compression() == Compression::None {
        let mut sliced = Vec::new();
        let mut slice_failed = false;
        for record in SliceReader::new(data) {
            match record {
                Ok(r) => sliced.push(r.payload.into_owned()),
                Err(_) => {
                    slice_failed = true;
                    break;
                }
            }
        }
        assert_eq!(sliced, streamed);
        assert_eq!(slice_failed, stream_failed);
        let report = tfrec::verify::verify_bytes(data, &|_| {});
        assert_eq!(report.is_ok(), !slice_failed && decoded);
        let index = Index::scan_bytes(data);
        if !slice_failed {
            assert_eq!(report.records, sliced.len() as u64);
            assert_eq!(index.map(|i| i.len()).ok(), Some(sliced.len()));
        }
    }
});
