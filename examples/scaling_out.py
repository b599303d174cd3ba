"""Scaling out, end to end, on data this script makes: prepare shards with
Ray Data and with Spark, read them back with each engine, then train on
several ranks with `tfrec.Dataset` and resume on a different number of ranks.

    python examples/scaling_out.py            # needs ray[data] and pyspark>=4 (Java 17)

Every step checks what it claims: each engine's shards hold every example,
and over the whole epoch (3 ranks before the restart, 2 after) every record
is seen exactly once. Apache Beam has its own coders (`tfrec.beam`); they
need Beam's own environment and are shown in the README.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import tempfile

import numpy as np

import tfrec

ROWS = 1_000


def with_ray(out_dir: str) -> None:
    import ray

    import tfrec.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = [{"label": i % 10, "x": np.full(4, i, np.float32), "id": i} for i in range(ROWS)]
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_items([{"example": r} for r in rows]).repartition(4)
        tfrec.ray.write_tfrecords(ds, out_dir, column="example", stem="train")
        back = tfrec.ray.read_tfrecords(
            os.path.join(out_dir, "train-*.tfrecord"),
            spec={"id": tfrec.FixedLen([], "int64"), "x": tfrec.FixedLen([4], "float32")},
        )
        ids = sorted(int(r["id"]) for r in back.iter_rows())
        assert ids == list(range(ROWS)), "Ray: the shards do not hold every row"
        print(f"ray: {len(glob.glob(os.path.join(out_dir, 'train-*.tfrecord')))} shards, {len(ids)} rows read back")
    finally:
        ray.shutdown()


def with_spark(out_dir: str) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import tfrec.spark

    spark = SparkSession.builder.master("local[2]").appName("tfrec").getOrCreate()
    try:
        tfrec.spark.register(spark)
        df = spark.createDataFrame(
            [(i, [float(i)] * 4, f"row {i}".encode()) for i in range(ROWS)],
            "id long, x array<float>, name binary",
        ).repartition(3)
        df.write.format("tfrecord").mode("overwrite").save(out_dir)
        back = spark.read.format("tfrecord").schema("id long, x array<float>, name binary").load(out_dir)
        ids = sorted(r.id for r in back.select("id").collect())
        assert ids == list(range(ROWS)), "Spark: the shards do not hold every row"
        print(f"spark: {len(glob.glob(os.path.join(out_dir, 'part-*.tfrecord')))} shards, {len(ids)} rows read back")
    finally:
        spark.stop()


def train_elastic(pattern: str) -> None:
    """3 ranks take 2 synchronous steps; the job restarts on 2 ranks from
    rank 0's state and finishes the epoch."""
    spec = {"id": tfrec.FixedLen([], "int64")}
    seen: list[int] = []

    def dataset(rank: int, world: int) -> tfrec.Dataset:
        return tfrec.Dataset(pattern, batch_size=32, shuffle=7, rank=rank, world=world, spec=spec)

    state = None
    for rank in range(3):
        ds = dataset(rank, 3)
        it = iter(ds)
        for _ in range(2):
            seen.extend(int(i) for i in next(it)["id"].reshape(-1))
        if rank == 0:
            state = json.loads(json.dumps(ds.state_dict()))  # what a checkpoint holds
    for rank in range(2):
        ds = dataset(rank, 2)
        ds.load_state_dict(state)
        for batch in ds:
            seen.extend(int(i) for i in batch["id"].reshape(-1))
    assert sorted(seen) == list(range(ROWS)), "elastic resume: a record was lost or repeated"
    print(f"training: 3 ranks then 2 ranks, {len(seen)} records, each exactly once")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ray_dir, spark_dir = os.path.join(tmp, "ray"), os.path.join(tmp, "spark")
        with_ray(ray_dir)
        with_spark(spark_dir)
        train_elastic(os.path.join(ray_dir, "train-*.tfrecord"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
