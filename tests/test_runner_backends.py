"""Runners on CPU: torch and ONNX Runtime behind one interface, plus the loader's choices."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from mmnet_edge.errors import BackendUnavailableError, CheckpointError, InputError
from mmnet_edge.runtime import (
    Runner,
    RunnerClosedError,
    canonical_backend,
    open_runner,
    resolve_onnx_variant,
    run_chunked,
)
from mmnet_edge.runtime.ort_runner import import_ort

S = 112  # tiny config


def pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    on = rng.standard_normal((n, 3, S, S), dtype=np.float32)
    return on, (on + 0.1 * rng.standard_normal(on.shape, dtype=np.float32)).astype(np.float32)


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx

    out = tmp_path_factory.mktemp("runner") / "model.onnx"
    return export_onnx(tiny_checkpoint, out, validate=False).path


@pytest.fixture(scope="module")
def fixed_batch_onnx(tiny_checkpoint, tmp_path_factory):
    from mmnet_edge.export.onnx import export_onnx

    out = tmp_path_factory.mktemp("fixed") / "fixed.onnx"
    return export_onnx(tiny_checkpoint, out, dynamic_batch=False, validate=False).path


def test_torch_and_onnxruntime_runners_agree(tiny_checkpoint, onnx_model):
    on, ap = pair(3)
    with (
        open_runner(tiny_checkpoint, backend="torch", device="cpu") as t,
        open_runner(onnx_model, backend="onnxruntime", device="cpu", threads=1) as o,
    ):
        assert isinstance(t, Runner) and isinstance(o, Runner)
        a, b = t.run(on, ap), o.run(on, ap)
        assert (t.backend, t.device, t.precision) == ("torch", "cpu", "fp32")
        assert (o.backend, o.device, o.precision) == ("onnxruntime", "cpu", "fp32")
        assert t.input_size == o.input_size == S
        assert t.metadata.class_names == o.metadata.class_names  # from each file's metadata
        assert o.providers == ["CPUExecutionProvider"]
    assert a.shape == b.shape == (3, 5) and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-3)
    assert (a.argmax(1) == b.argmax(1)).all()


def test_batch_rows_are_independent(onnx_model):
    on, ap = pair(4, seed=1)
    with open_runner(onnx_model, device="cpu") as r:
        whole = r.run(on, ap)
        rows = np.concatenate([r.run(on[i : i + 1], ap[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(whole, rows, atol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_inputs_are_validated(backend, tiny_checkpoint, onnx_model):
    model = tiny_checkpoint if backend == "torch" else onnx_model
    on, ap = pair(2)
    with open_runner(model, backend=backend, device="cpu") as r:
        with pytest.raises(InputError, match="float32"):
            r.run(on.astype(np.float64), ap)
        with pytest.raises(InputError, match="N×3×112×112"):
            r.run(on[:, :, :64, :64], ap[:, :, :64, :64])
        with pytest.raises(InputError, match="N×3×112×112"):
            r.run(on[:, :2], ap[:, :2])  # two channels
        with pytest.raises(InputError, match="differ"):
            r.run(on, ap[:1])
        with pytest.raises(InputError, match="empty batch"):
            r.run(on[:0], ap[:0])
        with pytest.raises(InputError, match="numpy"):
            r.run(on.tolist(), ap)  # type: ignore[arg-type]
        # a non-contiguous view is accepted (copied), with the same result
        np.testing.assert_allclose(
            r.run(on[::-1], ap[::-1]), r.run(on[::-1].copy(), ap[::-1].copy()), atol=1e-6
        )


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_close_is_idempotent_and_final(backend, tiny_checkpoint, onnx_model):
    model = tiny_checkpoint if backend == "torch" else onnx_model
    on, ap = pair(1)
    with open_runner(model, backend=backend, device="cpu") as r:
        r.run(on, ap)
    assert r.closed
    r.close()  # second close: no error
    with pytest.raises(RunnerClosedError, match="closed"):
        r.run(on, ap)
    assert isinstance(RunnerClosedError("x"), InputError)


def test_fixed_batch_model_limits_and_chunking(fixed_batch_onnx, onnx_model):
    on, ap = pair(3, seed=2)
    with open_runner(fixed_batch_onnx, device="cpu") as fixed, open_runner(onnx_model) as dyn:
        assert fixed.max_batch == 1 and dyn.max_batch is None
        with pytest.raises(InputError, match="max batch 1"):
            fixed.run(on, ap)
        chunked = run_chunked(fixed, on, ap)
        np.testing.assert_allclose(chunked, dyn.run(on, ap), atol=1e-4)


def test_threads_give_serial_results(onnx_model, tiny_checkpoint):
    inputs = [pair(1, seed=s) for s in range(8)]
    for model in (onnx_model, tiny_checkpoint):
        with open_runner(model, device="cpu") as r:
            serial = [r.run(*x) for x in inputs]
            results: dict[int, list[np.ndarray]] = {}

            def work(tid: int, runner=r, results=results) -> None:
                results[tid] = [runner.run(*x) for x in inputs]

            threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for got in results.values():
                for a, b in zip(got, serial):
                    np.testing.assert_allclose(a, b, atol=1e-6)


def test_ort_session_options(onnx_model):
    on, ap = pair(1)
    with open_runner(onnx_model, device="cpu") as ref:
        want = ref.run(on, ap)
    for level in ("disable", "basic", "extended"):
        with open_runner(
            onnx_model, device="cpu", threads=1, inter_threads=1, graph_optimization=level
        ) as r:
            np.testing.assert_allclose(r.run(on, ap), want, atol=1e-4)
    with pytest.raises(InputError, match="graph_optimization"):
        open_runner(onnx_model, graph_optimization="max")
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        open_runner(onnx_model, backend="onnxruntime", device="cuda")


def test_ort_worker_spinning_modes(onnx_model):
    """Default "call": workers may spin inside a call, never after it (no cores burnt while a
    kiosk waits for the next face); every mode gives the same logits."""
    import time

    import onnxruntime as ort

    from mmnet_edge.runtime.ort_runner import session_options

    def entries(spin):
        o = session_options(ort, spin=spin)
        got = []
        for k in ("session.intra_op.allow_spinning", "session.force_spinning_stop"):
            try:
                got.append(o.get_session_config_entry(k))
            except RuntimeError:  # not set
                got.append(None)
        return tuple(got)

    assert entries("call") == ("1", "1")
    assert entries("off") == entries(False) == ("0", None)
    assert entries("always") == entries(True) == ("1", None)
    with pytest.raises(InputError, match="spin must be one of"):
        session_options(ort, spin="sometimes")
    on, ap = pair(2)
    with open_runner(onnx_model, device="cpu", threads=2) as r:
        assert r.describe()["spin"] == "call"
        want = r.run(on, ap)
        r.run(on, ap)
        cpu0 = time.process_time()
        time.sleep(0.5)
        assert time.process_time() - cpu0 < 0.05  # nobody spins between calls
    for spin in ("off", "always"):
        with open_runner(onnx_model, device="cpu", threads=2, spin=spin) as r:
            np.testing.assert_allclose(r.run(on, ap), want, atol=1e-5)


def test_auto_choice_is_explained(tiny_checkpoint, onnx_model):
    with open_runner(onnx_model) as r:
        assert r.backend == "onnxruntime"
        assert "CPUExecutionProvider" in r.reason and "ONNX" in r.reason
    with open_runner(tiny_checkpoint) as r:
        assert r.backend == "torch" and r.device == "cpu"
        assert "export to ONNX" in r.reason
        assert r.describe()["reason"] == r.reason
    with open_runner(onnx_model, backend="ort") as r:
        assert r.backend == "onnxruntime" and "requested" in r.reason


def test_backend_names_and_file_types(tiny_checkpoint, onnx_model, tmp_path):
    assert canonical_backend("TRT") == "tensorrt" and canonical_backend("pytorch") == "torch"
    with pytest.raises(InputError, match="unknown backend"):
        open_runner(onnx_model, backend="tflite")
    with pytest.raises(InputError, match="needs a .safetensors"):
        open_runner(onnx_model, backend="torch")
    with pytest.raises(InputError, match="needs an .onnx"):
        open_runner(tiny_checkpoint, backend="onnxruntime")
    weird = tmp_path / "model.pt"
    weird.write_bytes(b"x")
    with pytest.raises(InputError, match="unknown model file type"):
        open_runner(weird)
    with pytest.raises(InputError, match="not found"):
        open_runner(tmp_path / "absent.onnx")
    with pytest.raises(InputError, match="unknown device"):
        open_runner(onnx_model, device="tpu")
    with pytest.raises(InputError, match="unknown precision"):
        open_runner(onnx_model, precision="int4")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(CheckpointError, match="cannot load"):
        open_runner(bad)


def test_onnx_without_metadata_is_refused(onnx_model, tmp_path):
    import onnx

    m = onnx.load(str(onnx_model))
    del m.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(m, str(plain))
    with pytest.raises(CheckpointError, match="mmnet-edge export"):
        open_runner(plain)


def test_resolve_onnx_variant(tmp_path):
    for name in ("my.model.onnx", "my.model.int8.onnx", "my.model.int8-cpu.onnx"):
        (tmp_path / name).write_bytes(b"")
    base = tmp_path / "my.model.onnx"
    assert resolve_onnx_variant(base, "int8", "cpu").name == "my.model.int8-cpu.onnx"
    assert resolve_onnx_variant(base, "int8", "cuda:0").name == "my.model.int8.onnx"
    # starting from a variant finds its siblings too
    assert resolve_onnx_variant(tmp_path / "my.model.int8.onnx", "fp32", "cpu") == base
    with pytest.raises(InputError, match="--fp16"):
        resolve_onnx_variant(base, "fp16", "cpu")


def test_precision_selects_the_variant_file(onnx_model):
    # no INT8 sibling next to this export: asking for int8 says how to make one
    with pytest.raises(InputError, match="calibrate"):
        open_runner(onnx_model, precision="int8")
    with open_runner(onnx_model, precision="fp32") as r:
        assert r.path == onnx_model and r.precision == "fp32"


def test_torch_runner_refusals(tiny_checkpoint):
    with pytest.raises(BackendUnavailableError, match="int8"):
        open_runner(tiny_checkpoint, backend="torch", precision="int8")
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        open_runner(tiny_checkpoint, backend="torch", device="cpu", precision="fp16")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            open_runner(tiny_checkpoint, backend="torch", device="cuda")
    # cuda_graph is a CUDA feature; on the CPU it is ignored rather than failing
    with open_runner(tiny_checkpoint, device="cpu", cuda_graph=True) as r:
        assert r.describe()["cuda_graph"] is False
        assert r.run(*pair(1)).shape == (1, 5)


def test_missing_onnxruntime_is_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime → ImportError
    with pytest.raises(BackendUnavailableError, match="pip install onnxruntime"):
        import_ort()


def test_importing_runtime_loads_no_backend_library():
    code = (
        "import sys, json, mmnet_edge, mmnet_edge.runtime;"
        "print(json.dumps([m for m in ('onnxruntime', 'tensorrt', 'pycuda', 'cuda') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
