"""Ingest throughput on one generated corpus, three ways, in one run.

* **baseline** — what a LangChain user writes by default: ``RecursiveCharacterTextSplitter``
  (1000/200 characters), ``HuggingFaceEmbeddings`` on the same bundled model folder (its defaults:
  fp32, batch 32), ``Chroma.from_documents`` into a temp folder (telemetry off). It is handed the
  articles already parsed, which favours it slightly.
* **bare encode** — the limit: the assistant's own embedder's ``model.encode`` on exactly the texts
  the assistant embeds (its chunks with their title/date header), chunked beforehand, untimed.
* **assistant** — ``Assistant.ingest([corpus.jsonl])`` into a fresh temp data dir: parse, chunk,
  plan, embed, write. Then the same call again on the unchanged corpus (re-ingest).

Model loading is outside every timing (each side loads and warms up its model first).
``speedup_vs_baseline`` = assistant articles/s ÷ baseline articles/s;
``ratio_to_bare_encode`` = assistant ingest seconds ÷ bare encode seconds.

    python benchmarks/bench_ingest.py --articles 1000
    python benchmarks/bench_ingest.py --articles 10000 --baseline-articles 1000   # subset, labelled
    python benchmarks/bench_ingest.py --articles 1000 --levers                     # + dtype, chunking

Sizes also come from BENCH_ARTICLES / BENCH_BASELINE_ARTICLES. Writes results/ingest.json
(or ingest-<N>.json with --tag).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import cpu_seconds, machine, now_iso, peak_rss_mb, write_json  # noqa: E402
from make_corpus import write_corpus  # noqa: E402


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 2) if seconds > 0 else float("nan")


def run_assistant(corpus: Path, settings, embedder, *, reingest: bool) -> dict:
    from assistant import Assistant

    data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        bot = Assistant.from_settings(settings.model_copy(update={"data_dir": data_dir}),
                                      embedder=embedder)
        t0, c0 = time.perf_counter(), cpu_seconds()
        report = bot.ingest([corpus])
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        assert report.ok, report.failures[:3]
        n_articles = report.articles_added
        out = {
            "articles": n_articles, "chunks": report.chunks_added, "seconds": round(seconds, 2),
            "articles_per_s": rate(n_articles, seconds),
            "chunks_per_s": rate(report.chunks_added, seconds), "cpu_seconds": round(cpu, 2),
            "chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
            "embedding_dtype": embedder.dtype, "batch_size": embedder.batch_size,
            "peak_rss_mb_after": peak_rss_mb(),
        }
        if reingest:
            t0 = time.perf_counter()
            again = bot.ingest([corpus])
            re_s = time.perf_counter() - t0
            out["reingest"] = {
                "seconds": round(re_s, 2), "fraction_of_first": round(re_s / seconds, 4),
                "chunks_added": again.chunks_added, "articles_unchanged": again.articles_unchanged,
            }
        out["_chunk_texts"] = _chunk_texts(bot, corpus)
        return out
    finally:
        del bot
        gc.collect()
        shutil.rmtree(data_dir, ignore_errors=True)


def _chunk_texts(bot, corpus: Path) -> list[str]:
    """Exactly what the assistant embedded: its chunks with their title/date header."""
    from assistant.chunking import embedding_text
    from assistant.evals.baselines import load_articles

    return [embedding_text(a.title, a.date, c.text)
            for a in load_articles([corpus], max_bytes=bot.settings.max_file_mb * 1_000_000)
            for c in bot.chunker.split(a)]


def run_bare(embedder, texts: list[str]) -> dict:
    t0, c0 = time.perf_counter(), cpu_seconds()
    embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"chunks": len(texts), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "chunks_per_s": rate(len(texts), seconds), "embedding_dtype": embedder.dtype,
            "batch_size": embedder.batch_size}


def run_baseline(articles, model_folder: str) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(model_name=model_folder)  # load: untimed
    embeddings.embed_documents(["warm up"] * 8)
    folder = tempfile.mkdtemp(prefix="bench-baseline-")
    try:
        client = chromadb.PersistentClient(
            path=folder, settings=ChromaSettings(anonymized_telemetry=False)
        )
        t0, c0 = time.perf_counter(), cpu_seconds()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs = splitter.create_documents(
            [a.text for a in articles],
            metadatas=[{"title": a.title, "date": a.date or "", "source": a.source}
                       for a in articles],
        )
        Chroma.from_documents(docs, embeddings, client=client, collection_name="baseline")
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"articles": len(articles), "chunks": len(docs), "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2), "articles_per_s": rate(len(articles), seconds),
            "chunks_per_s": rate(len(docs), seconds), "embedding_dtype": "float32",
            "batch_size": 32, "splitter": "RecursiveCharacterTextSplitter(1000, 200)"}


QUALITY_KEYS = ("recall@5", "mrr", "ndcg@10", "correctness")


def run_quality(split: str = "test") -> dict:
    """Retrieval and answer quality of the assistant (current settings) and the LangChain
    default, side by side, on the held-out split of the newsroom suite: the speed-up only
    counts at equal or better quality."""
    repo = Path(__file__).resolve().parent.parent
    out = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    try:
        subprocess.run(
            [str(Path(sys.executable).parent / "assistant"), "eval", "run",
             str(repo / "evals/suites/newsroom.jsonl"), "--corpus",
             str(repo / "evals/corpora/newsroom"), "--split", split,
             "--baseline", "langchain-default", "--out", str(out)],
            check=True, cwd=repo, stdout=subprocess.DEVNULL,
        )
        [summary] = out.glob("*/summary.json")
        systems = json.loads(summary.read_text())["systems"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"suite": f"newsroom ({split} split)", **{
        name: {k: systems[name]["summary"]["all"][k] for k in QUALITY_KEYS}
        for name in ("assistant", "langchain-default")
    }}


def main() -> None:
    ap = argparse.ArgumentParser(description="Ingest throughput against a same-run baseline.")
    ap.add_argument("--articles", type=int, default=int(os.environ.get("BENCH_ARTICLES", 1000)))
    ap.add_argument("--baseline-articles", type=int,
                    default=int(os.environ.get("BENCH_BASELINE_ARTICLES", 0)),
                    help="run the baseline on the first N articles only (0: all)")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--levers", action="store_true",
                    default=os.environ.get("BENCH_LEVERS", "") not in ("", "0"),
                    help="also measure fp32 vs bf16 and other chunk sizes")
    ap.add_argument("--chunkings", default=os.environ.get("BENCH_CHUNKINGS", "256/40,256/0"),
                    help="with --levers: extra SIZE/OVERLAP settings to ingest with")
    ap.add_argument("--no-quality", action="store_true",
                    help="skip the eval-suite quality comparison (~2 min)")
    ap.add_argument("--out", default="ingest.json")
    args = ap.parse_args()

    from assistant.config import Settings
    from assistant.embeddings import Embedder, resolve_model_path
    from assistant.evals.baselines import load_articles

    corpus = write_corpus(args.articles, args.seed)
    # One JSONL file holds the corpus: 10k articles are ~36 MB, past the default file limit.
    limit_mb = max(Settings().max_file_mb, corpus.stat().st_size // 1_000_000 + 1)
    settings = Settings(max_file_mb=limit_mb)
    articles = load_articles([corpus], max_bytes=limit_mb * 1_000_000)
    result: dict = {
        "date": now_iso(), "machine": machine(),
        "corpus": {"path": str(corpus.relative_to(corpus.parent.parent.parent)),
                   "articles": len(articles), "seed": args.seed,
                   "words": sum(len(a.text.split()) for a in articles)},
        "settings": {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
                     "embedding_dtype": settings.embedding_dtype,
                     "embedding_batch_size": settings.embedding_batch_size},
    }
    print(f"corpus: {len(articles)} articles, {result['corpus']['words']} words ({corpus})")

    embedder = Embedder.load(settings.embedding_model, settings.embedding_batch_size,
                             dtype=settings.embedding_dtype)
    embedder.embed_documents(["warm up"] * 8)
    print(f"assistant embedder: {embedder.dtype}, batch {embedder.batch_size}")

    # 1. the assistant (first: its peak RSS is then the ingest's own, before any other model)
    asst = run_assistant(corpus, settings, embedder, reingest=True)
    texts = asst.pop("_chunk_texts")
    result["assistant"] = asst
    result["peak_rss_mb_ingest"] = asst["peak_rss_mb_after"]
    print(f"assistant ingest: {asst['seconds']} s, {asst['articles_per_s']} articles/s, "
          f"{asst['chunks_per_s']} chunks/s ({asst['chunks']} chunks); re-ingest "
          f"{asst['reingest']['seconds']} s = {asst['reingest']['fraction_of_first']:.1%}")

    # 2. the limit: bare encode of the same texts
    bare = run_bare(embedder, texts)
    result["bare_encode"] = bare
    print(f"bare encode: {bare['seconds']} s, {bare['chunks_per_s']} chunks/s")

    # 3. the baseline
    _, folder = resolve_model_path(settings.embedding_model)
    subset = articles[: args.baseline_articles] if args.baseline_articles else articles
    base = run_baseline(subset, str(folder))
    base["subset"] = len(subset) < len(articles)
    result["baseline"] = base
    print(f"baseline{' (SUBSET of ' + str(len(subset)) + ' articles)' if base['subset'] else ''}: "
          f"{base['seconds']} s, {base['articles_per_s']} articles/s, "
          f"{base['chunks_per_s']} chunks/s ({base['chunks']} chunks)")

    result["speedup_vs_baseline"] = round(asst["articles_per_s"] / base["articles_per_s"], 3)
    result["ratio_to_bare_encode"] = round(asst["seconds"] / bare["seconds"], 3)
    # The same two ratios in CPU seconds per article / per run: robust to a busy shared machine.
    result["speedup_vs_baseline_cpu"] = round(
        (base["cpu_seconds"] / base["articles"]) / (asst["cpu_seconds"] / asst["articles"]), 3)
    result["ratio_to_bare_encode_cpu"] = round(asst["cpu_seconds"] / bare["cpu_seconds"], 3)
    result["reingest_fraction_of_first"] = asst["reingest"]["fraction_of_first"]
    if base["subset"]:
        result["note"] = (f"baseline measured on the first {len(subset)} of {len(articles)} "
                          "articles; speedup compares articles/s")

    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.no_quality:
        result["quality"] = q = run_quality()
        print(f"quality, {q['suite']}: " + "; ".join(
            f"{name} " + ", ".join(f"{k} {v:.3f}" for k, v in q[name].items())
            for name in ("assistant", "langchain-default")))
    path = write_json(args.out, result)  # the headline figures survive a long levers run

    # 4. levers: what each one buys, on the same corpus
    if args.levers:
        levers = []
        other = "float32" if embedder.dtype == "bfloat16" else None
        if other:
            fp32 = Embedder.load(settings.embedding_model, settings.embedding_batch_size,
                                 dtype="float32")
            fp32.embed_documents(["warm up"] * 8)
            run = run_assistant(corpus, settings, fp32, reingest=False)
            run.pop("_chunk_texts")
            run["lever"] = "assistant, float32 embedder (default chunking)"
            run["speedup_vs_baseline"] = round(run["articles_per_s"] / base["articles_per_s"], 3)
            levers.append(run)
            bare32 = run_bare(fp32, texts)
            bare32["lever"] = "bare encode, float32"
            levers.append(bare32)
            print(f"lever fp32: ingest {run['articles_per_s']} articles/s; bare encode "
                  f"{bare32['chunks_per_s']} chunks/s")
            del fp32
            gc.collect()
        for spec in filter(None, args.chunkings.split(",")):
            size, overlap = (int(x) for x in spec.split("/"))
            run = run_assistant(
                corpus, settings.model_copy(update={"chunk_size": size, "chunk_overlap": overlap}),
                embedder, reingest=False,
            )
            run.pop("_chunk_texts")
            run["lever"] = f"assistant, chunk_size {size}, overlap {overlap}"
            run["speedup_vs_baseline"] = round(run["articles_per_s"] / base["articles_per_s"], 3)
            levers.append(run)
            print(f"lever chunking {size}/{overlap}: {run['chunks']} chunks, "
                  f"{run['articles_per_s']} articles/s, speedup {run['speedup_vs_baseline']}")
        for bs in (16, 32, 128):
            sample = texts[:512]
            keep = embedder.batch_size
            embedder.batch_size = bs
            r = run_bare(embedder, sample)
            embedder.batch_size = keep
            r["lever"] = f"bare encode, batch {bs}, first {len(sample)} chunks"
            levers.append(r)
        import torch

        sample = texts[:512]
        ref = run_bare(embedder, sample)
        ref["lever"] = f"bare encode, batch {embedder.batch_size}, {torch.get_num_threads()} threads, first {len(sample)} chunks"
        levers.append(ref)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        r = run_bare(embedder, sample)
        torch.set_num_threads(threads)
        r["lever"] = f"bare encode, 1 thread, first {len(sample)} chunks"
        levers.append(r)
        result["levers"] = levers

    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_json(args.out, result)
    print(f"speedup_vs_baseline {result['speedup_vs_baseline']}x (articles/s), "
          f"ratio_to_bare_encode {result['ratio_to_bare_encode']}, in CPU time "
          f"{result['speedup_vs_baseline_cpu']}x and {result['ratio_to_bare_encode_cpu']}, "
          f"re-ingest {result['reingest_fraction_of_first']:.1%} of first ingest")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
