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
# # kbz_eval: overview
#
# This notebook walks through the ground floor of kbz_eval on the **synthetic** sample
# that ships with it: the data contracts, reading and validating an extract, and turning
# claim lines into the person-year panel every claims analysis uses.
#
# Everything here runs on made-up data calibrated to the published Overvecht results.
# Replace `kbz.load_sample()` by `kbz.read(...)` on your own extracts.

# %%
import kbz_eval as kbz

sample = kbz.load_sample()
{name: frame.shape for name, frame in sample.items()}

# %% [markdown]
# ## Data contracts
#
# Each input table has one contract: column names, types, units, ranges and keys.

# %%
contract = kbz.tables.get_table("person_years")
[(c.name, c.dtype, c.unit, c.rule_text()) for c in contract.columns][:8]

# %% [markdown]
# ## Reading an extract
#
# `kbz.read` detects the delimiter, decimal mark and encoding, applies a mapping from the
# export's own names to the contract, refuses direct identifiers and validates every rule,
# reporting all problems at once. Here we write a Dutch-style export of the practices
# table and read it back with a mapping.

# %%
from pathlib import Path  # noqa: E402
import tempfile  # noqa: E402

folder = Path(tempfile.mkdtemp())
export = sample["practices"].rename(columns={"practice_id": "praktijk", "group": "groep"})
export.to_csv(folder / "praktijken.csv", sep=";", index=False, encoding="cp1252")
practices = kbz.read(
    folder / "praktijken.csv",
    table="practices",
    mapping={"columns": {"praktijk": "practice_id", "groep": "group"}},
)
practices.attrs["kbz_read"]["detected"]

# %% [markdown]
# ## Bad input gets one clear error

# %%
bad = sample["person_years"].head(50).copy()
bad.loc[bad.index[:3], "poli_dbc_cost"] = -10.0
bad.to_csv(folder / "bad.csv", index=False)
try:
    kbz.read(folder / "bad.csv", table="person_years")
except kbz.DataValidationError as err:
    print(err)

# %% [markdown]
# ## From claim lines to the person-year panel
#
# Re-sent claims are counted once, declaration codes 16/17 (outside the basic package)
# are left out, a claim belongs to the year it started, and persons insured without
# claims get zeros. The engine runs in DuckDB; the same code runs on Spark.

# %%
panel = kbz.build_panel(sample["claim_lines"], sample["insured_periods"])
report = panel.attrs["kbz_panel"]
{k: report[k] for k in sorted(report) if isinstance(report[k], (int, float, str))}

# %%
panel.groupby("year")[["poli_dbc_count", "poli_dbc_cost", "ggz_cost"]].sum()
