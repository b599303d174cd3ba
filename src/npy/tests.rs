//! Whole `.npy` files read and written: golden files from numpy, every
//! dtype round-tripped, and malformed files and headers. Only test code:
//! it goes through `read_npy` and `write_npy`, and knows of the parts
//! inside only the layout constants and the header padding.

use super::header::MAGIC;
use super::read::read_npy;
use super::write::{padded_len, write_npy, ARRAY_ALIGN};
use crate::dtype::DType;
use crate::tensor::{Tensor, MAX_RANK};
use crate::ErrorKind;
use half::{bf16, f16};
use num_complex::{Complex32, Complex64};

/// Files written by numpy 2.4 (`numpy.save`, or `format.write_array`
/// for the explicit versions), with the script that made them below.
mod golden {
    // import numpy as np, io, numpy.lib.format as F
    // def save(a, version=None): f = io.BytesIO(); (np.save(f, a, allow_pickle=True)
    //     if version is None else F.write_array(f, a, version=version, allow_pickle=True))
    //     return f.getvalue()
    // F32_2X3: np.arange(6, dtype='<f4').reshape(2, 3)      F64_SCALAR: np.array(1.5)
    // I16_3X0X2: np.zeros((3, 0, 2), 'i2')                 S4_BYTES: np.array([b'ab', b'', b'a\0b\0'], 'S4')
    // F16_LE: np.array([1.5, -2.0], '<f2')                 F8_BE: np.array([1.5, -2.0, 3.25], '>f8')
    // C8_BE / C16_LE: np.array([1+2j, -3.5j], '>c8' / '<c16')
    // I8_SCALAR: np.array(-7, 'i1')                        BOOL: np.array([True, False, True])
    // U2_BE_FORTRAN_2X3: np.asfortranarray(np.arange(6, dtype='>u2').reshape(2, 3))
    // I16_FORTRAN_2X3X4: np.asfortranarray(np.arange(24, dtype='<i2').reshape(2, 3, 4))
    // S_FORTRAN_2X3: np.asfortranarray(np.array([[b'a', b'bb', b'c'], [b'dd', b'', b'f\0g']]))
    // U_LE: np.array(['h\u00e9llo', '', 'a\0b', '\U0001F600'])
    // U_BE_FORTRAN_2X2: np.asfortranarray(np.array([['a', 'bc'], ['\u00e9', 'd\0']], '>U2'))
    // OBJECT: np.array([1, 'a'], dtype=object)
    // U8_V2: save(np.arange(3, dtype='u1'), (2, 0))
    // I32_V3: save(np.arange(3, dtype='<i4').reshape(3, 1), (3, 0))
    pub(super) const F32_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n\
      \x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40";
    pub(super) const F64_SCALAR: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }                                                              \n\
      \x00\x00\x00\x00\x00\x00\xf8\x3f";
    pub(super) const I16_3X0X2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (3, 0, 2), }                                                       \n";
    pub(super) const S4_BYTES: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|S4', 'fortran_order': False, 'shape': (3,), }                                                            \n\
      \x61\x62\x00\x00\x00\x00\x00\x00\x61\x00\x62\x00";
    pub(super) const F16_LE: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }                                                            \n\
      \x00\x3e\x00\xc0";
    pub(super) const F8_BE: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }                                                            \n\
      \x3f\xf8\x00\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x00\x40\x0a\x00\x00\x00\x00\x00\x00";
    pub(super) const C8_BE: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>c8', 'fortran_order': False, 'shape': (2,), }                                                            \n\
      \x3f\x80\x00\x00\x40\x00\x00\x00\x80\x00\x00\x00\xc0\x60\x00\x00";
    pub(super) const C16_LE: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }                                                           \n\
      \x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x80\
      \x00\x00\x00\x00\x00\x00\x0c\xc0";
    pub(super) const I8_SCALAR: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (), }                                                              \n\
      \xf9";
    pub(super) const BOOL: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }                                                            \n\
      \x01\x00\x01";
    pub(super) const U2_BE_FORTRAN_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3), }                                                           \n\
      \x00\x00\x00\x03\x00\x01\x00\x04\x00\x02\x00\x05";
    pub(super) const I16_FORTRAN_2X3X4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }                                                        \n\
      \x00\x00\x0c\x00\x04\x00\x10\x00\x08\x00\x14\x00\x01\x00\x0d\x00\x05\x00\x11\x00\x09\x00\x15\x00\
      \x02\x00\x0e\x00\x06\x00\x12\x00\x0a\x00\x16\x00\x03\x00\x0f\x00\x07\x00\x13\x00\x0b\x00\x17\x00";
    pub(super) const S_FORTRAN_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|S3', 'fortran_order': True, 'shape': (2, 3), }                                                           \n\
      \x61\x00\x00\x64\x64\x00\x62\x62\x00\x00\x00\x00\x63\x00\x00\x66\x00\x67";
    pub(super) const U_LE: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<U5', 'fortran_order': False, 'shape': (4,), }                                                            \n\
      \x68\x00\x00\x00\xe9\x00\x00\x00\x6c\x00\x00\x00\x6c\x00\x00\x00\x6f\x00\x00\x00\x00\x00\x00\x00\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x61\x00\x00\x00\x00\x00\x00\x00\
      \x62\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf6\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\
      \x00\x00\x00\x00\x00\x00\x00\x00";
    pub(super) const U_BE_FORTRAN_2X2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>U2', 'fortran_order': True, 'shape': (2, 2), }                                                           \n\
      \x00\x00\x00\x61\x00\x00\x00\x00\x00\x00\x00\xe9\x00\x00\x00\x00\x00\x00\x00\x62\x00\x00\x00\x63\
      \x00\x00\x00\x64\x00\x00\x00\x00";
    pub(super) const OBJECT: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }                                                             \n\
      \x80\x04\x95\x90\x00\x00\x00\x00\x00\x00\x00\x8c\x16\x6e\x75\x6d\x70\x79\x2e\x5f\x63\x6f\x72\x65\
      \x2e\x6d\x75\x6c\x74\x69\x61\x72\x72\x61\x79\x94\x8c\x0c\x5f\x72\x65\x63\x6f\x6e\x73\x74\x72\x75\
      \x63\x74\x94\x93\x94\x8c\x05\x6e\x75\x6d\x70\x79\x94\x8c\x07\x6e\x64\x61\x72\x72\x61\x79\x94\x93\
      \x94\x4b\x00\x85\x94\x43\x01\x62\x94\x87\x94\x52\x94\x28\x4b\x01\x4b\x02\x85\x94\x68\x03\x8c\x05\
      \x64\x74\x79\x70\x65\x94\x93\x94\x8c\x02\x4f\x38\x94\x89\x88\x87\x94\x52\x94\x28\x4b\x03\x8c\x01\
      \x7c\x94\x4e\x4e\x4e\x4a\xff\xff\xff\xff\x4a\xff\xff\xff\xff\x4b\x3f\x74\x94\x62\x89\x5d\x94\x28\
      \x4b\x01\x8c\x01\x61\x94\x65\x74\x94\x62\x2e";
    pub(super) const U8_V2: &[u8] = b"\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }                                                          \n\
      \x00\x01\x02";
    pub(super) const I32_V3: &[u8] = b"\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }                                                        \n\
      \x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00";
}

