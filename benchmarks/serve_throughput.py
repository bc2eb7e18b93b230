#!/usr/bin/env python3
"""Throughput of ``mmnet-edge serve`` (Triton via PyTriton) vs the in-process ``Runtime``
for batch-1 clients (each sends one onset/apex pair and waits for the answer).

    python benchmarks/serve_throughput.py [MODEL.onnx] --detector YUNET.onnx \\
        [--clients 1,8] [--seconds 8] [--out benchmarks/results/<machine>]

Scenarios, each for ``--seconds`` after a warm-up, for every client count K:

* ``runtime-pair``   K threads share one ``Runtime`` and call ``predict`` (decode-free RGB
  arrays → align → preprocess → ONNX Runtime → postprocess);
* ``serve-pair``     K threads, one ``Client`` each, call ``predict`` on ``mmnet_pair``
  (alignment on the server, inference batched through ``mmnet``);
* ``runtime-tensor`` K threads call ``Runtime.run_tensors`` on preprocessed tensors;
* ``serve-tensor``   K clients call ``predict_tensors`` on ``mmnet`` (dynamic batching).

The server runs as a separate process (``mmnet-edge serve`` on free 127.0.0.1 ports) on the
same machine as the clients, so both share its cores. Server-side batch sizes come from
Triton's metrics (``nv_inference_count / nv_inference_exec_count`` of ``mmnet``). Without a
MODEL, a seeded untrained tiny model is exported (needs the ``[train]`` extra). Not a test:
nothing asserts a speed. Writes ``serve_throughput.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def seeded_onnx(out: Path, config: str) -> Path:
    """A seeded, untrained model of ``config`` exported to ONNX (latency needs no training)."""
    import torch

    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.export import ExportSettings, export_model
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, create_config

    torch.manual_seed(0)
    model = MMNet(create_config(config, 5)).eval()
    d = out / config
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), d / f"{config}.safetensors")
    return export_model(ckpt, d, ExportSettings(validate=False)).onnx


def run_for(seconds: float, clients: int, make_call) -> dict:  # noqa: ANN001
    """K threads, each calling its own ``make_call()`` callable until time is up."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.monotonic() + seconds
    start = threading.Barrier(clients + 1)

    def worker(k: int) -> None:
        call = make_call(k)
        start.wait()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - counted, reported
                errors.append(repr(exc))
                continue
            latencies[k].append((time.perf_counter() - t0) * 1e3)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = np.array([v for lat in latencies for v in lat]) if any(latencies) else np.zeros(1)
    return {
        "clients": clients,
        "requests": int(sum(len(lat) for lat in latencies)),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(wall, 2),
        "throughput_per_s": round(sum(len(lat) for lat in latencies) / wall, 1),
        "latency_ms": {
            "p50": round(float(np.percentile(flat, 50)), 2),
            "p90": round(float(np.percentile(flat, 90)), 2),
            "p99": round(float(np.percentile(flat, 99)), 2),
        },
    }


def tensor_metrics(url: str) -> dict[str, float]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    out = {}
    for name in ("nv_inference_count", "nv_inference_exec_count"):
        m = re.search(rf'^{name}{{model="mmnet",version="1"}} (\S+)$', text, re.M)
        out[name] = float(m.group(1)) if m else float("nan")
    return out


