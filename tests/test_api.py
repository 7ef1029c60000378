"""The HTTP API, driven over real sockets: the official `openai` client for the chat endpoint
(plain and streaming), httpx for the other routes; and two API processes sharing a Chroma server."""

import contextlib
import json
import os
import subprocess
import sys
import time

import httpx
import openai
import pytest
from pydantic import SecretStr

from assistant.api import create_app
from conftest import CANONICAL, SEED, free_port, serve_in_thread
from test_backends import chroma_server  # noqa: F401  (fixture)

BIN = os.path.dirname(sys.executable)
SEED_TITLE = "Japan US summit agrees critical minerals framework"


@pytest.fixture
def serve_api():
    """Run the API for a bot in a thread on a free loopback port; return its URL."""
    with contextlib.ExitStack() as stack:
        def start(bot, **settings):
            app = create_app(bot, bot.settings.model_copy(update=settings))
            return stack.enter_context(serve_in_thread(app, "the API"))

        yield start


def client_for(url, key="unused"):
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


# --- the OpenAI-compatible endpoint ---------------------------------------------------------------


def test_openai_client_gets_a_cited_answer_with_structured_citations(seeded, serve_api):
    url = serve_api(seeded)
    reply = client_for(url).chat.completions.create(
        model="newsdesk", messages=[{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": CANONICAL}],
    )
    text = reply.choices[0].message.content
    assert "[1]" in text and "critical minerals" in text
    assert reply.choices[0].finish_reason == "stop" and reply.model == "newsdesk"
    citations = reply.model_extra["citations"]
    assert citations[0]["n"] == 1 and citations[0]["title"] == SEED_TITLE
    assert citations[0]["date"] == "2025-10-28" and citations[0]["quote"] in seeded.store.collection.get(
        ids=[citations[0]["chunk_id"]])["documents"][0]
    assert {"score", "chunk_id", "article_id", "source", "support"} <= set(citations[0])
    assert reply.model_extra["abstained"] is False
    assert reply.usage.completion_tokens > 0
    assert [m.id for m in client_for(url).models.list()] == ["newsdesk-assistant"]


def test_openai_client_streams_the_same_answer_and_citations_come_last(seeded, serve_api):
    client = client_for(serve_api(seeded))
    messages = [{"role": "user", "content": CANONICAL}]
    whole = client.chat.completions.create(model="newsdesk", messages=messages)
    chunks = list(client.chat.completions.create(model="newsdesk", messages=messages, stream=True))
    assert len(chunks) > 5  # really in pieces
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"]
    assert all("citations" not in c.model_extra for c in chunks[:-1])


def test_stream_is_server_sent_events_ending_with_done(seeded, serve_api):
    url = serve_api(seeded)
    with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=60, json={
        "model": "m", "stream": True, "messages": [{"role": "user", "content": CANONICAL}],
    }) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["object"] == "chat.completion.chunk"


def test_chat_takes_history_and_date_filters_and_refuses_a_non_user_last_turn(seeded, serve_api):
    client = client_for(serve_api(seeded))
    reply = client.chat.completions.create(model="m", messages=[
        {"role": "user", "content": "Who met at the summit?"},
        {"role": "assistant", "content": "Japan and the US [1]."},
        {"role": "user", "content": [{"type": "text", "text": CANONICAL}]},  # content parts
    ])
    assert "[1]" in reply.choices[0].message.content
    # articles of 2025-10-28 fall outside the range: the assistant says it has no answer
    later = client.chat.completions.create(model="m", messages=[{"role": "user", "content": CANONICAL}],
                                           extra_body={"since": "2026-01-01"})
    assert later.model_extra["abstained"] is True and later.model_extra["citations"] == []
    with pytest.raises(openai.UnprocessableEntityError, match="last message must come from the user"):
        client.chat.completions.create(model="m", messages=[
            {"role": "user", "content": CANONICAL}, {"role": "assistant", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError, match="not an ISO date"):
        client.chat.completions.create(model="m", stream=True, extra_body={"until": "soon"},
                                       messages=[{"role": "user", "content": CANONICAL}])


# --- the archive's own routes ---------------------------------------------------------------------


def test_ask_returns_answer_citations_and_abstention(seeded, serve_api):
    url = serve_api(seeded)
    body = httpx.post(f"{url}/v1/ask", json={"question": CANONICAL}, timeout=60).json()
    assert "[1]" in body["answer"] and body["abstained"] is False
    assert body["citations"][0]["date"] == "2025-10-28" and body["citations"][0]["quote"]
    assert "rewritten_question" in body and body["backend"] == "extractive"
    body = httpx.post(f"{url}/v1/ask", json={"question": CANONICAL, "until": "2024-12-31"},
                      timeout=60).json()
    assert body["abstained"] is True and body["citations"] == []
    found = httpx.post(f"{url}/v1/search", json={"question": "rare earths", "k": 2}).json()
    assert len(found) == 2 and found[0]["title"] == SEED_TITLE and found[0]["score"] > 0.2


def test_upload_list_and_delete_articles(bot, serve_api, tmp_path):
    url = serve_api(bot)
    assert httpx.get(f"{url}/v1/articles").json() == []
    files = [
        ("files", (SEED.name, SEED.read_bytes(), "text/plain")),
        ("files", ("bridge.md", b"# Bridge reopens\n\nThe old bridge reopened to traffic.", "text/markdown")),
        ("files", ("empty.md", b"", "text/markdown")),
        ("files", ("photo.png", b"\x89PNG\r\n", "image/png")),
        ("files", ("feed.jsonl", b'{"title": "ok", "text": "Fine."}\nnot json\n', "application/json")),
    ]
    response = httpx.post(f"{url}/v1/articles", files=files, timeout=120)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is False and report["articles_added"] == 3
    failures = {(f["file"], f["line"]): f["reason"] for f in report["failures"]}
    assert failures[("empty.md", None)] == "empty file"
    assert ("photo.png", None) in failures and ("feed.jsonl", 2) in failures
    assert all("upload-" not in f["file"] for f in report["failures"])  # no server paths

    listed = httpx.get(f"{url}/v1/articles").json()
    assert sorted(a["title"] for a in listed) == sorted(["Bridge reopens", SEED_TITLE, "ok"])
    assert {a["source"] for a in listed} == {"upload:bridge.md", f"upload:{SEED.name}",
                                             "upload:feed.jsonl:1"}
    again = httpx.post(f"{url}/v1/articles", files=files[:1], timeout=60).json()
    assert again["ok"] and again["articles_unchanged"] == 1  # same validation, same idempotence

    bridge = next(a for a in listed if a["title"] == "Bridge reopens")
    deleted = httpx.delete(f"{url}/v1/articles/{bridge['id']}")
    assert deleted.status_code == 200 and deleted.json()["chunks"] >= 1
    missing = httpx.delete(f"{url}/v1/articles/{bridge['id']}")
    assert missing.status_code == 404 and "no article" in missing.json()["detail"]

    only_bad = httpx.post(f"{url}/v1/articles", files=[files[2]])
    assert only_bad.status_code == 422 and only_bad.json()["failures"][0]["file"] == "empty.md"


def test_api_key_protects_everything_but_health(seeded, serve_api):
    url = serve_api(seeded, api_key=SecretStr("s3cret-key"))
    assert httpx.get(f"{url}/healthz").status_code == 200
    for method, path in [("GET", "/v1/articles"), ("GET", "/readyz"), ("POST", "/v1/ask"),
                         ("POST", "/v1/chat/completions"), ("DELETE", "/v1/articles/x"),
                         ("GET", "/docs"), ("GET", "/openapi.json")]:
        response = httpx.request(method, f"{url}{path}", json={"question": "x"})
        assert response.status_code == 401, path
        assert "API key" in response.json()["detail"]
    assert httpx.get(f"{url}/v1/articles", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{url}/v1/articles", headers={"x-api-key": "s3cret-key"}).status_code == 200
    docs = httpx.get(f"{url}/openapi.json", headers={"x-api-key": "s3cret-key"})
    assert "/v1/chat/completions" in docs.json()["paths"]
    assert "swagger" in httpx.get(f"{url}/docs", headers={"x-api-key": "s3cret-key"}).text.lower()
    assert httpx.get(f"{url}/readyz", headers={"Authorization": "Bearer s3cret-key"}).json()["status"] == "ready"
    with pytest.raises(openai.AuthenticationError):
        client_for(url, "wrong").chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    reply = client_for(url, "s3cret-key").chat.completions.create(
        model="m", messages=[{"role": "user", "content": CANONICAL}])
    assert "[1]" in reply.choices[0].message.content
    assert "s3cret-key" not in repr(seeded.settings.model_copy(update={"api_key": SecretStr("s3cret-key")}))


def test_request_size_and_question_length_limits(seeded, serve_api):
    url = serve_api(seeded, max_request_bytes=4096, max_question_chars=100)
    too_big = httpx.post(f"{url}/v1/articles", files=[("files", ("big.txt", b"x" * 10_000, "text/plain"))])
    assert too_big.status_code == 413 and "ASSISTANT_MAX_REQUEST_BYTES" in too_big.json()["detail"]

    def chunked():  # no Content-Length: counted while reading
        for _ in range(10):
            yield b'{"question": "' + b"x" * 1000

    streamed = httpx.post(f"{url}/v1/ask", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413

    long = httpx.post(f"{url}/v1/ask", json={"question": "why " * 50})
    assert long.status_code == 422
    assert long.json()["detail"] == (
        "the question is 199 characters long; the limit is 100 (ASSISTANT_MAX_QUESTION_CHARS)")
    with pytest.raises(openai.UnprocessableEntityError, match="limit is 100"):
        client_for(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "why " * 50}])
    assert httpx.post(f"{url}/v1/ask", json={"question": "  "}).json()["detail"] == "the question is empty"
    assert httpx.post(f"{url}/v1/ask", json={"question": CANONICAL, "since": "May"}).status_code == 422


def test_health_readiness_and_docs(bot, serve_api):
    url = serve_api(bot)
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] == 0
    assert httpx.get(f"{url}/docs").status_code == 200
    paths = httpx.get(f"{url}/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/ask", "/v1/articles", "/v1/articles/{article_id}"} <= set(paths)


# --- several processes, one Chroma server ---------------------------------------------------------


def _api_process(tmp_path, name, chroma_port):
    port = free_port()
    env = {**os.environ, "ASSISTANT_CHROMA_MODE": "http", "ASSISTANT_CHROMA_PORT": str(chroma_port),
           "ASSISTANT_DATA_DIR": str(tmp_path / name)}
    with open(tmp_path / f"{name}.log", "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([f"{BIN}/assistant", "api", "--port", str(port)], env=env,
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc, url, log_path):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"API process did not become ready:\n{log_path.read_text()[-2000:]}")


def test_two_api_processes_share_one_chroma_server(tmp_path, chroma_server):  # noqa: F811
    procs = [_api_process(tmp_path, name, chroma_server) for name in ("api-a", "api-b")]
    try:
        for (proc, url), name in zip(procs, ("api-a", "api-b"), strict=True):
            _wait_ready(proc, url, tmp_path / f"{name}.log")
        (_, a), (_, b) = procs
        uploaded = httpx.post(f"{a}/v1/articles", timeout=60,
                              files=[("files", (SEED.name, SEED.read_bytes(), "text/plain"))])
        assert uploaded.json()["articles_added"] == 1
        for url in (a, b):  # both answer from the one archive
            reply = client_for(url).chat.completions.create(
                model="m", messages=[{"role": "user", "content": CANONICAL}])
            assert "[1]" in reply.choices[0].message.content
            assert reply.model_extra["citations"][0]["date"] == "2025-10-28"
        article_id = httpx.get(f"{b}/v1/articles").json()[0]["id"]
        assert httpx.delete(f"{b}/v1/articles/{article_id}").status_code == 200
        assert httpx.get(f"{a}/v1/articles").json() == []  # a delete through b is seen by a
        assert not (tmp_path / "api-a" / "chroma").exists()  # no shared persistent folder
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(timeout=20)
