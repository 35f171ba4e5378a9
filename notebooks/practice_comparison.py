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
# # Our practice against its peers: funnel, caterpillar and control chart
#
# A practice manager or quality team asks: **does our practice use more (or less)
# hospital care than its peers, or is what we see just chance?** This notebook answers
# that for one practice against the KBZ and the control practices, with tools common
# in NHS and Dutch quality-registry reporting:
#
# 1. a **funnel plot** of observed / expected (O/E) per practice, with control limits;
# 2. the same with a **case-mix regression** for the expected values;
# 3. a **caterpillar plot** with shrunken estimates and rank intervals;
# 4. a **control chart** (XmR) of the practice's own trend, next to its peers.
#
# None of these is a test of KBZ against control (see `dbc_index.py` and `savings.py`
# for that): they describe practices.
#
# Everything here runs on the **synthetic** sample shipped with kbz_eval: made-up
# persons and practices, calibrated to the published Overvecht figures. No real
# practice or person is shown, and nothing here says anything about a real practice.

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import kbz_eval as kbz
from kbz_eval.disclosure import suppress_small_cells

sample = kbz.load_sample()
panel, practices = sample["person_years"], sample["practices"]
PRACTICE = "OV07"  # the practice we follow; change it to follow another
YEAR = 2016
persons = panel[panel["year"] == YEAR].groupby("practice_id").size()
practices.assign(**{f"persons_{YEAR}": practices["practice_id"].map(persons)})

# %% [markdown]
# The indicator is the number of outpatient DBCs (hospital care products without an
# admission, "poli" DBCs) of the practice's insured persons in 2016. KBZ aims at fewer.
# The practices differ in size (about 900 to 5,100 insured persons) and in who their
# persons are.

# %% [markdown]
# ## A league table first, and why not to publish one
#
# Each practice's O/E: observed DBCs divided by the DBCs expected if each of its persons
# used what a person of the same age band and sex uses across all 12 practices
# (indirect standardisation). Sorted, it looks like a league table.

# %%
league = kbz.risk_adjustment(panel, practices, outcome="poli_dbc_count", years=[YEAR],
                             by="practice")
table = league.tables["observed_expected"]
table.sort_values("oe_ratio")[["unit", "group", "n_persons", "observed", "expected",
                               "oe_ratio", "ci_lower", "ci_upper"]].round(3)

# %% [markdown]
# The intervals of neighbouring places overlap: most places could swap with next
# year's data alone. A league table forces an order on everyone and always has a
# "worst" practice. The useful question is different: *is a practice further from the
# expected value than chance and the usual spread between practices allow, given its
# size?* That is what a funnel plot shows.

# %% [markdown]
# ## Funnel plot: O/E against size, age band × sex standardised
#
# Each point is a practice: its O/E (vertical) against its expected number of DBCs
# (horizontal, a measure of size). The target is 1 (as expected). The limits narrow as
# the practice grows, because a large practice's O/E varies less by chance. A practice
# outside the 95 % limits happens by chance in 1 of 20; outside the 99.8 % limits in 1
# of 500. KBZ and control practices are drawn apart, so a practice sees both kinds of
# peers.

# %%
funnel = kbz.funnel(panel, practices, kind="ratio", outcome="poli_dbc_count",
                    years=[YEAR])
funnel.headline()

# %%
ax = funnel.plot()
ours = funnel.tables["units"].set_index("unit").loc[PRACTICE]
_ = ax.annotate(PRACTICE, (ours["size"], ours["value"]), xytext=(6, -12),
                textcoords="offset points")

# %%
funnel.summary()

# %% [markdown]
# ### Overdispersion: what φ and τ² mean
#
# Exact Poisson limits assume that the only reason a practice's O/E differs from 1 is
# chance, as if every DBC were an independent coin toss. Real practices differ more
# than that: in deprivation, in illness, in how nearby hospitals work. The *dispersion
# ratio* (Σz² / (n − 1)) measures it: 1 is chance alone; here the practices spread
# about 7 times more than chance. Without widening, several practices would be
# "outliers" only because all practices differ a little and large ones have narrow
# limits.
#
# Two ways to widen the limits, both estimated from the practices themselves (the most
# extreme 10 % at each end winsorised, so outliers do not inflate them):
#
# * **φ (phi), multiplicative**: every practice's chance variance is multiplied by φ,
#   so all limits widen by √φ. Large practices still get very narrow limits.
# * **τ² (tau squared), additive** (the default, random effects): practices truly
#   differ with standard deviation τ on the transformed scale, whatever their size; the
#   limits are target ± z·√(s² + τ²). For large practices the limits stop narrowing at
#   ± z·τ, so a large practice is not flagged just for being large.
#
# The transform is the square root (Spiegelhalter) by default or the log, as in the
# NHS Summary Hospital-level Mortality Indicator (SHMI). With 12 practices φ and τ²
# are imprecise, and the warning says so.

