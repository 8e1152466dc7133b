"""The sources file: one TOML table per board, checked before anything is crawled."""

from __future__ import annotations

import os
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_SOURCES = "sources.toml"
HEADER = re.compile(r"^[ \t]*\[\[[ \t]*source[ \t]*\]\]", re.MULTILINE)
COMMON_KEYS = {"name", "kind", "schedule", "enabled", "base_url", "company", "contact",
               "settings", "refresh_days", "close_after", "truncation_drop", "page_size",
               "page_window"}
DEFAULTS_TABLE = "defaults"
"""Top-level table whose keys every entry gets unless it sets them itself (`contact`,
`settings`...); a `settings` table is merged key by key."""


class SourceError(ValueError):
    """A sources file that cannot be used; the message names the file and line."""


@cache
def spider_kinds() -> dict[str, Any]:
    """Spider classes by kind name, found by Scrapy's own spider loader (no hand-kept list)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    loader = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["crawler.spiders"]}))
    return {name: loader.load(name) for name in loader.list()}


def default_sources_path() -> Path:
    """HCJOBS_SOURCES, else the sources file that ships with hcjobs."""
    env = os.environ.get("HCJOBS_SOURCES")
    if env:
        return Path(env)
    return Path(str(resources.files("pipeline").joinpath(DEFAULT_SOURCES)))


def _check_cron(expr: str) -> str | None:
    from pipeline.schedule import cron_trigger

    try:
        cron_trigger(expr)
    except ValueError as exc:
        return f"bad schedule {expr!r}: {exc}"
    return None


def load_sources(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Every entry of the sources file, each with its `line`; raises SourceError on any problem.

    Nothing is crawled or written when the file has an error, so a typo never half-runs.
    """
    file = Path(path) if path else default_sources_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{file}: cannot read sources file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        where = f"{file}:{found.group(1)}" if found else str(file)
        raise SourceError(f"{where}: invalid TOML: {exc}") from exc
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise SourceError(f"{file}: 'source' must be an array of tables ([[source]])")
    defaults = data.get(DEFAULTS_TABLE, {})
    if not isinstance(defaults, dict) or {"name", "kind"} & set(defaults):
        raise SourceError(f"{file}: [{DEFAULTS_TABLE}] must be a table of keys shared by "
                          "every source (not 'name' or 'kind')")
    lines = [text.count("\n", 0, m.start()) + 1 for m in HEADER.finditer(text)]
    kinds = spider_kinds()
    seen: dict[str, int] = {}
    out = []
    for index, own in enumerate(entries):
        entry = with_defaults(own, defaults)
        line = lines[index] if index < len(lines) else 0
        where = f"{file}:{line}" if line else str(file)
        name = entry.get("name")
        if not name or not isinstance(name, str):
            raise SourceError(f"{where}: source entry has no 'name'")
        kind = entry.get("kind")
        if not kind:
            raise SourceError(f"{where}: source '{name}' has no 'kind'")
        if kind not in kinds:
            known = ", ".join(sorted(kinds))
            raise SourceError(f"{where}: source '{name}': unknown kind '{kind}' (known: {known})")
        problem = kinds[kind].check_config(entry)
        if problem is None and entry.get("schedule"):
            problem = _check_cron(str(entry["schedule"]))
        if problem is None and not isinstance(entry.get("enabled", True), bool):
            problem = "'enabled' must be true or false"
        if problem:
            raise SourceError(f"{where}: source '{name}': {problem}")
        if name in seen:
            raise SourceError(f"{where}: source name '{name}' already used at line {seen[name]}")
        seen[name] = line
        out.append({**entry, "enabled": entry.get("enabled", True), "line": line})
    return out


def with_defaults(entry: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`entry` with the [defaults] keys it does not set; `settings` tables are merged."""
    merged = {**defaults, **entry}
    if isinstance(defaults.get("settings"), dict) and isinstance(entry.get("settings"), dict):
        merged["settings"] = {**defaults["settings"], **entry["settings"]}
    return merged


def select_sources(entries: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]]:
    """The enabled entries, or exactly the named ones (enabled or not) when names are given."""
    if not names:
        return [e for e in entries if e["enabled"]]
    by_name = {e["name"]: e for e in entries}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SourceError(f"no source named {', '.join(map(repr, unknown))} in the sources file")
    return [by_name[n] for n in names]
