"""``mmnet-edge serve``: a real Triton (PyTriton) on 127.0.0.1 serving the tiny model's ONNX.

The server runs as a subprocess of the CLI on free ports. Where the ``[serve]`` extra is not
installed, or the bundled Triton cannot run here for an environment reason the server names
(numpy 2 under PyTriton ≤ 0.7, a Python without a shared libpython), the server tests skip
with that reason.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mmnet_edge.cli import cli
from mmnet_edge.errors import BackendUnavailableError, InputError, NoFaceError
from mmnet_edge.serve.environment import (
    check_ports,
    free_port,
    port_is_free,
    prepare_stub_environment,
)

REPO = Path(__file__).resolve().parents[1]
#: server-side reasons that mean "this environment cannot run PyTriton's Triton", not a bug
ENVIRONMENT_REASONS = ("numpy", "shared libpython")


# --- no server needed ---------------------------------------------------------------------


def test_stub_environment_puts_this_interpreters_libpython_first() -> None:
    libdir = sysconfig.get_config_var("LIBDIR")
    env = {"LD_LIBRARY_PATH": f"/opt/x:{libdir}"}
    try:
        value = prepare_stub_environment(env)
    except BackendUnavailableError as exc:  # a static Python: the error says what to use
        assert "--enable-shared" in str(exc)
        return
    parts = value.split(os.pathsep)
    assert parts[0] == libdir and parts.count(libdir) == 1 and "/opt/x" in parts
    assert (Path(libdir) / sysconfig.get_config_var("LDLIBRARY")).exists()
    assert prepare_stub_environment(env) == value  # idempotent


def test_taken_port_is_named() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert not port_is_free("127.0.0.1", taken)
        ports = {"http_port": free_port(), "grpc_port": taken, "metrics_port": free_port()}
        with pytest.raises(BackendUnavailableError, match=f"port {taken} .*--grpc-port"):
            check_ports("127.0.0.1", ports)


def test_serve_without_the_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "pytriton", None)
    res = CliRunner().invoke(cli, ["serve", str(model)])
    assert res.exit_code != 0 and "mmnet-edge[serve]" in res.output


# --- a real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmnet_edge.export import ExportSettings, export_model

    out = tmp_path_factory.mktemp("serve-model")
    return export_model(tiny_checkpoint, out, ExportSettings(validate=False)).onnx


class Served:
    def __init__(self, proc: subprocess.Popen, ports: dict[str, int], log: Path) -> None:
        self.proc, self.ports, self.log = proc, ports, log
        self.grpc = f"grpc://127.0.0.1:{ports['grpc']}"
        self.http = f"http://127.0.0.1:{ports['http']}"
        self.metrics = f"http://127.0.0.1:{ports['metrics']}/metrics"


@pytest.fixture(scope="module")
def server(
    onnx_model: Path, detector_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    pytest.importorskip("pytriton", reason="nvidia-pytriton (the [serve] extra) not installed")
    pytest.importorskip("tritonclient.grpc", reason="tritonclient (the [serve] extra) missing")
    from mmnet_edge.serve import Client

    ports = {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    args = [
        sys.executable, "-c", "from mmnet_edge.cli import main; main()", "serve",
        str(onnx_model), "--http-port", str(ports["http"]), "--grpc-port", str(ports["grpc"]),
        "--metrics-port", str(ports["metrics"]), "--detector", str(detector_model_path),
        "--queue-delay-us", "2000", "--max-batch", "8", "--pair-instances", "8",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT)
    served = Served(proc, ports, log)
    deadline = time.monotonic() + 180
    client = Client(served.grpc)
    try:
        # "serving …" is printed after the server's own end-to-end self-check
        while "serving" not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                text = log.read_text(errors="replace")
                last = [ln for ln in text.splitlines() if "error:" in ln] or text.splitlines()[-3:]
                reason = " ".join(last)[-600:]
                if any(r in reason for r in ENVIRONMENT_REASONS):
                    pytest.skip(f"PyTriton's Triton cannot serve in this environment: {reason}")
                pytest.fail(f"mmnet-edge serve exited ({proc.returncode}): {text[-3000:]}")
            assert time.monotonic() < deadline, "server not ready after 180 s"
            time.sleep(0.3)
        assert client.is_ready()
        yield served
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, np.ndarray]]:
    """Onset/apex RGB pairs with a face: synthetic held-out faces of two sizes."""
    from mmnet_edge.synth import heldout_pairs

    out = [(on, ap) for on, ap, _ in heldout_pairs(3, 224)]
    out += [(on, ap) for on, ap, _ in heldout_pairs(2, 160, seed=7)]
    return out


@pytest.fixture(scope="module")
def runtime(onnx_model: Path, detector_model_path: Path) -> Iterator[object]:
    from mmnet_edge import Runtime

    with Runtime(onnx_model, detector=str(detector_model_path), color="rgb") as rt:
        yield rt


def _metrics(url: str, model: str) -> dict[str, float]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    out = {}
    for name in ("nv_inference_request_success", "nv_inference_exec_count", "nv_inference_count"):
        m = re.search(rf'^{name}{{model="{model}",version="1"}} (\S+)$', text, re.M)
        assert m, f"{name} for {model} missing from Triton's metrics"
        out[name] = float(m.group(1))
    return out


@pytest.mark.slow
def test_client_predictions_equal_runtime(
    server: Served, pairs: list, runtime: object, tmp_path: Path
) -> None:
    from mmnet_edge.serve import Client

    with Client(server.grpc, color="rgb") as client:
        assert client.class_names == runtime.class_names
        assert client.info()["max_batch"] == 8
        for on, ap in pairs:
            got, want = client.predict(on, ap), runtime.predict(on, ap)
            assert (got.label, got.index) == (want.label, want.index)
            np.testing.assert_allclose(got.logits, want.logits, rtol=1e-5, atol=1e-5)
            for name in runtime.class_names:
                assert got.probabilities[name] == pytest.approx(want.probabilities[name], 1e-5)
            np.testing.assert_allclose(got.face_box, want.face_box, atol=1e-3)
        # files are sent encoded and decoded on the server like Runtime reads them
        on, ap = pairs[0]
        cv2.imwrite(str(tmp_path / "on.png"), on[:, :, ::-1])
        cv2.imwrite(str(tmp_path / "ap.png"), ap[:, :, ::-1])
        got = client.predict(tmp_path / "on.png", tmp_path / "ap.png")
        want = runtime.predict(str(tmp_path / "on.png"), str(tmp_path / "ap.png"))
        np.testing.assert_allclose(got.logits, want.logits, rtol=1e-5, atol=1e-5)
        # preprocessed tensors through the `mmnet` model
        tensors = runtime.to_tensors([p for pair in pairs[:2] for p in pair])
        onset, apex = tensors[0::2], tensors[1::2]
        preds = client.predict_tensors(onset, apex)
        ref = runtime.run_tensors(onset, apex)
        np.testing.assert_allclose(np.stack([p.logits for p in preds]), ref, atol=1e-5)
    # the same over HTTP
    with Client(server.http, color="rgb") as client:
        np.testing.assert_allclose(
            client.predict(*pairs[1]).logits, runtime.predict(*pairs[1]).logits, atol=1e-5
        )


@pytest.mark.slow
def test_concurrent_clients_are_batched(server: Served, pairs: list, runtime: object) -> None:
    from mmnet_edge.serve import Client

    expected = [runtime.predict(on, ap).index for on, ap in pairs]
    before = _metrics(server.metrics, "mmnet")
    failures: list[str] = []
    done = [0] * 8

    def worker(k: int) -> None:
        with Client(server.grpc, color="rgb") as client:
            for i in range(25):
                j = (k + i) % len(pairs)
                try:
                    pred = client.predict(*pairs[j])
                    if pred.index != expected[j]:
                        failures.append(f"client {k} request {i}: {pred.index} != {expected[j]}")
                    done[k] += 1
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    failures.append(f"client {k} request {i}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures, failures[:5]
    assert sum(done) == 200
    after = _metrics(server.metrics, "mmnet")
    requests = after["nv_inference_request_success"] - before["nv_inference_request_success"]
    executions = after["nv_inference_exec_count"] - before["nv_inference_exec_count"]
    assert requests == 200  # every pair went through the batched tensor model once
    assert after["nv_inference_count"] - before["nv_inference_count"] == 200
    assert executions < requests, "no two requests were ever batched together"


@pytest.mark.slow
def test_bad_requests_get_errors_and_the_server_keeps_serving(server: Served, pairs: list) -> None:
    """Shape/dtype/missing-input errors are Triton's own (400/INVALID_ARGUMENT); a request
    that is bad in content is answered 400 in its own reply (status/error outputs), never a
    500, and fails no other request."""
    import json as jsonlib

    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    from mmnet_edge.serve import Client

    raw = grpcclient.InferenceServerClient(server.grpc.removeprefix("grpc://"))

    def infer(model: str, **arrays: tuple[np.ndarray, str]) -> object:
        inputs = []
        for name, (arr, dtype) in arrays.items():
            t = grpcclient.InferInput(name, list(arr.shape), dtype)
            t.set_data_from_numpy(arr)
            inputs.append(t)
        return raw.infer(model, inputs)

    def refused(res: object) -> str:
        assert res.as_numpy("status").reshape(-1).tolist() == [400]
        return res.as_numpy("error").reshape(-1)[0].decode()

    good = np.zeros((1, 3, 112, 112), np.float32)
    with pytest.raises(InferenceServerException, match="shape|dims"):
        small = np.zeros((1, 3, 64, 64), np.float32)
        infer("mmnet", onset=(small, "FP32"), apex=(small, "FP32"))
    with pytest.raises(InferenceServerException, match="FP64|data-type|datatype|type"):
        infer("mmnet", onset=(good.astype(np.float64), "FP64"), apex=(good, "FP32"))
    with pytest.raises(InferenceServerException):
        infer("mmnet", onset=(good, "FP32"))  # apex missing
    nan = good.copy()
    nan[0, 0, 0, 0] = np.nan
    assert "NaN/Inf" in refused(infer("mmnet", onset=(good, "FP32"), apex=(nan, "FP32")))
    with pytest.raises(InferenceServerException, match="shape|dims"):
        rgba = np.zeros((50, 50, 4), np.uint8)
        infer("mmnet_pair", onset_pixels=(rgba, "UINT8"), apex_pixels=(rgba, "UINT8"))
    assert "onset_pixels" in refused(infer("mmnet_pair", apex_pixels=(pairs[0][1], "UINT8")))
    blank = np.full((120, 160, 3), 128, np.uint8)
    no_face = refused(
        infer("mmnet_pair", onset_pixels=(blank, "UINT8"), apex_pixels=(blank, "UINT8"))
    )
    assert jsonlib.loads(no_face)["type"] == "NoFaceError"
    # plain HTTP/JSON: the transport answers 200, the reply says 400 (not Triton's 500)
    body = {
        "inputs": [
            {"name": "onset_image", "shape": [1], "datatype": "BYTES", "data": ["not an image"]},
            {"name": "apex_image", "shape": [1], "datatype": "BYTES", "data": ["not an image"]},
        ]
    }
    request = urllib.request.Request(
        f"{server.http}/v2/models/mmnet_pair/infer",
        data=jsonlib.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        outputs = {o["name"]: o["data"] for o in jsonlib.loads(response.read())["outputs"]}
    assert outputs["status"] == [400] and "cannot decode" in outputs["error"][0]
    with Client(server.grpc, color="rgb") as client:
        with pytest.raises(InputError, match="cannot decode"):
            client.predict(b"this is not an image", b"\x89PNG\r\n\x1a\nbroken")
        with pytest.raises(NoFaceError):
            client.predict(blank, blank)
        with pytest.raises(InputError, match="NaN/Inf"):
            client.predict_tensors(nan, good)  # refused before anything is sent
        # … and the server still answers well-formed requests
        assert client.predict(*pairs[0]).label in client.class_names
    raw.close()


@pytest.mark.slow
def test_shutdown_is_clean_and_frees_the_ports(server: Served) -> None:
    assert server.proc.poll() is None
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(90) == 0, server.log.read_text(errors="replace")[-2000:]
    assert "server stopped" in server.log.read_text(errors="replace")
    deadline = time.monotonic() + 30
    while not all(port_is_free("127.0.0.1", p) for p in server.ports.values()):
        assert time.monotonic() < deadline, f"ports still bound: {server.ports}"
        time.sleep(0.5)
