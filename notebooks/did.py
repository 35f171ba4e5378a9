# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Difference in differences for any panel: `kbz.did`
#
# `kbz.did` is the general front door: two-way fixed effects (unit and period effects),
# cluster-robust standard errors and, with few clusters, a wild cluster bootstrap. Here it
# runs on a practice × year panel built from the **synthetic** sample: the mean outpatient
# DBC cost per insured year of minima insured, per GP practice.

# %%
import warnings

import kbz_eval as kbz

sample = kbz.load_sample()
py = sample["person_years"]
practices = sample["practices"]

minima = py[py["minima"]].copy()
minima["insured_years"] = kbz.tables.insured_years(minima["insured_days"], minima["year"])
panel = (
    minima.groupby(["practice_id", "year"], as_index=False)
    .agg(cost=("poli_dbc_cost", "sum"), insured_years=("insured_years", "sum"))
    .merge(practices[["practice_id", "group", "kbz_start_year"]], on="practice_id")
)
panel["cost_per_insured_year"] = panel["cost"] / panel["insured_years"]
panel["kbz"] = (
    (panel["group"] == "kbz") & (panel["year"] >= panel["kbz_start_year"].fillna(9999))
).astype(int)
panel.head()

# %% [markdown]
# ## Staggered adoption is refused
#
# One KBZ practice started a year later than the others. With staggered starts the
# two-way fixed-effects coefficient mixes already-treated units into the controls and is
# not an average treatment effect, so `kbz.did` refuses and says why.

# %%
try:
    kbz.did(panel, outcome="cost_per_insured_year", unit="practice_id", time="year",
            treatment="kbz")
except kbz.SpecificationError as err:
    print(err)

# %% [markdown]
# ## One cohort: the practices that started in 2014 against the controls
#
# Twelve practices minus the late starter leaves eleven clusters: far too few for
# cluster-robust standard errors alone, so the wild cluster bootstrap p-value and interval
# are reported too, with a `StatisticalWarning`.

# %%
one_cohort = panel[panel["kbz_start_year"].isna() | (panel["kbz_start_year"] == 2014)]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = kbz.did(one_cohort, outcome="cost_per_insured_year", unit="practice_id",
                     time="year", treatment="kbz", seed=1)
[str(w.message)[:120] for w in caught]

# %%
result.summary()

# %%
result.plot()

# %% [markdown]
# `result.method` says what was estimated and how; `result.plot_data()` is the table the
# figure draws, for redrawing in any style.

# %%
print(result.method)
