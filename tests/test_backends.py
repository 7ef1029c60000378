"""Switches in Settings: an OpenAI-compatible LLM endpoint, and a Chroma server over HTTP."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, Settings
from conftest import CANONICAL, REPO, free_port

BIN = Path(sys.executable).parent


@pytest.fixture
def openai_endpoint():
    """A loopback server speaking the OpenAI chat-completions protocol with a canned reply
    (the LLM is the one part these tests fake)."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            reply = {
                "id": "cmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant",
                    "content": "It supports the supply of critical minerals and rare earths [1].",
                }}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    server.shutdown()


def test_openai_compatible_endpoint_is_a_settings_switch(settings, embedder, openai_endpoint):
    base_url, requests = openai_endpoint
    settings = settings.model_copy(update={
        "answer_backend": "openai", "llm_base_url": base_url, "llm_model": "local-llama",
    })
    bot = Assistant.from_settings(settings, embedder=embedder)
    bot.ingest([REPO / "corpus"])
    answer = bot.ask(CANONICAL)
    assert answer.backend == "llm:ChatOpenAI"
    assert answer.text == "It supports the supply of critical minerals and rare earths [1]."
    assert answer.citations[0].date == "2025-10-28"
    [request] = requests
    assert request["path"] == "/v1/chat/completions" and request["model"] == "local-llama"
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert "<context>" in request["messages"][1]["content"]


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("chroma run did not come up")
        time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_chroma_server_mode_shares_one_archive_between_processes(
    tmp_path, embedder, chroma_server
):
    settings = Settings(data_dir=tmp_path / "data", chroma_mode="http", chroma_port=chroma_server)
    bot = Assistant.from_settings(settings, embedder=embedder)
    assert bot.ingest([REPO / "corpus"]).articles_added == 1
    assert not (tmp_path / "data" / "chroma").exists()  # the server holds the data
    # another process, configured only through the environment, answers from the same store
    env = {**os.environ, "ASSISTANT_CHROMA_MODE": "http",
           "ASSISTANT_CHROMA_PORT": str(chroma_server), "ASSISTANT_DATA_DIR": str(tmp_path / "d2")}
    out = subprocess.run([str(BIN / "assistant"), "ask", "--json", CANONICAL], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert "[1]" in payload["text"] and payload["citations"][0]["date"] == "2025-10-28"
