"""Checks after every run, stored with the run, and alerts when a source goes wrong or
recovers: one alert per problem (not one per posting), one recovery notice when it clears.

Alert state is derived from the runs themselves: a problem is new when the source's previous
checked run did not have it, and recovered when this run no longer has it. A run the
operator's stop interrupted is not checked and is passed over (as is a run never checked),
so stopping the scheduler neither pages anyone nor re-alerts or "recovers" an open problem.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import statistics
import tomllib
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Posting, Source

log = logging.getLogger("hcjobs.alerts")

COVERAGE_FLOORS = {"title": 0.95, "description": 0.8, "location": 0.7, "posted_date": 0.7}
HTTP_ERROR_RATE = 0.2
SLOW_FACTOR = 3.0
MIN_SLOW_SECONDS = 30.0
STOPPED = "stopped with the scheduler: not checked, no alert"
"""`monitors.skipped` of a run interrupted by the operator's stop of `hcjobs schedule`."""


@dataclass
class Problem:
    """One thing wrong with a run, named by its check so it can be followed across runs."""

    check: str
    message: str


@dataclass
class Check:
    """Problems of one run, and what changed since the source's previous run."""

    source: str
    run_id: int
    problems: list[Problem] = field(default_factory=list)
    new: list[Problem] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)


def _coverage(session: Any, run: CrawlRun) -> dict[str, float] | None:
    base = (Posting.source_id == run.source_id, Posting.last_seen >= run.started_at)
    total = session.scalar(select(func.count()).select_from(Posting).where(*base)) or 0
    if total < 5:
        return None  # too few postings to judge field coverage
    present = {
        "title": Posting.title != "",
        "description": Posting.text != "",
        "location": Posting.location.is_not(None),
        "posted_date": Posting.posted_at.is_not(None),
    }
    return {name: (session.scalar(select(func.count()).select_from(Posting)
                                  .where(*base, cond)) or 0) / total
            for name, cond in present.items()}


def _http_error_rate(stats: dict[str, Any]) -> tuple[float, int]:
    responses = int(stats.get("downloader/response_count") or 0)
    prefix = "downloader/response_status_count/"
    bad = sum(int(v) for k, v in stats.items() if k.startswith(prefix)
              and (k.endswith(("/403", "/429")) or k[len(prefix):].startswith("5")))
    return (bad / responses if responses else 0.0), responses


def run_problems(session: Any, run: CrawlRun) -> list[Problem]:
    """Everything wrong with one finished run."""
    problems: list[Problem] = []
    if run.status in ("failed", "interrupted"):
        problems.append(Problem("failed", f"run {run.status}: {run.error or 'no reason given'}"))
        return problems
    if run.seen == 0:
        problems.append(Problem("zero_postings", "the source listed no postings"))
    if run.truncated:
        median = (run.stats or {}).get("lifecycle", {}).get("median_seen")
        problems.append(Problem("far_below_median", f"saw {run.seen} postings, recent median "
                                                    f"{median}; nothing was closed"))
    coverage = _coverage(session, run)
    for name, share in (coverage or {}).items():
        if share < COVERAGE_FLOORS[name]:
            problems.append(Problem(f"coverage_{name}", f"{name} present on {share:.0%} of "
                                    f"postings (floor {COVERAGE_FLOORS[name]:.0%})"))
    rate, responses = _http_error_rate(run.stats or {})
    if responses >= 5 and rate > HTTP_ERROR_RATE:
        problems.append(Problem("http_errors", f"{rate:.0%} of {responses} responses were "
                                               "403, 429 or 5xx"))
    if run.finished_at is not None:
        seconds = (run.finished_at - run.started_at).total_seconds()
        usual = [(r.finished_at - r.started_at).total_seconds() for r in session.scalars(
            select(CrawlRun).where(CrawlRun.source_id == run.source_id, CrawlRun.id < run.id,
                                   CrawlRun.status == "ok", CrawlRun.finished_at.is_not(None))
            .order_by(CrawlRun.id.desc()).limit(5)) if r.finished_at]
        if len(usual) >= 3 and seconds > max(MIN_SLOW_SECONDS,
                                             SLOW_FACTOR * statistics.median(usual)):
            problems.append(Problem("slow", f"took {seconds:.0f} s, usually "
                                            f"{statistics.median(usual):.0f} s"))
    return problems


