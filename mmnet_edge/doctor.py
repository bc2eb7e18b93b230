"""What this machine has and what mmnet-edge can do on it (``mmnet-edge doctor``)."""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    can_do: list[str] = field(default_factory=list)
    cannot_do: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "checks": [c.__dict__ for c in self.checks],
            "can_do": self.can_do,
            "cannot_do": self.cannot_do,
        }


def _version(module: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any import failure means "absent" here
        return None
    return str(getattr(mod, "__version__", "unknown"))


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def jetson_facts() -> dict[str, str]:
    """Jetson model, L4T release and power mode, when readable."""
    facts: dict[str, str] = {}
    model = _read("/proc/device-tree/model")
    if model and ("jetson" in model.lower() or "nvidia" in model.lower()):
        facts["model"] = model
    release = _read("/etc/nv_tegra_release")
    if release:
        facts["l4t"] = release.splitlines()[0]
    if shutil.which("nvpmodel"):
        try:
            out = subprocess.run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=5)
            facts["power_mode"] = " ".join(out.stdout.split())
        except (OSError, subprocess.SubprocessError):
            pass
    return facts


def gpu_facts() -> list[str]:
    """GPU names with driver, from nvidia-smi when present."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def run_doctor(detector_path: str | None = None) -> DoctorReport:
    """Probe Python, torch, ONNX Runtime, OpenCV, TensorRT/CUDA, GPU, Jetson, face detector."""
    r = DoctorReport()
    add = r.checks.append
    add(
        Check(
            "python", sys.version_info >= (3, 10), f"{platform.python_version()} ({sys.executable})"
        )
    )
    add(Check("platform", True, f"{platform.system()} {platform.machine()} {platform.release()}"))

    torch_v = _version("torch")
    cuda_ok = False
    if torch_v:
        import torch

        cuda_ok = torch.cuda.is_available()
        dev = f"available: {torch.cuda.get_device_name(0)}" if cuda_ok else "not available"
        add(Check("torch", True, f"{torch_v}; CUDA {dev}"))
    else:
        add(Check("torch", False, "not installed (pip install torch)"))

    ort_v = _version("onnxruntime")
    providers: list[str] = []
    if ort_v:
        import onnxruntime as ort

        providers = list(ort.get_available_providers())
        add(Check("onnxruntime", True, f"{ort_v}; providers: {', '.join(providers)}"))
    else:
        add(Check("onnxruntime", False, "not installed (pip install onnxruntime)"))

    cv_v = _version("cv2")
    add(
        Check(
            "opencv", cv_v is not None, cv_v or "not installed (pip install opencv-python-headless)"
        )
    )

    trt_v = _version("tensorrt")
    add(
        Check(
            "tensorrt",
            trt_v is not None,
            trt_v or "absent — pip install 'mmnet-edge[tensorrt]' (desktop) or use JetPack's",
        )
    )
    cuda_py = _version("cuda") or _version("cuda.bindings")
    pycuda_v = _version("pycuda")
    buf = f"cuda-python {cuda_py}" if cuda_py else (f"pycuda {pycuda_v}" if pycuda_v else None)
    add(
        Check(
            "cuda buffers",
            buf is not None,
            buf or "absent — cuda-python or pycuda needed for TensorRT",
        )
    )

    gpus = gpu_facts()
    add(Check("gpu", bool(gpus) or cuda_ok, "; ".join(gpus) if gpus else "no NVIDIA GPU found"))
    jetson = jetson_facts()
    if jetson:
        add(Check("jetson", True, "; ".join(f"{k}: {v}" for k, v in jetson.items())))

    try:
        from mmnet_edge.align import resolve_detector_model

        path = resolve_detector_model(detector_path)
        add(Check("face detector", True, str(path)))
        detector_ok = True
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        add(Check("face detector", False, str(exc)))
        detector_ok = False

    r.can_do += [
        "train (CPU)",
        "export ONNX",
        "INT8 Q/DQ quantization (ONNX Runtime)",
        "run: torch + onnxruntime (CPU)",
        "bench (CPU backends)",
    ]
    if cuda_ok:
        r.can_do.append("train / run / bench with PyTorch CUDA (FP32, FP16)")
    if trt_v and (gpus or cuda_ok) and buf:
        r.can_do.append("build and run TensorRT engines (export --fp16/--int8)")
    else:
        r.cannot_do.append(
            "TensorRT engines: "
            + ("TensorRT not installed" if not trt_v else "no CUDA device or buffer library")
            + " — export writes the ONNX files; build the engine on the target (e.g. the Jetson)"
        )
    if detector_ok:
        r.can_do.append("align raw frames / predict on photos and videos")
    else:
        r.cannot_do.append(
            "face alignment (no detector model) — pass --detector or set "
            "MMNET_EDGE_FACE_DETECTOR; or run with pre-cropped faces (--no-align)"
        )
    if os.environ.get("CI"):
        r.checks.append(Check("ci", True, "running under CI"))
    return r
