"""Face alignment: detectors, onset-locked similarity crops, stream reference tracking."""

from mmnet_edge.align.aligner import (
    TEMPLATE_5,
    AlignedClip,
    AlignedPair,
    Aligner,
    AlignmentTransform,
    ReferenceTracker,
    StreamAligner,
    apply_transform,
    similarity_transform,
)
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
from mmnet_edge.io import iter_video, list_images, read_image, read_video

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
    "StreamAligner",
    "YuNetDetector",
    "apply_transform",
    "default_cache_dir",
    "face_from",
    "iter_video",
    "list_images",
    "read_image",
    "read_video",
    "resolve_detector_model",
    "similarity_transform",
]
