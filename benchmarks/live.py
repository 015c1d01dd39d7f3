"""Latency of the live path, side by side in one run, on one CPU thread.

1. The detector alone, per frame, one stream of SFINGE3D size (one hand of 20 joints, 13
   gestures and background, default widths), raw frames prepared causally by the ``hand``
   preset inside the detector, as the live commands run it: the PyTorch step against the ONNX
   step (``Detector(backend="onnx")``, what ``stalstm stream/detect -|--video|--camera`` use),
   each also without the preset (frames already prepared), and the whole live path of a frame
   from a JSON line (parse, track, fill, prepare, ONNX step, segment tracker).
2. Video -> pose -> detection end to end (the ``[pose]`` extra): a video of scikit-image's
   astronaut photograph, turned and moved frame by frame, through MediaPipe and a COCO 17
   detector reading the body by joint names: frames per second end to end, and the shares of
   the pose step and of everything after it (the model's share).

    python benchmarks/live.py [--frames 400] [--video-frames 60]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from online import row, time_updates

from stalstm.detection.detector import DetectionSettings, Detector
from stalstm.frames import parse_frame_line
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model

JOINTS, CLASSES = 20, 14


def detector_rows(frames: int, scratch: Path) -> dict[str, float]:
    config = STALSTMConfig(num_joints=JOINTS, num_classes=CLASSES)
    model = build_model(config).eval()
    names = [str(n) for n in range(CLASSES)]
    metadata = {"detection": DetectionSettings(background=CLASSES - 1).to_dict()}
    medians = {}
    generator = np.random.default_rng(0)
    palm = np.array([0.2, 2.4, 0.3])  # where SFINGE3D's hands are, in metres
    raw = (generator.normal(0.0, 0.05, size=(frames, 1, JOINTS, 3)) + palm).astype(np.float32)
    for preset in ("none", "hand"):
        folder = scratch / preset
        save_model(folder, model, class_names=names, layout="hand20", preset=preset,
                   metadata=metadata)  # fmt: skip
        loaded = load_model(folder)
        for backend in ("torch", "onnx"):
            detector = Detector(loaded, backend=backend)
            seconds = time_updates(detector.update, raw)
            label = f"{'PyTorch' if backend == 'torch' else 'ONNX'} step, preset {preset}"
            print(row("hand, W = 1", label, 1, seconds))
            medians[label] = float(np.median(seconds))
    loaded = load_model(scratch / "hand")
    lines = [json.dumps({"joints": frame[0].tolist(), "t": t / 20}) for t, frame in enumerate(raw)]
    detector = Detector(loaded, backend="onnx")
    feed = detector.recognizer.frame_feed("hand20", None, "<stdin>")
    state = {"index": 0}

    def whole(line: str) -> None:
        detector.update(feed(parse_frame_line(line), state["index"]))
        state["index"] += 1

    seconds = time_updates(whole, lines)
    label = "JSON line -> ONNX detector (live path)"
    print(row("hand, W = 1", label, 1, seconds))
    medians[label] = float(np.median(seconds))
    return medians


def end_to_end(video_frames: int, scratch: Path) -> dict[str, float] | None:
    try:
        import cv2
        from skimage import data

        from stalstm.pose import pose_frames
    except ImportError as error:
        print(f"\nvideo -> pose -> detection: skipped, the [pose] extra is missing ({error})")
        return None
    image = data.astronaut()
    height, width = image.shape[:2]
    video = scratch / "astronaut.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (width, height))
    for frame in range(video_frames):
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 1.0 * frame, 1.0)
        matrix[:, 2] += (2.0 * frame, 0.0)
        moved = cv2.warpAffine(image, matrix, (width, height))
        writer.write(cv2.cvtColor(moved, cv2.COLOR_RGB2BGR))
    writer.release()
    config = STALSTMConfig(num_joints=17, num_classes=4, num_coords=2)
    folder = scratch / "coco"
    save_model(folder, build_model(config), class_names=["a", "b", "c", "background"],
               layout="coco17", preset="canonical",
               metadata={"detection": DetectionSettings(background=3).to_dict()})  # fmt: skip
    detector = Detector(load_model(folder), backend="onnx")
    source = pose_frames(video)
    started = time.perf_counter()
    events = list(detector.run(source, layout=source.layout, source=source.name))
    total = time.perf_counter() - started
    model = total - source.pose_seconds
    print(f"\nvideo -> pose -> detection, {source.frames} frames of {width} x {height}, "
          f"someone found in {source.found}, {len(events)} segment events")  # fmt: skip
    print("| stage | ms/frame | share |")
    print("| --- | --- | --- |")
    print(f"| decode + pose (MediaPipe) | {1e3 * source.pose_seconds / source.frames:.2f} | "
          f"{source.pose_seconds / total:.1%} |")  # fmt: skip
    print(f"| track + fill + prepare + ONNX step + segments | {1e3 * model / source.frames:.3f} "
          f"| {model / total:.2%} |")  # fmt: skip
    print(
        f"| end to end | {1e3 * total / source.frames:.2f} | {source.frames / total:.1f} frames/s |"
    )
    return {"total": total, "pose": source.pose_seconds, "model": model}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400, help="timed frames per detector row")
    parser.add_argument("--video-frames", type=int, default=60, help="frames of the test video")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, 1 thread, {args.frames} frames a row; times in ms")
    print("| model | backend | streams | min ms/frame | median ms/frame | p95 ms/frame "
          "| median ms/frame/stream |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        medians = detector_rows(args.frames, Path(scratch))
        reference = medians["PyTorch step, preset hand"]
        print("\nmedian per frame against the PyTorch step with the hand preset (the same run):")
        for label, median in medians.items():
            print(f"  {label}: {median * 1e3:.3f} ms, {median / reference:.2f} x")
        end_to_end(args.video_frames, Path(scratch))


if __name__ == "__main__":
    main()
