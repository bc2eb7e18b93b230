"""Image → tensor preprocessing shared by training, calibration and every runtime.

One implementation, so INT8 calibration and training see exactly what the runtime
feeds. Images are H×W×C uint8 (RGB once through :func:`as_rgb_uint8`; files are decoded by
:func:`mmnet_edge.io.read_image`); the model wants N×3×S×S float32 in [0,1], normalised
with the mean/std from :class:`~mmnet_edge.metadata.ModelMetadata`, its channels in the
metadata's ``channel_order`` (``"RGB"`` for every MMNet model; ``"BGR"`` for models trained
on OpenCV-order tensors). Pass ``channel_order=metadata.channel_order`` to :func:`to_tensor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np

from mmnet_edge.errors import InputError

ColorOrder = Literal["rgb", "bgr"]
ChannelOrder = Literal["RGB", "BGR"]
CHANNEL_ORDERS: tuple[str, ...] = ("RGB", "BGR")


def as_rgb_uint8(image: np.ndarray, color: ColorOrder = "bgr", name: str = "image") -> np.ndarray:
    """Validate an image and return it as contiguous H×W×3 RGB uint8.

    Grayscale (H×W or H×W×1) is replicated to three channels; 4-channel input drops
    alpha. ``color`` states the channel order of ``image`` (OpenCV gives ``"bgr"``).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(
            f"{name}: expected uint8 pixels, got {image.dtype}; convert with "
            "np.clip(x, 0, 255).astype(np.uint8) (or pass image paths)"
        )
    if image.size == 0:
        raise InputError(f"{name}: empty image (shape {image.shape})")
    if color not in ("rgb", "bgr"):
        raise InputError(f"color must be 'rgb' or 'bgr', not {color!r}")
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise InputError(
            f"{name}: expected H×W (gray) or H×W×{{1,3,4}} image, got shape {image.shape}"
        )
    if image.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if color == "bgr":  # cvtColor is ~10× faster than copying a reversed-stride view
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def is_grey(rgb: np.ndarray) -> bool:
    """True when an H×W×3 image carries no colour (all three channels equal): a grey frame,
    whether it came as H×W, H×W×1, or a grey file decoded to three channels. Checked on
    every 4th pixel of every 4th row (a colour photo differs almost everywhere)."""
    sub = rgb[::4, ::4]
    return bool((sub[..., 0] == sub[..., 1]).all() and (sub[..., 1] == sub[..., 2]).all())


def check_same_kind(frames: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Frames that are compared (onset and apex, a clip) must all be colour or all grey:
    apex − onset across a colour and a grey frame is colour, not motion. Applied alike to
    files, arrays, serve requests and clips (a stream restarts instead: stream.py)."""
    kinds = [is_grey(f) for f in frames]
    if len(set(kinds)) > 1:
        grey = [n for n, k in zip(names, kinds) if k]
        colour = [n for n, k in zip(names, kinds) if not k]
        raise InputError(
            f"{', '.join(grey[:3])} grey but {', '.join(colour[:3])} colour: frames that are "
            "compared must come from one camera mode; convert all of them to grey (or use "
            "colour frames throughout)"
        )


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size×size`` (area filter when shrinking, bilinear when enlarging)."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def check_channel_order(channel_order: str) -> ChannelOrder:
    """``"RGB"``/``"BGR"`` (any case) → upper case; :class:`InputError` otherwise."""
    order = str(channel_order).upper()
    if order not in CHANNEL_ORDERS:
        raise InputError(
            f"channel_order must be 'RGB' or 'BGR', not {channel_order!r}; "
            "use the model metadata's channel_order"
        )
    return order  # type: ignore[return-value]


def to_tensor(
    images_rgb: np.ndarray | Sequence[np.ndarray],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    channel_order: ChannelOrder | str = "RGB",
) -> np.ndarray:
    """RGB uint8 image(s) → N×3×size×size float32, scaled to [0,1] and normalised.

    The input is always RGB (see :func:`as_rgb_uint8`). ``channel_order`` is the order the
    *model* expects (``ModelMetadata.channel_order``): with ``"BGR"`` tensor channel 0 is
    blue. ``mean`` and ``std`` are per tensor channel, i.e. listed in ``channel_order``.
    """
    order = check_channel_order(channel_order)
    if isinstance(images_rgb, np.ndarray) and images_rgb.ndim == 3:
        images_rgb = [images_rgb]
    batch = np.stack([resize_square(im, size) for im in images_rgb]).astype(np.float32)
    if order == "BGR":
        batch = batch[..., ::-1]  # the transpose below makes the result contiguous
    batch *= 1.0 / 255.0
    batch -= np.asarray(mean, dtype=np.float32)
    batch /= np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def check_pair_tensors(onset: np.ndarray, apex: np.ndarray, size: int) -> None:
    """Raise :class:`InputError` unless both are N×3×size×size float32 of one batch."""
    for name, t in (("onset", onset), ("apex", apex)):
        if not isinstance(t, np.ndarray):
            raise InputError(f"{name}: expected a numpy array, got {type(t).__name__}")
        if t.dtype != np.float32:
            raise InputError(f"{name}: expected float32 tensor, got {t.dtype}")
        if t.ndim != 4 or t.shape[1] != 3 or t.shape[2:] != (size, size):
            raise InputError(
                f"{name}: expected N×3×{size}×{size} tensor, got shape {tuple(t.shape)}"
            )
    if onset.shape != apex.shape:
        raise InputError(f"onset {onset.shape} and apex {apex.shape} shapes differ")
    check_finite_tensor("onset", onset)
    check_finite_tensor("apex", apex)


def check_finite_tensor(name: str, tensor: np.ndarray) -> None:
    """Raise :class:`InputError` naming the pairs (rows) of an N×… tensor with NaN/Inf: a
    broken input, told apart from a model whose outputs are not finite."""
    t = np.asarray(tensor)
    if not np.isfinite(t).all():
        rows = t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(1, -1)
        bad = np.flatnonzero(~np.isfinite(rows).all(1))
        raise InputError(
            f"{name} tensor contains NaN/Inf (pair(s) {bad[:5].tolist()}): the input, "
            "not the model, is broken — check the frames and the preprocessing that made it"
        )


def pair_tensors(pairs: Sequence[Sequence[np.ndarray]], meta: Any) -> tuple[np.ndarray, np.ndarray]:
    """Onset and apex N×3×S×S tensors of ``(onset, apex, …)`` RGB uint8 pairs, preprocessed as
    the runtime does for ``meta`` (a ModelMetadata: input size, mean/std, channel order)."""
    onset, apex = (
        to_tensor(
            [p[j] for p in pairs],
            meta.input_size,
            meta.mean,
            meta.std,
            channel_order=meta.channel_order,
        )
        for j in (0, 1)
    )
    return onset, apex


def heldout_batches(
    meta: Any, n: int = 32, batch: int = 8, seed: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` held-out synthetic micro-motion pairs (faces never used for training,
    :func:`mmnet_edge.synth.heldout_pairs`), preprocessed for ``meta``, in batches of ``batch``.
    The inputs every export validation, the backend probe and the acceptance run compare on."""
    from mmnet_edge.synth import heldout_pairs

    pairs = heldout_pairs(n, meta.input_size, **({} if seed is None else {"seed": seed}))
    return [pair_tensors(pairs[i : i + batch], meta) for i in range(0, len(pairs), batch)]
