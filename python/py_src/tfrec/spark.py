"""TFRecord files as a Spark data source, on Spark 4's Python data source API.

``tfrec.spark.register(spark)`` adds the format ``"tfrecord"`` to a
``SparkSession``; no Java connector is needed::

    import tfrec.spark
    tfrec.spark.register(spark)
    df = (spark.read.format("tfrecord")
          .schema("label long, x array<float>, name binary")
          .load("data/*.tfrecord"))
    df.write.format("tfrecord").mode("overwrite").save("out")

Reading (``kind`` option, default ``"example"``):

- ``"example"``: each feature named by a column, with the rules of
  ``tf.io.parse_example``: ``long``/``int``/``short``/``byte``/``boolean``
  columns read an int64_list, ``float``/``double`` a float_list,
  ``binary``/``string`` a bytes_list (``string`` must be UTF-8), and
  ``array<...>`` of these the whole list. A scalar column takes the one
  value of its feature; a feature with more values fails the job, naming
  the file and record. A feature absent from a record is null; an empty
  list (or a feature with no list set) is an empty array in an array
  column and null in a scalar one. A list of the wrong kind fails the job.
  Without a schema, one is inferred from the first ``samples`` records
  (default 100) of the first file: a column per feature, sorted by name,
  scalar when every sampled record that has the feature has exactly one
  value, else an array (a feature empty in every sampled record is left
  out).
- ``"tensor"``: records holding ``tf.io.serialize_tensor`` tensors, as the
  columns ``tensor`` (the values flattened in C order; the element type is
  inferred from the first record: ``float``, ``double``, ``byte``,
  ``short``, ``int``, ``long``, ``boolean`` or ``binary``) and ``shape``
  (``array<long>``).
- ``"raw"``: the column ``payload`` (``binary``).

``load`` takes a file, a directory (its files, except hidden ones, ``.idx``
sidecars and manifests) or a glob. Uncompressed files are split into
partitions of about ``partition_bytes`` bytes (default 64 MiB) by record
index ranges, using the ``.idx`` sidecars or one scan of the frame headers
(each partition of a file without a sidecar scans it again: give big files
sidecars with ``tfrec index``); GZIP and ZLIB files are one partition each. Every CRC is checked; a damaged
file fails the job with a message naming the file and the record's offset.

Writing: each partition becomes whole shards of Examples (columns become
features, nulls are left out, ``double`` is stored as float32 as in every
float_list): the tasks write to a hidden staging directory inside the
output directory, and the commit moves every shard into place as
``{stem}-NNNNN-of-NNNNN.tfrecord`` (``stem`` option, default ``"part"``)
with ``.idx`` sidecars, then writes ``{stem}.manifest.json``. A failed
task or job leaves nothing under a final name. ``mode("overwrite")``
replaces the shards of the stem; ``mode("append")`` fails if shards of the
stem exist. Options: ``compression`` (``gzip``/``zlib``),
``records_per_shard`` (default: one shard per partition), ``sync``
(default true).

Workers must import the same ``tfrec`` (and ``pyspark``) as the driver.

How a file is split into partitions is the library's
(``tfrec::partition``); this module lists the files, maps Spark types
to feature kinds and turns columns into Arrow batches.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    DataSourceWriter,
    InputPartition,
    WriterCommitMessage,
)
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
    StructField,
    StructType,
)

from . import _tfrec
from ._errors import InvalidExampleError
from ._io import Reader

__all__ = ["register", "TFRecordDataSource"]

_BYTES, _FLOAT, _INT64 = 0, 1, 2
_KINDS: dict[type, int] = {
    LongType: _INT64,
    IntegerType: _INT64,
    ShortType: _INT64,
    ByteType: _INT64,
    BooleanType: _INT64,
    FloatType: _FLOAT,
    DoubleType: _FLOAT,
    BinaryType: _BYTES,
    StringType: _BYTES,
}
_BATCH_ROWS = 4096


def register(spark: Any) -> None:
    """Registers the data source under the format name ``"tfrecord"``."""
    spark.dataSource.register(TFRecordDataSource)


def _column_kind(field: StructField) -> tuple[int, bool]:
    """(feature kind, is array) for a column, or a ValueError."""
    t = field.dataType
    array = isinstance(t, ArrayType)
    if isinstance(t, ArrayType):
        t = t.elementType
    kind = _KINDS.get(type(t))
    if kind is None:
        raise ValueError(
            f"column {field.name!r}: tfrecord reads and writes long, int, short, byte, boolean, "
            f"float, double, binary, string and arrays of them, not {field.dataType.simpleString()}"
        )
    return kind, array


def _files(path: str) -> list[str]:
    """The files a path names: a file, a directory's data files, or a glob."""
    if os.path.isdir(path):
        found = [
            os.path.join(path, n)
            for n in os.listdir(path)
            if not n.startswith((".", "_"))
            and not n.endswith((".idx", ".json", ".crc"))
            and os.path.isfile(os.path.join(path, n))
        ]
    elif os.path.isfile(path):
        found = [path]
    else:
        found = [p for p in glob.glob(path) if os.path.isfile(p)]
    if not found:
        raise FileNotFoundError(f"no TFRecord files at {path!r}")
    return sorted(found)


