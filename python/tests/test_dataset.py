"""tfrec.Dataset: coverage over ranks, determinism, epochs, resumption,
pickling, buffers that outlive the iteration, and skipping damaged records."""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import os
import pickle
import threading
import time

import numpy as np
import pytest

import tfrec
from dataset_data import (
    example,
    flip_length_bit,
    flip_payload_bit,
    record_value,
    serialize_tensor,
    write_records,
    write_shards,
)

COUNTS = [13, 7, 20, 1]
TOTAL = sum(COUNTS)
# How a state of one rank says its split.
ONE_RANK = {"world": 1, "shard_mode": "strided", "start": 0}


@pytest.fixture()
def shards(tmp_path):
    return write_shards(tmp_path, COUNTS)


def ids_of(batch: np.ndarray) -> list[tuple[int, int]]:
    """The (file, index) each record of a batch names, checked against its third value."""
    batch = np.asarray(batch).reshape(-1, 3)
    for row in batch:
        assert np.array_equal(row, record_value(int(row[0]), int(row[1])))
    return [(int(r[0]), int(r[1])) for r in batch]


def all_ids() -> set[tuple[int, int]]:
    return {(f, i) for f, n in enumerate(COUNTS) for i in range(n)}


def epoch_ids(ds) -> list[tuple[int, int]]:
    out = []
    for batch in ds:
        out.extend(ids_of(batch))
    return out


