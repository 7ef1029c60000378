"""What a serving process holds: resident memory after each step of opening bench_query's store.

Each configuration runs in a fresh process (RSS only grows within one), which imports, loads
and opens what ``assistant serve`` would, one piece at a time, and records ``VmRSS`` and the
peak (``VmHWM``) after each: torch, the assistant's own imports, the embedder, spaCy, Chroma,
the lexical mirror, the first search (HNSW load) and a few answers; ``RssFile`` is the part of
RSS that is pages of mapped files (the kernel can drop them and read them again; the mirror's
base is mapped from its snapshot). Build the store first
(``bench_query.py``; the 100k size is the one issue 13 names).

    python benchmarks/bench_memory.py                    # bf16/auto and fp32, both runtimes
    python benchmarks/bench_memory.py --configs auto:sentence-transformers --out memory-x.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, now_iso, write_json  # noqa: E402
from bench_query import COLLECTION, STORE  # noqa: E402

CONFIGS = "auto:sentence-transformers,float32:sentence-transformers,auto:transformers"


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def probe(dtype: str, runtime: str) -> dict:
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
    from assistant.nlp import Annotator

    mark("import assistant")
    settings = Settings(data_dir=STORE, collection=COLLECTION, embedding_dtype=dtype,
                        embedding_runtime=runtime)
    embedder = Embedder.load(settings.embedding_model, settings.embedding_batch_size,
                             dtype=settings.embedding_dtype, runtime=settings.embedding_runtime)
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
    for q in ("How much has the council set aside for flood defences?",
              "Who described the budget as a serious setback?",
              "When will the changes take effect in Harwick?"):
        bot.ask(q)
    mark("after 3 answers")
    return {"dtype": dtype, "runtime": runtime, "chunks": bot.store.count(), "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description="Serving RSS, step by step.")
    ap.add_argument("--configs", default=CONFIGS, help="dtype:runtime, comma-separated")
    ap.add_argument("--out", default="memory.json", help="file name under results/")
    ap.add_argument("--worker", help="dtype:runtime (internal)")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(probe(*args.worker.split(":"))))
        return
    if not STORE.exists():
        sys.exit(f"no store at {STORE}: run benchmarks/bench_query.py first")
    result = {"date": now_iso(), "machine": machine(), "store": str(STORE), "configs": []}
    for config in args.configs.split(","):
        out = subprocess.run([sys.executable, __file__, "--worker", config], check=True,
                             capture_output=True, text=True)
        found = json.loads(out.stdout.strip().splitlines()[-1])
        result["configs"].append(found)
        print(f"{config} ({found['chunks']} chunks)")
        prev = 0
        for s in found["steps"]:
            print(f"  {s['step']:<22} {s['rss_mb']:>6} MB  (+{s['rss_mb'] - prev:>4})"
                  f"  peak {s['peak_mb']:>6} MB  files {s.get('file_mb', 0):>4} MB", flush=True)
            prev = s["rss_mb"]
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
