"""Ingest throughput on one generated corpus, three ways, in one run.

* **baseline** — what a LangChain user writes by default: ``RecursiveCharacterTextSplitter``
  (1000/200 characters), ``HuggingFaceEmbeddings`` on the same bundled model folder (its defaults:
  fp32, batch 32), ``Chroma.from_documents`` into a temp folder (telemetry off). It is handed the
  articles already parsed, which favours it slightly.
* **bare encode** — the limit: the assistant's own embedder's ingest encode (``embed_documents``:
  its batch size and parallel encoders) on exactly the texts the assistant embeds (its chunks with
  their title/date header), chunked beforehand, untimed.
* **assistant** — ``Assistant.ingest([corpus.jsonl])`` into a fresh temp data dir: parse, chunk,
  plan, embed, write. Then the same call again on the unchanged corpus (re-ingest).

Model loading is outside every timing (each side loads and warms up its model first).
``speedup_vs_baseline`` = assistant articles/s ÷ baseline articles/s;
``ratio_to_bare_encode`` = assistant ingest seconds ÷ bare encode seconds.

    python benchmarks/bench_ingest.py --articles 1000
    python benchmarks/bench_ingest.py --articles 10000 --baseline-articles 1000   # subset, labelled
    python benchmarks/bench_ingest.py --articles 1000 --levers                     # + dtype, chunking
    python benchmarks/bench_ingest.py --articles 300 --dtypes auto,float32 --out ingest-fp32.json

``--dtypes`` (BENCH_DTYPES) runs the assistant and its bare encode once per embedding dtype beside
one baseline run: on a bf16 CPU, ``float32`` stands in for a CPU without bf16 (same arithmetic,
not its speed). The first dtype's rows are the top-level keys; every dtype's rows, ratios and
quality are under ``by_dtype``. Sizes also come from BENCH_ARTICLES / BENCH_BASELINE_ARTICLES.
Writes results/ingest.json (or ``--out``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
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
    embedder.embed_documents(texts)  # ingest's own encode path (its batch size and workers)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"chunks": len(texts), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "chunks_per_s": rate(len(texts), seconds), "embedding_dtype": embedder.dtype,
            "batch_size": embedder.batch_size, "ingest_workers": embedder.ingest_workers}


def load_baseline_embeddings(model_folder: str):
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=model_folder)  # load: untimed
    embeddings.embed_documents(["warm up"] * 8)
    return embeddings


def run_baseline(articles, embeddings) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

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


def run_quality(split: str = "test", dtype: str | None = None) -> dict:
    """Retrieval and answer quality of the assistant (current settings, or ``dtype``) and the
    LangChain default, side by side, on the held-out split of the newsroom suite: the speed-up
    only counts at equal or better quality."""
    repo = Path(__file__).resolve().parent.parent
    out = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    # a data dir of its own: the eval's fresh collection never lands in anyone's store
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(out / "data")}
    if dtype:
        env["ASSISTANT_EMBEDDING_DTYPE"] = dtype
    try:
        subprocess.run(
            [str(Path(sys.executable).parent / "assistant"), "eval", "run",
             str(repo / "evals/suites/newsroom.jsonl"), "--corpus",
             str(repo / "evals/corpora/newsroom"), "--split", split,
             "--baseline", "langchain-default", "--out", str(out)],
            check=True, cwd=repo, stdout=subprocess.DEVNULL, env=env,
        )
        [summary] = out.glob("*/summary.json")
        systems = json.loads(summary.read_text())["systems"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"suite": f"newsroom ({split} split)", "embedding_dtype": dtype or "settings", **{
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
    ap.add_argument("--dtypes", default=os.environ.get("BENCH_DTYPES", "auto"),
                    help="embedding dtypes to run the assistant and bare encode with, e.g. "
                    "auto,float32 (one baseline run serves all); DTYPE:BATCH[:WORKERS] for another "
                    "batch size or number of encoders")
    ap.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 1)),
                    help="run every pipeline this many times, interleaved; ratios are medians "
                    "of the per-repeat ratios")
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

    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    _, folder = resolve_model_path(settings.embedding_model)
    subset = articles[: args.baseline_articles] if args.baseline_articles else articles
    embedders = {}
    for spec in dtypes:  # DTYPE, DTYPE:BATCH or DTYPE:BATCH:WORKERS
        dtype, batch, workers = (spec.split(":") + ["", ""])[:3]
        emb = Embedder.load(settings.embedding_model,
                            int(batch) if batch else settings.embedding_batch_size,
                            dtype=dtype, ingest_threads=settings.ingest_threads,
                            ingest_workers=int(workers) if workers else settings.ingest_workers,
                            runtime=settings.embedding_runtime)
        emb.embed_documents(["warm up"] * 8)
        label = emb.dtype + (f", batch {emb.batch_size}" if batch else "") + (
            f", {emb.ingest_workers} worker(s)" if workers else "")
        embedders[label] = (dtype, emb)
        print(f"assistant embedder ({spec}): {label}, batch {emb.batch_size}")
    baseline_embeddings = load_baseline_embeddings(str(folder))
    by_dtype: dict = {name: {"requested": dtype, "repeats": []}
                      for name, (dtype, _) in embedders.items()}
    bases: list[dict] = []
    texts = None
    # Each repeat runs every pipeline once; the order rotates, so a burst of load from other
    # processes does not always fall on the same one. Ratios are taken within a repeat.
    jobs = [*embedders, "baseline"]
    for r in range(args.repeats):
        rep: dict = {}
        for job in jobs[r % len(jobs):] + jobs[:r % len(jobs)]:
            if job == "baseline":
                rep["baseline"] = b = run_baseline(subset, baseline_embeddings)
                b["subset"] = len(subset) < len(articles)
                b["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
                print(f"[{r + 1}] baseline"
                      f"{' (SUBSET of ' + str(len(subset)) + ' articles)' if b['subset'] else ''}: "
                      f"{b['seconds']} s, {b['articles_per_s']} articles/s, "
                      f"{b['chunks_per_s']} chunks/s ({b['chunks']} chunks)", flush=True)
                continue
            dtype, emb = embedders[job]
            run_settings = settings.model_copy(update={"embedding_dtype": dtype})
            # the assistant first: its peak RSS is then the ingest's own (every dtype's model is
            # loaded by then, though)
            asst = run_assistant(corpus, run_settings, emb, reingest=r == 0)
            texts = asst.pop("_chunk_texts")
            bare = run_bare(emb, texts)
            rep[job] = {"assistant": asst, "bare_encode": bare,
                        "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
            if "peak_rss_mb_ingest" not in result:
                result["peak_rss_mb_ingest"] = asst["peak_rss_mb_after"]
            print(f"[{r + 1}] assistant ingest ({job}): {asst['seconds']} s, "
                  f"{asst['articles_per_s']} articles/s, {asst['chunks_per_s']} chunks/s "
                  f"({asst['chunks']} chunks); bare encode {bare['seconds']} s, "
                  f"{bare['chunks_per_s']} chunks/s" + (
                      f"; re-ingest {asst['reingest']['seconds']} s = "
                      f"{asst['reingest']['fraction_of_first']:.1%}" if r == 0 else ""),
                  flush=True)
        base = rep["baseline"]
        bases.append(base)
        for name in embedders:
            asst, bare = rep[name]["assistant"], rep[name]["bare_encode"]
            rep[name].update({
                "speedup_vs_baseline": round(asst["articles_per_s"] / base["articles_per_s"], 3),
                "ratio_to_bare_encode": round(asst["seconds"] / bare["seconds"], 3),
                # the same two ratios in CPU seconds per article / per run
                "speedup_vs_baseline_cpu": round(
                    (base["cpu_seconds"] / base["articles"])
                    / (asst["cpu_seconds"] / asst["articles"]), 3),
                "ratio_to_bare_encode_cpu": round(asst["cpu_seconds"] / bare["cpu_seconds"], 3),
            })
            by_dtype[name]["repeats"].append(rep[name])
    base = result["baseline"] = bases[0]
    result["baseline_repeats"] = bases

    for row in by_dtype.values():
        reps = row["repeats"]
        row["assistant"], row["bare_encode"] = reps[0]["assistant"], reps[0]["bare_encode"]
        for key in ("speedup_vs_baseline", "ratio_to_bare_encode", "speedup_vs_baseline_cpu",
                    "ratio_to_bare_encode_cpu"):
            row[key] = round(statistics.median(x[key] for x in reps), 3)
            row[key + "_range"] = [min(x[key] for x in reps), max(x[key] for x in reps)]
        row["reingest_fraction_of_first"] = row["assistant"]["reingest"]["fraction_of_first"]
    first = by_dtype[next(iter(by_dtype))]
    result["assistant"], result["bare_encode"] = first["assistant"], first["bare_encode"]
    for key in ("speedup_vs_baseline", "ratio_to_bare_encode", "speedup_vs_baseline_cpu",
                "ratio_to_bare_encode_cpu", "reingest_fraction_of_first"):
        result[key] = first[key]
    result["by_dtype"] = by_dtype
    if base["subset"]:
        result["note"] = (f"baseline measured on the first {len(subset)} of {len(articles)} "
                          "articles; speedup compares articles/s")
    for name, row in by_dtype.items():
        print(f"{name}: speedup_vs_baseline {row['speedup_vs_baseline']}x, ratio_to_bare_encode "
              f"{row['ratio_to_bare_encode']} (CPU time {row['speedup_vs_baseline_cpu']}x, "
              f"{row['ratio_to_bare_encode_cpu']})")

    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.no_quality:
        for name, row in by_dtype.items():
            if ", batch" in name:  # the same vectors as that dtype's (batching changes no maths)
                continue
            row["quality"] = q = run_quality(dtype=name if len(by_dtype) > 1 else None)
            print(f"quality ({name}), {q['suite']}: " + "; ".join(
                f"{sys_name} " + ", ".join(f"{k} {v:.3f}" for k, v in q[sys_name].items())
                for sys_name in ("assistant", "langchain-default")))
        result["quality"] = first["quality"]
    path = write_json(args.out, result)  # the headline figures survive a long levers run

    # 4. levers: what each one buys, on the same corpus
    if args.levers:
        levers = []
        _, embedder = next(iter(embedders.values()))
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
