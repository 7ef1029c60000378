"""The embedder's compute dtype: bfloat16 where the CPU has it natively, same vector space."""

from __future__ import annotations

import os

import numpy as np
import pytest

from assistant import embeddings
from assistant.embeddings import Embedder, cpu_has_native_bf16, resolve_dtype

# conftest replaces Embedder.load with the session model during tests; keep the real one
_LOAD = Embedder.load

TEXTS = [
    "Carrow Water will ban hosepipes from Saturday after Lake Morrin fell to 41 per cent.",
    "The finance minister said inflation had eased to 2.4 per cent in the year to June.",
    "Ashcombe agreed a fee of 18 million crowns for the striker on Tuesday.",
]


def test_auto_falls_back_to_float32_without_native_bf16(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert not cpu_has_native_bf16(cpuinfo)
    monkeypatch.setattr(embeddings, "cpu_has_native_bf16", lambda: False)
    assert resolve_dtype("auto") == "float32"
    monkeypatch.setattr(embeddings, "cpu_has_native_bf16", lambda: True)
    assert resolve_dtype("auto") == "bfloat16"
    assert resolve_dtype("float32") == "float32"  # an explicit choice is never overridden


def test_native_bf16_is_read_from_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16\n")
    assert cpu_has_native_bf16(cpuinfo)
    assert not cpu_has_native_bf16(tmp_path / "missing")


def test_bfloat16_vectors_agree_with_float32_and_share_the_fingerprint(embedder):
    # the session embedder is bf16 or fp32 depending on the CPU (auto): load the other one
    other = "float32" if embedder.dtype == "bfloat16" else "bfloat16"
    loaded = _LOAD("bundled:all-MiniLM-L6-v2", dtype=other)  # ~3 s, once
    assert loaded.dtype == other
    a = np.asarray(embedder.embed_documents(TEXTS))
    b = np.asarray(loaded.embed_documents(TEXTS))
    assert a.dtype == b.dtype == np.float64  # lists of Python floats either way
    cosine = (a * b).sum(axis=1)  # both normalised
    assert cosine.min() >= 0.99
    assert loaded.fingerprint == embedder.fingerprint


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("int8")


def test_question_time_encodes_keep_vectors_by_text_and_use_the_query_threads(embedder):
    import torch

    plain = np.asarray(embedder.embed_documents(TEXTS))
    embedder.clear_cache()
    calls = []
    encode = embedder.model.encode
    embedder.model.encode = lambda texts, **kw: calls.append(
        (list(texts), torch.get_num_threads())) or encode(texts, **kw)
    try:
        with embedder.question_time():
            first = np.asarray(embedder.embed_documents(TEXTS[:2]))
            again = np.asarray(embedder.embed_documents(TEXTS))  # two of three seen already
    finally:
        embedder.model.encode = encode
        embedder.clear_cache()
    # the same vectors up to batch padding (bf16 rounds differently in another batch)
    assert (first * plain[:2]).sum(axis=1).min() > 0.999
    assert (again * plain).sum(axis=1).min() > 0.999 and np.array_equal(again[:2], first)
    assert [texts for texts, _ in calls] == [TEXTS[:2], TEXTS[2:]]  # a seen sentence: no encode
    assert {threads for _, threads in calls} == {embedder.query_threads}


def test_ingest_encodes_share_the_work_between_workers_and_keep_the_order(embedder):
    import threading

    import torch

    texts = [f"Report {i}: the port strike entered day {i} " + "with ships waiting " * (i % 7)
             for i in range(40)]
    serial = Embedder(embedder.model, embedder.model_id, 4, embedder.dtype, ingest_workers=1)
    parallel = Embedder(embedder.model, embedder.model_id, 4, embedder.dtype, ingest_workers=2)
    calls = []
    encode = embedder.model.encode
    embedder.model.encode = lambda texts, **kw: calls.append(
        (len(texts), threading.current_thread().name, torch.get_num_threads())) or encode(
        texts, **kw)
    try:
        one = np.asarray(serial.embed_documents(texts))
        calls.clear()
        two = np.asarray(parallel.embed_documents(texts))
    finally:
        embedder.model.encode = encode
    # each vector is its own text's, in the caller's order (bf16 may round differently)
    assert (one * two).sum(axis=1).min() > 0.999
    workers = [c for c in calls if c[1].startswith("encode")]
    assert sorted(n for n, _, _ in workers) == [20, 20]  # two halves, one torch thread each
    assert {threads for _, _, threads in workers} == {1}


def test_the_bundled_model_runs_without_sentence_transformers_and_gives_its_vectors():
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.embeddings import MeanPooledEncoder, resolve_model_path

    _, path = resolve_model_path("bundled:all-MiniLM-L6-v2")
    assert MeanPooledEncoder.fits(path)
    light = MeanPooledEncoder(path, torch.float32)
    full = SentenceTransformer(str(path), device="cpu")
    texts = [*TEXTS, "short", " ".join(TEXTS * 12)]  # one past the 256 word-piece limit
    ours = light.encode(texts, batch_size=2)
    theirs = full.encode(texts, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(ours - theirs).max() < 1e-5
    assert light.max_seq_length == full.max_seq_length == 256


def test_onednn_cache_setting_bounds_the_kernels_kept_per_shape():
    # A server's bf16 encodes meet a new (batch, length) shape with most questions; oneDNN kept
    # the kernels of every one (1,024 by default) and RSS grew with each answer. With
    # onednn_cache=1, encoding the same text again must rebuild kernels: the cache was bounded.
    import subprocess
    import sys

    script = (
        "from assistant.embeddings import Embedder\n"
        "e = Embedder.load('bundled:all-MiniLM-L6-v2', dtype='bfloat16', onednn_cache=1)\n"
        "e.embed_documents(['The council set aside 4 million for flood defences.'])\n"
        "print('=== again', flush=True)\n"
        "e.embed_documents(['The council set aside 4 million for flood defences.'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "ONEDNN_VERBOSE": "2"}, timeout=300, check=True)
    again = out.stdout.partition("=== again")[2]
    if "create:cache_" not in again:
        pytest.skip("this CPU's bf16 encodes do not run in oneDNN")
    assert "create:cache_miss" in again
