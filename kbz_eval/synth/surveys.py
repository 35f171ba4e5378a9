"""Synthetic survey and indicator tables: CVG, staff survey, 4D conversations,
neighbourhood-specialist consults, IVM practice indicators and the health monitor.

Each table has its own random stream; ``calibrate`` switches the small deterministic
adjustments that make the default sample hit the published figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kbz_eval.synth import params as P
from kbz_eval.synth.population import PRACTICE_IDS, PRACTICE_KBZ, PRACTICE_STOCK

T = P.TARGETS


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(np.asarray(numbers).astype(np.str_), width))


def _top_k_weighted(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of a weighted sample of ``k`` without replacement (Gumbel top-k), sorted."""
    keys = np.log(weights) + rng.gumbel(size=weights.size)
    return np.sort(np.argsort(-keys, kind="stable")[:k])


def _shift_to_sum(rng: np.random.Generator, marks: np.ndarray, target: int) -> np.ndarray:
    """Move single marks by one point until they sum to ``target`` (staying in 1–10)."""
    marks = marks.copy()
    for _ in range(100):
        diff = int(target - marks.sum())
        if diff == 0:
            break
        step = 1 if diff > 0 else -1
        movable = np.flatnonzero((marks < 10) if step > 0 else (marks > 1))
        pick = rng.choice(movable, size=min(abs(diff), movable.size), replace=False)
        marks[pick] += step
    return marks


def cvg_frame(rng: np.random.Generator, *, calibrate: bool) -> pd.DataFrame:
    """CVG marks of patients followed at KBZ practices (``cvg`` table).

    Notes
    -----
    Each patient has a latent health mark (normal); the true mean rises by
    ``CVG_TRUE_IMPROVEMENT`` at measurements 2 and 3. Of the 50 patients, 44 are measured
    a second time and 20 a third time; the chance of staying is larger for patients with a
    higher first latent mark (weights ``exp(slope * z)``), so the complete-case means at
    measurement 3 overstate the improvement. Calibration moves single marks by one point
    so the means are 4.7 / 5.7 / 6.1 (sums 235, 251, 122). The GP mark is the patient's
    mark plus normal noise (mean ``CVG_GP_SHIFT``, sd ``CVG_GP_NOISE_SD``), rounded.
    """
    n = P.CVG_N_PATIENTS
    # calibration draws from its own generator, so the other draws do not depend on it
    shift_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    kbz = np.flatnonzero(PRACTICE_KBZ)
    w = PRACTICE_STOCK[kbz] / PRACTICE_STOCK[kbz].sum()
    practice = PRACTICE_IDS[kbz[rng.choice(kbz.size, n, p=w)]]
    theta = rng.normal(P.CVG_BASELINE_MEAN, P.CVG_BASELINE_SD, n)
    z = (theta - theta.mean()) / theta.std()
    second = _top_k_weighted(rng, np.exp(P.CVG_DROPOUT_SLOPE_SECOND * z), P.CVG_N_SECOND)
    third_w = np.exp(P.CVG_DROPOUT_SLOPE_THIRD * z[second])
    third = second[_top_k_weighted(rng, third_w, P.CVG_N_THIRD)]

    first_lo, first_hi = (np.datetime64(d, "D") for d in P.CVG_FIRST_DATE_RANGE)
    day1 = first_lo + rng.integers(0, int((first_hi - first_lo).astype(int)) + 1, n)
    gaps = rng.integers(P.CVG_GAP_DAYS[0], P.CVG_GAP_DAYS[1] + 1, (n, 2))
    dates = [day1, day1 + gaps[:, 0], day1 + gaps[:, 0] + gaps[:, 1]]

    rows = []
    for m, members in enumerate((np.arange(n), second, third)):
        raw = theta[members] + P.CVG_TRUE_IMPROVEMENT[m] + rng.normal(0, P.CVG_NOISE_SD,
                                                                       members.size)
        marks = np.clip(np.rint(raw), 1, 10).astype(int)
        if calibrate:
            marks = _shift_to_sum(shift_rng, marks,
                                  int(round(T.cvg_means[m] * members.size)))
        rows.append(pd.DataFrame({"patient": members, "measurement": m + 1,
                                  "date": dates[m][members], "cvg_patient": marks}))
    frame = pd.concat(rows, ignore_index=True)
    gp = np.clip(np.rint(frame["cvg_patient"].to_numpy()
                         + rng.normal(P.CVG_GP_SHIFT, P.CVG_GP_NOISE_SD, len(frame))), 1, 10)
    gp = pd.array(gp.astype(int), dtype="Int64")
    gp[rng.choice(len(frame), P.CVG_GP_MISSING, replace=False)] = pd.NA
    frame["cvg_gp"] = gp
    frame = frame.sort_values(["patient", "measurement"], kind="stable", ignore_index=True)
    patient = frame["patient"].to_numpy()
    return pd.DataFrame({
        "person_id": pd.Series(_ids("CVG", patient + 1, 3), dtype="str"),
        "practice_id": pd.Series(practice[patient], dtype="str"),
        "measurement": frame["measurement"].astype("int64").to_numpy(),
        "date": frame["date"].to_numpy().astype("datetime64[us]"),
        "cvg_patient": frame["cvg_patient"].astype("int64").to_numpy(),
        "cvg_gp": frame["cvg_gp"].array,
    })


