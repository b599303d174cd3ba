"""The compiled half of the `tfrec` package. Use the wrappers in `tfrec`."""

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "num_threads",
    "_serialize_array",
    "_serialize_strings",
    "_parse_tensor",
    "_serialize_example",
    "_parse_example",
    "_get_many",
    "read_block",
    "detect_kind",
    "file_offsets",
    "RecordFile",
    "RecordIter",
    "RecordWriter",
    "_Dataset",
    "_Batches",
    "_BatchBuffer",
    "_RecordIndex",
    "ExampleColumns",
    "_finalize_shards",
]

__version__: str

def num_threads() -> int: ...
def _serialize_array(dtype: int, shape: Sequence[int], data: npt.NDArray[np.uint8]) -> bytes: ...
def _serialize_strings(shape: Sequence[int], values: Sequence[bytes]) -> bytes: ...
def _parse_tensor(data: bytes) -> np.ndarray: ...
def _serialize_example(features: Sequence[tuple[str, int, Any]]) -> bytes: ...
def _parse_example(data: bytes) -> dict[str, np.ndarray]: ...
def _get_many(files: Sequence[RecordFile], picks: Sequence[tuple[int, int]]) -> list[Any]: ...
def read_block(
    path: str | PathLike[str],
    range: tuple[int, int, int] | None,
    kind: str,
    column: str,
    spec: Sequence[tuple[str, str, str, Sequence[int], Sequence[Any] | None]] | None,
    skip: bool,
) -> tuple[dict[str, Any], int, list[dict[str, Any]]]: ...
def detect_kind(payload: bytes) -> str: ...
def file_offsets(path: str | PathLike[str]) -> tuple[str, npt.NDArray[np.uint64] | None]: ...
@final
class RecordFile:
    def __new__(cls, path: str | PathLike[str], kind: str | None = None) -> RecordFile: ...
    @property
    def path(self) -> Path: ...
    @property
    def compression(self) -> str: ...
    def __len__(self) -> int: ...
    def get(self, i: int) -> Any: ...
    def raw(self, i: int) -> bytes: ...
    def iter(self, raw: bool = False) -> RecordIter: ...

@final
class RecordIter:
    def __iter__(self) -> RecordIter: ...
    def __next__(self) -> Any: ...

@final
class RecordWriter:
    @staticmethod
    def file(
        path: str | PathLike[str], compression: str | None = None, sync: bool = True
    ) -> RecordWriter: ...
    @staticmethod
    def shards(
        out_dir: str | PathLike[str],
        stem: str,
        shards: int | None = None,
        records_per_shard: int | None = None,
        bytes_per_shard: int | None = None,
        compression: str | None = None,
        sync: bool = True,
        index: bool = True,
    ) -> RecordWriter: ...
    def write_array(self, dtype: int, shape: Sequence[int], data: npt.NDArray[np.uint8]) -> None: ...
    def write_strings(self, shape: Sequence[int], values: Sequence[bytes]) -> None: ...
    def write_example(self, features: Sequence[tuple[str, int, Any]]) -> None: ...
    def write_raw(self, payload: bytes) -> None: ...
    def close(self) -> str | None: ...
    def abort(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> Path | None: ...
    @property
    def records_written(self) -> int: ...
    @property
    def bytes_written(self) -> int: ...

# The dataset half: tfrec.Dataset (dataset.py), tfrec.FixedLen/VarLen
# (spec.py) and tfrec.torch wrap these.

@final
class _Dataset:
    def __new__(
        cls,
        files: Sequence[str | PathLike[str]],
        patterns: Sequence[str],
        batch_size: int,
        seed: int | None,
        rank: int,
        world: int,
        drop_last: bool,
        prefetch: int,
        threads: int | None,
        spec: Sequence[tuple[str, str, str, Sequence[int], Sequence[Any] | None]] | None,
        skip: bool,
        max_skipped: int | None,
    ) -> _Dataset: ...
    def __len__(self) -> int: ...
    @property
    def num_records(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def total_records(self) -> int: ...
    @property
    def paths(self) -> list[str]: ...
    def order(self, epoch: int) -> list[tuple[int, int]]: ...
    def resume_state(self, state: str) -> tuple[str, int]: ...
    def iterate(
        self,
        state: str,
        ragged: Any,
        part: int = 0,
        parts: int = 1,
        report: Any | None = None,
    ) -> _Batches: ...
    def take_skips(self) -> list[dict[str, Any]]: ...

@final
class _Batches:
    def __iter__(self) -> _Batches: ...
    def __next__(self) -> np.ndarray | dict[str, Any]: ...
    def state(self) -> str: ...
    def close(self) -> None: ...

@final
class _BatchBuffer:
    def __len__(self) -> int: ...

@final
class _RecordIndex:
    def __new__(cls, paths: Sequence[str | PathLike[str]]) -> _RecordIndex: ...
    def __len__(self) -> int: ...
    def get_many(self, positions: Sequence[int]) -> list[np.ndarray]: ...

# The Spark half: tfrec.spark wraps these.

@final
class ExampleColumns:
    def __new__(cls, path: str | PathLike[str], columns: Sequence[tuple[str, int]]) -> ExampleColumns: ...
    @property
    def num_records(self) -> int | None: ...
    def read(
        self, start: int, end: int | None = None
    ) -> tuple[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]]: ...

def _finalize_shards(
    out_dir: str | PathLike[str],
    stem: str,
    parts: Sequence[str | PathLike[str]],
    compression: str | None = None,
    sync: bool = True,
) -> str: ...
