//! Helpers shared by the integration tests: a hand-rolled protobuf encoder
//! (independent of the crate's own), fixtures, and odd readers.
#![allow(dead_code)]

use std::io::{self, Read};
use std::path::Path;

use proptest::test_runner::Config as ProptestConfig;
use tfrec::{bf16, f16, Complex32, Complex64, DType, Reader, Tensor, Writer};

/// A proptest configuration with `cases` cases that leaves no regression
/// files behind in the source tree.
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------
// Protobuf wire format, written out by hand.
// ---------------------------------------------------------------------------

pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const FIXED32: u8 = 5;

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

pub fn varint(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, v);
    out
}

pub fn key(field: u32, wire_type: u8) -> Vec<u8> {
    varint((u64::from(field) << 3) | u64::from(wire_type))
}

/// A varint field.
pub fn varint_field(field: u32, v: u64) -> Vec<u8> {
    let mut out = key(field, VARINT);
    put_varint(&mut out, v);
    out
}

/// A length-delimited field.
pub fn len_field(field: u32, body: &[u8]) -> Vec<u8> {
    let mut out = key(field, LEN);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// A `TensorShapeProto` body; a zero dimension is an empty `Dim`, as
/// TensorFlow writes it.
pub fn shape_body(dims: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in dims {
        let dim = if d == 0 {
            Vec::new()
        } else {
            varint_field(1, d as u64)
        };
        out.extend(len_field(2, &dim));
    }
    out
}

/// `dtype` and `tensor_shape` fields.
pub fn proto_head(dtype_code: i64, dims: &[i64]) -> Vec<u8> {
    let mut out = varint_field(1, dtype_code as u64);
    out.extend(len_field(2, &shape_body(dims)));
    out
}

// ---------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------

/// Six small tensors of mixed dtypes and ranks, including a scalar, an empty
/// tensor and strings.
pub fn mixed_tensors() -> Vec<Tensor> {
    vec![
        Tensor::from_slice(&[1.5f32, -2.0, 3.25, 0.0, f32::INFINITY, -0.0], &[2, 3]).unwrap(),
        Tensor::scalar(-7i64),
        Tensor::from_strings(&[b"cat".as_slice(), b"", b"\0dog\xff"], &[3]).unwrap(),
        Tensor::from_bools(&[true, false, true, true], &[2, 2]).unwrap(),
        Tensor::from_slice::<u16>(&[], &[3, 0]).unwrap(),
        Tensor::from_slice(
            &[Complex64::new(1.0, -1.0), Complex64::new(0.5, 2.0)],
            &[1, 2, 1],
        )
        .unwrap(),
    ]
}

/// The file of [`mixed_tensors`]: the tensors, the file's bytes, and where
/// each frame starts (with the file length last).
pub fn mixed_file() -> (Vec<Tensor>, Vec<u8>, Vec<u64>) {
    let tensors = mixed_tensors();
    let mut w = Writer::new(Vec::new());
    for t in &tensors {
        w.write_tensor(t).unwrap();
    }
    let bytes = w.finish().unwrap();
    let lens: Vec<usize> = tensors.iter().map(|t| t.to_proto_bytes().len()).collect();
    let offsets = frame_offsets(&lens);
    assert_eq!(*offsets.last().unwrap(), bytes.len() as u64);
    (tensors, bytes, offsets)
}

/// One tensor of every dtype.
pub fn one_of_each_dtype() -> Vec<Tensor> {
    let t = vec![
        Tensor::from_slice(&[f16::from_f32(1.5), f16::from_f32(-2.0)], &[2]).unwrap(),
        Tensor::from_slice(&[bf16::from_f32(0.25)], &[1, 1]).unwrap(),
        Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap(),
        Tensor::scalar(std::f64::consts::PI),
        Tensor::from_slice(&[-128i8, 127], &[2]).unwrap(),
        Tensor::from_slice(&[i16::MIN, 0, i16::MAX], &[3, 1]).unwrap(),
        Tensor::from_slice(&[i32::MIN, -1, 1, i32::MAX], &[2, 2]).unwrap(),
        Tensor::from_slice(&[i64::MIN, i64::MAX], &[2]).unwrap(),
        Tensor::from_slice(&[0u8, 255, 7], &[3]).unwrap(),
        Tensor::from_slice(&[65535u16], &[]).unwrap(),
        Tensor::from_slice(&[u32::MAX, 0], &[1, 2]).unwrap(),
        Tensor::from_slice(&[u64::MAX], &[1]).unwrap(),
        Tensor::from_bools(&[false, true], &[2]).unwrap(),
        Tensor::from_slice(&[Complex32::new(1.0, 2.0)], &[1]).unwrap(),
        Tensor::from_slice(&[Complex64::new(-1.0, 0.5)], &[]).unwrap(),
        Tensor::from_strings(&["a", "", "\u{2603}"], &[3]).unwrap(),
    ];
    assert_eq!(
        t.iter().map(|t| t.dtype()).collect::<Vec<_>>(),
        DType::ALL.to_vec()
    );
    t
}

/// Frames `payloads` as TFRecord bytes, by hand: little-endian length,
/// masked CRC32C of the length, payload, masked CRC32C of the payload.
pub fn frame_all(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        let len = (p.len() as u64).to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc(&len).to_le_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(&masked_crc(p).to_le_bytes());
    }
    out
}

/// The frame header for a payload of `len` bytes.
pub fn header(len: u64) -> Vec<u8> {
    let bytes = len.to_le_bytes();
    let mut out = bytes.to_vec();
    out.extend_from_slice(&masked_crc(&bytes).to_le_bytes());
    out
}

/// Bit-by-bit CRC32C (Castagnoli, reflected polynomial 0x82F63B78), masked
/// as TFRecord stores it. Slow and obviously correct.
pub fn masked_crc(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    let crc = !crc;
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Byte offset of each frame for payloads of the given lengths, plus the
/// total length as the last element.
pub fn frame_offsets(payload_lens: &[usize]) -> Vec<u64> {
    let mut offsets = vec![0u64];
    for &len in payload_lens {
        let last = *offsets.last().unwrap();
        offsets.push(last + len as u64 + 16);
    }
    offsets
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------
// Readers.
// ---------------------------------------------------------------------------

/// Hands out at most one byte per `read` call, like a slow pipe.
pub struct OneByteAtATime<R>(pub R);

impl<R: Read> Read for OneByteAtATime<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match buf.first_mut() {
            None => Ok(0),
            Some(first) => {
                let mut one = [0u8; 1];
                let n = self.0.read(&mut one)?;
                if n == 1 {
                    *first = one[0];
                }
                Ok(n)
            }
        }
    }
}

/// An endless stream of zeros that fails once more than `limit` bytes have
/// been asked of it, so a reader that tries to consume a huge claimed
/// length shows up as an I/O error instead of a hang.
pub struct BoundedZeros {
    pub served: u64,
    pub limit: u64,
}

impl Read for BoundedZeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served >= self.limit {
            return Err(io::Error::other("read past the point a reader should stop"));
        }
        let n = buf.len().min((self.limit - self.served) as usize);
        buf[..n].fill(0);
        self.served += n as u64;
        Ok(n)
    }
}

/// (payload, offset, index) of every remaining record of `reader`.
pub type Listing = Vec<(Vec<u8>, u64, u64)>;

/// Every remaining record of `reader`, panicking on the first error.
pub fn read_records(reader: &mut Reader) -> Listing {
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{e}"));
            (r.payload.to_vec(), r.offset, r.index)
        })
        .collect()
}

/// Every entry of `dir`, hidden ones included, sorted.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
