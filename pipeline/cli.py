"""The `hcjobs` command line: one subcommand per job, each a thin layer over the pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from pipeline.logs import FORMAT_ENV, FORMATS, setup_logging

if TYPE_CHECKING:
    from pipeline.demo.board import SavedSources

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
BOARD_PORT = 8765
PAST_DUE = 90.0
"""Seconds a job's next run may lie in the past before `status` says no scheduler runs."""
LOG_FORMAT_HELP = (f"logs on stderr as text or JSON lines, for this command and the crawl "
                   f"processes it starts (default: ${FORMAT_ENV} or text)")
log = logging.getLogger("hcjobs.cli")


def _db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help="database URL (default: $HCJOBS_DATABASE_URL or sqlite:///jobs.db)")


def _sources_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", metavar="PATH", default=None,
                        help="sources TOML file (default: $HCJOBS_SOURCES or the bundled one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hcjobs",
        description="Collect healthcare job postings, tag them (coding / administration / "
                    "other, remote, credentials) and keep a clean history.")
    parser.add_argument("--log-format", choices=FORMATS, default=None,
                        help=LOG_FORMAT_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="crawl the bundled demo board offline, tag, store, summarize",
                       description="Start the bundled demo job board on localhost, crawl it "
                                   "with the real spiders, tag every posting, store it and "
                                   "print a summary. Fully offline: needs no network.")
    _db_options(p)
    p.add_argument("--months", type=int, default=0, metavar="N",
                   help="replay N months of history (postings appear, change and close; "
                        "each month crawled with its own clock) for analysts")

    p = sub.add_parser("board", help="serve the demo board and write a sources file for it",
                       description="Serve the bundled demo job board on localhost until "
                                   "Ctrl-C, and write a sources file whose entries crawl it on "
                                   "a schedule: a sandbox for `hcjobs schedule`.")
    p.add_argument("--port", type=int, default=BOARD_PORT,
                   help=f"port to serve on (default {BOARD_PORT}: the same every time, so the "
                        "sources file written once stays valid)")
    p.add_argument("--sources-out", type=Path, default=Path("demo-sources.toml"),
                   help="sources file to write (default demo-sources.toml); an existing one "
                        "with your edits is kept")
    p.add_argument("--schedule", default="* * * * *", help="cron for every entry (default: "
                                                            "every minute)")
    p.add_argument("--force", action="store_true",
                   help="overwrite --sources-out even when it has your edits")

    p = sub.add_parser("crawl", help="run sources once (all enabled ones, or --source NAME)",
                       description="Crawl sources now, store what they list, tag new and "
                                   "changed postings. Exit 1 when a source failed.")
    _db_options(p)
    _sources_option(p)
    p.add_argument("--source", action="append", metavar="NAME",
                   help="crawl only this source (repeatable)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds before the crawl stops")
    p.add_argument("--log-level", default="WARNING", help="Scrapy log level")

    p = sub.add_parser("schedule", help="run every enabled source on its cron schedule",
                       description="Start the scheduler: one job per enabled source, kept in "
                                   "step with the sources file; one scheduler per database; "
                                   "SIGTERM or Ctrl-C stops it cleanly.")
    _db_options(p)
    _sources_option(p)
    p.add_argument("--workers", type=int, default=4, help="sources crawled at the same time")
    p.add_argument("--timeout", type=float, default=3600, help="seconds one run may take")
    p.add_argument("--misfire-grace", type=int, default=900,
                   help="seconds late a run may still start (missed runs run once)")
    p.add_argument("--poll", type=float, default=5.0,
                   help="seconds between checks of the sources file for changes")
    p.add_argument("--log-level", default="INFO",
                   help="level of the scheduler's own messages (default INFO: start, sources "
                        "file changes, stop, alerts; DEBUG adds tracebacks); the crawls' "
                        "Scrapy messages stay at WARNING")

    p = sub.add_parser("status", help="what is going on: next runs, failures, open postings",
                       description="Per source of the sources file (and any other with "
                                   "runs): next scheduled run, last run, last success, "
                                   "current problems; then open postings by category.")
    _db_options(p)
    _sources_option(p)

    p = sub.add_parser("runs", help="crawl history: status, counts and errors per run",
                       description="List recent crawl runs, newest first.")
    _db_options(p)
    p.add_argument("--source", metavar="NAME", help="only runs of this source")
    p.add_argument("--status", choices=["running", "ok", "failed", "interrupted"])
    p.add_argument("--limit", type=int, default=20)

    p = sub.add_parser("classify", help="tag postings from a JSONL file (no database)",
                       description='Input lines: {"id", "title", "text", "company"?, '
                                   '"location"?, "html"?}. Output lines: id, category, '
                                   "category_scores, remote, remote_evidence, remote_states, "
                                   "credentials, model_version.")
    p.add_argument("--input", required=True, help="input JSONL file ('-' for stdin)")
    p.add_argument("--output", required=True, help="output JSONL file ('-' for stdout)")

    p = sub.add_parser("export", help="write postings.jsonl, jsonld.jsonl and stats.json",
                       description="Export one summary per canonical posting (postings.jsonl), "
                                   "its schema.org JobPosting enriched with our tags "
                                   "(jsonld.jsonl, one per line, same order), and the store's "
                                   "counts with the daily stats, brought up to date first "
                                   "(stats.json). --format parquet writes the analysts' "
                                   "tables instead (postings.parquet, credentials.parquet).")
    _db_options(p)
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl",
                   help="jsonl: the site's files (default); parquet: the analysts' tables")

    p = sub.add_parser("serve", help="the web API and pages for job seekers (read-only)",
                       description="Serve the JSON API (/api/postings, /api/facets, /api/stats; "
                                   "OpenAPI at /openapi.json), Atom feeds (/feeds/postings.atom) "
                                   "and the browse pages over the store, read-only.")
    _db_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--cors-origin", action="append", default=None, metavar="ORIGIN",
                   help="allow browser calls from this origin (repeatable; default none, "
                        "or $HCJOBS_CORS_ORIGINS)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1; about one per core serves the most)")

    p = sub.add_parser("report", help="trend charts (PNG), tables (CSV) and an HTML page",
                       description="Remote share by month for coding vs administration, "
                                   "credential prevalence required / preferred, pay by "
                                   "credential and remote status, top employers, new vs "
                                   "closed postings; written into --out.")
    _db_options(p)
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--basis", choices=["new", "active"], default="new",
                   help="monthly shares over postings first seen (new) or open (active)")

    p = sub.add_parser("train", help="train the category model on the project's corpus",
                       description="Fit the category model, save it (skops) with metrics.json.")
    p.add_argument("--out", type=Path, default=None, help="folder (default: the model cache)")

    p = sub.add_parser("evaluate", help="measure the tagger on labeled postings",
                       description="Accuracy and credential precision/recall on a labeled "
                                   "JSONL file (labels as in docs/labeling-guide.md).")
    p.add_argument("--data", required=True, action="append", metavar="FILE[+FILE]",
                   help="labeled JSONL; repeat for several sets, join files of one set with +")
    p.add_argument("--errors", type=int, default=0, help="print this many misclassified rows")
    p.add_argument("--card", type=Path, default=None,
                   help="model card to write (default: model-card.md beside the model)")

    p = sub.add_parser("retag", help="tag every stored posting again with the current model")
    _db_options(p)

    p = sub.add_parser("sources", help="list, check, enable or disable the configured sources",
                       description="list (the default): check the sources file and list its "
                                   "entries. check: make each source's first request (robots.txt "
                                   "obeyed, short timeout) and report whether it answers and how "
                                   "many postings it lists; exit 1 when one does not. enable / "
                                   "disable NAME...: set the entries' `enabled` in the sources "
                                   "file itself (comments and the rest kept as they are); a "
                                   "running `hcjobs schedule` follows the file.")
    p.add_argument("action", nargs="?", choices=["list", "check", "enable", "disable"],
                   default="list")
    p.add_argument("names", nargs="*", metavar="NAME", help="sources to act on")
    _sources_option(p)
    p.add_argument("--source", action="append", metavar="NAME",
                   help="only this source (repeatable)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for each answer (check)")
    for command in sub.choices.values():  # accepted after the command too; set once
        command.add_argument("--log-format", choices=FORMATS, default=argparse.SUPPRESS,
                             help=LOG_FORMAT_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # hcjobs' own INFO records (scheduler events, recovery notices) are for the operator
        # of schedule and crawl; libraries stay at WARNING
        setup_logging(args.log_format, own_level=args.log_level if args.command == "schedule"
                      else "INFO" if args.command == "crawl" else None)
    except ValueError as exc:  # a bad $HCJOBS_LOG_FORMAT or `schedule --log-level`
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handler = COMMANDS[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _existing_store(args: argparse.Namespace, hint: str) -> Any:
    """The store for a command that only reads it, or None (with `hint` said) when there is
    none yet: reading commands never create an empty database."""
    from pipeline.db import has_schema, make_engine

    engine = make_engine(args.db)
    if not has_schema(engine):
        print(f"no store yet: run {hint} first", file=sys.stderr)
        return None
    return engine


def _store(args: argparse.Namespace) -> tuple[Any, str]:
    from pipeline.db import open_store, resolve_url

    url = resolve_url(args.db)
    return open_store(url), url


def cmd_demo(args: argparse.Namespace) -> int:
    from classifier.tagger import Tagger
    from pipeline.crawl import run_crawl
    from pipeline.demo.board import DemoBoard, demo_sources
    from pipeline.stats import update_daily_stats
    from pipeline.tagging import tag_pending

    started = time.monotonic()
    engine, url = _store(args)
    if args.months:
        from pipeline.demo.history import replay

        print(f"Replaying {args.months} months of the demo board, one crawl a month:")
        run_ids = replay(engine, url, args.months, progress=lambda line: print("  " + line))
        tagged = tag_pending(engine, Tagger.load())
        print(f"{len(run_ids)} runs over {args.months} months in "
              f"{time.monotonic() - started:.1f} s.\n")
        _print_summary(engine)
        print(f"\nStored in {url}. Look further:\n"
              "  hcjobs report --out report/   trend charts and tables\n"
              "  hcjobs export --format parquet --out export/")
        return EXIT_OK
    with DemoBoard() as board:
        entries = demo_sources(board.board, board.url)
        print(f"Demo board serving {sum(len(e['postings']) for e in board.board['employers'])} "
              f"postings of {len(entries)} employers at {board.url}")
        with CrawlProgress() as progress:
            result = run_crawl(engine, url, entries, timeout=600, progress=progress)
    tagged = tag_pending(engine, Tagger.load())
    update_daily_stats(engine)
    _print_runs(engine, result.run_ids)
    print(f"Tagged {tagged} new or changed postings in {time.monotonic() - started:.1f} s.\n")
    _print_summary(engine)
    print(f"\nStored in {url}. Look further:\n"
          "  hcjobs serve                 browse and filter them at http://127.0.0.1:8000\n"
          "  hcjobs runs                  crawl history with counts and errors\n"
          "  hcjobs export --out export/  postings.jsonl + stats.json\n"
          "  hcjobs classify --input IN.jsonl --output OUT.jsonl")
    return EXIT_OK if all(r.status == "ok" for _, r in _runs_of(engine, result.run_ids)) \
        else EXIT_FAILED


def _runs_of(engine: Any, run_ids: list[int]) -> list[Any]:
    from pipeline.crawl import run_rows

    return run_rows(engine, run_ids)


def _print_runs(engine: Any, run_ids: list[int]) -> None:
    rows = _runs_of(engine, run_ids)
    head = (f"{'source':<28} {'status':<11} {'seen':>5} {'new':>5} {'chg':>5} {'closed':>6} "
            f"{'drop':>5}  ")
    print(head + "summary / errors")
    width = _note_width(len(head))
    for name, run in rows:
        print(f"{name:<28} {_status(run):<11} {run.seen:>5} {run.new:>5} {run.changed:>5} "
              f"{run.closed:>6} {run.dropped:>5}  {_clip(run_note(run), width)}")


def _status(run: Any) -> str:
    return f"{run.status}*" if run.truncated else run.status


def run_note(run: Any) -> str:
    """What an operator reads first about a run: why it failed (its errors and the monitors'
    problems), else what it did (requests, responses by status, postings, duration)."""
    from pipeline.crawlstate import summary_line

    monitors = (run.stats or {}).get("monitors") or {}
    problems = [p.get("message", p.get("check", "")) for p in monitors.get("problems", [])]
    reasons = [run.error] if run.error else []
    reasons += [p for p in problems if p and not (run.error and run.error in p)]  # said once
    if monitors.get("skipped"):  # interrupted by the operator's stop: say why no alert
        reasons.append(str(monitors["skipped"]))
    note = "; ".join(reasons) or summary_line(run.stats)
    return note or ("no reason recorded" if run.status in ("failed", "interrupted") else "")


def _note_width(used: int) -> int | None:
    """Room left for the summary / errors column on a terminal; None (whole notes, for grep
    and log files) when stdout is not one."""
    if not sys.stdout.isatty():
        return None
    return max(40, shutil.get_terminal_size().columns - used)


def _clip(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


class CrawlProgress:
    """Per-source progress of a manual crawl, fed by run_crawl's `progress` callback.

    On a terminal: a live table (rich) of each source's status, postings seen / new /
    changed so far and time, gone when the crawl ends (the final table follows). Elsewhere
    (cron, CI, a pipe): plain lines, one when a source starts or ends and one per source
    every `every` seconds while its counts move, since a redrawn display is noise in a log.
    """

    STYLES = {"running": "yellow", "ok": "green", "failed": "red", "interrupted": "magenta"}

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.started = time.monotonic()
        self.said: dict[int, tuple[str, int, float]] = {}  # run id: status, seen, when printed
        self.live: Any = None

    def __enter__(self) -> CrawlProgress:
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.live import Live

            # soft_wrap: log lines shown above the table keep their own line breaks (JSON
            # lines stay one per line); stderr is only drawn through the display when it is
            # the same terminal, never when it goes to a file
            self.live = Live(console=Console(soft_wrap=True), transient=True,
                             refresh_per_second=4, redirect_stderr=sys.stderr.isatty())
            self.live.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, rows: list[tuple[str, Any]]) -> None:
        if self.live is not None:
            self.live.update(self._table(rows))
            return
        now = time.monotonic()
        for name, run in rows:
            status, seen, when = self.said.get(run.id, ("", -1, 0.0))
            moved = run.status == "running" and run.seen != seen and now - when >= self.every
            if run.status != status or moved:
                self.said[run.id] = (run.status, run.seen, now)
                print(f"{name}: {run.status}, {run.seen} seen, {run.new} new, "
                      f"{run.changed} changed, {self._seconds(run):.0f} s", flush=True)

    def _seconds(self, run: Any) -> float:
        if run.finished_at is not None:
            return float((run.finished_at - run.started_at).total_seconds())
        return time.monotonic() - self.started

    def _table(self, rows: list[tuple[str, Any]]) -> Any:
        from rich.table import Table
        from rich.text import Text

        done = sum(1 for _, run in rows if run.status != "running")
        table = Table(title=f"crawling: {done} of {len(rows)} sources done, "
                            f"{time.monotonic() - self.started:.0f} s", title_justify="left")
        table.add_column("source")
        table.add_column("status")
        for column in ("seen", "new", "changed", "secs"):
            table.add_column(column, justify="right")
        for name, run in rows:
            table.add_row(Text(name), Text(run.status, style=self.STYLES.get(run.status, "")),
                          str(run.seen), str(run.new), str(run.changed),
                          f"{self._seconds(run):.0f}")
        return table


def _print_summary(engine: Any) -> None:
    from pipeline.summary import store_stats

    stats = store_stats(engine)
    p = stats["postings"]
    print(f"Postings: {p['open']} open, {p['duplicates']} duplicates collapsed, "
          f"{p['total']} stored.")
    print(f"\n{'category':<16}{'remote':>8}{'hybrid':>8}{'onsite':>8}{'total':>8}")
    for cat, row in stats["category_by_remote"].items():
        print(f"{cat:<16}{row['remote']:>8}{row['hybrid']:>8}{row['onsite']:>8}"
              f"{sum(row.values()):>8}")
    print(f"\n{'credential':<12}{'required':>10}{'preferred':>11}")
    for code, n in list(stats["credentials"].items())[:12]:
        print(f"{code:<12}{n['required']:>10}{n['preferred']:>11}")


def cmd_board(args: argparse.Namespace) -> int:
    from pipeline.demo.board import DemoBoard, save_sandbox_sources

    board = DemoBoard(port=args.port)
    try:
        board.start()
    except OSError as exc:
        print(f"error: cannot serve the demo board on port {args.port}: "
              f"{exc.strerror or exc} (another `hcjobs board` running? --port N)",
              file=sys.stderr)
        return EXIT_USAGE
    out = args.sources_out
    try:
        saved = save_sandbox_sources(out, board.board, board.url, args.schedule,
                                     force=args.force)
        print(f"Demo board at {board.url}. {_saved_message(saved, out, board.url)}\n"
              "In other terminals (each command of the walk-through reads this file):\n"
              f"  export HCJOBS_SOURCES={out}\n"
              "  hcjobs schedule                # crawls each source on its schedule\n"
              "  hcjobs runs; hcjobs status     # watch them fill in\n"
              "Break a source by changing its `board` (greenhouse) or `base_url` (jsonld) in "
              "that file, or stop this board; undo it to see the recovery. Ctrl-C stops the "
              "board.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    return EXIT_OK


def _saved_message(saved: SavedSources, path: Path, url: str) -> str:
    """What `hcjobs board` did with an existing sources file, and what to do about it."""
    if saved.outcome == "written":
        return f"{saved.sources} sources written to {path}."
    if saved.outcome == "unchanged":
        return f"{path} already lists its {saved.sources} sources: left as it is."
    if saved.outcome == "updated":
        return (f"{path} was as an earlier `hcjobs board` wrote it, for another port or "
                f"schedule: rewritten for {url}.")
    note = "" if saved.points_here else (
        f"\nWarning: its sources do not point at this board ({url}): they will fail until "
        "their base_url says this address, or the board runs on their port again.")
    return (f"{path} has your edits (it differs from the board's sources): kept as it is; "
            f"`--force` overwrites it with the board's {saved.sources} sources.{note}")


def cmd_crawl(args: argparse.Namespace) -> int:
    from pipeline.crawl import run_crawl
    from pipeline.monitors import load_notifiers
    from pipeline.schedule import after_crawl
    from pipeline.sources import SourceError, default_sources_path, load_sources, select_sources

    file = args.sources or default_sources_path()
    try:
        entries = select_sources(load_sources(file), args.source, file)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not entries:
        print("no enabled sources to crawl", file=sys.stderr)
        return EXIT_OK
    engine, url = _store(args)
    with CrawlProgress() as progress:
        result = run_crawl(engine, url, entries, timeout=args.timeout, log_level=args.log_level,
                           echo_log=True, progress=progress)
    done = after_crawl(engine, result.run_ids, load_notifiers(file))
    _print_runs(engine, result.run_ids)
    print(f"Tagged {done.tagged} new or changed postings.")
    if result.exit_code != 0:  # its own log lines were passed on above
        log.error("crawl process ended with status %s", result.exit_code)
    ok = all(r.status == "ok" for _, r in _runs_of(engine, result.run_ids))
    return EXIT_OK if ok and not done.failed else EXIT_FAILED


def cmd_schedule(args: argparse.Namespace) -> int:
    from pipeline.db import resolve_url
    from pipeline.schedule import SchedulerLocked, run_scheduler
    from pipeline.sources import SourceError, load_sources

    try:
        load_sources(args.sources)  # a broken file is an error at start, not a silent skip
        return run_scheduler(resolve_url(args.db), args.sources, poll=args.poll,
                             workers=args.workers, timeout=args.timeout,
                             misfire_grace=args.misfire_grace)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SchedulerLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.db import has_schema, make_engine
    from pipeline.sources import SourceError, default_sources_path, load_sources
    from pipeline.summary import store_stats

    file = args.sources or default_sources_path()
    entries: dict[str, dict[str, Any]] | None
    try:
        entries = {e["name"]: e for e in load_sources(file)}
    except SourceError as exc:  # still show what the store knows
        print(f"warning: sources file not read: {exc}", file=sys.stderr)
        entries = None
    engine = make_engine(args.db)
    store = has_schema(engine)
    if not store and not entries:
        print("no store yet: start `hcjobs schedule` or run `hcjobs crawl` first",
              file=sys.stderr)
        return EXIT_FAILED
    rows = _status_rows(engine if store else None, entries)
    print(f"{'source':<28} {'next run (UTC)':<17} {'last run':<12} {'last success (UTC)':<18} "
          "problems")
    for row in rows:
        print(f"{row['source']:<28} {row['next_run']:<17} {row['last_status'] or '-':<12} "
              f"{row['last_success'] or '-':<18} {'; '.join(row['problems']) or '-'}")
    if any(row["next_run"].startswith("~") for row in rows):
        print("~ from its cron expression: no scheduler has a job for it yet "
              "(`hcjobs schedule` adds one)")
    if any(row["next_run"].endswith("!") for row in rows):
        print("! past due: no scheduler is running on this database (`hcjobs schedule`)")
    watched = [r for r in rows if r["watched"]]
    failing = [r["source"] for r in watched if r["problems"]]
    print(f"\n{len(failing)} of {len(watched)} sources need attention"
          + (f": {', '.join(failing)}" if failing else "."))
    if not store:
        print(f"no runs yet: the store ({engine.url.render_as_string()}) is created by "
              "`hcjobs schedule` or `hcjobs crawl`")
        return EXIT_OK
    stats = store_stats(engine)
    print("open postings by category: " + ", ".join(
        f"{c} {n}" for c, n in stats["by_category"].items()) + f" (total "
          f"{stats['postings']['open']})")
    return EXIT_OK


def _status_rows(engine: Any, entries: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One row per source of the sources file and per source with runs, by name.

    next_run: from the scheduler's job store (! when past), else (~) from the entry's
    cron, "disabled", or "not in file" for a source that has runs but no entry. `watched`:
    an enabled entry (any source when the file could not be read), whose problems need
    attention. A source whose last run the operator's stop interrupted shows the problems
    it had before.
    """
    from pipeline.monitors import stopped_sources
    from pipeline.opstatus import _next_runs, source_status  # job store: sources not run yet

    known = {r["source"]: r for r in source_status(engine)} if engine is not None else {}
    next_runs = _next_runs(engine) if engine is not None else {}
    stopped = stopped_sources(engine) if engine is not None else {}
    rows = []
    for name in sorted(set(known) | set(entries or {})):
        row = {"last_status": None, "last_success": None, "problems": [],
               **known.get(name, {}), "source": name}
        if name in stopped:
            row["problems"] = stopped[name]
        entry = entries.get(name) if entries is not None else None
        row["watched"] = entries is None or bool(entry and entry["enabled"])
        row["next_run"] = _next_run_cell(entry, next_runs.get(name), entries is not None)
        rows.append(row)
    return rows


def _next_run_cell(entry: dict[str, Any] | None, scheduled: float | None,
                   file_read: bool) -> str:
    from datetime import UTC, datetime

    from pipeline.schedule import cron_trigger

    def fmt(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    if entry is None and file_read:
        return "not in file"
    if entry is not None and not entry["enabled"]:
        return "disabled"
    if scheduled is not None:  # a running scheduler keeps it ahead of the clock
        late = time.time() - scheduled > PAST_DUE
        return fmt(datetime.fromtimestamp(scheduled, UTC)) + ("!" if late else "")
    if entry is not None and entry.get("schedule"):
        when = cron_trigger(str(entry["schedule"])).get_next_fire_time(None, datetime.now(UTC))
        return f"~{fmt(when)}" if when is not None else "-"
    return "-"


def cmd_runs(args: argparse.Namespace) -> int:
    from pipeline.db import session_scope
    from pipeline.models import CrawlRun, Source

    engine = _existing_store(args, "`hcjobs demo` or `hcjobs crawl`")
    if engine is None:
        return EXIT_FAILED
    with session_scope(engine) as session:
        query = (select(Source.name, CrawlRun).join(CrawlRun, CrawlRun.source_id == Source.id)
                 .order_by(CrawlRun.id.desc()).limit(args.limit))
        if args.source:
            query = query.where(Source.name == args.source)
        if args.status:
            query = query.where(CrawlRun.status == args.status)
        rows = session.execute(query).all()
        head = (f"{'run':>5} {'source':<26} {'started (UTC)':<17} {'secs':>6} {'status':<11} "
                f"{'seen':>5} {'new':>5} {'chg':>5} {'closed':>6} {'drop':>5}  ")
        print(head + "summary / errors")
        width = _note_width(len(head))
        for name, run in rows:
            secs = ((run.finished_at - run.started_at).total_seconds()
                    if run.finished_at else None)
            started = run.started_at.strftime("%Y-%m-%d %H:%M")
            print(f"{run.id:>5} {name:<26} {started:<17} "
                  f"{'' if secs is None else f'{secs:.1f}':>6} {_status(run):<11} {run.seen:>5} "
                  f"{run.new:>5} {run.changed:>5} {run.closed:>6} {run.dropped:>5}  "
                  f"{_clip(run_note(run), width)}")
        if any(run.truncated for _, run in rows):
            print("* truncated: far fewer postings than usual, so nothing was closed")
    return EXIT_OK


def _read_classify_input(path: str) -> tuple[list[dict[str, Any]], list[str]]:
    from pipeline.normalize import fix_encoding, html_to_text

    postings: list[dict[str, Any]] = []
    problems: list[str] = []
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or "id" not in row:
                    raise ValueError("a line needs an object with an 'id'")
            except ValueError as exc:
                problems.append(f"{path}:{number}: skipped: {exc}")
                continue
            text = row.get("text")
            if not text and row.get("html"):
                text = html_to_text(fix_encoding(str(row["html"])))
            postings.append({**row, "text": text or ""})
    return postings, problems


def cmd_classify(args: argparse.Namespace) -> int:
    from classifier.tagger import Tagger

    try:
        postings, problems = _read_classify_input(args.input)
    except OSError as exc:
        print(f"error: cannot read {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    tagger = Tagger.load()
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    with out:
        for start in range(0, len(postings), 1000):
            for result in tagger.tag(postings[start:start + 1000]):
                result.pop("remote_confidence", None)
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"tagged {len(postings)} postings ({len(problems)} lines skipped)", file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export import export

    engine, _ = _store(args)
    if args.format == "parquet":
        from pipeline.analytics import export_parquet

        written = export_parquet(engine, args.out)
        print(f"wrote {', '.join(str(path) for path in written)}")
        return EXIT_OK
    done = export(engine, args.out)
    print(f"wrote {done.postings} postings to {done.postings_path}, their JSON-LD to "
          f"{done.jsonld_path} and counts with daily stats to {done.stats_path}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.db import resolve_url
    from web.app import serve

    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    return serve(resolve_url(args.db), args.host, args.port, args.cors_origin,
                 workers=args.workers)


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import write_report

    engine = _existing_store(args, "`hcjobs demo --months 18`")
    if engine is None:
        return EXIT_FAILED
    written = write_report(engine, args.out, basis=args.basis)
    print(f"wrote {len(written)} files; open {args.out / 'index.html'}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from classifier.category import train

    _, metrics = train(args.out)
    print(json.dumps(metrics, indent=2))
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from classifier.category import model_dir, train, training_metrics
    from classifier.corpus import read_labeled
    from classifier.evaluate import evaluate, set_name, write_model_card
    from classifier.tagger import Tagger

    try:
        sets = {set_name(spec.split("+")): [r for path in spec.split("+")
                                            for r in read_labeled(path)]
                for spec in args.data}
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tagger = Tagger.load()
    training = training_metrics()
    if "cv_accuracy" not in training:  # the card reports cross-validation: compute it once
        training = train()[1]
    reports = {}
    for name, rows in sets.items():
        report = evaluate(tagger, rows)
        errors = report.pop("errors")
        reports[name] = report
        print(json.dumps({"set": name, **{k: v for k, v in report.items()
                                          if not isinstance(v, dict) or k.startswith("cred")
                                          and k != "credentials_per_code"}}, indent=2))
        for err in errors[: args.errors]:
            print(json.dumps(err, ensure_ascii=False))
    card = write_model_card(args.card or model_dir() / "model-card.md", tagger.version,
                            training, reports)
    print(f"model card: {card}")
    return EXIT_OK


def cmd_retag(args: argparse.Namespace) -> int:
    from classifier.tagger import Tagger
    from pipeline.tagging import tag_pending

    engine, _ = _store(args)
    print(f"re-tagged {tag_pending(engine, Tagger.load(), retag=True)} postings")
    return EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    from pipeline.sources import SourceError, default_sources_path, load_sources, select_sources

    names = [*args.names, *(args.source or [])]
    try:
        if args.action in ("enable", "disable"):
            return _set_enabled(names, args.action == "enable", args.sources)
        entries = load_sources(args.sources)
        if names:
            entries = select_sources(entries, names, args.sources or default_sources_path())
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "check":
        return _check_sources(entries, args.timeout)
    enabled = sum(1 for e in entries if e["enabled"])
    print(f"{args.sources or default_sources_path()}: {len(entries)} sources, {enabled} "
          "enabled")
    print(f"  {'source':<32} {'kind':<16} {'schedule':<16} enabled")
    for e in entries:
        print(f"  {e['name']:<32} {e['kind']:<16} {e.get('schedule', '-'):<16} "
              f"{'yes' if e['enabled'] else 'NO'}")
    return EXIT_OK


def _set_enabled(names: list[str], enabled: bool, path: str | None) -> int:
    """`hcjobs sources enable|disable NAME...`: the sources file is edited, not a copy of
    it in the database, so the file stays the one truth the scheduler follows."""
    from pipeline.sources import default_sources_path, set_enabled

    word = "enabled" if enabled else "disabled"
    if not names:
        print(f"error: name the sources to mark {word}", file=sys.stderr)
        return EXIT_USAGE
    changed, already = set_enabled(names, enabled, path)  # SourceError: the caller's
    file = path or default_sources_path()
    for name in already:
        print(f"{name}: already {word}")
    for name in changed:
        print(f"{name}: {word} in {file}")
    if changed:
        print("A running `hcjobs schedule` applies this within its --poll interval; "
              "`hcjobs crawl` uses it from now on.")
    return EXIT_OK


def _check_sources(entries: list[dict[str, Any]], timeout: float) -> int:
    from pipeline.sourcecheck import check_sources

    logging.getLogger().setLevel(logging.CRITICAL)  # reasons go in the table, not the log
    print(f"checking {len(entries)} sources (timeout {timeout:g} s each)...")
    results = check_sources(entries, timeout=timeout)
    enabled = {e["name"]: e["enabled"] for e in entries}
    print(f"{'source':<32} {'kind':<16} {'answers':<8} {'postings':>8}  note")
    for r in results:
        flag = "" if enabled.get(r.name, True) else " (disabled)"
        count = "-" if r.postings is None else str(r.postings)
        print(f"{r.name + flag:<32} {r.kind:<16} {'yes' if r.ok else 'NO':<8} {count:>8}  "
              f"{r.reason}")
    failed = sum(1 for r in results if not r.ok)
    print(f"{len(results) - failed} of {len(results)} sources answered")
    return EXIT_OK if not failed else EXIT_FAILED


COMMANDS = {
    "demo": cmd_demo, "crawl": cmd_crawl, "runs": cmd_runs, "classify": cmd_classify,
    "schedule": cmd_schedule, "status": cmd_status, "report": cmd_report, "board": cmd_board,
    "serve": cmd_serve,
    "export": cmd_export, "train": cmd_train, "evaluate": cmd_evaluate, "retag": cmd_retag,
    "sources": cmd_sources,
}

if __name__ == "__main__":
    raise SystemExit(main())
