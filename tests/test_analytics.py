"""Analysts' path: a replayed demo history, the loaders on SQLite and PostgreSQL, the report's
charts and tables, the Parquet export, and every notebook run top to bottom."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from pipeline import analytics
from pipeline.db import open_store, session_scope
from pipeline.demo.board import load_board
from pipeline.demo.history import replay
from pipeline.models import CredentialTag, Posting, Tag

ROOT = Path(__file__).resolve().parents[1]
MONTHS = 3


def small_board() -> dict[str, object]:
    data = load_board()
    kinds = {"greenhouse": 2, "jsonld": 1}
    chosen = []
    for employer in data["employers"]:
        if kinds.get(employer["kind"], 0):
            kinds[employer["kind"]] -= 1
            chosen.append(employer)
    return {"employers": chosen}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    """Three months of a three-employer demo board, replayed by the real pipeline."""
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'jobs.db'}"
    engine = open_store(url)
    replay(engine, url, MONTHS, board=small_board())
    yield url, engine
    engine.dispose()


def documented(section: str) -> list[str]:
    text = (ROOT / "docs" / "data-dictionary.md").read_text()
    block = text.split(f"## `{section}")[1].split("\n## ")[0]
    return re.findall(r"^\| (\w+) \|", block, re.MULTILINE)[1:]  # skip the header row


def test_data_dictionary_matches_the_loaders(history: tuple[str, Engine]) -> None:
    url, _ = history
    assert list(analytics.load_postings(url).columns) == documented("load_postings()")
    assert list(analytics.load_credentials(url).columns) == documented("load_credentials()")


def test_loaders_hold_one_row_per_canonical_posting(history: tuple[str, Engine]) -> None:
    url, engine = history
    postings = analytics.load_postings(url)
    with session_scope(engine) as session:
        canonical = session.scalar(select(func.count()).select_from(Posting)
                                   .where(Posting.duplicate_of.is_(None)))
        everything = session.scalar(select(func.count()).select_from(Posting))
        asks = session.scalar(select(func.count()).select_from(CredentialTag)
                              .join(Tag, Tag.id == CredentialTag.tag_id)
                              .join(Posting, Posting.id == Tag.posting_id)
                              .where(Posting.duplicate_of.is_(None)))
    assert len(postings) == canonical and postings["posting_id"].is_unique
    assert len(analytics.load_postings(url, include_duplicates=True)) == everything
    assert len(analytics.load_credentials(url)) == asks
    assert postings["month"].nunique() == MONTHS
    assert set(postings["status"]) <= {"open", "closed"}
    assert (postings["closed_at"].notna() == (postings["status"] == "closed")).all()
    months = sorted(postings["month"].unique())
    in_window = analytics.load_postings(url, since=f"{months[-1]}-01")
    assert 0 < len(in_window) < len(postings)  # postings closed before the last month drop


def test_monthly_share_counts_behind_each_share() -> None:
    frame = pd.DataFrame({
        "month": ["2026-01", "2026-01", "2026-01", "2026-02"],
        "category": ["coding", "coding", "administration", "coding"],
        "remote": ["remote", "onsite", "remote", "remote"],
    })
    out = analytics.remote_share_by_month(frame)
    assert out.to_dict("records") == [
        {"month": "2026-01", "category": "administration", "n": 1, "k": 1, "share": 1.0},
        {"month": "2026-01", "category": "coding", "n": 2, "k": 1, "share": 0.5},
        {"month": "2026-02", "category": "coding", "n": 1, "k": 1, "share": 1.0},
    ]


def test_loaders_on_postgresql(pg_url: str) -> None:
    engine = open_store(pg_url)
    board = {"employers": small_board()["employers"][:1]}  # type: ignore[index]
    replay(engine, pg_url, 2, board=board)
    postings = analytics.load_postings(pg_url)
    assert len(postings) > 0 and postings["month"].nunique() == 2
    assert list(postings.columns) == documented("load_postings()")
    shares = analytics.remote_share_by_month(postings, categories=("coding", "administration",
                                                                    "other"))
    assert (shares["n"] >= shares["k"]).all() and shares["n"].sum() == len(postings)
    engine.dispose()


def test_report_writes_every_chart_and_table(history: tuple[str, Engine],
                                             tmp_path: Path) -> None:
    url, _ = history
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "report", "--db", url,
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("remote_share", "credentials", "pay", "new_closed", "employers"):
        assert (out / f"{name}.csv").stat().st_size > 0
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000
        assert f"src='{name}.png'" in (out / "index.html").read_text()
    shares = pd.read_csv(out / "remote_share.csv")
    assert {"month", "category", "n", "k", "share"} <= set(shares.columns)


def test_parquet_export_round_trips(history: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = history
    written = analytics.export_parquet(url, tmp_path)
    back = pd.read_parquet(written[0])
    assert list(back.columns) == documented("load_postings()")
    assert len(back) == len(analytics.load_postings(url))


@pytest.mark.parametrize("name", ["remote_trends", "credential_trends", "pay"])
def test_notebook_runs_top_to_bottom(name: str, history: tuple[str, Engine]) -> None:
    import nbformat
    from nbclient import NotebookClient

    url, _ = history
    paired = (ROOT / "notebooks" / f"{name}.py").read_text()
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    sources = "\n".join(c.source for c in notebook.cells)
    assert "from pipeline import analytics" in sources and "analytics." in paired
    old = os.environ.get("HCJOBS_DATABASE_URL")
    os.environ["HCJOBS_DATABASE_URL"] = url
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        if old is None:
            os.environ.pop("HCJOBS_DATABASE_URL", None)
        else:
            os.environ["HCJOBS_DATABASE_URL"] = old
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_notebooks_are_paired() -> None:
    """The .py of each notebook (the readable diff) says what its .ipynb says."""
    import jupytext

    for py in (ROOT / "notebooks").glob("*.py"):
        ipynb = py.with_suffix(".ipynb")
        assert ipynb.exists(), f"{py.name} has no paired notebook"
        from_py = [c.source for c in jupytext.read(py).cells]
        from_ipynb = [c.source for c in jupytext.read(ipynb).cells]
        assert from_py == from_ipynb, f"{py.name} and {ipynb.name} differ: run jupytext --sync"
