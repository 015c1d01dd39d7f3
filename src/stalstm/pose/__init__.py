"""The bundled pose step: video or camera frames in, ``stalstm.frames.Frame``\\ s of keypoints
out, with the ``[pose]`` extra (``pip install "stalstm[pose]"``).

``stalstm.pose.video`` decodes a video file or a camera with OpenCV; ``stalstm.pose.estimator``
runs MediaPipe's legacy solutions (Pose: 33 body landmarks, layout ``mediapipe33``; Hands: 21
points a hand, layout ``hand21``), whose wheels up to 0.10.14 carry their models, so the step
works offline; ``stalstm.pose.step`` puts them together: ``pose_frames`` yields the frames
live (what ``Recognizer.run`` and ``Detector.run`` consume) and ``run_pose`` writes them as the
pose step's files (``stalstm.readers.pose_step``).
"""

from stalstm.pose.step import PoseFrames, PoseRun, part_for_layout, pose_frames, run_pose

__all__ = ["PoseFrames", "PoseRun", "part_for_layout", "pose_frames", "run_pose"]
