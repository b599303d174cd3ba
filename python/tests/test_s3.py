"""Object storage from Python: `s3://` URLs in Reader, Writer, ShardedWriter
and Dataset against a real S3-compatible server (moto) on 127.0.0.1 that
this module starts and stops on a free port; `http://` through a small
range-serving server of the test's own."""

from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tfrec

BUCKET = "tfrec-py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto server and a boto3 client; the AWS_* variables point at it."""
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(server):
        if os.environ.get("TFREC_REQUIRE_S3") == "1":
            pytest.fail(f"TFREC_REQUIRE_S3=1 but {server} is missing")
        pytest.skip("moto is not installed (set TFREC_REQUIRE_S3=1 to require it)")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "tfrec-py-key",
        "AWS_SECRET_ACCESS_KEY": "tfrec-py-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def keys(client, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_writer_and_reader_over_s3(s3):
    url = f"s3://{BUCKET}/one/a.tfrecord"
    arrays = [np.arange(i * 3, dtype=np.float64).reshape(i, 3) for i in range(12)]
    with tfrec.Writer(url) as w:
        for a in arrays:
            w.write(a)
        w.write_example({"label": 7})
    assert keys(s3, "one/") == ["one/a.tfrecord"]
    r = tfrec.Reader(url)
    assert len(r) == 13
    got = list(r)
    for a, b in zip(arrays, got[:12]):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    assert got[12]["label"].tolist() == [7]
    assert np.array_equal(r[5], arrays[5]) and np.array_equal(r[-2], arrays[11])
    assert r.raw(0) == tfrec.serialize_tensor(arrays[0])


def test_compressed_object(s3):
    url = f"s3://{BUCKET}/gz/a.tfrecord.gz"
    with tfrec.Writer(url, compression="gzip") as w:
        for i in range(50):
            w.write(np.full(4, i, np.int32))
    assert [int(x[0]) for x in tfrec.Reader(url)] == list(range(50))


def test_an_exception_in_the_with_block_leaves_no_object(s3):
    url = f"s3://{BUCKET}/aborted/a.tfrecord"
    with pytest.raises(RuntimeError):
        with tfrec.Writer(url) as w:
            for i in range(1000):
                w.write(np.zeros(1024, np.uint8))
            raise RuntimeError("interrupted")
    assert keys(s3, "aborted/") == []


def test_sharded_writer_and_dataset_with_ranks_over_a_glob(s3):
    out = f"s3://{BUCKET}/shards"
    with tfrec.ShardedWriter(out, "train", shards=3) as w:
        for i in range(90):
            w.write(np.full(2, i, np.int64))
    names = [s["name"] for s in w.manifest["shards"]]
    assert names == [f"train-{i:05}-of-00003.tfrecord" for i in range(3)]
    listed = keys(s3, "shards/")
    assert "shards/train.manifest.json" in listed
    assert all(f"shards/{n}" in listed and f"shards/{n}.idx" in listed for n in names)
    pattern = f"{out}/train-*.tfrecord"
    parts = []
    for rank in range(2):
        ds = tfrec.Dataset(pattern, batch_size=8, shuffle=5, rank=rank, world=2)
        parts.append([int(x) for batch in ds for x in batch[:, 0]])
    assert not set(parts[0]) & set(parts[1])
    assert sorted(parts[0] + parts[1]) == list(range(90))
    assert abs(len(parts[0]) - len(parts[1])) <= 1
    assert parts[0] + parts[1] != sorted(parts[0] + parts[1])  # shuffled
    # Resuming mid-epoch over S3 gives the rest of the epoch.
    ds = tfrec.Dataset(pattern, batch_size=8, shuffle=5, rank=0, world=2)
    it = iter(ds)
    first = [int(x) for x in next(it)[:, 0]]
    state = ds.state_dict()
    again = tfrec.Dataset(pattern, batch_size=8, shuffle=5, rank=0, world=2)
    again.load_state_dict(state)
    assert first + [int(x) for batch in again for x in batch[:, 0]] == parts[0]


def test_tensorflow_reads_what_was_written_to_s3(s3, tf, tmp_path):
    url = f"s3://{BUCKET}/tf/a.tfrecord"
    arrays = [np.random.default_rng(i).standard_normal((3, i)).astype(np.float32) for i in range(6)]
    with tfrec.Writer(url) as w:
        for a in arrays:
            w.write(a)
    local = tmp_path / "a.tfrecord"
    s3.download_file(BUCKET, "tf/a.tfrecord", str(local))
    parsed = [
        tf.io.parse_tensor(r, tf.float32).numpy() for r in tf.data.TFRecordDataset(str(local))
    ]
    assert len(parsed) == len(arrays)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, parsed))


def test_missing_object_and_bucket(s3):
    with pytest.raises(FileNotFoundError) as info:
        tfrec.Reader(f"s3://{BUCKET}/nope.tfrecord")
    assert isinstance(info.value, tfrec.Error)
    assert f"s3://{BUCKET}/nope.tfrecord" in str(info.value)
    assert "tfrec-py-secret" not in str(info.value)
    with pytest.raises(tfrec.Error):
        list(tfrec.Reader("s3://no-such-bucket-here/x.tfrecord"))


def test_truncated_object_is_data_loss(s3):
    url = f"s3://{BUCKET}/cut/a.tfrecord"
    with tfrec.Writer(url) as w:
        for i in range(20):
            w.write(np.full(64, i, np.float32))
    body = s3.get_object(Bucket=BUCKET, Key="cut/a.tfrecord")["Body"].read()
    s3.put_object(Bucket=BUCKET, Key="cut/a.tfrecord", Body=body[: len(body) - 100])
    with pytest.raises(tfrec.DataLossError) as info:
        list(tfrec.Reader(url))
    assert info.value.index == 19
    assert url in str(info.value)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    data = b""

    def do_GET(self):  # noqa: N802 (the http.server API)
        self._answer(body=True)

    def do_HEAD(self):  # noqa: N802
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        data = self.data
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = int(m.group(2)) + 1 if m.group(2) else len(data)
            chunk = data[start:end]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
        else:
            chunk = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.wfile.write(chunk)

    def log_message(self, *args):
        pass


def test_https_style_urls_through_a_range_serving_server(tmp_path):
    path = tmp_path / "a.tfrecord"
    with tfrec.Writer(path, sync=False) as w:
        for i in range(30):
            w.write(np.full(3, i, np.int16))
    _RangeHandler.data = path.read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/a.tfrecord"
        r = tfrec.Reader(url)
        assert len(r) == 30
        assert [int(x[0]) for x in r] == list(range(30))
        assert int(r[17][0]) == 17
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
