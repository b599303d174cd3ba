# Stubs for the dataset half of tfrec._tfrec (merged into _tfrec.pyi).
# The public API is tfrec.Dataset (dataset.py), tfrec.FixedLen/VarLen
# (spec.py) and tfrec.torch; these classes are its compiled half.

from __future__ import annotations

from os import PathLike
from typing import Any, Sequence, final

import numpy as np

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
    def iterate(
        self, epoch: int, position: int, ragged: Any, part: int = 0, parts: int = 1
    ) -> _Batches: ...
    def take_skips(self) -> list[dict[str, Any]]: ...

@final
class _Batches:
    def __iter__(self) -> _Batches: ...
    def __next__(self) -> np.ndarray | dict[str, Any]: ...
    def state(self) -> tuple[int, int]: ...
    def last_ids(self) -> list[tuple[int, int]]: ...
    def close(self) -> None: ...

@final
class _BatchBuffer:
    def __len__(self) -> int: ...

@final
class _RecordIndex:
    def __new__(cls, paths: Sequence[str | PathLike[str]]) -> _RecordIndex: ...
    def __len__(self) -> int: ...
    def get_many(self, positions: Sequence[int]) -> list[np.ndarray]: ...
