"""One command that proves the GPU half: ``mmnet-edge doctor --acceptance [--output DIR]``.

Runs, in order: environment; CUDA buffer round trips (cuda-python, pycuda); FP32/FP16
engine builds, strongly and weakly typed, with a reused timing cache; the TensorRT runner
at batch 1 / mid / max against ONNX Runtime CPU (through :func:`mmnet_edge.compare.compare`);
INT8 build with accuracy and latency against FP16; the legacy calibrator; a
version-compatible build → load; PyTorch CUDA graphs against eager; ONNX Runtime CUDA and
TensorRT providers; on Jetson, DLA. Each step is ``passed``, ``failed`` (with the error)
or ``skipped`` (with the reason). The report goes to
``benchmarks/results/<device>/acceptance.{json,md}``; any failure makes the exit code 1.
With no GPU everything GPU-side is skipped and the report says that nothing GPU-side was
proven. A tiny seeded model (random weights) is used: this checks the machinery, not
accuracy on real data.
"""

from mmnet_edge.acceptance.context import Context, Skip
from mmnet_edge.acceptance.report import AcceptanceReport, StepResult
from mmnet_edge.acceptance.run import run_acceptance

__all__ = ["AcceptanceReport", "Context", "Skip", "StepResult", "run_acceptance"]
