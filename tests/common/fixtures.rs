//! Small tensors of every dtype and rank that many tests read and write.
//! Knows nothing of how a test checks them.

use tfrec::{bf16, f16, Complex32, Complex64, DType, Tensor, Writer};

use super::frames::frame_offsets;

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
