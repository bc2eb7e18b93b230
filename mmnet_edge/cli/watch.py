"""``mmnet-edge watch MODEL VIDEO`` / ``--camera N``: spot and classify events live."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from mmnet_edge.runtime.loader import BACKEND_ALIASES


def annotate(frame: Any, face: Any, label: str | None) -> Any:
    """The frame (BGR) with the face box, its five landmarks and the last event's label."""
    import cv2

    out = frame.copy()
    if face is not None:
        x, y, w, h = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 220, 0), 2)
        for px, py in face.landmarks[:5]:
            cv2.circle(out, (int(round(px)), int(round(py))), 3, (0, 160, 255), -1)
    if label:
        cv2.putText(out, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 3)
        cv2.putText(out, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 200), 1)
    return out


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("video", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--camera", type=click.IntRange(min=0), default=None, help="Camera index.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the annotated video here (.mp4: box, landmarks, label).",
)
@click.option("--backend", type=click.Choice(["auto", *BACKEND_ALIASES]), default="auto")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 … (default: best available).")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16", "int8"]), default=None)
@click.option("--detector", default=None, help="YuNet model path (default: fetched, pinned).")
@click.option("--no-align", is_flag=True, help="Frames are already aligned face crops.")
@click.option("--window", type=int, default=60, show_default=True, help="Frames per event.")
@click.option(
    "--threshold", type=float, default=3.0, show_default=True, help="Motion that starts an event."
)
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after N.")
def watch(
    model: Path,
    video: Path | None,
    camera: int | None,
    save: Path | None,
    backend: str,
    device: str | None,
    precision: str | None,
    detector: str | None,
    no_align: bool,
    window: int,
    threshold: float,
    max_frames: int | None,
) -> None:
    """Run the stream predictor on VIDEO or --camera N and print each spotted event as it
    happens (time, class, confidence). Ctrl-C stops cleanly: the summary is printed and the
    --save video is finalised."""
    import cv2

    from mmnet_edge.errors import OutputError
    from mmnet_edge.io.video import open_capture
    from mmnet_edge.runtime.runtime import Runtime

    cap, fps, name = open_capture(video, camera)
    writer = None
    events: list[dict[str, Any]] = []
    frames = 0
    t0 = time.perf_counter()
    interrupted = False
    try:
        with Runtime(
            model,
            backend=backend,
            device=device,
            precision=precision,
            align=not no_align,
            detector=detector,
        ) as rt:
            stream = rt.stream(window=window, threshold=threshold)
            click.echo(f"watching {name} with {rt.backend} ({rt.runner.precision}); Ctrl-C stops")
            label = None
            try:
                while max_frames is None or frames < max_frames:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    when = frames / fps if fps else time.perf_counter() - t0
                    pred = stream.push(frame)
                    frames += 1
                    if pred is not None:
                        conf = float(max(pred.probabilities.values()))
                        label = f"{pred.label} {conf:.2f}"
                        events.append({"time_s": when, "label": pred.label, "confidence": conf})
                        click.echo(
                            f"{when:9.2f} s  {pred.label:<12} {conf:.2f}  (onset frame "
                            f"{pred.onset_index}, apex frame {pred.apex_index})"
                        )
                    if save is not None:
                        if writer is None:
                            h, w = frame.shape[:2]
                            writer = cv2.VideoWriter(
                                str(save), cv2.VideoWriter_fourcc(*"mp4v"), fps or 25.0, (w, h)
                            )
                            if not writer.isOpened():
                                raise OutputError(f"cannot write {save} (folder, permissions?)")
                        writer.write(annotate(frame, stream.face, label))
            except KeyboardInterrupt:
                interrupted = True
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    counts = Counter(e["label"] for e in events)
    summary = ", ".join(f"{k} {v}" for k, v in counts.most_common()) or "none"
    click.echo(
        f"{'interrupted: ' if interrupted else ''}{frames} frames, {len(events)} event(s): "
        f"{summary}" + (f"; annotated video: {save}" if save is not None and writer else "")
    )
