"""TensorRT engines that build on TensorRT 8.6 (JetPack 5), 10.x (JetPack 6, desktop) and 11.x.

TensorRT's precision API split in two:

* ≤ 10.x: FP16/INT8 via builder flags (``BuilderFlag.FP16``/``INT8``); INT8 from Q/DQ
  nodes (explicit) or an implicit calibrator (deprecated since 10.1).
* ≥ 10.0 also offers *strongly typed* networks (``NetworkDefinitionCreationFlag.
  STRONGLY_TYPED``): precision comes from the ONNX itself (FP16 tensors, Q/DQ nodes).
  TensorRT 11 removed the precision flags and calibrators: strongly typed only.

Which path is used is decided by feature detection on the real module (``hasattr``),
never by comparing version strings. The engine is a plain ``.engine`` file (loadable by
``trtexec``) with a ``.engine.json`` sidecar describing how and where it was built.
"""

from __future__ import annotations

from mmnet_edge.artifacts.manifests import (
    EngineManifest,
    read_engine_manifest,
    sidecar_path,
)
from mmnet_edge.artifacts.metadata_io import describe as describe_engine
from mmnet_edge.artifacts.platform import (
    check_engine_compatibility,
    gpu_facts,
    import_tensorrt,
    jetson_facts,
)
from mmnet_edge.export.engine_build import (
    EngineResult,
    build_engine,
    choose_onnx_for_precision,
    timing_cache_path,
)
from mmnet_edge.export.engine_options import (
    PRECISIONS,
    EngineOptions,
    TensorRTFeatures,
    detect_features,
)
from mmnet_edge.export.engine_validate import validate_engine

# earlier names
read_sidecar = read_engine_manifest
jetson_release = jetson_facts

__all__ = [
    "PRECISIONS",
    "EngineManifest",
    "EngineOptions",
    "EngineResult",
    "TensorRTFeatures",
    "build_engine",
    "check_engine_compatibility",
    "choose_onnx_for_precision",
    "describe_engine",
    "detect_features",
    "gpu_facts",
    "import_tensorrt",
    "jetson_facts",
    "jetson_release",
    "read_engine_manifest",
    "read_sidecar",
    "sidecar_path",
    "timing_cache_path",
    "validate_engine",
]
