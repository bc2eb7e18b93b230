"""The acceptance report: one result per step, the verdict (failed / nothing GPU-side proven /
passed), and its JSON and Markdown forms."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: steps that exercise the GPU (one passed is "something GPU-side was proven")
GPU_STEPS = frozenset(
    {
        "cuda-buffers (cuda-python)",
        "cuda-buffers (pycuda)",
        "engine builds",
        "tensorrt runner vs ort cpu",
        "int8 engine",
        "legacy calibrator",
        "version-compatible engine",
        "torch cuda graphs",
        "ort cuda/tensorrt providers",
        "dla",
    }
)


@dataclass
class StepResult:
    name: str
    status: str  # passed | failed | skipped
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AcceptanceReport:
    device: str
    environment: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    started: str = ""

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    @property
    def gpu_proven(self) -> bool:
        return any(s.status == "passed" and s.name in GPU_STEPS for s in self.steps)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def verdict(self) -> str:
        if self.failed:
            return f"FAILED: {', '.join(s.name for s in self.failed)}"
        if not self.gpu_proven:
            return (
                "NOTHING GPU-SIDE WAS PROVEN on this machine: every GPU step was skipped "
                "(see the reasons); run this on a machine with an NVIDIA GPU and TensorRT"
            )
        skipped = [s.name for s in self.steps if s.status == "skipped"]
        return "PASSED" + (f" (skipped: {', '.join(skipped)})" if skipped else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "started": self.started,
            "verdict": self.verdict,
            "gpu_proven": self.gpu_proven,
            "environment": self.environment,
            "steps": [asdict(s) for s in self.steps],
        }

    def to_markdown(self) -> str:
        lines = [
            f"# mmnet-edge GPU acceptance — {self.device}",
            "",
            f"Started {self.started}. **{self.verdict}**",
            "",
            "| step | status | seconds | detail |",
            "|---|---|---|---|",
        ]
        for s in self.steps:
            detail = s.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {s.name} | {s.status} | {s.seconds:.1f} | {detail} |")
        lines += ["", "## Environment", "", "```json", json.dumps(self.environment, indent=2)]
        lines += ["```", ""]
        return "\n".join(lines)


def device_slug(gpu: dict[str, Any], jetson: dict[str, Any]) -> str:
    """A folder name for the machine: ``nvidia-geforce-rtx-3060``, ``jetson-…``, ``no-gpu``."""
    name = jetson.get("model") or gpu.get("name") or "no-gpu"
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "no-gpu"