@dataclass
class _Range(InputPartition):
    """Records ``start..end`` of one file (``end`` None: to its end)."""

    path: str
    start: int
    end: int | None


@dataclass
class _Staged(WriterCommitMessage):
    """A task's staged job: its manifest, and the partition it wrote."""

    partition: int
    manifest: str


class TFRecordDataSource(DataSource):
    """The ``"tfrecord"`` format: see the module documentation."""

    @classmethod
    def name(cls) -> str:
        return "tfrecord"

    def _kind(self) -> str:
        kind = self.options.get("kind", "example").lower()
        if kind not in ("example", "tensor", "raw"):
            raise ValueError(f"option kind must be 'example', 'tensor' or 'raw', not {kind!r}")
        return kind

    def schema(self) -> StructType | str:
        kind = self._kind()
        if kind == "raw":
            return "payload binary"
        files = _files(self.options["path"])
        if kind == "tensor":
            return _infer_tensor_schema(files)
        return _infer_example_schema(files, int(self.options.get("samples", 100)))

    def reader(self, schema: StructType) -> DataSourceReader:
        return _Reader(
            self.options["path"],
            self._kind(),
            schema,
            int(self.options.get("partition_bytes", 64 << 20)),
        )

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        return _Writer(dict(self.options), schema, overwrite)


def _infer_example_schema(files: Sequence[str], samples: int) -> StructType:
    kinds: dict[str, int] = {}
    scalar: dict[str, bool] = {}
    seen = 0
    for path in files:
        for record in Reader(path, kind="example"):
            for name, values in record.items():
                scalar[name] = scalar.get(name, True) and len(values) == 1
                if len(values) == 0:
                    continue  # an empty list, or none set, says nothing of the kind
                kind = {"i": _INT64, "f": _FLOAT}.get(values.dtype.kind, _BYTES)
                if kinds.setdefault(name, kind) != kind:
                    raise InvalidExampleError(
                        f"{path}: feature {name!r} holds different kinds of lists", path=path
                    )
            seen += 1
            if seen >= samples:
                break
        if seen >= samples:
            break
    element = {_INT64: LongType(), _FLOAT: FloatType(), _BYTES: BinaryType()}
    fields = []
    for name in sorted(kinds):
        t: DataType = element[kinds[name]]
        fields.append(StructField(name, t if scalar[name] else ArrayType(t)))
    return StructType(fields)


_TENSOR_TYPES: dict[str, DataType] = {
    "float32": FloatType(),
    "float64": DoubleType(),
    "int8": ByteType(),
    "int16": ShortType(),
    "int32": IntegerType(),
    "int64": LongType(),
    "uint8": ShortType(),
    "uint16": IntegerType(),
    "uint32": LongType(),
    "bool": BooleanType(),
    "object": BinaryType(),
}


