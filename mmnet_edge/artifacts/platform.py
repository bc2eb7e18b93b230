"""Platform facts: the CPU's features (INT8/bf16 paths), TensorRT, CUDA device, Jetson.

Device facts come from cuda-python's ``cudaGetDeviceProperties`` (works on desktop GPUs
and Jetsons, where ``nvidia-smi`` is missing and PyPI torch is no CUDA build); torch is
never imported here.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from mmnet_edge.errors import BackendUnavailableError, EngineCompatibilityError

#: CPU features that decide which INT8 path is fast (x86 VNNI/AMX/bf16, ARM dot product)
CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "asimddp",
    "i8mm",
)


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return ""


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform`` elsewhere). A VM may mask the
    name ("AMD EPYC"), so x86 family/model are appended: they tell the generation (25/17:
    Zen 4), and with it what INT8/bf16 speed to expect."""
    fields: dict[str, str] = {}
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    proc = fields.get("processor", "")
    name = fields.get("model name") or fields.get("hardware") or ("" if proc.isdigit() else proc)
    if not name:
        return platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def cpu_flags() -> list[str]:
    """Which of :data:`CPU_FLAGS` this CPU reports."""
    m = re.search(r"^(flags|Features)\s*:\s*(.*)$", _cpuinfo(), re.M)
    have = set(m.group(2).split()) if m else set()
    return [f for f in CPU_FLAGS if f in have]


#: x86 instructions that give bfloat16 arithmetic its speed (without them OpenVINO runs f32)
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bf16_reason(flags: list[str] | None = None) -> str:
    """``""`` when this CPU has bf16 instructions (:data:`BF16_FLAGS`), else why bf16 is off."""
    have = cpu_flags() if flags is None else flags
    if any(f in have for f in BF16_FLAGS):
        return ""
    return (
        f"this CPU has no bf16 instructions ({' / '.join(BF16_FLAGS)}): bf16 would run "
        "emulated or as f32, so it is not offered; use fp32 or int8"
    )


TENSORRT_INSTALL_HINT = (
    "install the extra (`pip install 'mmnet-edge[tensorrt]'`) on a machine with an NVIDIA "
    "GPU, or build the engine on the target itself (on Jetson TensorRT comes with JetPack)"
)


#: what to check when TensorRT cannot create an object (no usable GPU/driver, or a wheel
#: built for another CUDA major than the driver's)
TRT_CREATE_HINT = (
    "check that an NVIDIA GPU and driver are visible (`nvidia-smi`) and that the TensorRT "
    "wheel matches the driver's CUDA major (`mmnet-edge[tensorrt]` = tensorrt-cu12 for CUDA 12 "
    "drivers and JetPack 6, `mmnet-edge[tensorrt-cu13]` for CUDA 13); `mmnet-edge doctor` "
    "shows both"
)


def trt_create(
    what: str, factory: Any, *args: Any, error: type[Exception] = BackendUnavailableError
) -> Any:
    """``factory(*args)`` for a TensorRT object (``trt.Builder``, ``trt.Runtime``,
    ``builder.create_network`` …). TensorRT reports failure by returning None, or — for a
    constructor whose C++ factory returned nullptr — by pybind11 raising TypeError ("factory
    function returned nullptr", "incompatible constructor arguments"); both become ``error``
    with what to check."""
    try:
        obj = factory(*args)
    except TypeError as exc:
        raise error(f"TensorRT could not create {what} ({exc}); {TRT_CREATE_HINT}") from exc
    if obj is None:
        raise error(f"TensorRT could not create {what} (it returned None); {TRT_CREATE_HINT}")
    return obj


def import_tensorrt() -> Any:
    """``import tensorrt`` or a BackendUnavailableError saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            f"TensorRT is not installed here: {TENSORRT_INSTALL_HINT}; or run the .onnx with "
            "backend='onnxruntime'"
        ) from exc
    return trt


def import_cudart() -> Any:
    """cuda-python's runtime module (``cuda.bindings.runtime`` ≥ 12.6, else ``cuda.cudart``)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as exc:
            raise BackendUnavailableError(
                "cuda-python is not installed: pip install 'mmnet-edge[tensorrt]' (or "
                "'mmnet-edge[pycuda]')"
            ) from exc
    return cudart


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value).strip("\x00 ")


