"""tfrec.grain.TFRecordDataSource: Grain's random-access protocol over
TFRecord files, with Grain's MapDataset and DataLoader (two worker
processes)."""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import tfrec
from tfrec.grain import TFRecordDataSource

# Records per file, an empty file among them.
SIZES = [7, 0, 12, 1, 9]


@pytest.fixture(scope="module")
def grain():
    try:
        return importlib.import_module("grain")
    except ImportError as e:
        if os.environ.get("TFREC_REQUIRE_GRAIN") == "1":
            pytest.fail(f"TFREC_REQUIRE_GRAIN=1 but grain cannot be imported: {e}")
        pytest.skip("grain is not installed (set TFREC_REQUIRE_GRAIN=1 to require it)")


def _write_files(directory, sizes=SIZES, example=False):
    """Files of records numbered 0.. across all of them, in order. Tensor
    record n is [n, n * n] (int64); Example record n is {"n": n, "name": ...}."""
    paths, n = [], 0
    for f, size in enumerate(sizes):
        path = os.path.join(directory, f"part-{f}.tfrecord")
        with tfrec.Writer(path, sync=False) as w:
            for _ in range(size):
                if example:
                    w.write_example({"n": n, "name": f"record {n}"})
                else:
                    w.write(np.array([n, n * n], dtype=np.int64))
                n += 1
        paths.append(path)
    return paths, n


def _ids(records):
    return [int(r[0]) for r in records]


@pytest.fixture
def files(tmp_path):
    return _write_files(str(tmp_path))


def test_global_numbering_over_files(files):
    paths, total = files
    source = TFRecordDataSource(paths)
    assert len(source) == total == sum(SIZES)
    for i in range(total):
        np.testing.assert_array_equal(source[i], [i, i * i])
        assert source[i].dtype == np.int64
    np.testing.assert_array_equal(source[-1], [total - 1, (total - 1) ** 2])
    for bad in (total, -total - 1, 10**30):
        with pytest.raises(IndexError):
            source[bad]
    with pytest.raises(TypeError):
        source["1"]


def test_getitems_matches_getitem(files):
    paths, total = files
    source = TFRecordDataSource(paths)
    rng = np.random.default_rng(1)
    for n in (0, 1, 3, 40, 200):
        picks = [int(i) for i in rng.integers(0, total, size=n)]
        got = source.__getitems__(picks)
        assert isinstance(got, list) and len(got) == n
        assert _ids(got) == picks
        for i, record in zip(picks, got):
            np.testing.assert_array_equal(record, source[i])
    assert source._getitems([2, -1]) is not None
    assert _ids(source._getitems([2, -1])) == [2, total - 1]
    with pytest.raises(IndexError):
        source.__getitems__([0, total])


def test_glob_sorted_and_examples(tmp_path):
    paths, total = _write_files(str(tmp_path), sizes=[3, 4], example=True)
    source = TFRecordDataSource(str(tmp_path / "part-*.tfrecord"))
    assert source.paths == tuple(sorted(paths))
    assert len(source) == total
    for i in range(total):
        record = source[i]
        assert set(record) == {"n", "name"}
        np.testing.assert_array_equal(record["n"], [i])
        assert record["name"].tolist() == [f"record {i}".encode()]
    assert [int(r["n"][0]) for r in source.__getitems__([6, 0, 3])] == [6, 0, 3]
    raw = TFRecordDataSource(paths, kind="raw")
    assert raw[0] == tfrec.serialize_example({"n": 0, "name": "record 0"})
    with pytest.raises(FileNotFoundError):
        TFRecordDataSource(str(tmp_path / "nothing-*.tfrecord"))


def test_crc_checked(tmp_path):
    paths, total = _write_files(str(tmp_path), sizes=[4, 4])
    with open(paths[1], "r+b") as f:
        f.seek(-6, os.SEEK_END)  # inside the last record's payload
        byte = f.read(1)
        f.seek(-6, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0xFF]))
    source = TFRecordDataSource(paths)
    np.testing.assert_array_equal(source[6], [6, 36])
    with pytest.raises(tfrec.DataLossError) as e:
        source[7]
    assert e.value.path == paths[1] and e.value.index == 3
    with pytest.raises(tfrec.DataLossError):
        source.__getitems__([0, 1, 2, 3, 4, 5, 6, 7, 0])


def test_compressed_files_are_refused(tmp_path):
    path = str(tmp_path / "a.tfrecord.gz")
    with tfrec.Writer(path, compression="gzip", sync=False) as w:
        w.write(np.zeros(3))
    with pytest.raises(tfrec.InvalidInputError):
        TFRecordDataSource(path)


