"""Graph fusions applied before CPU-target quantization (ONNX Runtime's own fusion passes).

The PC module's exact GELU, exported as ``x·(1+erf(x/√2))/2``, stays float in the int8
model. ONNX Runtime fuses those five nodes into one ``Gelu`` kernel in an FP32 graph, but
not once the quantizer has put a ``DequantizeLinear`` on each of its two consumers of ``x``:
fused here first (``com.microsoft.Gelu``, which ONNX Runtime's CPU provider and OpenVINO's
ONNX reader both run), the CPU-target model saves ≈ 0.3 ms per pair on the paper model
(2 cores, AVX-512 VNNI; benchmarks/results/cpu-amd-epyc-2c/int8_cpu_speed.md).
"""

from __future__ import annotations

from pathlib import Path

import onnx


def _gelu_name(input_name: str) -> str:
    """``/pc/blocks.0/mlp/fc1/Add_output_0`` → ``/pc/blocks.0/mlp/Gelu`` (readable in reports)."""
    parts = input_name.rsplit("/", 2)
    return (parts[0] if len(parts) == 3 else input_name) + "/Gelu"


def fuse_gelu(model_path: Path | str, output: Path | str | None = None) -> int:
    """Replace each erf-form GELU subgraph by one ``com.microsoft.Gelu`` node; return how many.

    Uses ``onnxruntime.transformers``' ``FusionGelu`` pass. The file is rewritten in place
    unless ``output`` is given; a graph without the pattern is written unchanged.
    """
    from onnxruntime.transformers.fusion_gelu import FusionGelu
    from onnxruntime.transformers.onnx_model import OnnxModel

    wrapped = OnnxModel(onnx.load(str(model_path)))
    FusionGelu(wrapped).apply()
    wrapped.prune_graph()
    wrapped.topological_sort()
    fused = [n for n in wrapped.model.graph.node if n.op_type == "Gelu"]
    taken = {n.name for n in wrapped.model.graph.node}
    for node in fused:
        name = _gelu_name(node.input[0])
        if name not in taken:
            taken.add(name)
            node.name = name
    domains = {o.domain for o in wrapped.model.opset_import}
    if fused and "com.microsoft" not in domains:
        wrapped.model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(wrapped.model, str(output or model_path))
    return len(fused)
