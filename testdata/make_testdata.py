#!/usr/bin/env python3
"""Regenerate the golden TFRecord files in testdata/ with real TensorFlow.

    .venv/bin/python testdata/make_testdata.py

Everything is deterministic (fixed seed, fixed case list); see README.md in
this directory for what each file holds.  The JSON encoding of tensors and
the TensorFlow reading and writing are the ones of the integration tests
(tests/pyhelpers.py, tests/tf_helper.py), imported from here so that the
golden files and the tests share one implementation; hand-encoded protobuf
uses tests/tfrecord_bytes.py.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import tf_helper  # noqa: E402  (sets TF_CPP_MIN_LOG_LEVEL and imports TensorFlow)
from tf_helper import np, tf, tensor_pb2  # noqa: E402
from tensorflow.core.framework import types_pb2  # noqa: E402
from pyhelpers import (  # noqa: E402
    DTYPES,
    HelperError,
    b64encode,
    json_to_tensor,
    tensor_to_json,
    write_records,
)
from tfrecord_bytes import length_delimited as ld, tag, varint  # noqa: E402

SEED = 20240611

ALL_DTYPES = list(DTYPES)  # every dtype of the JSON schema

INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


# --------------------------------------------------------------------------
# Tensor construction helpers
# --------------------------------------------------------------------------

def bf16_from_f32(values):
    """bfloat16 bit patterns (round-toward-zero) of float32 values."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    return (bits >> 16).astype(np.uint16)


def from_bits(name, bits, shape=None):
    """A tensor of dtype `name` with the given raw bit patterns."""
    storage = {"float16": np.uint16, "bfloat16": np.uint16,
               "float32": np.uint32, "float64": np.uint64}[name]
    arr = np.asarray(bits, dtype=storage)
    if shape is not None:
        arr = arr.reshape(shape)
    return tf.bitcast(tf.constant(arr), getattr(tf, name))


def string_tensor(values, shape=None):
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    if shape is not None:
        arr = arr.reshape(shape)
    return tf.constant(arr, dtype=tf.string)


def random_tensor(rng, name, shape):
    n = int(np.prod(shape))
    if name == "string":
        vals = [rng.integers(0, 256, size=rng.integers(0, 9), dtype=np.uint8).tobytes()
                for _ in range(n)]
        return string_tensor(vals, shape)
    if name == "bool":
        return tf.constant(rng.integers(0, 2, size=shape).astype(bool))
    if name in INT_TYPES:
        info = np.iinfo(name)
        return tf.constant(rng.integers(info.min, info.max, size=shape, dtype=name, endpoint=True))
    if name == "bfloat16":
        bits = bf16_from_f32(rng.standard_normal(shape).astype(np.float32) * 10)
        return tf.bitcast(tf.constant(bits), tf.bfloat16)
    if name in ("float16", "float32", "float64"):
        return tf.constant((rng.standard_normal(shape) * 10).astype(name))
    if name in ("complex64", "complex128"):
        re = rng.standard_normal(shape)
        im = rng.standard_normal(shape)
        return tf.constant((re + 1j * im).astype(name))
    raise AssertionError(name)


# --------------------------------------------------------------------------
# tensors.tfrecord: tf.io.serialize_tensor of many tensors
# --------------------------------------------------------------------------

