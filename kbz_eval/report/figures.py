"""Saving figures reproducibly: PNG at print resolution and SVG, no dates or ids.

Only the report pipeline saves files; plotting functions draw and return Axes. Writing
a figure's PNG and SVG costs far more than drawing it, so :class:`FigureSaver` hands
the drawn figure (pickled) to worker processes while the pipeline goes on computing;
a figure saved by a worker is byte-identical to one saved in the pipeline's process.
"""

from __future__ import annotations

import pickle
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

#: Print resolution of PNG figures.
PNG_DPI = 200

_RC = {
    "svg.hashsalt": "kbz_eval",      # fixed ids inside the SVG
    "svg.fonttype": "path",          # no dependence on installed fonts when viewing
    "font.family": "DejaVu Sans",    # ships with matplotlib
    "figure.dpi": 100,
}


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    """A new (figure, axes) with the report's fixed style, detached from pyplot."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _wrap(item: Any, room: float, renderer: Any) -> None:
    """Break ``item``'s text into lines until it fits ``room`` pixels (or each line is a
    single word)."""
    import textwrap

    text = item.get_text()
    if not text or "\n" in text:
        return
    width = len(text)
    while item.get_window_extent(renderer).width > room and width > 12:
        width = int(width * 0.85)
        item.set_text(textwrap.fill(text, width=width, break_long_words=False))


def fit_labels(fig: Any) -> None:
    """Wrap titles, axis labels and legend entries that would not fit the figure, so no
    label is cut off (long Dutch labels included). Only the texts' own sizes are
    measured (no layout pass); the constrained layout then places them inside."""
    import textwrap

    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with mpl.rc_context(_RC):
        if not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)  # a detached figure: give it a canvas to measure on
        renderer = fig.canvas.get_renderer()
        width_px = fig.get_figwidth() * fig.dpi
        height_px = fig.get_figheight() * fig.dpi
        for ax in fig.get_axes():
            # titles and x labels are centred on the axes, which the layout gives about
            # four fifths of the figure's width
            room = 0.8 * width_px * ax.get_position().width / max(
                sum(a.get_position().width for a in fig.get_axes()
                    if abs(a.get_position().y0 - ax.get_position().y0) < 1e-9), 1e-9)
            room = min(0.8 * width_px, max(room, 0.4 * width_px))
            for title in (ax.title, ax._left_title, ax._right_title):
                _wrap(title, room, renderer)
            _wrap(ax.xaxis.label, room, renderer)
            # a y label is drawn turned: its length runs along the height
            ylabel = ax.yaxis.label
            text = ylabel.get_text()
            if text:
                chars = len(text)
                while ylabel.get_window_extent(renderer).height > 0.85 * height_px and \
                        chars > 12:
                    chars = int(chars * 0.85)
                    ylabel.set_text(textwrap.fill(text, width=chars,
                                                  break_long_words=False))
            legend = ax.get_legend()
            if legend is not None:
                for entry in legend.get_texts():
                    _wrap(entry, 0.45 * width_px, renderer)


def save_figure(fig: Any, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; byte-identical for the same figure. Labels
    too long for the figure are wrapped first; the constrained layout keeps every label
    inside the figure."""
    import matplotlib as mpl

    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fit_labels(fig)
    with mpl.rc_context(_RC):
        fig.savefig(paths[0], dpi=PNG_DPI, metadata={"Software": None})
        # the layout found for the PNG holds for the SVG (positions are fractions of
        # the figure): fix it instead of solving it again
        engine = fig.get_layout_engine()
        if engine is not None and engine.adjust_compatible is False:
            fig.set_layout_engine("none")
        fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    return paths


def _save_pickled(blob: bytes, stem: str) -> None:
    """Worker side of :class:`FigureSaver`: unpickle a figure and save it."""
    save_figure(pickle.loads(blob), Path(stem))


#: Thread counts of the numeric libraries, set to 1 in the report's worker processes
#: (they already run side by side) unless the user set them.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` fresh processes (spawned: no engine threads are forked),
    or ``None`` when ``workers`` is 1 (everything runs in the calling process).

    Every worker is started at once, so its imports overlap with the reading of the
    inputs, each with one thread per numeric library (the workers are the parallelism;
    threads on top of them only compete for the same cores) unless the environment
    already sets those thread counts.
    """
    if workers <= 1:
        return None
    import os
    from multiprocessing import get_context

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    unset = [name for name in _ONE_THREAD if name not in os.environ]
    os.environ.update({name: "1" for name in unset})
    try:  # a spawned worker starts on a submit that finds no idle worker
        for _ in range(workers):
            pool.submit(int)
    finally:
        for name in unset:
            del os.environ[name]
    return pool


class FigureSaver:
    """Saves figures with :func:`save_figure`, in a worker pool when one is given.

    Parameters
    ----------
    pool
        A :func:`worker_pool`, or ``None`` to save each figure at once in this process.

    Notes
    -----
    :meth:`wait` must be called before the saved files are read; it returns the figures
    whose saving failed, so the caller can replace them (nothing is lost silently).
    """

    def __init__(self, pool: ProcessPoolExecutor | None = None) -> None:
        self.pool = pool
        self._pending: dict[Path, Future[None]] = {}

    def save(self, fig: Any, stem: Path) -> None:
        """Save ``fig`` as ``stem.png`` and ``stem.svg`` (now, or in a worker)."""
        if self.pool is None:
            save_figure(fig, stem)
            return
        self._pending[stem] = self.pool.submit(_save_pickled, pickle.dumps(fig), str(stem))

    def wait(self) -> dict[Path, BaseException]:
        """Wait for every figure handed to a worker; the failures, by stem."""
        failed = {}
        for stem, future in self._pending.items():
            error = future.exception()
            if error is not None:
                failed[stem] = error
        self._pending.clear()
        return failed
