"""Query latency and serving memory at growing store sizes (default 1k, 10k, 100k chunks).

The store grows in one persistent folder (benchmarks/data/query-store/): for each size a *build*
process bulk-loads generated articles (paragraph-window chunks of ~170 words, the store's own
metadata, batched upserts; the store then rebuilds its lexical index from Chroma) until the store
holds that many chunks, then a fresh
*serve* process opens it like ``assistant serve`` would and times, with unique questions (the
query-embedding cache never hits):

* retrieval alone: ``Assistant.search(q)`` (question embedding included);
* the full cited answer: ``Assistant.ask(q)`` with the embedded default (extractive) answerer.

It reports p50/p95/mean, the first query after opening (index load), start-up time and the serve
process's peak RSS (``resource.getrusage``), each measured in its own process.

Vectors: the first ``--real`` chunk texts are embedded for real; beyond them a chunk's vector is
a seeded blend of two real chunk vectors plus noise (normalised), so the store has the clustered
shape of real embeddings at a fraction of the encode time. Chunk texts, metadata and the lexical
index are real. Questions are real embeddings.

    python benchmarks/bench_query.py                       # sizes from BENCH_QUERY_SIZES
    python benchmarks/bench_query.py --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, machine, now_iso, peak_rss_mb, percentile, write_json  # noqa: E402
from make_corpus import FIRST, LAST, ORGS, PLACES, TOPICS, make_article  # noqa: E402

STORE = DATA / "query-store"
COLLECTION = "bench"
SEED = 4242


# --- building --------------------------------------------------------------------------------


def _synthetic_embedder(real, pool_size: int):
    """The real embedder for the first ``pool_size`` texts, blends of their vectors after."""
    import numpy as np

    from assistant.embeddings import Embedder
    from assistant.types import digest

    pool_path = STORE / "pool.npy"
    pool = list(np.load(pool_path)) if pool_path.exists() else []

    class Synthetic(Embedder):
        def __init__(self):  # share the real model (tokeniser, fingerprint, limits)
            self.__dict__.update(real.__dict__)

        def embed_documents(self, texts):
            out = []
            need = min(len(texts), max(0, pool_size - len(pool)))
            if need:
                vecs = real.embed_documents(texts[:need])
                pool.extend(np.asarray(vecs, dtype=np.float32))
                np.save(pool_path, np.stack(pool))
                out.extend(vecs)
            for text in texts[need:]:
                rnd = np.random.default_rng(int(digest("vec", text), 16))
                a, b = rnd.integers(len(pool), size=2)
                v = pool[a] + 0.5 * pool[b] + rnd.normal(0, 0.03, size=pool[a].shape)
                out.append((v / np.linalg.norm(v)).astype(np.float32).tolist())
            return out

    return Synthetic()


def _chunks(article, words: int = 170):
    """Paragraph windows of about ``words`` words (the assistant's chunks are ~150-190 words);
    pysbd chunking of 100k chunks would take longer than the whole benchmark."""
    import re

    from assistant.types import Chunk, digest

    paras = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", article.text)]
    out, start, end, n = [], None, None, 0
    for ps, pe in paras:
        if start is not None and n + len(article.text[ps:pe].split()) > words:
            out.append((start, end))
            start, n = None, 0
        start = ps if start is None else start
        end, n = pe, n + len(article.text[ps:pe].split())
    if start is not None:
        out.append((start, end))
    return [Chunk(id=digest("chunk", article.id, str(s), article.text[s:e]),
                  article_id=article.id, index=i, text=article.text[s:e], start=s, end=e)
            for i, (s, e) in enumerate(out)]


def build(target: int, real_vectors: int) -> dict:
    """Grow the store to ``target`` chunks with bulk upserts (Chroma's batch limit), then have
    the store rebuild its lexical index from Chroma (its documented recovery path)."""
    from assistant import Assistant
    from assistant.chunking import embedding_text
    from assistant.config import Settings
    from assistant.embeddings import Embedder
    from assistant.store import ChromaStore
    from assistant.types import Article, digest

    settings = Settings(data_dir=STORE, collection=COLLECTION)
    real = Embedder.load(settings.embedding_model, settings.embedding_batch_size,
                         dtype=settings.embedding_dtype)
    embedder = _synthetic_embedder(real, real_vectors)
    bot = Assistant.from_settings(settings, embedder=embedder)
    col = bot.store.collection
    state_path = STORE / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"articles": 0}
    rnd = random.Random(SEED + state["articles"])
    t0 = time.perf_counter()
    added = 0
    while col.count() < target:
        ids, vecs, docs, metas = [], [], [], []
        while len(ids) < min(4000, target - col.count()):
            raw = make_article(rnd, state["articles"])
            state["articles"] += 1
            art = Article(id=digest("bench", raw["url"]), title=raw["title"], text=raw["text"],
                          source=raw["url"], date=raw["date"], url=raw["url"])
            chunks = _chunks(art)
            texts = [embedding_text(art.title, art.date, c.text) for c in chunks]
            ids += [c.id for c in chunks]
            docs += [c.text for c in chunks]
            metas += [ChromaStore._metadata(art, c, len(chunks), art.content_hash)
                      for c in chunks]
            vecs += texts  # embedded below, in one call
        vecs = embedder.embed_documents(vecs)
        col.upsert(ids=ids, embeddings=vecs, documents=docs, metadatas=metas)
        added += len(ids)
        state_path.write_text(json.dumps(state))
    # Bulk writes bypassed the lexical index: drop its snapshot so the store rebuilds it now.
    shutil.rmtree(STORE / "lexical", ignore_errors=True)
    bot = Assistant.from_settings(settings, embedder=embedder)
    t1 = time.perf_counter()
    bot.store.sync_lexical()
    lexical_s = time.perf_counter() - t1
    return {"chunks": col.count(), "articles": state["articles"], "chunks_added": added,
            "seconds": round(time.perf_counter() - t0, 1), "lexical_rebuild_s": round(lexical_s, 1),
            "peak_rss_mb": peak_rss_mb()}


# --- serving ---------------------------------------------------------------------------------


def questions(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    topics = [t for ts in TOPICS.values() for t in ts]
    forms = [
        "What did {p} say about {t}?",
        "How much has {o} set aside to deal with {t}?",
        "When will the changes in {pl} take effect?",
        "Why did {o} criticise plans on {t}?",
        "What did residents of {pl} say about {t}?",
        "How many votes did the decision on {t} get in {pl}?",
        "What are analysts' estimates of the cost of {t} for {o}?",
        "Who described {t} as a serious setback?",
    ]
    out, seen = [], set()
    while len(out) < n:
        q = rnd.choice(forms).format(
            p=f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", t=rnd.choice(topics),
            o=rnd.choice(ORGS), pl=rnd.choice(PLACES),
        )
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out


def stats(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1), "mean_ms": round(sum(ms) / len(ms), 1),
            "max_ms": round(max(ms), 1)}


def serve(n_search: int, n_ask: int) -> dict:
    t0 = time.perf_counter()
    from assistant import Assistant
    from assistant.config import Settings

    bot = Assistant.from_settings(Settings(data_dir=STORE, collection=COLLECTION))
    startup = time.perf_counter() - t0
    qs = questions(3 + n_search + n_ask, seed=7)
    t0 = time.perf_counter()
    bot.search(qs[0])
    first = time.perf_counter() - t0
    for q in qs[1:3]:  # warm-up
        bot.ask(q)
    search_t, ask_t, abstained, cited = [], [], 0, 0
    for q in qs[3:3 + n_search]:
        t0 = time.perf_counter()
        bot.search(q)
        search_t.append(time.perf_counter() - t0)
    for q in qs[3 + n_search:]:
        t0 = time.perf_counter()
        answer = bot.ask(q)
        ask_t.append(time.perf_counter() - t0)
        abstained += bool(getattr(answer, "abstained", not answer.citations))
        cited += bool(answer.citations)
    return {
        "chunks": bot.store.count(), "startup_s": round(startup, 2),
        "first_search_ms": round(first * 1000, 1), "search": stats(search_t),
        "ask": {**stats(ask_t), "abstained": abstained, "with_citations": cited},
        "embedding_dtype": bot.embedder.dtype, "backend": bot.backend,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- orchestration ---------------------------------------------------------------------------


def worker(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description="Query latency and memory vs store size.")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_QUERY_SIZES", "1000,10000,100000"))
    ap.add_argument("--search", type=int, default=int(os.environ.get("BENCH_QUERY_N", 100)))
    ap.add_argument("--ask", type=int, default=int(os.environ.get("BENCH_ASK_N", 40)))
    ap.add_argument("--real", type=int, default=int(os.environ.get("BENCH_REAL_VECTORS", 2000)))
    ap.add_argument("--fresh", action="store_true", help="delete the cached store first")
    ap.add_argument("--worker", choices=["build", "serve"])
    ap.add_argument("--target", type=int)
    args = ap.parse_args()
    if args.worker == "build":
        print(json.dumps(build(args.target, args.real)))
        return
    if args.worker == "serve":
        print(json.dumps(serve(args.search, args.ask)))
        return

    if args.fresh:
        shutil.rmtree(STORE, ignore_errors=True)
    STORE.mkdir(parents=True, exist_ok=True)
    result = {"date": now_iso(), "machine": machine(), "real_vectors": args.real,
              "vectors": f"first {args.real} chunks embedded for real, the rest blends of two "
                         "real vectors plus noise; texts, metadata and lexical index real",
              "sizes": []}
    for size in sorted(int(s) for s in args.sizes.split(",")):
        built = worker("--worker", "build", "--target", str(size), "--real", str(args.real))
        print(f"store: {built['chunks']} chunks ({built['chunks_added']} added in "
              f"{built['seconds']} s, build peak RSS {built['peak_rss_mb']} MB)", flush=True)
        served = worker("--worker", "serve", "--search", str(args.search), "--ask", str(args.ask))
        served["target"] = size
        served["build"] = built
        result["sizes"].append(served)
        s, a = served["search"], served["ask"]
        print(f"  {served['chunks']:>7} chunks: search p50 {s['p50_ms']} ms p95 {s['p95_ms']} ms"
              f" | ask p50 {a['p50_ms']} ms p95 {a['p95_ms']} ms ({a['abstained']}/{a['n']} "
              f"abstained) | first search {served['first_search_ms']} ms, start-up "
              f"{served['startup_s']} s, serve peak RSS {served['peak_rss_mb']} MB", flush=True)
        write_json("query.json", result)  # partial results survive an interrupted run
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"wrote {write_json('query.json', result)}")


if __name__ == "__main__":
    main()
