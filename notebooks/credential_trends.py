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
# # Credential trends
# How often postings ask for each credential, required vs preferred, month by month.

# %% tags=["parameters"]
import os

DB_URL = os.environ.get("HCJOBS_DATABASE_URL", "sqlite:///../jobs.db")
CODES = ["CPC", "CCS", "CRC", "RHIT", "RHIA", "MHA", "MBA", "RN"]

# %%
from pipeline import analytics

postings = analytics.load_postings(DB_URL)
credentials = analytics.load_credentials(DB_URL)
credentials.groupby(["code", "requirement"]).size().unstack(fill_value=0).sort_values(
    "required", ascending=False)

# %%
prevalence = analytics.credential_prevalence_by_month(postings, credentials, CODES)
prevalence.tail(20)

# %%
required = prevalence[prevalence["requirement"] == "required"]
ax = required.pivot(index="month", columns="code", values="share").fillna(0).mul(100).plot(
    figsize=(9, 4), title="Share of postings requiring each credential (%)")
ax.set_ylabel("share (%)")

# %% [markdown]
# By category: which credentials coding and administration postings ask for.

# %%
credentials.groupby(["category", "code"]).size().unstack(fill_value=0)