/// A version 1.0 file around `dict`, padded as numpy pads it.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let text_len = dict.len() + 1;
    let padded = padded_len(10, text_len);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&u16::try_from(padded).unwrap().to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(10 + padded - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(data);
    out
}

fn header(descr: &str, fortran: bool, shape: &str) -> String {
    let order = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}")
}

fn reason(bytes: &[u8]) -> String {
    match read_npy(bytes) {
        Ok(t) => panic!("expected an error, got {t:?}"),
        Err(e) => match e.kind() {
            ErrorKind::InvalidInput { reason } | ErrorKind::InvalidTensor { reason } => {
                reason.clone()
            }
            other => panic!("unexpected error kind {other:?}"),
        },
    }
}

fn strings(t: &Tensor) -> Vec<Vec<u8>> {
    t.strings().unwrap().map(<[u8]>::to_vec).collect()
}

#[test]
fn reads_numpy_files() {
    let t = read_npy(golden::F32_2X3).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.to_vec::<f32>().unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);

    let t = read_npy(golden::F64_SCALAR).unwrap();
    assert_eq!((t.dtype(), t.rank()), (DType::F64, 0));
    assert_eq!(t.to_vec::<f64>().unwrap(), [1.5]);

    let t = read_npy(golden::I16_3X0X2).unwrap();
    assert_eq!((t.dtype(), t.shape()), (DType::I16, &[3, 0, 2][..]));
    assert_eq!(t.num_elements(), 0);

    let t = read_npy(golden::F16_LE).unwrap();
    assert_eq!(
        t.to_vec::<f16>().unwrap(),
        [f16::from_f32(1.5), f16::from_f32(-2.0)]
    );

    let t = read_npy(golden::C16_LE).unwrap();
    assert_eq!(
        t.to_vec::<Complex64>().unwrap(),
        [Complex64::new(1.0, 2.0), Complex64::new(-0.0, -3.5)]
    );

    let t = read_npy(golden::I8_SCALAR).unwrap();
    assert_eq!((t.shape(), t.to_vec::<i8>().unwrap()), (&[][..], vec![-7]));

    let t = read_npy(golden::BOOL).unwrap();
    assert_eq!(t.to_bools().unwrap(), [true, false, true]);
}