def workforce_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Staff survey at every practice, three yearly waves (``workforce`` table).

    Notes
    -----
    Wave 1 is the baseline. Each practice has ``WORKFORCE_STAFF_BASE + stock / 500``
    staff; between waves each leaves with probability ``WORKFORCE_TURNOVER`` and is
    replaced by a new respondent; each present member responds with probability
    ``WORKFORCE_RESPONSE``. Marks: group mean + person effect + slope × (wave − 1) +
    noise, rounded to whole marks and clipped to 1–10; the slopes per group are the
    planted effect (KBZ: lower workload, higher satisfaction over time). About 2 % of
    marks are missing.
    """
    n_staff = P.WORKFORCE_STAFF_BASE + np.rint(PRACTICE_STOCK / P.WORKFORCE_STAFF_PER_PERSONS)
    practice = np.repeat(np.arange(PRACTICE_IDS.size), n_staff.astype(int))
    present = np.ones(practice.size, bool)
    roster_practice, roster_wave, roster_person = [], [], []
    for wave in range(1, P.WORKFORCE_WAVES + 1):
        if wave > 1:
            leave = present & (rng.random(practice.size) < P.WORKFORCE_TURNOVER)
            present = present & ~leave
            practice = np.concatenate([practice, practice[leave]])
            present = np.concatenate([present, np.ones(int(leave.sum()), bool)])
        idx = np.flatnonzero(present)
        roster_person.append(idx)
        roster_practice.append(practice[idx])
        roster_wave.append(np.full(idx.size, wave))
    person = np.concatenate(roster_person)
    wave = np.concatenate(roster_wave)
    prac = np.concatenate(roster_practice)
    n_persons = practice.size
    role = np.asarray(P.WORKFORCE_ROLES)[
        rng.choice(len(P.WORKFORCE_ROLES), n_persons, p=P.WORKFORCE_ROLE_WEIGHTS)]
    eff_w = rng.normal(0, P.WORKFORCE_PERSON_SD, n_persons)
    eff_s = rng.normal(0, P.WORKFORCE_PERSON_SD, n_persons)
    responds = rng.random(person.size) < P.WORKFORCE_RESPONSE
    person, wave, prac = person[responds], wave[responds], prac[responds]
    kbz = PRACTICE_KBZ[prac]
    t = wave - 1
    slope_w = np.where(kbz, P.WORKFORCE_WORKLOAD_SLOPE_KBZ, P.WORKFORCE_WORKLOAD_SLOPE_CONTROL)
    slope_s = np.where(kbz, P.WORKFORCE_SATISFACTION_SLOPE_KBZ,
                       P.WORKFORCE_SATISFACTION_SLOPE_CONTROL)
    workload = (P.WORKFORCE_WORKLOAD_MEAN + eff_w[person] + slope_w * t
                + rng.normal(0, P.WORKFORCE_NOISE_SD, person.size))
    satisfaction = (P.WORKFORCE_SATISFACTION_MEAN + eff_s[person] + slope_s * t
                    + rng.normal(0, P.WORKFORCE_NOISE_SD, person.size))
    workload = np.clip(np.rint(workload), 1, 10)
    satisfaction = np.clip(np.rint(satisfaction), 1, 10)
    workload[rng.random(person.size) < P.WORKFORCE_MISSING_SHARE] = np.nan
    satisfaction[rng.random(person.size) < P.WORKFORCE_MISSING_SHARE] = np.nan
    order = np.lexsort((wave, person))
    return pd.DataFrame({
        "respondent_id": pd.Series(_ids("R", person[order] + 1, 4), dtype="str"),
        "practice_id": pd.Series(PRACTICE_IDS[prac[order]], dtype="str"),
        "wave": wave[order].astype("int64"),
        "role": pd.Series(role[person[order]], dtype="str"),
        "workload": workload[order].astype("float64"),
        "job_satisfaction": satisfaction[order].astype("float64"),
    })


def conversations_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Ratings of 4D conversations by patients and professionals (``conversations``).

    Notes
    -----
    Every respondent rates every item of ``CONVERSATION_ITEMS`` once; ratings are drawn
    from ``CONVERSATION_RATING_PROBS`` (share 4–5 = the planted positive share: 0.80 for
    patients, 0.75 for professionals).
    """
    parts = []
    for rtype, n in P.CONVERSATION_RESPONDENTS.items():
        m = n * len(P.CONVERSATION_ITEMS)
        rating = 1 + rng.choice(5, m, p=P.CONVERSATION_RATING_PROBS[rtype])
        parts.append(pd.DataFrame({
            "respondent_type": rtype,
            "item": np.tile(np.asarray(P.CONVERSATION_ITEMS), n),
            "rating": rating.astype("int64"),
        }))
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"respondent_type": "str", "item": "str"})


