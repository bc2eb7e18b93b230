"""Face alignment: detectors, onset-locked similarity crops, stream reference tracking."""

from mmnet_edge.align.aligner import AlignedClip, AlignedPair, Aligner, ReferenceTracker
from mmnet_edge.align.detector import (
    CallerSuppliedDetector,
    Face,
    FaceDetector,
    MediaPipeDetector,
    YuNetDetector,
    face_from,
)
from mmnet_edge.align.model_path import (
    ENV_VAR,
    YUNET_FILE,
    default_cache_dir,
    resolve_detector_model,
)
from mmnet_edge.align.transform import (
    TEMPLATE_5,
    AlignmentTransform,
    apply_transform,
    similarity_transform,
)

__all__ = [
    "ENV_VAR",
    "TEMPLATE_5",
    "YUNET_FILE",
    "AlignedClip",
    "AlignedPair",
    "Aligner",
    "AlignmentTransform",
    "CallerSuppliedDetector",
    "Face",
    "FaceDetector",
    "MediaPipeDetector",
    "ReferenceTracker",
    "YuNetDetector",
    "apply_transform",
    "default_cache_dir",
    "face_from",
    "resolve_detector_model",
    "similarity_transform",
]
