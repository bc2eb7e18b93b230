"""Concurrency and long runs: close() during predictions, threads, streams, soak."""

from __future__ import annotations

import gc
import os
import threading

import numpy as np
import pytest

from mmnet_edge import Runtime
from mmnet_edge.errors import MMNetEdgeError


def pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    on = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    ap = on.copy()
    ap[40:70, 30:80] = np.clip(ap[40:70, 30:80].astype(int) + 30, 0, 255)
    return on, ap


@pytest.fixture(params=["torch", "onnxruntime"])
def model_and_backend(request, tiny_checkpoint, tiny_onnx):
    return (tiny_checkpoint if request.param == "torch" else tiny_onnx), request.param


@pytest.mark.parametrize("round_", range(3))
def test_close_while_other_threads_predict(model_and_backend, round_):
    model, backend = model_and_backend
    rt = Runtime(model, backend=backend, align=False)
    on, ap = pair(round_)
    expected = rt.predict(on, ap).logits
    busy = threading.Event()  # set once the threads are well into their loops
    outcomes: list[object] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10_000):
            try:
                got = rt.predict(on, ap).logits
            except Exception as exc:  # noqa: BLE001 - what matters is which type it is
                with lock:
                    outcomes.append(exc)
                return
            with lock:
                outcomes.append(bool(np.allclose(got, expected, rtol=1e-5, atol=1e-6)))
                if len(outcomes) >= 12 + 4 * round_:
                    busy.set()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    assert busy.wait(timeout=60)
    rt.close()  # with runs in flight: they finish, later calls get the typed error
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "close() must not deadlock predictions"
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 4, "every thread ends with the closed error"
    for exc in errors:
        assert isinstance(exc, MMNetEdgeError), f"raw {type(exc).__name__}: {exc}"
        assert "closed" in str(exc)
    assert all(o is True for o in outcomes if not isinstance(o, Exception)), "results diverged"


def test_threads_give_serial_results(tiny_onnx):
    pairs = [pair(s) for s in range(8)]
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        expected = [rt.predict(*p).logits for p in pairs]
        bad: list[int] = []

        def work(k: int) -> None:
            for _ in range(25):
                if not np.array_equal(rt.predict(*pairs[k]).logits, expected[k]):
                    bad.append(k)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert bad == []


def test_auto_backend_reason_states_what_was_measured(tiny_checkpoint, tiny_onnx):
    with Runtime(tiny_onnx, align=False, device="cpu") as rt:
        assert rt.backend == "onnxruntime"
        assert "CPUExecutionProvider" in rt.backend_reason and "device=cpu" in rt.backend_reason
    with Runtime(tiny_onnx, align=False) as rt:
        assert "ONNX Runtime" in rt.backend_reason and "provider" in rt.backend_reason
    with Runtime(tiny_checkpoint, align=False) as rt:
        assert rt.backend == "torch"
        assert "torch" in rt.backend_reason.lower() and "CUDA" in rt.backend_reason


def test_stream_refits_when_the_camera_changes_resolution(tiny_onnx):
    rng = np.random.default_rng(0)
    import cv2

    scene = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    small = cv2.resize(scene, (160, 120), interpolation=cv2.INTER_AREA)
    with Runtime(tiny_onnx, backend="onnxruntime", align=False, color="rgb") as rt:
        stream = rt.stream(window=10, threshold=3.0)
        events = [stream.push(f) for f in [scene] * 12 + [small] * 12 + [scene] * 12]
    assert [e for e in events if e is not None] == [], "a resolution change is not an event"


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_soak_rss_and_file_descriptors_stay_flat(tiny_onnx):
    on, ap = pair(0)
    with Runtime(tiny_onnx, backend="onnxruntime", align=False) as rt:
        for _ in range(200):  # warm up: arenas, caches
            rt.predict(on, ap)
        gc.collect()
        rss0, fd0 = rss_bytes(), open_fds()
        for i in range(2_000):
            pred = rt.predict(on, ap)
            assert np.isfinite(pred.logits).all()
            if i == 999:
                gc.collect()
                rss_mid = rss_bytes()
        gc.collect()
        rss1, fd1 = rss_bytes(), open_fds()
    assert fd1 == fd0, f"file descriptors grew {fd0} → {fd1}"
    assert rss1 - rss0 < 16 * 2**20, f"RSS grew {(rss1 - rss0) / 2**20:.1f} MiB over 2,000 predicts"
    assert rss1 - rss_mid < 8 * 2**20, "RSS still growing in the second half"
    # open/close cycles release sessions and files
    for _ in range(40):
        Runtime(tiny_onnx, backend="onnxruntime", align=False).close()
    gc.collect()
    assert open_fds() <= fd0 + 1
