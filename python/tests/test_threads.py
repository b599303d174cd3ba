"""The GIL is released during long calls; the thread pool survives fork;
spawned processes work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import tfrec


def progress_during(call) -> int:
    """How many times a second Python thread got to run while `call` ran.

    The other thread sleeps briefly between increments (releasing the
    GIL). The switch interval is raised so that the interpreter never takes
    the GIL away from running Python code: the other thread runs only while
    `call` (or the sleep) releases it. If `call` held the GIL throughout,
    the count stays at 0 (the probe test allows 2).
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    try:
        return _progress_during(call)
    finally:
        sys.setswitchinterval(interval)


def _progress_during(call) -> int:
    counter = 0
    stop = threading.Event()

    def count():
        nonlocal counter
        while not stop.is_set():
            counter += 1
            time.sleep(0.0001)

    t = threading.Thread(target=count)
    t.start()
    while counter == 0:
        time.sleep(0.001)
    before = counter
    call()
    after = counter
    stop.set()
    t.join()
    return after - before


def test_the_probe_sees_a_call_that_holds_the_gil():
    import pickle

    strings = [str(i) for i in range(2_000_000)]
    assert progress_during(lambda: pickle.dumps(strings)) <= 2


def test_writing_compressed_releases_the_gil(tmp_path):
    payload = np.random.default_rng(0).integers(0, 256, 24 << 20, dtype=np.uint8).tobytes()
    w = tfrec.Writer(tmp_path / "big.tfrecord", compression="gzip", sync=False)
    assert progress_during(lambda: w.write_raw(payload)) > 2
    w.close()


def test_serializing_and_writing_large_arrays_releases_the_gil(tmp_path):
    big = np.ones((4096, 4096), dtype=np.float32)

    def serialize_many():
        for _ in range(3):
            tfrec.serialize_tensor(big)

    assert progress_during(serialize_many) > 2
    with tfrec.Writer(tmp_path / "big.tfrecord", sync=False) as w:
        assert progress_during(lambda: [w.write(big) for _ in range(3)]) > 2
    assert tfrec.Reader(tmp_path / "big.tfrecord")[2].shape == (4096, 4096)


def test_counting_a_compressed_file_releases_the_gil(tmp_path):
    path = tmp_path / "many.tfrecord"
    with tfrec.Writer(path, compression="gzip", sync=False) as w:
        for i in range(200_000):
            w.write_raw(i.to_bytes(4, "little") * 8)
    r = tfrec.Reader(path)
    assert progress_during(lambda: len(r)) > 2
    assert len(r) == 200_000


def test_decoding_releases_the_gil(tmp_path):
    data = tfrec.serialize_tensor(np.ones(64 << 20, dtype=np.float32))

    def decode_many():
        for _ in range(3):
            tfrec.parse_tensor(data)

    assert progress_during(decode_many) > 2


def test_reading_a_chunk_releases_the_gil(tmp_path):
    path = tmp_path / "c.tfrecord"
    with tfrec.Writer(path, compression="zlib", sync=False) as w:
        for i in range(1000):
            w.write(np.full(50_000, i, dtype=np.int32))
    # Each chunk (up to 8 MiB here) is read and decoded with the GIL released.
    assert progress_during(lambda: sum(1 for _ in tfrec.Reader(path))) > 2


SCRIPT = textwrap.dedent(
    r'''
    import multiprocessing as mp, os, sys
    import numpy as np
    import tfrec

    def work(path):
        total = 0
        for x in tfrec.Reader(path):
            total += int(x.sum())
        out = path + f".{os.getpid()}.out"
        with tfrec.ShardedWriter(os.path.dirname(path), f"s{os.getpid()}", shards=2, sync=False) as w:
            for i in range(300):
                w.write(np.int64(i))
        return total, tfrec.num_threads()

    if __name__ == "__main__":
        path = sys.argv[1]
        with tfrec.Writer(path, sync=False) as w:
            for i in range(5000):
                w.write(np.full(4, i, dtype=np.int64))
        expected = 4 * sum(range(5000))
        assert work(path)[0] == expected  # the pool is built and used here
        pid = os.fork()
        if pid == 0:
            try:
                ok = work(path)[0] == expected
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0, status
        for method in ("fork", "spawn", "forkserver"):
            with mp.get_context(method).Pool(2) as pool:
                results = pool.map(work, [path] * 3)
            assert all(total == expected for total, _ in results), (method, results)
        os.environ["TFREC_NUM_THREADS"] = "3"
        with mp.get_context("spawn").Pool(1) as pool:
            assert pool.map(work, [path])[0][1] == 3
        print("ok")
    '''
)


def test_fork_spawn_and_forkserver(tmp_path):
    script = tmp_path / "forking.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "data.tfrecord")],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"
