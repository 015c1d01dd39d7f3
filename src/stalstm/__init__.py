"""STA-LSTM: the spatio-temporal attention LSTM for skeleton action recognition (Song et al.,
AAAI 2017), with readers for the standard skeleton data sets, training, attention pictures,
online recognition and export."""

from stalstm.clip import Clip
from stalstm.model import STALSTM, ModelState, STALSTMConfig, STALSTMOutput, build_model
from stalstm.objective import ObjectiveConfig, regularised_loss

__version__ = "0.1.0"

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
