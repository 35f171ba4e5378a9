"""Giving memory back to the system between the report's large steps.

Each claims analysis works on arrays of the panel's length, and frees them when it
returns. The C allocator (glibc's ``malloc``) keeps much of what was freed: arrays below
its mmap threshold (which grows, after large frees, up to 32 MB) come from the heap,
and freed heap memory is only returned from its top. On 19.5 M person-years that kept
memory is of the order of a gigabyte between analyses, added to the next analysis's
peak. :func:`release_memory` collects Python's garbage and asks the allocator to
return its free pages (``malloc_trim``), on systems whose C library has it; elsewhere it
only collects. Values and results are untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any


@cache
def _trim() -> Any:
    """``malloc_trim`` of the C library, or ``None`` where there is none (macOS,
    Windows, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> bool:
    """Collect garbage and return the allocator's free pages to the system.

    Returns
    -------
    bool
        Whether the allocator could be asked (``malloc_trim`` exists here).
    """
    gc.collect()
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
