"""What an operator needs at a glance, per source: next run, last run, last success, problems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, inspect, select, text

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Source
from pipeline.schedule import JOB_PREFIX


def _next_runs(engine: Engine) -> dict[str, float]:
    """Next run time (epoch seconds) per source from the scheduler's job table, if any."""
    if not inspect(engine).has_table("apscheduler_jobs"):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(text("select id, next_run_time from apscheduler_jobs")).all()
    return {str(jid).removeprefix(JOB_PREFIX): float(t) for jid, t in rows
            if str(jid).startswith(JOB_PREFIX) and t is not None}


def source_status(engine: Engine) -> list[dict[str, Any]]:
    """One row per source: next_run, last_status, last_success (formatted), problems."""
    from datetime import UTC, datetime

    next_runs = _next_runs(engine)
    out = []
    with session_scope(engine) as session:
        for source in session.scalars(select(Source).order_by(Source.name)):
            last = session.scalars(select(CrawlRun).where(CrawlRun.source_id == source.id)
                                   .order_by(CrawlRun.id.desc()).limit(1)).first()
            success = session.scalars(
                select(CrawlRun).where(CrawlRun.source_id == source.id, CrawlRun.status == "ok")
                .order_by(CrawlRun.id.desc()).limit(1)).first()
            problems = [p["message"] for p in ((last.stats or {}).get("monitors") or {})
                        .get("problems", [])] if last is not None else []
            if last is not None and not problems and last.status not in ("ok", "running"):
                problems = [f"run {last.status}: {last.error or ''}".strip()]
            when = next_runs.get(source.name)
            out.append({
                "source": source.name,
                "enabled": source.enabled,
                "next_run": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M")
                if when else None,
                "last_status": last.status if last is not None else None,
                "last_success": success.finished_at.strftime("%Y-%m-%d %H:%M")
                if success is not None and success.finished_at else None,
                "problems": problems,
            })
    return out