def _infer_tensor_schema(files: Sequence[str]) -> StructType:
    element: DataType = FloatType()
    for path in files:
        for tensor in Reader(path, kind="tensor"):
            name = str(tensor.dtype)
            if name not in _TENSOR_TYPES:
                raise ValueError(f"{path}: tensors of {name} have no Spark column type")
            element = _TENSOR_TYPES[name]
            break
        else:
            continue
        break
    return StructType(
        [StructField("tensor", ArrayType(element)), StructField("shape", ArrayType(LongType()))]
    )


class _Reader(DataSourceReader):
    def __init__(self, path: str, kind: str, schema: StructType, partition_bytes: int) -> None:
        self.path = path
        self.kind = kind
        self.schema = schema
        self.partition_bytes = max(1, partition_bytes)
        if kind == "example":
            for field in schema.fields:
                _column_kind(field)

    def partitions(self) -> Sequence[InputPartition]:
        parts: list[InputPartition] = []
        for path in _files(self.path):
            r = Reader(path)
            if r.compression != "none":
                parts.append(_Range(path, 0, None))
                continue
            ranges = _tfrec._record_ranges(len(r), os.path.getsize(path), self.partition_bytes)
            parts.extend(_Range(path, a, b) for a, b in ranges)
        return parts

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, _Range)
        schema = to_arrow_schema(self.schema, timezone="UTC")
        if self.kind == "example":
            yield from _read_examples(partition, self.schema, schema)
        else:
            yield from _read_records(partition, self.kind, schema)


