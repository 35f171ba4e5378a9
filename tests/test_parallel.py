"""``stats.parallel.ordered_map``: results in item order, at most 2 × threads started
ahead of the one taken, errors raised where the result is taken."""

from __future__ import annotations

import threading
import time

import pytest

from kbz_eval.stats.parallel import ordered_map


def test_results_come_in_item_order_from_several_threads():
    names = set()

    def slow_first(i):
        names.add(threading.current_thread().name)
        time.sleep(0.05 if i % 3 == 0 else 0.0)  # early items finish last
        return i * i

    got = list(ordered_map(slow_first, range(12), threads=2, name="kbz-test"))
    assert got == [i * i for i in range(12)]
    assert len({n for n in names if n.startswith("kbz-test")}) == 2


def test_at_most_twice_the_threads_are_started_ahead():
    started, taken = [], []
    lock = threading.Lock()

    def record(i):
        with lock:
            started.append(i)
        return i

    for value in ordered_map(record, range(20), threads=2, name="kbz-test"):
        time.sleep(0.01)  # the consumer is slow: work must not run far ahead
        with lock:
            assert len(started) - len(taken) <= 4
        taken.append(value)
    assert taken == list(range(20))


def test_one_thread_runs_here_and_errors_reach_the_caller():
    here = threading.current_thread().name
    assert list(ordered_map(lambda i: threading.current_thread().name, [1, 2], threads=1,
                            name="kbz-test")) == [here, here]

    def fail(i):
        if i == 3:
            raise ValueError("item 3")
        return i

    with pytest.raises(ValueError, match="item 3"):
        list(ordered_map(fail, range(6), threads=2, name="kbz-test"))


def test_practice_ranking_in_threads_equals_one_thread(monkeypatch):
    """The ranking's practices summed two at a time in threads give the one-thread
    tables exactly (rows in practice order)."""
    import pandas as pd

    import kbz_eval as kbz
    from kbz_eval.estimators import ranking

    s = kbz.load_sample()
    monkeypatch.setattr(ranking, "ARRAY_THREADS", 1)
    one = ranking.practice_ranking(s["person_years"], s["practices"], seed=3)
    monkeypatch.setattr(ranking, "ARRAY_THREADS", 2)
    two = ranking.practice_ranking(s["person_years"], s["practices"], seed=3)
    assert set(one.tables) == set(two.tables)
    for name in one.tables:
        pd.testing.assert_frame_equal(one.tables[name], two.tables[name], check_exact=True)