def test_pickles_without_open_files_and_repr_is_stable(files):
    paths, total = files
    source = TFRecordDataSource(paths)
    source[0]  # opens the files
    state = source.__getstate__()
    assert set(state) == {"paths", "kind", "lengths"}
    copy = pickle.loads(pickle.dumps(source))
    assert copy._files is None
    assert repr(copy) == repr(source) == repr(TFRecordDataSource(paths))
    assert repr(source).startswith("tfrec.grain.TFRecordDataSource(")
    assert all(repr(p) in repr(source) for p in paths)
    assert repr(TFRecordDataSource(paths, kind="raw")) != repr(source)
    assert len(copy) == total
    assert _ids(copy.__getitems__(range(total))) == list(range(total))


def test_changed_file_detected_after_unpickling(tmp_path):
    paths, _ = _write_files(str(tmp_path), sizes=[3, 3])
    blob = pickle.dumps(TFRecordDataSource(paths))
    with tfrec.Writer(paths[0], sync=False) as w:
        w.write(np.zeros(1))
    with pytest.raises(tfrec.InvalidInputError):
        pickle.loads(blob)[0]


def test_reopens_after_fork(files):
    paths, total = files
    source = TFRecordDataSource(paths)
    source[0]
    parent_files = source._files
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = False
        try:
            got = _ids(source.__getitems__(list(range(total))))
            ok = got == list(range(total)) and source._files is not parent_files
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert source._files is parent_files


def test_importing_tfrec_does_not_import_grain():
    code = "import sys, tfrec, tfrec.grain; print('grain' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_map_dataset_shuffle_batch(grain, files):
    paths, total = files
    source = TFRecordDataSource(paths)

    def epoch(seed):
        ds = grain.MapDataset.source(source).shuffle(seed=seed).batch(4)
        ids = []
        for batch in ds:
            assert batch.shape[1:] == (2,) and batch.dtype == np.int64
            np.testing.assert_array_equal(batch[:, 1], batch[:, 0] ** 2)
            ids.extend(int(i) for i in batch[:, 0])
        return ids

    first = epoch(7)
    assert sorted(first) == list(range(total))  # every record exactly once
    assert first != list(range(total))  # shuffled
    assert epoch(7) == first  # the same seed, the same order
    assert epoch(8) != first


def test_data_loader_two_workers(grain, tmp_path):
    paths, total = _write_files(str(tmp_path), sizes=[50, 0, 73, 31])
    source = TFRecordDataSource(paths)

    class WithPid(grain.transforms.Map):
        def map(self, element):
            return np.append(element, os.getpid())

    sampler = grain.samplers.IndexSampler(
        num_records=len(source),
        shard_options=grain.sharding.NoSharding(),
        shuffle=True,
        num_epochs=1,
        seed=3,
    )
    loader = grain.DataLoader(
        data_source=source,
        sampler=sampler,
        operations=[WithPid(), grain.transforms.Batch(batch_size=8)],
        worker_count=2,
    )
    ids, pids = [], set()
    for batch in loader:
        np.testing.assert_array_equal(batch[:, 1], batch[:, 0] ** 2)
        ids.extend(int(i) for i in batch[:, 0])
        pids.update(int(p) for p in batch[:, 2])
    assert sorted(ids) == list(range(total))  # every record exactly once per epoch
    assert ids != list(range(total))
    assert len(pids) == 2 and os.getpid() not in pids  # read in the two workers


def test_data_loader_checkpoint_restores_with_a_new_source(grain, tmp_path):
    paths, total = _write_files(str(tmp_path), sizes=[10, 13])

    def loader():
        # A source made afresh, as after a restart: its repr must match.
        return grain.DataLoader(
            data_source=TFRecordDataSource(paths),
            sampler=grain.samplers.IndexSampler(
                num_records=total, shuffle=True, seed=5, num_epochs=1
            ),
            operations=[grain.transforms.Batch(batch_size=4)],
            worker_count=0,
        )

    it = iter(loader())
    seen = [int(i) for _ in range(2) for i in next(it)[:, 0]]
    state = it.get_state()
    restored = iter(loader())
    restored.set_state(state)
    rest = [int(i) for batch in restored for i in batch[:, 0]]
    assert sorted(seen + rest) == list(range(total))
    # The same records under other paths: not the source the state was saved from.
    copies = tmp_path / "copies"
    copies.mkdir()
    _write_files(str(copies), sizes=[10, 13])
    other = grain.DataLoader(
        data_source=TFRecordDataSource(str(copies / "*.tfrecord")),
        sampler=grain.samplers.IndexSampler(num_records=total, shuffle=True, seed=5, num_epochs=1),
        operations=[grain.transforms.Batch(batch_size=4)],
        worker_count=0,
    )
    with pytest.raises(ValueError, match="repr"):
        iter(other).set_state(state)
