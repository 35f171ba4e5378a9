"""The ``kbz-eval`` command.

::

    kbz-eval init EXPORT... --out DIR [--force] [--rows N]
    kbz-eval validate PATH --table T [--mapping F] [--sheet S]
                      [--references practices=F] [--reference-mapping practices=M]
    kbz-eval validate --config FILE [--backend duckdb|spark]
    kbz-eval synth --out DIR [--seed N] [--claim-lines N]
    kbz-eval report --config FILE --out DIR [--backend duckdb|spark] [--practice ID]
    kbz-eval --version

``python -m kbz_eval`` runs the same command.

Exit codes: 0 success, 1 invalid input or failed run, 2 wrong usage, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM). Errors are printed as one message, without a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kbz_eval.errors import DataValidationError, IdentifierError, KbzEvalError


def _parse_count(text: str) -> int:
    """``"10M"`` → 10_000_000; ``"250k"`` → 250_000; plain integers as they are."""
    units = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    t = text.strip().lower().replace("_", "")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count like 1000000, 250k or 10M, got {text!r}"
        ) from None


def _version() -> str:
    """The installed version of kbz_eval (package metadata), else the source's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kbz_eval")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from kbz_eval import __version__

        return __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kbz-eval",
        description="Evaluate Krachtige basiszorg against controls on the Quadruple Aim.",
    )
    parser.add_argument("--version", action="version", version=f"kbz-eval {_version()}",
                        help="print the version of kbz_eval and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="init, validate, synth or report")

    p = sub.add_parser(
        "init", help="propose kbz.toml and a mapping per file for an insurer's export",
        description="Read the header and first rows of every export file, recognise "
        "which data contract each holds, and write kbz.toml and one mapping TOML per "
        "file (mappings/<table>.toml), commented with what was guessed and what to check.")
    p.add_argument("exports", nargs="+", type=Path, metavar="EXPORT",
                   help="export files or folders (CSV, Parquet, XLSX, SPSS; folders are "
                   "searched recursively)")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for kbz.toml and its mappings (made when missing)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing kbz.toml or mapping whose content would "
                   "change (without it such files are left as they are and nothing is "
                   "written)")
    p.add_argument("--rows", type=int, default=None, metavar="N",
                   help="rows read from the top of each file (default 500)")

    p = sub.add_parser(
        "validate", help="check a file, or every input of a configuration, against its "
        "data contract")
    p.add_argument("path", type=Path, nargs="?", default=None,
                   help="the file to check (leave out with --config)")
    p.add_argument("--table", default=None,
                   help="contract name of PATH, e.g. person_years (required with PATH)")
    p.add_argument("--mapping", type=Path, default=None, help="TOML mapping file of PATH")
    p.add_argument("--sheet", default=None, help="XLSX sheet name (default: first)")
    p.add_argument(
        "--references", action="append", default=[], metavar="TABLE=PATH",
        help="a referenced table to check foreign keys against, e.g. practices=practices.csv",
    )
    p.add_argument(
        "--reference-mapping", action="append", default=[], metavar="TABLE=PATH",
        help="the mapping TOML a referenced table is read with, e.g. "
        "practices=mappings/practices.toml",
    )
    p.add_argument(
        "--config", type=Path, default=None, metavar="FILE",
        help="check every input of this report configuration with its mapping and "
        "against the practices table, listing all problems of all inputs at once",
    )
    p.add_argument(
        "--backend", choices=("duckdb", "spark"), default=None,
        help="with --config: the engine that checks claim lines and insured periods "
        "(default: [engine] backend in the config, else duckdb)",
    )

    p = sub.add_parser("synth", help="write synthetic extracts (labelled as such)")
    p.add_argument("--out", type=Path, required=True,
                   help="folder the synthetic files are written to")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: the calibrated sample's seed)")
    p.add_argument(
        "--claim-lines", type=_parse_count, default=None, metavar="N",
        help="write N claim lines and their insured periods as Parquet chunks "
        "(insurer scale) instead of the calibrated sample",
    )

    p = sub.add_parser("report", help="run the configured analyses and write the report")
    p.add_argument("--config", type=Path, required=True,
                   help="the report configuration (kbz.toml)")
    p.add_argument(
        "--out", type=Path, required=True,
        help="report folder: new, empty, or an earlier report (replaced as a whole only "
        "when the run succeeds; any other folder or file is refused)",
    )
    p.add_argument(
        "--backend", choices=("duckdb", "spark"), default=None,
        help="engine that turns claim lines into the panel (default: [engine] backend in "
        "the config, else duckdb)",
    )
    p.add_argument(
        "--practice", default=None, metavar="ID",
        help="write only this practice's own page for its practice manager: "
        "DIR/practices/<ID>.html (one self-contained file: its funnel position, trends "
        "with control limits against KBZ and control peers, ranking and IVM, the other "
        "practices unnamed, small cells suppressed) and DIR/manifest.json. The practice "
        "results are computed over all practices (its peers), but no other practice's "
        "page, no report.html, tables or figures are written, and DIR is replaced as a "
        "whole like any report folder. Without --practice the full report is written, "
        "with a page per practice under DIR/practices/ linked from report.html. An "
        "unknown ID is refused with the list of known practice ids",
    )
    return parser


