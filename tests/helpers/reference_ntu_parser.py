"""A plain line-by-line reader of NTU ``.skeleton`` files: the test oracle for the fast reader
and the baseline of ``benchmarks/parse.py``. Deliberately the obvious code: readline, split,
float per field, Python lists; no error handling beyond what Python raises."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def parse_reference(path: str | Path) -> dict[str, object]:
    """Parse a ``.skeleton`` file; bodies tracked by bodyID in order of first appearance."""
    frames: list[list[tuple[int, list[str], list[list[float]]]]] = []
    with open(path, encoding="ascii") as handle:
        frame_count = int(handle.readline())
        for _ in range(frame_count):
            bodies = []
            for _ in range(int(handle.readline())):
                info = handle.readline().split()
                joint_count = int(handle.readline())
                joints = [[float(v) for v in handle.readline().split()] for _ in range(joint_count)]
                bodies.append((int(info[0]), info[1:], joints))
            frames.append(bodies)
    body_ids: list[int] = []
    for bodies in frames:
        for body_id, _, _ in bodies:
            if body_id not in body_ids:
                body_ids.append(body_id)
    shape = (len(frames), len(body_ids))
    rows = np.zeros((*shape, 25, 12))
    info = np.zeros((*shape, 9))
    present = np.zeros(shape, dtype=bool)
    for t, bodies in enumerate(frames):
        for body_id, fields, joints in bodies:
            m = body_ids.index(body_id)
            rows[t, m] = joints
            info[t, m] = [float(v) for v in fields]
            present[t, m] = True
    return {
        "body_ids": body_ids,
        "body_count": [len(bodies) for bodies in frames],
        "present": present,
        "joints": rows[..., 0:3],
        "depth_xy": rows[..., 3:5],
        "color_xy": rows[..., 5:7],
        "orientation": rows[..., 7:11],
        "tracking_state": rows[..., 11],
        "clipped_edges": info[..., 0],
        "hand_left_confidence": info[..., 1],
        "hand_left_state": info[..., 2],
        "hand_right_confidence": info[..., 3],
        "hand_right_state": info[..., 4],
        "is_restricted": info[..., 5],
        "lean": info[..., 6:8],
        "body_tracking_state": info[..., 8],
    }
