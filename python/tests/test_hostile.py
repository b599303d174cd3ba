"""Hostile inputs never crash the interpreter: a child process reads mutated
files and payloads and must only see tfrec errors (or TypeError/ValueError/
IndexError for wrong arguments), then exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    r'''
    import os, random, struct, sys, tempfile
    import numpy as np
    import tfrec

    ALLOWED = (tfrec.Error, TypeError, ValueError, IndexError)
    rng = random.Random(int(sys.argv[1]))
    rounds = int(sys.argv[2])
    tmp = tempfile.mkdtemp()

    def valid_records():
        out = [
            tfrec.serialize_tensor(np.arange(7, dtype=np.float32)),
            tfrec.serialize_tensor(np.array([b"ab", b""], dtype=object).reshape(1, 2)),
            tfrec.serialize_tensor(np.zeros((2, 3), dtype=np.complex64)),
            tfrec.serialize_tensor(np.array(True)),
            tfrec.serialize_example({"a": [1, 2], "b": [0.5], "c": [b"x", b"yy"]}),
            b"\x0a\x00\x12\x0c\x0a\x0a\x0a\x01t\x12\x05\x0a\x03\x0a\x01z",
            b"raw \xff bytes",
        ]
        return out

    def mutate(data):
        data = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(6)
            if op == 0 and data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 1 and data:
                data[rng.randrange(len(data))] = rng.choice([0, 0x7F, 0x80, 0xFF])
            elif op == 2 and data:
                del data[rng.randrange(len(data)):]
            elif op == 3:
                pos = rng.randrange(len(data) + 1)
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
            elif op == 4 and len(data) >= 8:
                # a length bomb: a huge frame length (or varint) somewhere
                pos = rng.randrange(len(data) - 7)
                data[pos:pos + 8] = struct.pack("<Q", rng.choice([2**63 - 1, 2**40, 2**32 + 5, 10**9]))
            elif op == 5 and data:
                pos = rng.randrange(len(data))
                data[pos:pos] = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
        return bytes(data)

    def exercise_file(path):
        for kind in (None, "tensor", "example", "sequence", "raw"):
            try:
                r = tfrec.Reader(path, kind=kind)
                for _ in r:
                    pass
            except ALLOWED:
                pass
        try:
            r = tfrec.Reader(path)
            n = len(r)
            for i in (0, n // 2, n - 1, -1, n):
                try:
                    r[i]
                    r.raw(i)
                except ALLOWED:
                    pass
        except ALLOWED:
            pass

    records = valid_records()
    for compression in (None, "gzip", "zlib"):
        path = os.path.join(tmp, f"valid-{compression}.tfrecord")
        with tfrec.Writer(path, compression=compression, sync=False) as w:
            for p in records * 3:
                w.write_raw(p)
        valid = open(path, "rb").read()
        for _ in range(rounds):
            bad = os.path.join(tmp, "bad.tfrecord")
            with open(bad, "wb") as f:
                f.write(mutate(valid))
            exercise_file(bad)

    for _ in range(rounds * 20):
        payload = mutate(rng.choice(records))
        try:
            tfrec.parse_tensor(payload)
        except ALLOWED:
            pass

    # wrong argument types
    wrong = [None, 1.5, "s", object(), [object()], {"a": object()}, b"x", np.zeros(2, "datetime64[s]")]
    for value in wrong:
        for call in (
            lambda: tfrec.serialize_tensor(value),
            lambda: tfrec.parse_tensor(value),
            lambda: tfrec.serialize_example(value),
            lambda: tfrec.Reader(value),
            lambda: tfrec.Reader(os.path.join(tmp, "valid-None.tfrecord"), kind=value),
            lambda: tfrec.Writer(os.path.join(tmp, "w.tfrecord"), compression=value),
            lambda: tfrec.ShardedWriter(tmp, "s", shards=value),
        ):
            try:
                call()
            except ALLOWED:
                pass
    with tfrec.Writer(os.path.join(tmp, "w2.tfrecord"), sync=False) as w:
        for value in wrong:
            for method in (w.write, w.write_example, w.write_raw):
                try:
                    method(value)
                except ALLOWED:
                    pass
    print("ok")
    '''
)


def test_hostile_inputs_only_raise_tfrec_errors(tmp_path):
    env = dict(os.environ)
    for seed in (1, 2, 3):
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(seed), "250"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip() == "ok"


SHRINKING = textwrap.dedent(
    r'''
    import os, sys
    import numpy as np
    import tfrec

    path = sys.argv[1]
    with tfrec.Writer(path, sync=False) as w:
        for i in range(20000):
            w.write(np.full(64, i, dtype=np.int64))
    r = tfrec.Reader(path)
    assert len(r) == 20000
    it = iter(r)
    next(it)
    os.truncate(path, 1000)  # another process cuts the file under the reader
    try:
        for _ in it:
            pass
        r[19999]
    except tfrec.Error:
        pass
    print("ok")
    '''
)


def test_a_file_truncated_while_read_is_an_error_not_a_crash(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SHRINKING, str(tmp_path / "shrink.tfrecord")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"
