"""Artefact layer: file formats, metadata of any artefact, typed manifests, platform facts.

Below export and runtime, which both read it; imports nothing of train/data/export/runtime
and never torch.
"""

from mmnet_edge.artifacts.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)
from mmnet_edge.artifacts.formats import (
    CONTAINER_BACKENDS,
    FORMATS,
    FORMATS_BY_NAME,
    ArtifactFormat,
    base_stem,
    container_of,
    engine_path,
    format_of,
    resolve_onnx_variant,
    variant_path,
)
from mmnet_edge.artifacts.manifests import EngineManifest, read_engine_manifest, sidecar_path
from mmnet_edge.artifacts.metadata_io import describe, file_sha256, read_metadata

__all__ = [
    "CONTAINER_BACKENDS",
    "FORMATS",
    "FORMATS_BY_NAME",
    "ArtifactFormat",
    "EngineManifest",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "base_stem",
    "container_of",
    "describe",
    "engine_path",
    "file_sha256",
    "format_of",
    "read_engine_manifest",
    "read_metadata",
    "resolve_onnx_variant",
    "sidecar_path",
    "variant_path",
]
