"""Where the open data live: folder resolution, publisher URLs and the download step.

The open files are never shipped with kbz_eval. They are read from a folder that holds
``vektis/`` and ``rivm/`` sub-folders, found in this order:

1. the ``folder=`` argument of the function called;
2. the environment variable ``KBZ_EVAL_DATA``;
3. ``../shared/data`` beside the repository that holds the current working directory
   (or beside the installed package), when it exists;
4. the download cache: ``$KBZ_EVAL_CACHE`` or ``~/.cache/kbz_eval/open_data``, which
   :func:`download` fills from the publishers.

File names inside the folder:

- ``vektis/vektis_<year>_gemeente.csv`` — Vektis "Open Databestand Zorgverzekeringswet",
  municipality level, 2011–2023 (the original 2015 release as
  ``vektis/vektis_2015_gemeente_original_release_cp1252.csv``);
- ``rivm/<year>_<age>.xlsx`` (``<age>`` is ``18+``, ``18_65`` or ``65+``), also accepted
  as ``rivm/RIVM_gezondheid<year>_<age>.xlsx`` or, as written by :func:`download`,
  ``rivm/<year>_<age>.csv``.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from kbz_eval.errors import KbzEvalError, SpecificationError

#: Environment variable naming the folder that holds ``vektis/`` and ``rivm/``.
DATA_ENV = "KBZ_EVAL_DATA"
#: Environment variable naming the download cache folder.
CACHE_ENV = "KBZ_EVAL_CACHE"

#: Years of the Vektis municipality files this version knows the columns of.
VEKTIS_YEARS = tuple(range(2011, 2024))
#: Years of the RIVM/CBS/GGD health monitor small-area estimates (StatLine 50090NED).
RIVM_YEARS = (2012, 2016, 2020)
#: RIVM age groups: our label -> (StatLine ``Leeftijd`` code, file-name tag).
RIVM_AGE_GROUPS = {"18+": ("20300", "18+"), "18-64": ("53115", "18_65"), "65+": ("80200", "65+")}

#: Base of the Vektis open-data downloads (as published on www.vektis.nl/open-data;
#: the publisher moves files now and then: see :func:`vektis_url`).
VEKTIS_BASE_URL = "https://www.vektis.nl/uploads/Docs%20per%20pagina/Open%20Data%20Bestanden"
#: OData feed of RIVM StatLine table 50090NED ("Gezondheid per wijk en buurt"), served by
#: CBS for third parties.
RIVM_ODATA_URL = "https://dataderden.cbs.nl/ODataApi/odata/50090NED/UntypedDataSet"

#: Source, licence and attribution, repeated in every result that uses the data.
ATTRIBUTION = {
    "vektis": "Bron: Vektis open data (Open Databestand Zorgverzekeringswet); no resale.",
    "rivm": "Bron: RIVM/CBS/GGD'en, Gezondheidsmonitor Volwassenen en Ouderen, "
            "StatLine 50090NED (small-area estimates).",
}


class OpenDataNotFoundError(KbzEvalError, FileNotFoundError):
    """An open-data file is not in any of the folders looked in.

    The message lists the folders and says how to download the file.
    """


def _repo_roots(start: Path) -> list[Path]:
    roots = []
    for p in (start, *start.parents):
        if (p / "pyproject.toml").is_file() or (p / ".git").exists():
            roots.append(p)
    return roots


def cache_folder() -> Path:
    """The download cache: ``$KBZ_EVAL_CACHE`` or ``~/.cache/kbz_eval/open_data``
    (``KBZ_EVAL_CACHE=off``, which turns off the parsed-table cache, keeps the default
    download folder)."""
    env = os.environ.get(CACHE_ENV)
    if env and env.strip().lower() != "off":
        return Path(env).expanduser()
    return Path.home() / ".cache" / "kbz_eval" / "open_data"


def candidate_folders(folder: str | Path | None = None) -> list[Path]:
    """The folders looked in, in order (see the module docstring).

    Parameters
    ----------
    folder
        An explicit folder; when given it is the only candidate.

    Returns
    -------
    list of Path
        Candidates, existing or not, without duplicates.
    """
    if folder is not None:
        return [Path(folder).expanduser()]
    found: list[Path] = []
    env = os.environ.get(DATA_ENV)
    if env:
        found.append(Path(env).expanduser())
    package_repo = Path(__file__).resolve().parents[2]
    for root in [*_repo_roots(Path.cwd().resolve()), package_repo]:
        found.append(root.parent / "shared" / "data")
    found.append(cache_folder())
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return unique


def data_folder(folder: str | Path | None = None) -> Path | None:
    """The first candidate folder that holds ``vektis/`` or ``rivm/``, else ``None``."""
    for c in candidate_folders(folder):
        if (c / "vektis").is_dir() or (c / "rivm").is_dir():
            return c
    return None


def _not_found(what: str, names: list[str], folders: list[Path],
               hint: str) -> OpenDataNotFoundError:
    looked = "\n".join(f"  - {f}" for f in folders)
    return OpenDataNotFoundError(
        f"{what} not found. Looked for {names} in:\n{looked}\n"
        f"Give folder=..., set {DATA_ENV} to a folder holding vektis/ and rivm/, or "
        f"download the file from the publisher with {hint} (needs internet; it fills "
        f"{cache_folder()}). kbz_eval never substitutes made-up data."
    )


def vektis_filenames(year: int, *, release: str = "harmonised") -> list[str]:
    """Accepted file names (inside ``vektis/``) of one Vektis municipality file."""
    if release == "original":
        return [f"vektis_{year}_gemeente_original_release_cp1252.csv",
                f"vektis_{year}_gemeente_original_release.csv"]
    return [f"vektis_{year}_gemeente.csv"]


def vektis_path(year: int, *, folder: str | Path | None = None,
                release: str = "harmonised") -> Path:
    """Path of the Vektis municipality file of ``year``.

    Parameters
    ----------
    year
        Data year.
    folder
        Folder holding ``vektis/``; see :func:`candidate_folders` when ``None``.
    release
        ``"harmonised"`` (the yearly files on later, harmonised boundaries) or
        ``"original"`` (the first release; only 2015 is known).

    Raises
    ------
    OpenDataNotFoundError
        When no candidate folder has the file.
    """
    if release not in ("harmonised", "original"):
        raise SpecificationError(
            f"The value for `release` must be one of ['harmonised', 'original'], "
            f"but {release!r} was passed."
        )
    names = vektis_filenames(year, release=release)
    folders = candidate_folders(folder)
    for f in folders:
        for n in names:
            p = f / "vektis" / n
            if p.is_file():
                return p
    hint = (f"kbz.open_data.download('vektis', years=[{year}])" if release == "harmonised"
            else "a copy of the original release (it is no longer offered for download)")
    raise _not_found(f"Vektis municipality file {year} ({release})",
                     [f"vektis/{n}" for n in names], folders, hint)


def rivm_filenames(year: int, age_group: str) -> list[str]:
    """Accepted file names (inside ``rivm/``) of one RIVM health-monitor file."""
    tag = _age_tag(age_group)
    return [f"{year}_{tag}.xlsx", f"RIVM_gezondheid{year}_{tag}.xlsx", f"{year}_{tag}.csv"]


def _age_tag(age_group: str) -> str:
    if age_group not in RIVM_AGE_GROUPS:
        raise SpecificationError(
            f"The value for `age_group` must be one of {list(RIVM_AGE_GROUPS)}, "
            f"but {age_group!r} was passed."
        )
    return RIVM_AGE_GROUPS[age_group][1]


def rivm_path(year: int, age_group: str = "18+", *, folder: str | Path | None = None) -> Path:
    """Path of the RIVM health-monitor file of ``year`` and ``age_group``.

    Raises
    ------
    OpenDataNotFoundError
        When no candidate folder has the file (note: the 18–64 file of 2020 is not
        published as a separate file in the shared copy).
    """
    names = rivm_filenames(year, age_group)
    folders = candidate_folders(folder)
    for f in folders:
        for n in names:
            p = f / "rivm" / n
            if p.is_file():
                return p
    raise _not_found(
        f"RIVM health-monitor file {year} ({age_group})", [f"rivm/{n}" for n in names],
        folders, f"kbz.open_data.download('rivm', years=[{year}], age_groups=['{age_group}'])",
    )


# --------------------------------------------------------------------------- URLs
def vektis_url(year: int) -> str:
    """The publisher's URL of the Vektis municipality file of ``year``.

    Notes
    -----
    Layout on www.vektis.nl as of 2026: files of 2011–2016 sit in the folder
    ``Gemeentebestanden 2011-2016``, later ones in a folder per year; the 2020 file is
    ``..._versie2``. The publisher moves files now and then; when a download fails,
    fetch the file by hand from https://www.vektis.nl/open-data and save it as
    ``vektis/vektis_<year>_gemeente.csv`` in the data folder.
    """
    year = int(year)
    sub = "Gemeentebestanden%202011-2016" if year <= 2016 else str(year)
    suffix = "_versie2" if year == 2020 else ""
    name = f"Vektis%20Open%20Databestand%20Zorgverzekeringswet%20{year}%20-%20gemeente{suffix}.csv"
    return f"{VEKTIS_BASE_URL}/{sub}/{name}"


def rivm_url(year: int, age_group: str = "18+") -> str:
    """The OData URL of one year × age group of StatLine table 50090NED (point estimates).

    The feed pages its answer (``odata.nextLink``); :func:`download` follows the pages.
    """
    _age_tag(age_group)  # validates the label
    code = RIVM_AGE_GROUPS[age_group][0]
    flt = (f"Perioden eq '{int(year)}JJ00' and Leeftijd eq '{code}' "
           f"and Marges eq 'MW00000'")
    return f"{RIVM_ODATA_URL}?{urllib.parse.urlencode({'$filter': flt, '$format': 'json'})}"


def _urlopen(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "kbz_eval open-data download"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.read()


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
        tmp.write(content)
        tmp_path = Path(tmp.name)
    tmp_path.replace(path)


def _rivm_rows(url: str, opener: Callable[[str, float], bytes], timeout: float) -> list[dict]:
    rows: list[dict] = []
    next_url: str | None = url
    pages = 0
    while next_url:
        payload = json.loads(opener(next_url, timeout).decode("utf-8"))
        rows.extend(payload.get("value", []))
        next_url = payload.get("odata.nextLink") or payload.get("@odata.nextLink")
        pages += 1
        if pages > 1000:
            raise KbzEvalError(f"{url}: more than 1000 pages; stopped.")
    return rows


def download(source: str = "all", *, years: Iterable[int] | None = None,
             age_groups: Iterable[str] = ("18+", "65+"), folder: str | Path | None = None,
             overwrite: bool = False, timeout: float = 120.0,
             opener: Callable[[str, float], bytes] | None = None) -> list[Path]:
    """Fetch the open files from their publishers into a data folder.

    Parameters
    ----------
    source
        ``"vektis"``, ``"rivm"`` or ``"all"``.
    years
        Years to fetch; default every known year of the source(s).
    age_groups
        RIVM age groups (``"18+"``, ``"18-64"``, ``"65+"``).
    folder
        Target folder (gets ``vektis/`` and ``rivm/``); default :func:`cache_folder`.
    overwrite
        Fetch again files that are already there.
    timeout
        Seconds per request.
    opener
        ``opener(url, timeout) -> bytes``; default :mod:`urllib`. Tests pass one that
        serves local copies.

    Returns
    -------
    list of Path
        The files now present for the request (fetched or already there).

    Raises
    ------
    KbzEvalError
        When a download fails (the message names the URL and the manual route).

    Notes
    -----
    Vektis files are saved byte for byte as ``vektis/vektis_<year>_gemeente.csv`` (see
    :func:`vektis_url`). RIVM estimates are fetched from the StatLine OData feed
    (:func:`rivm_url`, point estimates ``Marges = MW00000``), all pages, and saved as
    ``rivm/<year>_<age>.csv`` (``;``-separated, the feed's column names — the same as the
    spreadsheet export), which :func:`kbz_eval.open_data.rivm_health` reads like the
    ``.xlsx`` export. Licences: see :data:`ATTRIBUTION`.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> kbz.open_data.download("vektis", years=[2018])  # doctest: +SKIP
    """
    if source not in ("vektis", "rivm", "all"):
        raise SpecificationError(
            f"The value for `source` must be one of ['vektis', 'rivm', 'all'], "
            f"but {source!r} was passed."
        )
    target = Path(folder).expanduser() if folder is not None else cache_folder()
    fetch = opener or _urlopen
    written: list[Path] = []
    if source in ("vektis", "all"):
        for year in sorted(years) if years is not None else VEKTIS_YEARS:
            path = target / "vektis" / f"vektis_{int(year)}_gemeente.csv"
            if path.is_file() and not overwrite:
                written.append(path)
                continue
            url = vektis_url(year)
            try:
                content = fetch(url, timeout)
            except Exception as exc:  # network errors differ by platform
                raise KbzEvalError(
                    f"Download of the Vektis file {year} failed ({exc}). URL: {url}. "
                    f"Fetch it by hand from https://www.vektis.nl/open-data and save it as {path}."
                ) from exc
            _write_atomic(path, content)
            written.append(path)
    if source in ("rivm", "all"):
        for year in sorted(years) if years is not None else RIVM_YEARS:
            if source == "all" and int(year) not in RIVM_YEARS:
                continue
            for age in age_groups:
                path = target / "rivm" / f"{int(year)}_{_age_tag(age)}.csv"
                if path.is_file() and not overwrite:
                    written.append(path)
                    continue
                url = rivm_url(year, age)
                try:
                    rows = _rivm_rows(url, fetch, timeout)
                except Exception as exc:
                    raise KbzEvalError(
                        f"Download of the RIVM estimates {year} ({age}) failed ({exc}). "
                        f"URL: {url}. Export the table by hand from "
                        f"https://statline.rivm.nl/#/RIVM/nl/dataset/50090NED and save it "
                        f"as {path.with_suffix('.xlsx')}."
                    ) from exc
                if not rows:
                    raise KbzEvalError(f"{url} returned no rows; nothing written.")
                frame = pd.DataFrame(rows).drop(columns=["odata.metadata"], errors="ignore")
                _write_atomic(path, frame.to_csv(sep=";", index=False).encode("utf-8"))
                written.append(path)
    return written
