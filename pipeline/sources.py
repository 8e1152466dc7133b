"""The sources file: one TOML table per board, checked before anything is crawled."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
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
    return parse_sources(_read(file), file)


def _read(file: Path) -> str:
    """The file's text exactly as stored (line endings kept, so an edit can keep them)."""
    try:
        with open(file, encoding="utf-8", newline="") as fh:
            return fh.read()
    except OSError as exc:
        raise SourceError(f"{file}: cannot read sources file: {exc.strerror or exc}") from exc


def parse_sources(text: str, file: Path) -> list[dict[str, Any]]:
    """The checked entries of sources-file `text` (see load_sources); `file` names it in
    messages. Separate from reading so an edit is checked before it is written."""
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


def select_sources(entries: list[dict[str, Any]], names: list[str] | None,
                   file: str | Path | None = None) -> list[dict[str, Any]]:
    """The enabled entries, or exactly the named ones (enabled or not) when names are given.
    `file`, the sources file the entries were read from, is named when a name is unknown:
    the usual cause is another file read than the one meant (HCJOBS_SOURCES unset)."""
    if not names:
        return [e for e in entries if e["enabled"]]
    by_name = {e["name"]: e for e in entries}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SourceError(f"{unknown_names(unknown, by_name)} in the sources file "
                          f"{file or default_sources_path()}")
    return [by_name[n] for n in names]


def unknown_names(unknown: Sequence[str], known: Iterable[str]) -> str:
    """"no source named 'x' (did you mean: y?)": a typo in a name is the usual cause."""
    choices = list(known)
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
        parts.append(repr(name) + (f" (did you mean: {', '.join(close)}?)" if close else ""))
    return f"no source named {', '.join(parts)}"


TABLE_LINE = re.compile(r"^[ \t]*\[\[?[ \t]*[\w.\-\"' ]+[ \t]*\]\]?[ \t]*(#.*)?$")
ENABLED_LINE = re.compile(r"^([ \t]*enabled[ \t]*=[ \t]*)(true|false)\b")


def set_enabled(names: Sequence[str], enabled: bool,
                path: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Set `enabled` of the named entries in the sources file itself, which stays the one
    place the scheduler reads; returns (names changed, names already in that state).

    The edit is line-based, not a TOML rewrite (tomlkit): only the `enabled = ...` line of
    each entry's own [[source]] table changes, or one is added after its last key, so
    comments, order, alignment and line endings of everything else stay byte for byte, with
    no new dependency. It is safe because it is proved before anything is written: the
    edited text must parse to exactly the old data with only those `enabled` values changed,
    and must pass every check of load_sources. The file is replaced atomically, and not at
    all when any name is unknown, when nothing changes, or when the file changed meanwhile.
    """
    file = Path(path) if path else default_sources_path()
    text = _read(file)
    entries = parse_sources(text, file)  # a broken file is reported, never edited
    index = {e["name"]: i for i, e in enumerate(entries)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise SourceError(f"{file}: {unknown_names(unknown, index)}; "
                          "`hcjobs sources list` shows every name")
    wanted = list(dict.fromkeys(names))
    changed = [n for n in wanted if entries[index[n]]["enabled"] != enabled]
    already = [n for n in wanted if n not in changed]
    if not changed:
        return changed, already
    edited = text
    for name in changed:
        edited = _with_enabled(edited, index[name], enabled)
    expected = tomllib.loads(text)
    for name in changed:
        expected["source"][index[name]]["enabled"] = enabled
    try:
        same = tomllib.loads(edited) == expected
        parse_sources(edited, file)
    except (tomllib.TOMLDecodeError, SourceError) as exc:
        same, why = False, str(exc)
    else:
        why = "the edit would change more than `enabled`"
    if not same:
        raise SourceError(f"{file}: cannot set enabled = {str(enabled).lower()} safely "
                          f"({why}); edit the file by hand")
    _replace(file, text, edited)
    load_sources(file)  # what is on disk now is what the scheduler will read
    return changed, already


def _with_enabled(text: str, index: int, enabled: bool) -> str:
    """`text` with the `enabled` line of the index-th [[source]] table set (or added)."""
    lines = text.splitlines(keepends=True)
    header = text.count("\n", 0, list(HEADER.finditer(text))[index].start())
    end = next((i for i in range(header + 1, len(lines))
                if TABLE_LINE.match(lines[i].rstrip("\r\n"))), len(lines))
    value = "true" if enabled else "false"
    for i in range(header + 1, end):
        found = ENABLED_LINE.match(lines[i])
        if found:
            lines[i] = found.group(1) + value + lines[i][found.end():]
            return "".join(lines)
    last = max(i for i in range(header, end)
               if lines[i].strip() and not lines[i].lstrip().startswith("#"))
    newline = "\r\n" if "\r\n" in text else "\n"
    if not lines[last].endswith("\n"):
        lines[last] += newline
    lines.insert(last + 1, f"enabled = {value}{newline}")
    return "".join(lines)


def _replace(file: Path, old: str, new: str) -> None:
    """Write `new` over `file` atomically (temp file + os.replace, same folder and mode), so
    a reader (the scheduler) sees the old file or the new one, never half of one."""
    target = file.resolve()
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:  # a read-only folder (an installed package, say)
        raise SourceError(f"{file}: cannot write beside it: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(new)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        if _read(target) != old:
            raise SourceError(f"{file}: changed while being edited; nothing written, try again")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
