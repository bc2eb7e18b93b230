"""Checks that a caller-given face box and landmarks describe a face in the image.

The thresholds pass every face a detector returns (YuNet's smallest detections are ~13 px,
its landmarks lie inside its box); what they refuse is a box or landmarks in another frame's
or another convention's coordinates."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmnet_edge.errors import InputError

#: a caller's face box must lie at least this much inside the image (a detector's box at
#: the frame edge is ~70–90 % inside; less means the crop would be stretched edge pixels)
MIN_BOX_INSIDE = 0.5

#: shorter box side below this (px) holds too little face to upsample to the model's input
#: (YuNet's smallest detections are ~13 px: a real detector result is never refused)
MIN_FACE_PX = 8

#: a box larger than this many times the image's longer side is not a face in this image
MAX_BOX_TO_IMAGE = 3.0

#: landmarks may fall this far outside the image (a fraction of its longer side)
LANDMARK_MARGIN = 0.1

#: eyes closer than this (px) give no usable rotation or scale
MIN_EYE_DISTANCE_PX = 2.0

#: eyes closer than this fraction of the box width are degenerate (YuNet: 0.4–0.5 upright,
#: ≥ 0.16 on faces rotated 60–90°)
MIN_EYE_TO_BOX = 0.05

#: the landmarks' centre must lie inside the box grown by this fraction of its size per side
#: (a detector's landmarks lie inside its box; outside means box and landmarks disagree)
LANDMARKS_NEAR_BOX = 0.5


def _normalised_hint(values: np.ndarray, w: int, h: int) -> str:
    """A hint when coordinates look like fractions of the image (MediaPipe's convention)."""
    if max(w, h) > 4 and values.size and float(np.abs(values).max()) <= 1.5:
        return f" (they look normalised to [0, 1]: multiply x by {w} and y by {h})"
    return ""


def check_face_in_image(face: Any, shape: tuple[int, ...]) -> None:
    """Refuse a caller-given box/landmarks that do not describe a face in this image (an
    :class:`InputError` saying what is wrong): not finite, mostly outside it, tiny, far
    larger than it, landmarks off the image or away from the box, or eyes on top of each
    other. The thresholds (constants above) pass every face a detector returns."""
    h, w = int(shape[0]), int(shape[1])
    box = np.asarray(face.box, np.float64).reshape(-1)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise InputError(
            f"face box must be four finite numbers (x, y, w, h) with w, h > 0, got "
            f"{np.asarray(face.box).tolist()}; pass the box in this frame's pixel coordinates"
        )
    x, y, bw, bh = (float(v) for v in box)
    where = f"face box (x={x:g}, y={y:g}, w={bw:g}, h={bh:g}) for a {w}×{h} image"
    if min(bw, bh) < MIN_FACE_PX:
        raise InputError(
            f"{where} is smaller than {MIN_FACE_PX} px: too little face to align"
            + _normalised_hint(box, w, h)
        )
    if max(bw, bh) > MAX_BOX_TO_IMAGE * max(w, h):
        raise InputError(f"{where} is over {MAX_BOX_TO_IMAGE:g}× the image: not a face in it")
    ix = max(0.0, min(x + bw, w) - max(x, 0.0))
    iy = max(0.0, min(y + bh, h) - max(y, 0.0))
    inside = ix * iy / (bw * bh)
    if inside < MIN_BOX_INSIDE:
        where_off = "entirely outside the image" if inside == 0 else f"{1 - inside:.0%} outside"
        raise InputError(
            f"{where} lies {where_off} (at most {1 - MIN_BOX_INSIDE:.0%} may): pass "
            "box/landmarks in this frame's pixel coordinates, or let the detector find the face"
        )
    lm = np.asarray(face.landmarks, np.float64)
    if lm.size == 0:
        return
    if lm.ndim != 2 or lm.shape[1] != 2 or not np.isfinite(lm).all():
        raise InputError(
            f"landmarks must be a finite K×2 array (x, y in pixels), got shape {lm.shape}"
        )
    m = LANDMARK_MARGIN * max(w, h)
    off = (lm[:, 0] < -m) | (lm[:, 0] > w + m) | (lm[:, 1] < -m) | (lm[:, 1] > h + m)
    if off.any():
        raise InputError(
            f"{int(off.sum())} landmark(s) lie outside the {w}×{h} image (e.g. "
            f"{lm[off][0].round(1).tolist()}): pass them in this frame's pixel coordinates"
        )
    if len(lm) >= 2:
        eyes = float(np.linalg.norm(lm[1] - lm[0]))
        if eyes < max(MIN_EYE_DISTANCE_PX, MIN_EYE_TO_BOX * bw):
            raise InputError(
                f"landmarks are degenerate: the eyes are {eyes:.2f} px apart in a {bw:g} px "
                f"wide face (need ≥ {MIN_EYE_DISTANCE_PX:g} px and ≥ {MIN_EYE_TO_BOX:g}× the "
                "width); pass right eye, left eye, nose tip, right and left mouth corner, in "
                "that order, in pixels" + _normalised_hint(lm, w, h)
            )
    cx, cy = lm[:5].mean(0)
    gx, gy = LANDMARKS_NEAR_BOX * bw, LANDMARKS_NEAR_BOX * bh
    if not (x - gx <= cx <= x + bw + gx and y - gy <= cy <= y + bh + gy):
        raise InputError(
            f"the landmarks (centre {cx:.0f}, {cy:.0f}) lie away from the {where}: box and "
            "landmarks must describe the same face in the same frame"
        )
