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
# # Aim 1: experienced health (CVG) and the 4D conversation
#
# The CVG (*cijfer voor gezondheid*) is the 1–10 mark a patient gives their own health.
# Patients at KBZ practices gave it repeatedly; the GP also gave a mark for the patient.
# The published evaluation reports a mean of 4.7 at the first measurement (50 patients),
# 5.7 at the second and 6.1 in the smaller group measured a third time, and says patient
# and GP "agree well". This notebook rebuilds those figures on the **synthetic** sample
# and adds what the published summary leaves out: intervals, the dropout, a change
# estimate that uses every patient, and how well the two marks agree.

# %%
import kbz_eval as kbz

sample = kbz.load_sample()
cvg = sample["cvg"]
cvg.groupby("measurement")["cvg_patient"].agg(["size", "mean"])

# %% [markdown]
# ## The trajectory
#
# Means per measurement with 95% intervals and `n`: the dropout is visible. The change
# from the first measurement comes from a linear mixed model with a random intercept
# per patient, so patients who left after the first or second measurement still count;
# the completers-only estimate is the sensitivity check.

# %%
trajectory = kbz.cvg_trajectory(cvg)
trajectory.headline()

# %%
trajectory.tables["means"]

# %%
trajectory.tables["change"]

# %% [markdown]
# Responsiveness per step: standardised response mean (mean change / SD of the change)
# and effect size (mean change / SD at the start).

# %%
trajectory.tables["responsiveness"][["from_measurement", "to_measurement", "n", "srm",
                                     "es"]]

# %%
ax = trajectory.plot()

# %% [markdown]
# ## Patient versus GP
#
# Bland–Altman bias and 95% limits of agreement (allowing several pairs per patient),
# ICC(2,1) for absolute agreement and quadratic weighted kappa.

# %%
agreement = kbz.cvg_agreement(cvg)
agreement.headline()

# %%
agreement.summary()

# %%
ax = agreement.plot()

# %% [markdown]
# ## Ratings of the 4D conversation
#
# Patients and professionals rated the conversation on a 1–5 scale; the share of
# positive ratings (4 or 5) per item with a Wilson interval.

# %%
ratings = kbz.conversation_ratings(sample["conversations"])
ratings.tables["share_positive"]

# %%
ax = ratings.plot()

# %% [markdown]
# ## Neighbourhood specialists
#
# GPs reported avoiding a referral in two of three consultations with a neighbourhood
# specialist.

# %%
referrals = kbz.referrals_avoided(sample["consults"])
referrals.tables["shares"]

# %%
ax = referrals.plot()
