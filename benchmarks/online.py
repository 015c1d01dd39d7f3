"""Per-frame latency of online recognition on CPU: the PyTorch ``Recognizer`` and the streaming
ONNX model in onnxruntime, for one stream and for 32 streams batched, at SBU size (2 x 15
joints, 8 classes) and NTU size (2 x 25 joints, 60 classes), default widths (100 units).

Frames are already prepared (preset ``none``) so the numbers are the model's; one more row
times the Recognizer preparing raw SBU frames itself with the ``sbu`` preset. One thread, as a
deployment beside other work would have. Target: <= 1 ms a frame for one stream.

    python benchmarks/online.py [--frames 400]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stalstm.export import OnnxStreamingRecognizer, export_streaming
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.online import Recognizer

SIZES = {"SBU": (2, 15, 8, "openni15"), "NTU": (2, 25, 60, "ntu25")}  # persons, joints, classes


def time_updates(update: Callable[[np.ndarray], object], frames: np.ndarray) -> list[float]:
    """Seconds per call of ``update`` over ``frames`` (after a warm-up of 20 frames)."""
    for frame in frames[:20]:
        update(frame)
    seconds = []
    for frame in frames:
        start = time.perf_counter()
        update(frame)
        seconds.append(time.perf_counter() - start)
    return seconds


def row(size: str, backend: str, streams: int, seconds: list[float]) -> str:
    fastest = min(seconds) * 1e3
    median = statistics.median(seconds) * 1e3
    p95 = float(np.percentile(seconds, 95)) * 1e3
    per_stream = median / streams
    return (
        f"| {size} | {backend} | {streams} | {fastest:.3f} | {median:.3f} | {p95:.3f} "
        f"| {per_stream:.4f} |"
    )


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
    with tempfile.TemporaryDirectory() as scratch:
        for size, (persons, joints, classes, layout) in SIZES.items():
            config = STALSTMConfig(num_joints=persons * joints, num_classes=classes)
            model = build_model(config).eval()
            folder = Path(scratch) / size
            save_model(folder, model, class_names=[str(n) for n in range(classes)],
                       layout=layout, preset="none")  # fmt: skip
            loaded = load_model(folder)
            step = export_streaming(loaded.model, folder / "step.onnx")
            for streams in (1, 32):
                shape = (args.frames, streams, persons, joints, 3)
                frames = generator.normal(size=shape).astype(np.float32)
                if streams == 1:
                    recognizer = Recognizer(loaded)
                    update = recognizer.update
                    frames = frames[:, 0]
                else:
                    update = Recognizer(loaded, streams=streams).update
                print(row(size, "PyTorch Recognizer", streams, time_updates(update, frames)))
                runtime = OnnxStreamingRecognizer(step, config, streams=streams)
                flat = frames.reshape(args.frames, streams, persons * joints, 3)
                print(
                    row(size, "onnxruntime step model", streams, time_updates(runtime.update, flat))
                )
            if size == "SBU":
                save_model(folder / "sbu", model, class_names=[str(n) for n in range(classes)],
                           layout=layout, preset="sbu")  # fmt: skip
                preparing = Recognizer(load_model(folder / "sbu"))
                raw = generator.uniform(0.2, 0.8, size=(args.frames, persons, joints, 3))
                seconds = time_updates(preparing.update, raw.astype(np.float32))
                print(row(size, "PyTorch Recognizer + sbu preset", 1, seconds))


if __name__ == "__main__":
    main()
