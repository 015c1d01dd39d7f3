"""``stalstm stream MODEL -`` and ``stalstm detect MODEL -`` as another program would drive them:
a subprocess fed JSON lines slowly through a pipe answers before the input ends, reports a
malformed line as a JSON error line and goes on, and closes the open segment at the end."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

from helpers.models import detection_model, sfinge_stream

from stalstm.detection.detector import detect_stream

START_SECONDS = 180  # the command's start (torch, the ONNX export) on a busy 2-core machine


class Running:
    """A ``stalstm`` subprocess with its stdin open and its stdout read line by line."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stalstm", *arguments], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"ended early: {self.process.stderr.read()[-2000:]}"
        return json.loads(line)

    def finish(self) -> tuple[list[dict], int, str]:
        self.process.stdin.close()
        code = self.process.wait(timeout=120)
        rest = []
        while (line := self.lines.get(timeout=30)) is not None:
            rest.append(json.loads(line))
        return rest, code, self.process.stderr.read()


def frame_lines(data_root: Path, frames: int) -> tuple[object, list[str]]:
    stream = sfinge_stream(data_root, 3, frames)
    lines = [
        json.dumps({"joints": f[0].tolist(), "t": t / 20}) for t, f in enumerate(stream.joints)
    ]
    return stream, lines


def test_detect_answers_as_lines_arrive_and_goes_on_past_a_bad_line(
    data_root: Path, tmp_path: Path
) -> None:
    loaded = detection_model(tmp_path / "model")
    stream, lines = frame_lines(data_root, 150)
    offline = detect_stream(loaded, stream).detections
    first = offline[0].reported_at
    running = Running("detect", str(tmp_path / "model"), "-", "--json")
    for line in lines[: first + 1]:
        running.send(line)
    opened = running.receive(timeout=START_SECONDS)  # before the rest of the input exists
    assert (opened["event"], opened["start"], opened["frame"]) == ("open", offline[0].start, first)
    assert opened["start_t"] == offline[0].start / 20
    running.send('{"joints": [[0.1, 0.2, 0.3]')  # cut short: line first + 2
    error = running.receive(timeout=60)
    assert error["line"] == first + 2 and "truncated" in error["error"]
    for line in lines[first + 1 :]:
        running.send(line)
    rest, code, stderr = running.finish()
    closed = [event for event in [opened, *rest] if event.get("event") == "close"]
    assert [(e["start"], e["end"], e["label"]) for e in closed] == [
        (d.start, d.end, d.label) for d in offline
    ]
    assert closed[-1]["frame"] == len(lines) - 1  # the end of input closed the last one
    assert code == 1 and "1 frame(s) could not be read" in stderr


def test_stream_answers_frame_by_frame(data_root: Path, tmp_path: Path) -> None:
    detection_model(tmp_path / "model")
    _, lines = frame_lines(data_root, 5)
    running = Running("stream", str(tmp_path / "model"), "-", "--json")
    running.send(lines[0])
    first = running.receive(timeout=START_SECONDS)
    assert first["frame"] == 0 and first["t"] == 0.0
    running.send("not json")
    assert running.receive(timeout=60)["line"] == 2
    for frame, line in enumerate(lines[1:], start=1):
        running.send(line)
        answer = running.receive(timeout=60)  # each frame answered before the next is sent
        assert answer["frame"] == frame and 0 < answer["probability"] <= 1
    rest, code, _ = running.finish()
    assert rest == [] and code == 1


def test_live_input_of_another_layout_is_refused(tmp_path: Path) -> None:
    detection_model(tmp_path / "model")  # hand20
    completed = subprocess.run(
        [sys.executable, "-m", "stalstm", "detect", str(tmp_path / "model"), "-", "--layout",
         "coco17"], input='{"joints": []}\n', capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: <stdin>: layout mismatch: frames of layout 'coco17'")
    assert completed.stdout == ""
