"""CPU INT8 speed: ONNX Runtime and OpenVINO, FP32 vs the CPU target's layouts, interleaved.

    python benchmarks/int8_cpu_speed.py [--configs paper,tiny] [--rounds 40] [--threads 2]

For each model preset (seeded, untrained weights: latency does not depend on them) the FP32
ONNX and the INT8 models (the CPU target's default layout and 0.3's, with the stem float;
the TensorRT target's; the OpenVINO target's) are run at batch 1 in ONE process on ONNX
Runtime and, when installed, OpenVINO (CPU, f32 precision hint, LATENCY hint), the cases
alternating in blocks of ``BLOCK`` calls (order reversed every round) so a shared machine's
contention hits each equally; medians and ratios to ONNX
Runtime FP32 are reported. Also: DequantizeLinear/QuantizeLinear nodes left in the graph
ONNX Runtime actually runs (after its Q/DQ fusions), and kernel time per op type from ONNX
Runtime's profiler. Writes ``<out>.json`` and ``<out>.md`` with the CPU's flags.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import io
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mmnet_edge.artifacts.platform import cpu_bf16_reason, cpu_flags, cpu_model

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "cpu-amd-epyc-2c" / "int8_cpu_speed"
#: ONNX Runtime workers' spinning (``--spin``; the runner's default "call")
SPIN = "call"


def _session(path: Path, threads: int, **kw: Any):  # noqa: ANN202
    """A session set up as mmnet-edge's ONNX Runtime runner sets it up (INT8: no NCHWc pass)."""
    import onnxruntime as ort

    from mmnet_edge.runtime.ort_runner import disabled_optimizers, session_options

    # the runner's options: workers spin inside a call and stop when it returns (spin="call").
    # ORT's own default keeps them spinning after a call: interleaved, one session's spinning
    # workers would steal the cores from the next session's call (0.2's table: INT8 0.33–0.55×
    # FP32 run to run, on 2 cores)
    o = session_options(ort, threads=threads, inter_threads=1, spin=SPIN)
    for k, v in kw.items():
        setattr(o, k, v)
    precision = "fp32" if Path(path).name == "model.onnx" else "int8"
    return ort.InferenceSession(
        str(path),
        o,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=disabled_optimizers(precision, "cpu", None),
    )


def qdq_after_fusion(path: Path) -> dict[str, int]:
    """Op counts of the graph ONNX Runtime runs (Q/DQ fused into QLinear* where it can)."""
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "opt.onnx"
        _session(path, 1, optimized_model_filepath=str(f))
        model = onnx.load(str(f), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    ops = collections.Counter(n.op_type for n in model.graph.node)
    act_dq = sum(
        n.op_type == "DequantizeLinear" and n.input[0] not in inits for n in model.graph.node
    )
    return {
        "DequantizeLinear": act_dq,
        "QuantizeLinear": ops["QuantizeLinear"],
        "int8_ops": sum(v for k, v in ops.items() if k.startswith(("QLinear", "QGemm"))),
        "float_conv": ops["Conv"] + ops["FusedConv"],
    }


def profile(path: Path, x: dict[str, np.ndarray], threads: int, n: int = 10) -> dict[str, float]:
    """Mean kernel ms per op type over ``n`` calls (ONNX Runtime's profiler)."""
    with tempfile.TemporaryDirectory() as tmp:
        s = _session(path, threads, enable_profiling=True, profile_file_prefix=f"{tmp}/p")
        for _ in range(n):
            s.run(None, x)
        events = json.loads(Path(s.end_profiling()).read_text())
    tot: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            tot[e["args"]["op_name"]] += e["dur"] / n / 1e3
    return {k: round(v, 3) for k, v in tot.most_common()}


def _openvino(path: Path, threads: int, precision: str = "f32"):  # noqa: ANN202
    import openvino as ov

    compiled = ov.Core().compile_model(
        str(path),
        "CPU",
        {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": precision,
        },
    )
    req = compiled.create_infer_request()
    return req.infer


#: calls per case in a row, and how many of them are discarded: the first calls after a
#: switch pay for the previous case's worker threads still holding the cores (OpenVINO's TBB
#: workers keep spinning after a call; ONNX Runtime's too with ``--spin always``)
BLOCK, SETTLE = 6, 2


def interleaved(
    paths: dict[str, Path], x: dict[str, np.ndarray], threads: int, rounds: int
) -> dict[str, float]:
    """Median ms per case over ``rounds`` blocks of :data:`BLOCK` calls (the first
    :data:`SETTLE` of each dropped), cases alternating block by block, order reversed every
    round; ``ov:<case>`` names run ``paths[<case>]`` on OpenVINO, ``ovbf16:<case>`` on OpenVINO
    with ``INFERENCE_PRECISION_HINT=bf16``."""
    run = {}
    for k, p in paths.items():
        if k.startswith("ov:"):
            run[k] = functools.partial(_openvino(p, threads), x)
        elif k.startswith("ovbf16:"):
            run[k] = functools.partial(_openvino(p, threads, "bf16"), x)
        else:
            run[k] = functools.partial(_session(p, threads).run, None, x)
    for f in run.values():
        for _ in range(5):
            f()
    times: dict[str, list[float]] = {k: [] for k in run}
    keys = list(run)
    for r in range(rounds):
        for k in keys if r % 2 == 0 else keys[::-1]:
            for i in range(BLOCK):
                t = time.perf_counter()
                run[k]()
                if i >= SETTLE:
                    times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v) * 1e3) for k, v in times.items()}


