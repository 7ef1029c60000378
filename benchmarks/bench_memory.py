"""What a serving process holds: resident memory after each step of opening bench_query's store.

Each configuration runs in a fresh process (RSS only grows within one), which imports, loads
and opens what ``assistant serve`` would, one piece at a time, and records ``VmRSS`` and the
peak (``VmHWM``) after each: torch, the assistant's own imports, the embedder, spaCy, Chroma,
the lexical mirror, the first search (HNSW load) and a few answers; ``RssFile`` is the part of
RSS that is pages of mapped files (the kernel can drop them and read them again; the mirror's
base is mapped from its snapshot). Build the store first
(``bench_query.py``; the 100k size is the one issue 13 names).

``--answers N`` goes on past the first 3 answers with unique questions (bench_query's), and
records every ``--every`` answers what a long-running server would show: RSS, its anonymous
part, the ``[heap]`` mapping, glibc malloc's bytes in use and free (``mallinfo2``, all arenas)
and the process's threads; at the end the malloc arenas (``malloc_info``) and the RSS after a
``malloc_trim(0)`` (what glibc held freed). ``--via http`` asks through the FastAPI app
(``POST /v1/ask`` with a test client: answers run in the app's thread pool, as a server's do).
A config may carry environment variables for its process: ``dtype:runtime:VAR=v+VAR2=w``.

    python benchmarks/bench_memory.py                    # bf16/auto and fp32, both runtimes
    python benchmarks/bench_memory.py --configs auto:sentence-transformers --out memory-x.json
    python benchmarks/bench_memory.py --configs auto:sentence-transformers --answers 120 \\
        --via http --out memory-answers-x.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, now_iso, write_json  # noqa: E402
from bench_query import COLLECTION, STORE, questions  # noqa: E402

from assistant.malloc import arena_count  # noqa: E402

CONFIGS = "auto:sentence-transformers,float32:sentence-transformers,auto:transformers"
FIRST = ("How much has the council set aside for flood defences?",
         "Who described the budget as a serious setback?",
         "When will the changes take effect in Harwick?")
# environment variables that change what a process holds, recorded with each config
_ENV = re.compile(r"^(ASSISTANT_|MALLOC_|ONEDNN_|DNNL_|LRU_CACHE|OMP_|GLIBC_TUNABLES)")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.mallinfo2.restype = _Mallinfo2


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def _heap_mb() -> int:
    """Resident KiB of the main arena's ``[heap]`` (other arenas are anonymous mappings)."""
    kb, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.endswith("[heap]")
        elif inside and line.startswith("Rss:"):
            kb += int(line.split()[1])
    return kb // 1024


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _malloc() -> dict:
    m = _LIBC.mallinfo2()
    return {"malloc_used_mb": (m.uordblks + m.hblkhd) >> 20, "malloc_free_mb": m.fordblks >> 20,
            "heap_mb": _heap_mb(), "anon_mb": _status("RssAnon"), "threads": _threads()}


