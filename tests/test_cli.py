"""The `hcjobs` commands as a user runs them: real processes, real files, real databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def hcjobs(*args: str, cwd: Path | None = None, stdin: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, input=stdin, timeout=300,
                          env={**os.environ, **(env or {})})


def test_help_lists_every_command() -> None:
    out = hcjobs("--help").stdout
    for command in ("demo", "crawl", "runs", "classify", "export", "train", "evaluate"):
        assert command in out
    assert "offline" in hcjobs("demo", "--help").stdout


def test_demo_then_runs_and_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = hcjobs("demo", "--db", db, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "category" in demo.stdout and "credential" in demo.stdout
    assert "coding" in demo.stdout and "administration" in demo.stdout
    assert not (tmp_path / "jobs.db").exists()  # --db was honoured

    runs = hcjobs("runs", "--db", db)
    assert runs.returncode == 0
    assert len([line for line in runs.stdout.splitlines() if " ok " in line]) == 7

    out = tmp_path / "export"
    exported = hcjobs("export", "--db", db, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in (out / "postings.jsonl").read_text().splitlines()]
    keys = {"id", "url", "title", "company", "location", "state", "country", "category",
            "remote", "remote_states", "credentials", "salary", "posted_at", "first_seen",
            "last_seen", "status", "summary",
            # added with places, employment types, yearly pay and lineage
            "city", "locations", "employment_type", "valid_through", "closed_at", "duplicates"}
    assert rows and all(set(r) == keys for r in rows)
    assert {r["category"] for r in rows} == {"coding", "administration", "other"}
    assert all(set(r["salary"]) == {"min", "max", "currency", "period", "annual_min",
                                    "annual_max"} for r in rows)
    assert any(c["requirement"] == "required" for r in rows for c in r["credentials"])
    assert sum(len(r["duplicates"]) for r in rows) == 1  # the agency's repost, with its reason
    stats = json.loads((out / "stats.json").read_text())
    assert len(rows) == stats["postings"]["total"] - 1  # the agency's repost is not exported
    assert stats["postings"]["open"] == len([r for r in rows if r["status"] == "open"])
    assert sum(stats["by_category"].values()) == stats["postings"]["open"]
    totals = [d for d in stats["daily"] if d["credential"] == "*"]
    assert sum(d["active"] for d in totals) == stats["postings"]["open"]
    jsonld = [json.loads(line) for line in (out / "jsonld.jsonl").read_text().splitlines()]
    assert [int(j["identifier"]["value"]) for j in jsonld] == [r["id"] for r in rows]
    assert all(j["@type"] == "JobPosting" for j in jsonld)


def test_default_database_is_jobs_db_in_cwd(tmp_path: Path) -> None:
    result = hcjobs("export", "--out", "x", cwd=tmp_path,
                    env={"HCJOBS_DATABASE_URL": ""})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "jobs.db").exists()


def test_classify_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"id": "a", "title": "Outpatient Coder",
                    "text": "Remote. Must reside in OH or KY.\nRequirements\n- CPC required"}),
        json.dumps({"id": "b", "title": "Practice Manager", "company": "X",
                    "html": "<p>Run our clinic.</p><h3>Preferred</h3><ul><li>MHA</li></ul>"}),
        "{not json",
        json.dumps({"title": "no id"}),
    ]) + "\n")
    dst = tmp_path / "out.jsonl"
    result = hcjobs("classify", "--input", str(src), "--output", str(dst))
    assert result.returncode == 1  # bad lines are reported, good ones still tagged
    assert f"{src}:3: skipped" in result.stderr and f"{src}:4: skipped" in result.stderr
    a, b = [json.loads(line) for line in dst.read_text().splitlines()]
    assert {"id", "category", "category_scores", "remote", "remote_evidence",
            "remote_states", "credentials", "model_version"} <= set(a)  # the documented keys
    assert {"facets", "entry_level", "education", "years_experience"} <= set(a)
    assert (a["id"], a["category"], a["remote"], a["remote_states"]) == \
        ("a", "coding", "remote", ["KY", "OH"])
    assert a["credentials"] == [{"code": "CPC", "requirement": "required",
                                 "evidence": "CPC required"}]
    assert b["category"] == "administration"
    assert b["credentials"][0]["code"] == "MHA" and b["credentials"][0]["requirement"] == \
        "preferred"


BAD_SOURCES = {
    "unknown kind": ('[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "x"\n\n'
                     '[[source]]\nname = "b"\nkind = "monster"\n', 6, "unknown kind 'monster'"),
    "missing board": ('# comment\n[[source]]\nname = "a"\nkind = "greenhouse"\n', 2,
                      "needs 'board'"),
    "bad cron": ('[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "x"\n'
                 'schedule = "61 * * * *"\n', 1, "bad schedule"),
    "duplicate name": ('[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "x"\n'
                       '[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "y"\n', 5,
                       "already used at line 1"),
    "invalid toml": ('[[source]]\nname = "a\nkind = "greenhouse"\n', 2, "invalid TOML"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_sources_file_exits_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    body, line, message = BAD_SOURCES[case]
    path = tmp_path / "sources.toml"
    path.write_text(body)
    db = tmp_path / "jobs.db"
    result = hcjobs("crawl", "--sources", str(path), "--db", f"sqlite:///{db}")
    assert result.returncode == 2
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{path}:{line}:" in err and message in err
    assert not db.exists()


def test_bundled_sources_file_is_valid() -> None:
    result = hcjobs("sources")
    assert result.returncode == 0, result.stderr
    assert "greenhouse" in result.stdout
