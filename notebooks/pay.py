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
# # Pay by credential and remote status
# Annualized pay (hourly rates x 2,080 hours; per-chart rates are left out) by the
# credential a posting asks for and whether it is remote.

# %% tags=["parameters"]
import os

DB_URL = os.environ.get("HCJOBS_DATABASE_URL", "sqlite:///../jobs.db")

# %%
from pipeline import analytics

postings = analytics.load_postings(DB_URL)
paid = postings.dropna(subset=["salary_annual_mid"])
print(f"{len(paid)} of {len(postings)} postings state pay")
paid.groupby(["category", "remote"])["salary_annual_mid"].describe()

# %%
pay = analytics.pay_by_credential(analytics.load_credentials(DB_URL))
pay

# %%
ax = pay.pivot(index="code", columns="remote", values="median").plot.bar(
    figsize=(9, 4), title="Median annualized pay by credential (USD/year)")
ax.set_ylabel("USD per year")
