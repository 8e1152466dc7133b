# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Remote work in healthcare coding and administration
# How the fully remote share of coding postings compares with administration, month by
# month, with the number of postings behind each share. All logic lives in
# `pipeline.analytics`; this notebook only loads, shows and plots.

# %% tags=["parameters"]
import os

DB_URL = os.environ.get("HCJOBS_DATABASE_URL", "sqlite:///../jobs.db")
BASIS = "new"  # "new": postings first seen in the month; "active": open during the month

# %%
from pipeline import analytics

postings = analytics.load_postings(DB_URL)
print(f"{len(postings)} canonical postings, first seen "
      f"{postings['first_seen'].min():%Y-%m-%d} to {postings['first_seen'].max():%Y-%m-%d}")
postings["remote"].value_counts()

# %%
shares = analytics.remote_share_by_month(postings, basis=BASIS)
shares.pivot(index="month", columns="category", values=["share", "n"])

# %%
ax = shares.pivot(index="month", columns="category", values="share").mul(100).plot(
    marker="o", figsize=(9, 4), title="Fully remote share by month (%)")
ax.set_ylabel("remote share (%)")
ax.set_xlabel("month")

# %% [markdown]
# Hybrid is counted apart from remote: the share of coding postings that are hybrid,
# for comparison.

# %%
coding = postings[postings["category"] == "coding"]
analytics.monthly_share(coding, "category", coding["remote"] == "hybrid", basis=BASIS)
