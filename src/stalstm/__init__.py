"""STA-LSTM: the spatio-temporal attention LSTM for skeleton action recognition (Song et al.,
AAAI 2017), with readers for the standard skeleton data sets, training, attention pictures,
online recognition and export."""

from importlib import metadata as _metadata

from stalstm.clip import Clip
from stalstm.model import STALSTM, ModelState, STALSTMConfig, STALSTMOutput, build_model
from stalstm.objective import ObjectiveConfig, regularised_loss

try:  # one source of truth: the version pyproject.toml gives the installed package
    __version__ = _metadata.version("stalstm")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "STALSTM",
    "Clip",
    "ModelState",
    "ObjectiveConfig",
    "STALSTMConfig",
    "STALSTMOutput",
    "__version__",
    "build_model",
    "regularised_loss",
]
