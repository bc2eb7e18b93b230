"""The environment block every benchmark report carries."""

from __future__ import annotations

import os
import platform
import re
import time
from typing import Any

from mmnet_edge._version import __version__
from mmnet_edge.artifacts.platform import cpu_flags, cpu_model

__all__ = ["collect_environment", "cpu_flags", "cpu_model", "machine_tag"]


def _version(mod: str) -> str | None:
    try:
        m = __import__(mod)
    except Exception:  # noqa: BLE001
        return None
    return str(getattr(m, "__version__", "?"))


def _openvino_version() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return str(openvino.get_version())


def _jetson_power_mode_sysfs() -> str | None:
    """nvpmodel's saved mode (``pmode:0002``) when the ``nvpmodel`` tool is not on PATH."""
    for path in ("/var/lib/nvpmodel/status",):
        try:
            text = open(path, encoding="utf-8").read().strip()
        except OSError:
            continue
        if text:
            return text
    return None


def collect_environment() -> dict[str, Any]:
    from mmnet_edge.doctor import gpu_facts, jetson_facts

    env: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "mmnet_edge": __version__,
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "openvino": _openvino_version(),
        "opencv": _version("cv2"),
        "tensorrt": _version("tensorrt"),
        "gpu": gpu_facts() or None,
        "jetson": jetson_facts() or None,
    }
    rows = env["gpu"] or []
    if rows:
        parts = [p.strip() for p in str(rows[0]).split(",")]
        if len(parts) >= 2:
            env["gpu_driver"] = parts[1]
    if env["jetson"] is not None and "power_mode" not in env["jetson"]:
        mode = _jetson_power_mode_sysfs()
        if mode:
            env["jetson"]["power_mode"] = mode
    try:
        import torch

        env["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn
        env["cudnn"] = cudnn.version() if cudnn.is_available() else None
        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["torch_cuda_device"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    try:
        import onnxruntime as ort

        env["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        pass
    return env


def machine_tag(env: dict[str, Any]) -> str:
    """A short directory-safe tag, e.g. ``cpu-amd-epyc-2c`` or ``gpu-nvidia-h100``."""
    gpu = env.get("gpu") or []
    if env.get("torch_cuda_device"):
        base = "gpu-" + env["torch_cuda_device"]
    elif gpu:
        base = "gpu-" + str(gpu[0]).split(",")[0]
    else:
        base = f"cpu-{env.get('cpu', 'unknown')}-{env.get('cores')}c"
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60]