def probe(dtype: str, runtime: str, answers: int = 3, every: int = 10, via: str = "python") -> dict:
    steps: list[dict] = []

    def mark(step: str, **extra) -> None:
        steps.append({"step": step, "rss_mb": _status("VmRSS"), "peak_mb": _status("VmHWM"),
                      "file_mb": _status("RssFile"), **extra})

    mark("start")
    import torch  # noqa: F401

    mark("import torch")
    from assistant import Assistant
    from assistant.config import Settings
    from assistant.embeddings import Embedder
    from assistant.malloc import tune_malloc
    from assistant.nlp import Annotator

    mark("import assistant")
    settings = Settings(data_dir=STORE, collection=COLLECTION, embedding_dtype=dtype,
                        embedding_runtime=runtime)
    # as Assistant.from_settings does first (the embedder is loaded here, before it)
    tune_malloc(settings.malloc_arena_max, settings.malloc_mmap_threshold_kb)
    embedder = Embedder.load(settings.embedding_model, settings.embedding_batch_size,
                             dtype=settings.embedding_dtype, runtime=settings.embedding_runtime,
                             onednn_cache=settings.onednn_cache)
    mark("embedder", dtype=embedder.dtype)
    Annotator.shared().question("Who won the vote in Harwick?")
    mark("spaCy")
    bot = Assistant.from_settings(settings, embedder=embedder)
    mark("Chroma opened")
    t0 = time.perf_counter()
    bot.store.sync_lexical()
    mark("lexical mirror", seconds=round(time.perf_counter() - t0, 2))
    t0 = time.perf_counter()
    bot.search("What did officials say about the port strike?")
    mark("first search (HNSW)", seconds=round(time.perf_counter() - t0, 2))
    ask = bot.ask
    if via == "http":
        from fastapi.testclient import TestClient

        from assistant.api import create_app

        client = TestClient(create_app(bot)).__enter__()

        def ask(q: str) -> None:
            client.post("/v1/ask", json={"question": q}).raise_for_status()

    qs = list(FIRST) + questions(max(0, answers - 3), seed=11)
    t0 = time.perf_counter()
    took = []
    for i, q in enumerate(qs[:answers], 1):
        t1 = time.perf_counter()
        ask(q)
        took.append(time.perf_counter() - t1)
        if i == 3 or (answers > 3 and (i % every == 0 or i == answers)):
            mark(f"after {i} answers", **_malloc(),
                 seconds=round(time.perf_counter() - t0, 1))
    if answers > 3:
        arenas = arena_count()
        _LIBC.malloc_trim(0)
        mark("after malloc_trim(0)", **_malloc(), arenas=arenas)
    after3 = sorted(took[3:])  # the unique questions, past the first answers' warm-up
    p50 = round(1000 * after3[len(after3) // 2], 1) if after3 else None
    return {"dtype": dtype, "runtime": runtime, "via": via, "answers": answers,
            "ask_p50_ms_after_3": p50,
            "env": {k: v for k, v in os.environ.items() if _ENV.match(k)},
            "chunks": bot.store.count(), "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description="Serving RSS, step by step.")
    ap.add_argument("--configs", default=CONFIGS,
                    help="dtype:runtime[:VAR=v+VAR=w], comma-separated")
    ap.add_argument("--answers", type=int, default=3, help="answers after the first search")
    ap.add_argument("--every", type=int, default=10, help="record every N answers past 3")
    ap.add_argument("--via", choices=["python", "http"], default="python",
                    help="Assistant.ask, or POST /v1/ask through the FastAPI app")
    ap.add_argument("--out", default="memory.json", help="file name under results/")
    ap.add_argument("--worker", help="dtype:runtime (internal)")
    args = ap.parse_args()
    if args.worker:
        dtype, runtime = args.worker.split(":")
        print(json.dumps(probe(dtype, runtime, args.answers, args.every, args.via)))
        return
    if not STORE.exists():
        sys.exit(f"no store at {STORE}: run benchmarks/bench_query.py first")
    result = {"date": now_iso(), "machine": machine(), "store": str(STORE), "configs": []}
    result["answers"], result["via"] = args.answers, args.via
    for config in args.configs.split(","):
        dtype, runtime, *extra = config.split(":")
        env = dict(os.environ)
        env.update(kv.split("=", 1) for kv in (extra[0].split("+") if extra else []))
        out = subprocess.run([sys.executable, __file__, "--worker", f"{dtype}:{runtime}",
                              "--answers", str(args.answers), "--every", str(args.every),
                              "--via", args.via], check=True, capture_output=True, text=True,
                             env=env)
        found = json.loads(out.stdout.strip().splitlines()[-1])
        found["config"] = config
        result["configs"].append(found)
        print(f"{config} ({found['chunks']} chunks, via {args.via}; answers past the 3rd: "
              f"p50 {found.get('ask_p50_ms_after_3')} ms)")
        prev = 0
        for s in found["steps"]:
            more = (f"  anon {s['anon_mb']:>5}  heap {s['heap_mb']:>4}  malloc used "
                    f"{s['malloc_used_mb']:>4} free {s['malloc_free_mb']:>4}  threads "
                    f"{s['threads']}" if "anon_mb" in s else "")
            more += f"  arenas {s['arenas']}" if "arenas" in s else ""
            print(f"  {s['step']:<22} {s['rss_mb']:>6} MB  (+{s['rss_mb'] - prev:>4})"
                  f"  peak {s['peak_mb']:>6} MB  files {s.get('file_mb', 0):>4} MB{more}",
                  flush=True)
            prev = s["rss_mb"]
        write_json(args.out, result)  # partial results survive an interrupted run
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
