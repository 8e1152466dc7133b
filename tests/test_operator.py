"""Operator commands as an operator uses them: `hcjobs sources enable | disable` editing the
sources file in place, logs as JSON lines, the progress lines of a crawl, the runs table."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.crawl import run_crawl
from pipeline.db import open_store
from pipeline.demo.board import DemoBoard, load_board, save_sandbox_sources, write_sources
from pipeline.logs import FORMAT_ENV, JsonFormatter, TextFormatter, setup_logging
from pipeline.monitors import check_runs
from pipeline.schedule import build_scheduler, sync_jobs
from pipeline.sources import SourceError, load_sources, set_enabled
from pipeline.store import finish_run, start_run

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "pipeline" / "sources.toml"


def hcjobs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (stdout and stderr are pipes, not a terminal)."""
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HCJOBS_LOG_FORMAT": "", **(env or {})})


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of the bundled sources file: comments, sections, aligned notes, defaults."""
    path = tmp_path / "sources.toml"
    path.write_bytes(BUNDLED.read_bytes())
    return path


def test_disable_then_enable_edits_only_the_enabled_lines(sources: Path) -> None:
    original = sources.read_bytes()
    result = hcjobs("sources", "disable", "humana", "oscar-health", "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    assert "humana: disabled" in result.stdout and "oscar-health: disabled" in result.stdout
    before, after = original.decode().splitlines(), sources.read_text().splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("enabled = true", "enabled = false")] * 2
    enabled = {e["name"]: e["enabled"] for e in load_sources(sources)}
    assert not enabled["humana"] and not enabled["oscar-health"] and enabled["centene"]

    listed = hcjobs("sources", "list", "--sources", str(sources))
    assert re.search(r"^\s+humana\s+workday\s+.*\bNO$", listed.stdout, re.MULTILINE)
    assert re.search(r"^\s+centene\s+workday\s+.*\byes$", listed.stdout, re.MULTILINE)

    disabled = sources.read_bytes()
    stamp = sources.stat().st_mtime_ns
    again = hcjobs("sources", "disable", "humana", "--sources", str(sources))
    assert again.returncode == 0 and "humana: already disabled" in again.stdout
    assert sources.read_bytes() == disabled and sources.stat().st_mtime_ns == stamp

    back = hcjobs("sources", "enable", "humana", "oscar-health", "--sources", str(sources))
    assert back.returncode == 0, back.stderr
    assert sources.read_bytes() == original  # round trip: byte for byte


def test_unknown_name_is_refused_and_the_file_untouched(sources: Path) -> None:
    original, stamp = sources.read_bytes(), sources.stat().st_mtime_ns
    result = hcjobs("sources", "disable", "oscar-health", "humanna", "--sources", str(sources))
    assert result.returncode == 2
    assert "no source named 'humanna' (did you mean: humana?)" in result.stderr
    assert sources.read_bytes() == original and sources.stat().st_mtime_ns == stamp
    assert [p.name for p in sources.parent.iterdir()] == ["sources.toml"]  # no temp left


def test_missing_enabled_key_is_added_in_its_own_table(tmp_path: Path) -> None:
    """Defaults say disabled; the entry has no `enabled` of its own; CRLF line endings."""
    body = ('# operators: keep this\r\n[defaults]\r\nenabled = false\r\n\r\n'
            '[[source]]\r\nname = "a"        # first\r\nkind = "greenhouse"\r\nboard = "x"\r\n'
            '# a comment that belongs to the next section\r\n\r\n'
            '[[source]]\r\nname = "b"\r\nkind = "greenhouse"\r\nboard = "y"\r\n')
    path = tmp_path / "sources.toml"
    path.write_bytes(body.encode())
    assert set_enabled(["a"], True, path) == (["a"], [])
    assert path.read_bytes() == body.replace(
        'board = "x"\r\n', 'board = "x"\r\nenabled = true\r\n', 1).encode()
    assert {e["name"]: e["enabled"] for e in load_sources(path)} == {"a": True, "b": False}
    assert set_enabled(["b", "a"], False, path) == (["a"], ["b"])


def test_an_edit_that_would_change_more_is_refused(tmp_path: Path) -> None:
    """A line inside a multi-line string looks like a key; the check after the edit sees it."""
    body = ('[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "x"\ncompany = """\n'
            'enabled = true\n"""\n')
    path = tmp_path / "sources.toml"
    path.write_text(body)
    with pytest.raises(SourceError, match="safely"):
        set_enabled(["a"], False, path)
    assert path.read_text() == body


