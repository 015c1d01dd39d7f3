"""Experiment only (results/msr-standardisation-ablation): the ``stalstm`` command with the
input statistics altered before training, to separate the two halves of the standardisation.

    PATCH_STD=meanonly python patched.py train --recipe msr-cs --data DATA --out OUT
        subtract each joint coordinate's mean, divide by 1
    PATCH_STD=scaleonly python patched.py train --recipe msr-cs --data DATA --out OUT
        subtract nothing, divide by the shared scale
"""

import os
import sys

import torch

import stalstm.model as model_module
from stalstm.cli import main

MODE = os.environ["PATCH_STD"]
original = model_module.STALSTM.set_input_statistics


def patched(self, mean, scale):
    if MODE == "meanonly":
        scale = torch.ones_like(scale)
    elif MODE == "scaleonly":
        mean = torch.zeros_like(mean)
    else:
        raise SystemExit(f"unknown PATCH_STD {MODE}")
    print(f"PATCH_STD={MODE}: mean |.|={mean.abs().mean():.3f} scale={scale.flatten()[0]:.3f}")
    original(self, mean, scale)


model_module.STALSTM.set_input_statistics = patched
sys.argv[0] = "stalstm"
main()