def tensor_cases():
    """[(note, tf.Tensor)], in record order."""
    rng = np.random.default_rng(SEED)
    cases = []

    # A small random tensor of every dtype, ranks cycling 1, 2, 3.
    shapes = [[5], [2, 3], [2, 3, 2]]
    for i, name in enumerate(ALL_DTYPES):
        shape = shapes[i % len(shapes)]
        cases.append((f"random {name}{shape}", random_tensor(rng, name, shape)))

    # Scalars.
    cases += [
        ("scalar float32", tf.constant(np.float32(3.25))),
        ("scalar float64", tf.constant(np.float64(-1.0e300))),
        ("scalar float16", tf.constant(np.float16(-2.5))),
        ("scalar bfloat16", from_bits("bfloat16", bf16_from_f32(1.5).item(), [])),
        ("scalar int64", tf.constant(np.int64(-42))),
        ("scalar int32", tf.constant(np.int32(7))),
        ("scalar uint8", tf.constant(np.uint8(200))),
        ("scalar uint64", tf.constant(np.uint64(2**63 + 5))),
        ("scalar bool", tf.constant(True)),
        ("scalar complex128", tf.constant(np.complex128(1.5 - 2.25j))),
        ("scalar string", tf.constant(b"scalar")),
        ("scalar empty string", tf.constant(b"")),
    ]

    # Empty tensors.
    cases += [
        ("empty float32[0]", tf.constant(np.zeros([0], np.float32))),
        ("empty int32[3,0,2]", tf.constant(np.zeros([3, 0, 2], np.int32))),
        ("empty bool[0]", tf.constant(np.zeros([0], bool))),
        ("empty complex64[0,4]", tf.constant(np.zeros([0, 4], np.complex64))),
        ("empty bfloat16[0]", from_bits("bfloat16", [], [0])),
        ("empty uint64[3,0,2]", tf.constant(np.zeros([3, 0, 2], np.uint64))),
        ("empty string[0]", string_tensor([], [0])),
        ("empty string[3,0,2]", string_tensor([], [3, 0, 2])),
    ]

    # Higher rank.
    cases.append(("rank-5 int16[2,1,3,1,2]",
                  tf.constant(np.arange(12, dtype=np.int16).reshape([2, 1, 3, 1, 2]) - 6)))
    cases.append(("rank-5 float32[1,2,1,2,3]",
                  tf.constant(rng.standard_normal([1, 2, 1, 2, 3]).astype(np.float32))))

    # Strings: empty, NUL bytes, non-UTF-8, multi-byte UTF-8, and one of 300
    # bytes (longer than 127, so its protobuf length prefix takes two bytes).
    tricky = [b"", b"\x00", b"a\x00b", b"\xff\xfe\x80\xc0", b"plain ascii", b"",
              "h\u00e9llo \u2603".encode("utf-8"), bytes(range(256)) + b"x" * 44]
    cases.append(("strings: empty, NUL, non-UTF-8, long", string_tensor(tricky, [8])))
    cases.append(("strings rank 2", string_tensor([b"a", b"", b"\x00\x00", b"bc", b"\x80", b"d"], [2, 3])))

    # Special floating-point values.  NaNs with non-default payloads and sign
    # check that values travel as bit patterns.
    f32_bits = [0x7FC00000, 0xFFC00000, 0x7FC00001, 0x7F800001,  # NaNs (quiet, -quiet, payload, signalling)
                0x7F800000, 0xFF800000,                          # +inf, -inf
                0x80000000, 0x00000000,                          # -0.0, +0.0
                0x00000001, 0x80000001, 0x00800000,              # min subnormal, its negative, min normal
                0x7F7FFFFF, 0xFF7FFFFF]                          # max, lowest
    cases.append(("float32 specials (NaNs, inf, -0.0, subnormal, max)", from_bits("float32", f32_bits)))
    f64_bits = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000001, 0x7FF0000000000001,
                0x7FF0000000000000, 0xFFF0000000000000,
                0x8000000000000000, 0x0000000000000000,
                0x0000000000000001, 0x0010000000000000,
                0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF]
    cases.append(("float64 specials", from_bits("float64", f64_bits)))
    f16_bits = [0x7E00, 0xFE00, 0x7E01, 0x7C01, 0x7C00, 0xFC00, 0x8000, 0x0000,
                0x0001, 0x0400, 0x7BFF, 0xFBFF]
    cases.append(("float16 specials", from_bits("float16", f16_bits)))
    bf16_bits = [0x7FC0, 0xFFC0, 0x7FC1, 0x7F81, 0x7F80, 0xFF80, 0x8000, 0x0000,
                 0x0001, 0x0080, 0x7F7F, 0xFF7F]
    cases.append(("bfloat16 specials", from_bits("bfloat16", bf16_bits)))
    c64 = np.array([0x7FC00000, 0x3F800000,   # (nan, 1)
                    0x7F800000, 0xFF800000,   # (inf, -inf)
                    0x80000000, 0x80000000],  # (-0, -0)
                   dtype=np.uint32).view(np.complex64)
    cases.append(("complex64 specials", tf.constant(c64)))
    c128 = np.array([0x7FF8000000000000, 0x8000000000000000,
                     0x0000000000000001, 0xFFF0000000000000],
                    dtype=np.uint64).view(np.complex128)
    cases.append(("complex128 specials", tf.constant(c128)))

    # Integer extremes.
    for name in INT_TYPES:
        info = np.iinfo(name)
        vals = [info.min, info.max, 0, 1, info.max - 1]
        if info.min < 0:
            vals += [-1, info.min + 1]
        cases.append((f"{name} extremes", tf.constant(np.array(vals, dtype=name))))
    cases.append(("bool all patterns", tf.constant(np.array([[True, False], [False, True]]))))

    # A few kilobytes in one record.
    cases.append(("float32[32,33] (4 KiB payload)",
                  tf.constant(rng.standard_normal([32, 33]).astype(np.float32))))
    return cases


