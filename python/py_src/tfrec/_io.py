"""Reading and writing TFRecord files: `Reader`, `Writer`, `ShardedWriter`.

Python here turns arguments and values into what the compiled module
takes; framing, CRCs, indexing and parsing are all the library's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

from . import _tfrec
from ._example import prepare_features
from ._tensor import _STRING, prepare

__all__ = ["Reader", "Writer", "ShardedWriter", "serialize_example", "parse_example"]

Kind = Literal["tensor", "example", "sequence", "raw"]
Compression = Literal["gzip", "zlib"] | None


def serialize_example(features: Mapping[str, Any]) -> bytes:
    r"""A ``tf.train.Example`` serialized exactly as TensorFlow's
    ``SerializeToString(deterministic=True)`` does; values as in `Writer.write_example`.

    >>> import tfrec
    >>> tfrec.serialize_example({"label": 1})
    b'\n\x10\n\x0e\n\x05label\x12\x05\x1a\x03\n\x01\x01'
    """
    return _tfrec._serialize_example(prepare_features(features))


def parse_example(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """A serialized ``tf.train.Example`` as ``{name: array}``, as `Reader` gives
    Examples: int64_list as int64, float_list as float32, bytes_list as an
    object array of ``bytes``, a feature with no list set as an empty float32
    array. A payload that is not an Example raises `tfrec.InvalidExampleError`.

    >>> import tfrec
    >>> tfrec.parse_example(tfrec.serialize_example({"label": 1, "id": "a"}))
    {'id': array([b'a'], dtype=object), 'label': array([1])}
    """
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise TypeError(f"parse_example takes bytes, not {type(data).__name__!r}")
        data = bytes(data)
    return _tfrec._parse_example(data)


class Reader:
    """A TFRecord file, read with every CRC checked.

    Iterating yields each record as what it holds: a NumPy array for a
    serialized tensor, a ``dict`` of feature name to array for a
    ``tf.train.Example`` (int64_list as int64, float_list as float32,
    bytes_list as an object array of ``bytes``; a feature with no list set as
    an empty float32 array), ``{"context": {...}, "feature_lists": {name:
    [array, ...]}}`` for a ``tf.train.SequenceExample``, and ``bytes`` for
    anything else. ``kind`` ("tensor", "example", "sequence" or "raw") reads
    every record as that kind instead of detecting it; a record that is not
    of that kind raises the matching `tfrec.Error`.

    Records are read and decoded in chunks, in parallel, with the GIL
    released. ``len(r)``, ``r[i]`` (negative ``i`` counts from the end) and
    ``r.raw(i)`` use the record index: a consistent ``.idx`` sidecar, or one
    scan of the frame headers, made on first use. GZIP and ZLIB files
    (detected from their content) can be iterated and counted (``len``
    decompresses the file once), but have no random access: ``r[i]`` raises
    `tfrec.InvalidInputError`.

    Damaged framing, CRC mismatches and truncation raise
    `tfrec.DataLossError` carrying ``path``, ``offset`` (the record's frame
    offset; in the decompressed stream for compressed files) and ``index``.

    >>> import os, tempfile, numpy as np, tfrec
    >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
    >>> with tfrec.Writer(path) as w:
    ...     w.write(np.arange(3, dtype=np.int64))
    ...     w.write_example({"label": 1})
    >>> r = tfrec.Reader(path)
    >>> len(r), r[0], r[-1]
    (2, array([0, 1, 2]), {'label': array([1])})
    """

    def __init__(self, path: str | os.PathLike[str], kind: Kind | None = None) -> None:
        self._file = _tfrec.RecordFile(os.fspath(path), kind)

    @property
    def path(self) -> str:
        """The file's path."""
        return os.fspath(self._file.path)

    @property
    def compression(self) -> str:
        """``"none"``, ``"gzip"`` or ``"zlib"``, detected from the content."""
        return self._file.compression

    def __len__(self) -> int:
        return len(self._file)

    def __iter__(self) -> Iterator[Any]:
        return self._file.iter()

    def records(self) -> Iterator[bytes]:
        """Iterates over the records' payload bytes (CRCs checked)."""
        return self._file.iter(raw=True)

    def __getitem__(self, i: int) -> Any:
        if isinstance(i, slice):
            return [self._file.get(j) for j in range(*i.indices(len(self)))]
        return self._file.get(_index(i))

    def get_many(self, indices: Iterable[int]) -> list[Any]:
        """Records ``indices`` (in that order, repeats allowed, negative
        counting from the end), read and decoded in parallel in one call with
        the GIL released: faster than ``[r[i] for i in indices]`` for a
        batch picked at random. Uncompressed files only, like ``r[i]``.

        >>> import os, tempfile, tfrec
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with tfrec.Writer(path, sync=False) as w:
        ...     for i in range(5):
        ...         w.write_example({"i": i})
        >>> [int(x["i"][0]) for x in tfrec.Reader(path).get_many([3, 0, -1])]
        [3, 0, 4]
        """
        return _tfrec._get_many([self._file], [(0, _index(i)) for i in indices])

    def raw(self, i: int) -> bytes:
        """Record ``i``'s payload bytes (CRCs checked)."""
        return self._file.raw(_index(i))

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"tfrec.Reader({self.path!r})"


