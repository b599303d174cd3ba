"""``tfrec.Dataset``: the training input pipeline over TFRecord files.

Reading, checking, shuffling, sharding, batching and prefetching all run in
Rust with the GIL released; this module normalizes arguments, resolves the
rank, keeps the iteration state, pickles, and reports skipped records.

It holds no ordering or splitting: the split of an epoch between
ranks and DataLoader workers is the library's.
"""

from __future__ import annotations

import glob as _glob
import json
import logging
import os
import sys
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

from . import _tfrec
from .spec import FixedLen, Ragged, VarLen, normalize

__all__ = ["Dataset"]

PathLike = Union[str, "os.PathLike[str]"]

_log = logging.getLogger("tfrec")

# Datasets built before a fork: their thread pools have no threads in the
# child, so they are kept (never dropped there) and rebuilt.
_stale: list[Any] = []

_SPLIT_KEYS = ("world", "shard_mode", "start")


def _state_json(state: Mapping[str, Any]) -> str:
    """A state dict as the JSON the core reads; ``ValueError`` when it is not one."""
    try:
        out: dict[str, Any] = {"epoch": int(state["epoch"]), "position": int(state["position"])}
        if any(k in state for k in _SPLIT_KEYS):
            out["world"] = int(state["world"])
            out["shard_mode"] = str(state["shard_mode"])
            out["start"] = int(state["start"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a tfrec.Dataset state: {state!r}") from e
    if any(v < 0 for v in out.values() if isinstance(v, int)):
        raise ValueError(f"not a tfrec.Dataset state: {state!r}")
    return json.dumps(out)


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def _split_paths(paths: PathLike | Sequence[PathLike]) -> tuple[list[str], list[str]]:
    """Files and glob patterns, in the order given."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[str] = []
    patterns: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if not isinstance(p, str):
            raise TypeError(f"paths are str or os.PathLike, not {type(p).__name__}")
        if _is_glob(p) and not os.path.exists(p):
            # Globs are expanded here, in order, so that a list mixing files
            # and patterns keeps its order.
            matches = sorted(m for m in _glob.glob(p, recursive=True) if os.path.isfile(m))
            if not matches:
                patterns.append(p)  # the library's error names the pattern
            files.extend(matches)
        else:
            files.append(p)
    if not files and not patterns:
        raise ValueError("a dataset needs at least one file")
    return files, patterns


def _resolve_rank_world(rank: int | None, world: int | None) -> tuple[int, int]:
    """``rank``/``world`` as given; else ``torch.distributed`` when it is
    initialized (torch is never imported here); else ``RANK``/``WORLD_SIZE``;
    else a single process."""
    if rank is not None and world is not None:
        return int(rank), int(world)
    r: int | None = None
    w: int | None = None
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch is not None else None
    if dist is not None and dist.is_available() and dist.is_initialized():
        r, w = dist.get_rank(), dist.get_world_size()
    elif "WORLD_SIZE" in os.environ or "RANK" in os.environ:
        r = int(os.environ.get("RANK", "0"))
        w = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(rank) if rank is not None else (r if r is not None else 0)
    world = int(world) if world is not None else (w if w is not None else 1)
    return rank, world


def _seed(shuffle: Any) -> int | None:
    if shuffle is None or shuffle is False:
        return None
    if shuffle is True:
        return 0
    seed = int(shuffle)
    if seed < 0:
        raise ValueError(f"shuffle seed must be non-negative, not {seed}")
    return seed


class Dataset:
    """Batches of the records of TFRecord files, for training.

    ``paths`` is a file, a glob pattern (``"data/train-*.tfrecord"``, sorted
    by path) or a list of them. Records of tensors (``tf.io.serialize_tensor``)
    are stacked into arrays ``[batch_size, ...]``; with ``spec`` (a dict of
    :class:`~tfrec.FixedLen` / :class:`~tfrec.VarLen`), records are
    ``tf.train.Example`` s and each batch is a dict of feature arrays, as
    ``tf.io.parse_example`` gives them (see :mod:`tfrec.spec`). Without
    ``batch_size`` single records are yielded (no batch dimension).

    - ``shuffle``: a seed; every epoch visits all records in a new
      permutation determined by (seed, epoch) alone.
    - ``rank``/``world``: this process's part of each epoch; the parts are
      disjoint and cover every record: rank ``r`` takes positions ``r``,
      ``r + world``, ``r + 2·world``, ... of the epoch's order. Default:
      ``torch.distributed`` when it is initialized, else
      ``RANK``/``WORLD_SIZE``, else one process.
    - ``drop_last``: drop a partial last batch. ``prefetch``: batches made
      ahead. ``threads``: decoding threads (default: ``TFREC_NUM_THREADS``,
      1 in a DataLoader worker, else the number of CPUs).
    - ``on_corrupt="skip"``: skip damaged records instead of raising
      :class:`~tfrec.DataLossError`. Each is reported to ``on_skip(info)``
      (a dict of ``path``, ``offset``, ``index``, ``kind``, ``len``,
      ``message``) or logged as a warning on the ``tfrec`` logger. A damaged
      frame header is found when the dataset is built: the record is left
      out of the dataset (and of ``len``). A payload whose CRC fails is found
      when read: the record is dropped from its batch, which is then one
      record short (the state still counts it: resuming stays exact).
      ``max_skipped``: more than this many skipped in an epoch raise
      :class:`~tfrec.TooManySkippedError`. In DataLoader workers the callback
      runs in the worker; it must pickle for ``spawn``.

    Iterating yields the current epoch's batches from where the last
    iteration stopped; after the last batch the dataset moves on to the next
    epoch (a new shuffle). ``set_epoch(e)`` starts epoch ``e`` over.
    ``state_dict()`` / ``load_state_dict()`` save and restore the position
    exactly, mid-epoch, also on a different number of ranks (elastic
    resume: see :meth:`load_state_dict`); a pickled ``Dataset`` carries its
    arguments and position (never an open file) and iterates identically
    when unpickled.

    Arrays own their memory, or keep the batch buffer they lie in alive:
    they stay valid after the iteration moves on and after the dataset is
    gone; the buffer is reused once the last array over it is collected.
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
        if on_corrupt not in ("raise", "skip"):
            raise ValueError(f'on_corrupt must be "raise" or "skip", not {on_corrupt!r}')
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if int(prefetch) < 0:
            raise ValueError(f"prefetch must be non-negative, not {prefetch}")
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        if max_skipped is not None and on_corrupt != "skip":
            raise ValueError('max_skipped applies to on_corrupt="skip"')
        rank, world = _resolve_rank_world(rank, world)
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in 0..{world}")
        self._args: dict[str, Any] = {
            "paths": [os.fspath(p) for p in paths]
            if not isinstance(paths, (str, os.PathLike))
            else os.fspath(paths),
            "batch_size": None if batch_size is None else int(batch_size),
            "shuffle": _seed(shuffle),
            "rank": rank,
            "world": world,
            "drop_last": bool(drop_last),
            "prefetch": int(prefetch),
            "threads": None if threads is None else int(threads),
            "spec": dict(spec) if spec is not None else None,
            "on_corrupt": on_corrupt,
            "max_skipped": None if max_skipped is None else int(max_skipped),
            "on_skip": on_skip,
        }
        self._state: dict[str, Any] = {"epoch": 0, "position": 0}
        self._live: Any = None
        self._core: Any = None
        self._build()
        self._state = self._resume(self._state)[0]

    def _build(self) -> None:
        a = self._args
        files, patterns = _split_paths(a["paths"])
        spec = normalize(a["spec"]) if a["spec"] is not None else None
        self._core = _tfrec._Dataset(
            files,
            patterns,
            a["batch_size"] or 1,
            a["shuffle"],
            a["rank"],
            a["world"],
            a["drop_last"],
            a["prefetch"],
            a["threads"],
            spec,
            a["on_corrupt"] == "skip",
            a["max_skipped"],
        )
        self._pid = os.getpid()
        # Damage found while indexing is reported now.
        self._report_skips()

    def _dataset(self) -> Any:
        if self._core is None:
            self._build()
        elif self._pid != os.getpid():
            _stale.append(self._core)
            self._build()
        return self._core

    # -- sizes -------------------------------------------------------------

    def __len__(self) -> int:
        """This rank's number of batches per epoch (records without ``batch_size``)."""
        return len(self._dataset())

    @property
    def num_records(self) -> int:
        """Records this rank visits per epoch."""
        return int(self._dataset().num_records)

    @property
    def total_records(self) -> int:
        """Records in all files (all ranks)."""
        return int(self._dataset().total_records)

    @property
    def paths(self) -> list[str]:
        """The files, in the order record ids refer to them."""
        return list(self._dataset().paths)

    @property
    def threads(self) -> int:
        """Threads decoding records in this process."""
        return int(self._dataset().threads)

    @property
    def rank(self) -> int:
        return int(self._args["rank"])

    @property
    def world(self) -> int:
        return int(self._args["world"])

    @property
    def batch_size(self) -> int | None:
        return self._args["batch_size"]

    @property
    def epoch(self) -> int:
        """The epoch the next iteration is in."""
        return self.state_dict()["epoch"]

    def order(self, epoch: int | None = None) -> list[tuple[int, int]]:
        """This rank's records of ``epoch`` (default: the current one) as
        ``(file, index)`` pairs, in the order batches visit them. Nothing is read."""
        return list(self._dataset().order(self.epoch if epoch is None else int(epoch)))

    # -- epochs and state --------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Starts epoch ``epoch`` (its own shuffle) at its beginning."""
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, not {epoch}")
        self._live = None  # an iteration still open no longer moves the state
        self._state = self._resume({"epoch": epoch, "position": 0})[0]

    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: ``{"epoch": E, "position": P, "world": W,
        "shard_mode": "strided", "start": S}``: ``P`` records of this rank's
        part of epoch ``E`` already yielded, the parts being those of ``W``
        ranks over the epoch's order from position ``S`` on (0 unless the
        epoch was resumed on a different number of ranks). Plain ints and a
        string: picklable and JSON-able."""
        if self._live is not None:
            return dict(json.loads(self._live.state()))
        return dict(self._state)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resumes where :meth:`state_dict` was taken: the next iteration
        yields the batch after the last one yielded then.

        The state may come from a run with another number of ranks (same
        files, seed and batch size). Ranks take every ``world``-th record of
        the epoch's order, so after ``S`` synchronous steps (each rank one
        batch per step) the records taken are exactly the first ``S ·
        batch_size · world`` of the order, and any one rank's state says so.
        Loaded by ``world'`` ranks, the rest of the epoch is split again:
        rank ``r'`` takes positions ``consumed + r'``, ``consumed + r' +
        world'``, ..., so that every record of the epoch is seen exactly once
        and the new parts differ by at most one record. Rank 0 may always
        save (its part is the longest); another rank's state is as good
        unless it has finished its part (it then says the next epoch). In
        asynchronous training, where ranks stand at different positions, one
        rank's state does not say what the others took.

        A state of only ``{"epoch", "position"}`` resumes ``position``
        records into this rank's part."""
        resumed = self._resume(state)[0]
        self._live = None
        self._state = resumed

    def _resume(self, state: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """The state as this dataset resumes it, and the records of this
        rank's part of its epoch."""
        text, length = self._dataset().resume_state(_state_json(state))
        return dict(json.loads(text)), int(length)

    # -- iteration ---------------------------------------------------------

    def _batches(self, part: int = 0, parts: int = 1) -> Iterator[Any]:
        """The batches of the current epoch from the current position (only
        batches ``part``, ``part + parts``, ... of them when ``parts > 1``).
        Unsplit, the state follows what has been yielded."""
        core = self._dataset()
        # Where the last iteration got to, even if it is still open.
        self._state = self.state_dict()
        self._live = None
        it = core.iterate(_state_json(self._state), Ragged, part, parts, self._report)
        if parts == 1:
            self._live = it
        try:
            yield from it
        finally:
            if self._live is it:
                self._state = dict(json.loads(it.state()))
                self._live = None
            it.close()
            self._report_skips()

    def _unbatched(self, batches: Iterator[Any]) -> Iterator[Any]:
        if self._args["batch_size"] is not None:
            return batches
        return (_first(b) for b in batches)

    def __iter__(self) -> Iterator[Any]:
        return self._unbatched(self._batches())

    def _report_skips(self) -> None:
        self._report(self._dataset().take_skips())

    def _report(self, skips: list[dict[str, Any]]) -> None:
        callback = self._args["on_skip"]
        for info in skips:
            if callback is not None:
                callback(info)
            else:
                _log.warning("tfrec: skipped a damaged record: %s", info["message"])

    # -- pickling ----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"args": dict(self._args), "state": self.state_dict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._args = state["args"]
        # Pickles of earlier versions carry only the epoch and position.
        self._state = dict(
            state.get("state") or {"epoch": state["epoch"], "position": state["position"]}
        )
        # Built on first use: in a DataLoader worker that is after the
        # worker is set up, so that it gets the worker's thread count.
        self._core = None
        self._live = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        a = self._args
        return (
            f"tfrec.Dataset({a['paths']!r}, batch_size={a['batch_size']}, shuffle={a['shuffle']}, "
            f"rank={a['rank']}, world={a['world']}, records={self.num_records}, "
            f"epoch={self.epoch}, position={self.state_dict()['position']})"
        )


def _first(batch: Any) -> Any:
    """Record 0 of a batch of one, without its batch dimension."""
    if isinstance(batch, dict):
        out = {}
        for name, value in batch.items():
            out[name] = value.values if isinstance(value, Ragged) else value[0]
        return out
    return batch[0]
