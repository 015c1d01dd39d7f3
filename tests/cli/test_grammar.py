"""One grammar for every command: the same options mean the same everywhere, the help lists
what the package ships in plain words, and every failure is one line ``error: WHAT: WHY`` on
stderr with exit status 1."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
import typer
from typer.testing import CliRunner

from stalstm import __version__
from stalstm.cli import app
from stalstm.layouts import LAYOUTS
from stalstm.training.recipes import recipe_names

REPOSITORY = Path(__file__).resolve().parents[2]
COMMANDS = sorted(typer.main.get_command(app).commands)
WRITING = {
    "demo",
    "prepare",
    "train",
    "cv",
    "ablate",
    "explain",
    "detect",
    "report",
    "pose",
}  # -o/--out
MACHINE_READABLE = {"demo", "prepare", "info", "train", "eval", "cv", "ablate", "predict",
                    "explain", "stream", "detect", "export", "pose"}  # fmt: skip
QUIET = {"demo", "prepare", "train", "cv", "stream", "pose"}  # --quiet: progress or per-frame lines
READING_RAW_INPUT = {"prepare", "train", "cv", "ablate", "predict", "explain", "stream", "detect"}


def help_text(*words: str) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_version_is_the_package_version():
    result = CliRunner().invoke(app, ["--version"])
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    assert result.exit_code == 0
    assert result.output.strip() == __version__ == metadata.version("stalstm")
    assert __version__ == pyproject["project"]["version"]


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_speaks_the_one_grammar(name: str):
    text = help_text(name)
    assert not re.search(r"<(bool|int|str|path|float|list\[[^]]*\])[^>]*>", text), text
    assert ("-o, --out" in text) == (name in WRITING), name
    assert ("--json" in text) == (name in MACHINE_READABLE), name
    assert ("--quiet" in text) == (name in QUIET), name
    assert ("--layout" in text) == (name in READING_RAW_INPUT), name


def test_help_lists_the_shipped_recipes_and_layouts():
    text = re.sub(r"-\s+", "-", " ".join(help_text("train").split()))  # words cut at a hyphen
    for recipe in recipe_names():
        assert recipe in text
    for layout in LAYOUTS:
        assert layout in text


@pytest.mark.parametrize(
    ("arguments", "what"),
    [
        (["predict", "no-such-model", "x.npy"], "no-such-model"),
        (["train", "--recipe", "no-such-recipe", "-o", "{tmp}/run"], "no-such-recipe"),
        (["train", "--recipe", "sbu", "-o", "{tmp}/run", "--set", "model.main_hiden=3"],
         "model.main_hiden"),
        (["prepare", "sbu", "--root", "{tmp}/missing", "-o", "{tmp}/store"], "{tmp}/missing"),
        (["eval", "{tmp}"], "{tmp}"),
        (["info", "{tmp}"], "{tmp}"),
        (["explain", "{tmp}", "clip.npy", "-o", "{tmp}/out"], "{tmp}"),
        (["report", "{tmp}", "-o", "{tmp}/report.html"], "{tmp}"),
        (["train", "--recipe", "demo", "-o", "{tmp}/run", "--layout", "{tmp}/missing.json"],
         "data.layout"),
        (["pose", "{tmp}/missing.mp4", "-o", "{tmp}/out"], "{tmp}/missing.mp4"),
    ],
)  # fmt: skip
def test_every_failure_is_one_error_line_and_exit_status_one(
    tmp_path: Path, arguments: list[str], what: str
):
    words = [word.replace("{tmp}", str(tmp_path)) for word in arguments]
    result = CliRunner().invoke(app, words)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert what.replace("{tmp}", str(tmp_path)) in lines[0]
    assert re.match(r"error: .+: .+", lines[0])


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path):
    import subprocess
    import sys

    import numpy as np
    from helpers.models import saved_model

    saved_model(tmp_path / "model", joints=20, classes=3, layout="msr20", preset="none")
    clip = tmp_path / "clip.npy"
    np.save(clip, np.random.default_rng(0).normal(size=(2000, 1, 20, 3)).astype(np.float32))
    process = subprocess.Popen(
        [sys.executable, "-m", "stalstm", "stream", str(tmp_path / "model"), str(clip), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline()  # one frame, then away
    process.stdout.close()
    _, errors = process.communicate(timeout=120)
    assert process.returncode != 0 and b"error" not in errors and b"Traceback" not in errors