def consults_frame(rng: np.random.Generator, *, calibrate: bool) -> pd.DataFrame:
    """Neighbourhood-specialist consultations (``consults``).

    Notes
    -----
    Specialism drawn with ``CONSULT_SPECIALISM_WEIGHTS``; a referral is avoided with
    probability 2/3. Calibration flips randomly chosen consultations so that exactly
    ``round(2/3 × n)`` avoided a referral.
    """
    n = P.CONSULT_N
    spec = np.asarray(P.CONSULT_SPECIALISMS)[
        rng.choice(len(P.CONSULT_SPECIALISMS), n, p=P.CONSULT_SPECIALISM_WEIGHTS)]
    avoided = rng.random(n) < P.CONSULT_REFERRAL_AVOIDED
    if calibrate:
        diff = int(round(T.referral_avoided_share * n)) - int(avoided.sum())
        pool = np.flatnonzero(~avoided if diff > 0 else avoided)
        avoided[rng.choice(pool, abs(diff), replace=False)] = diff > 0
    return pd.DataFrame({
        "consult_id": pd.Series(_ids("WS", np.arange(1, n + 1), 3), dtype="str"),
        "specialism": pd.Series(spec, dtype="str"),
        "referral_avoided": avoided,
    })


def _rescale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return lo + (values - values.min()) * (hi - lo) / (values.max() - values.min())