def _index(i: Any) -> int:
    if isinstance(i, bool) or not hasattr(i, "__index__"):
        raise TypeError(f"record indices are integers, not {type(i).__name__!r}")
    i = i.__index__()
    if not -(2**63) <= i < 2**63:
        raise IndexError(f"record index {i} out of range")
    return i


_W = TypeVar("_W", bound="_WriterBase")


class _WriterBase:
    _inner: Any

    def write(self, x: Any) -> None:
        """Writes a tensor, serialized as `tfrec.serialize_tensor` serializes it."""
        code, shape, data = prepare(x)
        if code == _STRING:
            self._inner.write_strings(shape, data)
        else:
            self._inner.write_array(code, shape, data)

    def write_example(self, features: Mapping[str, Any]) -> None:
        """Writes a ``tf.train.Example`` from ``{name: value}``.

        ints (and bools) become an int64_list, floats a float_list, bytes and
        str a bytes_list (str as UTF-8); lists and tuples by their elements,
        arrays and tensors by their dtype kind (floats stored as float32).
        An empty list becomes a feature with no list set, which TensorFlow
        parses as an empty list of any dtype. Serialized as TensorFlow's
        ``SerializeToString(deterministic=True)``.
        """
        self._inner.write_example(prepare_features(features))

    def write_raw(self, payload: bytes | bytearray | memoryview) -> None:
        """Writes one opaque record."""
        if not isinstance(payload, bytes):
            if not isinstance(payload, (bytearray, memoryview)):
                raise TypeError(f"write_raw takes bytes, not {type(payload).__name__!r}")
            payload = bytes(payload)
        self._inner.write_raw(payload)

    @property
    def closed(self) -> bool:
        """Whether the writer was closed (or aborted)."""
        return bool(self._inner.closed)

    @property
    def records_written(self) -> int:
        """Records written so far."""
        return int(self._inner.records_written)

    def abort(self) -> None:
        """Discards everything written: no file appears."""
        self._inner.abort()

    def close(self) -> Any:
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """A clean exit closes (the output appears); an exception aborts (nothing does)."""
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Writer(_WriterBase):
    """Writes one TFRecord file atomically.

    Records go to a hidden temporary file next to ``path``; `close` (or
    leaving a ``with`` block normally) flushes it, fsyncs it (unless
    ``sync=False``) and renames it into place. An exception inside the
    ``with`` block, `abort`, or a writer that is garbage collected unclosed
    leaves no file. ``compression`` is None, ``"gzip"`` or ``"zlib"``.

    >>> import os, tempfile, tfrec
    >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
    >>> with tfrec.Writer(path, sync=False) as w:
    ...     w.write([1.5, 2.5])
    ...     w.write_raw(b"opaque")
    >>> list(tfrec.Reader(path))
    [array([1.5, 2.5], dtype=float32), b'opaque']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        compression: Compression = None,
        sync: bool = True,
    ) -> None:
        self._inner = _tfrec.RecordWriter.file(os.fspath(path), compression, bool(sync))

    @property
    def path(self) -> str:
        """The path the file appears at on close."""
        return os.fspath(self._inner.path)

    @property
    def bytes_written(self) -> int:
        """Bytes of records written so far (framing included, before compression)."""
        return int(self._inner.bytes_written)

    def close(self) -> None:
        """Finishes the file and renames it into place. Closing twice does nothing."""
        self._inner.close()


    def __repr__(self) -> str:
        return f"tfrec.Writer({self.path!r})"


class ShardedWriter(_WriterBase):
    """Writes records over shards ``{stem}-{i:05}-of-{n:05}.tfrecord`` in ``out_dir``.

    Give at most one of ``shards`` (record ``i`` goes to shard ``i % shards``),
    ``records_per_shard`` or ``bytes_per_shard`` (default: one shard). Every
    shard is written atomically with an ``.idx`` sidecar (unless
    ``index=False``); `close` renames them into place and writes
    ``{stem}.manifest.json``, and returns the manifest (also kept as
    `manifest`): ``{"stem", "compression", "shards": [{"name", "index",
    "records", "bytes", ...}]}``. An exception inside the ``with`` block
    leaves no file.

    >>> import os, tempfile, tfrec
    >>> out = tempfile.mkdtemp()
    >>> with tfrec.ShardedWriter(out, "train", records_per_shard=2, sync=False) as w:
    ...     for i in range(5):
    ...         w.write_example({"i": i})
    >>> [s["records"] for s in w.manifest["shards"]]
    [2, 2, 1]
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        stem: str,
        *,
        shards: int | None = None,
        records_per_shard: int | None = None,
        bytes_per_shard: int | None = None,
        compression: Compression = None,
        sync: bool = True,
        index: bool = True,
    ) -> None:
        self.manifest: dict[str, Any] | None = None
        self._inner = _tfrec.RecordWriter.shards(
            os.fspath(out_dir),
            stem,
            shards,
            records_per_shard,
            bytes_per_shard,
            compression,
            bool(sync),
            bool(index),
        )

    def close(self) -> dict[str, Any]:
        """Finishes every shard, writes the manifest and returns it."""
        if self.manifest is None:
            self.manifest = json.loads(self._inner.close())
        return self.manifest

