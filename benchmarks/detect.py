"""Per-frame cost of online detection on CPU, at SFINGE3D size (one hand of 20 joints, 13
gestures and background, default widths of 100 units): the PyTorch ``Detector`` (the online
recogniser's model step, the detection window and the segment tracker) against the plain
``Recognizer`` step it is built on, and the ONNX detection step with the same tracker
(``OnnxStreamingDetector``), for one stream and for 32 streams batched, with windows of 1 and 10
frames. Frames are prepared (preset ``none``); one more row has the Detector preparing raw hand
frames itself with the ``hand`` preset. One thread. Target: <= 1 ms a frame for one stream.

    python benchmarks/detect.py [--frames 400]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from online import row, time_updates

from stalstm.detection.detector import DetectionSettings, Detector
from stalstm.detection.segmenting import PostProcessing
from stalstm.export import OnnxStreamingDetector, export_detection
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.online import Recognizer

JOINTS, CLASSES = 20, 14


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400, help="timed frames per row")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    generator = np.random.default_rng(0)
    print(f"torch {torch.__version__}, 1 thread, {args.frames} frames a row; times in ms")
    print("| model | backend | streams | min ms/frame | median ms/frame | p95 ms/frame "
          "| median ms/frame/stream |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    config = STALSTMConfig(num_joints=JOINTS, num_classes=CLASSES)
    model = build_model(config).eval()
    names = [str(n) for n in range(CLASSES)]
    with tempfile.TemporaryDirectory() as scratch:
        for window in (1, 10):
            settings = DetectionSettings(background=CLASSES - 1, window=window)
            folder = Path(scratch) / f"window-{window}"
            metadata = {"detection": settings.to_dict()}
            save_model(folder, model, class_names=names, layout="hand20", preset="none",
                       metadata=metadata)  # fmt: skip
            loaded = load_model(folder)
            step = export_detection(loaded.model, folder / "step.onnx", window)
            size = f"hand, W = {window}"
            for streams in (1, 32):
                frames = generator.normal(size=(args.frames, streams, 1, JOINTS, 3))
                frames = frames.astype(np.float32)
                single = frames[:, 0] if streams == 1 else frames
                count = None if streams == 1 else streams
                if window == 1:
                    recognizer = Recognizer(loaded, streams=count)
                    seconds = time_updates(recognizer.step, single)
                    print(row("hand", "PyTorch Recognizer step (no detection)", streams, seconds))
                detector = Detector(loaded, streams=count)
                print(row(size, "PyTorch Detector", streams, time_updates(detector.update, single)))
                runtime = OnnxStreamingDetector(step, config, settings, streams=streams)
                flat = frames.reshape(args.frames, streams, JOINTS, 3)
                seconds = time_updates(runtime.update, flat)
                print(row(size, "onnxruntime detection step + tracker", streams, seconds))
        # the 0.4.0 detection recipes calibrate a start threshold per class: same cost
        thresholds = PostProcessing(class_start_thresholds=(0.5,) * (CLASSES - 1))
        calibrated = Detector(loaded, DetectionSettings(CLASSES - 1, 10, thresholds))
        frames = generator.normal(size=(args.frames, 1, JOINTS, 3)).astype(np.float32)
        seconds = time_updates(calibrated.update, frames)
        print(row("hand, W = 10", "PyTorch Detector, per-class thresholds", 1, seconds))
        hand = Path(scratch) / "hand"
        metadata = {"detection": DetectionSettings(background=CLASSES - 1).to_dict()}
        save_model(hand, model, class_names=names, layout="hand20", preset="hand",
                   metadata=metadata)  # fmt: skip
        preparing = Detector(load_model(hand))
        palm = np.array([0.2, 2.4, 0.3])  # where SFINGE3D's hands are, in metres
        raw = generator.normal(0.0, 0.05, size=(args.frames, 1, JOINTS, 3)) + palm
        seconds = time_updates(preparing.update, raw.astype(np.float32))
        print(row("hand, W = 1", "PyTorch Detector + hand preset", 1, seconds))


if __name__ == "__main__":
    main()
