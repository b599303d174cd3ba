"""Ray Data over TFRecord files. Importing this module imports Ray;
``import tfrec`` alone never does.

:func:`read_tfrecords` reads files into a ``ray.data.Dataset``::

    ds = tfrec.ray.read_tfrecords("gs-mirror/train-*.tfrecord", spec={
        "label": tfrec.FixedLen([], "int64"),
        "x": tfrec.FixedLen([16], "float32"),
        "tokens": tfrec.VarLen("int64"),
    })
    ds.count()

The driver indexes every file (its ``.idx`` sidecar when it is consistent,
else a scan of the frame headers) and splits the files into ranges of
records, so a single large file is read by several tasks at once. Each task
reads its range with one call into the compiled module: every CRC is
checked and every record decoded in Rust, on a thread pool, without
TensorFlow and with the GIL released. Compressed files have no index: each
is read, streamed, by one task.

Rows and columns:

- tensor records (``tf.io.serialize_tensor``): one column (``column``,
  default ``"tensor"``) holding each record as an array of its exact dtype
  and shape: a Ray tensor column when every record has the same shape,
  a variable-shaped tensor column otherwise. Scalars make a plain column;
- ``tf.train.Example`` s with ``spec=`` (``FixedLen``/``VarLen``): one column
  per feature. A ``FixedLen`` feature is a plain column (shape ``[]``) or a
  tensor column of its shape; strings are a binary column (shape ``[]``) or
  a list-of-binary column of the flattened values. A ``VarLen`` feature is
  a list column: each row holds that record's values (an array in NumPy
  batches). Without ``spec=`` every feature of the first record is read as
  a ``VarLen`` of its type;
- anything else, or ``kind="raw"``: the payload bytes, as a binary column
  ``"payload"`` (or ``column`` when given another name than ``"tensor"``).

A damaged file fails the read with :class:`tfrec.DataLossError`, whose
message names the file, the record and its frame offset (Ray raises it
from ``materialize()``, ``count()`` or iteration, wrapped or as it is).
With ``on_corrupt="skip"`` damaged stretches are skipped instead, and each
is logged as a warning of the ``tfrec.ray`` logger in the worker (which Ray
forwards to the driver's output).

:func:`write_tfrecords` writes a dataset as shards
``{stem}-NNNNN-of-NNNNN.tfrecord`` (``.tfrecord.gz``/``.tfrecord.deflate``
when compressed), each with an ``.idx`` sidecar, and
``{stem}.manifest.json``: every write task writes its shards with the
package's atomic :class:`tfrec.ShardedWriter` into a hidden staging
directory; when all tasks have succeeded the driver numbers them, moves
them into ``out_dir`` and writes the manifest last. A failed job leaves no
file behind.

How the files are split into read tasks is the library's
(``tfrec::partition``); this module indexes the files, hands the plan
to Ray and turns each block into an Arrow table.
"""

from __future__ import annotations

import glob as _glob
import json
import logging
import os
import shutil
import uuid
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import numpy as np
import pyarrow as pa
import ray
import ray.data
from ray.data.block import BlockAccessor, BlockMetadata
from ray.data.datasource import Datasink, Datasource, ReadTask

from . import _tfrec
from ._errors import DataLossError
from ._io import Compression, Reader, ShardedWriter
from .spec import FixedLen, VarLen, normalize

__all__ = ["read_tfrecords", "write_tfrecords", "TFRecordDatasource", "TFRecordDatasink"]

_log = logging.getLogger("tfrec.ray")

#: Frame bytes a read task turns into one block, at most (a larger range is
#: read as several blocks, one after another).
BLOCK_BYTES = 64 << 20


class _Piece(NamedTuple):
    """Records ``first .. first + rows`` of ``path`` at bytes ``start .. end``;
    ``rows`` is None (and the range unused) for a file read as a stream."""

    path: str
    start: int
    end: int
    first: int
    rows: int | None


