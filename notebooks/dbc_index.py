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
# # Outpatient DBCs: KBZ practices vs controls
#
# The seeds show an "index of the number of outpatient DBCs, KBZ practices vs controls,
# minima insured, 2012–2015": use fell at the KBZ practices while it rose at the
# controls. `kbz.dbc_index` rebuilds that figure with 95 % intervals, the difference in
# differences as a rate ratio and an event study per year.
#
# A *DBC* is the Dutch hospital care product; an outpatient ("poli") DBC has no
# admission. *Minima* are the insured on the municipal low-income policy.
#
# Everything here runs on the **synthetic** sample shipped with kbz_eval.

# %%
import kbz_eval as kbz

sample = kbz.load_sample()
panel, practices = sample["person_years"], sample["practices"]

# %% [markdown]
# ## The seeds' figure: minima, 2012–2015

# %%
figure = kbz.dbc_index(panel, practices, base_year=2012, population="minima",
                       years=range(2012, 2016))
figure.headline()

# %%
ax = figure.plot()

# %% [markdown]
# The numbers behind the figure: outpatient DBCs per 1,000 insured years (crude) and the
# index with its interval. `n_persons` says how many persons each cell rests on.

# %%
figure.tables["rates"].round(1)

# %%
figure.tables["index"].round(1)

# %% [markdown]
# ## Difference in differences and event study
#
# The rate ratio compares the KBZ change with the control change. The event study does
# so year by year against 2012; years before KBZ (2013) check the parallel-trends
# assumption. KBZ is given to practices, so the intervals and p-values are at the
# practice level by default (6 KBZ against 6 control practices); the randomisation
# p-value shows how unusual the contrast is among all relabellings of the 12 practices.
# The `_persons_only` row repeats the rate ratio with person-clustered errors, which do
# not contain the variation between practices and are too narrow.

# %%
figure.summary()

# %%
print(figure.method)

# %% [markdown]
# ## All insured, and adjusted for age and sex

# %%
everyone = kbz.dbc_index(panel, practices, population="all", adjust="age_sex")
everyone.tables["event_study"].round(3)
