"""The scheduler and its alerts, for real: APScheduler with its job store in the database,
crawls in their own processes against local boards, a real SMTP server and webhook receiver."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from pipeline.crawl import run_crawl
from pipeline.db import open_store, session_scope
from pipeline.demo.board import DemoBoard, load_board
from pipeline.models import CrawlRun, Source
from pipeline.monitors import STOPPED, check_runs
from pipeline.schedule import (
    SchedulerLocked,
    acquire_lock,
    after_crawl,
    build_scheduler,
    run_scheduler,
    run_source,
    sync_jobs,
)

ROOT = Path(__file__).resolve().parents[1]


def small_board() -> dict[str, Any]:
    """One Greenhouse employer of the demo board: a crawl of it takes about two seconds."""
    data = load_board()
    return {"employers": [next(e for e in data["employers"] if e["kind"] == "greenhouse")]}


def entry(name: str, board: DemoBoard, schedule: str) -> dict[str, Any]:
    slug = board.board["employers"][0]["slug"]
    return {"name": name, "kind": "greenhouse", "board": slug, "base_url": board.url,
            "schedule": schedule, "enabled": True}


def write_sources(path: Path, entries: list[dict[str, Any]], extra: str = "") -> Path:
    lines = []
    for e in entries:
        lines.append("[[source]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in e.items()]
        lines.append("")
    path.write_text("\n".join(lines) + extra)
    return path


def runs_by_source(url: str) -> dict[str, list[CrawlRun]]:
    engine = open_store(url)
    out: dict[str, list[CrawlRun]] = {}
    with session_scope(engine) as session:
        for name, run in session.execute(select(Source.name, CrawlRun).join(
                CrawlRun, CrawlRun.source_id == Source.id).order_by(CrawlRun.id)):
            out.setdefault(name, []).append(run)
    engine.dispose()
    return out


@pytest.fixture
def boards() -> Iterator[tuple[DemoBoard, DemoBoard]]:
    """A quick board and a slow one (every response takes 4 s)."""
    with DemoBoard(small_board()) as fast, DemoBoard(small_board(), latency=4.0) as slow:
        yield fast, slow


def test_sources_run_on_time_in_parallel_without_overlap(
        boards: tuple[DemoBoard, DemoBoard], tmp_path: Path) -> None:
    from classifier.tagger import Tagger

    Tagger.load()  # trained before the clock starts: each run tags what it stored
    fast, slow = boards
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    sources = write_sources(tmp_path / "sources.toml", [
        entry("fast", fast, "*/3 * * * * *"), entry("slow", slow, "*/3 * * * * *")])
    stop = threading.Event()
    started = time.time()
    thread = threading.Thread(target=run_scheduler, args=(url, str(sources)),
                              kwargs={"poll": 0.5, "stop": stop})
    thread.start()
    time.sleep(14)
    stop.set()
    thread.join(timeout=90)
    assert not thread.is_alive()
    runs = runs_by_source(url)
    assert len(runs["fast"]) >= 2
    for name in ("fast", "slow"):
        first = runs[name][0].started_at.timestamp()
        assert first - started < 4.5, f"{name} started late"  # on its 3-second schedule
        for before, after in zip(runs[name], runs[name][1:], strict=False):
            assert before.finished_at is not None
            assert after.started_at >= before.finished_at, f"{name} overlapped itself"
    slow_first = runs["slow"][0]
    assert slow_first.finished_at is not None
    overlapping_fast = [r for r in runs["fast"] if r.started_at < slow_first.finished_at]
    assert len(overlapping_fast) >= 2, "the slow source held the fast one back"
    assert all(r.status in ("ok", "interrupted") for rs in runs.values() for r in rs)
    assert all(r.status != "running" for rs in runs.values() for r in rs)


def test_restart_keeps_one_job_and_runs_a_missed_backlog_once(
        boards: tuple[DemoBoard, DemoBoard], tmp_path: Path) -> None:
    from apscheduler.events import EVENT_JOB_SUBMITTED

    fast, _ = boards
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    open_store(url)
    entries = [entry("fast", fast, "* * * * * *")]  # every second
    first = build_scheduler(url)
    first.start(paused=True)
    assert sync_jobs(first, entries, url)["added"] == ["fast"]
    first.shutdown(wait=False)
    time.sleep(4)  # down for four firings

    second = build_scheduler(url)
    submitted: list[Any] = []
    second.add_listener(lambda event: submitted.append(event.scheduled_run_times),
                        EVENT_JOB_SUBMITTED)
    second.start(paused=True)
    assert sync_jobs(second, entries, url) == {"added": [], "updated": [], "removed": []}
    assert len(second.get_jobs()) == 1
    second.resume()
    time.sleep(1.5)
    second.shutdown(wait=True)
    assert submitted, "the missed run did not run on restart"
    assert len(submitted[0]) == 1  # coalesced: four missed firings, one run
    assert len(runs_by_source(url)["fast"]) == len(submitted)

    edited = [{**entries[0], "schedule": "0 */5 * * *"}]
    third = build_scheduler(url)
    third.start(paused=True)
    assert sync_jobs(third, edited, url)["updated"] == ["fast"]
    assert sync_jobs(third, [], url)["removed"] == ["fast"]
    assert third.get_jobs() == []
    third.shutdown(wait=False)


def test_one_scheduler_per_database(tmp_path: Path, pg_url: str) -> None:
    for url in (f"sqlite:///{tmp_path / 'jobs.db'}", pg_url):
        engine = open_store(url)
        lock = acquire_lock(engine, url)
        with pytest.raises(SchedulerLocked, match="already running"):
            acquire_lock(engine, url)
        lock.release()
        acquire_lock(engine, url).release()  # free again once released
        engine.dispose()


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def test_second_scheduler_refused_and_sigterm_stops_at_once_without_alerts(
        tmp_path: Path) -> None:
    """One worker, two sources every second on a slow board: one crawls, the other waits in
    the queue. SIGTERM: the crawl is recorded interrupted without an alert, the queued run
    never starts, and the process exits promptly; routine lines are INFO."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with DemoBoard(small_board(), latency=4.0) as slow:
        sources = write_sources(tmp_path / "sources.toml", [
            entry("alpha", slow, "* * * * * *"), entry("beta", slow, "* * * * * *")])
        cmd = [sys.executable, "-m", "pipeline.cli", "schedule", "--db", url, "--sources",
               str(sources), "--poll", "0.5", "--workers", "1"]
        first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "HCJOBS_LOG_FORMAT": "text"})
        try:
            engine = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # wait for a run in progress
                if (tmp_path / "jobs.db").exists():
                    engine = engine or open_store(url, upgrade=False)
                    try:
                        with engine.connect() as conn:
                            if conn.execute(text("select count(*) from crawl_runs where "
                                                 "status = 'running'")).scalar():
                                break
                    except OperationalError:  # the file exists before its tables do
                        pass
                time.sleep(0.3)
            else:
                pytest.fail("no run started")
            second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60)
            assert second.returncode == 2
            assert "already running" in second.stderr
            stopped_at, sent = datetime.now(UTC), time.monotonic()
            first.send_signal(signal.SIGTERM)
            out, err = first.communicate(timeout=90)
            took = time.monotonic() - sent
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, err
    # the crawl finishes its requests in flight (4 s each here) and records its run
    assert took < 20, f"took {took:.0f} s to stop"
    runs = [run for rs in runs_by_source(url).values() for run in rs]
    assert all(_aware(run.started_at) < stopped_at for run in runs), "a run started after the stop"
    assert all(run.status in ("ok", "interrupted") and run.finished_at for run in runs)
    interrupted = [run for run in runs if run.status == "interrupted"]
    assert interrupted and all(run.stats["monitors"] == {"skipped": STOPPED}
                               for run in interrupted)
    assert "hcjobs.alerts" not in err
    assert "not started, the scheduler is stopping" in err  # the queued one
    assert re.search(r" INFO hcjobs.schedule: scheduler started: database sqlite:///\S+, "
                     r"sources file \S+, 2 jobs, next run \d{4}-", err)
    assert re.search(r" INFO hcjobs.schedule: scheduler stopping: interrupting the crawl of "
                     r"(alpha|beta); no new crawl starts", err)
    for line in ("sources file", "scheduler stopped"):
        assert f" INFO hcjobs.schedule: {line}" in err
    assert " INFO apscheduler" not in err  # library chatter stays below the threshold
    engine = open_store(url, upgrade=False)
    with engine.connect() as conn:
        assert conn.execute(text("pragma integrity_check")).scalar() == "ok"