def _read_examples(
    part: _Range, spark_schema: StructType, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    kinds = [_column_kind(f) for f in spark_schema.fields]
    names = [(f.name, kind) for f, (kind, _) in zip(spark_schema.fields, kinds)]
    columns = _tfrec.ExampleColumns(part.path, names)
    start = part.start
    while part.end is None or start < part.end:
        stop = start + _BATCH_ROWS if part.end is None else min(start + _BATCH_ROWS, part.end)
        rows, data = columns.read(start, stop)
        if rows == 0:
            break
        arrays = [
            _arrow_column(part.path, start, field.name, array, rows, *cols).cast(target.type)
            for field, (_, array), cols, target in zip(spark_schema.fields, kinds, data, schema)
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        start += rows


def _arrow_column(
    path: str,
    start: int,
    name: str,
    array: bool,
    rows: int,
    present: np.ndarray,
    offsets: np.ndarray,
    values: np.ndarray,
    ends: np.ndarray | None,
) -> pa.Array:
    if ends is None:
        base = pa.array(values)
    else:
        base = pa.Array.from_buffers(
            pa.large_binary(), len(ends) - 1, [None, pa.py_buffer(ends), pa.py_buffer(values)]
        )
    if array:
        return pa.LargeListArray.from_arrays(pa.array(offsets), base, mask=pa.array(~present))
    counts = np.diff(offsets)
    bad = np.flatnonzero(present & (counts > 1))
    if len(bad):
        i = int(bad[0])
        raise InvalidExampleError(
            f"{path}: record {start + i}: feature {name!r} has {int(counts[i])} values, "
            f"the scalar column takes one (read it as an array)",
            path=path,
            index=start + i,
        )
    valid = present & (counts == 1)
    if not valid.any():
        return pa.nulls(rows, base.type)
    take = pa.array(np.where(valid, offsets[:-1], 0), mask=~valid)
    return base.take(take)


def _read_records(part: _Range, kind: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    r = Reader(part.path, kind="tensor" if kind == "tensor" else "raw")
    if part.end is None:
        source: Iterator[Any] = iter(r)
    else:
        source = (r[i] if kind == "tensor" else r.raw(i) for i in range(part.start, part.end))
    while True:
        batch = [x for _, x in zip(range(_BATCH_ROWS), source)]
        if not batch:
            return
        if kind == "raw":
            arrays = [pa.array(batch, pa.binary())]
        else:
            flat = [np.ascontiguousarray(t).reshape(-1) for t in batch]
            lengths = np.array([0] + [len(f) for f in flat], dtype=np.int64)
            values = np.concatenate(flat) if flat else np.zeros(0)
            base = pa.array(list(values) if values.dtype == object else values)
            tensor = pa.LargeListArray.from_arrays(pa.array(np.cumsum(lengths)), base)
            shapes = [list(t.shape) for t in batch]
            arrays = [
                tensor.cast(pa.list_(schema.field("tensor").type.value_field)),
                pa.array(shapes, pa.list_(pa.int64())).cast(schema.field("shape").type),
            ]
        yield pa.RecordBatch.from_arrays(
            [a.cast(f.type) for a, f in zip(arrays, schema)], schema=schema
        )


def _stems(out_dir: str, stem: str) -> list[str]:
    if not os.path.isdir(out_dir):
        return []
    prefix = f"{stem}-"
    return [n for n in os.listdir(out_dir) if n.startswith(prefix) and "-of-" in n]


def _features(columns: Sequence[tuple[str, int, bool]], row: Sequence[Any]) -> list[Any]:
    """A row as the compiled writer's ``(name, kind, values)`` triples; nulls
    are left out."""
    out: list[Any] = []
    for (name, kind, array), value in zip(columns, row):
        if value is None:
            continue
        if not array:
            value = (value,)
        elif any(v is None for v in value):
            raise ValueError(f"column {name!r}: an Example's list cannot hold a null")
        if kind == _BYTES:
            out.append((name, kind, [v if isinstance(v, bytes) else _utf8(v) for v in value]))
        elif kind == _FLOAT:
            out.append((name, kind, np.asarray(value, dtype=np.float32)))
        else:
            out.append((name, kind, np.asarray(value, dtype=np.int64)))
    return out


def _utf8(v: Any) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


class _Writer(DataSourceWriter):
    def __init__(self, options: dict[str, str], schema: StructType, overwrite: bool) -> None:
        out_dir = options.get("path")
        if not out_dir:
            raise ValueError("save(path) needs the output directory")
        self.out_dir: str = out_dir
        self.stem = options.get("stem", "part")
        compression = options.get("compression", "none").lower()
        self.compression = None if compression in ("", "none") else compression
        self.sync = options.get("sync", "true").lower() != "false"
        per = options.get("records_per_shard")
        self.records_per_shard = int(per) if per else None
        self.columns = [(f.name, *_column_kind(f)) for f in schema.fields]
        self.staging = os.path.join(self.out_dir, f".{self.stem}.staging-{uuid.uuid4().hex}")
        if not overwrite and _stems(self.out_dir, self.stem):
            raise FileExistsError(
                f"{self.out_dir} already holds shards of {self.stem!r}; "
                "write with mode('overwrite')"
            )

    def write(self, iterator: Iterator[Any]) -> WriterCommitMessage:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx else 0
        attempt = ctx.attemptNumber() if ctx else 0
        task_dir = os.path.join(self.staging, f"p{partition:05}-a{attempt}-{uuid.uuid4().hex[:8]}")
        per = self.records_per_shard
        w = _tfrec.RecordWriter.shards(
            task_dir, "part", None if per else 1, per, None, self.compression, self.sync, True
        )
        try:
            for row in iterator:
                w.write_example(_features(self.columns, row))
            w.close()
        except BaseException:
            w.abort()
            raise
        return _Staged(partition, os.path.join(task_dir, "part.manifest.json"))

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        staged = sorted((m for m in messages if isinstance(m, _Staged)), key=lambda m: m.partition)
        parts = [m.manifest for m in staged]
        try:
            _tfrec._finalize_shards(self.out_dir, self.stem, parts, self.compression, self.sync)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
