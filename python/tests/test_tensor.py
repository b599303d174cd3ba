"""serialize_tensor / parse_tensor: byte identity with TensorFlow both ways."""

from __future__ import annotations

import base64
import json

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tfrec

NUMERIC = [
    np.float16, np.float32, np.float64,
    np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64,
    np.bool_, np.complex64, np.complex128, ml_dtypes.bfloat16,
]


def tf_bytes(tf, arr) -> bytes:
    return tf.io.serialize_tensor(tf.constant(arr)).numpy()


def tf_parse(tf, data: bytes, dtype) -> np.ndarray:
    return tf.io.parse_tensor(data, out_type=dtype).numpy()


def sample(dtype, shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if np.dtype(dtype).kind == "c":
        return (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(dtype).reshape(shape)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True).reshape(shape)
    return (rng.normal(size=n) * 100).astype(dtype).reshape(shape)


def assert_same_array(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.dtype == object:
        assert a.tolist() == b.tolist()
    else:
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (3, 0, 2), (2, 3, 4)])
def test_every_dtype_matches_tensorflow(tf, dtype, shape):
    arr = sample(dtype, shape)
    ours = tfrec.serialize_tensor(arr)
    assert ours == tf_bytes(tf, arr)
    back = tfrec.parse_tensor(ours)
    assert_same_array(back, arr)
    assert_same_array(tf_parse(tf, ours, tf.as_dtype(arr.dtype)), arr)


LAYOUTS = {
    "reversed": lambda a: a[:, ::-1],
    "transposed": lambda a: a.T,
    "stepped": lambda a: a[::2, 1::2],
    "fortran": np.asfortranarray,
    "big_endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "big_endian_transposed": lambda a: a.astype(a.dtype.newbyteorder(">")).T,
    "scalar_of_array": lambda a: a[1, 2],
    "zero_d": lambda a: np.array(a[0, 0]),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.uint32, np.complex64, np.float16])
def test_layouts_and_byte_order(tf, layout, dtype):
    base = sample(dtype, (4, 6), seed=1)
    x = LAYOUTS[layout](base)
    expected = tf_bytes(tf, np.array(x, dtype=np.dtype(dtype), order="C"))
    assert tfrec.serialize_tensor(x) == expected


def test_float64_stays_double(tf):
    data = tfrec.serialize_tensor(np.array([1.0, 2.0]))
    assert tfrec.parse_tensor(data).dtype == np.float64
    assert data == tf_bytes(tf, np.array([1.0, 2.0]))


@pytest.mark.parametrize(
    "value",
    [1, -7, 2**40, 1.5, True, 1 + 2j, "héllo", b"\x00raw\x00", [1, 2, 3], [[1.5, 2], [3, 4]],
     [True, False], ["a", "bc"], [b"x\x00", b""], [[2**40, 1]], []],
    ids=repr,
)
def test_python_values_typed_like_tf_constant(tf, value):
    assert tfrec.serialize_tensor(value) == tf.io.serialize_tensor(tf.constant(value)).numpy()


@pytest.mark.parametrize("make", [
    lambda: np.array([b"a", b"", b"\x00\xffz"], dtype=object),
    lambda: np.array([["x", "yy"], ["zzz", ""]], dtype=object),
    lambda: np.array([b"ab", b"c"]),
    lambda: np.array(["ab", "c"]),
    lambda: np.array(b"scalar", dtype=object),
    lambda: np.empty((2, 0), dtype=object),
])
def test_strings(tf, make):
    arr = make()
    as_bytes = np.vectorize(lambda s: s.encode() if isinstance(s, str) else bytes(s), otypes=[object])(arr) if arr.size else arr.astype(object)
    expected = tf_bytes(tf, tf.constant(as_bytes.tolist() if arr.ndim else as_bytes.item(), dtype=tf.string, shape=arr.shape))
    data = tfrec.serialize_tensor(arr)
    assert data == expected
    back = tfrec.parse_tensor(data)
    assert back.dtype == object and back.shape == arr.shape
    assert back.tolist() == as_bytes.tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.complex128, np.uint8])
def test_numpy_scalars(tf, dtype):
    x = np.dtype(dtype).type(1)
    assert tfrec.serialize_tensor(x) == tf_bytes(tf, np.asarray(x))


class ArrayLike:
    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


def test_array_protocols(tf):
    a = sample(np.int32, (3, 4))
    expected = tf_bytes(tf, a)
    assert tfrec.serialize_tensor(ArrayLike(a)) == expected
    assert tfrec.serialize_tensor(memoryview(a)) == expected

    class DLPackOnly:
        def __dlpack__(self, **kw):
            return a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return a.__dlpack_device__()

    assert tfrec.serialize_tensor(DLPackOnly()) == expected
    raw = bytearray(b"\x01\x02\x03")
    assert tfrec.serialize_tensor(raw) == tf_bytes(tf, np.frombuffer(bytes(raw), np.uint8))


