"""`hcjobs report --out DIR`: trend charts (PNG), tables (CSV) and one HTML page tying them
together, all computed by pipeline.analytics from the store's history."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import StrMethodFormatter  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from pipeline import analytics  # noqa: E402

TOP_CODES = 6


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _months(table: pd.DataFrame) -> list[str]:
    return sorted(table["month"].unique())


def chart_remote_share(table: pd.DataFrame, path: Path, basis: str) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    months = _months(table)
    for category, rows in table.groupby("category"):
        x = [months.index(m) for m in rows["month"]]
        ax.plot(x, rows["share"] * 100, marker="o", label=str(category))
        for xi, share, n in zip(x, rows["share"], rows["n"], strict=True):
            ax.annotate(f"n={n}", (xi, share * 100), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xticks(range(len(months)), months, rotation=45)
    ax.set_title(f"Fully remote share of postings by month ({basis} postings)")
    ax.set_xlabel("month first seen" if basis == "new" else "month")
    ax.set_ylabel("remote share (%)")
    ax.set_ylim(0, 110)
    ax.legend(title="category")
    return _save(fig, path)


def chart_credentials(table: pd.DataFrame, path: Path) -> Path:
    months = _months(table)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, requirement in zip(axes, ("required", "preferred"), strict=True):
        rows = table[table["requirement"] == requirement]
        top = rows.groupby("code")["k"].sum().sort_values(ascending=False).head(5).index
        shares = (rows[rows["code"].isin(top)]
                  .pivot(index="month", columns="code", values="share")
                  .reindex(months).fillna(0.0) * 100)
        for code in shares.columns:
            ax.plot(range(len(months)), shares[code], marker=".", label=str(code))
        n = table.groupby("month")["n"].first().reindex(months).fillna(0).astype(int)
        ax.set_xticks(range(len(months)), [f"{m}\nn={n[m]}" for m in months], rotation=60,
                      fontsize=6)
        ax.set_title(f"{requirement}")
        ax.set_xlabel("month first seen")
        ax.legend(fontsize=7, title="credential")
    axes[0].set_ylabel("share of postings first seen that month (%)")
    fig.suptitle("Credential asks by month, top 5 codes (n: postings first seen that month)")
    return _save(fig, path)


def chart_pay(table: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    top = table.groupby("code")["n"].sum().sort_values(ascending=False).head(8).index
    data = table[table["code"].isin(top)]
    pivot = data.pivot(index="code", columns="remote", values="median")
    counts = data.pivot(index="code", columns="remote", values="n")
    pivot.plot.bar(ax=ax)
    for container, remote in zip(ax.containers, pivot.columns, strict=False):
        labels = [f"n={int(counts.loc[code, remote])}" if pd.notna(counts.loc[code, remote])
                  else "" for code in pivot.index]
        ax.bar_label(container, labels=labels, fontsize=7)  # type: ignore[arg-type]
    ax.set_title("Median annualized pay by credential asked and remote tag "
                 "(hourly x 2,080 h/year)")
    ax.set_xlabel("credential")
    ax.set_ylabel("median annualized pay (USD/year)")
    ax.yaxis.set_major_formatter(StrMethodFormatter("${x:,.0f}"))
    ax.tick_params(axis="x", rotation=0)
    ax.legend(title="remote")
    return _save(fig, path)


def chart_new_closed(table: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = range(len(table))
    ax.bar([i - 0.2 for i in x], table["new"], width=0.4, label="new (first seen)")
    ax.bar([i + 0.2 for i in x], table["closed"], width=0.4, label="closed")
    ax.set_xticks(list(x), table["month"], rotation=45)
    ax.set_title("New and closed postings per month")
    ax.set_xlabel("month")
    ax.set_ylabel("postings (count)")
    ax.legend()
    return _save(fig, path)


def chart_employers(table: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.barh(table["company"][::-1], table["postings"][::-1])
    ax.set_title(f"Top {len(table)} employers by postings (all months)")
    ax.set_xlabel("postings (count)")
    ax.set_ylabel("employer")
    return _save(fig, path)


def write_report(engine: Engine, out: Path, basis: str = "new") -> list[Path]:
    """Write every chart, table and the index page into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    postings = analytics.load_postings(engine)
    credentials = analytics.load_credentials(engine)
    sections: list[tuple[str, str, pd.DataFrame, Callable[..., Path]]] = [
        ("remote_share", "Remote share by month, coding vs administration",
         analytics.remote_share_by_month(postings, basis=basis),
         lambda t, p: chart_remote_share(t, p, basis)),
        ("credentials", "Credential prevalence by month, required vs preferred",
         analytics.credential_prevalence_by_month(postings, credentials), chart_credentials),
        ("pay", "Annualized pay by credential and remote status",
         analytics.pay_by_credential(credentials), chart_pay),
        ("new_closed", "New vs closed postings per month",
         analytics.new_and_closed_by_month(postings), chart_new_closed),
        ("employers", "Top employers", analytics.top_employers(postings), chart_employers),
    ]
    written: list[Path] = []
    parts = [f"<h1>hcjobs trends</h1><p>{len(postings)} canonical postings, "
             f"{len(credentials)} credential asks. Shares are over postings first seen in "
             "each month unless stated; every share shows the n behind it.</p>"]
    for name, title, table, chart in sections:
        csv = out / f"{name}.csv"
        table.to_csv(csv, index=False)
        written.append(csv)
        if table.empty:
            parts.append(f"<h2>{html.escape(title)}</h2><p>No data yet.</p>")
            continue
        png = chart(table, out / f"{name}.png")
        written.append(png)
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{png.name}' "
                     f"alt='{html.escape(title)}' width='900'><p><a href='{csv.name}'>"
                     f"{csv.name}</a></p>{table.head(40).to_html(index=False, border=0)}")
    page = out / "index.html"
    page.write_text("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                    "<title>hcjobs trends</title><style>body{font-family:sans-serif;"
                    "max-width:960px;margin:auto;color:#111}table{border-collapse:collapse}"
                    "td,th{padding:2px 8px;border-bottom:1px solid #ccc}</style></head><body>"
                    + "".join(parts) + "</body></html>", encoding="utf-8")
    written.append(page)
    return written
