"""Live input on the command line: ``stalstm pose`` (video or camera -> keypoint files or JSON
lines), and the live side of ``stream`` and ``detect`` (``-`` for JSON lines on standard input,
``--video FILE``, ``--camera N``), which ``model_commands`` hands over to ``stream_live`` and
``detect_live``. Each is one call into the API (``stalstm.pose.run_pose``,
``Recognizer.run``, ``Detector.run`` over a ``stalstm.live`` source); both take the ONNX
step, the fast path (``benchmarks/live.py``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stalstm.cli.common import JsonOption, QuietOption, command, describe, echo_json

if TYPE_CHECKING:
    from stalstm.modelfile import LoadedModel

VideoOption = Annotated[
    Path | None,
    typer.Option("--video", metavar="FILE", help="Estimate the pose in a video file first "
                 "(the [pose] extra)."),
]  # fmt: skip
CameraOption = Annotated[
    int | None,
    typer.Option("--camera", metavar="N", help="Estimate the pose live from camera N (0 is the "
                 "first; the [pose] extra); Ctrl-C ends."),
]  # fmt: skip
ScoreOption = Annotated[
    float,
    typer.Option("--score-threshold", metavar="S", help="A keypoint scored below S counts as "
                 "missing (filled with its last seen value).", min=0.0, max=1.0),
]  # fmt: skip
DEFAULT_SCORE_THRESHOLD = 0.3  # stalstm.frames.PersonSettings' default


def is_live(inputs: list[Path] | Path | None, video: Path | None, camera: int | None) -> bool:
    """Whether a ``stream`` / ``detect`` call reads a live source."""
    given = inputs if isinstance(inputs, list) else [inputs] if inputs is not None else []
    return video is not None or camera is not None or [str(p) for p in given] == ["-"]


def _source(loaded: LoadedModel, inputs: list[Path], video, camera, layout):
    from stalstm.live import open_source

    if inputs and (video is not None or camera is not None):
        raise ValueError("give '-', --video or --camera, not an input file beside them")
    if len(inputs) > 1:
        raise ValueError("'-' is the only input when reading standard input")
    return open_source(
        str(inputs[0]) if inputs else None, video=video, camera=camera, layout=layout,
        model_layout=loaded.layout_object or loaded.layout,
    )  # fmt: skip


def _report(error: BaseException, as_json: bool) -> None:
    """A frame that could not be read: a JSON line (--json) or ``error: WHAT: WHY``."""
    if as_json:
        echo_json({"error": describe(error), "line": getattr(error, "line", None)})
    else:
        typer.echo(f"error: {describe(error)}", err=True)


def stream_live(
    loaded: LoadedModel, inputs: list[Path], video: Path | None, camera: int | None,
    layout: str | None, score_threshold: float, as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    """``stalstm stream MODEL -|--video|--camera``: the running top class after every frame."""
    from stalstm.errors import DataError
    from stalstm.frames import PersonSettings
    from stalstm.online import Recognizer

    source = _source(loaded, inputs, video, camera, layout)
    recognizer = Recognizer(loaded, backend="onnx")
    names = loaded.class_names
    failed = last = 0
    events = recognizer.run(
        source.frames, layout=source.layout, source=source.name,
        settings=PersonSettings(score_threshold=score_threshold),
    )  # fmt: skip
    for event in events:
        if isinstance(event, DataError):
            failed += 1
            _report(event, as_json)
            continue
        last = event.to_dict(names)
        if as_json:
            echo_json(last)
        elif not quiet:
            typer.echo(_frame_line(last))
    if quiet and last:
        typer.echo(_frame_line(last))
    _finish(failed, source.name)


def _frame_line(record: dict) -> str:
    when = f" ({record['t']:.2f} s)" if "t" in record else ""
    return f"frame {record['frame']:>5}{when}  {record['class']} {record['probability']:.3f}"


def detect_live(
    loaded: LoadedModel, inputs: list[Path], video: Path | None, camera: int | None,
    layout: str | None, score_threshold: float, as_json: bool,
) -> None:  # fmt: skip
    """``stalstm detect MODEL -|--video|--camera``: each segment as it opens and closes."""
    from stalstm.detection.detector import Detector
    from stalstm.errors import DataError
    from stalstm.frames import PersonSettings

    source = _source(loaded, inputs, video, camera, layout)
    detector = Detector(loaded, backend="onnx")
    names = loaded.class_names
    failed = 0
    events = detector.run(
        source.frames, layout=source.layout, source=source.name,
        settings=PersonSettings(score_threshold=score_threshold),
    )  # fmt: skip
    for event in events:
        if isinstance(event, DataError):
            failed += 1
            _report(event, as_json)
            continue
        if as_json:
            echo_json(event.to_dict(names))
            continue
        found = event.detection
        what = "opens" if event.kind == "open" else "closes"
        when = f" ({event.time:.2f} s)" if event.time is not None else ""
        typer.echo(
            f"frame {event.frame}{when}: {names[found.label]} {what}, frames {found.start}-"
            f"{found.end}, confidence {found.confidence:.3f}"
        )
    _finish(failed, source.name)


def _finish(failed: int, name: str) -> None:
    if failed:
        typer.echo(f"error: {name}: {failed} frame(s) could not be read", err=True)
        raise typer.Exit(code=1)


@command
def pose(
    video: Annotated[
        Path | None, typer.Argument(metavar="VIDEO", help="A video file (or give --camera N).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="Folder for <video>.npy and "
            "<video>.pose.json, or - for JSON lines on stdout, one a frame.",
        ),
    ] = None,
    camera: CameraOption = None,
    hands: Annotated[
        bool, typer.Option("--hands", help="The hands (21 points each) instead of the body.")
    ] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Estimate the pose in a video or from a camera (MediaPipe, the [pose] extra) and write it
    as a stream with scores and frame times, for stream, detect, predict and training; -o -
    prints JSON lines instead, for stalstm stream/detect MODEL -."""
    from stalstm.pose import run_pose

    if out is None:
        raise ValueError("pose: give -o FOLDER (or -o - for JSON lines)")
    if (video is None) == (camera is None):
        raise ValueError("pose: give a VIDEO or --camera N")
    lines = sys.stdout if str(out) == "-" else None
    result = run_pose(out, video, camera, "hands" if hands else "body", lines)
    if str(out) == "-":
        return
    summary = {
        "written": str(result.path), "frames": result.frames, "found": result.found,
        "layout": result.layout, "ms_per_frame": 1e3 * result.seconds / max(result.frames, 1),
    }  # fmt: skip
    if as_json:
        echo_json(summary)
    elif not quiet:
        typer.echo(
            f"wrote {result.path} (and .pose.json): {result.frames} frames, someone found in "
            f"{result.found}, layout {result.layout}, {summary['ms_per_frame']:.0f} ms a frame"
        )


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""
    app.command()(pose)