# %%
funnel.tables["dispersion"]

# %%
exact = kbz.funnel(panel, practices, outcome="poli_dbc_count", years=[YEAR],
                   overdispersion="none")
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
exact.plot(ax=axes[0]).set_title("exact Poisson limits (no overdispersion)")
ax = funnel.plot(ax=axes[1])
_ = ax.set_title("limits widened by τ² (additive)")

# %% [markdown]
# The same data with each choice of limits: which practices fall outside the 99.8 %
# limits. (Their warnings were shown above and are silenced here.)

# %%
choices = {
    "exact Poisson": {"overdispersion": "none"},
    "multiplicative φ, square root": {"overdispersion": "multiplicative"},
    "additive τ², square root": {},
    "additive τ², log (SHMI)": {"transform": "log"},
}
rows = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", kbz.StatisticalWarning)
    for name, options in choices.items():
        r = kbz.funnel(panel, practices, outcome="poli_dbc_count", years=[YEAR], **options)
        d, units = r.tables["dispersion"].iloc[0], r.tables["units"]
        rows.append({"limits": name, "phi": d["phi"], "tau2": d["tau2"],
                     "outside_95": int(units["outlier_95"].sum()),
                     "outside_99.8": int(units["outlier_998"].sum()),
                     "above_99.8": ", ".join(units.loc[units["side"] == "above", "unit"]),
                     "below_99.8": ", ".join(units.loc[units["side"] == "below", "unit"])})
pd.DataFrame(rows).round(5)

# %% [markdown]
# With exact limits, three control practices are "too high" and our practice OV07
# "too low". Once the real spread between practices is allowed for, none is outside
# the 99.8 % limits: our practice is at the low end, within the spread that practices
# of this area show.
#
# Note the pattern, though: every KBZ practice is below 1 and every control practice
# above. Part of what τ² calls "spread between practices" is the difference between
# the two groups. The funnel is not the tool to judge that difference (`dbc_index`
# and `savings` are), but it is a reminder that widened limits can make a whole group
# of practices look ordinary.

# %% [markdown]
# ## Case mix by regression
#
# Age and sex are not the whole case mix. Practices in deprived streets have more
# persons on the municipal low-income policy (*minima*), and some persons were already
# ill last year. `expected_by_regression` fits one Poisson model of DBCs on age band,
# sex, minima and the person's cost of the previous year over all practices together,
# with **no practice terms**, and sums the fitted values of each practice's persons
# into its expected value.

# %%
case_mix = kbz.expected_by_regression(panel, practices, outcome="poli_dbc_count",
                                      years=[YEAR])
case_mix.headline()

# %% [markdown]
# The model: `rate_ratio` is how much more a person with that term uses, everything
# else equal (minima about 1.6 times; persons without a previous year in the panel are
# estimated separately). Standard errors are robust, clustered by person.

# %%
case_mix.tables["model"].round(3)

# %% [markdown]
# How well the model fits. The Poisson fit has a Pearson dispersion above 1 (persons
# vary more than Poisson); the negative-binomial model (NB2) models that spread (its
# α) and has the lower AIC. The O/E ratios of the two hardly differ.

# %%
negbin = kbz.expected_by_regression(panel, practices, outcome="poli_dbc_count",
                                    years=[YEAR], model="negbin")
fit_columns = ["model", "n", "n_parameters", "deviance", "dispersion", "pseudo_r2", "aic",
               "alpha"]
pd.concat([case_mix.tables["fit"], negbin.tables["fit"]])[fit_columns].round(3)

# %%
ax = case_mix.plot()

# %% [markdown]
# The regression's observed and expected values go straight into a funnel plot.

# %%
funnel_case_mix = kbz.funnel(case_mix.tables["observed_expected"],
                             columns={"unit": "practice"})
funnel_case_mix.headline()

# %%
ax = funnel_case_mix.plot()

# %% [markdown]
# After this adjustment the dispersion ratio falls from about 7 to about 2, and KBZ
# and control practices move towards each other: most of the spread between practices
# is explained by who their persons are. Our practice stays at the low end (just
# outside the 95 % limits, inside the 99.8 % limits). One caution: last year's cost is
# partly the practice's own doing (its referrals, and for a KBZ practice the effect of
# KBZ itself). Adjusting for it can adjust real differences away. Read the age/sex
# funnel as "given who is on our list" and the regression funnel as "given also how
# poor and how ill they already were".

