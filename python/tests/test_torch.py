"""tfrec.torch: TFRecordDataset in a real DataLoader (0 and 2 workers under
spawn, ranks), MapDataset with a sampler, zero-copy tensors."""

from __future__ import annotations

import gc
import os
import pickle

import numpy as np
import pytest

if os.environ.get("TFREC_REQUIRE_TORCH") == "1":
    import torch
else:
    torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, RandomSampler  # noqa: E402

import tfrec  # noqa: E402
import tfrec.torch as tt  # noqa: E402
from dataset_data import example, record_value, write_records, write_shards  # noqa: E402

# How a state of one rank says its split.
ONE_RANK = {"world": 1, "shard_mode": "strided", "start": 0}

COUNTS = [17, 9, 30]
TOTAL = sum(COUNTS)


@pytest.fixture()
def shards(tmp_path):
    return write_shards(tmp_path, COUNTS)


def ids_of(batch) -> list[tuple[int, int]]:
    assert isinstance(batch, torch.Tensor)
    rows = batch.numpy().reshape(-1, 3)
    for r in rows:
        assert np.array_equal(r, record_value(int(r[0]), int(r[1])))
    return [(int(r[0]), int(r[1])) for r in rows]


def loader_ids(ds, workers: int) -> list[list[tuple[int, int]]]:
    kwargs = {}
    if workers:
        kwargs = {"multiprocessing_context": "spawn", "num_workers": workers}
    loader = DataLoader(ds, batch_size=None, **kwargs)
    return [ids_of(b) for b in loader]


def test_importing_tfrec_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, tfrec; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("shuffle", [None, 5])
def test_dataloader_workers_and_ranks_see_every_record_once_in_order(shards, shuffle):
    world = 2
    everything: list[tuple[int, int]] = []
    for rank in range(world):
        ds = tt.TFRecordDataset(shards, batch_size=4, shuffle=shuffle, rank=rank, world=world)
        ds.set_epoch(3)
        inline = loader_ids(ds, 0)
        spawned = loader_ids(ds, 2)
        # The same batches, in the same order, with or without workers.
        assert spawned == inline
        assert len(inline) == len(ds) == -(-ds.dataset.num_records // 4)
        flat = [i for b in inline for i in b]
        assert flat == [tuple(x) for x in ds.dataset.order(3)]
        everything.extend(flat)
    assert len(everything) == len(set(everything)) == TOTAL
    assert set(everything) == {(f, i) for f, n in enumerate(COUNTS) for i in range(n)}


def test_forked_workers(shards):
    ds = tt.TFRecordDataset(shards, batch_size=4, shuffle=8)
    assert len(list(iter(ds))) == len(ds)  # the parent has iterated (threads, pools)
    forked = [ids_of(b) for b in DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="fork")]
    assert forked == loader_ids(ds, 0)


def test_workers_decode_on_one_thread_each(shards):
    ds = tt.TFRecordDataset(shards, batch_size=4)
    loader = DataLoader(
        ThreadsOf(ds), batch_size=None, num_workers=2, multiprocessing_context="spawn"
    )
    assert set(loader) == {1}


class ThreadsOf(torch.utils.data.IterableDataset):
    """Yields the number of decoding threads each worker's dataset uses."""

    def __init__(self, ds):
        super().__init__()
        self.ds = ds

    def __iter__(self):
        next(iter(self.ds), None)
        yield self.ds.dataset.threads


@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")
def test_three_workers_and_a_partial_last_batch(shards):
    ds = tt.TFRecordDataset(shards, batch_size=5, shuffle=1)
    assert loader_ids(ds, 3) == loader_ids(ds, 0)


def test_epochs_change_only_with_set_epoch(shards):
    ds = tt.TFRecordDataset(shards, batch_size=8, shuffle=2)
    first = loader_ids(ds, 0)
    assert loader_ids(ds, 0) == first  # the same epoch again, as in workers
    ds.set_epoch(1)
    second = loader_ids(ds, 0)
    assert second != first
    assert sorted(i for b in second for i in b) == sorted(i for b in first for i in b)


