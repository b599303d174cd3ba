"""The exception hierarchy: types, module, attributes, pickling, and where
damaged files are reported."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tfrec

ALL = [
    tfrec.Error, tfrec.DataLossError, tfrec.TooManySkippedError, tfrec.InvalidTensorError,
    tfrec.UnsupportedDTypeError, tfrec.InvalidExampleError, tfrec.InvalidInputError,
    tfrec.TFRecordIOError, tfrec.TFRecordNotFoundError, tfrec.TFRecordPermissionError,
    tfrec.TFRecordTimeoutError,
]


def write(path, n=5, size=8):
    with tfrec.Writer(path, sync=False) as w:
        for i in range(n):
            w.write(np.full(size, i, dtype=np.float32))
    return path


FRAME = 16 + len(tfrec.serialize_tensor(np.zeros(8, np.float32)))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_hierarchy_module_and_pickling(cls):
    assert issubclass(cls, tfrec.Error)
    assert cls.__module__ == "tfrec"
    assert getattr(tfrec, cls.__name__) is cls
    e = cls("message", "/x", 12, 3, "corrupt_data")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is cls
    assert (str(e2), e2.path, e2.offset, e2.index, e2.kind) == ("message", "/x", 12, 3, "corrupt_data")


def test_os_error_classes():
    assert issubclass(tfrec.TFRecordNotFoundError, FileNotFoundError)
    assert issubclass(tfrec.TFRecordPermissionError, PermissionError)
    assert issubclass(tfrec.TFRecordTimeoutError, TimeoutError)
    assert issubclass(tfrec.InvalidTensorError, ValueError)


@pytest.mark.parametrize("record", [0, 2, 4])
def test_flipped_payload_bit_is_data_loss_at_the_record(tmp_path, record):
    path = write(tmp_path / "a.tfrecord")
    data = bytearray(path.read_bytes())
    data[record * FRAME + 12 + 5] ^= 0x10
    path.write_bytes(bytes(data))
    it = iter(tfrec.Reader(path))
    for i in range(record):
        assert next(it).tolist() == [i] * 8
    with pytest.raises(tfrec.DataLossError) as info:
        next(it)
    e = info.value
    assert (e.path, e.offset, e.index) == (str(path), record * FRAME, record)
    assert e.kind == "corrupt_data"
    with pytest.raises(tfrec.DataLossError) as info:
        tfrec.Reader(path)[record]
    assert (info.value.offset, info.value.index) == (record * FRAME, record)
    assert tfrec.Reader(path)[(record + 1) % 5].tolist() == [(record + 1) % 5] * 8
    e2 = pickle.loads(pickle.dumps(e))
    assert (type(e2), e2.path, e2.offset, e2.index) == (tfrec.DataLossError, e.path, e.offset, e.index)


@pytest.mark.parametrize("cut", [1, 8, 13, 20, FRAME - 1])
def test_truncation_is_data_loss(tmp_path, cut):
    path = write(tmp_path / "t.tfrecord")
    data = path.read_bytes()
    path.write_bytes(data[: 4 * FRAME + cut])
    got = []
    with pytest.raises(tfrec.DataLossError) as info:
        for x in tfrec.Reader(path):
            got.append(x)
    assert len(got) == 4
    assert info.value.path == str(path)
    assert info.value.offset == 4 * FRAME
    with pytest.raises(tfrec.DataLossError):
        len(tfrec.Reader(path))


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_truncated_compressed_file_is_data_loss(tmp_path, compression):
    path = tmp_path / "c.tfrecord"
    with tfrec.Writer(path, compression=compression, sync=False) as w:
        for i in range(2000):
            w.write(np.arange(i % 50, dtype=np.int64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(tfrec.DataLossError) as info:
        for _ in tfrec.Reader(path):
            pass
    assert info.value.path == str(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        tfrec.Reader(tmp_path / "nope.tfrecord")
    assert isinstance(info.value, tfrec.TFRecordNotFoundError)
    assert info.value.path == str(tmp_path / "nope.tfrecord")
    assert info.value.errno == 2
    e = pickle.loads(pickle.dumps(info.value))
    assert isinstance(e, FileNotFoundError) and e.errno == 2


def test_directory_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        list(tfrec.Reader(tmp_path))


def test_invalid_payload_errors_carry_position(tmp_path):
    path = tmp_path / "p.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        w.write_raw(tfrec.serialize_tensor(np.zeros(2)))
        w.write_raw(b"\x08\x01\x12\x04\x12\x02\x08\x09\"\x04abcd")  # 4 bytes for float32[9]
    with pytest.raises(tfrec.InvalidTensorError) as info:
        list(tfrec.Reader(path, kind="tensor"))
    assert info.value.index == 1 and info.value.offset == 16 + len(tfrec.serialize_tensor(np.zeros(2)))
    assert info.value.kind == "invalid_tensor"


@pytest.mark.parametrize("code", [11, 20, 21], ids=["qint8", "resource", "variant"])
def test_unsupported_dtype(code):
    with pytest.raises(tfrec.UnsupportedDTypeError) as info:
        tfrec.parse_tensor(bytes([0x08, code]))
    assert info.value.kind == "unsupported_dtype"