#[test]
fn reads_versions_2_and_3() {
    let t = read_npy(golden::U8_V2).unwrap();
    assert_eq!(t.to_vec::<u8>().unwrap(), [0, 1, 2]);
    let t = read_npy(golden::I32_V3).unwrap();
    assert_eq!(t.shape(), &[3, 1]);
    assert_eq!(t.to_vec::<i32>().unwrap(), [0, 1, 2]);
}

#[test]
fn big_endian_is_swapped_per_component() {
    let t = read_npy(golden::F8_BE).unwrap();
    assert_eq!(t.to_vec::<f64>().unwrap(), [1.5, -2.0, 3.25]);
    let t = read_npy(golden::C8_BE).unwrap();
    assert_eq!(
        t.to_vec::<Complex32>().unwrap(),
        [Complex32::new(1.0, 2.0), Complex32::new(-0.0, -3.5)]
    );
    let t = read_npy(&npy(
        &header(">i4", false, "(2,)"),
        &[0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe],
    ))
    .unwrap();
    assert_eq!(t.to_vec::<i32>().unwrap(), [0x0102, -2]);
    // `=` and `|` mean native order, which for .npy is little-endian.
    let t = read_npy(&npy(&header("=u2", false, "(1,)"), &[1, 2])).unwrap();
    assert_eq!(t.to_vec::<u16>().unwrap(), [0x0201]);
}

#[test]
fn fortran_order_is_transposed() {
    let t = read_npy(golden::U2_BE_FORTRAN_2X3).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.to_vec::<u16>().unwrap(), [0, 1, 2, 3, 4, 5]);

    let t = read_npy(golden::I16_FORTRAN_2X3X4).unwrap();
    assert_eq!(t.shape(), &[2, 3, 4]);
    assert_eq!(t.to_vec::<i16>().unwrap(), (0..24).collect::<Vec<i16>>());

    // Hand-made rank 3, complex: element (i, j, k) sits at i + 2j + 6k.
    let shape = [2usize, 3, 2];
    let mut data = Vec::new();
    for k in 0..2 {
        for j in 0..3 {
            for i in 0..2 {
                let v = (i * 100 + j * 10 + k) as f32;
                data.extend_from_slice(&v.to_le_bytes());
                data.extend_from_slice(&(-v).to_le_bytes());
            }
        }
    }
    let t = read_npy(&npy(&header("<c8", true, "(2, 3, 2)"), &data)).unwrap();
    assert_eq!(t.shape(), &shape);
    let mut expected = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..2 {
                let v = (i * 100 + j * 10 + k) as f32;
                expected.push(Complex32::new(v, -v));
            }
        }
    }
    assert_eq!(t.to_vec::<Complex32>().unwrap(), expected);

    // Rank 1 and empty Fortran arrays need no reordering.
    let t = read_npy(&npy(&header("|u1", true, "(3,)"), &[7, 8, 9])).unwrap();
    assert_eq!(t.to_vec::<u8>().unwrap(), [7, 8, 9]);
    let t = read_npy(&npy(&header("<f4", true, "(2, 0)"), &[])).unwrap();
    assert_eq!(t.shape(), &[2, 0]);
}

