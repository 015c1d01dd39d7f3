"""Commands of this group are added by their issue; this module only registers them."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""
