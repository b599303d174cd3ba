"""Elastic resume: a state saved by one rank of ``world`` ranks after some
synchronous steps, loaded by ``world'`` new ranks, finishes the epoch so that
every record is seen exactly once, the new ranks' shares within one record."""

from __future__ import annotations

import itertools
import json
import pickle
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tfrec
from dataset_data import record_value, write_shards

COUNTS = [17, 1, 23, 9]
TOTAL = sum(COUNTS)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("elastic"), COUNTS)


def ids_of(batch) -> list[tuple[int, int]]:
    """The (file, index) each record of a batch names, checked against its value."""
    rows = [batch] if batch.ndim == 1 else list(batch)
    out = []
    for row in rows:
        f, i = int(row[0]), int(row[1])
        assert (row == record_value(f, i)).all()
        out.append((f, i))
    return out


def ranks(shards, world: int, batch_size: int | None, seed: int | None, epoch: int):
    out = []
    for r in range(world):
        ds = tfrec.Dataset(
            shards, batch_size=batch_size, shuffle=seed, rank=r, world=world, threads=1, prefetch=1
        )
        ds.set_epoch(epoch)
        out.append(ds)
    return out


def sync_steps(datasets, batch_size: int) -> int:
    """Steps every rank can take, each a batch at each (see the Rust tests:
    where the ranks' batch counts differ, the longer ranks' last step has no
    counterpart)."""
    counts = []
    for ds in datasets:
        state = ds.state_dict()
        counts.append(-(-(ds.num_records - state["position"]) // batch_size))
    lo, hi = min(counts), max(counts)
    return lo if lo == hi else max(lo - 1, 0)


def through_storage(state: dict) -> dict:
    """The state as a checkpoint would keep it: JSON, then pickle."""
    return pickle.loads(pickle.dumps(json.loads(json.dumps(state))))


@given(
    world=st.integers(1, 5),
    world2=st.integers(1, 5),
    batch_size=st.integers(1, 6),
    seed=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
    steps=st.integers(0, 10**6),
    saver=st.integers(0, 100),
)
def test_every_record_once_across_a_change_of_world(
    shards, world, world2, batch_size, seed, steps, saver
):
    epoch = 2
    before = ranks(shards, world, batch_size, seed, epoch)
    steps = steps % (sync_steps(before, batch_size) + 1)
    seen: Counter = Counter()
    states = []
    for ds in before:
        for batch in itertools.islice(iter(ds), steps):
            seen.update(ids_of(batch))
        states.append(ds.state_dict())
    mid = [s for s in states if s["epoch"] == epoch]
    if not mid:
        # Every rank finished its part in `steps` steps.
        assert all(s["epoch"] == epoch + 1 for s in states)
        assert sorted(seen) == sorted(all_ids()) and max(seen.values()) == 1
        return
    # Rank 0's part is the longest: its state is always one to save.
    assert states[0]["epoch"] == epoch
    state = through_storage(mid[saver % len(mid)])
    assert state["world"] == world and state["shard_mode"] == "strided"
    shares = []
    for ds in ranks(shards, world2, batch_size, seed, 0):
        ds.load_state_dict(state)
        n = 0
        for batch in ds:
            ids = ids_of(batch)
            seen.update(ids)
            n += len(ids)
        shares.append(n)
        assert ds.state_dict()["epoch"] == epoch + 1
    assert sorted(seen) == sorted(all_ids()), "some record never seen"
    assert max(seen.values()) == 1, [k for k, v in seen.items() if v > 1]
    assert max(shares) - min(shares) <= 1, shares


def all_ids() -> list[tuple[int, int]]:
    return [(f, i) for f, n in enumerate(COUNTS) for i in range(n)]


def test_a_resumed_state_says_where_the_new_split_starts(shards):
    # 3 ranks, 2 steps of 4: the first 24 positions of the order taken.
    before = ranks(shards, 3, 4, 7, 0)
    for ds in before:
        for _ in itertools.islice(iter(ds), 2):
            pass
    state = before[1].state_dict()
    assert state == {"epoch": 0, "position": 8, "world": 3, "shard_mode": "strided", "start": 0}
    order = tfrec.Dataset(shards, shuffle=7).order(0)
    after = ranks(shards, 2, 4, 7, 0)
    for ds in after:
        ds.load_state_dict(state)
    assert after[1].state_dict() == {
        "epoch": 0,
        "position": 0,
        "world": 2,
        "shard_mode": "strided",
        "start": 24,
    }
    batch = next(iter(after[1]))
    assert ids_of(batch) == [order[p] for p in (25, 27, 29, 31)]
    assert after[1].state_dict()["position"] == 4
    # Changing again: 2 ranks took 4 more each, one rank finishes.
    next(iter(after[0]))
    last = tfrec.Dataset(shards, batch_size=4, shuffle=7, threads=1)
    last.load_state_dict(through_storage(after[0].state_dict()))
    assert last.state_dict()["start"] == 32
    rest = [i for b in last for i in ids_of(b)]
    assert rest == order[32:]


def test_a_state_without_its_split_resumes_in_the_rank_s_own_part(shards):
    ds = tfrec.Dataset(shards, batch_size=2, shuffle=1, rank=1, world=2)
    expected = ds.order(0)
    ds.load_state_dict({"epoch": 0, "position": 6})
    assert [i for b in ds for i in ids_of(b)] == expected[6:]


def test_contiguous_and_impossible_states_are_errors(shards):
    ds = tfrec.Dataset(shards, batch_size=2, rank=0, world=3)
    contiguous = {"epoch": 0, "position": 2, "world": 2, "shard_mode": "contiguous", "start": 0}
    with pytest.raises(tfrec.InvalidInputError, match="contiguous"):
        ds.load_state_dict(contiguous)
    with pytest.raises(ValueError):
        ds.load_state_dict({"epoch": 0, "position": 2, "world": 2})
    with pytest.raises(ValueError):
        ds.load_state_dict({**contiguous, "shard_mode": "strided", "start": TOTAL + 1})
    # 2 ranks of 50 records had at most 25 each.
    with pytest.raises(ValueError):
        ds.load_state_dict({**contiguous, "shard_mode": "strided", "position": 26})
    # A failed load leaves the state as it was.
    assert ds.state_dict()["position"] == 0


def test_torch_workers_resume_on_another_world(shards):
    tt = pytest.importorskip("tfrec.torch")
    from torch.utils.data import DataLoader

    def loader(ds, workers):
        kwargs = {"multiprocessing_context": "spawn", "num_workers": workers} if workers else {}
        return DataLoader(ds, batch_size=None, **kwargs)

    def torch_ranks(world):
        return [
            tt.TFRecordDataset(shards, batch_size=3, shuffle=5, rank=r, world=world, threads=1)
            for r in range(world)
        ]

    seen: Counter = Counter()
    # 2 ranks, 2 DataLoader workers each: 4 steps, counted in the loop, then
    # the job stops (what it took after the checkpoint is lost; the loader is
    # drained rather than dropped mid-way so that its workers end cleanly).
    before = torch_ranks(2)
    for ds in before:
        ds.set_epoch(1)
        for step, batch in enumerate(loader(ds, 2)):
            if step < 4:
                seen.update(ids_of(batch.numpy()))
    state = through_storage(before[1].state_after(4))
    assert state == {"epoch": 1, "position": 12, "world": 2, "shard_mode": "strided", "start": 0}
    # 3 ranks in-process, 2 steps: the state follows the batches.
    middle = torch_ranks(3)
    for ds in middle:
        ds.load_state_dict(state)
        for batch in itertools.islice(loader(ds, 0), 2):
            seen.update(ids_of(batch.numpy()))
    state = through_storage(middle[2].state_dict())
    assert state == {"epoch": 1, "position": 6, "world": 3, "shard_mode": "strided", "start": 24}
    # state_after on a dataset resumed on another world counts in its new part.
    probe = torch_ranks(3)[0]
    probe.load_state_dict(before[0].state_after(4))
    assert probe.state_after(2) == state
    # 1 rank, 2 workers: to the end.
    (last,) = torch_ranks(1)
    last.load_state_dict(state)
    for batch in loader(last, 2):
        seen.update(ids_of(batch.numpy()))
    assert sorted(seen) == sorted(all_ids())
    assert max(seen.values()) == 1
