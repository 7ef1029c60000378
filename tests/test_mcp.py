"""The MCP server, driven by the official SDK's own client: over stdio against the real
`assistant mcp` command, and over streamable HTTP on loopback."""

import asyncio
import os
import sys

from mcp import Client, StdioServerParameters

from assistant.mcp_server import build_server
from conftest import CANONICAL, serve_in_thread

BIN = os.path.dirname(sys.executable)
SEED_TITLE = "Japan US summit agrees critical minerals framework"


async def _exercise(client: Client) -> None:
    """What every transport must do: list the tools and call each of them."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"ask", "search", "list_articles"}
    assert {"question", "since", "until"} <= set(tools["ask"].input_schema["properties"])

    result = await client.call_tool("ask", {"question": CANONICAL})
    assert not result.is_error
    answer = result.structured_content
    assert "[1]" in answer["answer"] and answer["abstained"] is False
    assert answer["citations"][0]["title"] == SEED_TITLE
    assert answer["citations"][0]["date"] == "2025-10-28" and answer["citations"][0]["quote"]
    assert "[1]" in result.content[0].text  # clients that read only text see the answer too

    result = await client.call_tool("search", {"query": "rare earths", "k": 2,
                                               "since": "2025-10-01", "until": "2025-10-31"})
    chunks = result.structured_content["chunks"]
    assert len(chunks) == 2 and chunks[0]["title"] == SEED_TITLE
    assert chunks[0]["date"] == "2025-10-28" and 0 < chunks[0]["score"] <= 1
    result = await client.call_tool("search", {"query": "rare earths", "since": "2026-01-01"})
    assert result.structured_content["chunks"] == []
    result = await client.call_tool("search", {"query": "rare earths", "since": "last May"})
    assert result.is_error and "not an ISO date" in result.content[0].text

    result = await client.call_tool("list_articles", {})
    [article] = result.structured_content["articles"]
    assert article["title"] == SEED_TITLE and article["chunks"] >= 1


def test_stdio_server_from_the_command_line(seeded):
    params = StdioServerParameters(
        command=f"{BIN}/assistant", args=["mcp"], cwd=str(seeded.settings.data_dir.parent),
        env={"ASSISTANT_DATA_DIR": str(seeded.settings.data_dir.resolve())},
    )

    async def run():
        async with Client(params, read_timeout_seconds=120) as client:
            await _exercise(client)

    asyncio.run(run())


def test_streamable_http_server_on_loopback(seeded):
    app = build_server(seeded).streamable_http_app(host="127.0.0.1")
    with serve_in_thread(app, "the MCP server") as url:
        async def run():
            async with Client(f"{url}/mcp") as client:
                await _exercise(client)

        asyncio.run(run())
