"""PyTorch datasets over TFRecord files. Importing this module imports torch;
``import tfrec`` alone never does.

:class:`TFRecordDataset` is an ``IterableDataset`` that yields whole batches
(use it with ``DataLoader(ds, batch_size=None)``)::

    ds = tfrec.torch.TFRecordDataset("train-*.tfrecord", batch_size=256, shuffle=0)
    loader = DataLoader(ds, batch_size=None, num_workers=4,
                        multiprocessing_context="spawn")
    for epoch in range(10):
        ds.set_epoch(epoch)
        for images in loader:      # torch.Tensor [256, ...]
            ...

Batches are ``torch.Tensor`` s over the batch buffers, without a copy
(``torch.from_numpy``); string features stay NumPy object arrays, and
:class:`~tfrec.Ragged` columns hold a tensor of values and one of row splits.

:class:`MapDataset` is map-style, for users who bring their own sampler.

Splitting batches between DataLoader workers is the library's (see
:class:`tfrec.Dataset`); this module only wraps datasets and converts
arrays to tensors.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset as _MapStyle
from torch.utils.data import IterableDataset, get_worker_info

from . import _tfrec
from .dataset import Dataset, PathLike, _split_paths
from .spec import FixedLen, Ragged, VarLen

__all__ = ["TFRecordDataset", "MapDataset", "to_torch"]


def to_torch(value: Any) -> Any:
    """Arrays (and dicts and :class:`~tfrec.Ragged` of them) as ``torch.Tensor``
    s sharing their memory; object arrays (strings) stay as they are."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return value
        if value.dtype.name == "bfloat16":  # ml_dtypes: torch has no NumPy type for it
            return torch.from_numpy(value.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(value)
    if isinstance(value, Ragged):
        return Ragged(to_torch(value.values), to_torch(value.row_splits))
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    return value


class TFRecordDataset(IterableDataset):
    """A :class:`tfrec.Dataset` as a ``torch.utils.data.IterableDataset`` of
    ``torch.Tensor`` batches. Takes the same arguments as :class:`tfrec.Dataset`.

    In a ``DataLoader`` with ``num_workers=W``, worker ``w`` makes batches
    ``w``, ``w + W``, ``w + 2W``, ... of this rank's epoch, and nothing else;
    the DataLoader takes one batch from each worker in turn, so the batches
    come out in the same order as with ``num_workers=0``, and every record is
    seen exactly once per epoch across ranks and workers. It pickles (paths,
    options, position), so ``multiprocessing_context="spawn"`` works.

    Each iteration runs the current epoch: call :meth:`set_epoch` before each
    one for a new shuffle, as with ``DistributedSampler`` (workers get the
    dataset, epoch included, when the DataLoader starts them: with
    ``persistent_workers=True`` they keep the epoch they started with). ``len()`` is this
    rank's number of batches. ``state_dict()`` / ``load_state_dict()`` pass
    through to the dataset: in-process (``num_workers=0``) the state follows
    the batches yielded; with workers, the main process does not see them
    go by, so use :meth:`state_after` with the number of batches consumed.
    """

    def __init__(
        self,
        paths: PathLike | Sequence[PathLike],
        batch_size: int | None = None,
        shuffle: int | None = None,
        rank: int | None = None,
        world: int | None = None,
        drop_last: bool = False,
        prefetch: int = 2,
        threads: int | None = None,
        spec: Mapping[str, FixedLen | VarLen] | None = None,
        on_corrupt: str = "raise",
        max_skipped: int | None = None,
        on_skip: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self.dataset = Dataset(
            paths,
            batch_size=batch_size,
            shuffle=shuffle,
            rank=rank,
            world=world,
            drop_last=drop_last,
            prefetch=prefetch,
            threads=threads,
            spec=spec,
            on_corrupt=on_corrupt,
            max_skipped=max_skipped,
            on_skip=on_skip,
        )

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[Any]:
        ds = self.dataset
        info = get_worker_info()
        if info is None or info.num_workers <= 1:
            epoch = ds.epoch
            for batch in ds._unbatched(ds._batches()):
                yield to_torch(batch)
            # A finished pass leaves the epoch as it was until set_epoch, as
            # in worker processes (which work on copies).
            ds.set_epoch(epoch)
            return
        for batch in ds._unbatched(ds._batches(info.id, info.num_workers)):
            yield to_torch(batch)

    def set_epoch(self, epoch: int) -> None:
        """Starts epoch ``epoch`` (its own shuffle) at its beginning."""
        self.dataset.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resumes from a state, also one saved with a different number of
        ranks (see :meth:`tfrec.Dataset.load_state_dict`)."""
        self.dataset.load_state_dict(state)

    def state_after(self, batches: int) -> dict[str, Any]:
        """The state after ``batches`` more batches of the current epoch
        (for example counted in the training loop over a DataLoader with
        workers, which yields the rank's batches in order). Like
        :meth:`state_dict`, it loads on any number of ranks."""
        state, length = self.dataset._resume(self.dataset.state_dict())
        size = self.dataset.batch_size or 1
        state["position"] = min(state["position"] + int(batches) * size, length)
        return state


class MapDataset(_MapStyle):
    """Records of uncompressed TFRecord files of tensors by position: record
    ``i`` is the ``i``-th of all files in the order given (globs sorted).
    ``__getitem__`` gives one ``torch.Tensor``; ``__getitems__`` (which
    ``DataLoader`` calls with a batch of indices) decodes a batch in parallel
    with the GIL released. Pickles as its paths."""

    def __init__(self, paths: PathLike | Sequence[PathLike]) -> None:
        files, patterns = _split_paths(paths)
        if patterns:
            raise FileNotFoundError(f"no file matches {patterns[0]!r}")
        self.paths = files
        self._index = _tfrec._RecordIndex(files)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_torch(self._index.get_many([int(index)])[0])

    def __getitems__(self, indices: Sequence[int]) -> list[torch.Tensor]:
        return [to_torch(a) for a in self._index.get_many([int(i) for i in indices])]

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.paths = state["paths"]
        self._index = _tfrec._RecordIndex(self.paths)
