"""The report pipeline: configuration, data quality, HTML and manifest."""

from kbz_eval.report.config import ReportConfig, load_config
from kbz_eval.report.pipeline import run_report

__all__ = ["ReportConfig", "load_config", "run_report"]
