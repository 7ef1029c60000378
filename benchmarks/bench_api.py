"""What the HTTP face adds to a cited answer: ``Assistant.ask`` in Python vs the same question
through ``POST /v1/ask`` and ``POST /v1/chat/completions``, in one process, in the same run.

A store of generated articles is ingested once (``benchmarks/data/api-store``, or ``--store
query`` for bench_query's store); then, per row (embedding dtype x ``query_threads``), a fresh
process opens it, serves the API with uvicorn on a loopback port in a thread (as ``assistant
api`` does) and asks each question three ways in a rotating order. The question and sentence
vector caches are cleared before every call, so each path pays the full encode: the paired
difference (HTTP - Python, same question) is the HTTP path's own cost. A last series asks new
questions with the caches kept, which is what a server sees in steady state.

    python benchmarks/bench_api.py                                # fp32 and this CPU's auto dtype
    python benchmarks/bench_api.py --dtypes float32 --threads 0,1 --questions 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, machine, now_iso, peak_rss_mb, percentile, write_json  # noqa: E402

STORES = {"api": (DATA / "api-store", "bench-api"), "query": (DATA / "query-store", "bench")}


def build(articles: int) -> dict:
    """Ingest ``articles`` generated articles with the assistant (once; reused after)."""
    from make_corpus import write_corpus

    from assistant import Assistant, Settings

    folder, collection = STORES["api"]
    bot = Assistant.from_settings(Settings(data_dir=folder, collection=collection))
    t0 = time.perf_counter()
    report = bot.ingest([write_corpus(articles, seed=99, out=DATA / f"api-corpus-{articles}.jsonl")])
    return {"articles": articles, "chunks": bot.store.count(),
            "ingest_s": round(time.perf_counter() - t0, 1), "added": report.articles_added}


def stats(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1), "mean_ms": round(sum(ms) / len(ms), 1)}


def serve(store: str, n: int) -> dict:
    """One row: this process's settings come from the environment (dtype, query threads)."""
    import httpx
    import uvicorn

    from assistant import Assistant, Settings
    from assistant.api import create_app
    from assistant.chunking import sentence_spans
    from bench_query import questions

    folder, collection = STORES[store]
    bot = Assistant.from_settings(Settings(data_dir=folder, collection=collection))
    server = uvicorn.Server(uvicorn.Config(create_app(bot), host="127.0.0.1", port=0,
                                           log_level="warning"))
    import threading

    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)

    def python(q):
        return bot.ask(q).citations

    def http_ask(q):
        r = client.post("/v1/ask", json={"question": q})
        r.raise_for_status()
        return r.json()["citations"]

    def http_chat(q):
        r = client.post("/v1/chat/completions",
                        json={"model": "m", "messages": [{"role": "user", "content": q}]})
        r.raise_for_status()
        return r.json()["citations"]

    paths = {"python": python, "http_ask": http_ask, "http_chat": http_chat}
    qs = questions(n + 3 + n, seed=11)
    for q in qs[:3]:  # warm-up: first-request costs (index build, thread start) are not timed
        for f in paths.values():
            f(q)
    times: dict[str, list[float]] = {k: [] for k in paths}
    same = 0
    for i, q in enumerate(qs[3:3 + n]):
        names = list(paths)
        names = names[i % 3:] + names[:i % 3]  # rotate: no path always goes first
        cited = {}
        for name in names:
            bot.embedder.clear_cache()
            sentence_spans.cache_clear()  # each path splits its passages afresh
            t0 = time.perf_counter()
            cited[name] = len(paths[name](q))
            times[name].append(time.perf_counter() - t0)
        same += len(set(cited.values())) == 1
    warm = []
    for q in qs[3 + n:]:  # new questions, caches kept
        t0 = time.perf_counter()
        python(q)
        warm.append(time.perf_counter() - t0)
    server.should_exit = True
    diffs = {k: [h - p for h, p in zip(times[k], times["python"], strict=True)]
             for k in ("http_ask", "http_chat")}
    return {
        "chunks": bot.store.count(), "embedding_dtype": bot.embedder.dtype,
        "query_threads": bot.embedder.query_threads, "questions": n,
        "same_citation_count": same,
        **{k: stats(v) for k, v in times.items()},
        "python_warm_caches": stats(warm),
        **{f"{k}_minus_python_ms": {"p50": round(percentile([d * 1000 for d in v], 50), 1),
                                    "mean": round(1000 * sum(v) / len(v), 1)}
           for k, v in diffs.items()},
        **{f"{k}_ratio_to_python": round(percentile(times[k], 50) / percentile(times["python"], 50), 3)
           for k in ("http_ask", "http_chat")},
        "peak_rss_mb": peak_rss_mb(),
    }


def worker(env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True, env={**os.environ, **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description="Python vs HTTP answer latency, same run.")
    ap.add_argument("--articles", type=int, default=int(os.environ.get("BENCH_API_ARTICLES", 200)))
    ap.add_argument("--store", choices=list(STORES), default="api")
    ap.add_argument("--dtypes", default="float32,auto")
    ap.add_argument("--threads", default="0,1", help="query_threads per row (0: torch default)")
    ap.add_argument("--questions", type=int, default=int(os.environ.get("BENCH_API_N", 30)))
    ap.add_argument("--out", default="api.json")
    ap.add_argument("--worker", choices=["build", "serve"])
    args = ap.parse_args()
    if args.worker == "build":
        print(json.dumps(build(args.articles)))
        return
    if args.worker == "serve":
        print(json.dumps(serve(args.store, args.questions)))
        return
    result = {"date": now_iso(), "machine": machine(), "store": args.store, "rows": [],
              "note": "caches cleared before every timed call; paired by question"}
    if args.store == "api" and not STORES["api"][0].exists():
        result["build"] = worker({}, "--worker", "build", "--articles", str(args.articles))
        print(f"store: {result['build']}", flush=True)
    for dtype in args.dtypes.split(","):
        for threads in args.threads.split(","):
            env = {"ASSISTANT_EMBEDDING_DTYPE": dtype, "ASSISTANT_QUERY_THREADS": threads}
            row = worker(env, "--worker", "serve", "--store", args.store,
                         "--questions", str(args.questions))
            row["dtype_setting"] = dtype
            result["rows"].append(row)
            print(f"{row['chunks']} chunks, {row['embedding_dtype']}, query_threads "
                  f"{row['query_threads']}: python p50 {row['python']['p50_ms']} ms, /v1/ask "
                  f"{row['http_ask']['p50_ms']} ms (+{row['http_ask_minus_python_ms']['p50']} ms), "
                  f"chat {row['http_chat']['p50_ms']} ms (+{row['http_chat_minus_python_ms']['p50']}"
                  f" ms); python, caches kept: {row['python_warm_caches']['p50_ms']} ms",
                  flush=True)
            write_json(args.out, result)
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