def test_scheduler_drops_the_job_of_a_disabled_source(sources: Path, sqlite_url: str) -> None:
    open_store(sqlite_url).dispose()
    scheduler = build_scheduler(sqlite_url)
    scheduler.start(paused=True)
    try:
        first = sync_jobs(scheduler, load_sources(sources), sqlite_url)
        assert "humana" in first["added"]
        set_enabled(["humana"], False, sources)
        assert sync_jobs(scheduler, load_sources(sources), sqlite_url) == \
            {"added": [], "updated": [], "removed": ["humana"]}
        assert "source:humana" not in {job.id for job in scheduler.get_jobs()}
        set_enabled(["humana"], True, sources)
        assert sync_jobs(scheduler, load_sources(sources), sqlite_url)["added"] == ["humana"]
    finally:
        scheduler.shutdown(wait=False)


@dataclass
class Crawl:
    result: subprocess.CompletedProcess[str]
    db: str


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    """`hcjobs crawl` with JSON logs, piped (not a terminal), over one good source and one
    that answers HTTP 500; the tests below read its output and its database."""
    folder = tmp_path_factory.mktemp("crawl")
    data = load_board()
    employer = next(e for e in data["employers"] if e["kind"] == "greenhouse")
    with DemoBoard({"employers": [employer]}, faults={"/v1/boards/broken/": "500"}) as board:
        good = {"name": "good", "kind": "greenhouse", "board": employer["slug"],
                "base_url": board.url, "schedule": "0 * * * *", "enabled": True}
        path = write_sources(folder / "sources.toml", [good, {**good, "name": "bad",
                                                                "board": "broken"}])
        db = f"sqlite:///{folder / 'jobs.db'}"
        result = hcjobs("crawl", "--log-format", "json", "--sources", str(path), "--db", db)
    yield Crawl(result, db)


def test_json_log_lines_carry_time_level_logger_and_the_run(crawl: Crawl) -> None:
    assert crawl.result.returncode == 1  # one source failed
    records = [json.loads(line) for line in crawl.result.stderr.splitlines()]
    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        assert record["time"].endswith("Z")
        datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
    by_child = [r for r in records if r.get("source") == "bad" and r["logger"] == "greenhouse"]
    assert by_child and "HTTP 500" in by_child[0]["message"]  # from the crawl process
    assert isinstance(by_child[0]["run_id"], int)
    assert any(r["logger"] == "hcjobs.alerts" and "bad" in r["message"] for r in records)


def test_progress_is_plain_lines_without_a_terminal(crawl: Crawl) -> None:
    out = crawl.result.stdout
    assert "\x1b" not in out  # no live display, no colours
    assert re.search(r"^good: ok, 10 seen, 10 new, 0 changed, \d+ s$", out, re.MULTILINE)
    assert re.search(r"^bad: failed, 0 seen, 0 new, 0 changed, \d+ s$", out, re.MULTILINE)


def test_runs_table_gives_the_reason_of_a_failure(crawl: Crawl) -> None:
    failed = hcjobs("runs", "--db", crawl.db, "--status", "failed")
    assert failed.returncode == 0, failed.stderr
    header, *rows = failed.stdout.splitlines()
    assert header.endswith("summary / errors")
    assert len(rows) == 1 and " bad " in rows[0] and "HTTP 500 from http://" in rows[0]
    good = hcjobs("runs", "--db", crawl.db, "--source", "good")
    (row,) = good.stdout.splitlines()[1:]
    assert " ok " in row and "2 requests (200x2); seen 10 (new 10" in row


