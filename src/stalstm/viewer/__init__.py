"""The interactive viewer: one self-contained HTML page per clip, stream or training run.

- ``stalstm.viewer.clips``: a clip's page (``stalstm explain MODEL CLIP --html FILE``): the
  skeleton drawn per frame (orbiting in 3D), joints coloured and sized by alpha_t, the beta
  curve, the online recogniser's running class probabilities, key frames to jump to;
- ``stalstm.viewer.streams``: a stream's page (``stalstm detect MODEL STREAM --html FILE``):
  the same, plus the truth against the detections, the per-frame probabilities and the
  tracker's thresholds;
- ``stalstm.viewer.report``: a run's report (``stalstm report RUN -o FILE``, and
  ``report.html`` in every run folder): training curves, per-class accuracy, the confusion
  matrix with its clips, and a viewer for a few right and wrong test clips.

``stalstm.viewer.page`` puts a page together: the template, style and scripts shipped in
``stalstm/viewer/assets`` and the data as JSON, all inline, so the file opens from disk and
fetches nothing (its Content-Security-Policy forbids it). The numbers on a page are the
model's own: a clip's come from ``stalstm.explain.clip_attention`` (the values of
``attention.json``), a stream's from ``stalstm.detection.detector.detect_streams``.

This package imports nothing of itself here, so that the run report (used by training) does
not pull in detection.
"""
