"""Procedural micro-expression faces: renderer, AU-like motion model, seeded drawing.

A low-level package (numpy + OpenCV, no torch; imports nothing of data/train/export/
runtime) so that training data (:mod:`mmnet_edge.data.synthetic`), export validation and
benchmarks draw the same faces. :func:`heldout_pairs` gives validation pairs from subjects
that no training set drawn with the default seeds contains.
"""

from mmnet_edge.synth.config import CLASS_NAMES, REFERENCE_SIZE, SyntheticConfig
from mmnet_edge.synth.draw import (
    HELDOUT_SEED,
    DrawnPair,
    heldout_pairs,
    iter_pairs,
    subject_identity,
)
from mmnet_edge.synth.face import FaceIdentity, random_identity
from mmnet_edge.synth.motion import CLASS_AUS, Motion, sample_motion
from mmnet_edge.synth.render import Nuisance, Pose, make_clip, make_pair, render_face

__all__ = [
    "CLASS_AUS",
    "CLASS_NAMES",
    "HELDOUT_SEED",
    "REFERENCE_SIZE",
    "DrawnPair",
    "FaceIdentity",
    "Motion",
    "Nuisance",
    "Pose",
    "SyntheticConfig",
    "heldout_pairs",
    "iter_pairs",
    "make_clip",
    "make_pair",
    "random_identity",
    "render_face",
    "sample_motion",
    "subject_identity",
]
