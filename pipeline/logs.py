"""Logs as text or JSON lines, the same way in the CLI, the scheduler and the crawl processes.

One place decides the format so an operator's log collector sees one shape whatever wrote
the record. The format travels to crawl child processes in the environment
(HCJOBS_LOG_FORMAT), which is how Scrapy's own records in the child come out the same way.

JSON lines: one object per record with `time` (ISO 8601, UTC), `level`, `logger`,
`message`, then any extra fields the record carries (`source`, `run_id`...), and
`exception` (the formatted traceback) when there is one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

FORMAT_ENV = "HCJOBS_LOG_FORMAT"
FORMATS = ("text", "json")
DEFAULT_LEVEL = "WARNING"
OWN_LOGGER = "hcjobs"
"""The parent of hcjobs' own loggers (hcjobs.schedule, hcjobs.alerts...), whose routine INFO
records an operator wants to see while library noise (Scrapy, APScheduler) stays quieter."""
# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def log_format(value: str | None = None) -> str:
    """`value`, else $HCJOBS_LOG_FORMAT, else "text"; ValueError for anything else."""
    chosen = (value or os.environ.get(FORMAT_ENV) or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {chosen!r} "
                         f"(--log-format or ${FORMAT_ENV})")
    return chosen


def _iso_utc(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _spider_fields(spider: Any) -> dict[str, Any]:
    """Scrapy passes the spider object as `extra`; an operator wants its source and run."""
    source = getattr(spider, "source_name", None)
    fields: dict[str, Any] = {"spider": getattr(spider, "name", str(spider))}
    if source is not None:
        fields["source"] = source
    if getattr(spider, "run_id", None) is not None:
        fields["run_id"] = spider.run_id
    return fields


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones, as JSON-ready values."""
    extras: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        if key == "spider":
            extras.update(_spider_fields(value))
        elif key == "item":  # Scrapy attaches the whole item to drop records: too long
            if getattr(value, "external_id", None) is not None:
                extras["external_id"] = _jsonable(value.external_id)
        elif key == "crawler":  # Scrapy's other context object: keep its spider's fields
            spider = getattr(value, "spider", None)
            if spider is not None:
                extras.update(_spider_fields(spider))
        else:
            extras[key] = _jsonable(value)
    return extras


def _jsonable(value: Any) -> Any:
    """`value` when JSON can carry it as it is, else its text."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": _iso_utc(record.created), "level": record.levelname,
                               "logger": record.name, "message": record.getMessage()}
        for key, value in record_extras(record).items():
            out.setdefault(key, value)  # an extra never hides one of the four main fields
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message [key=value ...]`, times in UTC like the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso_utc(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = record_extras(record)
        if not extras:
            return line
        head, _, rest = line.partition("\n")  # keep a traceback below the first line
        context = " ".join(f"{k}={v}" for k, v in extras.items())
        return f"{head} [{context}]" + (f"\n{rest}" if rest else "")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so a live progress display that
    redirects stderr can print log lines above itself instead of being torn by them."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _level(value: str | int) -> int:
    """A level number from a name ("info") or a number; ValueError for an unknown name."""
    if isinstance(value, int):
        return value
    try:
        return logging.getLevelNamesMapping()[value.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown log level {value!r} (DEBUG, INFO, WARNING, ERROR)") from None


class _Threshold(logging.Filter):
    """Passes hcjobs' own records from `own` up, everything else from `other` up: the
    handler's level alone cannot, since Scrapy sets its own loggers to DEBUG."""

    def __init__(self, other: int, own: int) -> None:
        super().__init__()
        self.other, self.own = other, own

    def filter(self, record: logging.LogRecord) -> bool:
        mine = record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")
        return record.levelno >= (self.own if mine else self.other)


def setup_logging(fmt: str | None = None, level: str | int = DEFAULT_LEVEL,
                  own_level: str | int | None = None) -> str:
    """Send log records to stderr in `fmt` (see log_format) at `level`, and hcjobs' own
    records (the `hcjobs` loggers) from `own_level` when given; returns the format chosen.

    Replaces the handler an earlier call installed (never other handlers, such as a test
    runner's) and exports the format to the environment, so crawl processes started from
    here log the same way.
    """
    chosen = log_format(fmt)
    other = _level(level)
    own = other if own_level is None else _level(own_level)
    os.environ[FORMAT_ENV] = chosen
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.setLevel(min(other, own))
    handler.addFilter(_Threshold(other, own))
    root.addHandler(handler)
    root.setLevel(other)
    # NOTSET without own_level: the hcjobs loggers follow the root level as before
    logging.getLogger(OWN_LOGGER).setLevel(logging.NOTSET if own_level is None else own)
    return chosen
