"""Checkpoint download against a real local HTTP server: resume, restart, hash, offline."""

from __future__ import annotations

import hashlib
import random
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gcnet_core.weights import download
from gcnet_core.weights.download import (
    CheckpointError,
    ChecksumError,
    DownloadError,
    cached_checkpoint,
    download_checkpoint,
    import_checkpoint,
)
from gcnet_core.weights.zoo import ZOO

PAYLOAD = random.Random(0).randbytes(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
FILENAME = f"gcnet_test_20200101_000000-{PAYLOAD_SHA[:8]}.pth"
WRONG_SHA = "0" * 8 if not PAYLOAD_SHA.startswith("0" * 8) else "f" * 8


class _Handler(BaseHTTPRequestHandler):
    """Serves PAYLOAD at /ckpt.pth with Range support and an optional early cut."""

    server: _Server

    def do_GET(self):  # noqa: N802 (http.server's naming)
        srv = self.server
        srv.seen_ranges.append(self.headers.get("Range"))
        if self.path != "/ckpt.pth":
            self.send_error(404)
            return
        start, status = 0, 200
        requested = self.headers.get("Range")
        if requested and not srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested).group(1))
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = PAYLOAD[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))  # always the full length...
        self.end_headers()
        cut, srv.cut_after = srv.cut_after, None  # ...but maybe cut on this request only
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen_ranges: list[str | None] = []
        self.cut_after: int | None = None
        self.ignore_range = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/ckpt.pth"


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GCNET_CACHE_DIR", str(folder))
    return folder


def _fetch(server, sha=PAYLOAD_SHA[:8], **kw):
    return download_checkpoint(server.url, FILENAME, sha, timeout=5, **kw)


def test_plain_download_reports_progress(server, cache, monkeypatch):
    monkeypatch.setattr(download, "CHUNK_SIZE", 64 * 1024)
    calls = []
    path = _fetch(server, progress=lambda done, total: calls.append((done, total)))
    assert path == cache / FILENAME
    assert path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache.iterdir()) == [FILENAME]  # no .part left behind
    assert server.seen_ranges == [None]
    assert len(calls) >= 5
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(total == len(PAYLOAD) for _, total in calls)


@pytest.mark.parametrize("sha", [PAYLOAD_SHA[:8], None], ids=["hashed", "unhashed"])
def test_cut_download_keeps_part_then_resumes(server, cache, sha):
    server.cut_after = 100_000
    with pytest.raises(DownloadError) as info:
        _fetch(server, sha=sha)
    part = cache / (FILENAME + ".part")
    assert part.read_bytes() == PAYLOAD[:100_000]
    assert not (cache / FILENAME).exists()  # a truncated file never gets the final name
    assert "resume" in str(info.value) and server.url in str(info.value)

    calls = []
    path = _fetch(server, sha=sha, progress=lambda d, t: calls.append((d, t)))
    assert server.seen_ranges == [None, "bytes=100000-"]
    assert path.read_bytes() == PAYLOAD
    assert not part.exists()
    assert calls[0] == (100_000, len(PAYLOAD)) and calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_server_ignoring_range_restarts_from_zero(server, cache):
    cache.mkdir()
    (cache / (FILENAME + ".part")).write_bytes(b"x" * 50_000)  # junk that must not survive
    server.ignore_range = True
    path = _fetch(server)
    assert server.seen_ranges == ["bytes=50000-"]
    assert path.read_bytes() == PAYLOAD


def test_range_not_satisfiable_with_whole_part_is_verified_and_kept(server, cache):
    cache.mkdir()
    (cache / (FILENAME + ".part")).write_bytes(PAYLOAD)
    path = _fetch(server)
    assert server.seen_ranges == [f"bytes={len(PAYLOAD)}-"]
    assert path.read_bytes() == PAYLOAD


def test_range_not_satisfiable_with_oversized_part_restarts(server, cache):
    cache.mkdir()
    (cache / (FILENAME + ".part")).write_bytes(b"y" * (len(PAYLOAD) + 10))
    path = _fetch(server, sha=None)
    assert server.seen_ranges == [f"bytes={len(PAYLOAD) + 10}-", None]
    assert path.read_bytes() == PAYLOAD


def test_hash_mismatch_leaves_nothing_in_cache(server, cache):
    with pytest.raises(ChecksumError) as info:
        _fetch(server, sha=WRONG_SHA)
    message = str(info.value)
    assert FILENAME in message and WRONG_SHA in message and PAYLOAD_SHA[:8] in message
    assert list(cache.iterdir()) == []


def test_unreachable_server_explains_offline_route(cache):
    with socket.socket() as sock:  # grab a free port, then leave nothing listening on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ckpt.pth"
    with pytest.raises(DownloadError) as info:
        download_checkpoint(url, FILENAME, None, timeout=5, model_name="gcnet_x")
    message = str(info.value)
    assert url in message
    assert "--checkpoint" in message and "gcnet download gcnet_x --from" in message
    assert isinstance(info.value, CheckpointError)
    assert list(cache.iterdir()) == []


def test_http_error_is_a_download_error(server, cache):
    with pytest.raises(DownloadError, match="404"):
        download_checkpoint(server.url.replace("ckpt", "missing"), FILENAME, None, timeout=5)


def test_import_accepts_good_file_and_rejects_bad_one(cache, tmp_path):
    good = tmp_path / "good.pth"
    good.write_bytes(PAYLOAD)
    path = import_checkpoint(FILENAME, good, PAYLOAD_SHA[:8])
    assert path == cache / FILENAME and path.read_bytes() == PAYLOAD

    other = "other_20200101_000000-12345678.pth"
    bad = tmp_path / "bad.pth"
    bad.write_bytes(PAYLOAD[:-1])
    with pytest.raises(ChecksumError, match="bad.pth"):
        import_checkpoint(other, bad, PAYLOAD_SHA[:8])
    assert sorted(p.name for p in cache.iterdir()) == [FILENAME]

    with pytest.raises(CheckpointError, match="no such file"):
        import_checkpoint(other, tmp_path / "absent.pth", None)


def test_cached_checkpoint_only_sees_final_files(cache):
    entry = ZOO[0]
    cache.mkdir()
    (cache / (entry.checkpoint_filename + ".part")).write_bytes(b"partial")
    assert cached_checkpoint(entry) is None
    (cache / entry.checkpoint_filename).write_bytes(b"whole")
    assert cached_checkpoint(entry) == cache / entry.checkpoint_filename


def test_every_zoo_file_name_carries_the_hash_its_download_is_checked_against():
    assert all(e.checkpoint_filename.endswith(f"-{e.sha256_prefix}.pth") for e in ZOO)