def test_torch_tensors(tf, torch):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    cases = {
        "requires_grad": base.clone().requires_grad_(True),
        "non_contiguous": base.t(),
        "stepped": base[::2, ::-1] if False else base[::2, 1::2],
        "int64": torch.arange(5),
        "bool": base > 10,
        "float16": base.half(),
        "uint8": base.to(torch.uint8),
    }
    for name, t in cases.items():
        expected = tf_bytes(tf, t.detach().contiguous().numpy())
        assert tfrec.serialize_tensor(t) == expected, name
    bf = (base / 7).to(torch.bfloat16).t()
    data = tfrec.serialize_tensor(bf)
    as_np = bf.float().numpy().astype(ml_dtypes.bfloat16)
    assert data == tf_bytes(tf, tf.constant(as_np))
    assert tfrec.parse_tensor(data).dtype == ml_dtypes.bfloat16


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from([d for d in NUMERIC if d is not ml_dtypes.bfloat16]))
    arr = draw(hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)))
    view = draw(st.sampled_from(["plain", "reversed", "transposed", "big_endian"]))
    if view == "reversed" and arr.ndim:
        arr = arr[..., ::-1]
    elif view == "transposed":
        arr = arr.T
    elif view == "big_endian" and arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    return arr


@given(arrays())
def test_hypothesis_arrays_match_tensorflow(tf, arr):
    native = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
    ours = tfrec.serialize_tensor(arr)
    assert ours == tf_bytes(tf, native)
    assert_same_array(tfrec.parse_tensor(ours), native)


@given(st.lists(st.binary(max_size=20), max_size=6))
def test_hypothesis_strings_match_tensorflow(tf, values):
    arr = np.array(values + [b""], dtype=object)[: len(values)]
    assert tfrec.serialize_tensor(arr) == tf_bytes(tf, tf.constant(values, dtype=tf.string))


def _golden(testdata, name):
    lines = (testdata / name).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _check_golden(row, arr):
    if row["dtype"] == "string":
        assert arr.dtype == object
        assert arr.tolist() == np.array([base64.b64decode(s) for s in row["strings"]], dtype=object).reshape(row["shape"]).tolist()
    else:
        assert arr.dtype.name == row["dtype"]
        assert np.ascontiguousarray(arr).tobytes() == base64.b64decode(row["data"])
    assert list(arr.shape) == row["shape"]


@pytest.mark.parametrize("name", ["tensors", "typed_fields"])
def test_golden_files_written_by_tensorflow(testdata, name):
    rows = _golden(testdata, f"{name}.expected.jsonl")
    records = list(tfrec.Reader(testdata / f"{name}.tfrecord", kind="tensor"))
    assert len(records) == len(rows)
    for row, arr in zip(rows, records):
        _check_golden(row, arr)
        _check_golden(row, tfrec.parse_tensor(base64.b64decode(row["raw"])))


# Lenient protos the library refuses by design (see tests/golden.rs).
REFUSED_ON_PURPOSE = (
    "more values than elements",
    "values on a zero-element tensor",
    "tensor_content on a zero-element tensor",
)


def test_golden_lenient_protos(testdata):
    rows = _golden(testdata, "typed_fields_lenient.expected.jsonl")
    payloads = list(tfrec.Reader(testdata / "typed_fields_lenient.tfrecord", kind="raw"))
    assert len(payloads) == len(rows)
    refused = 0
    for row, payload in zip(rows, payloads):
        assert payload == base64.b64decode(row["raw"])
        if row["note"].startswith(REFUSED_ON_PURPOSE):
            with pytest.raises(tfrec.InvalidTensorError):
                tfrec.parse_tensor(payload)
            refused += 1
        else:
            _check_golden(row, tfrec.parse_tensor(payload))
    assert 3 <= refused < len(rows)


@pytest.mark.parametrize("name", ["tensors.gz", "tensors.zlib"])
def test_golden_compressed(testdata, name):
    rows = _golden(testdata, "tensors.expected.jsonl")
    records = list(tfrec.Reader(testdata / f"{name}.tfrecord"))
    assert len(records) == len(rows)
    for row, arr in zip(rows, records):
        _check_golden(row, arr)


def test_invalid_tensors_raise(testdata):
    for row in _golden(testdata, "invalid_tensors.expected.jsonl"):
        with pytest.raises(tfrec.InvalidTensorError):
            tfrec.parse_tensor(base64.b64decode(row["raw"]))


def test_parse_accepts_buffers():
    data = tfrec.serialize_tensor(np.arange(4, dtype=np.int16))
    for form in (data, bytearray(data), memoryview(data)):
        assert tfrec.parse_tensor(form).tolist() == [0, 1, 2, 3]
    with pytest.raises(TypeError):
        tfrec.parse_tensor("not bytes")  # type: ignore[arg-type]


def test_python_ints_beyond_int64_are_refused():
    with pytest.raises(ValueError):
        tfrec.serialize_tensor(2**63)
    with pytest.raises((TypeError, ValueError)):
        tfrec.serialize_tensor([2**70])


def test_unsupported_inputs_raise_type_error():
    with pytest.raises(TypeError):
        tfrec.serialize_tensor(object())
    with pytest.raises(TypeError):
        tfrec.serialize_tensor(np.array([object()], dtype=object))
    with pytest.raises(TypeError):
        tfrec.serialize_tensor(np.zeros(2, dtype="datetime64[s]"))


def test_large_tensor_round_trip():
    arr = np.arange(1 << 20, dtype=np.float32).reshape(1024, 1024)
    assert_same_array(tfrec.parse_tensor(tfrec.serialize_tensor(arr)), arr)