def build(config: str, work: Path) -> dict[str, Path]:
    import torch

    from mmnet_edge.calibration.int8_layout import CPU_V03_KEEP_FLOAT, CPU_V03_OPS
    from mmnet_edge.calibration.quantize import quantize_target
    from mmnet_edge.calibration.sources import from_synthetic
    from mmnet_edge.checkpoint import save_checkpoint
    from mmnet_edge.export.onnx import export_onnx
    from mmnet_edge.metadata import ModelMetadata
    from mmnet_edge.model import MMNet, create_config

    torch.manual_seed(0)
    model = MMNet(create_config(config)).eval()
    ckpt = save_checkpoint(model, ModelMetadata(config=model.config), work / "m.safetensors")
    fp32 = export_onnx(ckpt, work / "model.onnx").path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = from_synthetic(model.config.input_size, 1, 2, 0)
    out = {"fp32": fp32}
    layouts = (
        ("int8-cpu default", "cpu", {}),
        ("int8-cpu 0.3", "cpu", {"keep_float": CPU_V03_KEEP_FLOAT, "op_types": CPU_V03_OPS}),
        ("int8 tensorrt", "tensorrt", {}),
        ("int8 openvino", "openvino", {}),
    )
    for name, target, kw in layouts:
        p = work / f"{name.replace(' ', '-')}.onnx"
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_target(fp32, cal, p, target, "minmax", **kw)
        out[name] = p
    return out


def _has_openvino() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return openvino.__version__


def run(configs: list[str], rounds: int, threads: list[int], work: Path) -> dict[str, Any]:
    import onnxruntime

    from mmnet_edge.model import create_config

    ov_version = _has_openvino()
    rows = []
    for config in configs:
        d = work / config
        d.mkdir(parents=True, exist_ok=True)
        paths = build(config, d)
        graphs = {k: qdq_after_fusion(p) for k, p in paths.items() if k != "fp32"}
        if ov_version:
            paths.update({f"ov:{k}": p for k, p in list(paths.items())})
            if not cpu_bf16_reason():  # the FP32 file in bfloat16 (0.5's bf16 precision)
                paths["ovbf16:fp32"] = paths["fp32"]
        size = create_config(config).input_size
        rng = np.random.default_rng(0)
        shape = (1, 3, size, size)
        x = {k: rng.standard_normal(shape, dtype=np.float32) for k in ("onset", "apex")}
        for t in threads:
            med = interleaved(paths, x, t, rounds)
            rows.append(
                {
                    "model": config,
                    "threads": t,
                    "median_ms": med,
                    "ratio_to_fp32": {k: v / med["fp32"] for k, v in med.items()},
                }
            )
            print(config, t, {k: f"{v:.2f} ms" for k, v in med.items()}, flush=True)
        rows[-1]["graph"] = graphs
        rows[-1]["profile_ms"] = {
            k: profile(p, x, threads[-1]) for k, p in paths.items() if not k.startswith("ov:")
        }
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "onnxruntime": onnxruntime.__version__,
        "openvino": ov_version,
        "method": f"batch 1, cases interleaved in blocks of {BLOCK} calls (first {SETTLE} of "
        f"each dropped), {rounds} rounds, median; ONNX Runtime sessions as mmnet-edge's runner "
        f"sets them up (spin={SPIN!r}; INT8 without the NCHWc pass); shared 2-core machine",
        "rows": rows,
    }


