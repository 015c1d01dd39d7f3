"""Online action detection in untrimmed streams (the journal version of STA-LSTM, Song et al.,
IEEE TIP 2018): the same causal model classifies every frame into the classes and background,
and an online post-processing turns its per-frame scores into segments.

- ``building``: training streams from trimmed clips (actions with idle time and transitions).
"""
