"""The `assistant` command, end to end on a temp archive (real Chroma, real embedder)."""

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from conftest import CANONICAL, REPO

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command", ["ingest", "ask", "serve", "articles", "delete", "reindex", "api", "mcp", "eval"]
)
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_ingest_ask_list_delete_round_trip(tmp_path):
    result = invoke("ingest", str(REPO / "corpus"))
    assert result.exit_code == 0, result.output
    assert "ingest summary" in result.output

    result = invoke("ask", CANONICAL)
    assert result.exit_code == 0
    assert "[1]" in result.output and "Sources:" in result.output
    assert "[1] Japan US summit agrees critical minerals framework (2025-10-28)" in result.output

    result = invoke("ask", "--json", CANONICAL)
    payload = json.loads(result.stdout)
    assert "[1]" in payload["text"]
    assert payload["citations"][0]["date"] == "2025-10-28"
    assert "critical minerals" in payload["citations"][0]["quote"]

    listed = [json.loads(line) for line in invoke("articles", "--json").stdout.splitlines()]
    assert [a["date"] for a in listed] == ["2025-10-28"]

    result = invoke("delete", listed[0]["id"])
    assert result.exit_code == 0 and "deleted" in result.output
    assert invoke("articles", "--json").stdout.strip() == ""
    result = invoke("delete", listed[0]["id"])
    assert result.exit_code == 1 and "no article" in result.output


def test_ingest_reports_bad_files_and_exits_nonzero(tmp_path):
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "good.txt").write_text("Bridge reopens\n\nThe old bridge reopened to traffic.")
    result = invoke("ingest", str(tmp_path), str(tmp_path / "missing.html"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'empty.md'}: empty file" in result.output
    assert f"{tmp_path / 'missing.html'}: no such file or directory" in result.output
    listed = invoke("articles", "--json").stdout.splitlines()
    assert [json.loads(line)["title"] for line in listed] == ["Bridge reopens"]


def test_ask_json_abstains_on_unrelated_question():
    invoke("ingest", str(REPO / "corpus"))
    payload = json.loads(invoke("ask", "--json", "Who won the 2018 World Cup?").stdout)
    assert payload["abstained"] is True and payload["citations"] == []


def test_bad_settings_and_empty_questions_get_a_clear_error(monkeypatch):
    result = invoke("ask", "  ")
    assert result.exit_code == 2 and "the question is empty" in result.output
    monkeypatch.setenv("ASSISTANT_CHUNK_OVERLAP", "500")
    result = invoke("ask", CANONICAL)
    assert result.exit_code == 2
    assert "chunk_overlap (500) must be smaller than chunk_size (200)" in result.output
