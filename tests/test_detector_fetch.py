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
    assert path.stat().st_mode & 0o777 == 0o644  # other users (a kiosk service) can read it


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("bad", "does not match the pinned SHA-256"),
        ("missing", "HTTP 404"),
        ("drop", "broke off before the end of the file"),
    ],
)
def test_a_failed_fetch_is_a_typed_error_and_leaves_nothing(env, mode, match):
    env(mode)
    with pytest.raises(DetectorUnavailableError, match=match) as err:
        resolve_detector_model(progress=False)
    assert "doctor --fetch" in str(err.value) and "MMNET_EDGE_MODEL_MIRROR" in str(err.value)
    assert verified_cached() is None
    assert not cached_path().exists()  # nothing half-written is left to be used later
    assert [p.name for p in cached_path().parent.iterdir()] == [YUNET.file + ".lock"]


def test_a_corrupt_cached_file_is_fetched_again_or_refused_offline(env, monkeypatch):
    env("good")
    path = resolve_detector_model(progress=False)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # bit rot
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")
    with pytest.raises(
        DetectorUnavailableError, match="corrupt in the cache.*SHA-256 mismatch.*OFFLINE"
    ):
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


def test_a_mirror_may_be_a_local_folder(env, tmp_path, monkeypatch):
    share = tmp_path / "share"  # a mounted share holding the pinned file under its name
    share.mkdir()
    (share / YUNET.file).write_bytes(SHARED.read_bytes())
    monkeypatch.setenv("MMNET_EDGE_MODEL_MIRROR", str(share))
    assert sha256_of(resolve_detector_model(progress=False)) == YUNET.sha256
    cached_path().unlink()
    (share / YUNET.file).write_bytes(SHARED.read_bytes()[:-1])  # a truncated copy is refused
    with pytest.raises(DetectorUnavailableError, match="does not match the pinned SHA-256"):
        resolve_detector_model(progress=False)
    assert _Handler.hits == {}


def test_prefetch_into_a_folder_for_a_kiosk_image(env, tmp_path, monkeypatch):
    from mmnet_edge.cli import cli

    env("good")
    image = tmp_path / "image-cache"
    res = CliRunner().invoke(cli, ["doctor", "--fetch", "--cache-dir", str(image)])
    assert res.exit_code == 0, res.output
    fetched = image / "models" / YUNET.file
    assert sha256_of(fetched) == YUNET.sha256 and "MMNET_EDGE_CACHE_DIR" in res.output
    assert not cached_path().exists()  # the user cache was left alone
    # on the device: the folder, the variable, no network
    monkeypatch.setenv("MMNET_EDGE_CACHE_DIR", str(image))
    monkeypatch.setenv("MMNET_EDGE_OFFLINE", "1")
    assert resolve_detector_model(progress=False) == fetched
    assert _Handler.hits == {"good": 1}


def test_an_unwritable_cache_is_a_typed_error(env, tmp_path, monkeypatch):
    env("good")
    blocker = tmp_path / "not-a-folder"  # fails for root too, unlike a chmod
    blocker.write_text("")
    monkeypatch.setenv("MMNET_EDGE_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(DetectorUnavailableError, match="cannot write the model cache") as err:
        resolve_detector_model(progress=False)
    assert "MMNET_EDGE_CACHE_DIR" in str(err.value)
    assert _Handler.hits == {}


def test_doctor_says_where_the_detector_comes_from_and_never_downloads(env, monkeypatch):
    import json

    from mmnet_edge.cli import cli

    def detector_check() -> dict:
        res = CliRunner().invoke(cli, ["doctor", "--json"])
        assert res.exit_code == 0, res.output
        return next(c for c in json.loads(res.output)["checks"] if c["name"] == "face detector")

    env("good")
    det = detector_check()
    assert (
        not det["ok"] and "not fetched yet" in det["detail"] and "doctor --fetch" in det["detail"]
    )
    assert _Handler.hits == {}  # plain doctor reports only
    resolve_detector_model(progress=False)
    det = detector_check()
    assert det["ok"] and "verified cache" in det["detail"] and str(cached_path()) in det["detail"]
    cached_path().write_bytes(b"not yunet")
    assert "corrupt" in detector_check()["detail"]
    monkeypatch.setenv("MMNET_EDGE_FACE_DETECTOR", str(SHARED))
    det = detector_check()
    assert det["ok"] and "$MMNET_EDGE_FACE_DETECTOR" in det["detail"]


def test_the_demo_photo_step_says_why_it_was_skipped(env, capsys, tiny_checkpoint, tmp_path):
    """Without network (here: a mirror without the file) the demo's photo step is skipped
    with one line saying why and how to enable it, never silently."""
    pytest.importorskip("skimage")
    from mmnet_edge.demo import _predict_photo
    from mmnet_edge.export.onnx import export_onnx

    onnx = export_onnx(tiny_checkpoint, tmp_path / "m.onnx").path
    env("missing")
    result = _predict_photo(onnx, None)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "skipped" in ln]
    assert result["status"] == "skipped" and "HTTP 404" in result["error"]
    assert "could not be fetched" in line and "mmnet-edge doctor --fetch" in line
    assert "MMNET_EDGE_MODEL_MIRROR" in line and "--detector PATH" in line
