"""STA-LSTM: the spatio-temporal attention LSTM for skeleton action recognition (Song et al.,
AAAI 2017), with readers for the standard skeleton data sets, training, attention pictures,
online recognition and detection, and export."""

from importlib import metadata as _metadata

try:  # one source of truth: the version pyproject.toml gives the installed package
    __version__ = _metadata.version("stalstm")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "Clip": "stalstm.clip",
    "STALSTM": "stalstm.model",
    "ModelState": "stalstm.model",
    "STALSTMConfig": "stalstm.model",
    "STALSTMOutput": "stalstm.model",
    "build_model": "stalstm.model",
    "ObjectiveConfig": "stalstm.objective",
    "regularised_loss": "stalstm.objective",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> object:
    # the model's names on first use: importing the package (the CLI's --help) needs no torch
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'stalstm' has no attribute {name!r}")
