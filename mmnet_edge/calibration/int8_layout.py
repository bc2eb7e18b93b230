"""The INT8 layout of each target: the nodes kept float, the op types quantized, the default
calibration percentile and the layout revision recorded in every file.

Nodes matching ``keep_float`` stay in higher precision. Defaults per target
(``KEEP_FLOAT_BY_TARGET``), measured on tiny models trained on the synthetic set, 4
independent held-out sets each (``benchmarks/int8_robustness.py``, docs/calibration.md):

* both: the four 2→1-channel spatial-attention convolutions (quantized, agreement fell to
  0.40: their input is a channel mean/max and a sigmoid follows; < 0.1 % of the FLOPs);
* TensorRT target also: the whole stride-4 stage (stem, conv1, block 0). Their inputs are
  the motion image and heavy-tailed ReLU maps (median 0, max ≈ 15× the 99th percentile);
  quantized, agreement on held-out subjects fell to 0.90–0.97 with symmetric int8. Since
  0.5 also block 1 and the PC module's patch embedding (``TRT_05_FLOAT``): on weakly
  trained models (8 epochs) the 0.4 layout's worst held-out set fell to 0.92.
* CPU target (ONNX Runtime): only what measured sensitive *inside* that stage — block 0's
  residual Add, its ReLU and the attention product (the map every later block's attention
  multiplies; alone, its int8 Add flipped 17 of 480 held-out predictions of one model).
  The stem, conv1 and block 0's convolutions run in int8, the motion image quantized at
  the pixel step (:mod:`~mmnet_edge.calibration.motion_input`; with a calibrated step the
  int8 stem cost 1–2 points of agreement, with the pixel step none). 0.3 kept the stem
  float too; the int8 stem measured as fast on a quiet machine and ≈ 10 % faster under
  load (docs/calibration.md). Softmax is not a quantized op type (``FLOAT_SOFTMAX_OPS``).
* OpenVINO target: only the attention convolutions (OpenVINO folds the DQ/Q around block
  0's island into its int8 kernels, ONNX Runtime cannot); Softmax as on the CPU target.

Chosen on held-out seeds 5001–5004, reported on the standard ones (docs/calibration.md).
The CPU and OpenVINO targets also fuse the PC module's GELU into one kernel first
(:mod:`mmnet_edge.calibration.fusions`). 0.3's opt-in ``cpu_fast`` (the stem in int8 too)
became the default in 0.4; the flag was removed in 0.5.

Default calibration: percentile 99.999 % on the CPU targets, 99.99 % on the TensorRT target
(99.9 % and minmax were measured too; their worst held-out results were lower:
docs/calibration.md). Every INT8 file is then gated on independent held-out sets
(:mod:`~mmnet_edge.calibration.gate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import onnx

from mmnet_edge.artifacts.formats import INT8_TARGET_NAMES, INT8_TARGETS


def matches_any(node_name: str, patterns: Sequence[str]) -> bool:
    """A node-name pattern matches as a substring, or as a prefix when it starts with "^"."""
    return any(
        node_name.startswith(p[1:]) if p.startswith("^") else p in node_name for p in patterns
    )


TARGETS = INT8_TARGET_NAMES

METHODS = ("minmax", "entropy", "percentile")

#: how the motion image (the stem's input) is quantized where the stem runs in int8
MOTION_STEPS = ("pixel", "calibrated")

DEFAULT_KEEP_FLOAT: tuple[str, ...] = ("/attention/",)

# MMNet's stride-4 stage: the convolutions most sensitive to int8 activations (see above).
#: "^" anchors a pattern at the start of the node name: "/blocks.0/" alone would also match
#: the PC module's first transformer block ("/pc/blocks.0/…")
EARLY_STAGE: tuple[str, ...] = ("^/stem/", "^/conv1/conv1.0/", "^/blocks.0/")

#: the stem convolution, whose input is the motion image itself (apex − onset: std ≈ 0.09,
#: range ≈ ±2.5, so 8 bits leave the subtle motion a handful of levels); ≈ 1 % of the FLOPs
STEM: tuple[str, ...] = ("^/stem/",)

#: block 0's residual sum, its ReLU and the attention product: the map the first spatial
#: attention reads (channel mean and max) and every later block's attention multiplies.
#: Quantized alone, its residual Add flipped 17 of 480 held-out predictions (one model)
BLOCK0_ISLAND: tuple[str, ...] = ("^/blocks.0/Add", "^/blocks.0/Relu_1", "^/blocks.0/Mul")

#: TensorRT target since 0.5: block 1, whose input (block 0's attention-weighted output) is
#: the most sensitive activation left — quantized alone it flipped up to 4 % of held-out
#: predictions of weakly trained models — and the PC module's patch embedding, whose input is
#: the onset image itself (≈ 0 FLOPs). 7.9 % of the paper model's FLOPs
TRT_05_FLOAT: tuple[str, ...] = ("^/blocks.1/", "^/pc/patch_embed/")

#: 0.2–0.4's TensorRT layout (benchmarks compare with it)
TRT_V04_KEEP_FLOAT: tuple[str, ...] = DEFAULT_KEEP_FLOAT + EARLY_STAGE

KEEP_FLOAT_BY_TARGET: dict[str, tuple[str, ...]] = {
    "tensorrt": DEFAULT_KEEP_FLOAT + EARLY_STAGE + TRT_05_FLOAT,
    "cpu": DEFAULT_KEEP_FLOAT + BLOCK0_ISLAND,
    # OpenVINO runs block 0's island and the stem fastest in int8, ONNX Runtime slower (its
    # attention reductions then read two dequantized copies): all int8 but the attention
    # convs, the motion image at the pixel step (motion_input.py)
    "openvino": DEFAULT_KEEP_FLOAT,
}

#: TensorRT target: 99.99 since 0.5 (with the wider float set, its worst selection set rose
#: from 0.975 to 0.988 on the weakest model; docs/calibration.md)
PERCENTILE_BY_TARGET = {"tensorrt": 99.99, "cpu": 99.999, "openvino": 99.999}

#: changes when a target's default layout (float set, op set, fusions) changes: the export
#: pipeline rebuilds an INT8 file whose recorded revision differs (0.3: the CPU target's
#: stride-4 convolutions int8, GELU fused; 0.4: an int8 stem — cpu_fast — quantizes the
#: motion image at the pixel step; 0.5: the TensorRT target keeps block 1 and the patch
#: embedding float, percentile 99.99)
LAYOUT_REVISION_BY_TARGET = {"tensorrt": "0.5", "cpu": "0.4", "openvino": "0.4"}

QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")

#: op types with int8 kernels (or int8 pass-through) in ONNX Runtime's CPU provider
CPU_EXTRA_OPS = (
    "Add",
    "Mul",
    "MaxPool",
    "Relu",
    "Concat",
    "Softmax",
    "Reshape",
    "Transpose",
    "Gather",
    "Flatten",
    "Resize",
)

#: Softmax is not a quantized op type on the CPU targets (0.4): its output then takes the
#: next MatMul's calibrated range instead of the fixed [0, 1] ONNX Runtime's quantizer gives
#: Softmax (a finer step for attention probabilities that stay well below 1). ONNX Runtime
#: still fuses DQ→Softmax→Q into QLinearSoftmax; OpenVINO runs Softmax in float. Held-out
#: agreement equal or better on every set measured (docs/calibration.md)
FLOAT_SOFTMAX_OPS: tuple[str, ...] = QUANTIZED_OPS + tuple(
    op for op in CPU_EXTRA_OPS if op != "Softmax"
)

OPS_BY_TARGET: dict[str, tuple[str, ...]] = {
    "tensorrt": QUANTIZED_OPS,
    "cpu": FLOAT_SOFTMAX_OPS,
    "openvino": FLOAT_SOFTMAX_OPS,
}

#: 0.3's CPU layout (the stem float too, int8 Softmax): the reference the benchmarks compare with
CPU_V03_KEEP_FLOAT: tuple[str, ...] = DEFAULT_KEEP_FLOAT + STEM + BLOCK0_ISLAND

CPU_V03_OPS: tuple[str, ...] = QUANTIZED_OPS + CPU_EXTRA_OPS

#: GELU written out (x·(1+erf(x/√2))/2): always float on the CPU target, fused into one kernel
GELU_NODES: tuple[str, ...] = ("/mlp/Div", "/mlp/Erf", "/mlp/Add", "/mlp/Mul")

#: INT8 target → artefact format (file names derive from the FP32 file's stem)
TARGET_FORMATS = {t.name: t.format for t in INT8_TARGETS}


def nodes_matching(model_path: Path, patterns: Sequence[str]) -> list[str]:
    """Names of the graph's nodes containing any of ``patterns`` (e.g. ``/attention/``)."""
    model = onnx.load(str(model_path), load_external_data=False)
    return [n.name for n in model.graph.node if matches_any(n.name, patterns)]