def test_formatters_keep_extras_and_exceptions() -> None:
    try:
        raise RuntimeError("board gone")
    except RuntimeError:
        record = logging.getLogger("hcjobs.test").makeRecord(
            "hcjobs.test", logging.ERROR, __file__, 1, "run %s failed", (7,), sys.exc_info(),
            extra={"source": "humana", "run_id": 7, "hosts": {"a", "b"}})
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == \
        ("ERROR", "hcjobs.test", "run 7 failed")
    assert (line["source"], line["run_id"]) == ("humana", 7)
    assert isinstance(line["hosts"], str)  # not JSON-able as it is: its text
    assert line["exception"].startswith("Traceback") and "board gone" in line["exception"]
    text = TextFormatter().format(record)
    assert "ERROR hcjobs.test: run 7 failed [source=humana run_id=7" in text.splitlines()[0]
    assert "RuntimeError: board gone" in text


def test_bad_log_format_in_the_environment_is_a_usage_error(sources: Path) -> None:
    result = hcjobs("sources", "--sources", str(sources), env={"HCJOBS_LOG_FORMAT": "xml"})
    assert result.returncode == 2 and "log format must be one of text, json" in result.stderr


def test_board_sources_file_is_rewritten_only_when_no_edit_is_lost(tmp_path: Path) -> None:
    board, path = load_board(), tmp_path / "demo-sources.toml"
    here, elsewhere = "http://127.0.0.1:8765", "http://127.0.0.1:9999"
    assert save_sandbox_sources(path, board, here, "* * * * *").outcome == "written"
    stamp = path.stat().st_mtime_ns
    assert save_sandbox_sources(path, board, here, "* * * * *").outcome == "unchanged"
    assert path.stat().st_mtime_ns == stamp  # untouched: a running scheduler re-reads nothing
    # as written by an earlier `hcjobs board` on another port and schedule: no edit to lose
    assert save_sandbox_sources(path, board, elsewhere, "*/5 * * * *").outcome == "updated"
    assert {e["base_url"].split("/sites/")[0] for e in load_sources(path)} == {elsewhere}

    edited = path.read_text().replace('"meridian-revenue"\n', '"no-such-board"\n', 1)
    path.write_text(edited)
    kept = save_sandbox_sources(path, board, here, "* * * * *")
    assert (kept.outcome, kept.points_here) == ("kept", False)  # and it says where it points
    assert path.read_text() == edited
    kept = save_sandbox_sources(path, board, elsewhere, "*/5 * * * *")
    assert (kept.outcome, kept.points_here) == ("kept", True)
    assert save_sandbox_sources(path, board, here, "* * * * *", force=True).outcome == "written"
    assert "no-such-board" not in path.read_text()


def test_unknown_source_error_names_the_file_read(tmp_path: Path) -> None:
    path = write_sources(tmp_path / "demo-sources.toml", [
        {"name": "plan", "kind": "greenhouse", "board": "x", "enabled": True}])
    result = hcjobs("crawl", "--source", "nosuch", "--sources", str(path),
                    "--db", f"sqlite:///{tmp_path / 'jobs.db'}")
    assert result.returncode == 2
    assert f"no source named 'nosuch' in the sources file {path}" in result.stderr


