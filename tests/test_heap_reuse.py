"""``heap_reuse``: large arrays from the allocator's heap within a step, the system's
defaults back afterwards, and the same results either way."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.report.memory import heap_reuse


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _mallinfo2():
    lib = ctypes.util.find_library("c")
    try:
        f = ctypes.CDLL(lib).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    f.restype = _MallInfo2
    return f


def _mapped_blocks_while_holding(n_bytes: int) -> tuple[int, int]:
    """Memory-mapped blocks before and while a fresh array of ``n_bytes`` is held."""
    info = _mallinfo2()
    before = info().hblks
    held = np.ones(n_bytes // 8)
    during = info().hblks
    del held
    return before, during


@pytest.mark.skipif(_mallinfo2() is None, reason="needs glibc's mallinfo2")
def test_large_arrays_come_from_the_heap_inside_and_their_own_pages_outside():
    size = 64 * 2**20  # above any mmap threshold glibc sets by itself (at most 32 MiB)
    before, during = _mapped_blocks_while_holding(size)
    assert during == before + 1  # outside: the array got pages of its own
    with heap_reuse() as set_here:
        assert set_here
        before, during = _mapped_blocks_while_holding(size)
        assert during == before  # inside: from the heap
    before, during = _mapped_blocks_while_holding(size)
    assert during == before + 1  # the default is back


def test_results_are_the_same_with_and_without_heap_reuse():
    s = kbz.load_sample()
    kw = {"inference": "person", "n_boot": 99, "seed": 3}
    plain = kbz.savings(s["person_years"], s["practices"], year=2015, **kw)
    with heap_reuse():
        reused = kbz.savings(s["person_years"], s["practices"], year=2015, **kw)
    pd.testing.assert_frame_equal(plain.tidy(), reused.tidy(), check_exact=True)


def test_the_defaults_come_back_when_the_block_raises():
    info = _mallinfo2()
    with pytest.raises(RuntimeError), heap_reuse():
        raise RuntimeError("an analysis failed")
    if info is not None:
        before, during = _mapped_blocks_while_holding(64 * 2**20)
        assert during == before + 1


def test_collect_new_only_frees_new_cycles_and_leaves_the_old_objects_alone():
    """Inside the block a full collection walks only the objects made inside it: a
    reference cycle made there is freed by ``release_memory``; the objects alive before
    are frozen (not walked, never freed while alive) and unfrozen when the block ends,
    after which a cycle of theirs that became garbage is freed as usual."""
    import gc
    import weakref

    from kbz_eval.report.memory import collect_new_only, release_memory

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return a

    before = cycle()
    kept = cycle()
    gone_before = weakref.ref(before)
    with collect_new_only():
        assert gc.get_freeze_count() > 0
        inside = cycle()
        gone_inside = weakref.ref(inside)
        del inside, before
        release_memory()
        assert gone_inside() is None  # made inside: collected
        assert gone_before() is not None  # frozen: waits for the block's end
        assert kept.other.other is kept
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone_before() is None
    assert kept.other.other is kept
