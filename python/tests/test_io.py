"""Writer, Reader and ShardedWriter, against TensorFlow's reader and serializer."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tfrec

COMPRESSIONS = [None, "gzip", "zlib"]
TF_COMPRESSION = {None: "", "gzip": "GZIP", "zlib": "ZLIB"}


def tf_records(tf, path, compression):
    ds = tf.data.TFRecordDataset(str(path), compression_type=TF_COMPRESSION[compression])
    return [r.numpy() for r in ds]


def mixed_values():
    return [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([b"a", b"bc"], dtype=object),
        np.float64(2.5),
        np.zeros((0, 3), dtype=np.int8),
        np.arange(6, dtype=np.uint16)[::-1],
    ]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_writer_output_reads_in_tensorflow(tf, tmp_path, compression):
    path = tmp_path / "a.tfrecord"
    values = mixed_values()
    example = {"label": 3, "score": [0.5, 1.5], "name": "x", "blob": [b"\x00", b"yz"]}
    with tfrec.Writer(path, compression=compression, sync=False) as w:
        for v in values:
            w.write(v)
        w.write_example(example)
        w.write_raw(b"opaque bytes")
        assert w.records_written == len(values) + 2
    records = tf_records(tf, path, compression)
    assert records[: len(values)] == [tf.io.serialize_tensor(tf.constant(np.asarray(v))).numpy() for v in values]
    parsed = tf.io.parse_single_example(records[len(values)], {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "score": tf.io.FixedLenFeature([2], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string),
        "blob": tf.io.VarLenFeature(tf.string),
    })
    assert parsed["label"].numpy() == 3
    assert parsed["score"].numpy().tolist() == [0.5, 1.5]
    assert parsed["name"].numpy() == b"x"
    assert parsed["blob"].values.numpy().tolist() == [b"\x00", b"yz"]
    assert records[-1] == b"opaque bytes"

    got = list(tfrec.Reader(path))
    for v, g in zip(values, got):
        assert g.dtype == v.dtype and g.shape == v.shape and np.array_equal(g, v)
    ex = got[len(values)]
    assert ex["label"].dtype == np.int64 and ex["label"].tolist() == [3]
    assert ex["score"].dtype == np.float32 and ex["score"].tolist() == [0.5, 1.5]
    assert ex["name"].tolist() == [b"x"] and ex["blob"].tolist() == [b"\x00", b"yz"]
    assert got[-1] == b"opaque bytes"


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_reader_reads_tensorflow_files(tf, tmp_path, compression):
    path = tmp_path / "tf.tfrecord"
    options = tf.io.TFRecordOptions(compression_type=TF_COMPRESSION[compression])
    arrays = [np.random.default_rng(i).normal(size=(i % 4, 3)) for i in range(50)]
    with tf.io.TFRecordWriter(str(path), options) as w:
        for a in arrays:
            w.write(tf.io.serialize_tensor(tf.constant(a)).numpy())
        w.write(tf.train.Example(features=tf.train.Features(feature={
            "i": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2])),
        })).SerializeToString())
    r = tfrec.Reader(path)
    assert r.compression == (compression or "none")
    got = list(r)
    assert len(got) == 51 == len(r)
    for a, g in zip(arrays, got):
        assert g.dtype == np.float64 and np.array_equal(a, g)
    assert got[-1]["i"].tolist() == [1, 2]
    assert [bytes(p) for p in r.records()] == tf_records(tf, path, compression)


EXAMPLES = [
    {"a": 1},
    {"b": 1.5, "a": [1, 2, 3], "": b""},
    {"ab": [b"x"], "a": [0.25, -1.0], "b": "é"},
    {"bools": [True, False], "big": [2**62, -(2**63)], "f64": np.array([1.1, 2.2])},
    {"u8": np.arange(5, dtype=np.uint8), "obj": np.array(["s", b"t"], dtype=object)},
    {"empty_bytes": [b""], "floats": (1, 2.5), "i": np.int32(7), "f": np.float32(0.1)},
]


def tf_example(tf, features):
    def feature(v):
        arr = v if isinstance(v, np.ndarray) else None
        if isinstance(v, (bytes, str)):
            v = [v]
        elif np.isscalar(v) or isinstance(v, np.generic):
            v = [v]
        if arr is not None:
            v = arr.tolist()
        v = list(v)
        if all(isinstance(x, (bytes, str)) for x in v):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[x.encode() if isinstance(x, str) else x for x in v]))
        if all(isinstance(x, (bool, int, np.integer)) for x in v) and not (arr is not None and arr.dtype.kind == "f"):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(x) for x in v]))
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(x) for x in v]))

    ex = tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in features.items()}))
    return ex.SerializeToString(deterministic=True)


@pytest.mark.parametrize("features", EXAMPLES, ids=range(len(EXAMPLES)))
def test_examples_byte_identical_to_tensorflow(tf, tmp_path, features):
    expected = tf_example(tf, features)
    assert tfrec.serialize_example(features) == expected
    path = tmp_path / "e.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        w.write_example(features)
    assert tf_records(tf, path, None) == [expected]


def test_empty_list_is_a_feature_without_a_list(tf):
    data = tfrec.serialize_example({"e": []})
    assert data == tf.train.Example(features=tf.train.Features(feature={"e": tf.train.Feature()})).SerializeToString(deterministic=True)
    for dtype in (tf.int64, tf.float32, tf.string):
        parsed = tf.io.parse_single_example(data, {"e": tf.io.VarLenFeature(dtype)})
        assert parsed["e"].values.shape == (0,)


def test_bad_example_values_raise():
    with pytest.raises(TypeError):
        tfrec.serialize_example({"a": [1, b"x"]})
    with pytest.raises(TypeError):
        tfrec.serialize_example({"a": object()})
    with pytest.raises(TypeError):
        tfrec.serialize_example([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tfrec.serialize_example({"a": np.array([2**64 - 1], dtype=np.uint64)})
    with pytest.raises(ValueError):
        tfrec.serialize_example({"a": 2**63})
    with pytest.raises(ValueError):
        tfrec.serialize_example({"a": [1, -(2**63) - 1]})


def test_sequence_examples(tf, tmp_path):
    seq = tf.train.SequenceExample(
        context=tf.train.Features(feature={"id": tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))}),
        feature_lists=tf.train.FeatureLists(feature_list={
            "tokens": tf.train.FeatureList(feature=[
                tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a", b"b"])),
                tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"c"])),
            ]),
        }),
    ).SerializeToString()
    path = tmp_path / "s.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        w.write_raw(seq)
    (rec,) = list(tfrec.Reader(path))
    assert rec["context"]["id"].tolist() == [7]
    assert [s.tolist() for s in rec["feature_lists"]["tokens"]] == [[b"a", b"b"], [b"c"]]
    assert tfrec.Reader(path, kind="sequence")[0]["context"]["id"].tolist() == [7]


def test_random_access(tmp_path):
    path = tmp_path / "r.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(100):
            w.write(np.full(i % 5, i, dtype=np.int32))
    r = tfrec.Reader(path)
    assert len(r) == 100
    assert r[42].tolist() == [42, 42]
    assert r[-1].tolist() == [99, 99, 99, 99]
    assert r[-100].tolist() == []
    assert [a.tolist() for a in r[3:6]] == [[3, 3, 3], [4, 4, 4, 4], []]
    assert tfrec.parse_tensor(r.raw(7)).tolist() == [7, 7]
    for bad in (100, -101, 2**70):
        with pytest.raises(IndexError):
            r[bad]
    with pytest.raises(TypeError):
        r["1"]  # type: ignore[index]


def test_random_access_uses_a_consistent_sidecar_and_ignores_a_wrong_one(tmp_path):
    path = tmp_path / "s.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(10):
            w.write(np.int64(i))
    frame = os.path.getsize(path) // 10
    (tmp_path / "s.tfrecord.idx").write_text("".join(f"{i * frame} {frame}\n" for i in range(10)))
    assert tfrec.Reader(path)[9] == 9
    (tmp_path / "s.tfrecord.idx").write_text("0 5\n")
    assert len(tfrec.Reader(path)) == 10 and tfrec.Reader(path)[3] == 3


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_compressed_files_iterate_and_count_but_have_no_random_access(tmp_path, compression):
    path = tmp_path / "c.tfrecord"
    with tfrec.Writer(path, compression=compression, sync=False) as w:
        for i in range(3000):
            w.write(np.int16(i))
    r = tfrec.Reader(path)
    assert r.compression == compression
    assert [int(x) for x in r] == list(range(3000))
    assert len(r) == 3000
    with pytest.raises(tfrec.InvalidInputError, match="random access"):
        r[0]


def test_forced_kinds(tmp_path):
    path = tmp_path / "k.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        w.write(np.arange(3))
        w.write_example({"a": 1})
        w.write_raw(b"\xff\xff")
    assert [type(x).__name__ for x in tfrec.Reader(path)] == ["ndarray", "dict", "bytes"]
    assert all(isinstance(x, bytes) for x in tfrec.Reader(path, kind="raw"))
    r = tfrec.Reader(path, kind="tensor")
    it = iter(r)
    assert next(it).tolist() == [0, 1, 2]
    with pytest.raises(tfrec.InvalidTensorError) as info:
        next(it)
    assert info.value.path == str(path) and info.value.index == 1 and info.value.offset == len(r.raw(0)) + 16
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(tfrec.InvalidExampleError) as info:
        tfrec.Reader(path, kind="example")[2]
    assert info.value.index == 2
    with pytest.raises(ValueError):
        tfrec.Reader(path, kind="bogus")  # type: ignore[arg-type]


def test_writer_is_atomic(tmp_path):
    path = tmp_path / "atomic.tfrecord"
    with pytest.raises(RuntimeError):
        with tfrec.Writer(path) as w:
            w.write(np.zeros(3))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    w = tfrec.Writer(path)
    w.write(np.zeros(3))
    assert not path.exists()
    w.close()
    w.close()
    assert path.exists() and w.closed
    with pytest.raises(tfrec.InvalidInputError):
        w.write(np.zeros(3))
    w2 = tfrec.Writer(tmp_path / "gc.tfrecord")
    w2.write_raw(b"x")
    del w2
    assert sorted(os.listdir(tmp_path)) == ["atomic.tfrecord"]


def test_writer_sizes_and_paths(tmp_path):
    with tfrec.Writer(tmp_path / "n.tfrecord", sync=False) as w:
        w.write_raw(b"abc")
        w.write_raw(bytearray(b"de"))
        w.write_raw(memoryview(b"f"))
        assert w.bytes_written == 3 * 16 + 6
        assert w.path == str(tmp_path / "n.tfrecord")
    with pytest.raises(TypeError):
        w.write_raw("str")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tfrec.Writer(tmp_path / "x", compression="lz4")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        tfrec.Writer(tmp_path / "missing" / "x.tfrecord")


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_sharded_writer(tf, tmp_path, compression):
    with tfrec.ShardedWriter(tmp_path, "train", records_per_shard=4, compression=compression, sync=False) as w:
        for i in range(10):
            w.write(np.full(2, i, dtype=np.int64))
        w.write_example({"i": 10})
        w.write_raw(b"raw")
    manifest = w.manifest
    assert manifest is not None and manifest == w.close()
    assert manifest == json.loads((tmp_path / "train.manifest.json").read_text())
    names = [s["name"] for s in manifest["shards"]]
    suffix = {None: ".tfrecord", "gzip": ".tfrecord.gz", "zlib": ".tfrecord.deflate"}[compression]
    assert names == [f"train-{i:05}-of-00003{suffix}" for i in range(3)]
    assert [s["records"] for s in manifest["shards"]] == [4, 4, 4]
    assert all((tmp_path / f"{n}.idx").exists() for n in names)
    got = []
    for n in names:
        got += tf_records(tf, tmp_path / n, compression)
        ours = list(tfrec.Reader(tmp_path / n))
        assert len(ours) == 4
    assert got[:10] == [tfrec.serialize_tensor(np.full(2, i, dtype=np.int64)) for i in range(10)]
    assert got[10] == tfrec.serialize_example({"i": 10}) and got[11] == b"raw"


def test_sharded_writer_modes_and_abort(tmp_path):
    with tfrec.ShardedWriter(tmp_path, "n", shards=3, sync=False) as w:
        for i in range(7):
            w.write_raw(bytes([i]))
    assert [s["records"] for s in w.manifest["shards"]] == [3, 2, 2]
    assert list(tfrec.Reader(tmp_path / "n-00001-of-00003.tfrecord")) == [b"\x01", b"\x04"]
    with tfrec.ShardedWriter(tmp_path, "b", bytes_per_shard=40, sync=False) as w:
        for i in range(4):
            w.write_raw(b"x" * 10)
    assert len(w.manifest["shards"]) == 4
    before = set(os.listdir(tmp_path))
    with pytest.raises(KeyError):
        with tfrec.ShardedWriter(tmp_path, "gone", records_per_shard=1) as w:
            w.write_raw(b"a")
            raise KeyError("boom")
    assert set(os.listdir(tmp_path)) == before
    with pytest.raises(ValueError):
        tfrec.ShardedWriter(tmp_path, "x", shards=2, records_per_shard=3)


def _feature_values():
    ints = st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=5)
    floats = st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=5)
    blobs = st.lists(st.binary(max_size=8), min_size=1, max_size=4)
    return st.one_of(ints, floats, blobs)


def _names():
    # Short names over a small alphabet, so some are prefixes of others.
    return st.text(alphabet="ab\u00e9", max_size=3)


@given(st.dictionaries(_names(), _feature_values(), max_size=6))
def test_hypothesis_examples_byte_identical(tf, features):
    def feature(values):
        if isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if isinstance(values[0], int):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    expected = tf.train.Example(features=tf.train.Features(
        feature={k: feature(v) for k, v in features.items()}
    )).SerializeToString(deterministic=True)
    assert tfrec.serialize_example(features) == expected


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_empty_files(tf, tmp_path, compression):
    path = tmp_path / "empty.tfrecord"
    with tfrec.Writer(path, compression=compression):
        pass
    assert path.exists()
    r = tfrec.Reader(path)
    assert list(r) == [] and len(r) == 0
    assert tf_records(tf, path, compression) == []
    with pytest.raises((IndexError, tfrec.InvalidInputError)):
        r[0]
