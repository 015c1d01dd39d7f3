"""Commands that use a trained model: predict, explain, stream, detect, export. Each is one call
into the Python API (stalstm.predict, stalstm.explain, stalstm.online, stalstm.detection,
stalstm.export); torch and matplotlib are imported inside the commands so that
``stalstm --help`` stays quick."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    import numpy as np

    from stalstm.modelfile import LoadedModel

P = ParamSpec("P")
R = TypeVar("R")

ModelArgument = Annotated[
    Path, typer.Argument(help="Model directory (model.safetensors + model.json).")
]
AllowPickle = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Allow a pickle-based torch file (.pt/.ckpt). Unpickling runs code: trust needed.",
    ),
]
LayoutOption = Annotated[
    str | None,
    typer.Option("--layout", help="Layout of inputs whose format does not say (generic, 2D)."),
]


def _load(model: Path, allow_pickle: bool) -> LoadedModel:
    from stalstm.modelfile import load_model

    return load_model(model, allow_pickle=allow_pickle)


def _fail_on_bad_input(function: Callable[P, R]) -> Callable[P, R]:
    """Print a StalstmError as one line and exit 1, instead of a traceback."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from stalstm.errors import StalstmError

        try:
            return function(*args, **kwargs)
        except StalstmError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error

    return wrapper


@_fail_on_bad_input
def predict(
    model: ModelArgument,
    inputs: Annotated[list[Path], typer.Argument(help="Skeleton files of any readable kind.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Classes to show per input.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    layout: LayoutOption = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Top-k classes with probabilities for each input."""
    from stalstm.predict import predict_files

    for prediction in predict_files(_load(model, allow_pickle), inputs, top_k=top_k, layout=layout):
        if as_json:
            typer.echo(json.dumps(prediction.to_dict()))
        else:
            ranked = ", ".join(f"{name} {prob:.3f}" for name, prob in prediction.top)
            typer.echo(f"{prediction.source}: {ranked}")


@_fail_on_bad_input
def explain(
    model: ModelArgument,
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="One skeleton file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the pictures.")],
    gif: Annotated[bool, typer.Option(help="Also write the animated GIF.")] = True,
    layout: LayoutOption = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Attention heatmap, beta curve, key-frame skeletons, GIF and attention.json for a clip."""
    from stalstm.explain import explain_clip
    from stalstm.predict import read_input

    loaded = _load(model, allow_pickle)
    clip = read_input(input_file, layout, loaded.layout_object or loaded.layout)
    explanation = explain_clip(loaded, clip, out, source=input_file, gif=gif)
    name, probability = explanation.prediction.top[0]
    typer.echo(f"{input_file}: {name} {probability:.3f}; key frames {explanation.key_frames}")
    for kind, path in explanation.files.items():
        typer.echo(f"  {kind}: {path}")


@_fail_on_bad_input
def stream(
    model: ModelArgument,
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="One skeleton file.")],
    fps: Annotated[float, typer.Option(help="Replay speed; 0 for as fast as possible.")] = 0.0,
    lines: Annotated[bool, typer.Option(help="Print one line a frame, no live display.")] = False,
    layout: LayoutOption = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Replay a clip frame by frame, showing the running top class of the online recogniser."""
    from stalstm.online import replay_clip
    from stalstm.predict import read_input

    loaded = _load(model, allow_pickle)
    clip = read_input(input_file, layout, loaded.layout_object or loaded.layout)
    updates = replay_clip(loaded, clip, source=str(input_file))
    live = not lines and sys.stdout.isatty()

    def describe(frame: int, probabilities: np.ndarray) -> str:
        best = int(probabilities.argmax())
        return (
            f"frame {frame + 1:>4}/{clip.num_frames}  "
            f"{loaded.class_names[best]} {probabilities[best]:.3f}"
        )

    if not live:
        for frame, probabilities in updates:
            typer.echo(describe(frame, probabilities))
            if fps > 0:
                time.sleep(1.0 / fps)
        return
    from rich.live import Live

    with Live("", refresh_per_second=20) as display:
        for frame, probabilities in updates:
            display.update(describe(frame, probabilities))
            if fps > 0:
                time.sleep(1.0 / fps)


@_fail_on_bad_input
def export(
    model: ModelArgument,
    onnx: Annotated[Path | None, typer.Option("--onnx", help="Offline ONNX file to write.")] = None,
    streaming: Annotated[
        Path | None, typer.Option("--streaming", help="Streaming step ONNX file to write.")
    ] = None,
    detection: Annotated[
        Path | None,
        typer.Option("--detection", help="Detection step ONNX file (a detection model)."),
    ] = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Export to ONNX: whole clips (dynamic batch and time), one frame + state a step, and/or
    a detection model's step (this frame's probabilities over the classes and background)."""
    from stalstm.export import export_model

    if onnx is None and streaming is None and detection is None:
        raise typer.BadParameter("give --onnx, --streaming and/or --detection")
    loaded = _load(model, allow_pickle)
    window = 1
    if detection is not None:
        from stalstm.detection.detector import detection_settings

        window = detection_settings(loaded).window
    written = export_model(loaded.model, onnx, streaming, detection, window)
    for path in written:
        typer.echo(f"wrote {path}")


@_fail_on_bad_input
def detect(
    model: ModelArgument,
    streams: Annotated[
        list[Path],
        typer.Argument(metavar="STREAM...", help="Untrimmed streams (.txt, .npy, .csv)."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object a segment.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for segments.json and a timeline per stream."),
    ] = None,
    layout: LayoutOption = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Detect the actions in untrimmed streams with a detection model: one segment a line
    (class, first and last frame counted from 0, confidence, the frame the online detector
    reported it at). A stream's annotation, when one sits beside it (sequencesGT.csv,
    segments.csv), is drawn in the timeline of --out."""
    from stalstm.detection.detector import detect_streams, detection_settings
    from stalstm.readers import read_stream

    loaded = _load(model, allow_pickle)
    detection_settings(loaded)  # a clear error for a model that cannot detect
    names = list(loaded.class_names)
    read = [read_stream(path, layout or loaded.layout, names) for path in streams]
    results = detect_streams(loaded, read)
    for path, result in zip(streams, results, strict=True):
        for detection in result.detections:
            if as_json:
                line = {"stream": str(path), "class": names[detection.label], **detection.to_dict()}
                typer.echo(json.dumps(line))
            else:
                typer.echo(
                    f"{path}: {names[detection.label]} frames {detection.start}-{detection.end} "
                    f"confidence {detection.confidence:.3f} (reported at frame "
                    f"{detection.reported_at})"
                )
    if out is not None:
        from stalstm.detection.pictures import plot_timeline, segments_document

        out.mkdir(parents=True, exist_ok=True)
        document = segments_document(read, results, names)
        (out / "segments.json").write_text(json.dumps(document, indent=2) + "\n")
        for stream, result in zip(read, results, strict=True):
            plot_timeline(stream, result, names, out / f"timeline-{stream.name}.png")
        if not as_json:
            typer.echo(f"wrote {out / 'segments.json'} and {len(read)} timeline(s)")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""
    for command in (predict, explain, stream, detect, export):
        app.command()(command)