# --------------------------------------------------------------------------
# typed_fields.tfrecord: TensorProtos using the typed *_val fields
# --------------------------------------------------------------------------

def proto(dtype_enum, shape, field=None, values=(), content=None):
    p = tensor_pb2.TensorProto(dtype=dtype_enum)
    # serialize_tensor always emits tensor_shape, even for a scalar; match it.
    p.tensor_shape.SetInParent()
    for d in shape:
        p.tensor_shape.dim.add(size=d)
    if field is not None:
        getattr(p, field).extend(values)
    if content is not None:
        p.tensor_content = content
    return p


# name -> (DataType enum, typed field, numpy dtype for the expected value)
TYPED_FIELDS = {
    "float32": (types_pb2.DT_FLOAT, "float_val", np.float32),
    "float64": (types_pb2.DT_DOUBLE, "double_val", np.float64),
    "int8": (types_pb2.DT_INT8, "int_val", np.int8),
    "int16": (types_pb2.DT_INT16, "int_val", np.int16),
    "int32": (types_pb2.DT_INT32, "int_val", np.int32),
    "uint8": (types_pb2.DT_UINT8, "int_val", np.uint8),
    "uint16": (types_pb2.DT_UINT16, "int_val", np.uint16),
    "int64": (types_pb2.DT_INT64, "int64_val", np.int64),
    "uint32": (types_pb2.DT_UINT32, "uint32_val", np.uint32),
    "uint64": (types_pb2.DT_UINT64, "uint64_val", np.uint64),
    "bool": (types_pb2.DT_BOOL, "bool_val", np.bool_),
    "float16": (types_pb2.DT_HALF, "half_val", np.uint16),      # bit patterns
    "bfloat16": (types_pb2.DT_BFLOAT16, "half_val", np.uint16),  # bit patterns
    "complex64": (types_pb2.DT_COMPLEX64, "scomplex_val", np.float32),   # (re, im) pairs
    "complex128": (types_pb2.DT_COMPLEX128, "dcomplex_val", np.float64),
    "string": (types_pb2.DT_STRING, "string_val", object),
}

# Per dtype: three in-range values (complex: three (re, im) pairs).
TYPED_VALUES = {
    "float32": [1.5, -0.25, float("inf")],
    "float64": [1e-300, -2.5, float("-inf")],
    "int8": [-128, 127, -1],
    "int16": [-32768, 32767, 5],
    "int32": [-2147483648, 2147483647, -7],
    "uint8": [0, 255, 17],
    "uint16": [0, 65535, 300],
    "int64": [-(2**63), 2**63 - 1, -3],
    "uint32": [0, 2**32 - 1, 123456],
    "uint64": [0, 2**64 - 1, 2**63],
    "bool": [True, False, True],
    "float16": [0x3C00, 0xC000, 0x7C00],   # 1.0, -2.0, inf
    "bfloat16": [0x3F80, 0xC000, 0xFF80],  # 1.0, -2.0, -inf
    "complex64": [1.0, 2.0, -0.5, 0.0, 3.0, -4.0],
    "complex128": [1.0, -1.0, 0.25, 8.0, -3.0, 1e100],
    "string": [b"first", b"", b"\x00last\xff"],
}


