"""The detector fetched on first use, through a local HTTP server standing in for the mirror
(``MMNET_EDGE_MODEL_MIRROR``): never the internet. The served file is the shared test copy
of the pinned model (../shared/models), so its SHA-256 is the pin."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmnet_edge.align.model_fetch import YUNET, cached_path, sha256_of, verified_cached
from mmnet_edge.align.model_path import resolve_detector_model
from mmnet_edge.errors import DetectorUnavailableError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "models" / "face_detection_yunet.onnx"
pytestmark = pytest.mark.skipif(not SHARED.is_file(), reason="../shared/models not present")


class _Handler(http.server.BaseHTTPRequestHandler):
    payload: bytes = b""
    hits: dict[str, int] = {}  # noqa: RUF012 - shared by the server's threads on purpose

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        mode = self.path.strip("/").split("/")[0]
        type(self).hits[mode] = type(self).hits.get(mode, 0) + 1
        body = self.payload
        if mode == "missing":
            self.send_error(404)
            return
        if mode == "bad":
            body = body[:-10] + b"0123456789"  # same size, other bytes
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "drop":  # the connection dies half way through the file
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if mode == "slow":  # long enough for a second process to arrive meanwhile
            for i in range(0, len(body), 16384):
                self.wfile.write(body[i : i + 16384])
                time.sleep(0.05)
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    _Handler.payload = SHARED.read_bytes()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture()
def env(tmp_path, monkeypatch, server):
    monkeypatch.delenv("MMNET_EDGE_FACE_DETECTOR", raising=False)
    monkeypatch.delenv("MMNET_EDGE_OFFLINE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    _Handler.hits.clear()

    def mirror(mode: str) -> None:
        monkeypatch.setenv("MMNET_EDGE_MODEL_MIRROR", f"{server}/{mode}")

    return mirror


def test_the_shared_test_copy_is_the_pinned_file():
    assert sha256_of(SHARED) == YUNET.sha256 and SHARED.stat().st_size == YUNET.size


def test_first_use_fetches_verifies_and_caches(env, tmp_path):
    env("good")
    path = resolve_detector_model(progress=False)
    assert path == tmp_path / "cache" / "mmnet-edge" / "models" / YUNET.file  # XDG honoured
    assert sha256_of(path) == YUNET.sha256
    assert resolve_detector_model(progress=False) == path  # second use: no download
    assert _Handler.hits == {"good": 1}
    assert not any(p.name.startswith("tmp") for p in path.parent.iterdir())  # no temp left


@pytest.mark.parametrize(
    ("mode", "match"),
    [("bad", "SHA256|hash"), ("missing", "404"), ("drop", "could not fetch")],
)
def test_a_failed_fetch_is_a_typed_error_and_leaves_nothing(env, mode, match):
    env(mode)
    with pytest.raises(DetectorUnavailableError, match=match) as err:
        resolve_detector_model(progress=False)
    assert "doctor --fetch" in str(err.value) and "MMNET_EDGE_MODEL_MIRROR" in str(err.value)
    assert verified_cached() is None
    assert not cached_path().exists()  # nothing half-written is left to be used later


def test_a_corrupt_cached_file_is_fetched_again_or_refused_offline(env, monkeypatch):
    env("good")
    path = resolve_detector_model(progress=False)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # bit rot
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")
    with pytest.raises(DetectorUnavailableError, match="corrupt .SHA-256 mismatch.*OFFLINE"):
        resolve_detector_model(progress=False)
    monkeypatch.delenv("MMNET_EDGE_OFFLINE")
    assert sha256_of(resolve_detector_model(progress=False)) == YUNET.sha256
    assert _Handler.hits == {"good": 2}


def test_offline_never_touches_the_network_and_says_how_to_prefetch(env, monkeypatch):
    env("good")
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")
    with pytest.raises(DetectorUnavailableError, match="not in the cache") as err:
        resolve_detector_model(progress=False)
    assert "mmnet-edge doctor --fetch" in str(err.value)
    assert _Handler.hits == {}


def test_an_explicit_path_wins_and_a_missing_one_is_an_error(env, tmp_path, monkeypatch):
    env("missing")  # would fail if it were used
    assert resolve_detector_model(SHARED) == SHARED
    monkeypatch.setenv("MMNET_EDGE_FACE_DETECTOR", str(tmp_path / "nope.onnx"))
    with pytest.raises(DetectorUnavailableError, match="MMNET_EDGE_FACE_DETECTOR"):
        resolve_detector_model()
    assert _Handler.hits == {}


def test_two_processes_fetching_at_once_download_once(env, tmp_path):
    env("slow")
    code = (
        "from mmnet_edge.align.model_path import resolve_detector_model as r;"
        "print(r(progress=False))"
    )
    envs = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=envs, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] and sha256_of(Path(outs[0])) == YUNET.sha256
    assert _Handler.hits == {"slow": 1}  # the second waited on the lock, then used the file


def test_doctor_fetch_prefetches_for_offline_machines(env, monkeypatch):
    from mmnet_edge.cli import cli

    env("good")
    res = CliRunner().invoke(cli, ["doctor", "--fetch"])
    assert res.exit_code == 0, res.output
    assert YUNET.file in res.output and str(cached_path()) in res.output
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")
    assert resolve_detector_model(progress=False) == cached_path()
    env("missing")
    cached_path().unlink()
    monkeypatch.delenv("MMNET_EDGE_OFFLINE")
    res = CliRunner().invoke(cli, ["doctor", "--fetch"])
    # a typed error: the console entry point prints it as one line, exit code 1
    assert isinstance(res.exception, DetectorUnavailableError) and "404" in str(res.exception)
