"""tfrec.Dataset(spec=...): batches of parsed tf.train.Examples, equal to
tf.io.parse_example's."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import tfrec
from dataset_data import example, flip_payload_bit, write_records

KINDS = {
    "label": "int64",
    "x": "float",
    "name": "bytes",
    "weight": "float",
    "tokens": "int64",
    "scores": "float",
    "tags": "bytes",
}

SPEC = {
    "label": tfrec.FixedLen([], "int64"),
    "x": tfrec.FixedLen([2, 2], np.float32),
    "name": tfrec.FixedLen([], "string"),
    "weight": tfrec.FixedLen([], "float32", default=0.5),
    "tokens": tfrec.VarLen("int64"),
    "scores": tfrec.VarLen(np.float32),
    "tags": tfrec.VarLen(bytes),
}


def make_example(i: int) -> bytes:
    features = {
        "label": [i],
        "x": [i + 0.25 * k for k in range(4)],
        "name": [f"record-{i}".encode()],
        "tokens": list(range(i % 4)),
        "scores": [float(-i)] * (i % 3),
        "tags": [b"t%d" % k for k in range(i % 2)],
    }
    if i % 3:
        features["weight"] = [float(i)]
    return example(features, KINDS)


N = 23


@pytest.fixture()
def examples(tmp_path):
    payloads = [make_example(i) for i in range(N)]
    path = tmp_path / "examples.tfrecord"
    write_records(path, payloads)
    return str(path), payloads


def tf_or_skip():
    if os.environ.get("TFREC_REQUIRE_TF") == "1":
        import tensorflow as tf  # noqa: PLC0415 - must fail loudly when required
    else:
        tf = pytest.importorskip("tensorflow")
    return tf


def tf_spec(tf):
    return {
        "label": tf.io.FixedLenFeature([], tf.int64),
        "x": tf.io.FixedLenFeature([2, 2], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string),
        "weight": tf.io.FixedLenFeature([], tf.float32, default_value=0.5),
        "tokens": tf.io.VarLenFeature(tf.int64),
        "scores": tf.io.VarLenFeature(tf.float32),
        "tags": tf.io.VarLenFeature(tf.string),
    }


@pytest.mark.parametrize("batch_size", [1, 5, 8])
def test_batches_equal_tf_parse_example(examples, batch_size):
    tf = tf_or_skip()
    path, payloads = examples
    ds = tfrec.Dataset(path, batch_size=batch_size, spec=SPEC)
    batches = list(ds)
    assert len(batches) == len(ds) == -(-N // batch_size)
    for k, batch in enumerate(batches):
        chunk = payloads[k * batch_size : (k + 1) * batch_size]
        want = tf.io.parse_example(tf.constant(chunk), tf_spec(tf))
        assert set(batch) == set(SPEC)
        for name in ("label", "x", "name", "weight"):
            expected = want[name].numpy()
            got = batch[name]
            assert got.dtype == expected.dtype, name
            assert got.shape == expected.shape == (len(chunk), *SPEC[name].shape), name
            np.testing.assert_array_equal(got, expected, err_msg=name)
        for name in ("tokens", "scores", "tags"):
            sparse = want[name]
            got = batch[name]
            assert isinstance(got, tfrec.Ragged)
            values = sparse.values.numpy()
            assert got.values.dtype == values.dtype, name
            np.testing.assert_array_equal(got.values, values, err_msg=name)
            rows = np.bincount(sparse.indices.numpy()[:, 0], minlength=len(chunk))
            assert got.row_splits.dtype == np.int64
            np.testing.assert_array_equal(got.row_lengths(), rows, err_msg=name)
            assert got.row_splits[0] == 0 and got.row_splits[-1] == len(values)


def test_columns_without_tensorflow(examples):
    path, _ = examples
    batch = next(iter(tfrec.Dataset(path, batch_size=4, spec=SPEC)))
    assert batch["label"].tolist() == [0, 1, 2, 3]
    assert batch["label"].dtype == np.int64
    assert batch["x"].dtype == np.float32 and batch["x"].shape == (4, 2, 2)
    assert batch["name"].dtype == object and batch["name"][2] == b"record-2"
    assert batch["weight"].tolist() == [0.5, 1.0, 2.0, 0.5]
    assert batch["tokens"].row_splits.tolist() == [0, 0, 1, 3, 6]
    assert batch["tokens"].row(3).tolist() == [0, 1, 2]
    assert batch["tags"].values.tolist() == [b"t0", b"t0"]
    # Dense numeric columns lie in the batch's buffers, kept alive by the arrays.
    assert type(batch["x"].base).__name__ == "_BatchBuffer"
    assert batch["x"].flags["ALIGNED"] and batch["x"].flags["WRITEABLE"]


def test_single_examples_without_batch_size(examples):
    path, _ = examples
    records = list(tfrec.Dataset(path, spec=SPEC))
    assert len(records) == N
    r = records[7]
    assert r["label"] == 7 and r["x"].shape == (2, 2)
    assert r["tokens"].tolist() == [0, 1, 2]
    assert r["name"] == b"record-7"


def test_spec_datasets_shuffle_shard_resume_and_pickle(examples):
    path, _ = examples
    labels = []
    for rank in range(3):
        ds = tfrec.Dataset(path, batch_size=4, spec=SPEC, shuffle=2, rank=rank, world=3)
        for b in ds:
            labels.extend(b["label"].tolist())
    assert sorted(labels) == list(range(N))

    ds = tfrec.Dataset(path, batch_size=4, spec=SPEC, shuffle=2)
    it = iter(ds)
    first = next(it)["label"].tolist()
    it.close()
    copy = pickle.loads(pickle.dumps(ds))
    rest = [x for b in copy for x in b["label"].tolist()]
    full = [x for b in tfrec.Dataset(path, batch_size=4, spec=SPEC, shuffle=2) for x in b["label"].tolist()]
    assert first + rest == full


def test_spec_errors(examples):
    path, _ = examples
    with pytest.raises(tfrec.InvalidExampleError) as e:
        list(tfrec.Dataset(path, batch_size=4, spec={"weight": tfrec.FixedLen([], "float32")}))
    assert e.value.path == path and e.value.index == 0
    with pytest.raises(tfrec.InvalidInputError):
        tfrec.Dataset(path, spec={"x": tfrec.FixedLen([3], "float32", default=[1.0, 2.0])})
    with pytest.raises(TypeError):
        tfrec.FixedLen([], "int32")
    with pytest.raises(TypeError):
        tfrec.Dataset(path, spec={"x": "float32"})
    with pytest.raises(tfrec.InvalidInputError):
        tfrec.Dataset(path, spec={})


def test_dtype_names():
    assert tfrec.FixedLen([], np.int64).dtype == "int64"
    assert tfrec.FixedLen(3, "float").dtype == "float32"
    assert tfrec.FixedLen(3, "float").shape == (3,)
    assert tfrec.VarLen(np.dtype("float32")).dtype == "float32"
    assert tfrec.VarLen(object).dtype == "string"
    assert tfrec.VarLen("bytes").dtype == "string"
    assert pickle.loads(pickle.dumps(tfrec.FixedLen([2], "int64", default=[1, 2]))) == tfrec.FixedLen(
        [2], "int64", default=[1, 2]
    )


def test_skip_damaged_examples(examples):
    path, _ = examples
    flip_payload_bit(path, 6)
    seen = []
    ds = tfrec.Dataset(path, batch_size=4, spec=SPEC, on_corrupt="skip", on_skip=seen.append)
    labels = [x for b in ds for x in b["label"].tolist()]
    assert labels == [i for i in range(N) if i != 6]
    assert [s["index"] for s in seen] == [6]