def test_state_passthrough_and_resume_with_workers(shards):
    ds = tt.TFRecordDataset(shards, batch_size=4, shuffle=9)
    ds.set_epoch(2)
    full = loader_ids(ds, 0)
    it = iter(DataLoader(ds, batch_size=None))
    seen = [ids_of(next(it)) for _ in range(3)]
    del it
    state = ds.state_dict()
    assert state == {"epoch": 2, "position": 12, **ONE_RANK} == ds.state_after(0)
    resumed = tt.TFRecordDataset(shards, batch_size=4, shuffle=9)
    resumed.load_state_dict(state)
    assert seen + loader_ids(resumed, 2) == full
    fresh = tt.TFRecordDataset(shards, batch_size=4, shuffle=9)
    fresh.set_epoch(2)
    assert fresh.state_after(5) == {"epoch": 2, "position": 20, **ONE_RANK}
    fresh.load_state_dict(fresh.state_after(5))
    assert loader_ids(fresh, 2) == full[5:]


def test_tensors_share_the_batch_buffer(shards):
    batch = next(iter(tt.TFRecordDataset(shards, batch_size=8)))
    assert batch.dtype == torch.int64 and batch.shape == (8, 3)
    assert batch.data_ptr() % 8 == 0
    ds = tfrec.Dataset(shards, batch_size=8)
    array = next(iter(ds))
    tensor = tt.to_torch(array)
    assert tensor.data_ptr() == array.ctypes.data  # no copy
    assert type(array.base).__name__ == "_BatchBuffer"
    # Kept alive by the tensor alone.
    del ds, array
    gc.collect()
    assert ids_of(tensor) == [(0, i) for i in range(8)]


def test_spec_batches_as_tensors(tmp_path):
    kinds = {"label": "int64", "x": "float", "tok": "int64"}
    payloads = [example({"label": [i], "x": [float(i)] * 3, "tok": list(range(i % 3))}, kinds) for i in range(10)]
    path = tmp_path / "ex.tfrecord"
    write_records(path, payloads)
    spec = {"label": tfrec.FixedLen([], "int64"), "x": tfrec.FixedLen([3], "float32"), "tok": tfrec.VarLen("int64")}
    ds = tt.TFRecordDataset(str(path), batch_size=4, spec=spec)
    batches = list(DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn"))
    labels = [int(x) for b in batches for x in b["label"]]
    assert labels == list(range(10))
    assert batches[0]["x"].dtype == torch.float32 and batches[0]["x"].shape == (4, 3)
    tok = batches[0]["tok"]
    assert isinstance(tok, tfrec.Ragged)
    assert tok.row_splits.tolist() == [0, 0, 1, 3, 3]


def test_map_dataset_with_a_sampler(shards):
    ds = tt.MapDataset(shards)
    assert len(ds) == TOTAL
    assert ids_of(ds[0]) == [(0, 0)]
    assert ids_of(ds[-1]) == [(2, 29)]
    assert ids_of(ds[17]) == [(1, 0)]
    with pytest.raises(IndexError):
        ds[TOTAL]
    got = ds.__getitems__([3, 20, 3])
    assert [ids_of(t)[0] for t in got] == [(0, 3), (1, 3), (0, 3)]
    copy = pickle.loads(pickle.dumps(ds))
    assert len(copy) == TOTAL

    sampler = RandomSampler(ds, generator=torch.Generator().manual_seed(0))
    seen = []
    for workers in (0, 2):
        kwargs = {"num_workers": workers, "multiprocessing_context": "spawn"} if workers else {}
        ids = []
        for batch in DataLoader(ds, batch_size=8, sampler=sampler, **kwargs):
            assert batch.shape[1:] == (3,)
            ids.extend(ids_of(batch))
        assert sorted(ids) == sorted((f, i) for f, n in enumerate(COUNTS) for i in range(n))
        seen.append(ids)
