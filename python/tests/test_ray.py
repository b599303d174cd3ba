"""tfrec.ray on a real local Ray cluster: TensorFlow reads what it writes,
it reads what TensorFlow writes as TensorFlow parses it, damage is caught
and named, one file is read by several tasks, failed writes leave nothing."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import tfrec

# Ray warns about its own deprecated settings while it starts and runs.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def ray():
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError as e:
        if os.environ.get("TFREC_REQUIRE_RAY") == "1":
            pytest.fail(f"TFREC_REQUIRE_RAY=1 but ray cannot be imported: {e}")
        pytest.skip("ray is not installed (set TFREC_REQUIRE_RAY=1 to require it)")
    # Workers are separate interpreters: they must find this same tfrec.
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": env},
    )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def tr(ray):
    import tfrec.ray

    return tfrec.ray


def test_import_tfrec_does_not_import_ray():
    code = "import sys, tfrec; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _visible(d):
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def test_tensorflow_reads_what_write_tfrecords_wrote(ray, tr, tf, tmp_path):
    out = tmp_path / "out"
    ds = ray.data.range(40, override_num_blocks=4).map(
        lambda r: {"tensor": np.arange(6, dtype=np.int32).reshape(2, 3) * int(r["id"])}
    )
    manifest = tr.write_tfrecords(ds, out, stem="train")
    n = len(manifest["shards"])
    assert n >= 2, manifest
    names = [f"train-{i:05}-of-{n:05}.tfrecord" for i in range(n)]
    assert _visible(out) == sorted(
        names + [f"{s}.idx" for s in names] + ["train.manifest.json"]
    )
    assert os.listdir(out) == _visible(out) or not any(
        n.startswith(".") for n in os.listdir(out)
    )
    assert json.loads((out / "train.manifest.json").read_text())["records"] == 40
    got = []
    for raw in tf.data.TFRecordDataset([str(out / s) for s in names]):
        got.append(tf.io.parse_tensor(raw, tf.int32).numpy())
    got.sort(key=lambda a: int(a[0, 1]))
    assert len(got) == 40
    for i, a in enumerate(got):
        np.testing.assert_array_equal(a, np.arange(6, dtype=np.int32).reshape(2, 3) * i)
    # Sidecars: one "offset length" line per record.
    idx = (out / f"{names[0]}.idx").read_text().splitlines()
    assert len(idx) == manifest["shards"][0]["records"]


def test_examples_written_from_dicts_and_from_columns(ray, tr, tf, tmp_path):
    ds = ray.data.from_items([{"label": i, "x": [float(i), 0.5]} for i in range(10)])
    m = tr.write_tfrecords(ds, tmp_path / "cols", column=None, compression="gzip")
    assert all(s["name"].endswith(".tfrecord.gz") for s in m["shards"])
    files = [str(tmp_path / "cols" / s["name"]) for s in m["shards"]]
    spec = {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "x": tf.io.FixedLenFeature([2], tf.float32),
    }
    rows = [
        tf.io.parse_single_example(r, spec)
        for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]
    assert sorted(int(r["label"]) for r in rows) == list(range(10))
    for r in rows:
        np.testing.assert_array_equal(r["x"].numpy(), [float(r["label"]), 0.5])

    # A column holding a dict per row.
    ds = ray.data.range(5).map(lambda r: {"ex": {"i": int(r["id"]), "s": b"v%d" % r["id"]}})
    m = tr.write_tfrecords(ds, tmp_path / "dicts", column="ex")
    files = [str(tmp_path / "dicts" / s["name"]) for s in m["shards"]]
    spec = {"i": tf.io.FixedLenFeature([], tf.int64), "s": tf.io.FixedLenFeature([], tf.string)}
    rows = [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(files)]
    assert sorted((int(r["i"]), r["s"].numpy()) for r in rows) == [
        (i, b"v%d" % i) for i in range(5)
    ]


def _tf_examples(tf, path, n):
    with tf.io.TFRecordWriter(str(path)) as w:
        for i in range(n):
            feature = {
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i * 7 - 3])),
                "x": tf.train.Feature(
                    float_list=tf.train.FloatList(value=[i / 3, -i, 0.25, i * 1.5])
                ),
                "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"n%04d" % i])),
                "tokens": tf.train.Feature(int64_list=tf.train.Int64List(value=list(range(i % 5)))),
                "tags": tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[b"t%d" % k for k in range(i % 3)])
                ),
                "pair": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a%d" % i, b""])),
            }
            ex = tf.train.Example(features=tf.train.Features(feature=feature))
            w.write(ex.SerializeToString())


def test_read_tfrecords_equals_tensorflow_parse(ray, tr, tf, tmp_path):
    path = tmp_path / "tf.tfrecord"
    n = 300
    _tf_examples(tf, path, n)
    spec = {
        "label": tfrec.FixedLen([], "int64"),
        "x": tfrec.FixedLen([4], "float32"),
        "name": tfrec.FixedLen([], "string"),
        "tokens": tfrec.VarLen("int64"),
        "tags": tfrec.VarLen("string"),
        "pair": tfrec.FixedLen([2], "string"),
    }
    ds = tr.read_tfrecords(str(path), spec=spec, override_num_blocks=3)
    got = ds.to_pandas()
    tf_spec = {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "x": tf.io.FixedLenFeature([4], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string),
        "tokens": tf.io.VarLenFeature(tf.int64),
        "tags": tf.io.VarLenFeature(tf.string),
        "pair": tf.io.FixedLenFeature([2], tf.string),
    }
    want = tf.io.parse_example(list(tf.data.TFRecordDataset(str(path)).batch(n))[0], tf_spec)
    assert len(got) == n
    np.testing.assert_array_equal(got["label"].to_numpy(), want["label"].numpy())
    assert got["label"].to_numpy().dtype == np.int64
    np.testing.assert_array_equal(np.stack(got["x"].to_numpy()), want["x"].numpy())
    assert list(got["name"]) == list(want["name"].numpy())
    dense = tf.sparse.to_dense(want["tokens"]).numpy()
    lengths = tf.sparse.reduce_sum(tf.sparse.map_values(tf.ones_like, want["tokens"]), 1)
    for i, row in enumerate(got["tokens"]):
        k = int(lengths[i])
        np.testing.assert_array_equal(np.asarray(row, dtype=np.int64), dense[i, :k])
    tags = tf.sparse.to_dense(want["tags"], default_value=b"").numpy()
    for i, row in enumerate(got["tags"]):
        assert list(row) == [t for t in tags[i] if t], i
    assert [list(r) for r in got["pair"]] == [list(r) for r in want["pair"].numpy()]


def test_tensors_written_by_tensorflow_keep_dtype_and_shape(ray, tr, tf, tmp_path):
    fixed, ragged = tmp_path / "fixed.tfrecord", tmp_path / "ragged.tfrecord"
    want_fixed = [np.arange(6, dtype=np.float16).reshape(2, 3) + i for i in range(20)]
    want_ragged = [np.arange(i % 4 * 2, dtype=np.int64).reshape(-1, 2) + i for i in range(20)]
    for path, arrays in [(fixed, want_fixed), (ragged, want_ragged)]:
        with tf.io.TFRecordWriter(str(path)) as w:
            for a in arrays:
                w.write(tf.io.serialize_tensor(tf.constant(a)).numpy())

    ds = tr.read_tfrecords(str(fixed), override_num_blocks=2)
    assert "ArrowTensorType" in str(ds.schema())
    rows = ds.take_all()
    assert [r["tensor"].dtype for r in rows] == [np.float16] * 20
    for r, a in zip(rows, want_fixed):
        np.testing.assert_array_equal(r["tensor"], a)
        assert r["tensor"].shape == (2, 3)

    ds = tr.read_tfrecords(str(ragged), column="t", override_num_blocks=2)
    assert "VariableShaped" in str(ds.schema())
    rows = ds.take_all()
    for r, a in zip(rows, want_ragged):
        assert r["t"].dtype == np.int64 and r["t"].shape == a.shape
        np.testing.assert_array_equal(r["t"], a)


def test_raw_records_are_a_payload_column(ray, tr, tmp_path):
    path = tmp_path / "raw.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(10):
            w.write_raw(b"\xffraw %d" % i)
    rows = tr.read_tfrecords(str(path)).take_all()
    assert [r["payload"] for r in rows] == [b"\xffraw %d" % i for i in range(10)]


def test_one_file_is_read_by_several_tasks(ray, tr, tmp_path):
    path = tmp_path / "big.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(1000):
            w.write(np.array([i, -i], dtype=np.int64))
    ds = tr.read_tfrecords(str(path), override_num_blocks=5).materialize()
    assert ds.num_blocks() == 5
    values = np.concatenate([b["tensor"] for b in ds.iter_batches(batch_size=None)])
    np.testing.assert_array_equal(values[:, 0], np.arange(1000))
    assert ds.count() == 1000


def _damage(path, record, records_total):
    """Flips a payload byte of `record` (fixed-size frames); returns its offset."""
    data = bytearray(path.read_bytes())
    frame = len(data) // records_total
    offset = record * frame
    data[offset + 12 + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    return offset


def test_a_damaged_file_fails_the_read_naming_file_and_offset(ray, tr, tmp_path):
    path = tmp_path / "damaged.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(100):
            w.write(np.full(4, i, dtype=np.int32))
    offset = _damage(path, 61, 100)
    with pytest.raises(Exception) as info:
        tr.read_tfrecords(str(path), override_num_blocks=3).materialize()
    text = str(info.value)
    assert "DataLossError" in type(info.value).__name__ or "DataLossError" in text
    assert str(path) in text and f"offset {offset}" in text, text
    assert isinstance(info.value, tfrec.DataLossError)

    rows = tr.read_tfrecords(str(path), on_corrupt="skip", override_num_blocks=3).take_all()
    got = sorted(int(r["tensor"][0]) for r in rows)
    assert got == [i for i in range(100) if i != 61]


def test_compressed_files_are_streamed(ray, tr, tmp_path):
    out = tmp_path / "gz"
    ds = ray.data.range(30, override_num_blocks=3).map(
        lambda r: {"tensor": np.array([r["id"]], dtype=np.int64)}
    )
    m = tr.write_tfrecords(ds, out, compression="zlib")
    assert all(s["name"].endswith(".tfrecord.deflate") for s in m["shards"])
    rows = tr.read_tfrecords(str(out / "*.tfrecord.deflate")).take_all()
    assert sorted(int(r["tensor"][0]) for r in rows) == list(range(30))


def test_a_failed_write_leaves_no_file(ray, tr, tmp_path):
    out = tmp_path / "failed"

    def batch(b):
        if 17 in b["id"]:
            # Features nested in features: no Example holds them, so the
            # task writing this block fails after the others have written.
            return {"tensor": [{"a": {"b": 1}} for _ in b["id"]]}
        return {"tensor": [np.array([i]) for i in b["id"]]}

    ds = ray.data.range(30, override_num_blocks=3).map_batches(batch, batch_size=None)
    with pytest.raises(Exception):
        tr.write_tfrecords(ds, out)
    assert os.listdir(out) == []


def test_a_stem_that_is_no_plain_file_name_is_refused_before_anything_is_made(ray, tr, tmp_path):
    out = tmp_path / "out"
    for stem in ["", ".hidden", "..", "a/b", "a\\b", "a\0b"]:
        with pytest.raises(tfrec.InvalidInputError, match="plain, non-hidden") as caught:
            tr.TFRecordDatasink(out, stem=stem)
        assert isinstance(caught.value, ValueError), stem
    assert not out.exists()
    assert tr.TFRecordDatasink(out, stem="train.v2-x").stem == "train.v2-x"


def test_empty_blocks_write_no_shard(ray, tr, tmp_path):
    ds = ray.data.range(6, override_num_blocks=3).map_batches(
        lambda b: {"tensor": b["id"][b["id"] < 2].reshape(-1, 1)}, batch_size=None
    )
    m = tr.write_tfrecords(ds, tmp_path / "few")
    assert m["records"] == 2
    assert all(s["records"] > 0 for s in m["shards"])
    assert not any(n.startswith(".") for n in os.listdir(tmp_path / "few"))
