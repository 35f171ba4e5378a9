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
# # Your own municipality in the open data
#
# Claims extracts are private; the open data are not. This notebook puts **your
# municipality** next to the country, comparable municipalities and the KBZ cities on
#
# - **Aim 3 (costs)**: Vektis publishes every year the costs paid under the basic health
#   insurance (Zvw) for all insured, per municipality × sex × age class (2011–2023);
# - **Aim 2 (population health)**: RIVM publishes health-monitor estimates per
#   municipality, district (*wijk*) and neighbourhood (*buurt*) for 2012, 2016 and 2020.
#
# Change the two names in the next cell and run everything again.
#
# Sources: "Bron: Vektis" (open data, no resale); RIVM/CBS/GGD'en, StatLine 50090NED.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import kbz_eval as kbz

MY_MUNICIPALITY = "Utrecht"   # any spelling: "Den Haag", "'s-Hertogenbosch", ...
MY_DISTRICT = "WK034403"      # a StatLine district code (WK + 4-digit municipality + 2)
MY_START_YEAR = 2014          # the year your own programme started

od = kbz.open_data

# %% [markdown]
# ## Where the data come from
#
# kbz_eval looks in `folder=...`, then `$KBZ_EVAL_DATA`, then `../shared/data` beside the
# repository, then its download cache. With internet, `od.download("all")` fetches the
# files from the publishers into the cache. It never makes data up: a missing file is
# an error that says where it looked.

# %%
print("data folder:", od.data_folder())
od.available()

# %% [markdown]
# ## The Vektis files, tidy
#
# One row per year × municipality × sex × age class × measure. The loader repairs the
# files' quirks: GGZ columns renamed in 2014 and re-split from 2022 (`ggz_break`), names
# upper-case until 2018 and cut to 32 characters in 2023, age classes with double spaces,
# `S GRAVENHAGE` for Den Haag, and the *rest row* (groups under 10 persons), which is
# kept apart (`rest`) and never added to a municipality.

# %%
v2018 = od.vektis(2018)
v2018.head()

# %%
name = od.find_municipality(MY_MUNICIPALITY, v2018["municipality"].dropna().unique())
mine = v2018[v2018["municipality"] == name]
mine.groupby("cost_group", observed=True)["value"].sum().sort_values(ascending=False).head(8)

# %% [markdown]
# The harmonisation table: which Vektis column goes into which cost group, and in which
# years it is published.

# %%
pd.DataFrame([{"column": c.name, "group": c.group, "from": c.first_year,
               "until": c.last_year} for c in od.COST_COLUMNS]).head(12)

# %% [markdown]
# ## Cost per insured year, crude and standardised
#
# A young municipality spends less per insured year simply because its insured are
# young. Standardisation removes that:
#
# - **direct**: your municipality's cost per insured year in each sex × age class,
#   weighted with the national age–sex distribution of 2018 (configurable: `standard=`);
# - **indirect**: observed cost divided by the cost expected if your insured had the
#   national rates of their class (`oe_ratio`), times the national rate.
#
# These are totals over all insured, not samples: there is no sampling error.

# %%
costs = od.cost_per_insured_year(areas=[name, "NL"])
costs.summary().query("cost_group == 'total'").tail(6)

# %%
ax = costs.plot()
plt.show()

# %% [markdown]
# Definitions change over the years (e.g. district nursing and long-term GGZ entered the
# Zvw in 2015; the GGZ payment reform in 2022). The table lists the breaks; compare
# levels across them with care.

# %%
costs.tables["breaks"]

# %% [markdown]
# ## Next to the KBZ cities and comparable municipalities
#
# The KBZ cities against the country and the mean of the 30 largest other
# municipalities; triangles mark the KBZ rollout years.

# %%
all_costs = od.cost_per_insured_year(groups=["total"], methods=["direct"])
compare = od.compare_areas(all_costs, areas=[*od.KBZ_CITIES, name] if name not in
                           od.KBZ_CITIES else od.KBZ_CITIES)
compare.summary()

# %%
ax = compare.plot()
plt.show()

# %% [markdown]
# ## A synthetic control for your municipality
#
# A weighted mix of comparable municipalities (weights ≥ 0, summing to 1) that follows
# your municipality's standardised cost before your start year; after it, the gap is
# the estimate. Refitting with every donor as if it were treated (placebo-in-space)
# shows how unusual your gap is: the p-value is the share of municipalities with a
# post/pre fit ratio at least as large as yours. With few years before the start, the
# fit rests on few points (a warning says so).

# %%
sc = od.synthetic_control(all_costs, treated=name, treatment_year=MY_START_YEAR)
print(sc.headline())
sc.tables["weights"].head(6)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
sc.plot(ax=axes[0])
from kbz_eval.plotting.open_data import synthetic_control_placebos  # noqa: E402

synthetic_control_placebos(sc, ax=axes[1])
plt.show()

# %% [markdown]
# ## Population health in your district (Aim 2)
#
# RIVM's small-area estimates: good self-rated health, meeting the exercise guideline,
# difficulty making ends meet and loneliness, for 2012, 2016 and 2020 (the exercise
# guideline from 2016). The district's change is compared with the change in its city,
# the mean of the city's other districts and the country. The open table has no numbers
# of respondents and no margins, so these are **plain differences without intervals**;
# the rank among the city's districts gives a sense of how unusual a change is.

# %%
health = od.rivm_health(measures=list(od.HEALTH_INDICATORS))
districts = sorted(c for c in health["area_code"].unique()
                   if c.startswith("WK" + MY_DISTRICT[2:6]))
print(districts)

# %%
change = od.area_health_change(health, area=MY_DISTRICT)
print(change.headline())
change.summary().head(9)

# %%
ax = change.plot()
plt.show()

# %% [markdown]
# The levels behind the changes:

# %%
change.tables["levels"].pivot_table(index=["indicator", "area"], columns="year",
                                    values="value").round(1)
