"""Faster fp32 encodes for CPUs without bf16: each lever on the same chunk texts, interleaved.

The texts are exactly what ``ingest`` embeds (the assistant's chunks with their title/date
header) of a generated corpus, a seeded sample of them. Every round runs each variant once over
the whole sample, in the same order, so a burst of load from other processes hits all variants
of that round; a variant's figure is the median over rounds of its speed relative to fp32 torch
at the assistant's batch size in the same round. Cosine is to those fp32 torch vectors.

Variants (those whose runtime is not installed are skipped and say so):

* torch fp32 at batch 16 / 32 / 64 / 128, and bf16 (for reference, on a CPU that has it);
* torch fp32 with the feed-forward ``Linear``s only (``intermediate.dense``, ``output.dense``,
  not attention) dynamically quantised to int8, per channel (fbgemm);
* onnxruntime fp32 (the model exported by ``torch.onnx.export``) with ``ORT_ENABLE_ALL``, and
  after the transformer optimizer's fusions (attention, LayerNorm, GELU);
* onnxruntime with the feed-forward MatMuls only quantised to int8 (dynamic, per channel,
  ``reduce_range``: without VNNI, u8s8 products saturate at full range);
* OpenVINO fp32 (``INFERENCE_PRECISION_HINT=f32``: on a bf16 CPU it would otherwise run bf16).

    python benchmarks/bench_fp32_levers.py --articles 300 --sample 256 --rounds 3

Writes results/fp32-levers.json. onnx and openvino are not project dependencies; install them
beside the venv to measure those rows (``pip install --target DIR onnx openvino``, DIR on
PYTHONPATH).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, now_iso, write_json  # noqa: E402
from make_corpus import write_corpus  # noqa: E402

import numpy as np  # noqa: E402

FFN = ("intermediate.dense", "output.dense")


def is_ffn(name: str, parts: tuple[str, ...] = FFN) -> bool:
    """``encoder.layer.N.intermediate.dense`` / ``encoder.layer.N.output.dense``; not
    ``...attention.output.dense``."""
    return "attention" not in name and name.endswith(parts)


# which feed-forward layers go int8: both, or only the up-projection (its input is a LayerNorm
# output; the down-projection reads GELU outputs, whose outliers a per-tensor activation scale
# handles worst)
INT8_SETS = {"FFN-only": FFN, "FFN up-projection only": ("intermediate.dense",)}


class Pooled:
    """Length-sorted batches → a runner giving last hidden states → mean pooling → normalise:
    what ``SentenceTransformer.encode`` does, for runtimes other than torch."""

    def __init__(self, tokenizer, run, max_length: int):
        self.tokenizer, self.run, self.max_length = tokenizer, run, max_length

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), 384), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            enc = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in
                     ("input_ids", "attention_mask", "token_type_ids")}
            hidden = self.run(feeds)
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
        return out


def chunk_texts(n_articles: int, seed: int, sample: int) -> list[str]:
    from assistant import Assistant
    from assistant.chunking import embedding_text
    from assistant.config import Settings
    from assistant.evals.baselines import load_articles

    corpus = write_corpus(n_articles, seed)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="fp32-levers-")),
                        max_file_mb=max(20, corpus.stat().st_size // 1_000_000 + 1))
    bot = Assistant.from_settings(settings)
    texts = [embedding_text(a.title, a.date, c.text)
             for a in load_articles([corpus], max_bytes=settings.max_file_mb * 1_000_000)
             for c in bot.chunker.split(a)]
    random.Random(seed).shuffle(texts)
    return texts[:sample]


def torch_variants(path: Path, bs_list: list[int], default_bs: int, bf16_bs: list[int],
                   with_int8: bool = True) -> dict:
    import torch

    from assistant.embeddings import MeanPooledEncoder

    fp32 = MeanPooledEncoder(path, torch.float32)
    out = {f"torch fp32, batch {bs}": (lambda t, bs=bs: fp32.encode(t, batch_size=bs))
           for bs in bs_list}
    if bf16_bs:
        bf16 = MeanPooledEncoder(path, torch.bfloat16)
        out.update({f"torch bf16, batch {bs}": (lambda t, bs=bs: bf16.encode(t, batch_size=bs))
                    for bs in bf16_bs})
    if not with_int8:
        return out

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    for label, parts in INT8_SETS.items():
        q = MeanPooledEncoder(path, torch.float32)
        spec = {name: per_channel_dynamic_qconfig for name, m in q._model.named_modules()
                if isinstance(m, torch.nn.Linear) and is_ffn(name, parts)}
        q._model = quantize_dynamic(q._model, spec, dtype=torch.qint8)
        out[f"torch int8 {label} per-channel ({len(spec)} Linear), batch {default_bs}"] = (
            lambda t, q=q: q.encode(t, batch_size=default_bs))
    return out


def export_onnx(path: Path, folder: Path) -> Path:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(path), dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(str(path))
    enc = tok(["an example sentence to trace", "another"], padding=True, return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    out = folder / "model.onnx"
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(Hidden(model), (enc["input_ids"], enc["attention_mask"],
                                      enc["token_type_ids"]), str(out),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["hidden"], dynamic_axes={
                          "input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "hidden": axes}, opset_version=17, dynamo=False)
    return out


def ort_variants(path: Path, folder: Path, default_bs: int, threads: int) -> tuple[dict, dict]:
    notes: dict = {}
    try:
        import onnxruntime as ort
    except ImportError:
        return {}, {"onnxruntime": "not installed"}
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    plain = export_onnx(path, folder)

    def session(model_path: Path):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        s = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        return Pooled(tok, lambda feeds: s.run(None, feeds)[0], 256)

    out = {f"onnxruntime fp32 ORT_ENABLE_ALL, batch {default_bs}": session(plain)}
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        opt = optimize_model(str(plain), model_type="bert", num_heads=12, hidden_size=384)
        fused = folder / "model-fused.onnx"
        opt.save_model_to_file(str(fused))
        notes["transformer_optimizer_fusions"] = opt.get_fused_operator_statistics()
        out[f"onnxruntime fp32 + transformer optimizer, batch {default_bs}"] = session(fused)
    except Exception as e:  # onnx missing, or a fusion the exporter's graph defeats
        notes["transformer_optimizer"] = f"failed: {e!r}"[:300]
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        graph = onnx.load(str(plain)).graph
        for i, (label, parts) in enumerate(INT8_SETS.items()):
            ffn = [n.name for n in graph.node if n.op_type == "MatMul"
                   and "attention" not in n.name and any(f"/{k.replace('.', '/')}/" in n.name
                                                         for k in parts)]
            notes[f"ort_int8_nodes, {label}"] = len(ffn)
            q = folder / f"model-int8-{i}.onnx"
            quantize_dynamic(str(plain), str(q), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=True, nodes_to_quantize=ffn)
            out[f"onnxruntime int8 {label} per-channel ({len(ffn)} MatMul), "
                f"batch {default_bs}"] = session(q)
    except Exception as e:
        notes["ort_int8"] = f"failed: {e!r}"[:300]
    return {k: (lambda t, p=p: p.encode(t, default_bs)) for k, p in out.items()}, notes


def openvino_variants(path: Path, onnx_path: Path, default_bs: int, threads: int) -> tuple[dict, dict]:
    try:
        import openvino as ov
    except ImportError:
        return {}, {"openvino": "not installed"}
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY"})
    p = Pooled(tok, lambda feeds: compiled(feeds)[0], 256)
    return ({f"openvino fp32, batch {default_bs}": lambda t: p.encode(t, default_bs)},
            {"openvino": ov.__version__})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--sample", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-sizes", default="16,32,64,128")
    ap.add_argument("--reference-batch", type=int, default=64,
                    help="batch of the fp32 torch reference and of the other runtimes' rows "
                    "(64: the assistant's batch before this measurement)")
    ap.add_argument("--bf16-batch-sizes", default="64",
                    help="bf16 rows for reference (on a CPU with native bf16 only)")
    ap.add_argument("--torch-only", action="store_true",
                    help="batch sizes and dtypes only: no int8, onnxruntime or openvino rows")
    ap.add_argument("--only", default="", help="comma-separated substrings of variant names")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for every runtime (0: torch's default, one per core); 1 is "
                    "less disturbed by other processes on a shared 2-core machine")
    ap.add_argument("--out", default="fp32-levers.json")
    args = ap.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.embeddings import cpu_has_native_bf16, resolve_model_path

    settings = Settings()
    default_bs = args.reference_batch
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    _, path = resolve_model_path(settings.embedding_model)
    texts = chunk_texts(args.articles, args.seed, args.sample)
    folder = Path(tempfile.mkdtemp(prefix="fp32-levers-onnx-"))

    bf16_bs = [int(b) for b in args.bf16_batch_sizes.split(",") if b]
    variants = torch_variants(path, [int(b) for b in args.batch_sizes.split(",")], default_bs,
                              bf16_bs if cpu_has_native_bf16() else [],
                              with_int8=not args.torch_only)
    notes: dict = {}
    if not args.torch_only:
        ort_v, notes = ort_variants(path, folder, default_bs, threads)
        variants.update(ort_v)
    if (folder / "model.onnx").exists():
        ov_v, ov_notes = openvino_variants(path, folder / "model.onnx", default_bs, threads)
        variants.update(ov_v)
        notes.update(ov_notes)
    ref_name = f"torch fp32, batch {default_bs}"
    if args.only:
        keep = [s for s in args.only.split(",") if s]
        variants = {k: v for k, v in variants.items()
                    if k == ref_name or any(s in k for s in keep)}

    for fn in variants.values():  # warm-up: first-call allocations and kernel selection
        fn(texts[:8])
    ref_vectors = variants[ref_name](texts)
    seconds: dict[str, list[float]] = {k: [] for k in variants}
    cosine: dict[str, float] = {}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            vectors = fn(texts)
            seconds[name].append(time.perf_counter() - t0)
            if r == 0:
                cosine[name] = float((vectors * ref_vectors).sum(axis=1).min())
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}: " + ", ".join(f"{k} {seconds[k][-1]:.1f}s" for k in variants),
              flush=True)

    rows = []
    for name in variants:
        rel = [seconds[ref_name][i] / seconds[name][i] for i in range(args.rounds)]
        rows.append({
            "variant": name, "chunks": len(texts),
            "chunks_per_s_median": round(len(texts) / statistics.median(seconds[name]), 1),
            "seconds": [round(s, 2) for s in seconds[name]],
            "speed_vs_torch_fp32_median": round(statistics.median(rel), 3),
            "speed_vs_torch_fp32_range": [round(min(rel), 3), round(max(rel), 3)],
            "min_cosine_to_torch_fp32": round(cosine[name], 5),
        })
        print(f"{name:70s} {rows[-1]['chunks_per_s_median']:6.1f} chunks/s  "
              f"x{rows[-1]['speed_vs_torch_fp32_median']:.2f} "
              f"{rows[-1]['speed_vs_torch_fp32_range']}  cos {cosine[name]:.4f}")
    lengths = [len(e) for e in texts]
    result = {"date": now_iso(), "machine": machine(), "reference": ref_name, "threads": threads,
              "texts": {"articles": args.articles, "seed": args.seed, "sample": len(texts),
                        "mean_chars": round(sum(lengths) / len(lengths))},
              "rounds": args.rounds, "loadavg_1min_per_round": [round(x, 2) for x in loads],
              "notes": notes, "rows": rows}
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
