"""Access: loopback by default, hostile request sizes do not take the server down, and secrets
never reach logs or settings dumps. (Key checks per route and the basic 413/422 limits are in
tests/test_api.py.)"""

from __future__ import annotations

import logging
import threading

import httpx
import openai
import pytest
from conftest import CANONICAL, SEED, free_port, serve_in_thread
from pydantic import SecretStr
from typer.testing import CliRunner

from assistant import Settings
from assistant.api import create_app

API_SECRET = "api-key-SECRET-7f3a"
LLM_SECRET = "sk-test-SECRET-llm-91c2"
LOGGERS = ("assistant", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "starlette",
           "httpx", "httpcore", "openai", "langchain", "chromadb")


def serve_logging(app):
    """``serve_in_thread`` with uvicorn leaving logging to us (propagating to pytest's capture),
    logging access lines and debug detail."""
    return serve_in_thread(app, "the API", log_config=None, log_level="debug", access_log=True)


# --- loopback by default -------------------------------------------------------------------------


def test_api_web_chat_and_mcp_bind_loopback_by_default(bot, monkeypatch):
    settings = Settings()
    assert settings.api_host == settings.ui_host == settings.chroma_host == "127.0.0.1"

    import assistant.api
    import assistant.cli

    served = {}
    monkeypatch.setattr(assistant.cli, "_assistant", lambda: bot)
    monkeypatch.setattr(assistant.api, "serve",
                        lambda _bot, host, port, settings=None: served.update(host=host, port=port))
    result = CliRunner().invoke(assistant.cli.app, ["api"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert served == {"host": "127.0.0.1", "port": 8080}
    assert "http://127.0.0.1:8080" in result.output
    # binding elsewhere is an explicit choice
    CliRunner().invoke(assistant.cli.app, ["api", "--host", "0.0.0.0"], catch_exceptions=False)
    assert served["host"] == "0.0.0.0"

    # the other network faces: web chat and MCP over HTTP
    import assistant.mcp_server
    import assistant.ui

    monkeypatch.setattr(assistant.ui, "serve",
                        lambda _bot, host, port, block=True: served.update(ui=(host, port)))
    monkeypatch.setattr(assistant.mcp_server, "serve",
                        lambda _bot, transport, host=None, port=None: served.update(
                            mcp=(transport, host, port)))
    for args in (["serve"], ["mcp", "--http"]):
        result = CliRunner().invoke(assistant.cli.app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert served["ui"] == ("127.0.0.1", 7860)
    assert served["mcp"] == ("streamable-http", "127.0.0.1", 8765)


# --- oversized and malformed requests ------------------------------------------------------------


def test_oversized_and_malformed_requests_are_refused_and_the_server_keeps_serving(
    seeded, caplog
):
    app = create_app(seeded, seeded.settings.model_copy(update={
        "max_request_bytes": 64_000, "max_question_chars": 500}))
    refused = []
    with serve_logging(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        def expect(status, response):
            allowed = status if isinstance(status, tuple) else (status,)
            assert response.status_code in allowed, response.text
            # an error object, not a crash page
            assert response.json()["error"]["code"] == response.status_code
            refused.append(response.status_code)

        big = b"x" * 2_000_000
        expect(413, http.post("/v1/ask", content=big, headers={"content-type": "application/json"}))
        expect(413, http.post("/v1/articles", files=[("files", ("big.txt", big, "text/plain"))]))
        expect(413, http.post("/v1/chat/completions", content=(b"[" * 70_000),
                              headers={"content-type": "application/json"}))
        expect(413, http.post("/v1/ask", content=iter([b"{" * 10_000] * 10),
                              headers={"content-type": "application/json"}))
        # under the byte limit but hostile
        expect(422, http.post("/v1/ask", json={"question": "x" * 50_000}))
        # FastAPI: "There was an error parsing the body"
        expect((400, 422), http.post("/v1/ask", content=b"[" * 60_000,
                              headers={"content-type": "application/json"}))
        expect((400, 422), http.post("/v1/ask", content=b'{"question": ' + b"9" * 5000 + b"}",
                              headers={"content-type": "application/json"}))
        expect((400, 422), http.post("/v1/ask", content=b"\xff\xfe not json",
                              headers={"content-type": "application/json"}))
        expect(422, http.post("/v1/chat/completions", json={"messages": [
            {"role": "user", "content": "word " * 2_000}]}))
        expect(422, http.post("/v1/chat/completions", json={"messages": []}))
        expect(422, http.post("/v1/search", json={"question": CANONICAL, "k": 10**30}))
        # many at once
        with httpx.Client(base_url=url, timeout=60) as other:
            results = []
            threads = [threading.Thread(target=lambda: results.append(other.post(
                "/v1/ask", content=big, headers={"content-type": "application/json"}).status_code))
                for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert results == [413] * 8
        # still serving, and correctly
        assert http.get("/healthz").json() == {"status": "ok"}
        body = http.post("/v1/ask", json={"question": CANONICAL}).json()
        assert "[1]" in body["answer"] and not body["abstained"]
        uploaded = http.post("/v1/articles", files=[("files", ("ok.md", b"# Ok\n\nA fine text.",
                                                                "text/markdown"))])
        assert uploaded.status_code == 200 and uploaded.json()["articles_added"] == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    print(f"\naccess: {len(refused) + len(results)} oversized/malformed requests refused "
          f"({refused.count(413) + len(results)} x 413, {refused.count(422)} x 422, "
          f"{refused.count(400)} x 400), no 5xx, "
          "server answered afterwards")


# --- secrets ------------------------------------------------------------------------------------


def test_no_secret_in_logs_stdout_or_stderr(seeded, caplog, capfd):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    settings = seeded.settings.model_copy(update={
        "api_key": SecretStr(API_SECRET), "llm_api_key": SecretStr(LLM_SECRET)})
    from langchain_openai import ChatOpenAI

    # an LLM backend with the secret key, pointed at a closed port: its failure is logged too
    dead_llm = ChatOpenAI(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m",
                          api_key=settings.llm_api_key, max_retries=0, timeout=2)
    from assistant import Assistant

    llm_bot = Assistant(settings, seeded.embedder, seeded.store, llm=dead_llm)
    statuses = []
    for bot in (seeded, llm_bot):
        with serve_logging(create_app(bot, settings)) as url:
            good = {"Authorization": f"Bearer {API_SECRET}"}
            for headers in (good, {"x-api-key": API_SECRET}, {"Authorization": "Bearer wrong"},
                            {"x-api-key": API_SECRET[:-1]}, {}):
                for method, path, kwargs in [
                    ("GET", "/readyz", {}), ("GET", "/v1/articles", {}),
                    ("POST", "/v1/ask", {"json": {"question": CANONICAL}}),
                    ("POST", "/v1/chat/completions", {"json": {"stream": True, "messages": [
                        {"role": "user", "content": CANONICAL}]}}),
                    ("POST", "/v1/search", {"json": {"question": "rare earths"}}),
                    ("GET", "/docs", {}), ("GET", "/openapi.json", {}),
                ]:
                    response = httpx.request(method, f"{url}{path}", headers=headers, timeout=60,
                                             **kwargs)
                    statuses.append(response.status_code)
                    assert API_SECRET not in response.text and LLM_SECRET not in response.text
            uploaded = httpx.post(f"{url}/v1/articles", headers=good, timeout=60,
                                  files=[("files", (SEED.name, SEED.read_bytes(), "text/plain"))])
            assert uploaded.status_code == 200
            with pytest.raises(openai.APIError):
                openai.OpenAI(base_url=f"{url}/v1", api_key=API_SECRET + "x", max_retries=0
                              ).chat.completions.create(model="m", messages=[
                                  {"role": "user", "content": CANONICAL}])
    out, err = capfd.readouterr()
    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert 401 in statuses and 200 in statuses
    assert any(r.name.startswith("uvicorn") for r in caplog.records)  # the capture works
    for secret in (API_SECRET, LLM_SECRET):
        assert secret not in logged and secret not in out and secret not in err
    print(f"\naccess: {len(statuses)} requests ({statuses.count(200)} x 200, "
          f"{statuses.count(401)} x 401, {sum(s >= 500 for s in statuses)} x 5xx), "
          f"{len(caplog.records)} log records at DEBUG, 0 secrets in logs or output")


def test_settings_repr_and_dumps_hide_secrets(monkeypatch):
    direct = Settings(api_key=SecretStr(API_SECRET), llm_api_key=SecretStr(LLM_SECRET))
    monkeypatch.setenv("ASSISTANT_API_KEY", API_SECRET)
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", LLM_SECRET)
    from_env = Settings()
    for settings in (direct, from_env):
        assert settings.api_key.get_secret_value() == API_SECRET  # really set
        for shown in (repr(settings), str(settings), settings.model_dump_json(),
                      str(settings.model_dump()), str(settings.model_dump(mode="json")),
                      repr(settings.model_copy())):
            assert API_SECRET not in shown and LLM_SECRET not in shown
