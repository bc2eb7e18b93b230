"""Compatibility re-export: image and video reading now live in :mod:`mmnet_edge.io`."""

from mmnet_edge.io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    count_frames,
    iter_video,
    list_images,
    natural_sort_key,
    read_image,
    read_video,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "count_frames",
    "iter_video",
    "list_images",
    "natural_sort_key",
    "read_image",
    "read_video",
]
