"""Open data: Vektis costs per municipality and RIVM health per neighbourhood.

Claims extracts are private; these files are public. With them any practice,
municipality or researcher can put a KBZ area next to its city, comparable areas and the
country on Aim 2 (population health) and Aim 3 (costs) without a data request.

Loaders
    :func:`vektis` (costs per municipality × sex × age class × year, 2011–2023) and
    :func:`rivm_health` (health-monitor estimates per district and neighbourhood, 2012,
    2016, 2020) read the official files into tidy long tables, handling every known
    quirk (see :mod:`kbz_eval.open_data.vektis`). Files are found in ``folder=``,
    ``$KBZ_EVAL_DATA``, ``../shared/data`` or the download cache; :func:`download`
    fetches them from the publishers.
Analyses (each returns a :class:`~kbz_eval.results.Result`)
    :func:`cost_per_insured_year` (crude, direct and indirect age/sex standardisation per
    cost group), :func:`compare_areas` (KBZ cities against the country and comparable
    municipalities), :func:`synthetic_control` (with placebo-in-space inference) and
    :func:`area_health_change` (Overvecht against Utrecht, its other districts and the
    country). :func:`open_data_section` computes what the report shows.

Nothing here ever substitutes made-up data: a missing file is an
:class:`OpenDataNotFoundError` saying where kbz_eval looked and how to download it.
Sources: "Bron: Vektis" (no resale); RIVM/CBS/GGD'en StatLine 50090NED.
"""

from __future__ import annotations

from kbz_eval.open_data.areas import (
    DONOR_MEAN,
    KBZ_CITIES,
    OVERVECHT,
    AreaComparison,
    AreaHealthChange,
    area_health_change,
    available,
    compare_areas,
    open_data_section,
)
from kbz_eval.open_data.download import (
    ATTRIBUTION,
    OpenDataNotFoundError,
    cache_folder,
    candidate_folders,
    data_folder,
    download,
    rivm_url,
    vektis_url,
)
from kbz_eval.open_data.rivm import HEALTH_INDICATORS, rivm_health
from kbz_eval.open_data.standardise import (
    COUNTRY,
    CostPerInsuredYear,
    cost_per_insured_year,
    standardise,
)
from kbz_eval.open_data.synthetic_control import (
    KBZ_ROLLOUT,
    KBZ_WAVES,
    SyntheticControl,
    donor_pool,
    simplex_weights,
    synthetic_control,
)
from kbz_eval.open_data.vektis import (
    COST_COLUMNS,
    COST_GROUPS,
    SERIES_BREAKS,
    find_municipality,
    vektis,
)

__all__ = [
    "ATTRIBUTION",
    "COST_COLUMNS",
    "COST_GROUPS",
    "COUNTRY",
    "DONOR_MEAN",
    "HEALTH_INDICATORS",
    "KBZ_CITIES",
    "KBZ_ROLLOUT",
    "KBZ_WAVES",
    "OVERVECHT",
    "SERIES_BREAKS",
    "AreaComparison",
    "AreaHealthChange",
    "CostPerInsuredYear",
    "OpenDataNotFoundError",
    "SyntheticControl",
    "area_health_change",
    "available",
    "cache_folder",
    "candidate_folders",
    "compare_areas",
    "cost_per_insured_year",
    "data_folder",
    "donor_pool",
    "download",
    "find_municipality",
    "open_data_section",
    "rivm_health",
    "rivm_url",
    "simplex_weights",
    "standardise",
    "synthetic_control",
    "vektis",
    "vektis_url",
]