#[test]
fn byte_strings() {
    let t = read_npy(golden::S4_BYTES).unwrap();
    assert_eq!(t.dtype(), DType::String);
    assert_eq!(strings(&t), [&b"ab"[..], b"", b"a\0b"]);

    let t = read_npy(golden::S_FORTRAN_2X3).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(strings(&t), [&b"a"[..], b"bb", b"c", b"dd", b"", b"f\0g"]);

    let t = read_npy(&npy(&header("|S2", false, "()"), b"\0x")).unwrap();
    assert_eq!((t.rank(), strings(&t)), (0, vec![b"\0x".to_vec()]));
}

#[test]
fn unicode_strings() {
    let t = read_npy(golden::U_LE).unwrap();
    assert_eq!(
        strings(&t),
        [
            "h\u{e9}llo".as_bytes(),
            b"",
            b"a\0b",
            "\u{1F600}".as_bytes()
        ]
    );
    let t = read_npy(golden::U_BE_FORTRAN_2X2).unwrap();
    assert_eq!(t.shape(), &[2, 2]);
    assert_eq!(strings(&t), [&b"a"[..], b"bc", "\u{e9}".as_bytes(), b"d"]);

    for bad in [0xD800u32, 0x11_0000] {
        let mut data = 0x41u32.to_le_bytes().to_vec();
        data.extend_from_slice(&bad.to_le_bytes());
        let why = reason(&npy(&header("<U2", false, "(1,)"), &data));
        assert!(why.contains("not a Unicode scalar value"), "{why}");
    }
}

#[test]
fn writes_what_numpy_writes() {
    let cases: [(&[u8], Tensor); 7] = [
        (
            golden::F32_2X3,
            Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap(),
        ),
        (golden::F64_SCALAR, Tensor::scalar(1.5f64)),
        (
            golden::I16_3X0X2,
            Tensor::from_slice::<i16>(&[], &[3, 0, 2]).unwrap(),
        ),
        (
            golden::F16_LE,
            Tensor::from_slice(&[f16::from_f32(1.5), f16::from_f32(-2.0)], &[2]).unwrap(),
        ),
        (golden::I8_SCALAR, Tensor::scalar(-7i8)),
        (
            golden::BOOL,
            Tensor::from_bools(&[true, false, true], &[3]).unwrap(),
        ),
        (
            golden::C16_LE,
            Tensor::from_slice(
                &[Complex64::new(1.0, 2.0), Complex64::new(-0.0, -3.5)],
                &[2],
            )
            .unwrap(),
        ),
    ];
    for (expected, tensor) in cases {
        assert_eq!(write_npy(&tensor).unwrap(), expected, "{tensor:?}");
    }
    let strings = Tensor::from_strings(&["ab", "", "a\0b\0"], &[3]).unwrap();
    assert_eq!(write_npy(&strings).unwrap(), golden::S4_BYTES);
}