def test_a_failing_step_after_the_crawl_is_one_line_and_the_checks_still_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The database refuses the tags (as in two runs tagging the same postings at once):
    one ERROR line with the reason, no traceback unless DEBUG, and the run is still checked
    (its missing locations raise their alert) and the daily stats still updated."""
    from classifier.tagger import Tagger

    Tagger.load()
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(text("create trigger refuse_tags before insert on tags begin select "
                          "raise(abort, 'UNIQUE constraint failed: tags.posting_id'); end"))
    board_data = small_board()
    for posting in board_data["employers"][0]["postings"]:
        posting.pop("location", None)
    caplog.set_level(logging.INFO, logger="hcjobs")
    with DemoBoard(board_data) as board:
        source = entry("plan", board, "0 * * * *")
        run_source(url, json.dumps(source), 60, None)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "plan: tagging failed after the crawl: IntegrityError: (sqlite3.IntegrityError) "
        "UNIQUE constraint failed: tags.posting_id"]
    assert not errors[0].exc_info and errors[0].__dict__["source"] == "plan"
    alerts = [r for r in caplog.records if r.name == "hcjobs.alerts"]
    assert [r.__dict__["check"] for r in alerts] == ["coverage_location"]
    with session_scope(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
        assert run.status == "ok" and run.stats["monitors"]["alerted"] == ["coverage_location"]
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from daily_stats")).scalar()

    caplog.clear()  # at DEBUG the same failure carries its traceback
    caplog.set_level(logging.DEBUG, logger="hcjobs")
    done = after_crawl(engine, [run.id], [{"kind": "log"}], source="plan")
    assert done.failed == ["tagging"]
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.exc_info and "IntegrityError" in caplog.text.split("Traceback")[-1]
    engine.dispose()


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_one_alert_per_problem_and_one_recovery(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[str] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append(envelope.content.decode())
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    hook = HTTPServer(("127.0.0.1", 0), _Webhook)
    _Webhook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    notifiers = [{"kind": "log"},
                 {"kind": "email", "host": "127.0.0.1", "port": port,
                  "from": "hcjobs@example.org", "to": ["ops@example.org"]},
                 {"kind": "webhook", "url": f"http://127.0.0.1:{hook.server_port}/hook"}]
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = open_store(url)
    try:
        with DemoBoard(small_board()) as board:
            source = entry("plan", board, "0 * * * *")
            prefix = f"/v1/boards/{source['board']}/"
            outcomes = []
            for broken in (False, True, True, False):
                board.faults.clear()
                if broken:
                    board.faults[prefix] = "empty"
                result = run_crawl(engine, url, [source], timeout=60)
                (check,) = check_runs(engine, result.run_ids, notifiers)
                outcomes.append(([p.check for p in check.new], check.recovered))
    finally:
        smtp.stop()
        hook.shutdown()
    assert outcomes == [([], []), (["zero_postings"], []), ([], []), ([], ["zero_postings"])]
    assert len(inbox.messages) == 2 and len(_Webhook.received) == 2
    assert "Subject: [hcjobs] plan: zero postings" in inbox.messages[0]
    assert "recovered from zero postings" in inbox.messages[1]
    assert _Webhook.received[0]["source"] == "plan" and "text" in _Webhook.received[0]
    with session_scope(engine) as session:
        last = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert last is not None and last.stats["monitors"]["recovered"] == ["zero_postings"]


def test_unreachable_notifier_does_not_stop_the_others(tmp_path: Path) -> None:
    from pipeline.monitors import Check, Problem, notify

    check = Check("s", 1, [Problem("zero_postings", "none")], [Problem("zero_postings", "none")])
    delivered = notify(check, [{"kind": "webhook", "url": "http://127.0.0.1:9/x", "timeout": 1},
                               {"kind": "log"}])
    assert delivered == 1


def test_status_command_shows_problems(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = open_store(url)
    with DemoBoard(small_board(), faults={"/v1/boards/": "500"}) as board:
        broken = entry("broken", board, "0 * * * *")
        result = run_crawl(engine, url, [broken], timeout=60)
    check_runs(engine, result.run_ids, [{"kind": "log"}])
    sources = write_sources(tmp_path / "sources.toml", [broken])
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "status", "--db", url,
                          "--sources", str(sources)], capture_output=True, text=True,
                         timeout=60, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert "broken" in out.stdout and "HTTP 500" in out.stdout
    assert "1 of 1 sources need attention: broken" in out.stdout



def _board(port: int, out: Path, *more: str) -> str:
    """Run `hcjobs board` until it has said what it did with `out`, then Ctrl-C it; its
    stdout."""
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "board", "--port", str(port),
                             "--sources-out", str(out), *more], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops the board" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
        watchdog.cancel()
    assert proc.returncode == 0, err
    return "".join(lines) + rest


def test_board_command_serves_the_sandbox_and_keeps_an_edited_file(tmp_path: Path) -> None:
    from pipeline.monitors import load_notifiers
    from pipeline.sources import load_sources

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "demo-sources.toml"
    said = _board(port, out)
    assert f"{len(load_board()['employers'])} sources written to {out}" in said
    assert "export HCJOBS_SOURCES=" in said
    entries = load_sources(out)
    assert len(entries) == len(load_board()["employers"])
    assert all(e["schedule"] == "* * * * *" and str(port) in e["base_url"] for e in entries)

    edited = out.read_text() + '\n[[notifier]]\nkind = "webhook"\nurl = "http://hooks.test/x"\n'
    out.write_text(edited)
    said = _board(port, out)
    assert "has your edits" in said and "--force" in said and "Warning" not in said
    assert out.read_text() == edited
    assert {"kind": "webhook", "url": "http://hooks.test/x"} in load_notifiers(out)
