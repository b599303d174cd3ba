//! Sequences of writer operations decoded from the input: whatever is
//! written reads back identically, in every compression.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfrec::{Compression, DType, Reader, Tensor, Writer};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut ops)) = data.split_first() else {
        return;
    };
    let compression = match mode % 3 {
        0 => Compression::None,
        1 => Compression::Gzip,
        _ => Compression::Zlib,
    };
    let mut writer = Writer::with_compression(Vec::new(), compression);
    let mut expected: Vec<Vec<u8>> = Vec::new();
    while let Some((&op, rest)) = ops.split_first() {
        let len = usize::from(rest.first().copied().unwrap_or(0)).min(rest.len().saturating_sub(1));
        let body = rest.get(1..1 + len).unwrap_or_default();
        ops = rest.get(1 + len..).unwrap_or_default();
        match op % 4 {
            0 => {
                writer.write_record(body).unwrap();
                expected.push(body.to_vec());
            }
            1 => {
                let t = Tensor::from_bytes(DType::U8, &[body.len()], body.to_vec()).unwrap();
                writer.write_tensor(&t).unwrap();
                expected.push(t.to_proto_bytes());
            }
            2 => {
                let strings: Vec<&[u8]> = body.chunks(3).collect();
                let t = Tensor::from_strings(&strings, &[strings.len()]).unwrap();
                writer.write_tensor(&t).unwrap();
                expected.push(t.to_proto_bytes());
            }
            _ => {
                let values: Vec<f32> = body
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let t = Tensor::from_slice(&values, &[values.len()]).unwrap();
                writer.write_tensor(&t).unwrap();
                expected.push(t.to_proto_bytes());
            }
        }
    }
    let bytes = writer.finish().unwrap();
    let mut reader = Reader::from_read(std::io::Cursor::new(bytes)).unwrap();
    let got: Vec<Vec<u8>> = reader
        .records()
        .map(|r| r.unwrap().payload.into_owned())
        .collect();
    assert_eq!(got, expected);
});
