"""What every command shares: one grammar of options (``-o/--out``, ``--json``, ``--quiet``,
``--layout``, ``--recipe``, ``--set``) and one error style, ``error: WHAT: WHY`` on stderr with a
non-zero exit, whatever failed. Lists in the help (recipes, layouts, data sets) come from what
the package ships. Nothing heavy is imported here, so that ``stalstm --help`` starts fast."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

P = ParamSpec("P")
R = TypeVar("R")


def _shipped_recipes() -> str:
    from importlib import resources

    folder = resources.files("stalstm") / "recipes"
    return ", ".join(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def _shipped_layouts() -> str:
    from stalstm.layouts import LAYOUTS

    return ", ".join(LAYOUTS)


RecipeOption = Annotated[
    str,
    typer.Option(
        "--recipe", metavar="NAME|FILE",
        help=f"A shipped recipe ({_shipped_recipes()}) or a recipe YAML file.",
    ),
]  # fmt: skip
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", metavar="DIR",
        help="A raw data-set folder (prepared into a cache on first use) or a prepared store; "
        "not needed by data the recipe generates (demo).",
    ),
]  # fmt: skip
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override a recipe key, e.g. --set schedule.epochs=50 (repeatable; YAML value).",
    ),
]  # fmt: skip
LayoutOption = Annotated[
    str | None,
    typer.Option(
        "--layout", metavar="NAME|FILE",
        help=f"Skeleton layout of input whose files do not say (your .npy/.csv clips and "
        f"streams): {_shipped_layouts()}, or a layout .json file.",
    ),
]  # fmt: skip
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable output: JSON on stdout.")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or chatter; results only.")
]
ModelArgument = Annotated[
    Path,
    typer.Argument(
        metavar="MODEL", help="A model folder (model.json + model.safetensors) or a run folder."
    ),
]
AllowPickleOption = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Allow a pickle-based torch file (.pt/.ckpt). Unpickling runs code: trust needed.",
    ),
]


def out_option(help_text: str, default: Path | None = None) -> Any:
    """The ``-o/--out`` option of a command (what it writes, in its own words)."""
    return typer.Option("--out", "-o", metavar="PATH", help=help_text)


def html_option(what: str) -> Any:
    """The ``--html FILE`` option: one self-contained page showing ``what``."""
    return typer.Option(
        "--html", metavar="FILE",
        help=f"One self-contained page showing {what} (it opens from disk and fetches "
        "nothing).",
    )  # fmt: skip


def load_model_for_use(model: Path, allow_pickle: bool = False) -> Any:
    """The model a command uses (a model folder or a run folder), with torch on one thread:
    these LSTMs are small, and on a shared CPU more threads spin-wait for each other (a run
    report's six clips took 0.13 s on one thread, 9.9 s on two contended cores)."""
    import torch

    from stalstm.modelfile import load_model

    torch.set_num_threads(1)
    return load_model(model, allow_pickle=allow_pickle)


def describe(error: BaseException) -> str:
    """``WHAT: WHY`` of an error: a typed error names its file (and line) or key itself."""
    from stalstm.errors import SettingError

    if isinstance(error, SettingError):
        return f"{error.field}: {error.reason}"
    if isinstance(error, OSError) and error.filename and str(error.filename) not in str(error):
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


def fail(error: BaseException) -> None:
    """Print ``error: WHAT: WHY`` on stderr and exit 1."""
    typer.echo(f"error: {describe(error)}", err=True)
    raise typer.Exit(code=1) from error


def command(function: Callable[P, R]) -> Callable[P, R]:
    """Run a command with the one error style: the package's typed errors, bad values and
    files that cannot be read or written end as ``error: WHAT: WHY`` and exit 1."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from stalstm.errors import StalstmError

        try:
            return function(*args, **kwargs)
        except BrokenPipeError:
            # the reader went away (| head): stop quietly, as a Unix filter does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(code=1) from None
        except (StalstmError, ValueError, OSError) as error:
            fail(error)
        raise AssertionError("unreachable")

    return wrapper


def echo_json(value: Any) -> None:
    """One JSON document on one line, flushed (so a pipe sees it at once)."""
    typer.echo(json.dumps(value), nl=True)
