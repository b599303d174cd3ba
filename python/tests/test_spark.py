"""tfrec.spark on a local Spark: Spark reads what TensorFlow wrote as
``tf.io.parse_example`` does, and TensorFlow reads what Spark wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfrec


@pytest.fixture(scope="module")
def spark():
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        if os.environ.get("TFREC_REQUIRE_SPARK") == "1":
            pytest.fail(f"TFREC_REQUIRE_SPARK=1 but pyspark cannot be imported: {e}")
        pytest.skip("pyspark is not installed (set TFREC_REQUIRE_SPARK=1 to require it)")
    import tfrec.spark

    # The Python workers are separate processes: the same interpreter, and
    # the same tfrec as this process imported.
    package_root = str(Path(tfrec.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in [package_root, os.environ.get("PYTHONPATH")] if p)
    os.environ["PYTHONPATH"] = path
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tfrec-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.executorEnv.PYTHONPATH", path)
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    tfrec.spark.register(session)
    yield session
    session.stop()


def _tf_examples(tf, path: Path, n: int = 40) -> list[dict]:
    """Examples written by TensorFlow: `label` absent from every 7th record,
    `x` absent from every 5th and empty in every 3rd."""
    rows = []
    with tf.io.TFRecordWriter(str(path)) as w:
        for i in range(n):
            f = {"i": tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))}
            row = {"i": i, "label": None, "x": None, "name": b"n%d" % i}
            if i % 7:
                f["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[10 * i - 100]))
                row["label"] = 10 * i - 100
            if i % 5:
                x = [] if i % 3 == 0 else [i + 0.5] * (i % 4 + 1)
                f["x"] = tf.train.Feature(float_list=tf.train.FloatList(value=x))
                row["x"] = x
            f["name"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[row["name"]]))
            w.write(tf.train.Example(features=tf.train.Features(feature=f)).SerializeToString())
            rows.append(row)
    return rows


def test_finalize_moves_staged_jobs_into_one_jobs_names(tmp_path):
    from tfrec import _tfrec

    parts = []
    for task, values in enumerate([[1, 2, 3], [], [4]]):
        with tfrec.ShardedWriter(tmp_path / f".staging/t{task}", "part", sync=False) as w:
            for v in values:
                w.write_example({"v": v})
        parts.append(tmp_path / f".staging/t{task}/part.manifest.json")
    manifest = json.loads(_tfrec._finalize_shards(tmp_path, "train", parts, None, False))
    names = [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert [s["name"] for s in manifest["shards"]] == names
    assert json.loads((tmp_path / "train.manifest.json").read_text()) == manifest
    got = [int(r["v"][0]) for n in names for r in tfrec.Reader(tmp_path / n)]
    assert got == [1, 2, 3, 4]
    assert all((tmp_path / (n + ".idx")).exists() for n in names)
    with pytest.raises(tfrec.Error, match="not gzip"):
        _tfrec._finalize_shards(tmp_path, "again", parts[:1], "gzip", False)


def test_import_tfrec_does_not_import_pyspark():
    code = "import sys, tfrec; sys.exit('pyspark' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_spark_reads_what_tensorflow_wrote_as_parse_example(spark, tf, tmp_path):
    path = tmp_path / "tf.tfrecord"
    rows = _tf_examples(tf, path)
    df = (
        spark.read.format("tfrecord")
        .schema("i long, label long, x array<float>, name binary")
        .option("partition_bytes", "1000")
        .load(str(path))
    )
    assert df.rdd.getNumPartitions() > 2
    got = sorted(df.collect(), key=lambda r: r["i"])
    assert [r["i"] for r in got] == list(range(len(rows)))

    serialized = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]
    parsed = tf.io.parse_example(
        serialized,
        {
            "label": tf.io.VarLenFeature(tf.int64),
            "x": tf.io.VarLenFeature(tf.float32),
            "name": tf.io.FixedLenFeature([], tf.string),
        },
    )
    label = tf.sparse.to_dense(parsed["label"]).numpy()
    label_count = tf.math.bincount(parsed["label"].indices[:, 0], minlength=len(rows)).numpy()
    x = tf.RaggedTensor.from_sparse(parsed["x"]).to_list()
    for i, r in enumerate(got):
        # Absent features: null, whatever the column (TF has no nulls: an
        # absent VarLen feature parses as empty).
        assert (r["label"] is None) == (rows[i]["label"] is None) == (label_count[i] == 0)
        if r["label"] is not None:
            assert r["label"] == label[i][0]
        assert (r["x"] is None) == (rows[i]["x"] is None)
        assert np.array_equal(np.asarray(r["x"] or [], np.float32), np.asarray(x[i], np.float32))
        assert bytes(r["name"]) == parsed["name"][i].numpy()


def test_schema_is_inferred_from_the_first_records(spark, tf, tmp_path):
    _tf_examples(tf, tmp_path / "a.tfrecord")
    df = spark.read.format("tfrecord").load(str(tmp_path))
    assert df.schema.simpleString() == (
        "struct<i:bigint,label:bigint,name:binary,x:array<float>>"
    )
    assert df.count() == 40


def test_tensor_and_raw_kinds(spark, tf, tmp_path):
    path = tmp_path / "t.tfrecord"
    tensors = [np.arange(6 * (i + 1), dtype=np.float64).reshape(2, 3 * (i + 1)) + i for i in range(5)]
    with tf.io.TFRecordWriter(str(path)) as w:
        for t in tensors:
            w.write(tf.io.serialize_tensor(t).numpy())
    df = spark.read.format("tfrecord").option("kind", "tensor").load(str(path))
    assert df.schema.simpleString() == "struct<tensor:array<double>,shape:array<bigint>>"
    got = df.collect()
    assert len(got) == len(tensors)
    for r, t in zip(got, tensors):
        assert r["shape"] == list(t.shape)
        assert np.array_equal(np.asarray(r["tensor"]).reshape(r["shape"]), t)
    # A schema given for tensors casts the values.
    as_float = spark.read.format("tfrecord").option("kind", "tensor")
    as_float = as_float.schema("tensor array<float>, shape array<long>").load(str(path))
    assert as_float.collect()[1]["tensor"] == tensors[1].reshape(-1).astype(np.float32).tolist()
    with pytest.raises(Exception, match="option kind"):
        spark.read.format("tfrecord").option("kind", "sequence").load(str(path)).collect()
    raw = spark.read.format("tfrecord").option("kind", "raw").load(str(path)).collect()
    assert [bytes(r["payload"]) for r in raw] == [b.numpy() for b in tf.data.TFRecordDataset(str(path))]


def test_tensorflow_reads_what_spark_wrote(spark, tf, tmp_path):
    rows = [
        (i, None if i % 4 == 0 else float(i) / 2, [i, -i] * (i % 3), f"s{i}", bytes([i, 0, 255]))
        for i in range(50)
    ]
    df = spark.createDataFrame(
        rows, "id long, score double, ids array<long>, tag string, blob binary"
    ).repartition(3)
    out = tmp_path / "out"
    df.write.format("tfrecord").mode("overwrite").option("stem", "train").save(str(out))
    names = sorted(os.listdir(out))
    shards = [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert names == sorted(shards + [s + ".idx" for s in shards] + ["train.manifest.json"])
    manifest = json.loads((out / "train.manifest.json").read_text())
    assert [s["name"] for s in manifest["shards"]] == shards
    assert manifest["records"] == len(rows)

    ds = tf.data.TFRecordDataset([str(out / s) for s in shards])
    spec = {
        "id": tf.io.FixedLenFeature([], tf.int64),
        "score": tf.io.VarLenFeature(tf.float32),
        "ids": tf.io.VarLenFeature(tf.int64),
        "tag": tf.io.FixedLenFeature([], tf.string),
        "blob": tf.io.FixedLenFeature([], tf.string),
    }
    got = {}
    for record in ds:
        ex = tf.io.parse_single_example(record, spec)
        got[int(ex["id"])] = ex
    assert sorted(got) == list(range(len(rows)))
    for i, score, ids, tag, blob in rows:
        ex = got[i]
        assert ex["score"].values.numpy().tolist() == ([] if score is None else [score])
        assert ex["ids"].values.numpy().tolist() == ids
        assert ex["tag"].numpy() == tag.encode()
        assert ex["blob"].numpy() == blob

    # Read back through Spark, the index sidecars giving the partitions.
    back = spark.read.format("tfrecord").schema("id long, score float, ids array<long>, tag string").load(
        str(out)
    )
    back_rows = {r["id"]: r for r in back.collect()}
    assert back_rows[4]["score"] is None and back_rows[5]["score"] == 2.5
    assert back_rows[5]["ids"] == [5, -5, 5, -5] and back_rows[5]["tag"] == "s5"

    # Overwriting with fewer partitions leaves only the new job's shards.
    df.coalesce(2).write.format("tfrecord").mode("overwrite").option("stem", "train").save(str(out))
    assert sorted(n for n in os.listdir(out) if n.endswith(".tfrecord")) == [
        "train-00000-of-00002.tfrecord",
        "train-00001-of-00002.tfrecord",
    ]
    assert not [n for n in os.listdir(out) if n.startswith(".")]
    assert sum(1 for _ in tf.data.TFRecordDataset(tf.io.gfile.glob(str(out / "*.tfrecord")))) == 50

    # Spark takes only append and overwrite from a Python data source.
    with pytest.raises(Exception, match="ErrorIfExists"):
        df.write.format("tfrecord").option("stem", "train").save(str(out))
    # Appending onto existing shards of the stem is refused.
    with pytest.raises(Exception, match="already holds shards"):
        df.write.format("tfrecord").mode("append").option("stem", "train").save(str(out))


def test_gzip_shards_round_trip(spark, tmp_path):
    df = spark.range(0, 30, numPartitions=2).selectExpr("id", "array(id, id * 2) AS pair")
    out = tmp_path / "gz"
    writer = df.write.format("tfrecord").mode("overwrite").option("compression", "gzip")
    writer.option("records_per_shard", "10").save(str(out))
    # 15 rows in each partition: shards of 10 and 5 records from each.
    assert sorted(n for n in os.listdir(out) if n.endswith(".gz")) == [
        f"part-0000{i}-of-00004.tfrecord.gz" for i in range(4)
    ]
    manifest = json.loads((out / "part.manifest.json").read_text())
    assert [s["records"] for s in manifest["shards"]] == [10, 5, 10, 5]
    back = spark.read.format("tfrecord").load(str(out / "*.tfrecord.gz"))
    assert sorted((r["id"], r["pair"]) for r in back.collect()) == [(i, [i, 2 * i]) for i in range(30)]


def test_a_failed_task_leaves_no_final_name(spark, tmp_path):
    df = spark.createDataFrame([([1, None],), ([2],)], "v array<long>").repartition(2)
    out = tmp_path / "failed"
    with pytest.raises(Exception, match="cannot hold a null"):
        df.write.format("tfrecord").mode("overwrite").save(str(out))
    assert not out.exists() or os.listdir(out) == []


def test_a_damaged_file_fails_with_its_path_and_offset(spark, tmp_path):
    path = tmp_path / "bad.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(10):
            w.write_example({"v": i})
    data = bytearray(path.read_bytes())
    frame = len(data) // 10  # every record has the same size
    data[6 * frame + 14] ^= 0xFF  # inside record 6's payload
    path.write_bytes(bytes(data))
    df = spark.read.format("tfrecord").schema("v long").load(str(path))
    with pytest.raises(Exception) as info:
        df.collect()
    message = str(info.value)
    assert str(path) in message
    assert f"offset {6 * frame}" in message
    assert "corrupt data" in message


def test_a_scalar_column_over_a_longer_list_fails(spark, tmp_path):
    path = tmp_path / "multi.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        w.write_example({"v": 1})
        w.write_example({"v": [1, 2]})
    df = spark.read.format("tfrecord").schema("v long").load(str(path))
    with pytest.raises(Exception, match=r"record 1: feature 'v' has 2 values"):
        df.collect()
    assert spark.read.format("tfrecord").schema("v array<long>").load(str(path)).collect()[1]["v"] == [1, 2]
