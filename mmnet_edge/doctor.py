"""What this machine has and what mmnet-edge can do on it (``mmnet-edge doctor``)."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from mmnet_edge.artifacts.platform import gpu_facts as cuda_device_facts
from mmnet_edge.artifacts.platform import jetson_facts, nvidia_smi_gpus

__all__ = ["Check", "DoctorReport", "gpu_facts", "jetson_facts", "run_doctor"]


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


def gpu_facts() -> list[str]:
    """GPU names with driver, from nvidia-smi when present (desktop GPUs)."""
    return nvidia_smi_gpus()


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
        add(
            Check(
                "torch",
                False,
                "not installed — only training and export need it: pip install 'mmnet-edge[train]'",
            )
        )

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
            trt_v
            or "absent — pip install 'mmnet-edge[tensorrt]' (CUDA 12 driver) or "
            "'mmnet-edge[tensorrt-cu13]' (CUDA 13); on Jetson use JetPack's",
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
    cuda_dev = cuda_device_facts()  # cuda-python: works on Jetson, where nvidia-smi is missing
    if cuda_dev and not gpus:
        gpus = [f"{cuda_dev['name']}, compute {cuda_dev['compute_capability']} (cuda-python)"]
    add(
        Check(
            "gpu", bool(cuda_dev) or bool(gpus), "; ".join(gpus) if gpus else "no NVIDIA GPU found"
        )
    )
    jetson = jetson_facts()
    if jetson:
        add(Check("jetson", True, "; ".join(f"{k}: {v}" for k, v in jetson.items())))

    detector_ok = _check_detector(detector_path, add)

    onnx_v = _version("onnx")
    if torch_v and onnx_v:
        r.can_do += ["train (CPU)", "export ONNX", "INT8 Q/DQ quantization (ONNX Runtime)"]
    else:
        r.cannot_do.append(
            "train / export / INT8 quantization: pip install 'mmnet-edge[train]' (this "
            "runtime-only "
            "install runs, benchmarks and inspects exported .onnx/.engine files)"
        )
    r.can_do += [
        "run: " + ("torch + " if torch_v else "") + "onnxruntime (CPU)",
        "bench (CPU backends)",
    ]
    if cuda_ok:
        r.can_do.append("train / run / bench with PyTorch CUDA (FP32, FP16)")
    # TensorRT decisions rest on cuda-python's device query only: torch may be a CPU build
    # (PyPI torch on Jetson) and nvidia-smi is missing on Jetson
    if trt_v and cuda_dev and buf:
        r.can_do.append("build and run TensorRT engines (export --fp16/--int8)")
    else:
        r.cannot_do.append(
            "TensorRT engines: "
            + (
                "TensorRT not installed"
                if not trt_v
                else "no CUDA device seen by cuda-python, or no buffer library"
            )
            + " — export writes the ONNX files; build the engine on the target (e.g. the Jetson)"
        )
    if detector_ok:
        r.can_do.append("align raw frames / predict on photos and videos")
    else:
        r.cannot_do.append(
            "face alignment (no detector model) — `mmnet-edge doctor --fetch` (or let the first "
            "use fetch it), pass --detector or set MMNET_EDGE_FACE_DETECTOR; or run with "
            "pre-cropped faces (--no-align)"
        )
    if os.environ.get("CI"):
        r.checks.append(Check("ci", True, "running under CI"))
    return r


def _check_detector(detector_path: str | None, add: Callable[[Check], None]) -> bool:
    """Whether the face detector is usable now, and where it comes from. Never downloads."""
    from mmnet_edge.align.model_fetch import (
        CACHE_VAR,
        MIRROR_VAR,
        OFFLINE_VAR,
        cached_path,
        offline,
        verified_cached,
    )

    if detector_path:
        where = "given path"
    elif os.environ.get("MMNET_EDGE_FACE_DETECTOR"):
        where = "$MMNET_EDGE_FACE_DETECTOR"
    elif verified_cached() is not None:
        where = "verified cache" + (f" (${CACHE_VAR})" if os.environ.get(CACHE_VAR) else "")
    else:
        cached = cached_path()
        state = "corrupt (SHA-256 mismatch)" if cached.exists() else "not fetched yet"
        how = (
            f"{OFFLINE_VAR} is set: nothing will be fetched"
            if offline()
            else "it is fetched on first use"
            + (f" from ${MIRROR_VAR}" if os.environ.get(MIRROR_VAR) else "")
        )
        add(
            Check(
                "face detector",
                False,
                f"{state} ({cached}): {how}; `mmnet-edge doctor --fetch` fetches it now; or "
                "pass a path (--detector / MMNET_EDGE_FACE_DETECTOR)",
            )
        )
        return False
    try:
        from mmnet_edge.align import YuNetDetector

        # load it and run one blank frame: a file that is not YuNet fails here
        path = YuNetDetector(detector_path).model_path
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        add(Check("face detector", False, str(exc)))
        return False
    add(Check("face detector", True, f"{path} ({where}; loaded, a test frame ran)"))
    return True
