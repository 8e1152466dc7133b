"""Project hygiene that CI enforces: the README's commands, lint and types."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^    (python3 -m venv .*)$", text, re.MULTILINE)


def test_readme_first_screen_has_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("hcjobs demo")
    assert "pytest" in commands[1]
    head = (ROOT / "README.md").read_text().splitlines()[:20]
    assert all(any(c in line for line in head) for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()


@pytest.mark.parametrize("tool", [["ruff", "check", "."], ["mypy"]])
def test_lint_and_types(tool: list[str]) -> None:
    exe = Path(sys.executable).with_name(tool[0])
    if not exe.exists() and shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} not installed (pip install -e '.[test]')")
    cmd = [str(exe) if exe.exists() else tool[0], *tool[1:]]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
