"""Drawing the open-data results: cost series, area comparisons, synthetic control and
health changes. Each function takes the result and ``ax=None`` and returns the Axes.

Areas are labelled by :func:`~kbz_eval.open_data.vektis.display_name` ("Den Haag",
"Overvecht", "Netherlands"), whether the result holds the keys or the display names."""

from __future__ import annotations

from typing import Any

from kbz_eval.open_data.standardise import COUNTRY
from kbz_eval.open_data.vektis import display_name
from kbz_eval.plotting import get_ax

_COUNTRY = display_name(COUNTRY)
_DONOR_MEAN = "donor pool mean"


def _label(area: str) -> str:
    """The display name of an area (a Vektis spelling, a StatLine code or a name)."""
    return display_name(str(area))


def cost_series(result: Any, ax: Any = None) -> Any:
    """Cost per insured year over the years: one line per area, the country in black."""
    ax = get_ax(ax)
    data = result.plot_data()
    for area, part in data.groupby("area", sort=False):
        part = part.sort_values("year")
        style = ({"color": "black", "linewidth": 2.5, "zorder": 3} if _label(area) == _COUNTRY
                 else {"linewidth": 1.5})
        ax.plot(part["year"], part["estimate"], marker="o", markersize=3, label=_label(area),
                **style)
    if len(data):
        group, method = data["cost_group"].iloc[0], data["method"].iloc[0]
        ax.set_title(f"Cost per insured year: {group} ({method})")
    ax.set_xlabel("year")
    ax.set_ylabel("EUR per insured year")
    ax.legend(fontsize="small", frameon=False)
    return ax


def area_comparison(result: Any, ax: Any = None) -> Any:
    """Areas, the country and the donor-pool mean; triangles mark KBZ rollout years."""
    ax = get_ax(ax)
    data = result.plot_data()
    for area, part in data.groupby("area", sort=False):
        part = part.sort_values("year")
        if _label(area) == _COUNTRY:
            style = {"color": "black", "linewidth": 2.5, "zorder": 3}
        elif area == _DONOR_MEAN:
            style = {"color": "grey", "linewidth": 2, "linestyle": "--", "zorder": 2}
        else:
            style = {"linewidth": 1.5}
        (line,) = ax.plot(part["year"], part["value"], label=_label(area)
                          if area != _DONOR_MEAN else area, **style)
        waves = [int(y) for y in str(part["rollout_years"].iloc[0]).split(",") if y]
        marked = part[part["year"].isin(waves)]
        if len(marked):
            ax.plot(marked["year"], marked["value"], linestyle="none", marker="^",
                    markersize=8, color=line.get_color())
    settings = getattr(result, "settings", {})
    ax.set_title(f"Cost per insured year, {settings.get('group', 'total')} "
                 f"({settings.get('method', 'direct')}); ▲ = KBZ rollout")
    ax.set_xlabel("year")
    ax.set_ylabel("EUR per insured year")
    ax.legend(fontsize="small", frameon=False)
    return ax


def synthetic_control(result: Any, ax: Any = None) -> Any:
    """Treated series against its synthetic control; dotted lines at the KBZ waves."""
    ax = get_ax(ax)
    data = result.plot_data()
    settings = result.settings
    ax.plot(data["year"], data["treated"], color="black", linewidth=2,
            label=_label(settings.get("treated", "treated")))
    ax.plot(data["year"], data["synthetic"], color="tab:blue", linestyle="--", linewidth=2,
            label="synthetic control")
    start = settings.get("treatment_year")
    for wave in settings.get("waves", [start]):
        ax.axvline(wave, color="grey", linestyle=":" if wave != start else "-", linewidth=1)
    ax.set_title(f"{_label(settings.get('treated', ''))}: synthetic control "
                 f"(start {start})")
    ax.set_xlabel("year")
    ax.set_ylabel(settings.get("outcome_label", "outcome"))
    ax.legend(fontsize="small", frameon=False)
    return ax


def synthetic_control_placebos(result: Any, ax: Any = None) -> Any:
    """Gaps of every placebo (grey) and of the treated unit (black)."""
    ax = get_ax(ax)
    gaps = result.tables["placebo_gaps"]
    treated = result.settings.get("treated")
    if treated not in gaps.columns:  # the columns carry display names
        treated = _label(treated)
    for col in gaps.columns:
        if col in ("year", treated):
            continue
        ax.plot(gaps["year"], gaps[col], color="lightgrey", linewidth=1)
    ax.plot(gaps["year"], gaps[treated], color="black", linewidth=2, label=_label(treated))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(result.settings.get("treatment_year"), color="grey", linewidth=1)
    ax.set_title("Gap to synthetic control: treated (black) and placebos (grey)")
    ax.set_xlabel("year")
    ax.set_ylabel("gap")
    ax.legend(fontsize="small", frameon=False)
    return ax


def health_change(result: Any, ax: Any = None) -> Any:
    """Difference in change per indicator (longest span), one bar per reference."""
    ax = get_ax(ax)
    data = result.plot_data()
    indicators = list(dict.fromkeys(data["indicator"]))
    references = list(dict.fromkeys(data["reference"]))
    height = 0.8 / max(len(references), 1)
    for k, ref in enumerate(references):
        part = data[data["reference"] == ref].set_index("indicator").reindex(indicators)
        ys = [i + k * height for i in range(len(indicators))]
        ax.barh(ys, part["estimate"].fillna(0.0), height=height, label=_label(ref))
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(indicators))])
    spans = data.groupby("indicator", sort=False).first()
    ax.set_yticklabels([f"{ind} {int(spans.loc[ind, 'year_from'])}-"
                        f"{int(spans.loc[ind, 'year_to'])}" for ind in indicators])
    ax.axvline(0, color="black", linewidth=0.8)
    area = result.settings.get("area_name") or _label(result.settings.get("area", ""))
    ax.set_xlabel(f"{area} change minus reference change "
                  "(percentage points; plain difference)")
    ax.set_title("Population health: difference in change")
    ax.legend(fontsize="small", frameon=False)
    return ax