class _UsageError(Exception):
    """Wrong use of the command line (exit code 2)."""


def _pairs(items: list[str], option: str) -> dict[str, Path]:
    """``["TABLE=PATH", ...]`` as a dict; a malformed item is a usage error."""
    out = {}
    for item in items:
        name, _, path = item.partition("=")
        if not name or not path:
            raise _UsageError(f"{option} expects TABLE=PATH, got {item!r}")
        out[name.strip()] = Path(path)
    return out


def _validate(args: argparse.Namespace) -> int:
    """``kbz-eval validate``: one file (with its references), or a whole configuration."""
    if args.config is not None:
        return _validate_config(args)
    from kbz_eval.io import read_table

    paths = _pairs(args.references, "--references")
    mappings = _pairs(args.reference_mapping, "--reference-mapping")
    stray = sorted(set(mappings) - set(paths))
    if stray:
        raise _UsageError(f"--reference-mapping names {stray}, which --references does "
                          "not give")
    references = {name: read_table(path, name, mapping=mappings.get(name)).data
                  for name, path in paths.items()}
    result = read_table(
        args.path, args.table, mapping=args.mapping, sheet=args.sheet,
        references=references or None,
    )
    rep = result.report
    print(f"{args.path}: valid '{args.table}' table")
    print(f"  rows: {rep.rows_kept:,} of {rep.rows_read:,} read")
    print(f"  columns: {', '.join(map(str, result.data.columns))}")
    for key, value in rep.detected_items():
        print(f"  {key}: {value}")
    return 0


def _validate_config(args: argparse.Namespace) -> int:
    """``kbz-eval validate --config``: every input, as the report reads them."""
    from kbz_eval.report.pipeline import check_inputs

    cfg, rows = check_inputs(args.config, backend=args.backend)
    print(f"{args.config}: all {len(cfg.inputs)} inputs can be used (every contract rule "
          "checked, with their mappings and against the practices table)")
    seen = set()
    for row in rows:
        key = (row["table"], row["file"])
        if key not in seen:
            seen.add(key)
            mapping = cfg.mappings.get(row["table"])
            how = f", mapping {mapping.name}" if mapping else ""
            print(f"  {row['table']}: {row['file']}{how}: {row['rows_kept']:,} of "
                  f"{row['rows_read']:,} rows kept")
        if row.get("reason"):
            print(f"    {row['rows_rejected']:,} rows rejected: {row['reason']}")
    return 0


def _init(args: argparse.Namespace) -> int:
    """``kbz-eval init``: propose kbz.toml and the mappings of an export."""
    from kbz_eval.onboarding import SAMPLE_ROWS, propose, write_proposal

    rows = SAMPLE_ROWS if args.rows is None else args.rows
    if rows < 1:
        raise _UsageError(f"--rows must be at least 1, got {rows}")
    proposal = propose(args.exports, rows=rows, exclude=args.out)
    states = write_proposal(proposal, args.out, force=args.force)
    print(proposal.summary(states))
    config = args.out / "kbz.toml"
    print(f"next: check the lines marked CHECK, then kbz-eval validate --config {config}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    if args.claim_lines is not None:
        from kbz_eval.engine.scale import write_claim_lines

        kwargs = {} if args.seed is None else {"seed": args.seed}
        info = write_claim_lines(args.out, n_lines=args.claim_lines, **kwargs)
        print(f"wrote synthetic claim lines to {args.out}: {info}")
        return 0
    from kbz_eval.synth import DEFAULT_SEED, write_sample

    seed = DEFAULT_SEED if args.seed is None else args.seed
    paths = write_sample(args.out, seed=seed)
    print(f"wrote {len(paths)} SYNTHETIC sample files (seed {seed}) to {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from kbz_eval.report import run_report
    from kbz_eval.report.output import Terminated

    try:
        out = run_report(args.config, args.out, backend=args.backend,
                         practice=args.practice)
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"kbz-eval report {'terminated' if terminated else 'interrupted'}: no partial "
              f"report was written to {args.out}, and temporary files were removed.",
              file=sys.stderr)
        return 143 if terminated else 130
    if args.practice is not None:
        import json

        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        page = manifest["practice_pages"]["pages"][args.practice]
        print(f"page of practice {args.practice} written to {out / page}")
        return 0
    print(f"report written to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kbz-eval``; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate":
        single = (args.path, args.table, args.mapping, args.sheet)
        if args.config is not None and (any(a is not None for a in single)
                                        or args.references or args.reference_mapping):
            parser.error("validate: give either --config FILE or PATH --table T, not both")
        if args.config is None and (args.path is None or args.table is None):
            parser.error("validate: give PATH --table T, or --config FILE")
        if args.config is None and args.backend is not None:
            parser.error("validate: --backend applies to --config only")
    handlers = {"init": _init, "validate": _validate, "synth": _synth, "report": _report}
    try:
        return handlers[args.command](args)
    except _UsageError as exc:
        print(f"kbz-eval {args.command}: {exc}", file=sys.stderr)
        return 2
    except (DataValidationError, IdentifierError) as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    except (KbzEvalError, OSError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"kbz-eval {args.command} interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
