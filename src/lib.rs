//! # tfrec
//!
//! Fast, checked TFRecord files of tensors.
//!
//! - **Framing**: length-prefixed records with masked CRC32C, every CRC checked.
//! - **Tensors**: payloads are `TensorProto`s exactly as
//!   `tf.io.serialize_tensor` writes them, byte for byte, for every dtype
//!   TensorFlow has for plain values (f16, bf16, f32, f64, all integer
//!   widths, bool, complex64/128, string), any rank, scalars and empty tensors.
//! - **Reading**: memory-mapped and zero-copy for uncompressed files; GZIP
//!   and ZLIB files recognised by content and streamed; any `Read` too.
//! - **Writing**: to any `Write`, or atomically to a file that appears only
//!   when complete.
//! - **Examples**: `tf.train.Example` and `SequenceExample` records read in
//!   place ([`example::ExampleView`]) and written byte for byte as
//!   TensorFlow serializes them ([`example::encode`]), with a JSON form and
//!   detection of what a record holds ([`example::RecordKind`]).
//!
//! ## Quick start
//! ```
//! use tfrec::{Reader, Tensor, Writer};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("train.tfrecord");
//!
//! let mut writer = Writer::create(&path)?;
//! writer.write_tensor(&Tensor::from_slice(&[1u8, 2, 3, 4, 5, 6], &[2, 3])?)?;
//! writer.write_tensor(&Tensor::scalar(0.5f32))?;
//! writer.write_tensor(&Tensor::from_strings(&["cat", "dog"], &[2])?)?;
//! writer.finish()?; // fsync + rename: the file appears only now
//!
//! let mut reader = Reader::open(&path)?;
//! let mut shapes = Vec::new();
//! for record in reader.records() {
//!     let record = record?;               // CRCs checked
//!     let tensor = record.decode()?;      // borrows the mapped bytes
//!     shapes.push((tensor.dtype().name(), tensor.shape().to_vec()));
//! }
//! assert_eq!(shapes, [("uint8", vec![2, 3]), ("float32", vec![]), ("string", vec![2])]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod compression;
pub mod crc;
pub mod dtype;
pub mod error;
pub mod example;
pub mod framing;
pub mod index;
pub mod json;
pub mod npy;
pub mod partition;
pub mod pipeline;
pub mod proto;
pub mod read;
pub mod stats;
pub mod storage;
pub mod tensor;
pub mod verify;
pub mod write;

pub use compression::Compression;
pub use dtype::{DType, Element};
pub use error::{Error, ErrorKind, Result};
pub use read::{ReadOptions, Reader, Record, Records, SliceReader};
pub use tensor::{Tensor, TensorView};
pub use write::{AtomicFile, Sink, WriteSink, Writer};

pub use half::{bf16, f16};
pub use num_complex::{Complex32, Complex64};
