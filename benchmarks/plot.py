"""Plot ingest throughput and query latency against corpus size from benchmarks/results/*.json.

    python benchmarks/plot.py          # -> benchmarks/results/bench.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ingests = []
    for path in sorted(RESULTS.glob("ingest*.json")):
        r = json.loads(path.read_text())
        if len(r.get("by_dtype", {})) > 1:
            continue  # a comparison of dtypes at one size (ingest-fp32.json): tabled, not a curve
        ingests.append((r["corpus"]["articles"], r))
    ingests.sort(key=lambda x: x[0])
    query = json.loads((RESULTS / "query.json").read_text()) if (RESULTS / "query.json").exists() else None
    if not ingests and not query:
        sys.exit("no results in benchmarks/results/: run `make bench` first")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    if ingests:
        sizes = [n for n, _ in ingests]
        for key, label, style in (("assistant", "assistant ingest", "o-"),
                                  ("baseline", "LangChain default (same run)", "s--")):
            ax1.plot(sizes, [r[key]["articles_per_s"] for _, r in ingests], style, label=label)
        bare = [r["bare_encode"]["chunks_per_s"] / (r["assistant"]["chunks"] / r["assistant"]["articles"])
                for _, r in ingests]
        ax1.plot(sizes, bare, "^:", label="bare encode of the assistant's chunks (limit)")
        for n, r in ingests:
            ax1.annotate(f"{r['speedup_vs_baseline']:.2f}x, {r['ratio_to_bare_encode']:.2f}x bare",
                         (n, r["assistant"]["articles_per_s"]), textcoords="offset points",
                         xytext=(4, 6), fontsize=8)
        ax1.set_xscale("log")
        ax1.set_xlabel("corpus size (articles)")
        ax1.set_ylabel("articles / s")
        ax1.set_title("Ingest throughput")
        ax1.set_ylim(bottom=0)
        ax1.legend(fontsize=8)
        ax1.grid(alpha=0.3)
    if query:
        rows = query["sizes"]
        n = [r["chunks"] for r in rows]
        for key, label, style in (("search", "search (retrieval)", "o-"), ("ask", "ask (cited answer)", "s-")):
            ax2.plot(n, [r[key]["p50_ms"] for r in rows], style, label=f"{label} p50")
            ax2.plot(n, [r[key]["p95_ms"] for r in rows], style.replace("-", "--"), alpha=0.6,
                     label=f"{label} p95")
        ax2.axhline(50, color="grey", lw=0.8, ls=":")
        ax2.axhline(500, color="grey", lw=0.8, ls=":")
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_xlabel("store size (chunks)")
        ax2.set_ylabel("latency (ms)")
        ax2.set_title("Query latency (goals: search p95 50 ms, ask p50 500 ms)")
        ax2.legend(fontsize=8)
        ax2.grid(alpha=0.3, which="both")
    m = (ingests[0][1] if ingests else query)["machine"]
    fig.suptitle(f"{m['cpu_model']}, {m['cpu_count']} cores", fontsize=9)
    fig.tight_layout()
    out = RESULTS / "bench.png"
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
