"""Batched random reads (`Reader.get_many`) and `tfrec.parse_example`."""

from __future__ import annotations

import numpy as np
import pytest
from test_threads import progress_during

import tfrec


def _mixed_file(path):
    """Tensors, Examples and raw records, record n carrying n."""
    with tfrec.Writer(path, sync=False) as w:
        for n in range(60):
            if n % 3 == 0:
                w.write(np.full((2, n % 5 + 1), n, dtype=np.int32))
            elif n % 3 == 1:
                w.write_example({"n": n, "tag": f"t{n}", "x": [n / 2]})
            else:
                w.write_raw(b"raw %d" % n)
    return path


def _same(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("kind", [None, "raw"])
def test_get_many_matches_indexing(tmp_path, kind):
    r = tfrec.Reader(_mixed_file(tmp_path / "m.tfrecord"), kind=kind)
    rng = np.random.default_rng(2)
    for picks in ([], [5], [0, 59, 0, -1, -60, 30], rng.integers(-60, 60, 300).tolist()):
        got = r.get_many(picks)
        assert isinstance(got, list) and len(got) == len(picks)
        for i, record in zip(picks, got):
            _same(r[i], record)
    assert r.get_many(range(3))[2] == (b"raw 2" if kind is None else r.raw(2))
    _same(r.get_many(np.array([4, 1], dtype=np.int64))[1], r[1])


def test_get_many_errors(tmp_path):
    path = _mixed_file(tmp_path / "m.tfrecord")
    r = tfrec.Reader(path)
    for bad in ([60], [0, -61], [2**63 - 1]):
        with pytest.raises(IndexError):
            r.get_many(bad)
    with pytest.raises(TypeError):
        r.get_many(["1"])
    with pytest.raises(tfrec.InvalidTensorError):
        tfrec.Reader(path, kind="tensor").get_many([0, 1])
    gz = tmp_path / "m.tfrecord.gz"
    with tfrec.Writer(gz, compression="gzip", sync=False) as w:
        w.write_raw(b"x")
    with pytest.raises(tfrec.InvalidInputError):
        tfrec.Reader(gz).get_many([0])


def test_get_many_checks_crcs(tmp_path):
    path = tmp_path / "c.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for n in range(20):
            w.write_raw(bytes([n]) * 100)
    data = bytearray(path.read_bytes())
    frame = 16 + 100
    data[13 * frame + 12 + 50] ^= 0x01  # inside record 13's payload
    path.write_bytes(bytes(data))
    r = tfrec.Reader(path)
    assert r.get_many([12, 14]) == [bytes([12]) * 100, bytes([14]) * 100]
    for picks in ([13], list(range(20))):
        with pytest.raises(tfrec.DataLossError) as e:
            r.get_many(picks)
        assert e.value.index == 13 and e.value.offset == 13 * frame


def test_get_many_releases_the_gil(tmp_path):
    path = tmp_path / "big.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for n in range(64):
            w.write(np.full(1 << 18, n, dtype=np.float32))
    r = tfrec.Reader(path)
    len(r)
    picks = list(range(64)) * 4
    assert progress_during(lambda: r.get_many(picks)) > 2


def test_parse_example_as_the_reader_gives_it(tmp_path):
    features = [
        {"n": 3, "tag": "a", "x": [0.5, 1.5], "raw": b"\x00", "empty": []},
        {"ints": np.arange(4), "strs": ["", "é"]},
        {},
    ]
    path = tmp_path / "e.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for f in features:
            w.write_example(f)
    for f, from_reader in zip(features, tfrec.Reader(path)):
        payload = tfrec.serialize_example(f)
        for form in (payload, bytearray(payload), memoryview(payload)):
            _same(tfrec.parse_example(form), from_reader)
    parsed = tfrec.parse_example(tfrec.serialize_example(features[0]))
    assert parsed["empty"].dtype == np.float32 and parsed["empty"].size == 0
    assert parsed["tag"].tolist() == [b"a"]


def test_parse_example_errors():
    with pytest.raises(tfrec.InvalidExampleError):
        tfrec.parse_example(b"\xff\xff\xff not an example")
    with pytest.raises(tfrec.InvalidExampleError):
        tfrec.parse_example(tfrec.serialize_tensor(np.arange(3)))
    with pytest.raises(TypeError):
        tfrec.parse_example("text")


def test_parse_example_of_what_tensorflow_wrote(tf):
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "i": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, -(2**63)])),
                "f": tf.train.Feature(float_list=tf.train.FloatList(value=[0.25, -3.5])),
                "b": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x", b""])),
                "none": tf.train.Feature(),
            }
        )
    )
    parsed = tfrec.parse_example(example.SerializeToString())
    assert sorted(parsed) == ["b", "f", "i", "none"]
    _same(parsed["i"], np.array([1, -(2**63)], dtype=np.int64))
    _same(parsed["f"], np.array([0.25, -3.5], dtype=np.float32))
    _same(parsed["b"], np.array([b"x", b""], dtype=object))
    _same(parsed["none"], np.zeros(0, dtype=np.float32))
    # Large payloads are parsed with the GIL released; the result is the same.
    big = tf.train.Example(
        features=tf.train.Features(
            feature={"v": tf.train.Feature(int64_list=tf.train.Int64List(value=range(50_000)))}
        )
    )
    _same(tfrec.parse_example(big.SerializeToString())["v"], np.arange(50_000, dtype=np.int64))