def gpu_facts(device: int = 0, cudart: Any = None) -> dict[str, Any]:
    """Name, compute capability and memory of CUDA device ``device``; ``{}`` if none.

    ``cudart`` may be injected (tests); by default cuda-python's runtime is imported.
    """
    try:
        rt = cudart if cudart is not None else import_cudart()
    except BackendUnavailableError:
        return {}
    err, count = rt.cudaGetDeviceCount()
    if int(err) != 0 or device >= int(count):
        return {}
    err, prop = rt.cudaGetDeviceProperties(device)
    if int(err) != 0:
        return {}
    facts: dict[str, Any] = {
        "name": _text(prop.name),
        "compute_capability": f"{prop.major}.{prop.minor}",
        "total_memory_mib": int(prop.totalGlobalMem) >> 20,
        "device": device,
    }
    if bool(getattr(prop, "integrated", 0)):
        facts["integrated"] = True  # Jetson (unified memory)
    try:
        err, version = rt.cudaRuntimeGetVersion()
        if int(err) == 0:
            facts["cuda_runtime"] = f"{int(version) // 1000}.{int(version) % 1000 // 10}"
    except AttributeError:  # pragma: no cover - very old cuda-python
        pass
    return facts


def select_device(device: int = 0, cudart: Any = None) -> None:
    """``cudaSetDevice(device)`` on this thread (TensorRT builds and runs on the current one)."""
    rt = cudart if cudart is not None else import_cudart()
    err = rt.cudaSetDevice(int(device))
    err = err[0] if isinstance(err, tuple) else err
    if int(err) != 0:
        raise BackendUnavailableError(
            f"cannot select CUDA device {device} ({getattr(err, 'name', err)}): check "
            "CUDA_VISIBLE_DEVICES and the driver"
        )


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


def nvidia_smi_gpus() -> list[str]:
    """GPU names with driver from nvidia-smi, when present (desktop only; for ``doctor``)."""
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


def version_tuple(version: str) -> tuple[int, ...]:
    """``"10.3.0.30"`` → ``(10, 3, 0, 30)`` (digits of each dotted part, up to a non-number)."""
    parts = []
    for p in str(version).split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_engine_compatibility(manifest: Any, trt_version: str, gpu: dict[str, Any]) -> None:
    """Refuse an engine built for another TensorRT version or GPU, saying what to do.

    A plain engine loads only on the TensorRT version that built it (major.minor.patch).
    A version-compatible engine (built with ``--version-compatible``, TensorRT ≥ 8.6) loads
    on the same or a newer TensorRT of the same major version, never an older one.
    """
    built = str(manifest.get("tensorrt_version", "?"))
    have_v, built_v = version_tuple(trt_version), version_tuple(built)
    if manifest.get("version_compatible"):
        if not built_v or have_v[:1] != built_v[:1] or have_v < built_v[: len(have_v)]:
            raise EngineCompatibilityError(
                f"version-compatible engine built with TensorRT {built} cannot load on "
                f"TensorRT {trt_version} (only the same or a newer {built_v[:1] or '?'}.x): "
                "rebuild it here with `mmnet-edge export`"
            )
    elif have_v[:3] != built_v[:3]:
        raise EngineCompatibilityError(
            f"engine built with TensorRT {built}, this machine has {trt_version}: rebuild it "
            "here with `mmnet-edge export` (or build with --version-compatible)"
        )
    want = str((manifest.get("gpu") or {}).get("compute_capability", ""))
    have = str(gpu.get("compute_capability", ""))
    if want and have and want != have:
        hw = str(manifest.get("hardware_compatibility") or "").lower()
        if not (hw == "ampere_plus" and float(have) >= 8.0 and not gpu.get("integrated")):
            raise EngineCompatibilityError(
                f"engine built for a GPU of compute capability {want} "
                f"({(manifest.get('gpu') or {}).get('name')}), this GPU is {have} "
                f"({gpu.get('name')}): rebuild the engine on this GPU"
            )
