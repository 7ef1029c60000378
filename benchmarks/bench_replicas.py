"""How soon a write through one process is in another process's search, at bench_query's store
size (build it first: ``python benchmarks/bench_query.py --sizes 100000``).

A ``chroma run`` server serves ``benchmarks/data/query-store/chroma``; a *reader* process opens
the collection (from a copy of the lexical snapshot) and then, as the baseline measured in the
same run, rebuilds its lexical mirror from Chroma once, which is what every process paid after
any foreign write before the change log. The *writer* (this process) then ingests one new
article at a time; for each, the reader searches (BM25 only) for the article's unique name
until it finds it, and reports when (wall clock, same machine), how long the query that caught
up took and whether it rebuilt.

    python benchmarks/bench_replicas.py --writes 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, machine, now_iso, peak_rss_mb, write_json  # noqa: E402

STORE = DATA / "query-store"
COLLECTION = "bench"


def _env(port: int, data_dir: Path) -> dict:
    return {**os.environ, "ASSISTANT_CHROMA_MODE": "http", "ASSISTANT_CHROMA_PORT": str(port),
            "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_COLLECTION": COLLECTION}


def reader() -> None:
    """Lines in: ``find TOKEN``; JSON lines out."""
    t0 = time.perf_counter()
    from assistant import Assistant

    bot = Assistant.from_settings(retrieval_mode="lexical")
    chunks = len(bot.store.sync_lexical())
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    bot.store._rebuild()
    rebuild = time.perf_counter() - t0
    counts = {"rebuilds": 0}
    real = bot.store._rebuild
    bot.store._rebuild = lambda: counts.__setitem__("rebuilds", counts["rebuilds"] + 1) or real()
    idle = []
    for _ in range(20):  # a query when nothing changed: the marker check only
        t0 = time.perf_counter()
        bot.store.sync_lexical()
        idle.append(time.perf_counter() - t0)
    print(json.dumps({"chunks": chunks, "open_s": round(opened, 2),
                      "full_rebuild_s": round(rebuild, 2),
                      "idle_sync_ms": round(1000 * sorted(idle)[10], 2),
                      "peak_rss_mb": peak_rss_mb()}), flush=True)
    for line in sys.stdin:
        token = line.split(" ", 1)[1].strip()
        polls = 0
        while True:
            polls += 1
            t0 = time.perf_counter()
            found = any(token in c.text for c in bot.search(token, 3))
            took = time.perf_counter() - t0
            if found or polls > 2000:
                break
            time.sleep(0.01)
        print(json.dumps({"found": found, "seen_at": time.time(), "polls": polls,
                          "catch_up_query_ms": round(1000 * took, 1), **counts}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description="Replica freshness after a write, same run.")
    ap.add_argument("--writes", type=int, default=5)
    ap.add_argument("--worker", choices=["reader"])
    args = ap.parse_args()
    if args.worker == "reader":
        reader()
        return
    snapshot = STORE / "lexical" / f"{COLLECTION}.lexical.npz"
    if not snapshot.exists():
        sys.exit("no query store: run benchmarks/bench_query.py --sizes 100000 first")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(STORE / "chroma"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    work = DATA / "replicas"
    shutil.rmtree(work, ignore_errors=True)
    for role in ("writer", "reader"):  # both open from the snapshot, as a restarted replica does
        (work / role / "lexical").mkdir(parents=True)
        shutil.copy(snapshot, work / role / "lexical" / snapshot.name)
    try:
        import httpx

        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        os.environ.update(_env(port, work / "writer"))
        from assistant import Assistant
        from assistant.types import Article

        result = {"date": now_iso(), "machine": machine(), "writes": []}
        t0 = time.perf_counter()
        writer = Assistant.from_settings()
        writer.store.sync_lexical()
        result["writer_open_s"] = round(time.perf_counter() - t0, 2)
        proc = subprocess.Popen([sys.executable, __file__, "--worker", "reader"],
                                env=_env(port, work / "reader"), text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        result["reader"] = json.loads(proc.stdout.readline())
        print(f"reader: {result['reader']}", flush=True)
        for i in range(args.writes):
            token = f"Quorvantix{i}{int(time.time())}z"
            article = Article(
                id=f"replica-{token}", title=f"Replica check {i}", source=f"bench:{token}",
                date="2025-12-01",
                text=f"{token} said the harbour board would meet again on Monday. " * 3)
            t0 = time.perf_counter()
            writer.ingest_articles([article])
            done = time.time()
            write_s = time.perf_counter() - t0
            proc.stdin.write(f"find {token}\n")
            proc.stdin.flush()
            seen = json.loads(proc.stdout.readline())
            row = {"article_id": article.id, "write_s": round(write_s, 3), "seen_after_ms": round(1000 * (seen["seen_at"] - done), 1),
                   **seen}
            result["writes"].append(row)
            print(row, flush=True)
        for i in range(args.writes):  # leave the benchmark store as it was
            writer.delete(result["writes"][i]["article_id"])
        lags = sorted(r["seen_after_ms"] for r in result["writes"])
        result["seen_after_ms_max"] = lags[-1]
        result["speedup_vs_rebuild"] = round(
            1000 * result["reader"]["full_rebuild_s"] / max(lags[-1], 1e-3), 1)
        proc.stdin.close()
        proc.wait(timeout=60)
        result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(f"wrote {write_json('replicas.json', result)}")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