#[test]
fn round_trips_every_dtype_but_bf16() {
    let tensors = [
        Tensor::from_slice(&[f16::from_f32(0.5), f16::from_f32(-1.0)], &[2, 1]).unwrap(),
        Tensor::from_slice(&[1.0f32, f32::MAX, f32::MIN_POSITIVE], &[3]).unwrap(),
        Tensor::from_slice(&[1.0f64, -0.0, f64::INFINITY, 1e-300], &[2, 2]).unwrap(),
        Tensor::from_slice(&[i8::MIN, 0, i8::MAX], &[3]).unwrap(),
        Tensor::from_slice(&[i16::MIN, 0, i16::MAX], &[1, 3]).unwrap(),
        Tensor::from_slice(&[i32::MIN, 0, i32::MAX], &[3, 1]).unwrap(),
        Tensor::from_slice(&[i64::MIN, 0, i64::MAX], &[3]).unwrap(),
        Tensor::from_slice(&[0u8, 255], &[2]).unwrap(),
        Tensor::from_slice(&[0u16, u16::MAX], &[2]).unwrap(),
        Tensor::from_slice(&[0u32, u32::MAX], &[2]).unwrap(),
        Tensor::from_slice(&[0u64, u64::MAX], &[1, 1, 2]).unwrap(),
        Tensor::from_bools(&[true, false], &[2]).unwrap(),
        Tensor::from_slice(&[Complex32::new(1.0, -2.0)], &[1]).unwrap(),
        Tensor::from_slice(
            &[Complex64::new(1.0, -2.0), Complex64::new(0.0, 1e10)],
            &[2],
        )
        .unwrap(),
        Tensor::from_strings(&[&b"cat"[..], b"", b"\xff\0x", b"longer one"], &[2, 2]).unwrap(),
        Tensor::from_strings::<&str>(&[], &[0, 4]).unwrap(),
        Tensor::from_strings(&["only"], &[]).unwrap(),
        Tensor::scalar(7u32),
        Tensor::from_slice::<f32>(&[], &[0]).unwrap(),
        Tensor::from_slice::<u8>(&[], &[3, 0, 2]).unwrap(),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for tensor in tensors {
        let bytes = write_npy(&tensor).unwrap();
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        assert_eq!(header_end % ARRAY_ALIGN, 0, "{tensor:?}");
        assert_eq!(read_npy(&bytes).unwrap(), tensor);
        seen.insert(tensor.dtype());
    }
    let missing: Vec<_> = DType::ALL.iter().filter(|d| !seen.contains(d)).collect();
    assert_eq!(missing, [&DType::BF16]);
}

#[test]
fn bf16_and_trailing_nuls_do_not_fit() {
    let t = Tensor::from_slice(&[bf16::ONE], &[1]).unwrap();
    let err = write_npy(&t).unwrap_err();
    assert!(err.to_string().contains("bfloat16"), "{err}");

    // Documented: `|S` cannot carry trailing NULs.
    let t = Tensor::from_strings(&[&b"a\0"[..], b"b"], &[2]).unwrap();
    let back = read_npy(&write_npy(&t).unwrap()).unwrap();
    assert_eq!(strings(&back), [b"a", b"b"]);
}

#[test]
fn long_headers_use_version_2() {
    let shape = [1usize; MAX_RANK];
    let t = Tensor::from_slice(&[3u8], &shape).unwrap();
    let bytes = write_npy(&t).unwrap();
    assert_eq!(bytes.get(6..8), Some(&[1u8, 0][..]));
    assert_eq!(read_npy(&bytes).unwrap(), t);

    // A header over 64 KiB (whitespace is legal) only fits version 2.0.
    let dict = format!(
        "{{'descr': '|u1', {}'fortran_order': False, 'shape': (1,)}}",
        " ".repeat(70_000)
    );
    let text_len = dict.len() + 1;
    let padded = padded_len(12, text_len);
    let mut v2 = MAGIC.to_vec();
    v2.extend_from_slice(&[2, 0]);
    v2.extend_from_slice(&u32::try_from(padded).unwrap().to_le_bytes());
    v2.extend_from_slice(dict.as_bytes());
    v2.resize(12 + padded - 1, b' ');
    v2.push(b'\n');
    v2.push(42);
    assert_eq!(v2.len() % ARRAY_ALIGN, 1);
    assert_eq!(read_npy(&v2).unwrap().to_vec::<u8>().unwrap(), [42]);
}

#[test]
fn header_syntax_variants() {
    let ok = [
        "{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'shape':(2,),'fortran_order':False,'descr':'<i2'}",
        "{ 'descr' : '<i2' ,\n 'fortran_order' : False , 'shape' : ( 2 , ) , }",
        "{'descr': 'i2', 'fortran_order': False, 'shape': (2L,)}",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (+2,), }",
    ];
    for dict in ok {
        let t = read_npy(&npy(dict, &[1, 0, 2, 0])).unwrap_or_else(|e| panic!("{dict}: {e}"));
        assert_eq!(t.to_vec::<i16>().unwrap(), [1, 2], "{dict}");
    }
}

#[test]
fn unsupported_dtypes_are_named() {
    let cases = [
        ("<V2", "void"),
        ("|O", "pickle"),
        ("<M8[ns]", "datetime"),
        ("<f16", "width"),
        ("<i3", "width"),
        ("|S0", "zero-width"),
        ("<x4", "unknown"),
        ("", "unknown"),
    ];
    for (descr, why) in cases {
        let got = reason(&npy(&header(descr, false, "(0,)"), &[]));
        assert!(got.contains(why) && got.contains(descr), "{descr}: {got}");
    }
    let got = reason(golden::OBJECT);
    assert!(got.contains("pickle"), "{got}");
    let got = reason(&npy(
        "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,)}",
        &[0; 4],
    ));
    assert!(got.contains("structured"), "{got}");
}

