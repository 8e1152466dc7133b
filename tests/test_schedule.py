"""The scheduler and its alerts, for real: APScheduler with its job store in the database,
crawls in their own processes against local boards, a real SMTP server and webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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
from pipeline.monitors import check_runs
from pipeline.schedule import (
    SchedulerLocked,
    acquire_lock,
    build_scheduler,
    run_scheduler,
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


def test_second_scheduler_refused_and_sigterm_leaves_runs_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with DemoBoard(small_board(), latency=3.0) as slow:
        sources = write_sources(tmp_path / "sources.toml", [entry("slow", slow, "* * * * * *")])
        cmd = [sys.executable, "-m", "pipeline.cli", "schedule", "--db", url, "--sources",
               str(sources), "--poll", "0.5"]
        first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
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
            first.send_signal(signal.SIGTERM)
            out, err = first.communicate(timeout=90)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode == 0, err
    runs = runs_by_source(url)["slow"]
    assert runs and all(r.status in ("ok", "interrupted") for r in runs)
    assert runs[-1].finished_at is not None
    engine = open_store(url, upgrade=False)
    with engine.connect() as conn:
        assert conn.execute(text("pragma integrity_check")).scalar() == "ok"


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
        result = run_crawl(engine, url, [entry("broken", board, "0 * * * *")], timeout=60)
    check_runs(engine, result.run_ids, [{"kind": "log"}])
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "status", "--db", url],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert "broken" in out.stdout and "HTTP 500" in out.stdout
    assert "1 of 1 sources need attention: broken" in out.stdout



def test_board_command_serves_the_sandbox(tmp_path: Path) -> None:
    import urllib.request

    from pipeline.sources import load_sources

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "demo-sources.toml"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "board", "--port", str(port),
                             "--sources-out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        entries = load_sources(out)
        assert len(entries) == len(load_board()["employers"])
        assert all(e["schedule"] == "* * * * *" and str(port) in e["base_url"] for e in entries)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
