"""The demo command."""

from __future__ import annotations

from typer.testing import CliRunner


def test_demo_command_is_registered_with_its_out_option() -> None:
    from stalstm.cli import app

    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output
