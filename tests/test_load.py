"""The HTTP API under load on 127.0.0.1: many concurrent clients, and uploads while questions
are answered. Bounded in count and time; prints latency percentiles and throughput."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import httpx
import pytest

from assistant.api import create_app
from conftest import CANONICAL, SEED, serve_in_thread
from test_reliability import assert_consistent, write_articles

QUESTIONS = [
    CANONICAL,
    "Who met at the summit?",
    "What did the leaders agree on rare earths?",
    "Who led the tariff board that met in Velmar?",
    "What would the harbour plan cost?",
    "When is a vote on the school report expected?",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ask_many(url: str, clients: int, per_client: int, deadline_s: float,
              questions: list[str] = QUESTIONS):
    """``clients`` threads, each with its own connection, asking ``per_client`` questions."""
    latencies: list[float] = []
    errors: list[str] = []
    cited: list[tuple[str, str]] = []  # (article id, chunk id)
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=deadline_s) as http:
            for j in range(per_client):
                question = questions[(i * per_client + j) % len(questions)]
                started = time.perf_counter()
                try:
                    reply = http.post("/v1/ask", json={"question": question})
                    took = time.perf_counter() - started
                    if reply.status_code != 200:
                        raise RuntimeError(f"{reply.status_code}: {reply.text[:200]}")
                    body = reply.json()
                except Exception as exc:  # noqa: BLE001  (every failure counts, whatever it is)
                    with lock:
                        errors.append(f"client {i} question {j}: {exc!r}")
                    continue
                with lock:
                    latencies.append(took)
                    cited.extend((c["article_id"], c["chunk_id"]) for c in body["citations"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, i) for i in range(clients)]
        done, pending = wait(futures, timeout=deadline_s)
        assert not pending, f"{len(pending)} clients still running after {deadline_s} s"
        for future in done:
            future.result()
    return latencies, errors, cited, time.perf_counter() - started


def _report(what: str, latencies: list[float], errors: list[str], wall: float) -> None:
    print(f"\n{what}: {len(latencies)} answers, {len(errors)} errors in {wall:.1f} s "
          f"({len(latencies) / wall:.1f} answers/s); latency p50 "
          f"{statistics.median(latencies) * 1000:.0f} ms, p95 "
          f"{_percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")


def _load(seeded, clients: int, per_client: int, deadline_s: float) -> None:
    with serve_in_thread(create_app(seeded), "the API") as url:
        latencies, errors, _, wall = _ask_many(url, clients, per_client, deadline_s)
    _report(f"{clients} clients x {per_client} questions", latencies, errors, wall)
    assert not errors, errors[:5]
    assert len(latencies) == clients * per_client


def test_concurrent_clients_all_get_answers(seeded):
    _load(seeded, clients=8, per_client=5, deadline_s=120)


@pytest.mark.stress
def test_fifty_clients_twenty_questions_each_without_an_error(seeded):
    _load(seeded, clients=50, per_client=20, deadline_s=900)


def _ingest_while_asking(bot, tmp_path, uploads: int, clients: int, per_client: int,
                         deadline_s: float) -> None:
    folder = tmp_path / "incoming"
    tokens = write_articles(folder, uploads)
    files = sorted(folder.iterdir())
    # most questions aim at articles being uploaded, so answers meet them mid-ingest
    questions = [f"What did {token} say the plan would cost?" for token in tokens.values()]
    questions = [q for pair in zip(questions, QUESTIONS * uploads) for q in pair]
    upload_errors: list[str] = []
    bot.ingest([SEED])  # something to answer from at the start
    with serve_in_thread(create_app(bot), "the API") as url:
        def uploader() -> None:
            with httpx.Client(base_url=url, timeout=deadline_s) as http:
                for path in files:  # one request per file: many small commits among the reads
                    try:
                        reply = http.post("/v1/articles", files=[
                            ("files", (path.name, path.read_bytes(), "text/plain"))])
                    except httpx.HTTPError as exc:
                        upload_errors.append(f"{path.name}: {exc!r}")
                        continue
                    if reply.status_code != 200 or reply.json()["articles_added"] != 1:
                        upload_errors.append(f"{path.name}: {reply.status_code} {reply.text[:200]}")

        started = time.perf_counter()
        writer = threading.Thread(target=uploader)
        writer.start()
        latencies, errors, cited, wall = _ask_many(url, clients, per_client, deadline_s,
                                                   questions)
        writer.join(timeout=deadline_s)
        assert not writer.is_alive(), "uploads did not finish in time"
        upload_wall = time.perf_counter() - started
    _report(f"{clients} clients x {per_client} questions while {uploads} uploads "
            f"({upload_wall:.1f} s)", latencies, errors, wall)
    assert not errors and not upload_errors, (errors[:5], upload_errors[:5])
    groups = assert_consistent(bot.store)  # every article whole, Chroma and BM25 agree
    assert len(groups) == uploads + 1
    whole = {article_id: {m["id"] for m in metas} for article_id, metas in groups.items()}
    for article_id, chunk_id in cited:  # nothing cited that is not part of a whole article
        assert chunk_id in whole[article_id]
    print(f"{len(cited)} citations over {len({a for a, _ in cited})} articles, all whole")


def test_uploads_while_answering_never_cite_half_an_article(bot, tmp_path):
    _ingest_while_asking(bot, tmp_path, uploads=6, clients=4, per_client=5, deadline_s=120)


@pytest.mark.stress
def test_many_uploads_while_fifty_clients_ask_never_cite_half_an_article(bot, tmp_path):
    _ingest_while_asking(bot, tmp_path, uploads=60, clients=50, per_client=6, deadline_s=900)