def start_server(model: Path, detector: str, ports: dict[str, int], log: Path, delay: int):
    args = [
        sys.executable, "-c", "from mmnet_edge.cli import main; main()", "serve", str(model),
        "--http-port", str(ports["http"]), "--grpc-port", str(ports["grpc"]),
        "--metrics-port", str(ports["metrics"]), "--detector", detector,
        "--queue-delay-us", str(delay), "--pair-instances", "8",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while "serving" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"server did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    return proc


def bench_model(
    model: Path, label: str, a: argparse.Namespace, tmp: Path
) -> tuple[list[dict], int]:
    """Every scenario × client count for one model; returns (rows, input size)."""
    from mmnet_edge import Runtime
    from mmnet_edge.serve import Client
    from mmnet_edge.serve.environment import free_port
    from mmnet_edge.synth import heldout_pairs

    pairs = [(on, ap_) for on, ap_, _ in heldout_pairs(8, 224)]
    rt = Runtime(model, backend="onnxruntime", detector=a.detector, color="rgb")
    tensors = rt.to_tensors([pairs[0][0], pairs[0][1]])
    t_on, t_ap = tensors[:1], tensors[1:]
    ports = {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
    log = tmp / f"server-{label}.log"
    proc = start_server(model, a.detector, ports, log, a.queue_delay_us)
    grpc = f"grpc://127.0.0.1:{ports['grpc']}"
    metrics_url = f"http://127.0.0.1:{ports['metrics']}/metrics"
    scenarios = {
        "runtime-pair": lambda i: lambda: rt.predict(*pairs[i % len(pairs)]),
        "serve-pair": lambda i: (
            lambda c=Client(grpc, color="rgb"): c.predict(*pairs[i % len(pairs)])
        ),
        "runtime-tensor": lambda i: lambda: rt.run_tensors(t_on, t_ap),
        "serve-tensor": lambda i: lambda c=Client(grpc): c.predict_tensors(t_on, t_ap),
    }
    rows = []
    try:
        for k in [int(c) for c in a.clients.split(",")]:
            for name, make in scenarios.items():
                run_for(min(2.0, a.seconds / 4), k, make)  # warm-up
                before = tensor_metrics(metrics_url)
                row = {"model": label, "scenario": name, **run_for(a.seconds, k, make)}
                after = tensor_metrics(metrics_url)
                if name.startswith("serve"):
                    n = after["nv_inference_count"] - before["nv_inference_count"]
                    ex = after["nv_inference_exec_count"] - before["nv_inference_exec_count"]
                    row["server_mean_batch"] = round(n / ex, 2) if ex else None
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        proc.send_signal(2)
        proc.wait(120)
        rt.close()
    return rows, rt.input_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=None, help="ONNX model [seeded --configs]")
    ap.add_argument("--configs", default="tiny", help="Seeded untrained presets, e.g. tiny,paper")
    ap.add_argument("--detector", default=os.environ.get("MMNET_EDGE_FACE_DETECTOR"))
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--queue-delay-us", type=int, default=500)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    if not a.detector:
        raise SystemExit("--detector YUNET.onnx (or MMNET_EDGE_FACE_DETECTOR) is required")

    from mmnet_edge.bench.environment import collect_environment, machine_tag

    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    models = [Path(a.model)] if a.model else [seeded_onnx(tmp, c) for c in a.configs.split(",")]
    results, sizes = [], {}
    for model in models:
        label = model.stem if a.model else model.parent.name  # seeded: the preset's name
        rows, size = bench_model(model, label, a, tmp)
        results += rows
        sizes[label] = size

    env = collect_environment()
    env["loadavg_1m_at_end"] = os.getloadavg()[0]
    doc = {
        "what": "serve (Triton via PyTriton, separate process) vs in-process Runtime, batch-1 "
        "clients, same machine",
        "environment": env,
        "models": {"input_size": sizes, "configs": None if a.model else a.configs},
        "settings": {
            "seconds": a.seconds,
            "queue_delay_us": a.queue_delay_us,
            "pair_instances": 8,
        },
        "results": results,
    }
    out = a.out or REPO / "benchmarks" / "results" / machine_tag(env)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve_throughput.json").write_text(json.dumps(doc, indent=2, default=str))
    lines = [
        "# serve vs in-process Runtime (batch-1 clients)",
        "",
        f"{env['cpu']}, {env['cores']} cores; flags: {', '.join(env['cpu_flags'])}. "
        f"onnxruntime {env['onnxruntime']}; seeded untrained models (latency needs no "
        f"training), {a.seconds:g} s per scenario after a warm-up, queue delay "
        f"{a.queue_delay_us} µs, server in a separate process on the same cores as the "
        f"clients; 1-min load average at the end {env['loadavg_1m_at_end']:.2f} (shared).",
        "",
        "| model | scenario | clients | req/s | p50 ms | p90 ms | p99 ms | errors | batch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lat = r["latency_ms"]
        lines.append(
            f"| {r['model']} | {r['scenario']} | {r['clients']} | {r['throughput_per_s']} | "
            f"{lat['p50']} | {lat['p90']} | {lat['p99']} | {r['errors']} | "
            f"{r.get('server_mean_batch') or '–'} |"
        )
    lines += [
        "",
        "`batch`: mean batch the `mmnet` model executed (Triton metrics: inference count / "
        "execution count). `*-pair`: align + preprocess + infer per request; `*-tensor`: "
        "preprocessed tensors only.",
    ]
    (out / "serve_throughput.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'serve_throughput.json'} and .md")


if __name__ == "__main__":
    main()
