"""glibc malloc settings for a long-running process (a server answering for days).

With glibc's defaults a serving process at 100k chunks kept 40-80 MiB of freed memory that it
never returned (``benchmarks/README.md``, 2026-12-07 night): each thread that allocates gets
an arena of its own (up to 8 per core: 10-15 in a server), and a freed block of a few MB (the
activations of an encode) raises the threshold under which blocks come from those arenas to as
much as 32 MB, where they are kept, split and scattered. Two arenas keep ~20 MiB; a fixed
threshold returns the rest as soon as it is freed, but answers paid ~20 % for its page faults,
so it is off by default.

>>> from assistant.malloc import tune_malloc
>>> tune_malloc(arena_max=2, mmap_threshold_kb=0)  # the defaults
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile

# mallopt(3) parameters (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _glibc():
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_info``), else None
    (musl, macOS: their own allocators, nothing to set)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_info") else None


def tune_malloc(arena_max: int, mmap_threshold_kb: int) -> bool:
    """Apply ``Settings.malloc_arena_max`` / ``malloc_mmap_threshold_kb`` (0 leaves glibc's
    default). An arena limit binds the threads that have none yet, so call it before the
    libraries start theirs (``Assistant.from_settings`` does). False where there is no glibc."""
    libc = _glibc()
    if libc is None:
        return False
    ok = True
    if arena_max:
        ok &= bool(libc.mallopt(_M_ARENA_MAX, arena_max))
    if mmap_threshold_kb:
        ok &= bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold_kb * 1024))
    return ok


def arena_count() -> int | None:
    """How many malloc arenas the process has (``malloc_info``'s heaps); None without glibc."""
    libc = _glibc()
    if libc is None:
        return None
    libc.fdopen.restype = ctypes.c_void_p
    libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.TemporaryFile("w+") as f:
        fp = libc.fdopen(os.dup(f.fileno()), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        f.seek(0)
        return f.read().count("<heap nr=")