def test_dropped_item_is_one_short_info_line(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo board's Keystone lists one posting without a title: one INFO line saying
    so with its source, run and id, not the item printed (twice) at WARNING."""
    monkeypatch.setenv("HCJOBS_LOG_FORMAT", "json")
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    employer = next(e for e in load_board()["employers"] if e["slug"] == "keystone-health-plan")
    engine = open_store(url)
    with DemoBoard({"employers": [employer]}) as board:
        source = {"name": "keystone", "kind": "greenhouse", "board": employer["slug"],
                  "base_url": board.url, "enabled": True}
        result = run_crawl(engine, url, [source], timeout=60, log_level="INFO")
    engine.dispose()
    records = [json.loads(line) for line in result.log.splitlines() if line.startswith("{")]
    (drop,) = [r for r in records if r["logger"] == "scrapy.core.scraper"]
    assert drop["level"] == "INFO"
    assert drop["message"] == "keystone: dropped posting '6200309': missing_title"
    assert (drop["source"], drop["external_id"]) == ("keystone", "6200309")
    assert isinstance(drop["run_id"], int) and "item" not in drop
    assert "JobPosting(" not in result.log and "Dropped:" not in result.log


@pytest.mark.parametrize(("level", "logged"), [("DEBUG", True), ("INFO", False),
                                               (logging.WARNING, False), ("WARNING", False)])
def test_scraped_items_are_logged_only_when_the_crawl_logs_at_debug(level: str | int,
                                                                   logged: bool) -> None:
    """Scrapy would build a DEBUG record holding the item for every posting and drop it at
    the handler; below DEBUG no record is made at all."""
    from scrapy import Spider

    from crawler.items import JobPosting
    from crawler.logformatter import HcjobsLogFormatter

    item = JobPosting(source="s", external_id="1", title="Coder")
    record = HcjobsLogFormatter(level).scraped(item, None, Spider(name="s"))
    assert (record is not None) == logged
    if record is not None:
        assert record["level"] == logging.DEBUG and record["args"]["item"] is item


def test_own_records_from_info_library_records_from_warning(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    monkeypatch.setenv(FORMAT_ENV, "text")  # setup_logging exports it: restored after
    try:
        setup_logging("text", own_level="INFO")
        logging.getLogger("scrapy.core.engine").setLevel(logging.DEBUG)  # as Scrapy does
        logging.getLogger("hcjobs.schedule").info("scheduler started")
        logging.getLogger("hcjobs.alerts").debug("not shown")
        logging.getLogger("scrapy.core.engine").info("Spider opened")
        logging.getLogger("apscheduler.scheduler").info("Added job")
        logging.getLogger("apscheduler.scheduler").warning("job missed")
        err = capsys.readouterr().err
        with pytest.raises(ValueError, match="unknown log level"):
            setup_logging("text", own_level="LOUD")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in ("hcjobs", "scrapy.core.engine"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    assert "INFO hcjobs.schedule: scheduler started" in err
    assert "WARNING apscheduler.scheduler: job missed" in err
    assert "not shown" not in err and "Spider opened" not in err and "Added job" not in err


def test_status_lists_configured_sources_before_any_run(tmp_path: Path) -> None:
    """Before the store, after a scheduler synced, and after the operator's stop: every
    configured source with its next run, a disabled one says so, a stop is no failure."""
    db = f"sqlite:///{tmp_path / 'jobs.db'}"
    base = {"kind": "greenhouse", "board": "x", "schedule": "*/5 * * * *", "enabled": True}
    path = write_sources(tmp_path / "sources.toml", [
        {"name": "alpha", **base}, {"name": "beta", **base},
        {"name": "gamma", **base, "enabled": False}])

    def rows(out: str) -> dict[str, list[str]]:
        return {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:4]}

    before = hcjobs("status", "--db", db, "--sources", str(path))
    assert before.returncode == 0, before.stderr
    table = rows(before.stdout)
    assert table["alpha"][0].startswith("~") and table["beta"][0].startswith("~")
    assert table["gamma"][0] == "disabled"
    assert "0 of 2 sources need attention." in before.stdout

    engine = open_store(db)
    scheduler = build_scheduler(db)
    scheduler.start(paused=True)
    sync_jobs(scheduler, load_sources(path), db)
    due = {job.name: job.next_run_time.strftime("%H:%M") for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    for name, status in (("alpha", "ok"), ("alpha", "interrupted"), ("beta", "interrupted")):
        run_id = start_run(engine, {"name": name, **base})  # alpha: none listed, then stopped
        finish_run(engine, run_id, status=status, error=None, stats={})
        check_runs(engine, [run_id], [], stopped=True)
    engine.dispose()
    after = hcjobs("status", "--db", db, "--sources", str(path))
    assert after.returncode == 0, after.stderr
    table = rows(after.stdout)
    assert table["alpha"][1] == due["alpha"] and table["beta"][1] == due["beta"]  # job store
    assert table["alpha"][2] == "interrupted" and "no postings" in " ".join(table["alpha"])
    assert table["beta"][2:] == ["interrupted", "-", "-"]
    assert table["gamma"][0] == "disabled"
    assert "1 of 2 sources need attention: alpha" in after.stdout