def practice_indicators_frame(rng: np.random.Generator, *, calibrate: bool) -> pd.DataFrame:
    """IVM prescribing-efficiency score per practice and year (``practice_indicators``).

    Notes
    -----
    KBZ practices: a 2013 score and a higher, less spread 2016 score (correlated with
    2013); 2012 a little below 2013, 2014 and 2015 on the way from 2013 to 2016.
    Calibration rescales the KBZ scores of 2013 linearly to 30–74 and of 2016 to 74–90
    (the published ranges). Controls improve by ``IVM_CONTROL_GROWTH`` points a year.
    All scores are whole percentages.
    """
    kbz = np.flatnonzero(PRACTICE_KBZ)
    ctrl = np.flatnonzero(~PRACTICE_KBZ)
    s13 = rng.normal(P.IVM_KBZ_2013_MEAN, P.IVM_KBZ_2013_SD, kbz.size)
    z = (s13 - s13.mean()) / s13.std()
    r = P.IVM_KBZ_2013_2016_CORRELATION
    s16 = P.IVM_KBZ_2016_MEAN + P.IVM_KBZ_2016_SD * (r * z + np.sqrt(1 - r**2)
                                                     * rng.standard_normal(kbz.size))
    if calibrate:
        s13 = _rescale(s13, *T.ivm_range_2013)
        s16 = _rescale(s16, *T.ivm_range_2016)
    s13, s16 = np.rint(s13), np.rint(s16)
    noise = rng.normal(0, P.IVM_NOISE_SD, (kbz.size, 3))
    path14, path15 = P.IVM_PATH_SHARE
    kbz_scores = np.column_stack([
        s13 - rng.uniform(0, P.IVM_2012_DROP_MAX, kbz.size), s13,
        s13 + path14 * (s16 - s13) + noise[:, 1], s13 + path15 * (s16 - s13) + noise[:, 2],
        s16,
    ])
    base = rng.normal(P.IVM_CONTROL_2012_MEAN, P.IVM_CONTROL_2012_SD, ctrl.size)
    ctrl_scores = (base[:, None] + P.IVM_CONTROL_GROWTH * np.arange(len(P.YEARS))[None, :]
                   + rng.normal(0, P.IVM_NOISE_SD, (ctrl.size, len(P.YEARS))))
    scores = np.empty((PRACTICE_IDS.size, len(P.YEARS)))
    scores[kbz], scores[ctrl] = kbz_scores, ctrl_scores
    scores = np.clip(np.rint(scores), 0, 100)
    return pd.DataFrame({
        "practice_id": pd.Series(np.repeat(PRACTICE_IDS, len(P.YEARS)), dtype="str"),
        "year": np.tile(np.asarray(P.YEARS), PRACTICE_IDS.size).astype("int64"),
        "indicator": pd.Series([P.IVM_INDICATOR] * scores.size, dtype="str"),
        "score_percent": scores.ravel().astype("float64"),
    })


def monitor_frame() -> pd.DataFrame:
    """The published health-monitor percentages (``monitor``), ``n`` assumed.

    Notes
    -----
    Good self-rated health (adults, VMU): Overvecht 77 % (2014) → 62 % (2016), Utrecht
    90 % → 81 %. Exercise norm: Overvecht 53 % → 59 %, Utrecht 61 % → 64 %; the seeds do
    not give the years of the exercise-norm figure, 2014 and 2016 are assumed. ``n`` is
    not published: 700 (Overvecht) and 4,000 (Utrecht) are assumptions, flagged by
    ``n_is_assumed``.
    """
    rows = sorted(P.MONITOR_ROWS, key=lambda r: (r[0], r[3], r[2]))
    area, area_type, year, indicator, percent = (list(c) for c in zip(*rows, strict=True))
    return pd.DataFrame({
        "area": pd.Series(area, dtype="str"),
        "area_type": pd.Series(area_type, dtype="str"),
        "year": np.asarray(year, dtype="int64"),
        "indicator": pd.Series(indicator, dtype="str"),
        "percent": np.asarray(percent, dtype="float64"),
        "n": pd.array([P.MONITOR_ASSUMED_N[a] for a in area], dtype="Int64"),
        "n_is_assumed": np.ones(len(rows), dtype=bool),
    })
