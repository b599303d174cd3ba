"""Grain data sources: TFRecord files read by record number, every CRC checked.

`TFRecordDataSource` implements Grain's random-access data source protocol
(``__len__``, ``__getitem__``, the batched ``__getitems__``/``_getitems``)
over one or more uncompressed TFRecord files, so that
``grain.MapDataset.source(...)`` can shuffle and batch them and a
``grain.DataLoader`` can spread them over worker processes. This module does
not import Grain: the protocol is structural.

>>> import os, tempfile, tfrec
>>> from tfrec.grain import TFRecordDataSource
>>> out = tempfile.mkdtemp()
>>> with tfrec.ShardedWriter(out, "train", records_per_shard=2, sync=False) as w:
...     for i in range(5):
...         w.write_example({"i": i})
>>> source = TFRecordDataSource(os.path.join(out, "train-*.tfrecord"))
>>> len(source), source[4]
(5, {'i': array([4])})
>>> [int(x["i"][0]) for x in source.__getitems__([3, 0])]
[3, 0]

Record numbers across files (which file and record a number names) and
the reads are the library's; this module expands paths, reopens the files
in each process and checks their record counts.
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Sequence
from typing import Any

from . import _tfrec
from ._errors import InvalidInputError, TFRecordNotFoundError
from ._io import Kind, _index

__all__ = ["TFRecordDataSource"]

PathArg = str | os.PathLike[str]


class TFRecordDataSource:
    """Records of uncompressed TFRecord files, by global record number.

    ``paths`` is a path, a glob pattern (``*``, ``?``, ``[``; matches are
    sorted), or a sequence of them; the files' records are numbered one after
    the other in that order. Records are decoded as `tfrec.Reader` gives them
    (``kind`` as there), each frame's CRCs checked; `__getitems__` reads a
    batch of records, spread over any of the files, in parallel with the GIL
    released.

    The source pickles as its paths, ``kind`` and record counts, never its
    open files: each process (a ``grain.DataLoader`` worker) reopens the
    files on first use, and a file whose record count changed since the
    source was made raises `tfrec.InvalidInputError`. ``repr`` names the
    class, paths and ``kind``, so it is stable for Grain checkpoints.

    Random access needs uncompressed files (GZIP and ZLIB files raise
    `tfrec.InvalidInputError`); record numbers come from each file's
    ``.idx`` sidecar, or one scan of its frame headers.
    """

    def __init__(self, paths: PathArg | Sequence[PathArg], kind: Kind | None = None) -> None:
        self._paths = _expand(paths)
        self._kind = kind
        self._files: tuple[_tfrec.RecordFile, ...] | None = None
        self._pid: int | None = None
        files = self._open()
        self._lengths = tuple(len(f) for f in files)
        self._numbering = _tfrec._RecordNumbering(self._lengths)

    @property
    def paths(self) -> tuple[str, ...]:
        """The files, in record-number order."""
        return self._paths

    def __len__(self) -> int:
        return len(self._numbering)

    def __getitem__(self, i: int) -> Any:
        f, local = self._numbering.locate(_index(i))
        return self._open()[f].get(local)

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """Records ``indices``, in that order, read and decoded in one call."""
        picks = self._numbering.locate_many([_index(i) for i in indices])
        return _tfrec._get_many(self._open(), picks)

    # Grain's name for the batched read (SupportsBatchedReadRandomAccessDataSource).
    _getitems = __getitems__

    def __repr__(self) -> str:
        kind = "" if self._kind is None else f", kind={self._kind!r}"
        return f"tfrec.grain.TFRecordDataSource(paths={list(self._paths)!r}{kind})"

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self._paths, "kind": self._kind, "lengths": self._lengths}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._paths = tuple(state["paths"])
        self._kind = state["kind"]
        self._lengths = tuple(state["lengths"])
        self._numbering = _tfrec._RecordNumbering(self._lengths)
        self._files = None
        self._pid = None

    def _open(self) -> tuple[_tfrec.RecordFile, ...]:
        """This process's open files: opened again after a fork or unpickling."""
        pid = os.getpid()
        files = self._files
        if files is not None and self._pid == pid:
            return files
        files = tuple(_tfrec.RecordFile(p, self._kind) for p in self._paths)
        for f in files:
            if f.compression != "none":
                raise InvalidInputError(
                    f"{f.compression} file: random access needs uncompressed files",
                    path=os.fspath(f.path),
                    kind="invalid_input",
                )
        lengths = getattr(self, "_lengths", None)
        if lengths is not None:
            for f, n in zip(files, lengths):
                if len(f) != n:
                    raise InvalidInputError(
                        f"the file had {n} records when the source was made, now {len(f)}",
                        path=os.fspath(f.path),
                        kind="invalid_input",
                    )
        self._files, self._pid = files, pid
        return files


def _expand(paths: PathArg | Sequence[PathArg]) -> tuple[str, ...]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif not isinstance(paths, Sequence):
        raise TypeError(
            f"paths is a path, a glob or a sequence of them, not {type(paths).__name__!r}"
        )
    out: list[str] = []
    for p in paths:
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"paths are str or os.PathLike, not {type(p).__name__!r}")
        p = os.fspath(p)
        if any(c in p for c in "*?[") and not os.path.exists(p):
            matches = sorted(glob.glob(p))
            if not matches:
                raise TFRecordNotFoundError(
                    f"no file matches {p!r}", path=p, kind="io", errno=errno.ENOENT
                )
            out.extend(matches)
        else:
            out.append(p)
    if not out:
        raise ValueError("TFRecordDataSource needs at least one file")
    return tuple(out)

