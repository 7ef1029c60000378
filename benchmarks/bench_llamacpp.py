"""llama.cpp in process: prompt and generation speed by thread count, idle and beside a busy CPU.

For each thread count (``--threads``, default 1,2) and each condition — ``idle`` (whatever else
the machine runs) and ``busy`` (one extra process spinning on a core, as another job on a shared
2-core machine would) — one answer-sized request: the seed article as the passages (~800 model
tokens, a fresh prefix each time so no prompt cache helps) and 64 generated tokens, timed by
llama.cpp itself (``timings`` of the reply). This is what ``ASSISTANT_LLAMACPP_THREADS`` trades.

    python benchmarks/bench_llamacpp.py                    # the bundled SmolLM2-135M
    python benchmarks/bench_llamacpp.py --model ~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf

Results: benchmarks/results/llamacpp.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import time
from pathlib import Path

import assistant  # noqa: F401  (offline environment first)
from assistant.config import bundled_gguf
from assistant.llamacpp import ChatLlamaCpp

HERE = Path(__file__).resolve().parent
ARTICLE = HERE.parent / "corpus" / "2025-10-28_Japan_US_summit_agrees_critical_minerals_framework.txt"


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _cpu() -> dict:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                  if ln.startswith("Model name")), platform.processor())
    return {"model": model, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in out}


def measure(model: str, threads: int, max_tokens: int) -> dict:
    from langchain_core.messages import HumanMessage, SystemMessage

    llm = ChatLlamaCpp(model_path=model, n_ctx=4096, threads=threads, max_tokens=max_tokens)
    text = ARTICLE.read_text()[:3500]
    t0 = time.perf_counter()
    reply = llm.invoke([
        SystemMessage("Answer from the article."),
        HumanMessage(f"Request {time.time_ns()}.\n\n{text}\n\nWhat does the framework cover? "
                     "Answer at length."),
    ])
    t = reply.response_metadata["timings"]
    return {"threads": threads, "prompt_tokens": t["prompt_n"],
            "prompt_tok_s": round(t["prompt_per_second"], 1), "generated": t["predicted_n"],
            "gen_tok_s": round(t["predicted_per_second"], 1),
            "seconds": round(time.perf_counter() - t0, 2), "load_avg": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(bundled_gguf()))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    for condition in ("idle", "busy"):
        stop = mp.Event()
        spinner = mp.Process(target=_spin, args=(stop,), daemon=True) if condition == "busy" \
            else None
        if spinner:
            spinner.start()
            time.sleep(1)
        try:
            for n in threads:
                row = {"condition": condition, **measure(args.model, n, args.max_tokens)}
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            if spinner:
                stop.set()
                spinner.join(timeout=5)
    out = HERE / "results" / "llamacpp.json"
    out.write_text(json.dumps({"model": Path(args.model).name, "cpu": _cpu(),
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "rows": rows}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
