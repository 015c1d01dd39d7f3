"""The `stalstm` command line: a thin layer over the Python API, one grammar for every command
(``stalstm.cli.common``). Each command module registers its commands here and imports what is
heavy inside the command, so that ``stalstm --help`` starts fast. No module imports the CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from stalstm.cli import (
    data_commands,
    demo_commands,
    live_commands,
    model_commands,
    train_commands,
)

_argument_type = getattr(typer.core.TyperArgument, "display_type_rich", None)
if _argument_type is not None:
    # recent typer prints the Python type beside an argument's metavar ("INPUT... <list[Path]>");
    # our metavars say what to give, plainly
    def _metavar_only(self: typer.core.TyperArgument, ctx: object) -> str | None:
        return None if self.metavar is not None else _argument_type(self, ctx)

    typer.core.TyperArgument.display_type_rich = _metavar_only

app = typer.Typer(
    name="stalstm",
    help="STA-LSTM: spatio-temporal attention LSTM for skeleton action recognition and detection.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: plain metavars, docstrings wrapped as paragraphs
)


def _version(value: bool) -> None:
    if value:
        from stalstm import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """STA-LSTM: spatio-temporal attention LSTM for skeleton action recognition and detection."""


for module in (demo_commands, data_commands, train_commands, model_commands, live_commands):
    module.register(app)


def main() -> None:
    app()