#[test]
fn malformed_files_are_errors() {
    // Every truncation of a valid file.
    for file in [golden::F32_2X3, golden::U8_V2, golden::S4_BYTES] {
        for end in 0..file.len() {
            assert!(read_npy(&file[..end]).is_err(), "prefix of {end} bytes");
        }
    }
    let mut bad_magic = golden::F32_2X3.to_vec();
    bad_magic[1] = b'n';
    assert!(reason(&bad_magic).contains("magic"));
    let mut bad_version = golden::F32_2X3.to_vec();
    bad_version[6] = 4;
    assert!(reason(&bad_version).contains("version 4.0"));
    let mut long_header = golden::F32_2X3.to_vec();
    long_header[8] = 0xff;
    assert!(reason(&long_header).contains("header is"));

    // Wrong data lengths: one byte short, one trailing byte.
    let mut extra = golden::F32_2X3.to_vec();
    extra.push(0);
    assert!(reason(&extra).contains("expected 24"));
    assert!(reason(&npy(&header("<U2", false, "(1,)"), &[0; 7])).contains("expected 8"));
    let bad_bool = npy(&header("|b1", false, "(2,)"), &[1, 2]);
    assert!(reason(&bad_bool).contains("bool"));
}

#[test]
fn malformed_headers_are_errors() {
    let deep = format!("{}{}", "(".repeat(10_000), ")".repeat(10_000));
    let cases: &[(&str, &str)] = &[
        ("", "unexpected end"),
        ("{", "unexpected end"),
        ("[]", "not a dictionary"),
        ("{'descr': '<f4', 'fortran_order': False}", "no \"shape\""),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", "unexpected key"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", "twice"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "not a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "not a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "out of range"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", "expected ','"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}", "not an integer"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", "not True or False"),
        ("{'descr': 4, 'fortran_order': False, 'shape': ()}", "not a dtype string"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': ()}", "expected ','"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", "after the dictionary"),
        ("{'descr: '<f4'}", "expected ':'"),
        ("{'descr': '<f4\n', 'fortran_order': False, 'shape': ()}", "unterminated"),
        ("{1: '<f4'}", "key is not a string"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': ()}", "unknown name"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}", "too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "unexpected character"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': ()}", "expected ','"),
        (&deep, "nesting too deep"),
    ];
    for (dict, why) in cases {
        let got = reason(&npy(dict, &[0; 4]));
        assert!(got.contains(why), "{dict:.80}: {got}");
    }
    let mut invalid_utf8 = golden::I32_V3.to_vec();
    invalid_utf8[13] = 0xff;
    assert!(reason(&invalid_utf8).contains("UTF-8"));
}

#[test]
fn huge_shapes_are_rejected_before_allocating() {
    let cases = [
        (
            "(4611686018427387904, 4611686018427387904)",
            "too many elements",
        ),
        ("(18446744073709551615,)", "too large for its dtype"),
        ("(1099511627776,)", "expected 4398046511104"),
        ("(18446744073709551616,)", "out of range"),
    ];
    for (shape, why) in cases {
        let got = reason(&npy(&header("<f4", false, shape), &[0; 4]));
        assert!(got.contains(why), "{shape}: {got}");
    }
    // Empty, but a dimension TensorFlow's int64 sizes cannot hold.
    let got = reason(&npy(&header("|S5", true, "(0, 18446744073709551615)"), &[]));
    assert!(got.contains("int64"), "{got}");
    let t = read_npy(&npy(&header("|S5", true, "(0, 9223372036854775807)"), &[])).unwrap();
    assert_eq!(t.num_elements(), 0);
    let t = read_npy(&npy(&header("<U5", false, "(3, 0, 2)"), &[])).unwrap();
    assert_eq!((t.dtype(), t.shape()), (DType::String, &[3, 0, 2][..]));

    let rank_255 = format!("({})", vec!["1"; 255].join(", "));
    assert!(reason(&npy(&header("|u1", false, &rank_255), &[0])).contains("dimensions"));
    let huge_width = npy(&header("<U4611686018427387904", false, "(1,)"), &[]);
    assert!(reason(&huge_width).contains("width overflows"));
}
