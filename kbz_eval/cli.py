"""The ``kbz-eval`` command.

::

    kbz-eval validate PATH --table T [--mapping F] [--sheet S] [--references practices=F]
    kbz-eval synth --out DIR [--seed N] [--claim-lines N]
    kbz-eval report --config FILE --out DIR [--backend duckdb|spark] [--practice ID]

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


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kbz-eval",
        description="Evaluate Krachtige basiszorg against controls on the Quadruple Aim.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a file against its data contract")
    p.add_argument("path", type=Path)
    p.add_argument("--table", required=True, help="contract name, e.g. person_years")
    p.add_argument("--mapping", type=Path, default=None, help="TOML mapping file")
    p.add_argument("--sheet", default=None, help="XLSX sheet name (default: first)")
    p.add_argument(
        "--references", action="append", default=[], metavar="TABLE=PATH",
        help="a referenced table to check foreign keys against, e.g. practices=practices.csv",
    )

    p = sub.add_parser("synth", help="write synthetic extracts (labelled as such)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--claim-lines", type=_parse_count, default=None, metavar="N",
        help="write N claim lines and their insured periods as Parquet chunks "
        "(insurer scale) instead of the calibrated sample",
    )

    p = sub.add_parser("report", help="run the configured analyses and write the report")
    p.add_argument("--config", type=Path, required=True)
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


def _validate(args: argparse.Namespace) -> int:
    from kbz_eval.io import read_table

    references = {}
    for item in args.references:
        name, _, path = item.partition("=")
        if not path:
            print(f"--references expects TABLE=PATH, got {item!r}", file=sys.stderr)
            return 2
        references[name] = read_table(Path(path), name).data
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
    args = _build_parser().parse_args(argv)
    handlers = {"validate": _validate, "synth": _synth, "report": _report}
    try:
        return handlers[args.command](args)
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