# %% [markdown]
# ## Caterpillar plot: shrunken estimates and rank intervals
#
# If you must order practices, order them with honest uncertainty.
# `practice_ranking` fits a random-effects model across the practices: each practice's
# true log O/E is drawn from a distribution with between-practice variance τ². Each
# practice's **shrunken** estimate is a weighted average of its own O/E and the mean of
# all practices; the weight on the mean (`shrinkage`) is se² / (se² + τ²). A small
# practice has a large se, so its estimate moves most towards the mean: a small
# practice is not put at the top or the bottom on noise. The **rank interval** says
# which places the data allow (rank 1 is the lowest O/E).

# %%
ranking = kbz.practice_ranking(panel, practices, outcome="poli_dbc_count", year=YEAR)
ranking.headline()

# %%
ax = ranking.plot()

# %%
ranking.tables["practices"].sort_values("rank")[[
    "practice", "group", "n_persons", "estimate", "ci_lower", "ci_upper", "shrunken",
    "shrunken_lower", "shrunken_upper", "shrinkage", "rank", "rank_lower",
    "rank_upper"]].round(3)

# %% [markdown]
# The spread between practices: τ (standard deviation of the true log O/E) and I², the
# share of the observed spread that is real rather than chance. REML is used;
# DerSimonian–Laird is shown for comparison.

# %%
ranking.tables["heterogeneity"].round(4)

# %% [markdown]
# Our practice has the lowest shrunken O/E, but its rank interval runs from 1 to about
# 6: the data say "among the lower half", not "first". With the case-mix regression
# the real spread between practices nearly vanishes and no practice can be placed:

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", kbz.StatisticalWarning)  # shown above
    ranking_case_mix = kbz.practice_ranking(panel, practices, outcome="poli_dbc_count",
                                            year=YEAR, adjust="regression")
ranking_case_mix.headline()

# %% [markdown]
# ## Our practice over time: XmR control chart against peers
#
# A funnel compares practices in one year. A control chart (XmR, "individuals" chart,
# as in the NHS "Making Data Count") follows one practice over time: the centre line is
# its mean, the process limits are ± 2.66 × the mean moving range (the typical change
# from one period to the next). Special causes: a point outside the limits, a run of 7
# on one side of the centre, a trend of 6 rising or falling, two of three near a limit.
# The dotted lines are the peers: the other KBZ practices and the control practices.

# %%
trend = kbz.practice_trends(panel, practices, indicator="poli_dbc_count",
                            practice=PRACTICE)
trend.headline()

# %%
ax = trend.plot()

# %%
trend.tables["signals"]

# %% [markdown]
# The chart flags 2015–2016 as a concern: our rate rose. The peers put that in
# context: the other KBZ practices rose more, and the control practices much more, so
# the whole area rose and our practice less than its peers. A special cause says
# *something changed*, not *we did worse than others*.

# %%
trend.tables["peers"].pivot(index="year", columns="peer_group", values="value").assign(
    **{PRACTICE: trend.tables["series"].set_index("year")["value"]}).round(3)

# %% [markdown]
# KBZ started at our practice in 2014, so the limits should be re-based there: the
# years before and after each get their own centre and limits. With yearly data that
# leaves 2 and 3 points, far below the 12 that "Making Data Count" advises: the warning
# says so, and the limits are provisional at best.

# %%
rebased = kbz.practice_trends(panel, practices, indicator="poli_dbc_count",
                              practice=PRACTICE, rebase_at="kbz_start")
rebased.headline()

# %%
rebased.tables["limits"].round(4)

# %% [markdown]
# ### Monthly data: enough points for a real control chart
#
# `kbz.xmr` charts any series. Here the practice's outpatient DBCs per month, counted
# by the panel's rules (one DBC per claim id, basic package only: codes 16* and 17*
# left out, the month of the start date), per 1,000 insured years, so that short and
# long months compare. That gives 24 points before KBZ and 36 after.

# %%
start_year = practices.set_index("practice_id").loc[PRACTICE, "kbz_start_year"]
lines = sample["claim_lines"]
dbc = lines[lines["care_type"] == "poli_dbc"].drop_duplicates("claim_id")
dbc = dbc[~dbc["declaration_code"].fillna("").str.startswith(("16", "17"))]
dbc = dbc.assign(year=dbc["start_date"].dt.year, month=dbc["start_date"].dt.to_period("M"))
ours = panel[panel["practice_id"] == PRACTICE]
count = dbc.merge(ours[["person_id", "year"]], on=["person_id", "year"]).groupby(
    "month").size()