def _checks_of(run: CrawlRun) -> dict[str, Any] | None:
    """The monitors' results stored with a run, or None when it was never checked or was
    skipped (interrupted by the operator's stop): such a run says nothing about alerts."""
    monitors = (run.stats or {}).get("monitors")
    if isinstance(monitors, dict) and "problems" in monitors and not monitors.get("skipped"):
        return monitors
    return None


def last_checked(session: Any, source_id: int, before: int | None = None) -> CrawlRun | None:
    """The source's latest checked run (before run id `before`): the alert state to compare
    with. Read a page at a time, since runs skipped or never checked are passed over."""
    page = 20
    while True:
        query = (select(CrawlRun).where(CrawlRun.source_id == source_id,
                                        CrawlRun.status != "running")
                 .order_by(CrawlRun.id.desc()).limit(page))
        if before is not None:
            query = query.where(CrawlRun.id < before)
        runs = list(session.scalars(query))
        for run in runs:
            if _checks_of(run) is not None:
                return run
        if len(runs) < page:
            return None
        before = runs[-1].id


def open_problems(session: Any, source_id: int, before: int | None = None) -> list[dict[str, str]]:
    """The problems the source has as far as alerts go (those of its latest checked run)."""
    run = last_checked(session, source_id, before)
    monitors = _checks_of(run) if run is not None else None
    return list(monitors["problems"]) if monitors else []


def check_runs(engine: Engine, run_ids: Sequence[int],
               notifiers: Sequence[dict[str, Any]] | None = None, *,
               stopped: bool = False) -> list[Check]:
    """Check finished runs, store the results with each run, and alert on what changed.

    `stopped`: the operator stopped the scheduler while these runs went on. A run that the
    stop interrupted is then only marked skipped (STOPPED): no alert, no recovery, and the
    source's next run is compared with the run before it. A run that ended on its own is
    checked as usual, as is any interrupted run when `stopped` is false (a time limit).
    """
    checks: list[Check] = []
    with session_scope(engine) as session:
        for run_id in run_ids:
            run = session.get(CrawlRun, run_id)
            if run is None or run.status == "running":
                continue
            if stopped and run.status == "interrupted":
                run.stats = {**(run.stats or {}), "monitors": {"skipped": STOPPED}}
                continue
            source = session.get(Source, run.source_id)
            assert source is not None
            check = Check(source.name, run.id, run_problems(session, run))
            before = {p["check"] for p in open_problems(session, run.source_id, run.id)}
            now = {p.check for p in check.problems}
            check.new = [p for p in check.problems if p.check not in before]
            check.recovered = sorted(before - now)
            run.stats = {**(run.stats or {}), "monitors": {
                "problems": [{"check": p.check, "message": p.message} for p in check.problems],
                "alerted": [p.check for p in check.new],
                "recovered": check.recovered}}
            checks.append(check)
    for check in checks:
        notify(check, notifiers or [{"kind": "log"}])
    return checks


def stopped_sources(engine: Engine) -> dict[str, list[str]]:
    """Sources whose latest run the operator's stop interrupted, each with the messages of
    the problems still open: `hcjobs status` shows them as before the stop, not failing."""
    out: dict[str, list[str]] = {}
    with session_scope(engine) as session:
        for source in session.scalars(select(Source)):
            last = session.scalars(select(CrawlRun).where(CrawlRun.source_id == source.id)
                                   .order_by(CrawlRun.id.desc()).limit(1)).first()
            monitors = (last.stats or {}).get("monitors") if last is not None else None
            if last is not None and isinstance(monitors, dict) and \
                    monitors.get("skipped") == STOPPED:
                out[source.name] = [p["message"] for p in
                                    open_problems(session, source.id, last.id)]
    return out


