"""Face alignment: detectors, onset-locked similarity crops, stream reference tracking."""

from mmnet_edge.align.aligner import (
    AlignedClip,
    AlignedPair,
    Aligner,
    AlignmentTransform,
    ReferenceTracker,
    similarity_transform,
)
from mmnet_edge.align.detector import (
    ENV_VAR,
    YUNET_FILE,
    Face,
    FaceDetector,
    YuNetDetector,
    resolve_detector_model,
)
from mmnet_edge.align.io import read_image, read_video

__all__ = [
    "ENV_VAR",
    "YUNET_FILE",
    "AlignedClip",
    "AlignedPair",
    "Aligner",
    "AlignmentTransform",
    "Face",
    "FaceDetector",
    "ReferenceTracker",
    "YuNetDetector",
    "read_image",
    "read_video",
    "resolve_detector_model",
    "similarity_transform",
]
