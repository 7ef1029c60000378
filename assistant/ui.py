"""The web chat (Gradio): questions in, cited answers out, with a sources panel.

>>> from assistant import Assistant
>>> from assistant.ui import build_ui
>>> build_ui(Assistant.from_settings()).launch(server_name="127.0.0.1")
"""

from __future__ import annotations

import html
import os

import gradio as gr

from assistant.app import Assistant
from assistant.types import Answer

CANONICAL_QUESTION = "What does the minerals framework cover?"

_CSS = """
.source { border-left: 3px solid #6366f1; padding: 4px 10px; margin: 10px 0; }
.source .meta { font-size: 0.9em; opacity: 0.8; }
.source blockquote { margin: 6px 0; white-space: pre-wrap; }
.source mark { background: #fde68a; color: inherit; }
"""


def sources_html(answer: Answer | None) -> str:
    """The sources panel: for each marker, title, date, source and the chunk with the quote marked."""
    if answer is None:
        return "<p class='empty-sources'>Sources of the answer appear here.</p>"
    if not answer.citations:
        return "<p class='empty-sources'>No sources: the articles do not answer this.</p>"
    parts = []
    for c in answer.citations:
        text, marked, last = c.chunk_text, [], 0
        for start, end in c.quote_spans:
            marked.append(html.escape(text[last:start]))
            marked.append(f"<mark>{html.escape(text[start:end])}</mark>")
            last = end
        marked.append(html.escape(text[last:]))
        parts.append(
            f"<div class='source' id='source-{c.n}'>"
            f"<div><b>[{c.n}] {html.escape(c.title)}</b></div>"
            f"<div class='meta'>{html.escape(c.date or 'undated')} · {html.escape(c.source)}"
            f" · similarity {c.score:.2f}</div>"
            f"<blockquote>{''.join(marked)}</blockquote></div>"
        )
    return "".join(parts)


def _status(bot: Assistant) -> str:
    articles = bot.articles()
    if not articles:
        return ("**The archive is empty.** Ingest articles first: "
                "`assistant ingest corpus/`, then reload this page.")
    return f"{len(articles)} article(s) in the archive · answers by the `{bot.backend}` answerer."


def build_ui(bot: Assistant) -> gr.Blocks:
    def respond(message: str, history: list[dict]):
        message = (message or "").strip()
        if not message:
            return history, gr.update(), ""
        answer = bot.ask(message)
        history = history + [
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer.text},
        ]
        return history, sources_html(answer), ""

    with gr.Blocks(title="newsdesk assistant") as demo:
        gr.Markdown("# newsdesk assistant\nAsk about the news articles in the archive. "
                    "Every claim carries a marker like [1] pointing to its source.")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", elem_id="chat", height=460)
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the articles…", show_label=False,
                        elem_id="question", scale=5, autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                gr.Examples([[CANONICAL_QUESTION]], inputs=[box])
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sources")
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chat], [chat, sources, box])
        demo.load(lambda: _status(bot), None, status)
    return demo


def serve(bot: Assistant, host: str, port: int, block: bool = True) -> gr.Blocks:
    # Gradio's uploads and caches go under the data dir like everything else we write.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(bot.settings.data_dir.resolve() / "gradio"))
    demo = build_ui(bot)
    demo.queue(default_concurrency_limit=1)  # one model, one CPU budget: answer in turn
    # System fonts: the default theme would fetch web fonts, and this machine is offline.
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block,
                show_error=True, css=_CSS, theme=theme)
    return demo
