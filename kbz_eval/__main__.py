"""``python -m kbz_eval``: the ``kbz-eval`` command (see :mod:`kbz_eval.cli`)."""

import sys

from kbz_eval.cli import main

if __name__ == "__main__":
    sys.exit(main())
