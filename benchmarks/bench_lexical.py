"""The lexical mirror alone: snapshot load time, BM25 search latency and resident memory.

Reads a copy of a snapshot (by default bench_query's store, built by ``bench_query.py``), so
that the store's own file is left as it is, in a fresh process: the first load (which rewrites
a snapshot of an older layout), then ``--loads`` more, then ``--rounds`` rounds of ``--n``
unique bench_query questions through ``LexicalIndex.search`` (k 30), then ``--writes`` chunk
writes (``upsert``: half rewrite chunks the index holds, half are new; a ``save``; then
``delete`` of them all). RSS (``VmRSS``) after each step; ``RssFile`` is the part that is
pages of mapped files (the kernel can drop them).

    python benchmarks/bench_lexical.py
    python benchmarks/bench_lexical.py --snapshot path/to/x.lexical.npz --out lexical.json
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, now_iso, percentile, write_json  # noqa: E402
from bench_query import COLLECTION, STORE, questions  # noqa: E402


def _status() -> dict:
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[key] = int(value.split()[0]) // 1024
    return found


def _writes(index, n: int) -> dict:
    import random

    from make_corpus import make_article

    rnd = random.Random(5)
    texts = []
    while len(texts) < n:
        texts += [p for p in make_article(rnd, len(texts))["text"].split("\n") if p.strip()]
    old = sorted(index.chunk_ids())[: n // 2]
    ids = old + [f"new{i}" for i in range(n - len(old))]
    items = [(cid, text, 20260301, (f"w{i // 4}", "h", 4, 1))
             for i, (cid, text) in enumerate(zip(ids, texts))]
    t0 = time.perf_counter()
    index.upsert(items)
    upsert = time.perf_counter() - t0
    peak = _status()["VmHWM"]
    t0 = time.perf_counter()
    index.save()
    save = time.perf_counter() - t0
    save_peak = _status()["VmHWM"]
    t0 = time.perf_counter()
    index.delete(ids)
    return {"n": n, "upsert_s": round(upsert, 3), "save_s": round(save, 3),
            "peak_before_save_mb": peak, "peak_after_save_mb": save_peak,
            "delete_s": round(time.perf_counter() - t0, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description="Lexical mirror: load, search, memory.")
    ap.add_argument("--snapshot", default=str(STORE / "lexical" / f"{COLLECTION}.lexical.npz"))
    ap.add_argument("--n", type=int, default=200, help="questions per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loads", type=int, default=3, help="timed loads after the first")
    ap.add_argument("--writes", type=int, default=2000, help="chunks upserted, then deleted")
    ap.add_argument("--out", default="lexical.json")
    args = ap.parse_args()
    from assistant.lexical import LexicalIndex

    steps = [{"step": "start", **_status()}]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(args.snapshot).name
        shutil.copyfile(args.snapshot, path)
        t0 = time.perf_counter()
        index = LexicalIndex(path)
        assert index.load(), "no snapshot read"
        first = time.perf_counter() - t0
        steps.append({"step": "first load", "seconds": round(first, 2), **_status()})
        loads = []
        for _ in range(args.loads):
            del index
            t0 = time.perf_counter()
            index = LexicalIndex(path)
            index.load()
            loads.append(round(time.perf_counter() - t0, 3))
        steps.append({"step": f"after {args.loads} more loads", **_status()})
        chunks = len(index)
        qs = questions(args.n, seed=11)
        rounds = []
        for _ in range(args.rounds):
            times = []
            for q in qs:
                t0 = time.perf_counter()
                index.search(q, 30)
                times.append((time.perf_counter() - t0) * 1000)
            rounds.append({"p50_ms": round(percentile(times, 50), 2),
                           "p95_ms": round(percentile(times, 95), 2),
                           "mean_ms": round(sum(times) / len(times), 2)})
            steps.append({"step": f"after {args.n} searches", **_status()})
        writes = _writes(index, args.writes)
        steps.append({"step": f"after {args.writes} writes", **_status()})
    result = {"date": now_iso(), "machine": machine(), "snapshot": args.snapshot,
              "chunks": chunks, "first_load_s": round(first, 2), "load_s": loads,
              "search_rounds": rounds, "writes": writes, "steps": steps}
    print(f"{chunks} chunks: first load {first:.2f} s, loads {loads} s")
    for r in rounds:
        print(f"  search (k 30): p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms"
              f"  mean {r['mean_ms']} ms")
    print(f"  {args.writes} chunks: upsert {writes['upsert_s']} s, save {writes['save_s']} s (peak "
          f"{writes['peak_before_save_mb']} -> {writes['peak_after_save_mb']} MB), delete "
          f"{writes['delete_s']} s")
    for s in steps:
        print(f"  {s['step']:<24} RSS {s['VmRSS']:>5} MB (anon {s['RssAnon']}, file "
              f"{s['RssFile']})  peak {s['VmHWM']} MB")
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