days_in_year = 365 + count.index.start_time.is_leap_year.astype(int)
insured_years = (ours.groupby("year")["insured_days"].sum().reindex(count.index.year)
                 .to_numpy() / days_in_year * count.index.days_in_month / days_in_year)
rate = 1000 * count / insured_years
monthly = kbz.xmr(rate, improvement="decrease",
                  rebase_at=None if pd.isna(start_year) else pd.Period(
                      f"{int(start_year)}-01", "M"),
                  label="outpatient DBCs per 1,000 insured years")
monthly.headline()

# %%
fig, ax = plt.subplots(figsize=(10, 4.5))
ax = monthly.plot(ax=ax)
ax.set_title(f"Practice {PRACTICE}: XmR chart by month, limits re-based at the KBZ start")
_ = ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))

# %%
monthly.tidy()[["term", "estimate", "n"]].round(1)

# %%
monthly.tables["signals"]

# %% [markdown]
# Before KBZ one month falls below the lower limit; since the KBZ start every month
# is inside the limits (common-cause variation), around a centre about 2 % higher than
# before. So the yearly "concern" is a small rise that the monthly chart does not
# single out, and smaller than the rise of the peers. Rates are per insured year, so
# February is not "low" just for being short.

# %% [markdown]
# ## Reading "inside the limits" honestly
#
# * Inside the limits means **common-cause variation**: the data do not show this
#   practice to differ from its peers (funnel) or from its own past (XmR) by more than
#   the usual noise. It is **not proof of equal quality**: 12 practices and one year
#   give wide limits, and a real difference of a few percent hides inside them.
# * Outside the limits means **look closer**, not "bad practice": check the data (a
#   coding change, a new hospital contract), then the case mix, then care.
# * The limits depend on choices shown above (overdispersion, transform, adjustment).
#   Say which were used.
# * An XmR chart ignores how many persons are behind each point and does not adjust
#   for case mix; a funnel does both but shows one period. Use them together.
# * More DBCs is not automatically worse care: the indicator is use, not outcome.

# %% [markdown]
# ## Another indicator: the spread of prescribing efficiency (IVM)
#
# Some indicators come per practice already, like the IVM prescribing-efficiency score
# (0–100 %). `indicator_spread` shows every practice's score per year with the range and
# the quartiles of its group.

# %%
ivm = kbz.indicator_spread(sample["practice_indicators"], practices=practices)
ivm.headline()

# %%
scores = sample["practice_indicators"]
ours = scores[(scores["practice_id"] == PRACTICE)
              & (scores["indicator"] == "ivm")].sort_values("year")
group = practices.set_index("practice_id").loc[PRACTICE, "group"]
drawn = ivm.plot_data()
shift = (drawn["x"] - drawn["year"])[drawn["group"] == group].iloc[0]
ax = ivm.plot()
ax.plot(ours["year"] + shift, ours["score_percent"], color="black", marker="*",
        markersize=10, label=f"practice {PRACTICE}")
_ = ax.legend(frameon=False, fontsize="small")

# %%
ours.pivot(index="practice_id", columns="year", values="score_percent")

# %% [markdown]
# Our practice started at the top in 2012 and rose slowly; by 2016 most KBZ practices
# had passed it, though it is still above every control practice. The spread is
# descriptive: no limits, no test (the practices are the whole population of interest).

# %% [markdown]
# ## The small-cell rule
#
# Published outputs never show a cell of fewer than 10 persons. This notebook works on
# person-level data, locally, so it shows everything; the report (`make report`)
# suppresses small cells, and a second cell with them, so that no small cell can be
# recovered by subtraction from a total. All tables above rest on hundreds to
# thousands of persons (`n_persons`). Small cells come quickly when you narrow down,
# for example to minima with specialist mental health care (GGZ) per practice:

# %%
ggz = kbz.funnel(panel, practices, kind="proportion", outcome="ggz_count",
                 population="minima", years=[YEAR])
ggz.headline()

# %%
cells = ggz.tables["units"][["unit", "group", "n_persons", "observed", "value"]]
cells = cells.assign(without=cells["n_persons"] - cells["observed"])
published, suppressed = suppress_small_cells(
    cells, counts=("n_persons", "observed", "without"))
published.assign(suppressed=suppressed)

# %% [markdown]
# One practice has fewer than 10 minima with GGZ care, so its row is withheld; a second
# row is withheld too, or the first could be recovered from the total of all
# practices. Keep the small-cell rule in mind before copying any number from this
# notebook into a document.

# %%
print(funnel.method)