CASES = (
    ("fp32", "ORT FP32"),
    ("int8-cpu default", "ORT INT8"),
    ("int8-cpu 0.3", "ORT INT8 0.3 layout"),
    ("int8 tensorrt", "ORT INT8 TRT-target file"),
    ("int8 openvino", "ORT INT8 OV-target file"),
    ("ov:fp32", "OV FP32"),
    ("ov:int8-cpu default", "OV INT8"),
    ("ov:int8-cpu 0.3", "OV INT8 0.3 layout"),
    ("ov:int8 tensorrt", "OV INT8 TRT-target file"),
    ("ov:int8 openvino", "OV INT8 OV-target file"),
    ("ovbf16:fp32", "OV bf16 (FP32 file)"),
)


def to_markdown(res: dict[str, Any]) -> str:
    cases = [(k, label) for k, label in CASES if k in res["rows"][0]["median_ms"]]
    lines = [
        "# CPU INT8 speed (ONNX Runtime CPU, OpenVINO CPU)",
        "",
        f"CPU: {res.get('cpu_model', res['cpu'])}, flags: "
        f"{', '.join(res['cpu_flags']) or 'none found'}; onnxruntime {res['onnxruntime']}; "
        f"openvino {res.get('openvino') or 'not installed'}. {res['method']}. Seeded untrained "
        "weights. Cells: median ms (× ORT FP32, same run). INT8 = the CPU-target file "
        "(`model.int8-cpu.onnx`, 0.4 default: the stem int8 too); 0.3 layout = its stem "
        "float; "
        "TRT-target file = `model.int8.onnx` (symmetric; 0.5: stride-4 stage, block 1 and "
        "the patch embedding float); OV-target file "
        "= `model.int8-openvino.onnx` (all int8 but the attention convs, float Softmax).",
        "",
        "| model | threads | " + " | ".join(label for _, label in cases) + " |",
        "|---|---:|" + "---:|" * len(cases),
    ]
    for r in res["rows"]:
        m, q = r["median_ms"], r["ratio_to_fp32"]
        lines.append(
            f"| {r['model']} | {r['threads']} | "
            + " | ".join(
                f"{m[k]:.2f}" if k == "fp32" else f"{m[k]:.2f} ({q[k]:.2f})" for k, _ in cases
            )
            + " |"
        )
    lines += ["", "Graph ONNX Runtime runs (after its Q/DQ fusions):", ""]
    lines += ["| model | layout | activation DQ | Q | int8 ops | float convs |"]
    lines += ["|---|---|---:|---:|---:|---:|"]
    for r in res["rows"]:
        for k, g in r.get("graph", {}).items():
            lines.append(
                f"| {r['model']} | {k} | {g['DequantizeLinear']} | {g['QuantizeLinear']} | "
                f"{g['int8_ops']} | {g['float_conv']} |"
            )
    lines += ["", "Kernel ms per op type (profiler, top 6):", ""]
    for r in res["rows"]:
        for k, prof in r.get("profile_ms", {}).items():
            top = ", ".join(f"{op} {ms:.2f}" for op, ms in list(prof.items())[:6])
            lines.append(f"- {r['model']} {k}: {top}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="paper,tiny")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--threads", default="2", help="comma list of intra-op thread counts")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output stem (.json/.md)")
    ap.add_argument("--spin", default=SPIN, help="ONNX Runtime workers: off, call, always")
    args = ap.parse_args()
    globals()["SPIN"] = args.spin
    work = Path(tempfile.mkdtemp(prefix="int8cpu-"))
    threads = [int(t) for t in args.threads.split(",")]
    res = run(args.configs.split(","), args.rounds, threads, work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2))
    args.out.with_suffix(".md").write_text(to_markdown(res))
    print(to_markdown(res))


if __name__ == "__main__":
    main()
