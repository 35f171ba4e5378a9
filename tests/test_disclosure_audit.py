"""The disclosure audit: an attacker with every file of the report tries to recover the
suppressed cells.

Extracts are built from the synthetic sample with small groups planted in every
dimension the survey analyses publish: a role of 7 professionals in one wave and a
practice of 6 (workforce: role, practice, group and wave margins), 6 patients at the
third CVG measurement (measurement), small rating and difference categories
(conversation ratings, GP–patient agreement: distributions of individual values) and a
specialism of 6 consults (category with a total row). The report is run in English and
in Dutch, and everything it publishes is read back: table CSVs, figure CSVs, both
workbooks and the HTML pages.

Attacks, each over every suppressed cell:

* *cross-channel*: the same cell shown in another file, format or language;
* *exact value*: the true value of a small cell (computed here from the microdata)
  appearing as any published number;
* *linear differencing*: for the tables whose cells are sums over the microdata, every
  published cell (and the grand totals) is written as a linear functional of the
  finest cells of the microdata, and a suppressed small cell is recoverable when its
  vector lies in the span of the published ones (rank test, tolerance 1e-8);
* *moments*: for distributions of individual values, the published total, mean, SD,
  shares and shown categories are used the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kbz_eval.disclosure import SUPPRESSED_LABEL
from kbz_eval.report import run_report
from kbz_eval.synth import write_sample

THRESHOLD = 10
RANK_TOL = 1e-8
LABELS = set(SUPPRESSED_LABEL.values())


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _plant_small_groups(folder: Path) -> dict[str, pd.DataFrame]:
    """Rewrite the survey extracts of ``folder`` with small groups; returns them."""
    rng = np.random.default_rng(11)
    wf = _read(folder / "workforce.csv")
    # one role kept at 7 respondents in wave 2; one practice at 6 in wave 1
    role = "POH-GGZ" if "POH-GGZ" in set(wf["role"]) else sorted(set(wf["role"]))[0]
    in_role = wf.index[(wf["role"] == role) & (wf["wave"] == 2)]
    wf = wf.drop(in_role[7:])
    if (wf["role"] == role).sum() == 0 or ((wf["role"] == role) & (wf["wave"] == 2)).sum() < 7:
        extra = wf[wf["wave"] == 2].head(7).copy()
        extra["role"] = role
        extra["respondent_id"] = [f"RX{i:03d}" for i in range(7)]
        wf = pd.concat([wf, extra])
    practice = "OV05"
    at = wf.index[(wf["practice_id"] == practice) & (wf["wave"] == 1)]
    wf = wf.drop(at[6:])
    _write(wf, folder / "workforce.csv")

    cvg = _read(folder / "cvg.csv")
    third = cvg.index[cvg["measurement"] == 3]
    cvg = cvg.drop(third[6:])
    _write(cvg, folder / "cvg.csv")

    conv = _read(folder / "conversations.csv")
    # rating 1 of one professional item made rare (3 ratings)
    pick = (conv["respondent_type"] == "professional") & (conv["rating"] == 1)
    item = conv.loc[pick, "item"].iloc[0] if pick.any() else conv["item"].iloc[0]
    sel = conv.index[(conv["respondent_type"] == "professional") & (conv["item"] == item)]
    conv.loc[sel, "rating"] = rng.choice([2, 3, 4, 5], size=len(sel))
    conv.loc[sel[:3], "rating"] = 1
    _write(conv, folder / "conversations.csv")

    consults = _read(folder / "consults.csv")
    spec = consults["specialism"].value_counts().index[-1]
    rows = consults.index[consults["specialism"] == spec]
    consults = consults.drop(rows[6:])
    _write(consults, folder / "consults.csv")
    return {"workforce": wf, "cvg": cvg, "conversations": conv, "consults": consults,
            "role": role, "practice": practice, "item": item, "specialism": spec}


def _config(folder: Path, sample: Path, language: str) -> Path:
    inputs = ["practices", "cvg", "workforce", "conversations", "consults"]
    lines = [
        "[report]", f'title = "Disclosure audit ({language})"', f'language = "{language}"',
        f"suppression_threshold = {THRESHOLD}", "[inputs]",
        *[f'{t} = "{(sample / f"{t}.csv").as_posix()}"' for t in inputs],
        "[analysis]", "bootstrap_replicates = 199", "seed = 7",
    ]
    path = folder / f"audit_{language}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    base = tmp_path_factory.mktemp("audit")
    sample = base / "sample"
    write_sample(sample)
    planted = _plant_small_groups(sample)
    reports = {lang: run_report(_config(base, sample, lang), base / f"report_{lang}",
                                progress=False)
               for lang in ("en", "nl")}
    return planted, reports


# ---------------------------------------------------------------------------- reading


def _tables(report: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted(report.glob("tables/*.csv")) + sorted(report.glob("figures/*.csv")):
        out[path.relative_to(report).as_posix()] = pd.read_csv(path, dtype=str,
                                                              keep_default_na=False)
    return out


def _sheets(report: Path) -> list[pd.DataFrame]:
    """Every table sheet, with the technical column names the contents sheet lists."""
    wb = openpyxl.load_workbook(report / "report.xlsx", read_only=True)
    contents = list(wb.worksheets[0].values)[1:]
    out = []
    for row in contents:
        sheet, columns = row[1], row[5]
        if columns:
            rows = list(wb[sheet].values)
            out.append(pd.DataFrame(rows[1:], columns=columns.split(", ")))
    return out


def _hidden(frame: pd.DataFrame) -> np.ndarray:
    return frame.isin(LABELS).to_numpy()


def _numbers(report: Path) -> np.ndarray:
    """Every number any file of the report publishes (CSV cells, sheets, HTML text)."""
    values: list[float] = []
    for frame in [*_tables(report).values(), *_sheets(report)]:
        num = frame.apply(lambda c: pd.to_numeric(c, errors="coerce")).to_numpy(float)
        values += list(num[np.isfinite(num)])
    text = (report / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<img[^>]*>", "", text)
    for token in re.findall(r"[−-]?\d+(?:[.,]\d+)?", text):
        values.append(float(token.replace("−", "-").replace(",", ".")))
    return np.asarray(values)


def _cell(frame: pd.DataFrame, **keys: object) -> pd.Series:
    hit = frame
    for k, v in keys.items():
        hit = hit[hit[k].astype(str) == str(v)]
    assert len(hit) == 1, (keys, len(hit))
    return hit.iloc[0]


# ---------------------------------------------------------------------------- linear


def _recoverable(published: list[np.ndarray], targets: dict[str, np.ndarray]) -> list[str]:
    """Targets whose vector lies in the span of the published vectors."""
    if not published:
        return []
    a = np.vstack(published).T  # finest cells x published
    found = []
    for name, t in targets.items():
        coef, *_ = np.linalg.lstsq(a, t, rcond=None)
        if np.linalg.norm(a @ coef - t) < RANK_TOL * max(1.0, np.linalg.norm(t)):
            found.append(name)
    return found


def _shown(frame: pd.DataFrame, row: pd.Series) -> bool:
    return not row.isin(LABELS).any()


# ---------------------------------------------------------------------------- tests


def test_small_groups_were_planted_and_suppressed(audit):
    planted, reports = audit
    t = _tables(reports["en"])
    role = _cell(t["tables/workforce_change__means_by_role.csv"], measure="workload",
                 wave=2, role=planted["role"])
    assert role["n"] in LABELS
    loc = _cell(t["tables/workforce_change__means_by_location.csv"], measure="workload",
                wave=1, practice_id=planted["practice"])
    assert loc["n"] in LABELS
    assert _cell(t["tables/cvg_trajectory__means.csv"], measurement=3)["mean"] in LABELS
    # the completers' change rests on the same few patients, whatever its column is called
    change = _cell(t["tables/cvg_trajectory__change.csv"], measurement=3)
    assert change["n_completers"] in LABELS and change["completers_estimate"] in LABELS
    assert _cell(t["tables/referrals_avoided__shares.csv"],
                 specialism=planted["specialism"])["n"] in LABELS
    dist = t["tables/conversation_ratings__distribution.csv"]
    line = dist[(dist["respondent_type"] == "professional") & (dist["item"] == planted["item"])]
    assert line["count"].isin(LABELS).all(), "a distribution with a small category is whole"


def test_no_cell_is_shown_in_one_channel_and_hidden_in_another(audit):
    _, reports = audit
    en, nl = _tables(reports["en"]), _tables(reports["nl"])
    assert en.keys() == nl.keys()
    compared = 0
    for name, frame in en.items():
        other = nl[name]
        assert frame.shape == other.shape, name
        assert (_hidden(frame) == _hidden(other)).all(), f"{name}: en and nl hide different cells"
        compared += int(_hidden(frame).sum())
    assert compared > 50
    for lang, report in reports.items():
        tables = _tables(report)
        matched = 0
        for sheet in _sheets(report):
            for name, frame in tables.items():
                if (list(frame.columns) == list(sheet.columns) and len(frame) == len(sheet)
                        and name.startswith("tables/")
                        and (sheet.iloc[:, 0].astype(str).to_numpy()
                             == frame.iloc[:, 0].astype(str).to_numpy()).all()):
                    hidden_sheet = sheet.astype(object).isin(LABELS).to_numpy()
                    assert (hidden_sheet == _hidden(frame)).all(), (lang, name)
                    matched += 1
                    break
        assert matched >= 15, (lang, matched)


def test_no_small_cell_value_is_published_anywhere(audit):
    planted, reports = audit
    wf, cvg = planted["workforce"], planted["cvg"]
    secrets = {}
    role = wf[(wf["role"] == planted["role"]) & (wf["wave"] == 2)]
    secrets["role mean workload"] = role["workload"].mean()
    secrets["role mean satisfaction"] = role["job_satisfaction"].mean()
    loc = wf[(wf["practice_id"] == planted["practice"]) & (wf["wave"] == 1)]
    secrets["practice mean workload"] = loc["workload"].mean()
    third = cvg[cvg["measurement"] == 3]
    secrets["CVG mean at 3"] = third["cvg_patient"].mean()
    cons = planted["consults"]
    small = cons[cons["specialism"] == planted["specialism"]]
    secrets["specialism share avoided"] = small["referral_avoided"].astype(str).eq("True").mean()
    for lang, report in reports.items():
        numbers = _numbers(report)
        for what, value in secrets.items():
            if abs(value) < 1e-9 or float(value).is_integer():
                continue  # integers and zero are everywhere; the linear tests cover them
            close = np.isclose(numbers, value, rtol=0, atol=5e-10 * max(1, abs(value)))
            assert not close.any(), f"{lang}: {what} = {value} is published"
        text = (report / "report.html").read_text(encoding="utf-8")
        for pattern in (r"\b6 (?:patients|patiënten)", r"\b7 (?:professionals|respondents)"):
            assert not re.search(pattern, text), (lang, pattern)


def test_workforce_cells_cannot_be_recovered_by_differencing(audit):
    """Group, practice and role tables of one measure and wave partition the same
    respondents: every shown cell and the grand total are linear functionals of the
    (practice, role) cells; no small cell may lie in their span."""
    planted, reports = audit
    wf = planted["workforce"]
    practices = _read(reports["en"].parent / "sample" / "practices.csv")
    group_of = dict(zip(practices["practice_id"], practices["group"], strict=True))
    t = _tables(reports["en"])
    tables = {
        "group": (t["tables/workforce_change__means.csv"], "group"),
        "practice_id": (t["tables/workforce_change__means_by_location.csv"], "practice_id"),
        "role": (t["tables/workforce_change__means_by_role.csv"], "role"),
    }
    checked = 0
    for (measure, wave), part in wf.groupby([pd.Series("workload", index=wf.index),
                                             wf["wave"]]):
        cells = part.assign(group=part["practice_id"].map(group_of))
        finest = cells.groupby(["practice_id", "role"]).size().index
        fin = pd.DataFrame(list(finest), columns=["practice_id", "role"])
        fin["group"] = fin["practice_id"].map(group_of)
        published = [np.ones(len(fin))]  # the grand total is known
        targets = {}
        for dim, (frame, col) in tables.items():
            rows = frame[(frame["measure"] == measure) & (frame["wave"] == str(wave))]
            for _, row in rows.iterrows():
                vec = (fin[dim].astype(str) == row[col]).to_numpy(float)
                if _shown(frame, row):
                    published.append(vec)
                else:
                    size = int(cells[cells[dim].astype(str) == row[col]].shape[0])
                    if size < THRESHOLD:
                        targets[f"{measure}/{wave}/{dim}={row[col]} (n={size})"] = vec
        assert not _recoverable(published, targets), _recoverable(published, targets)
        checked += len(targets)
    assert checked >= 2


def test_distributions_cannot_be_recovered_from_totals_and_moments(audit):
    planted, reports = audit
    for lang, report in reports.items():
        t = _tables(report)
        # GP-patient differences: total, mean (bias), SD (limits), share identical,
        # share within one mark and any shown category
        diff = t["tables/cvg_agreement__differences.csv"]
        values = pd.to_numeric(diff["difference"]).to_numpy(float)
        counts = np.asarray([planted["cvg"].eval("cvg_gp - cvg_patient").eq(v).sum()
                             for v in values])
        published = [np.ones_like(values), values, values ** 2,
                     (values == 0).astype(float), (np.abs(values) <= 1).astype(float)]
        targets = {}
        for i, row in diff.iterrows():
            e = np.eye(len(values))[i]
            if _shown(diff, row):
                published.append(e)
            elif counts[i] < THRESHOLD:
                targets[f"difference {values[i]:+g} (n={counts[i]})"] = e
        assert not _recoverable(published, targets), (lang, _recoverable(published, targets))
        # conversation ratings: total, count positive (share), mean rating, shown ratings
        dist = t["tables/conversation_ratings__distribution.csv"]
        for (rtype, item), line in dist.groupby(["respondent_type", "item"]):
            r = pd.to_numeric(line["rating"]).to_numpy(float)
            published = [np.ones_like(r), (r >= 4).astype(float), r]
            targets = {}
            for i, (_, row) in enumerate(line.iterrows()):
                e = np.eye(len(r))[i]
                if _shown(line, row):
                    published.append(e)
                else:
                    targets[f"{rtype}/{item}/rating {r[i]:g}"] = e
            assert not _recoverable(published, targets), (lang, rtype, item)


def test_category_with_a_total_row_cannot_be_recovered(audit):
    planted, reports = audit
    shares = _tables(reports["en"])["tables/referrals_avoided__shares.csv"]
    names = [s for s in shares["specialism"] if s != "all"]
    published, targets = [], {}
    for _, row in shares.iterrows():
        vec = (np.ones(len(names)) if row["specialism"] == "all"
               else np.asarray([float(n == row["specialism"]) for n in names]))
        if _shown(shares, row):
            published.append(vec)
        else:
            targets[row["specialism"]] = vec
    assert planted["specialism"] in targets
    assert not _recoverable(published, targets)


def test_the_attack_finds_a_leak_when_secondary_suppression_is_off(audit, monkeypatch):
    """The audit has teeth: without complementary suppression the planted role is
    recovered by differencing."""
    planted, reports = audit
    t = _tables(reports["en"])
    frame = t["tables/workforce_change__means_by_role.csv"].copy()
    rows = frame[(frame["measure"] == "workload") & (frame["wave"] == "2")]
    roles = rows["role"].tolist()
    # an attacker's view if only the primary cell were hidden: every other role shown
    published = [np.ones(len(roles))] + [np.eye(len(roles))[i] for i, r in enumerate(roles)
                                         if r != planted["role"]]
    target = {planted["role"]: np.eye(len(roles))[roles.index(planted["role"])]}
    assert _recoverable(published, target) == [planted["role"]]


# ---------------------------------------------------------------------------- claims

SMALL_PRACTICE_PATIENTS = 6


@pytest.fixture(scope="module")
def claims_audit(tmp_path_factory):
    """A control practice left with 6 GGZ patients in 2016 (practice dimension of the
    claims analyses), run through the whole report on claim lines."""
    base = tmp_path_factory.mktemp("claims_audit")
    sample = base / "sample"
    write_sample(sample)
    practices = _read(sample / "practices.csv")
    periods = _read(sample / "insured_periods.csv")
    lines = pd.read_parquet(sample / "claim_lines.parquet")
    practice = practices.loc[practices["group"] == "control", "practice_id"].iloc[0]
    persons = set(periods.loc[(periods["practice_id"] == practice)
                              & (periods["year"] == 2016), "person_id"])
    ggz = lines["care_type"].str.startswith("ggz") & (lines["start_date"].dt.year == 2016)
    patients = sorted(set(lines.loc[ggz & lines["person_id"].isin(persons), "person_id"]))
    keep = set(patients[:SMALL_PRACTICE_PATIENTS])
    drop = ggz & lines["person_id"].isin(persons) & ~lines["person_id"].isin(keep)
    lines.loc[~drop].to_parquet(sample / "claim_lines.parquet", index=False)
    text = "\n".join([
        "[report]", 'title = "Disclosure audit (claims)"', 'language = "en"',
        f"suppression_threshold = {THRESHOLD}", "[inputs]",
        f'practices = "{(sample / "practices.csv").as_posix()}"',
        f'insured_periods = "{(sample / "insured_periods.csv").as_posix()}"',
        f'claim_lines = "{(sample / "claim_lines.parquet").as_posix()}"',
        "[analysis]", "bootstrap_replicates = 199", "seed = 7", "years = [2012, 2016]",
        "base_year = 2012", "savings_year = 2015", "ggz_base_year = 2013",
        "ggz_follow_year = 2016"]) + "\n"
    (base / "claims.toml").write_text(text, encoding="utf-8")
    report = run_report(base / "claims.toml", base / "report", progress=False)
    return practice, practices, report


def test_a_small_practice_is_hidden_with_a_partner_in_every_claims_channel(claims_audit):
    practice, practices, report = claims_audit
    t = _tables(report)
    by_practice = t["tables/ggz_change__by_practice.csv"]
    row = _cell(by_practice, practice_id=practice)
    assert row["n_persons"] in LABELS and row["change"] in LABELS
    control = by_practice[by_practice["group"] == "control"]
    hidden = control[control["n_persons"].isin(LABELS)]
    assert len(hidden) >= 2, "a single hidden practice follows from the group total"
    # linear differencing: practices of the group sum to its published total
    names = control["practice_id"].tolist()
    published = [np.ones(len(names))] + [
        np.eye(len(names))[i] for i, (_, r) in enumerate(control.iterrows())
        if _shown(control, r)]
    target = {practice: np.eye(len(names))[names.index(practice)]}
    assert not _recoverable(published, target)
    # the tidy rows and the figure's data keyed by this practice are hidden too
    tidy = t["tables/ggz_change__tidy.csv"]
    for _, r in tidy[tidy["practice_id"] == practice].iterrows():
        assert r["estimate"] in LABELS
    # no channel shows the small practice's own numbers
    import kbz_eval as kbz

    panel = kbz.build_panel(pd.read_parquet(report.parent / "sample" / "claim_lines.parquet"),
                            kbz.read(report.parent / "sample" / "insured_periods.csv",
                                     table="insured_periods"))
    truth = kbz.ggz_change(panel, practices.assign(
        group=pd.Categorical(practices["group"], ["kbz", "control"])), n_boot=99, seed=7)
    own = truth.tables["by_practice"].set_index("practice_id").loc[practice]
    assert 0 < int(own["n_persons"]) < THRESHOLD
    numbers = _numbers(report)
    for col in ("cost_per_insured_year_2016", "change"):
        value = float(own[col])
        assert not np.isclose(numbers, value, rtol=0, atol=5e-10 * max(1, abs(value))).any(), col


# ------------------------------------------------------------------ practices compared
TINY_PRACTICE_PERSONS = 6


@pytest.fixture(scope="module")
def tiny_practice_audit(tmp_path_factory):
    """A control practice of 6 persons (all years), split off an existing one, run
    through the whole report: the funnel and the ranking publish one row per
    practice, with its own observed and expected values."""
    base = tmp_path_factory.mktemp("tiny_practice_audit")
    sample = base / "sample"
    write_sample(sample)
    practices = _read(sample / "practices.csv")
    periods = _read(sample / "insured_periods.csv")
    donor = practices.loc[practices["group"] == "control", "practice_id"].iloc[0]
    tiny = "OV99"
    persons = sorted(set(periods.loc[periods["practice_id"] == donor, "person_id"]))
    moved = periods["person_id"].isin(persons[:TINY_PRACTICE_PERSONS])
    periods.loc[moved, "practice_id"] = tiny
    practices = pd.concat([practices, practices[practices["practice_id"] == donor].assign(
        practice_id=tiny)], ignore_index=True)
    _write(practices, sample / "practices.csv")
    _write(periods, sample / "insured_periods.csv")
    text = "\n".join([
        "[report]", 'title = "Disclosure audit (practices)"', 'language = "en"',
        f"suppression_threshold = {THRESHOLD}", "[inputs]",
        f'practices = "{(sample / "practices.csv").as_posix()}"',
        f'insured_periods = "{(sample / "insured_periods.csv").as_posix()}"',
        f'claim_lines = "{(sample / "claim_lines.parquet").as_posix()}"',
        "[analysis]", "bootstrap_replicates = 99", "seed = 7"]) + "\n"
    (base / "practices.toml").write_text(text, encoding="utf-8")
    report = run_report(base / "practices.toml", base / "report", progress=False)
    return tiny, practices, report


@pytest.mark.slow
def test_a_tiny_practice_is_hidden_with_a_partner_in_the_funnel_and_ranking(
        tiny_practice_audit):
    """The tiny practice's row is suppressed in every table and figure of the funnel and
    the ranking, together with at least one other practice of its group (so the group
    total minus the shown practices gives only their sum), and its own O/E and expected
    values appear in no file of the report."""
    tiny, practices, report = tiny_practice_audit
    t = _tables(report)
    for path, key, count in [("tables/practice_funnel__units.csv", "unit", "n_persons"),
                             ("tables/practice_ranking__practices.csv", "practice",
                              "n_persons"),
                             ("figures/practice_ranking.csv", "practice", "n_persons")]:
        frame = t[path]
        row = _cell(frame, **{key: tiny})
        assert row[count] in LABELS, path
        same = frame[frame["group"] == "control"]
        assert same[count].isin(LABELS).sum() >= 2, path
    plot = t["figures/practice_funnel.csv"]
    assert tiny not in set(plot["unit"])  # left out of the figure and its data
    assert set(plot["unit"]) > {""}  # the other practices are drawn
    # the true values of the tiny practice, from the microdata
    import kbz_eval as kbz

    panel = kbz.build_panel(pd.read_parquet(report.parent / "sample" / "claim_lines.parquet"),
                            kbz.read(report.parent / "sample" / "insured_periods.csv",
                                     table="insured_periods"))
    truth = kbz.funnel(panel, practices).tables["units"].set_index("unit").loc[tiny]
    assert 0 < int(truth["n_persons"]) < THRESHOLD
    numbers = _numbers(report)
    # (the observed count is a small whole number that other cells show by chance; its
    # row is checked above)
    for col in ("expected", "value"):
        value = float(truth[col])
        assert not np.isclose(numbers, value, rtol=0, atol=5e-10 * max(1, abs(value))).any(), col
