"""Reading images and videos from disk: one decoder for training, calibration and runtime.

Bottom layer: imports only numpy, OpenCV, the standard library and :mod:`mmnet_edge.errors`.
"""

from mmnet_edge.io.images import (
    IMAGE_SUFFIXES,
    decode_image,
    is_image_path,
    list_images,
    natural_sort_key,
    read_image,
    to_uint8,
)
from mmnet_edge.io.video import (
    VIDEO_SUFFIXES,
    PartialVideoWarning,
    count_frames,
    is_video_path,
    iter_video,
    read_video,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "PartialVideoWarning",
    "count_frames",
    "decode_image",
    "is_image_path",
    "is_video_path",
    "iter_video",
    "list_images",
    "natural_sort_key",
    "read_image",
    "read_video",
    "to_uint8",
]
