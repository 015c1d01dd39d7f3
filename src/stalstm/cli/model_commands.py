"""Commands that use a trained model: predict, explain, stream, detect, export. Each is one call
into the Python API (stalstm.predict, stalstm.explain, stalstm.online, stalstm.detection,
stalstm.export). MODEL is a model folder or the run folder that holds one."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stalstm.cli.common import (
    AllowPickleOption,
    JsonOption,
    LayoutOption,
    ModelArgument,
    QuietOption,
    command,
    describe,
    echo_json,
    html_option,
    load_model_for_use,
    out_option,
)
from stalstm.cli.live_commands import (
    DEFAULT_SCORE_THRESHOLD,
    CameraOption,
    ScoreOption,
    VideoOption,
    detect_live,
    is_live,
    stream_live,
)

if TYPE_CHECKING:
    from stalstm.modelfile import LoadedModel


def _load(model: Path, allow_pickle: bool) -> LoadedModel:
    return load_model_for_use(model, allow_pickle)


@command
def predict(
    model: ModelArgument,
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUT", help="Skeleton files of any readable kind."),
    ],
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", metavar="K", help="Classes to show per input.")
    ] = 5,
    layout: LayoutOption = None,
    as_json: JsonOption = False,
    allow_pickle: AllowPickleOption = False,
) -> None:
    """Top-k classes with probabilities for each input. An input that cannot be read is
    reported (error: FILE: WHY) and the others still predicted; the exit status is then 1."""
    from stalstm.errors import DataError
    from stalstm.predict import predict_each

    loaded = _load(model, allow_pickle)
    failed = 0
    for outcome in predict_each(loaded, inputs, top_k=top_k, layout=layout):
        if isinstance(outcome, DataError):
            failed += 1
            typer.echo(f"error: {describe(outcome)}", err=True)
            if as_json:
                echo_json({"source": outcome.where, "error": describe(outcome)})
        elif as_json:
            echo_json(outcome.to_dict())
        else:
            ranked = ", ".join(f"{name} {prob:.3f}" for name, prob in outcome.top)
            typer.echo(f"{outcome.source}: {ranked}")
    if failed:
        typer.echo(f"error: {failed} of {len(inputs)} inputs could not be predicted", err=True)
        raise typer.Exit(code=1)


@command
def explain(
    model: ModelArgument,
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="One skeleton file.")],
    out: Annotated[Path | None, out_option("Folder for the pictures and attention.json.")] = None,
    html: Annotated[Path | None, html_option("the clip, frame by frame")] = None,
    gif: Annotated[bool, typer.Option(help="Also write the animated GIF.")] = True,
    layout: LayoutOption = None,
    as_json: JsonOption = False,
    allow_pickle: AllowPickleOption = False,
) -> None:
    """Where the model looked in one clip: the attention heatmap, the beta curve, key-frame
    skeletons, a GIF and attention.json (-o DIR), and/or one interactive page (--html FILE)."""
    from stalstm.explain import explain_clip
    from stalstm.predict import read_input
    from stalstm.viewer.clips import write_clip_page

    if out is None and html is None:
        raise ValueError("explain: give -o DIR (pictures, attention.json) and/or --html FILE")
    loaded = _load(model, allow_pickle)
    clip = read_input(input_file, layout, loaded.layout_object or loaded.layout)
    files: dict[str, Path] = {}
    if out is not None:
        explanation = explain_clip(loaded, clip, out, source=input_file, gif=gif)
        files.update(explanation.files)
        answer = explanation.prediction, explanation.key_frames
    if html is not None:  # the same numbers (stalstm.explain.clip_attention), as one page
        files["html"], attention = write_clip_page(loaded, clip, html, source=input_file)
        answer = attention.prediction, attention.key_frames
    prediction, key_frames = answer
    name, probability = prediction.top[0]
    if as_json:
        echo_json({
            **prediction.to_dict(), "key_frames": key_frames,
            "files": {kind: str(path) for kind, path in files.items()},
        })  # fmt: skip
        return
    typer.echo(f"{input_file}: {name} {probability:.3f}; key frames {key_frames}")
    for kind, path in files.items():
        typer.echo(f"  {kind}: {path}")


@command
def stream(
    model: ModelArgument,
    input_file: Annotated[
        Path | None,
        typer.Argument(metavar="INPUT|-", help="One skeleton file, or - for JSON lines on stdin."),
    ] = None,
    fps: Annotated[
        float, typer.Option("--fps", metavar="FPS", help="Replay speed; 0 for as fast as possible.")
    ] = 0.0,
    video: VideoOption = None,
    camera: CameraOption = None,
    score_threshold: ScoreOption = DEFAULT_SCORE_THRESHOLD,
    layout: LayoutOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    allow_pickle: AllowPickleOption = False,
) -> None:
    """Run the online recogniser frame by frame over a recording, JSON lines on stdin (-) or a
    video or camera through the pose step, printing the running top class after every frame
    (--json: one JSON line a frame; --quiet: the last one only)."""
    from stalstm.online import replay_clip
    from stalstm.predict import read_input

    loaded = _load(model, allow_pickle)
    if is_live(input_file, video, camera):
        inputs = [input_file] if input_file is not None else []
        args = (video, camera, layout, score_threshold, as_json)
        return stream_live(loaded, inputs, *args, quiet)
    if input_file is None:
        raise ValueError("stream: give INPUT, - (JSON lines on stdin), --video FILE or --camera N")
    clip = read_input(input_file, layout, loaded.layout_object or loaded.layout)
    names = loaded.class_names

    def event(frame: int, probabilities) -> dict:
        best = int(probabilities.argmax())
        return {"frame": frame, "class": names[best], "probability": float(probabilities[best])}

    def line(values: dict) -> str:
        return (
            f"frame {values['frame'] + 1:>4}/{clip.num_frames}  {values['class']} "
            f"{values['probability']:.3f}"
        )

    live = not (as_json or quiet) and sys.stdout.isatty()
    display = None
    if live:
        from rich.live import Live

        display = Live("", refresh_per_second=20)
        display.start()
    last = None
    try:
        for frame, probabilities in replay_clip(loaded, clip, source=str(input_file)):
            last = event(frame, probabilities)
            if as_json:
                echo_json(last)
            elif display is not None:
                display.update(line(last))
            elif not quiet:
                typer.echo(line(last))
            if fps > 0:
                time.sleep(1.0 / fps)
    finally:
        if display is not None:
            display.stop()
    if quiet and last is not None:
        typer.echo(line(last))


@command
def detect(
    model: ModelArgument,
    streams: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="STREAM...|-",
            help="Untrimmed streams (.txt, .npy, .csv, pose estimators' files), or - for JSON "
            "lines on stdin.",
        ),
    ] = None,
    out: Annotated[
        Path | None, out_option("Folder for segments.json and a timeline picture per stream.")
    ] = None,
    html: Annotated[Path | None, html_option("every stream, frame by frame")] = None,
    video: VideoOption = None,
    camera: CameraOption = None,
    score_threshold: ScoreOption = DEFAULT_SCORE_THRESHOLD,
    layout: LayoutOption = None,
    as_json: JsonOption = False,
    allow_pickle: AllowPickleOption = False,
) -> None:
    """Detect the actions in untrimmed streams with a detection model: one segment a line
    (class, first and last frame counted from 0, confidence, the frame the online detector
    reported it at). A stream's annotation, when one sits beside it (sequencesGT.csv,
    segments.csv), is drawn in the timeline of --out and on the page of --html. Live (- for
    JSON lines on stdin, --video, --camera): each segment as it opens and closes; the end of the
    input closes it."""
    from stalstm.detection.detector import detect_streams, detection_settings
    from stalstm.readers import read_stream

    loaded = _load(model, allow_pickle)
    detection_settings(loaded)  # a clear error for a model that cannot detect
    streams = streams or []
    if is_live(streams, video, camera):
        if out is not None or html is not None:
            raise ValueError(
                "detect: -o and --html write the segments of recorded streams, not live ones"
            )
        return detect_live(loaded, streams, video, camera, layout, score_threshold, as_json)
    if not streams:
        raise ValueError("detect: give STREAM..., - (JSON lines on stdin), --video or --camera")
    names = list(loaded.class_names)
    read = [read_stream(path, layout or loaded.layout, names) for path in streams]
    results = detect_streams(loaded, read)
    for path, result in zip(streams, results, strict=True):
        for detection in result.detections:
            if as_json:
                echo_json({"stream": str(path), "class": names[detection.label],
                           **detection.to_dict()})  # fmt: skip
            else:
                typer.echo(
                    f"{path}: {names[detection.label]} frames {detection.start}-{detection.end} "
                    f"confidence {detection.confidence:.3f} (reported at frame "
                    f"{detection.reported_at})"
                )
    if out is not None:
        import json

        from stalstm.detection.pictures import plot_timeline, segments_document

        out.mkdir(parents=True, exist_ok=True)
        document = segments_document(read, results, names)
        (out / "segments.json").write_text(json.dumps(document, indent=2) + "\n")
        for one, result in zip(read, results, strict=True):
            plot_timeline(one, result, names, out / f"timeline-{one.name}.png")
        if not as_json:
            typer.echo(f"wrote {out / 'segments.json'} and {len(read)} timeline(s)")
    if html is not None:
        from stalstm.viewer.streams import write_stream_page

        write_stream_page(loaded, read, results, html, sources=streams)
        if not as_json:
            typer.echo(f"wrote {html}")


@command
def export(
    model: ModelArgument,
    onnx: Annotated[
        Path | None, typer.Option("--onnx", metavar="FILE", help="Offline ONNX file to write.")
    ] = None,
    streaming: Annotated[
        Path | None,
        typer.Option("--streaming", metavar="FILE", help="Streaming step ONNX file to write."),
    ] = None,
    detection: Annotated[
        Path | None,
        typer.Option(
            "--detection", metavar="FILE", help="Detection step ONNX file (a detection model)."
        ),
    ] = None,
    as_json: JsonOption = False,
    allow_pickle: AllowPickleOption = False,
) -> None:
    """Export to ONNX: whole clips (dynamic batch and time), one frame + state a step, and/or
    a detection model's step (this frame's probabilities over the classes and background)."""
    from stalstm.export import export_model

    if onnx is None and streaming is None and detection is None:
        raise ValueError("export: give --onnx, --streaming and/or --detection")
    loaded = _load(model, allow_pickle)
    window = 1
    if detection is not None:
        from stalstm.detection.detector import detection_settings

        window = detection_settings(loaded).window
    written = export_model(loaded.model, onnx, streaming, detection, window)
    if as_json:
        echo_json({"written": [str(path) for path in written]})
        return
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""
    for function in (predict, explain, stream, detect, export):
        app.command()(function)
