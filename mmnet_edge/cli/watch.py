"""``mmnet-edge watch MODEL VIDEO`` / ``--camera N``: spot and classify events live."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mmnet_edge.cli.options import runtime_options

#: frame rate written when a camera does not report a usable one
DEFAULT_FPS = 25.0


def annotate(frame: Any, face: Any, label: str | None, no_face: bool = False) -> Any:
    """The frame (BGR) with the face box, its five landmarks and the current label."""
    import cv2

    out = frame.copy()
    if face is not None and not no_face:
        x, y, w, h = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 220, 0), 2)
        for px, py in face.landmarks[:5]:
            cv2.circle(out, (int(round(px)), int(round(py))), 3, (0, 160, 255), -1)
    text = "no face" if no_face else label
    if text:
        cv2.putText(out, text, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 3)
        cv2.putText(out, text, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 200), 1)
    return out


def _source(video: str | None) -> str | None:
    """A local file must exist; a URL (``rtsp://``, ``http://`` …) goes to OpenCV as is."""
    from mmnet_edge.errors import InputError

    if video is None or "://" in video:
        return video
    if not Path(video).expanduser().is_file():
        raise InputError(f"{video}: no such video file")
    return str(Path(video).expanduser())


def _writer_fps(cap: Any, fps: float | None) -> float:
    import cv2

    rate = fps or float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return rate if 1.0 <= rate <= 240.0 else DEFAULT_FPS


def _stop_on_sigterm() -> Callable[[], None]:
    """SIGTERM (``systemctl stop``, ``docker stop``) stops like Ctrl-C: summary printed, video
    finalised. Returns what restores the previous handler (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    return lambda: signal.signal(signal.SIGTERM, previous)


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("video", required=False)
@click.option("--camera", type=click.IntRange(min=0), default=None, help="Camera index.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the annotated video here (.mp4: box, landmarks, label).",
)
@runtime_options
@click.option("--window", type=int, default=60, show_default=True, help="Frames per event.")
@click.option(
    "--threshold", type=float, default=3.0, show_default=True, help="Motion that starts an event."
)
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after N.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per event on stdout (and a summary object last); status on stderr.",
)
def watch(
    model: Path,
    video: str | None,
    camera: int | None,
    save: Path | None,
    runtime: dict[str, Any],
    window: int,
    threshold: float,
    max_frames: int | None,
    as_json: bool,
) -> None:
    """Run the stream predictor on VIDEO (a file or an rtsp:// / http:// URL) or --camera N
    and print each spotted event as it happens (time of its apex, class, confidence).
    Frames without a face are skipped (the stream restarts when a face comes back). Ctrl-C or
    SIGTERM stops cleanly: the summary is printed and the --save video is finalised. A camera
    that stops delivering frames ends with exit code 1 after the summary."""
    import cv2

    from mmnet_edge.errors import InputError, NoFaceError, OutputError
    from mmnet_edge.io.video import open_capture
    from mmnet_edge.runtime.runtime import Runtime

    if (video is None) == (camera is None):
        raise InputError("give a VIDEO file (or stream URL) or --camera N, one of them")
    cap, fps, name = open_capture(_source(video), camera)
    restore_sigterm = _stop_on_sigterm()

    def status(msg: str) -> None:
        click.echo(msg, err=True)

    writer = None
    events: list[dict[str, Any]] = []
    frames = no_face_frames = 0
    stamps: deque[float] = deque(maxlen=max(window, 3) + 2)  # recent frame times (camera)
    t0 = time.perf_counter()
    interrupted = lost = False
    try:
        with Runtime(model, **runtime) as rt:
            stream = rt.stream(window=window, threshold=threshold)
            status(f"watching {name} with {rt.backend} ({rt.runner.precision}); Ctrl-C stops")
            label, no_face = None, False

            def time_of(index: int) -> float:
                if fps:
                    return index / fps
                k = index - (frames - len(stamps))
                return stamps[k] if 0 <= k < len(stamps) else stamps[-1]

            while max_frames is None or frames < max_frames:
                ok, frame = cap.read()
                if not ok:
                    lost = camera is not None
                    break
                stamps.append(frames / fps if fps else time.perf_counter() - t0)
                frames += 1  # the stream counts this frame even when it has no face
                try:
                    pred = stream.push(frame)
                except NoFaceError:
                    if not no_face:
                        status(f"{stamps[-1]:9.2f} s  no face in view")
                    no_face, pred = True, None
                    no_face_frames += 1
                    stream.reset()  # a face that comes back gets a fresh fit and onset
                else:
                    if no_face:
                        status(f"{stamps[-1]:9.2f} s  face found")
                    no_face = False
                if pred is not None:
                    when = time_of(pred.apex_index)
                    label = f"{pred.label} {pred.confidence:.2f}"
                    event = {
                        "time_s": round(when, 3),
                        "label": pred.label,
                        "confidence": round(pred.confidence, 4),
                        "onset_frame": pred.onset_index,
                        "apex_frame": pred.apex_index,
                        "spotted_s": round(stamps[-1], 3),
                        "probabilities": {k: round(v, 4) for k, v in pred.probabilities.items()},
                    }
                    events.append(event)
                    click.echo(
                        json.dumps(event)
                        if as_json
                        else f"{when:9.2f} s  {pred.label:<12} {pred.confidence:.2f}  (onset "
                        f"frame {pred.onset_index}, apex frame {pred.apex_index})"
                    )
                if save is not None:
                    if writer is None:
                        h, w = frame.shape[:2]
                        writer = cv2.VideoWriter(
                            str(save),
                            cv2.VideoWriter_fourcc(*"mp4v"),
                            _writer_fps(cap, fps),
                            (w, h),
                        )
                        if not writer.isOpened():
                            raise OutputError(f"cannot write {save} (folder, permissions?)")
                    writer.write(annotate(frame, stream.face, label, no_face))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        restore_sigterm()
        cap.release()
        if writer is not None:
            writer.release()
    counts = Counter(e["label"] for e in events)
    saved = str(save) if save is not None and writer is not None else None
    if as_json:
        summary = {
            "summary": True,
            "source": name,
            "frames": frames,
            "frames_without_face": no_face_frames,
            "events": len(events),
            "counts": dict(counts.most_common()),
            "interrupted": interrupted,
            "source_lost": lost,
            "saved": saved,
        }
        click.echo(json.dumps(summary))
    else:
        listed = ", ".join(f"{k} {v}" for k, v in counts.most_common()) or "none"
        faceless = f" ({no_face_frames} without a face)" if no_face_frames else ""
        click.echo(
            f"{'interrupted: ' if interrupted else ''}{frames} frames{faceless}, "
            f"{len(events)} event(s): {listed}" + (f"; annotated video: {saved}" if saved else "")
        )
    if lost:
        raise InputError(
            f"{name} stopped delivering frames after {frames} (unplugged, or taken by another "
            "program?)"
        )
