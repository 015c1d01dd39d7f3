"""The documentation: the site builds without a broken link or reference, and the README stays a
short page for users that starts with the two set-up commands.

Building the site needs the ``[docs]`` extra (MkDocs, Material, mkdocstrings); without it that
test is skipped and counted (``docs_extra``), and CI, which requires it, fails instead.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"
SETUP_COMMANDS = [
    "pip install -e . && stalstm demo",
    'pip install -e ".[test]" && pytest',
]
README_MAX_LINES = 250
# Words of the project's own process, which say nothing to a user: results name versions by
# number, and history lives in git and the changelog.
PROCESS_WORDS = re.compile(r"stop [0-9]+|today|earlier version", re.IGNORECASE)


def documentation_files() -> list[Path]:
    return [README, *sorted((REPOSITORY / "docs").rglob("*.md"))]


def test_the_site_builds_with_no_broken_link_or_reference(docs_extra: None, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stdout}\n{built.stderr}"
    assert (site / "index.html").is_file()
    assert (site / "api" / "model" / "index.html").is_file()


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, at most {README_MAX_LINES}: it is for users "
        "(what it is, set-up, quick starts, current results, links); the rest goes to docs/"
    )


def test_the_readme_setup_starts_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    headings = [index for index, line in enumerate(lines) if line.strip() == "## Set-up"]
    assert headings, "README.md has no '## Set-up' section"
    after = [line for line in lines[headings[0] + 1 :] if line.strip()]
    assert after and after[0].startswith("```"), "the set-up section must start with a code block"
    block = []
    for line in after[1:]:
        if line.startswith("```"):
            break
        block.append(line.strip())
    assert block == SETUP_COMMANDS


def test_the_readme_links_to_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links into docs/"
    missing = [target for target in local if not (REPOSITORY / target).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


@pytest.mark.parametrize("path", documentation_files(), ids=lambda path: path.name)
def test_no_words_of_the_project_s_process(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(REPOSITORY)
    found = [
        f"{where}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for match in PROCESS_WORDS.finditer(text)
    ]
    assert not found, "name versions by number, not by moments of the work:\n" + "\n".join(found)