def _expand(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if any(c in p for c in "*?["):
            found = sorted(_glob.glob(p))
            if not found:
                raise FileNotFoundError(f"no file matches {p!r}")
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise ValueError("no files to read")
    return out


def _first_payload(path: str, offsets: np.ndarray | None) -> bytes | None:
    """The first record's payload, for telling what the files hold."""
    if offsets is None:
        for payload in Reader(path).records():
            return payload
        return None
    if len(offsets) < 2:
        return None
    return _tfrec._frame_payload(path, int(offsets[0]), int(offsets[1]))


def _infer_spec(path: str, look: int = 100) -> dict[str, VarLen]:
    """Every feature of the first ``look`` Examples as a VarLen of the type
    its first non-empty value list has."""
    found: dict[str, Any] = {}
    for i, example in enumerate(Reader(path, kind="example")):
        if i == look:
            break
        for name, values in example.items():
            if found.get(name) is None:
                found[name] = None if len(values) == 0 else values.dtype
    return {
        name: VarLen("float32" if d is None else "string" if d == object else d)
        for name, d in found.items()
    }


class TFRecordDatasource(Datasource):
    """The ``ray.data.Datasource`` behind :func:`read_tfrecords`.

    Constructed on the driver, where it indexes the files; its read tasks
    each read a range of records with one call into the compiled module.
    """

    def __init__(
        self,
        paths: Any,
        *,
        spec: Mapping[str, FixedLen | VarLen] | None = None,
        column: str = "tensor",
        kind: str | None = None,
        on_corrupt: str = "raise",
    ) -> None:
        if on_corrupt not in ("raise", "skip"):
            raise ValueError(f"on_corrupt must be 'raise' or 'skip', not {on_corrupt!r}")
        if kind not in (None, "tensor", "example", "raw"):
            raise ValueError(f"kind must be None, 'tensor', 'example' or 'raw', not {kind!r}")
        self._skip = on_corrupt == "skip"
        self._column = column
        self._files: list[tuple[str, np.ndarray | None]] = []
        for path in _expand(paths):
            try:
                _, offsets = _tfrec.file_offsets(path)
            except DataLossError:
                if not self._skip:
                    raise
                offsets = None  # damaged headers: the stream reader resyncs past them
            self._files.append((path, offsets))
        if spec is not None:
            kind = "example"
        elif kind is None:
            kind = self._detect()
        if kind == "example" and spec is None:
            spec = next((s for s in (_infer_spec(p) for p, _ in self._files) if s), None)
            if not spec:
                raise ValueError("the files hold no Example to infer a spec from; pass spec=")
        self._kind = kind
        self._entries = normalize(spec) if spec is not None else None
        if kind == "raw" and column == "tensor":
            self._column = "payload"

    def _detect(self) -> str:
        for path, offsets in self._files:
            payload = _first_payload(path, offsets)
            if payload is not None:
                kind = _tfrec.detect_kind(payload)
                return "raw" if kind == "sequence" else kind
        return "raw"

    @property
    def kind(self) -> str:
        """What records are read as: ``"tensor"``, ``"example"`` or ``"raw"``."""
        return self._kind

    def get_name(self) -> str:
        return "TFRecords"

    def _layouts(self) -> list[np.ndarray | int]:
        """Each file's frame offsets, or its size when it is read as a stream."""
        return [
            offsets if offsets is not None else os.path.getsize(path)
            for path, offsets in self._files
        ]

    def estimate_inmemory_data_size(self) -> int | None:
        return _tfrec._read_bytes(self._layouts())

    def default_num_blocks(self) -> int:
        """Read tasks when not told: twice the cluster's CPUs, more for big
        inputs (one per :data:`BLOCK_BYTES`)."""
        cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
        size = self.estimate_inmemory_data_size() or 0
        return _tfrec._default_parts(cpus, size, BLOCK_BYTES)

    def _pieces(self, parallelism: int) -> list[_Piece]:
        """Each file's records split into ranges of about equal bytes, about
        ``parallelism`` in all (at least one per file)."""
        return [
            _Piece(self._files[f][0], start, end, first, rows)
            for f, start, end, first, rows in _tfrec._split_reads(
                self._layouts(), parallelism, BLOCK_BYTES
            )
        ]

    def get_read_tasks(
        self,
        parallelism: int,
        per_task_row_limit: int | None = None,
        data_context: Any = None,
    ) -> list[ReadTask]:
        parallelism = max(1, int(parallelism))
        pieces = self._pieces(parallelism)
        # Many small files: consecutive pieces share a task.
        groups = [pieces[a:b] for a, b in _tfrec._contiguous_groups(len(pieces), parallelism)]
        tasks = []
        for group in groups:
            rows = [p.rows for p in group]
            meta = BlockMetadata(
                num_rows=None if None in rows else sum(r for r in rows if r is not None),
                size_bytes=sum(
                    (p.end - p.start) if p.rows is not None else os.path.getsize(p.path)
                    for p in group
                ),
                input_files=tuple(dict.fromkeys(p.path for p in group)),
                exec_stats=None,
            )
            read = _ReadFn(group, self._kind, self._column, self._entries, self._skip)
            kwargs = {} if per_task_row_limit is None else {"per_task_row_limit": per_task_row_limit}
            tasks.append(ReadTask(read, meta, **kwargs))
        return tasks


class _ReadFn:
    """One read task: its pieces, each read as one block."""

    def __init__(self, pieces: list[_Piece], kind: str, column: str, entries: Any, skip: bool):
        self.pieces = pieces
        self.kind = kind
        self.column = column
        self.entries = entries
        self.skip = skip

    def __call__(self) -> Iterator[pa.Table]:
        for piece in self.pieces:
            rng = None if piece.rows is None else (piece.start, piece.end, piece.first)
            columns, rows, skipped = _tfrec.read_block(
                piece.path, rng, self.kind, self.column, self.entries, self.skip
            )
            for s in skipped:
                _log.warning("skipped damaged record: %s", s["message"])
            if rows:
                yield _to_table(columns, rows, self.entries)


def _tensor_array(values: Any) -> pa.Array:
    from ray.data.extensions import ArrowTensorArray, ArrowVariableShapedTensorArray

    if isinstance(values, np.ndarray):
        if values.dtype == object:
            if values.ndim == 1:
                return pa.array(list(values), type=pa.binary())
            flat = values.reshape(len(values), -1)
            return pa.array([list(r) for r in flat], type=pa.list_(pa.binary()))
        return ArrowTensorArray.from_numpy(values)
    # Records of differing shapes (or strings): one array each.
    if values and all(v.dtype == object for v in values):
        if all(v.ndim == 0 for v in values):
            return pa.array([v.item() for v in values], type=pa.binary())
        return pa.array([list(v.reshape(-1)) for v in values], type=pa.list_(pa.binary()))
    if values and all(v.ndim == 0 for v in values):
        return pa.array(np.stack(values))
    objects = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        objects[i] = v
    return ArrowVariableShapedTensorArray.from_numpy(objects)


def _binary(value: tuple[str, bytes, np.ndarray]) -> pa.Array:
    """``("binary", data, offsets)`` from the compiled module as an Arrow
    binary array over the same bytes."""
    _, data, offsets = value
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _is_binary(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and value[0] == "binary"


def _to_table(columns: dict[str, Any], rows: int, entries: Any) -> pa.Table:
    shapes = {e[0]: e[3] for e in entries or ()}
    arrays = {}
    for name, value in columns.items():
        if _is_binary(value):
            strings = _binary(value)
            per_row = len(strings) // rows if rows else 1
            # A FixedLen string feature of shape [k, ...]: its values, flattened.
            arrays[name] = (
                pa.FixedSizeListArray.from_arrays(strings, per_row)
                if shapes.get(name) and per_row >= 1
                else strings
            )
        elif isinstance(value, tuple):  # VarLen: (values, row_splits)
            values, splits = value
            values = _binary(values) if _is_binary(values) else pa.array(values)
            arrays[name] = pa.LargeListArray.from_arrays(pa.array(splits, type=pa.int64()), values)
        else:
            arrays[name] = _tensor_array(value)
    return pa.Table.from_pydict(arrays)


def read_tfrecords(
    paths: Any,
    *,
    spec: Mapping[str, FixedLen | VarLen] | None = None,
    column: str = "tensor",
    kind: str | None = None,
    on_corrupt: str = "raise",
    override_num_blocks: int | None = None,
    ray_remote_args: dict[str, Any] | None = None,
) -> ray.data.Dataset:
    """A ``ray.data.Dataset`` of the records of TFRecord files.

    ``paths`` is a path, a glob pattern, or a list of them. Tensor records
    are rows ``{column: array}``; with ``spec=`` (a dict of
    :class:`tfrec.FixedLen`/:class:`tfrec.VarLen`) each ``tf.train.Example``
    is a row with one column per feature; raw records are rows
    ``{"payload": bytes}``. ``kind`` (``"tensor"``, ``"example"``, ``"raw"``)
    overrides what the first record suggests. Every CRC is checked: damage
    raises :class:`tfrec.DataLossError` naming the file and frame offset,
    or with ``on_corrupt="skip"`` is skipped and logged.

    ``override_num_blocks`` sets the number of read tasks (default: twice the
    cluster's CPUs, or more for inputs over 64 MiB per task); files are split
    into ranges of records, so one file can be read by several tasks.
    """
    source = TFRecordDatasource(paths, spec=spec, column=column, kind=kind, on_corrupt=on_corrupt)
    if override_num_blocks is None:
        override_num_blocks = source.default_num_blocks()
    kwargs: dict[str, Any] = {"override_num_blocks": override_num_blocks}
    if ray_remote_args:
        kwargs["ray_remote_args"] = ray_remote_args
    return ray.data.read_datasource(source, **kwargs)


class TFRecordDatasink(Datasink):
    """The ``ray.data.Datasink`` behind :func:`write_tfrecords`.

    After a successful write, `manifest` holds the manifest written.
    """

    def __init__(
        self,
        out_dir: Any,
        *,
        column: str | None = "tensor",
        stem: str = "part",
        compression: Compression = None,
        records_per_shard: int | None = None,
        sync: bool = True,
        index: bool = True,
    ) -> None:
        # Checked before the staging directory named after it is made.
        _tfrec._check_stem(stem)
        self.out_dir = os.path.abspath(os.fspath(out_dir))
        self.column = column
        self.stem = stem
        self.compression = compression
        self.records_per_shard = records_per_shard
        self.sync = sync
        self.index = index
        # Hidden, so no glob for the shards sees what tasks are writing.
        self.staging = os.path.join(self.out_dir, f".{stem}.staging-{uuid.uuid4().hex}")
        self.manifest: dict[str, Any] | None = None

    def get_name(self) -> str:
        return "TFRecords"

    def on_write_start(self, *args: Any, **kwargs: Any) -> None:
        os.makedirs(self.staging, exist_ok=True)

    def write(self, blocks: Iterable[Any], ctx: Any) -> tuple[int, str] | None:
        os.makedirs(self.staging, exist_ok=True)
        task = int(getattr(ctx, "task_idx", 0))
        stem = f"t{task:05}-{uuid.uuid4().hex[:12]}"
        writer = ShardedWriter(
            self.staging,
            stem,
            records_per_shard=self.records_per_shard,
            compression=self.compression,
            sync=self.sync,
            index=self.index,
        )
        try:
            for block in blocks:
                _write_block(writer, BlockAccessor.for_block(block), self.column)
        except BaseException:
            writer.abort()  # its temporary files go with it
            raise
        if writer.records_written == 0:
            writer.abort()
            return None
        writer.close()
        return task, os.path.join(self.staging, f"{stem}.manifest.json")

    def on_write_complete(self, write_result: Any) -> None:
        returns = getattr(write_result, "write_returns", write_result)
        parts = sorted(r for r in returns if r is not None)
        try:
            text = _tfrec._finalize_shards(
                self.out_dir, self.stem, [p for _, p in parts], self.compression, self.sync
            )
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.manifest = json.loads(text)

    def on_write_failed(self, error: Exception) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _write_block(writer: ShardedWriter, block: Any, column: str | None) -> None:
    if block.num_rows() == 0:
        return
    if column is None:
        for row in block.iter_rows(public_row_format=True):
            writer.write_example(_plain(row))
        return
    if column not in block.column_names():
        raise KeyError(f"the dataset has no column {column!r} (columns: {block.column_names()})")
    batch = block.to_numpy([column])
    values = batch[column] if isinstance(batch, dict) else batch
    for value in values:
        if isinstance(value, Mapping):
            writer.write_example(_plain(value))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            writer.write_raw(bytes(value))
        else:
            writer.write(value)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a feature dict (Arrow scalars and lists as plain values)."""
    return {str(k): (v.as_py() if hasattr(v, "as_py") else v) for k, v in dict(row).items()}


def write_tfrecords(
    ds: ray.data.Dataset,
    out_dir: Any,
    *,
    column: str | None = "tensor",
    stem: str = "part",
    compression: Compression = None,
    records_per_shard: int | None = None,
    sync: bool = True,
    index: bool = True,
    ray_remote_args: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Writes ``ds`` as TFRecord shards ``{stem}-NNNNN-of-NNNNN.tfrecord`` in
    ``out_dir`` and returns the manifest (as :class:`tfrec.ShardedWriter`'s).

    Each row's ``column`` is one record: an array becomes a tensor
    (``tf.io.serialize_tensor``'s bytes), a dict of features a
    ``tf.train.Example``, ``bytes`` a raw record. With ``column=None`` each
    row's columns are the features of one ``tf.train.Example``. Each write
    task writes one shard (or one per ``records_per_shard`` records), with
    an ``.idx`` sidecar unless ``index=False``; ``compression`` is None,
    ``"gzip"`` or ``"zlib"``. Shards appear, under their final names, only
    once every task has succeeded; a failed job leaves no file.
    """
    sink = TFRecordDatasink(
        out_dir,
        column=column,
        stem=stem,
        compression=compression,
        records_per_shard=records_per_shard,
        sync=sync,
        index=index,
    )
    kwargs: dict[str, Any] = {}
    if ray_remote_args:
        kwargs["ray_remote_args"] = ray_remote_args
    ds.write_datasink(sink, **kwargs)
    if sink.manifest is None:
        raise RuntimeError("the write finished without its manifest")
    return sink.manifest
