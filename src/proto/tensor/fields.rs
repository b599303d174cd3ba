//! Field numbers of `TensorProto` and `TensorShapeProto`: the facts of the
//! wire format that the decoder and the encoder share.
//!
//! Knows nothing of how fields are read or written, of tensors, files or
//! framing.

// TensorProto.
pub(super) const DTYPE: u32 = 1;
pub(super) const TENSOR_SHAPE: u32 = 2;
pub(super) const TENSOR_CONTENT: u32 = 4;
pub(super) const FLOAT_VAL: u32 = 5;
pub(super) const DOUBLE_VAL: u32 = 6;
pub(super) const INT_VAL: u32 = 7;
pub(super) const STRING_VAL: u32 = 8;
pub(super) const SCOMPLEX_VAL: u32 = 9;
pub(super) const INT64_VAL: u32 = 10;
pub(super) const BOOL_VAL: u32 = 11;
pub(super) const DCOMPLEX_VAL: u32 = 12;
pub(super) const HALF_VAL: u32 = 13;
pub(super) const UINT32_VAL: u32 = 16;
pub(super) const UINT64_VAL: u32 = 17;

// TensorShapeProto and its Dim.
pub(super) const SHAPE_DIM: u32 = 2;
pub(super) const DIM_SIZE: u32 = 1;