def test_batches_are_stacked_arrays_in_file_order(shards):
    ds = tfrec.Dataset(shards, batch_size=8)
    assert len(ds) == -(-TOTAL // 8)
    assert ds.num_records == TOTAL == ds.total_records
    batches = list(ds)
    assert len(batches) == len(ds)
    assert all(b.dtype == np.int64 for b in batches)
    assert [b.shape for b in batches] == [(8, 3)] * 5 + [(1, 3)]
    assert epoch_ids(tfrec.Dataset(shards, batch_size=8)) == [
        (f, i) for f, n in enumerate(COUNTS) for i in range(n)
    ]


def test_single_records_without_batch_size_and_glob_paths(shards, tmp_path):
    ds = tfrec.Dataset(str(tmp_path / "part-*.tfrecord"))
    assert ds.paths == shards
    assert len(ds) == TOTAL
    records = list(ds)
    assert records[0].shape == (3,)
    assert [ids_of(r)[0] for r in records] == [(f, i) for f, n in enumerate(COUNTS) for i in range(n)]


def test_drop_last(shards):
    ds = tfrec.Dataset(shards, batch_size=8, drop_last=True)
    assert len(ds) == TOTAL // 8
    assert [b.shape[0] for b in ds] == [8] * (TOTAL // 8)


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("shuffle", [None, 7])
def test_ranks_cover_every_record_once(shards, world, shuffle):
    for epoch in range(2):
        seen: list[tuple[int, int]] = []
        sizes = []
        for rank in range(world):
            ds = tfrec.Dataset(shards, batch_size=4, shuffle=shuffle, rank=rank, world=world)
            ds.set_epoch(epoch)
            ids = epoch_ids(ds)
            assert len(ids) == ds.num_records
            assert len(ds) == -(-ds.num_records // 4)
            sizes.append(len(ids))
            seen.extend(ids)
        assert len(seen) == len(set(seen)) == TOTAL
        assert set(seen) == all_ids()
        assert max(sizes) - min(sizes) <= 1


def test_rank_and_world_from_the_environment(shards, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    ds = tfrec.Dataset(shards, batch_size=4)
    assert (ds.rank, ds.world) == (1, 3)
    explicit = tfrec.Dataset(shards, batch_size=4, rank=1, world=3)
    assert epoch_ids(ds) == epoch_ids(explicit)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert (tfrec.Dataset(shards).rank, tfrec.Dataset(shards).world) == (0, 1)
    with pytest.raises(ValueError):
        tfrec.Dataset(shards, rank=3, world=3)


def test_rank_and_world_from_an_initialized_torch_distributed(shards, monkeypatch):
    import sys
    import types

    dist = types.SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: True,
        get_rank=lambda: 2,
        get_world_size=lambda: 4,
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(distributed=dist))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    ds = tfrec.Dataset(shards, batch_size=4)
    assert (ds.rank, ds.world) == (2, 4)
    dist.is_initialized = lambda: False
    ds = tfrec.Dataset(shards, batch_size=4)
    assert (ds.rank, ds.world) == (0, 1)  # from the environment


def test_shuffle_is_deterministic_and_new_each_epoch(shards):
    a = tfrec.Dataset(shards, batch_size=5, shuffle=42)
    b = tfrec.Dataset(shards, batch_size=5, shuffle=42, prefetch=0, threads=1)
    e0 = epoch_ids(a)
    assert e0 == epoch_ids(b)
    assert sorted(e0) == sorted(all_ids())
    # Iterating again moves on to the next epoch, with a new order.
    e1 = epoch_ids(a)
    assert a.epoch == 2
    assert sorted(e1) == sorted(e0) and e1 != e0
    b.set_epoch(1)
    assert epoch_ids(b) == e1
    assert [tuple(x) for x in a.order(1)] == e1
    assert epoch_ids(tfrec.Dataset(shards, batch_size=5, shuffle=43)) != e0


@pytest.mark.parametrize("stop", [0, 1, 3, 6])
def test_resume_from_state_dict_mid_epoch(shards, stop):
    full = tfrec.Dataset(shards, batch_size=4, shuffle=3)
    full.set_epoch(2)
    expected = epoch_ids(full)

    ds = tfrec.Dataset(shards, batch_size=4, shuffle=3)
    ds.set_epoch(2)
    seen = []
    for batch in itertools.islice(ds, stop):  # the batches yielded: exactly `stop`
        seen.extend(ids_of(batch))
    state = ds.state_dict()
    assert state == {"epoch": 2, "position": 4 * stop, **ONE_RANK}
    # The state is plain data: through JSON and pickle, into a new dataset.
    state = pickle.loads(pickle.dumps(json.loads(json.dumps(state))))
    resumed = tfrec.Dataset(shards, batch_size=4, shuffle=3)
    resumed.load_state_dict(state)
    seen.extend(epoch_ids(resumed))
    assert seen == expected
    assert resumed.state_dict() == {"epoch": 3, "position": 0, **ONE_RANK}


def test_state_dict_rejects_nonsense(shards):
    ds = tfrec.Dataset(shards, batch_size=4)
    with pytest.raises(ValueError):
        ds.load_state_dict({"epoch": 0})
    with pytest.raises(ValueError):
        ds.load_state_dict({"epoch": 0, "position": TOTAL + 1})


def test_a_pickled_dataset_iterates_identically(shards):
    ds = tfrec.Dataset(shards, batch_size=3, shuffle=11, rank=1, world=2)
    ds.set_epoch(4)
    it = iter(ds)
    first = ids_of(next(it))
    it.close()
    data = pickle.dumps(ds)
    assert len(data) < 2000  # arguments and a position, nothing else
    copy = pickle.loads(data)
    assert copy.state_dict() == ds.state_dict() == {"epoch": 4, "position": 3, **ONE_RANK, "world": 2}
    rest = epoch_ids(copy)
    again = tfrec.Dataset(shards, batch_size=3, shuffle=11, rank=1, world=2)
    again.set_epoch(4)
    assert first + rest == epoch_ids(again)
    assert epoch_ids(pickle.loads(pickle.dumps(copy))) == epoch_ids(copy)


def test_arrays_outlive_the_iteration_and_the_dataset(shards):
    ds = tfrec.Dataset(shards, batch_size=8, prefetch=2)
    kept = []
    for batch in ds:
        kept.append(batch)
        kept.append(batch[1:3])  # a view keeps the buffer too
    expected = [ids_of(b) for b in kept]
    del batch
    # The next epoch of the same dataset reuses no buffer an array still holds.
    for b in ds:
        b[...] = -1
    del ds, b
    gc.collect()
    assert [ids_of(b) for b in kept] == expected
    for b in kept:
        assert b.flags["ALIGNED"]
        assert b.ctypes.data % b.dtype.itemsize == 0


def test_batches_are_zero_copy_over_the_batch_buffer(shards):
    ds = tfrec.Dataset(shards, batch_size=8)
    batch = next(iter(ds))
    assert not batch.flags["OWNDATA"]
    assert type(batch.base).__name__ == "_BatchBuffer"
    assert len(batch.base) == 8
    assert batch.flags["WRITEABLE"] and batch.flags["C_CONTIGUOUS"]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_does_not_grow_over_epochs(tmp_path):
    # 64 records of 256 KiB: each batch of 8 is 2 MiB.
    payload = serialize_tensor(np.zeros((256, 1024), dtype=np.uint8))
    path = tmp_path / "big.tfrecord"
    write_records(path, [payload] * 64)
    ds = tfrec.Dataset(str(path), batch_size=8, shuffle=1)
    for _ in range(2):  # warm up: pools, maps, allocator
        for batch in ds:
            batch.sum()
    gc.collect()
    before = rss_bytes()
    for _ in range(8):
        for batch in ds:
            batch.sum()
    del batch
    gc.collect()
    grown = rss_bytes() - before
    # 8 epochs of 16 MiB each went through; a leak of the batches would
    # show as well over 100 MiB.
    assert grown < 24 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 8 epochs"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_does_not_grow_over_epochs_of_examples(tmp_path):
    kinds = {"img": "bytes", "x": "float", "tok": "int64"}
    payloads = [
        example({"img": [bytes(64 << 10)], "x": [float(i)] * 256, "tok": list(range(i % 50))}, kinds)
        for i in range(64)
    ]
    path = tmp_path / "examples.tfrecord"
    write_records(path, payloads)
    spec = {"img": tfrec.FixedLen([], "string"), "x": tfrec.FixedLen([256], "float32"), "tok": tfrec.VarLen("int64")}
    ds = tfrec.Dataset(str(path), batch_size=8, shuffle=1, spec=spec)
    for _ in range(2):
        for batch in ds:
            batch["x"].sum()
    gc.collect()
    before = rss_bytes()
    for _ in range(8):
        for batch in ds:
            batch["x"].sum()
    del batch
    gc.collect()
    grown = rss_bytes() - before
    # 8 epochs of 4 MiB of strings each went through.
    assert grown < 12 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 8 epochs"


def test_the_gil_is_released_while_batches_are_made(tmp_path):
    payload = serialize_tensor(np.ones((1024, 1024), dtype=np.uint8))
    path = tmp_path / "big.tfrecord"
    write_records(path, [payload] * 32)
    # prefetch=0: each batch is made inside __next__, on one thread.
    ds = tfrec.Dataset(str(path), batch_size=16, prefetch=0, threads=1)
    ticks: list[float] = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())

    calls: list[tuple[float, float]] = []
    t = threading.Thread(target=count)
    t.start()
    try:
        for _ in range(3):
            it = iter(ds)
            while True:
                start = time.perf_counter()
                batch = next(it, None)
                calls.append((start, time.perf_counter()))
                if batch is None:
                    break
    finally:
        stop.set()
        t.join()
    # The counting thread ran while a call was in progress: impossible if the
    # call held the GIL from start to end.
    inside = sum(bisect.bisect_left(ticks, e) - bisect.bisect_right(ticks, s) for s, e in calls)
    assert inside > 0


def test_errors_name_the_file(tmp_path, shards):
    with pytest.raises(tfrec.TFRecordNotFoundError):
        tfrec.Dataset(str(tmp_path / "missing.tfrecord"))
    with pytest.raises(tfrec.InvalidInputError):
        tfrec.Dataset(str(tmp_path / "nothing-*.tfrecord"))
    with pytest.raises(ValueError):
        tfrec.Dataset(shards, on_corrupt="ignore")
    # Records of different shapes cannot be stacked.
    mixed = tmp_path / "mixed.tfrecord"
    write_records(mixed, [serialize_tensor(np.zeros(3)), serialize_tensor(np.zeros(4))])
    with pytest.raises(tfrec.InvalidInputError) as e:
        list(tfrec.Dataset(str(mixed), batch_size=2))
    assert e.value.path == str(mixed)


# -- damaged records ----------------------------------------------------------


def test_a_damaged_payload_fails_a_strict_epoch(shards):
    offset = flip_payload_bit(shards[2], 5)
    ds = tfrec.Dataset(shards, batch_size=4)
    with pytest.raises(tfrec.DataLossError) as e:
        list(ds)
    assert (e.value.path, e.value.offset, e.value.index) == (shards[2], offset, 5)
    assert e.value.kind == "corrupt_data"


@pytest.mark.parametrize("shuffle", [None, 9])
def test_skip_drops_a_damaged_payload_and_reports_it(shards, shuffle):
    offset = flip_payload_bit(shards[2], 5)
    seen = []
    ds = tfrec.Dataset(shards, batch_size=4, shuffle=shuffle, on_corrupt="skip", on_skip=seen.append)
    ids = epoch_ids(ds)
    assert sorted(ids) == sorted(all_ids() - {(2, 5)})
    assert len(ids) == TOTAL - 1
    assert [(s["path"], s["offset"], s["index"], s["kind"]) for s in seen] == [
        (shards[2], offset, 5, "corrupt_data")
    ]
    # Every epoch meets it again.
    assert len(epoch_ids(ds)) == TOTAL - 1
    assert len(seen) == 2


def test_skip_logs_without_a_callback(shards, caplog):
    flip_payload_bit(shards[0], 0)
    ds = tfrec.Dataset(shards, batch_size=4, on_corrupt="skip")
    with caplog.at_level("WARNING", logger="tfrec"):
        assert len(epoch_ids(ds)) == TOTAL - 1
    assert any(shards[0] in r.getMessage() for r in caplog.records)


def test_skip_past_a_damaged_header(shards):
    offset = flip_length_bit(shards[0], 3)
    with pytest.raises(tfrec.DataLossError):
        tfrec.Dataset(shards, batch_size=4)
    seen = []
    ds = tfrec.Dataset(shards, batch_size=4, on_corrupt="skip", on_skip=seen.append)
    # Found while indexing: reported when built, left out of len().
    assert [(s["path"], s["offset"], s["index"]) for s in seen] == [(shards[0], offset, 3)]
    assert ds.num_records == TOTAL - 1
    assert sorted(epoch_ids(ds)) == sorted(all_ids() - {(0, 3)})


def test_too_many_skipped(shards):
    flip_payload_bit(shards[0], 1)
    flip_payload_bit(shards[2], 2)
    ds = tfrec.Dataset(shards, batch_size=4, on_corrupt="skip", max_skipped=1, on_skip=lambda s: None)
    with pytest.raises(tfrec.TooManySkippedError) as e:
        list(ds)
    assert e.value.path == shards[2]
    ok = tfrec.Dataset(shards, batch_size=4, on_corrupt="skip", max_skipped=2, on_skip=lambda s: None)
    assert len(epoch_ids(ok)) == TOTAL - 2


def test_resume_with_skipped_records(shards):
    flip_payload_bit(shards[1], 3)
    kwargs = dict(batch_size=4, shuffle=5, on_corrupt="skip", on_skip=lambda s: None)
    expected = epoch_ids(tfrec.Dataset(shards, **kwargs))
    for stop in range(len(tfrec.Dataset(shards, **kwargs))):
        ds = tfrec.Dataset(shards, **kwargs)
        seen = []
        for batch in itertools.islice(ds, stop):
            seen.extend(ids_of(batch))
        resumed = tfrec.Dataset(shards, **kwargs)
        resumed.load_state_dict(ds.state_dict())
        assert seen + epoch_ids(resumed) == expected


def test_state_dict_while_iterating(shards):
    order = [tuple(x) for x in tfrec.Dataset(shards).order(0)]
    ds = tfrec.Dataset(shards, batch_size=4)
    it = iter(ds)
    next(it)
    next(it)
    assert ds.state_dict() == {"epoch": 0, "position": 8, **ONE_RANK}
    assert pickle.loads(pickle.dumps(ds)).state_dict() == {"epoch": 0, "position": 8, **ONE_RANK}
    # A new iteration continues where the open one got to.
    again = iter(ds)
    assert ids_of(next(again)) == order[8:12]
    assert ds.state_dict() == {"epoch": 0, "position": 12, **ONE_RANK}
    ds.set_epoch(1)
    assert ds.state_dict() == {"epoch": 1, "position": 0, **ONE_RANK}
    del it, again
    gc.collect()
    assert ds.state_dict() == {"epoch": 1, "position": 0, **ONE_RANK}


def test_buffers_return_to_the_pool_when_the_last_array_dies(tmp_path):
    path = tmp_path / "many.tfrecord"
    write_records(path, [serialize_tensor(np.full(1024, i, dtype=np.int64)) for i in range(200)])
    ds = tfrec.Dataset(str(path), batch_size=4, prefetch=2)
    # Dropped at once: a few buffers go round and round.
    addresses = set()
    for batch in ds:
        addresses.add(batch.ctypes.data)
    assert len(addresses) <= 6
    # Held (here by views): no buffer is handed out twice.
    held = [batch[1:] for batch in ds]
    assert len({v.ctypes.data for v in held}) == len(held) == 50
    assert [int(v[0, 0]) for v in held] == [4 * k + 1 for k in range(50)]