def load_notifiers(path: str | Path | None) -> list[dict[str, Any]]:
    """The `[[notifier]]` tables of a sources file (kind = log | email | webhook); log only
    when there are none or the file cannot be read."""
    if not path:
        return [{"kind": "log"}]
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.error("notifiers not read from %s: %s", path, exc)
        return [{"kind": "log"}]
    notifiers = data.get("notifier") or []
    return notifiers if isinstance(notifiers, list) and notifiers else [{"kind": "log"}]


@dataclass
class Message:
    """One alert (a new problem) or recovery notice, about one check of one run."""

    subject: str
    body: str
    check: str
    recovery: bool


def _messages(check: Check) -> list[Message]:
    out = [Message(f"[hcjobs] {check.source}: {p.check.replace('_', ' ')}",
                   f"Source {check.source}, run {check.run_id}: {p.message}", p.check, False)
           for p in check.new]
    out += [Message(f"[hcjobs] {check.source}: recovered from {name.replace('_', ' ')}",
                    f"Source {check.source} is healthy again (run {check.run_id}): "
                    f"{name} cleared.", name, True)
            for name in check.recovered]
    return out


def notify(check: Check, notifiers: Sequence[dict[str, Any]]) -> int:
    """Send one message per new problem and per recovery to every notifier; a notifier that
    fails is logged and the others still get theirs. Returns messages delivered."""
    delivered = 0
    for message in _messages(check):
        for notifier in notifiers:
            try:
                _send(notifier, message, check)
                delivered += 1
            except Exception as exc:  # an unreachable notifier must not stop the run
                log.error("notifier %s failed: %s", notifier.get("kind"), exc,
                          extra={"source": check.source, "run_id": check.run_id})
    return delivered


def _smtp_password(notifier: dict[str, Any]) -> str:
    """The SMTP password: from the environment variable `password_env` names (kept out of
    the sources file), else `password`."""
    name = notifier.get("password_env")
    if not name:
        return str(notifier.get("password", ""))
    value = os.environ.get(str(name))
    if value is None:
        raise ValueError(f"environment variable {name} (password_env) is not set")
    return value


def _send_email(notifier: dict[str, Any], subject: str, body: str) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = notifier.get("from", "hcjobs@localhost")
    to = notifier.get("to") or []
    message["To"] = ", ".join(to if isinstance(to, list) else [to])
    message.set_content(body)
    implicit_tls = bool(notifier.get("ssl"))
    if implicit_tls and notifier.get("starttls"):
        raise ValueError("set ssl (port 465) or starttls (port 587), not both")
    smtp_class = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP
    port = int(notifier.get("port", 465 if implicit_tls else 25))
    with smtp_class(notifier.get("host", "localhost"), port,
                    timeout=float(notifier.get("timeout", 10))) as smtp:
        if notifier.get("starttls"):
            smtp.starttls()
        if notifier.get("user"):
            smtp.login(notifier["user"], _smtp_password(notifier))
        smtp.send_message(message)


def _send(notifier: dict[str, Any], message: Message, check: Check) -> None:
    kind = notifier.get("kind", "log")
    if kind == "log":  # a recovery is good news: INFO; a new problem: WARNING
        log.log(logging.INFO if message.recovery else logging.WARNING, "%s - %s",
                message.subject, message.body,
                extra={"source": check.source, "run_id": check.run_id, "check": message.check})
    elif kind == "email":
        _send_email(notifier, message.subject, message.body)
    elif kind == "webhook":
        payload = {"text": f"{message.subject}\n{message.body}", "source": check.source,
                   "run": check.run_id}
        request = urllib.request.Request(
            notifier["url"], data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=float(notifier.get("timeout", 10))):
            pass
    else:
        raise ValueError(f"unknown notifier kind {kind!r} (log, email, webhook)")