def rule_expectation(name, values, shape):
    """What the proto means by the documented rule: as many values as
    elements are taken as they are, fewer are padded by repeating the last
    one, none means all zeros (empty strings, False)."""
    _, _, np_dtype = TYPED_FIELDS[name]
    n = int(np.prod(shape))
    if name in ("complex64", "complex128"):
        pairs = [complex(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        vals, np_dtype = pairs, (np.complex64 if name == "complex64" else np.complex128)
    else:
        vals = list(values)
    if not vals:
        vals = [b"" if name == "string" else 0]
    vals = (vals + [vals[-1]] * n)[:n]
    arr = np.empty(n, dtype=object) if name == "string" else np.array(vals, dtype=np_dtype)
    if name == "string":
        arr[:] = vals
    return arr.reshape(shape)


def decoded_numpy(t):
    if t.dtype == tf.bfloat16 or t.dtype == tf.float16:
        return tf.bitcast(t, tf.uint16).numpy()
    return t.numpy()


def same_values(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        return list(a.reshape(-1)) == list(b.reshape(-1))
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def typed_field_cases():
    """[(note, TensorProto, rule-derived expected numpy value or None)]."""
    cases = []
    for name, (enum, field, _) in TYPED_FIELDS.items():
        vals = TYPED_VALUES[name]
        per = 2 if name.startswith("complex") else 1
        k = len(vals) // per
        # Exactly as many values as elements (rank 1 and a rank-2 reshape).
        cases.append((f"{name} {field}: exact, [3]", proto(enum, [k], field, vals), [k]))
        # Scalar with one value.
        cases.append((f"{name} {field}: exact, scalar", proto(enum, [], field, vals[:per]), []))
        # Fewer values than elements: the last one repeats.
        cases.append((f"{name} {field}: fewer (3 values, [2,3])", proto(enum, [2, 3], field, vals), [2, 3]))
        cases.append((f"{name} {field}: fewer (1 value, [4])", proto(enum, [4], field, vals[:per]), [4]))
        # No values at all: zeros.
        cases.append((f"{name} {field}: none, [2,2]", proto(enum, [2, 2], field, []), [2, 2]))
        cases.append((f"{name} {field}: none, scalar", proto(enum, [], field, []), []))
        # Zero elements and no values.
        cases.append((f"{name} {field}: empty [0]", proto(enum, [0], field, []), [0]))

    out = [(note, p, rule_expectation(_name_of(p), _values_of(p), shape))
           for note, p, shape in cases]

    # Protos as tf.make_tensor_proto builds them.  It uses the typed fields
    # for Python scalars, NumPy scalars of most types, small bool/uint16
    # arrays and strings; NumPy int32/float32/uint64 arrays go to
    # tensor_content.  Whatever it picks is recorded as is.
    for note, value, kwargs in [
        ("make_tensor_proto(1.5)", 1.5, {}),
        ("make_tensor_proto(7, dtype=int8)", 7, {"dtype": tf.int8}),
        ("make_tensor_proto(np.int64(-3))", np.int64(-3), {}),
        ("make_tensor_proto(np.float16(2))", np.float16(2), {}),
        ("make_tensor_proto(1+2j)", 1 + 2j, {}),
        ("make_tensor_proto([True, False, True])", [True, False, True], {}),
        ("make_tensor_proto(uint16 [1, 2, 65535])", np.array([1, 2, 65535], np.uint16), {}),
        ("make_tensor_proto(uint32 [4000000000])", np.array([4000000000], np.uint32), {}),
        ("make_tensor_proto(b'bytes')", b"bytes", {}),
        ("make_tensor_proto([b'a', b'bc'])", [b"a", b"bc"], {}),
        ("make_tensor_proto(2.5, shape=[2, 2]) (fills by repeating)", 2.5, {"shape": [2, 2]}),
        ("make_tensor_proto([1, 2, 3], dtype=int32)", [1, 2, 3], {"dtype": tf.int32}),
        ("make_tensor_proto([1.0, 2.0], dtype=float32)", [1.0, 2.0], {"dtype": tf.float32}),
    ]:
        p = tf.make_tensor_proto(value, **kwargs)
        used = sorted(f.name for f, _ in p.ListFields() if f.name not in ("dtype", "tensor_shape"))
        out.append((f"{note} -> {', '.join(used)}", p, None))
    return out


def _name_of(p):
    return tf.dtypes.as_dtype(p.dtype).name


def _values_of(p):
    field = TYPED_FIELDS[_name_of(p)][1]
    return list(getattr(p, field))


# Hand-encoded protobuf, for encodings the protobuf library never emits.

def shape_msg(*dims):
    return b"".join(ld(2, tag(1, 0) + varint(d) if d else b"") for d in dims)


# TensorProto field numbers.
F_DTYPE, F_SHAPE, F_CONTENT, F_FLOAT, F_DOUBLE, F_INT, F_STRING, F_INT64, F_BOOL = 1, 2, 4, 5, 6, 7, 8, 10, 11


def encoding_variant_cases():
    """[(note, payload bytes)]: valid protobuf that the Python library would
    encode differently, all accepted by TensorFlow with the usual meaning."""
    E = types_pb2
    f32 = lambda x: np.float32(x).tobytes()  # noqa: E731
    f64 = lambda x: np.float64(x).tobytes()  # noqa: E731
    head = lambda dt, *dims: tag(F_DTYPE, 0) + varint(dt) + ld(F_SHAPE, shape_msg(*dims))  # noqa: E731
    return [
        ("non-packed float_val (one tag per value), [3] from 2 values",
         head(E.DT_FLOAT, 3) + tag(F_FLOAT, 5) + f32(1.5) + tag(F_FLOAT, 5) + f32(-2.0)),
        ("non-packed double_val, [2]",
         head(E.DT_DOUBLE, 2) + tag(F_DOUBLE, 1) + f64(0.1) + tag(F_DOUBLE, 1) + f64(-1e300)),
        ("non-packed int_val with a negative value (10-byte varint), int16[3]",
         head(E.DT_INT16, 3) + tag(F_INT, 0) + varint(-5) + tag(F_INT, 0) + varint(300)
         + tag(F_INT, 0) + varint(-32768)),
        ("non-packed int64_val and bool_val is ignored for int64, [2]",
         head(E.DT_INT64, 2) + tag(F_INT64, 0) + varint(-(2**63)) + tag(F_INT64, 0) + varint(7)
         + tag(F_BOOL, 0) + varint(1)),
        ("non-packed bool_val, [3] from 2 values",
         head(E.DT_BOOL, 3) + tag(F_BOOL, 0) + varint(1) + tag(F_BOOL, 0) + varint(0)),
        ("packed int_val split into two runs, int32[4]",
         head(E.DT_INT32, 4) + ld(F_INT, varint(1) + varint(2)) + ld(F_INT, varint(3) + varint(-4))),
        ("packed and non-packed float_val mixed, [3]",
         head(E.DT_FLOAT, 3) + ld(F_FLOAT, f32(1.0)) + tag(F_FLOAT, 5) + f32(2.0) + ld(F_FLOAT, f32(3.0))),
        ("fields out of order: values, then shape, then dtype, int32[2]",
         ld(F_INT, varint(10) + varint(20)) + ld(F_SHAPE, shape_msg(2)) + tag(F_DTYPE, 0) + varint(E.DT_INT32)),
        ("unknown fields (numbers 99 and 3000, all wire types) are skipped, float32[2]",
         head(E.DT_FLOAT, 2) + tag(99, 0) + varint(123) + tag(99, 1) + b"\x00" * 8
         + ld(3000, b"junk") + tag(99, 5) + b"\x00" * 4 + ld(F_CONTENT, f32(1.0) + f32(2.0))),
        ("version_number field (3) set, int32 scalar",
         head(E.DT_INT32) + tag(3, 0) + varint(7) + ld(F_CONTENT, np.int32(-9).tobytes())),
        ("dtype given twice: the last one counts (int32, then float)",
         tag(F_DTYPE, 0) + varint(E.DT_INT32) + head(E.DT_FLOAT, 1) + ld(F_CONTENT, f32(4.0))),
        ("two tensor_shape messages merge: dims [2] + [3] = [2,3]",
         tag(F_DTYPE, 0) + varint(E.DT_INT32) + ld(F_SHAPE, shape_msg(2)) + ld(F_SHAPE, shape_msg(3))
         + ld(F_INT, varint(1) + varint(2))),
        ("dim with a name, and size given twice (last counts), [2]",
         tag(F_DTYPE, 0) + varint(E.DT_UINT8)
         + ld(F_SHAPE, ld(2, tag(1, 0) + varint(5) + ld(2, b"batch") + tag(1, 0) + varint(2)))
         + ld(F_CONTENT, b"\x07\x08")),
        ("tensor_content given twice: the last one counts, int8[2]",
         head(E.DT_INT8, 2) + ld(F_CONTENT, b"\x01\x02") + ld(F_CONTENT, b"\x03\x04")),
        ("no tensor_shape field: a scalar",
         tag(F_DTYPE, 0) + varint(E.DT_FLOAT) + ld(F_FLOAT, f32(4.0))),
        ("string_val with a non-UTF-8 value and an empty one, [3]",
         head(E.DT_STRING, 3) + ld(F_STRING, b"\xff\x00") + ld(F_STRING, b"")),
    ]


# --------------------------------------------------------------------------
# typed_fields_lenient.tfrecord: protos TensorFlow accepts although they do
# not follow the simple rules (kept apart so tests can decide what to do)
# --------------------------------------------------------------------------

def lenient_cases():
    E = types_pb2
    return [
        ("more values than elements: float_val [1.5, 2.5, 3.5] for [2] (TF keeps the first 2)",
         proto(E.DT_FLOAT, [2], "float_val", [1.5, 2.5, 3.5])),
        ("more values than elements: int64_val [1, 2] for a scalar",
         proto(E.DT_INT64, [], "int64_val", [1, 2])),
        ("more values than elements: string_val for [1]",
         proto(E.DT_STRING, [1], "string_val", [b"kept", b"dropped"])),
        ("values on a zero-element tensor: int_val [5] for [0]",
         proto(E.DT_INT32, [0], "int_val", [5])),
        ("odd scomplex_val count: 3 floats for [2] (TF takes 1 pair, then repeats it)",
         proto(E.DT_COMPLEX64, [2], "scomplex_val", [1.0, 2.0, 3.0])),
        ("odd dcomplex_val count: 1 float for [2] (TF sees no pair: zeros)",
         proto(E.DT_COMPLEX128, [2], "dcomplex_val", [1.0])),
        ("int_val out of range for int8: [1, 300, -129] (TF truncates to 8 bits)",
         proto(E.DT_INT8, [3], "int_val", [1, 300, -129])),
        ("int_val negative for uint8/uint16: [-1] (TF truncates)",
         proto(E.DT_UINT16, [2], "int_val", [-1])),
        ("half_val above 16 bits: [0x13C00] for float16 (TF keeps the low 16 bits)",
         proto(E.DT_HALF, [1], "half_val", [0x13C00])),
        ("wrong field for the dtype: int_val on DT_FLOAT (TF ignores it: zeros)",
         proto(E.DT_FLOAT, [2], "int_val", [1, 2])),
        ("wrong field for the dtype: int64_val on DT_INT32 (zeros)",
         proto(E.DT_INT32, [2], "int64_val", [1, 2])),
        ("wrong field for the dtype: float_val on DT_BFLOAT16 (zeros)",
         proto(E.DT_BFLOAT16, [2], "float_val", [1.0, 2.0])),
        ("tensor_content and int_val both set (tensor_content wins)",
         proto(E.DT_INT32, [1], "int_val", [9], content=b"\x01\x00\x00\x00")),
        ("tensor_content on a zero-element tensor (ignored)",
         proto(E.DT_INT32, [0], content=b"\x01\x00\x00\x00")),
        ("string tensor in tensor_content: varint lengths, then the bytes",
         proto(E.DT_STRING, [2], content=b"\x01\x02abc")),
        ("string tensor_content and string_val both set (tensor_content wins)",
         proto(E.DT_STRING, [2], "string_val", [b"x"], content=b"\x01\x02abc")),
    ]


def lenient_encoded_cases():
    """[(note, payload bytes)]: hand-encoded protos TensorFlow accepts."""
    E = types_pb2
    f32 = lambda x: np.float32(x).tobytes()  # noqa: E731
    unknown_rank = tag(3, 0) + varint(1)
    return [
        ("shape with unknown_rank set and no dims (TF: a scalar)",
         tag(F_DTYPE, 0) + varint(E.DT_FLOAT) + ld(F_SHAPE, unknown_rank) + ld(F_FLOAT, f32(4.0))),
        ("shape with unknown_rank set and dims [2] (TF uses the dims)",
         tag(F_DTYPE, 0) + varint(E.DT_FLOAT) + ld(F_SHAPE, shape_msg(2) + unknown_rank)
         + ld(F_FLOAT, f32(4.0))),
        ("float_val with the wrong wire type (varint): skipped as an unknown field, zeros",
         tag(F_DTYPE, 0) + varint(E.DT_FLOAT) + ld(F_SHAPE, shape_msg(2)) + tag(F_FLOAT, 0) + varint(5)),
        ("dtype with the wrong wire type (length-delimited) before a correct one: skipped",
         ld(F_DTYPE, b"") + tag(F_DTYPE, 0) + varint(E.DT_FLOAT) + ld(F_SHAPE, b"")
         + ld(F_FLOAT, f32(4.0))),
    ]


# --------------------------------------------------------------------------
# invalid_tensors.tfrecord: records that tf.io.parse_tensor rejects
# --------------------------------------------------------------------------

def invalid_cases():
    E = types_pb2
    bad_dim = proto(E.DT_INT32, [2], "int_val", [1])
    bad_dim.tensor_shape.dim[0].size = -1
    return [
        ("empty payload (dtype DT_INVALID)", b""),
        ("not a protobuf", b"\xff\xff\xff"),
        ("tensor_content too short: 4 bytes for int32[2]",
         proto(E.DT_INT32, [2], content=b"\x01\x00\x00\x00").SerializeToString()),
        ("tensor_content too long: 8 bytes for int32[1]",
         proto(E.DT_INT32, [1], content=b"\x01\x00\x00\x00\x02\x00\x00\x00").SerializeToString()),
        ("tensor_content length not a multiple of the element size: 6 bytes for float32[2]",
         proto(E.DT_FLOAT, [2], content=b"\x00" * 6).SerializeToString()),
        ("bool tensor_content byte other than 0/1",
         proto(E.DT_BOOL, [2], content=b"\x01\x02").SerializeToString()),
        ("negative dimension", bad_dim.SerializeToString()),
        ("string tensor_content with lengths that do not add up",
         proto(E.DT_STRING, [2], content=b"\x01\x02a bc").SerializeToString()),
        ("truncated protobuf (serialize_tensor output cut short)",
         proto(E.DT_FLOAT, [2], content=b"\x00" * 8).SerializeToString()[:-3]),
    ]


# --------------------------------------------------------------------------
# Writing and checking
# --------------------------------------------------------------------------

def write_jsonl(path, objs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for obj in objs:
            f.write(tf_helper.dumps(obj) + "\n")


def write_and_check(path, payloads, compression):
    write_records(path, payloads, compression)
    got = list(tf_helper.iter_records(path, compression))
    assert [p for _, _, p in got] == payloads, f"{path}: records do not read back identically"
    return got


def expected_objs(records, notes):
    objs = []
    for (index, offset, payload), note in zip(records, notes):
        obj = tf_helper.record_to_json(index, offset, payload)
        obj["note"] = note
        objs.append(obj)
    return objs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=HERE, help="where to write (default: testdata/)")
    args = ap.parse_args()
    out = args.out_dir
    os.makedirs(out, exist_ok=True)

    # tensors.tfrecord (+ gzip and zlib variants), one shared sidecar.
    cases = tensor_cases()
    covered = {t.dtype.name for _, t in cases}
    assert covered == set(ALL_DTYPES), f"dtypes not covered: {set(ALL_DTYPES) - covered}"
    notes = [n for n, _ in cases]
    payloads = [tf.io.serialize_tensor(t).numpy() for _, t in cases]
    records = None
    for fname, comp in [("tensors.tfrecord", "none"),
                        ("tensors.gz.tfrecord", "gzip"),
                        ("tensors.zlib.tfrecord", "zlib")]:
        got = write_and_check(os.path.join(out, fname), payloads, comp)
        records = records or got
        assert [(i, o) for i, o, _ in got] == [(i, o) for i, o, _ in records]
    objs = expected_objs(records, notes)
    for (note, t), obj in zip(cases, objs):
        # The JSON must rebuild the very same tensor, and TF's round trip
        # must preserve every bit (NaN payloads included).
        again = tf.io.serialize_tensor(json_to_tensor(obj)).numpy()
        assert again == tf.io.serialize_tensor(t).numpy(), f"JSON round trip differs: {note}"
        bare = {k: v for k, v in obj.items() if k not in ("index", "offset", "raw", "note")}
        assert bare == tensor_to_json(t), f"parse_tensor changed the value: {note}"
    write_jsonl(os.path.join(out, "tensors.expected.jsonl"), objs)

    # typed_fields.tfrecord
    typed = typed_field_cases()
    variants = encoding_variant_cases()
    payloads = [p.SerializeToString(deterministic=True) for _, p, _ in typed] + [b for _, b in variants]
    records = write_and_check(os.path.join(out, "typed_fields.tfrecord"), payloads, "none")
    objs = expected_objs(records, [n for n, _, _ in typed] + [n for n, _ in variants])
    for (note, p, rule), (_, _, payload) in zip(typed, records):
        if rule is not None:
            tf_value = decoded_numpy(tf_helper.parse_record(payload))
            assert same_values(tf_value, rule), f"TF disagrees with the rule for {note}: {tf_value!r} vs {rule!r}"
    write_jsonl(os.path.join(out, "typed_fields.expected.jsonl"), objs)

    # typed_fields_lenient.tfrecord
    lenient = ([(n, p.SerializeToString(deterministic=True)) for n, p in lenient_cases()]
               + lenient_encoded_cases())
    payloads = [p for _, p in lenient]
    records = write_and_check(os.path.join(out, "typed_fields_lenient.tfrecord"), payloads, "none")
    write_jsonl(os.path.join(out, "typed_fields_lenient.expected.jsonl"),
                expected_objs(records, [n for n, _ in lenient]))

    # invalid_tensors.tfrecord
    invalid = invalid_cases()
    payloads = [p for _, p in invalid]
    records = write_and_check(os.path.join(out, "invalid_tensors.tfrecord"), payloads, "none")
    objs = []
    for (index, offset, payload), (note, _) in zip(records, invalid):
        try:
            tf_helper.parse_record(payload)
        except HelperError as e:
            # Only the stable part of the message: TensorFlow's own text
            # embeds a protobuf debug string whose format varies run to run.
            objs.append({"index": index, "offset": offset, "raw": b64encode(payload),
                         "note": note, "error": str(e).split(":")[0]})
        else:
            raise AssertionError(f"TensorFlow accepted a record meant to be invalid: {note}")
    write_jsonl(os.path.join(out, "invalid_tensors.expected.jsonl"), objs)

    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
                if f.endswith((".tfrecord", ".jsonl")))
    print(f"wrote golden files to {out} ({total} bytes of .tfrecord/.jsonl)", file=sys.stderr)


if __name__ == "__main__":
    main()
