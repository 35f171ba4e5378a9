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
# # Aim 2: population health, Overvecht against the city of Utrecht
#
# The health monitor (VMU) gives percentages per area and year. The published summary
# reports good self-rated health falling from 77% to 62% in Overvecht (2014–2016),
# more than in the city (90% → 81%), and the exercise norm rising from 53% to 59%,
# more than in the city (61% → 64%). Here each percentage gets an interval, each area
# its change, and the difference in changes an interval in percentage points.
#
# The monitor does not publish the number of respondents behind each percentage: the
# sample's `n` is an **assumption** (`n_is_assumed`), and the result says so.

# %%
import kbz_eval as kbz

sample = kbz.load_sample()
monitor = sample["monitor"]
monitor.head(8)

# %%
result = kbz.population_health(monitor, area="Overvecht", reference="Utrecht")
result.headline()

# %%
result.tables["changes"][["indicator", "area_change", "reference_change",
                          "difference_in_change", "ci_lower", "ci_upper", "n_is_assumed"]]

# %%
print(result.method)

# %%
ax = result.plot()

# %% [markdown]
# ## Practice indicators: prescribing efficiency (IVM)
#
# The summary reports that the IVM score of the KBZ practices ranged from 30% to 74% of
# the maximum in 2013 and from 74% to 90% in 2016: higher, and less spread.

# %%
spread = kbz.indicator_spread(sample["practice_indicators"], practices=sample["practices"],
                              group="kbz", years=(2013, 2016))
spread.headline()

# %%
everyone = kbz.indicator_spread(sample["practice_indicators"], practices=sample["practices"])
everyone.tables["spread"]

# %%
ax = everyone.plot()
