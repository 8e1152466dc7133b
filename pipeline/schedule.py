"""`hcjobs schedule`: unattended crawls on each source's cron schedule.

APScheduler 3 with its job store in the store's own database, one job per enabled source,
kept in step with the sources file. One scheduler per database (a lock file beside a SQLite
database, an advisory lock on PostgreSQL). Each run crawls in its own process with a time
limit, then tags, checks the run and alerts (see pipeline.monitors).

Stopping (SIGTERM, Ctrl-C): no crawl starts after the stop is requested (a run that was due
but not yet started is skipped, recording nothing: it runs at its next scheduled time, as
after any downtime); crawls under way are stopped and recorded as interrupted, without an
alert; the process exits as soon as they are recorded.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection, make_url

log = logging.getLogger("hcjobs.schedule")

JOB_PREFIX = "source:"
ADVISORY_KEY = 0x68636A6F6273  # "hcjobs"
DEFAULT_MISFIRE_GRACE = 15 * 60
DEFAULT_RUN_TIMEOUT = 3600.0
DEFAULT_WORKERS = 4
STOP_DEADLINE = 90.0
"""Seconds a stop waits for running crawls to be recorded (a crawl process gets 30 s to
stop before it is killed, then its run is recorded by this process)."""

# Whether a stop is under way (set from the stop request until every job has returned), and
# the scheduled runs under way. Module state, because APScheduler calls run_source by
# reference from its job store: nothing else reaches it.
_stopping = threading.Event()
_state_lock = threading.Lock()
_in_flight: list[str] = []


class SchedulerLocked(RuntimeError):
    """Another scheduler already runs against this database."""


def cron_trigger(expr: str, timezone: str = "UTC") -> Any:
    """A cron trigger from 5 fields (minute ... weekday) or 6 (second first, for tests and
    sub-minute schedules)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekday, timezone=timezone)
    return CronTrigger.from_crontab(expr, timezone=timezone)


@dataclass
class Lock:
    """The one-scheduler-per-database lock; release() on shutdown."""

    release: Callable[[], None]
    where: str


