"""The statistics. Nothing here imports matplotlib: drawing lives in ``kbz_eval.plotting``."""
