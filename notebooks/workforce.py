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
# # Aim 4: workload and job satisfaction of professionals
#
# Staff at every practice answered a short survey in yearly waves: experienced
# workload and job satisfaction, both on a 1–10 scale. The same people answer again
# (with some turnover), so the change over the waves comes from a mixed model with a
# random intercept per respondent. With the practices table the change is compared
# between KBZ and control practices; the difference (KBZ − control) is the effect
# estimate, with practice-clustered intervals (the staff of one practice share it).
#
# The data are the **synthetic** sample.

# %%
import kbz_eval as kbz

sample = kbz.load_sample()
workforce = sample["workforce"]
workforce.groupby("wave")[["workload", "job_satisfaction"]].agg(["count", "mean"])

# %%
result = kbz.workforce_change(workforce, practices=sample["practices"])
result.headline()

# %%
result.summary()[["term", "estimate", "ci_lower", "ci_upper", "n"]]

# %% [markdown]
# Means per wave and location, and per role, each with the number of respondents
# behind it (the report suppresses cells of fewer than 10).

# %%
result.tables["means_by_role"].head(12)

# %% [markdown]
# One figure per measure.

# %%
ax = result.plot(measure="workload")

# %%
ax = result.plot(measure="job_satisfaction")