def acquire_lock(engine: Engine, db_url: str) -> Lock:
    """Take the scheduler lock for this database or raise SchedulerLocked.

    SQLite: an flock on `<db>.scheduler.lock` (the database is a local file, so is its lock;
    the OS drops it if the process dies). PostgreSQL: a session advisory lock held on a
    dedicated connection, which works across machines and is dropped with the connection.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(f"{url.database or 'jobs.db'}.scheduler.lock").resolve()
        fh = open(path, "a+")  # noqa: SIM115  (held open for the scheduler's life)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise SchedulerLocked(f"a scheduler is already running for {url.database} "
                                  f"({holder}; lock file {path})") from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {os.uname().nodename}")
        fh.flush()

        def release_file() -> None:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

        return Lock(release_file, str(path))
    conn: Connection = engine.connect()
    got = conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
    conn.commit()
    if not got:
        conn.close()
        raise SchedulerLocked(f"a scheduler is already running for {url.render_as_string()} "
                              f"(PostgreSQL advisory lock {ADVISORY_KEY} is held)")

    def release_pg() -> None:
        try:
            conn.execute(text("select pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()
        finally:
            conn.close()

    return Lock(release_pg, f"advisory lock {ADVISORY_KEY}")


def one_line(exc: BaseException) -> str:
    """An exception as one line for the log: its type and the first line of its message
    (SQLAlchemy's go on with the statement, its parameters and a link)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


@dataclass
class AfterCrawl:
    """What the steps after a crawl did: postings tagged, and the steps that failed."""

    tagged: int = 0
    failed: list[str] = field(default_factory=list)


def after_crawl(engine: Engine, run_ids: list[int], notifiers: list[dict[str, Any]], *,
                source: str | None = None, stopped: bool = False) -> AfterCrawl:
    """Expire, tag, update the daily stats, merge the search index (a bounded share: see
    web.search.merge_search_index) and check the runs, each step on its own.

    One step's failure (tagging racing another run's over the same postings, say) is
    logged in one line with its reason (the traceback at DEBUG) and the later steps still
    run, so the runs are always checked and alerted on. After the operator's stop
    (`stopped`) only the checks run: the next run catches up on the rest (every step works
    on the whole store), and the scheduler exits without waiting for them.
    """
    from classifier.tagger import Tagger
    from pipeline.lifecycle import expire_postings
    from pipeline.monitors import check_runs
    from pipeline.stats import update_daily_stats
    from pipeline.tagging import tag_pending
    from web.search import merge_search_index

    done = AfterCrawl()

    def tag() -> None:
        done.tagged = tag_pending(engine, Tagger.load())

    steps: list[tuple[str, Callable[[], object]]] = [] if stopped else [
        ("expiring postings", lambda: expire_postings(engine)),
        ("tagging", tag),
        ("daily stats", lambda: update_daily_stats(engine)),
        ("search index", lambda: merge_search_index(engine)),
    ]
    steps.append(("checking runs",
                  lambda: check_runs(engine, run_ids, notifiers, stopped=stopped)))
    extra: dict[str, Any] = {"source": source} if source else {}
    if len(run_ids) == 1:
        extra["run_id"] = run_ids[0]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # the next step is independent of this one
            done.failed.append(name)
            log.error("%s: %s failed after the crawl: %s", source or "crawl", name,
                      one_line(exc), exc_info=log.isEnabledFor(logging.DEBUG), extra=extra)
    return done


def run_source(db_url: str, entry_json: str, timeout: float = DEFAULT_RUN_TIMEOUT,
               sources_path: str | None = None) -> None:
    """One scheduled run of one source: crawl (own process, time limit), then after_crawl.
    Once the scheduler is stopping it returns at once, starting nothing.

    A module-level function named by reference, so the persistent job store can find it.
    """
    from pipeline.crawl import run_crawl
    from pipeline.db import open_store
    from pipeline.monitors import load_notifiers

    entry = json.loads(entry_json)
    name = str(entry.get("name"))
    with _state_lock:  # after the stop is requested no run registers, so none starts
        if _stopping.is_set():
            log.info("%s: not started, the scheduler is stopping", name, extra={"source": name})
            return
        _in_flight.append(name)
    try:
        engine = open_store(db_url, upgrade=False)
        try:
            # echo_log: the crawl's own records (text or JSON lines) join the scheduler's log
            result = run_crawl(engine, db_url, [entry], timeout=timeout, echo_log=True)
            after_crawl(engine, result.run_ids, load_notifiers(sources_path), source=name,
                        stopped=_stopping.is_set())
        finally:
            engine.dispose()
    except Exception as exc:  # one source's trouble is logged; the scheduler goes on
        log.error("%s: scheduled run failed: %s", name, one_line(exc),
                  exc_info=log.isEnabledFor(logging.DEBUG), extra={"source": name})
    finally:
        with _state_lock:
            _in_flight.remove(name)


def _running() -> list[str]:
    with _state_lock:
        return list(_in_flight)


def job_id(name: str) -> str:
    return f"{JOB_PREFIX}{name}"


def sync_jobs(scheduler: Any, entries: list[dict[str, Any]], db_url: str,
              timeout: float = DEFAULT_RUN_TIMEOUT,
              sources_path: str | None = None) -> dict[str, list[str]]:
    """Make the scheduler's jobs match the enabled entries: add new ones, update edited ones,
    remove the rest. Stable job ids mean a restart never duplicates a job."""
    wanted = {job_id(e["name"]): e for e in entries if e.get("enabled", True)
              and e.get("schedule")}
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
    changes: dict[str, list[str]] = {"added": [], "updated": [], "removed": []}
    for jid in existing:
        if jid not in wanted:
            scheduler.remove_job(jid)
            changes["removed"].append(jid.removeprefix(JOB_PREFIX))
    for jid, entry in wanted.items():
        clean = {k: v for k, v in entry.items() if k != "line"}
        args = [db_url, json.dumps(clean, sort_keys=True), timeout, sources_path]
        job = existing.get(jid)
        if job is not None and list(job.args) == args and \
                str(job.trigger) == str(cron_trigger(entry["schedule"])):
            continue
        scheduler.add_job("pipeline.schedule:run_source", trigger=cron_trigger(entry["schedule"]),
                          id=jid, name=entry["name"], args=args, replace_existing=True)
        changes["updated" if job is not None else "added"].append(entry["name"])
    return changes


def build_scheduler(db_url: str, *, workers: int = DEFAULT_WORKERS,
                    misfire_grace: int = DEFAULT_MISFIRE_GRACE) -> Any:
    """A background scheduler whose jobs live in the store's database.

    coalesce: runs missed while down run once, not N times; max_instances=1: a source never
    overlaps itself; a worker pool: sources never wait on each other; a misfire grace time in
    minutes rather than APScheduler's one second.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=db_url, tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace},
        timezone="UTC",
    )


def _next_run(scheduler: Any) -> str:
    """The soonest job's next run time and source, for the startup line."""
    due = sorted((job.next_run_time, job.name) for job in scheduler.get_jobs()
                 if job.id.startswith(JOB_PREFIX) and job.next_run_time is not None)
    if not due:
        return "none"
    when, name = due[0]
    return f"{when.strftime('%Y-%m-%d %H:%M:%S %Z')} ({name})"


def run_scheduler(db_url: str, sources_path: str | None, *, poll: float = 5.0,
                  workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_RUN_TIMEOUT,
                  misfire_grace: int = DEFAULT_MISFIRE_GRACE,
                  stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop`): hold the lock, keep jobs in step with the sources
    file (checked every `poll` seconds), stop crawls cleanly on the way out."""
    from pipeline.db import open_store
    from pipeline.sources import SourceError, default_sources_path, load_sources

    engine = open_store(db_url)
    lock = acquire_lock(engine, db_url)
    with _state_lock:
        _stopping.clear()
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    scheduler = build_scheduler(db_url, workers=workers, misfire_grace=misfire_grace)
    path = Path(sources_path) if sources_path else default_sources_path()
    mtime = -1.0
    try:
        scheduler.start(paused=True)
        while not stop.is_set():
            current = path.stat().st_mtime if path.exists() else -1.0
            if current != mtime:
                mtime = current
                try:
                    changes = sync_jobs(scheduler, load_sources(path), db_url, timeout,
                                        str(path))
                    if any(changes.values()):
                        log.info("sources file %s: %s", path, json.dumps(changes))
                except SourceError as exc:  # keep the jobs we have; say what is wrong
                    log.error("sources file not applied: %s", exc)
                if scheduler.state == 2:  # STATE_PAUSED: start after the first sync
                    scheduler.resume()
                    jobs = sum(1 for job in scheduler.get_jobs()
                               if job.id.startswith(JOB_PREFIX))
                    log.info("scheduler started: database %s, sources file %s, %d jobs, "
                             "next run %s", make_url(db_url).render_as_string(), path, jobs,
                             _next_run(scheduler))
            stop.wait(poll)
    finally:
        try:
            if scheduler.running:  # not when it failed to start
                _shutdown(scheduler)
        finally:
            lock.release()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            engine.dispose()
    return 0


def _shutdown(scheduler: Any) -> None:
    """Stop: no new crawl, running ones stopped and recorded as interrupted (no alert), then
    return once every run under way has been recorded."""
    from pipeline.crawl import stop_active_crawls

    with _state_lock:
        _stopping.set()
    scheduler.pause()  # nothing more is submitted; queued jobs return at once (run_source)
    running = _running()
    log.info("scheduler stopping: %s; no new crawl starts",
             f"interrupting the crawl of {', '.join(running)}" if running else "no crawl running")
    deadline = time.monotonic() + STOP_DEADLINE
    while _running() and time.monotonic() < deadline:
        stop_active_crawls()  # again each time: a run may have been starting its process
        time.sleep(0.1)
    left = _running()
    scheduler.shutdown(wait=not left)  # the queued jobs' turn: each returns at once
    if left:
        log.warning("scheduler stopped with runs still under way after %.0f s: %s",
                    STOP_DEADLINE, ", ".join(left))
        return
    with _state_lock:  # every job has returned: a later scheduler of this process may start
        _stopping.clear()
    log.info("scheduler stopped")
