"""The process's glibc malloc settings (Settings.malloc_*): fewer arenas keep less freed memory."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# In a fresh process: arenas (malloc_info's <heap> entries) before and after 8 threads allocate.
SCRIPT = """
import sys, threading
from assistant.config import Settings
from assistant.malloc import arena_count as arenas, tune_malloc
if sys.argv[1] == "tuned":
    s = Settings()
    tune_malloc(s.malloc_arena_max, s.malloc_mmap_threshold_kb)
before = arenas()
go = threading.Barrier(8)
def work():
    go.wait()
    kept = [bytearray(200) for _ in range(2000)]
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(before, arenas())
"""


@pytest.mark.skipif(platform.system() != "Linux" or not platform.libc_ver()[0] == "glibc",
                    reason="glibc only")
def test_threads_share_the_settings_arenas():
    def arenas(mode: str) -> tuple[int, int]:
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                             text=True, check=True, timeout=120)
        before, after = out.stdout.split()[-2:]
        return int(before), int(after)

    before, after = arenas("tuned")
    assert after <= max(before, 2)  # the default, 2: no new arena past the second
    before, after = arenas("glibc")
    assert after > max(before, 2)  # glibc's own: one per thread, up to 8 per core
