"""The web chat (Gradio): questions in, streamed cited answers out, with a sources panel.

Also on the page: a publication-date filter, uploading articles (checked as ``assistant ingest``
checks files), and thumbs up/down on answers, appended as JSON lines to ``feedback_path``
(``data_dir/feedback.jsonl`` by default) for :func:`assistant.evals.feedback.feedback_to_suite`.

>>> from assistant import Assistant
>>> from assistant.ui import build_ui
>>> build_ui(Assistant.from_settings()).launch(server_name="127.0.0.1")
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from assistant.app import Assistant
from assistant.types import Answer, IngestReport, Turn

CANONICAL_QUESTION = "What does the minerals framework cover?"
ARTICLE_TYPES = ".txt, .md, .html, .jsonl"

_CSS = """
.source { border-left: 3px solid #6366f1; padding: 4px 10px; margin: 10px 0; }
.source .meta { font-size: 0.9em; opacity: 0.8; }
.source blockquote { margin: 6px 0; white-space: pre-wrap; }
.source mark { background: #fde68a; color: inherit; }
.upload-failures li { color: #b91c1c; }
"""

# Updates sent while streaming: enough to see the answer grow, few enough not to flood the page.
_STREAM_UPDATES = 24


def sources_html(answer: Answer | None) -> str:
    """The sources panel: for each marker, title, date, source, scores and the whole chunk with
    the quoted sentences highlighted."""
    if answer is None:
        return "<p class='empty-sources'>Sources of the answer appear here.</p>"
    searched = (
        f"<p id='rewritten'>Searched for: <i>{html.escape(answer.rewritten_question)}</i></p>"
        if answer.rewritten_question else ""
    )
    if not answer.citations:
        return searched + "<p class='empty-sources'>No sources: the articles do not answer this.</p>"
    parts = [searched]
    for c in answer.citations:
        text, marked, last = c.chunk_text, [], 0
        for start, end in c.quote_spans:
            marked.append(html.escape(text[last:start]))
            marked.append(f"<mark>{html.escape(text[start:end])}</mark>")
            last = end
        marked.append(html.escape(text[last:]))
        title = html.escape(c.title)
        url = getattr(c, "url", None)
        if url and url.startswith(("http://", "https://")):
            title = f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>{title}</a>"
        scores = f"similarity {c.score:.2f}"
        support = getattr(c, "support", None)
        if support is not None:
            scores += f" · <span class='support'>support {support:.2f}</span>"
        parts.append(
            f"<div class='source' id='source-{c.n}'>"
            f"<div><b>[{c.n}] {title}</b></div>"
            f"<div class='meta'>{html.escape(c.date or 'undated')} · {html.escape(c.source)}"
            f" · {scores}</div>"
            f"<blockquote>{''.join(marked)}</blockquote>"
            + "".join(f"<div class='meta also'>also reported by {html.escape(o)}</div>"
                      for o in c.also_in)
            + "</div>"
        )
    return "".join(parts)


def upload_html(report: IngestReport) -> str:
    """What an upload did, with every failure and its reason."""
    added, updated, unchanged = (report.articles_added, report.articles_updated,
                                 report.articles_unchanged)
    lines = [(f"<p id='upload-summary'>{added} article(s) added · {updated} updated · "
              f"{unchanged} unchanged · {len(report.failures)} failed</p>")]
    if report.failures:
        lines.append("<ul class='upload-failures'>")
        lines += [f"<li>{html.escape(str(f))}</li>" for f in report.failures]
        lines.append("</ul>")
    return "".join(lines)


def _status(bot: Assistant) -> str:
    articles = bot.articles()
    if not articles:
        return ("**The archive is empty.** Add articles with *Add articles* on this page, or "
                "run `assistant ingest corpus/` and reload.")
    return f"{len(articles)} article(s) in the archive · answers by the `{bot.backend}` answerer."


def _text(message: dict) -> str:
    """A chat message's text: Gradio hands content back as a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class FeedbackLog:
    """Thumbs up/down appended to a JSONL file, one object per vote."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def record(self, entry: dict, liked: bool) -> dict:
        row = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "liked": liked,
               **entry}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return row


class _Answered:
    """What each answer on each open page was asked and said, for the votes on it (bounded)."""

    def __init__(self, limit: int = 2000):
        self.limit, self._entries = limit, OrderedDict()
        self._lock = threading.Lock()

    def remember(self, session: str | None, index: int, entry: dict) -> None:
        with self._lock:
            self._entries[(session, index)] = entry
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def recall(self, session: str | None, index: int) -> dict | None:
        with self._lock:
            return self._entries.get((session, index))


def _feedback_entry(question: str, history: list[Turn], answer: Answer, since, until) -> dict:
    return {
        "question": question,
        "history": [t.model_dump() for t in history],
        "answer": answer.text,
        "abstained": answer.abstained,
        "backend": answer.backend,
        "filters": {"since": since, "until": until},
        "citations": [{"n": c.n, "article_id": c.article_id, "chunk_id": c.chunk_id,
                       "title": c.title, "date": c.date, "quote": c.quote}
                      for c in answer.citations],
    }


def build_ui(bot: Assistant) -> gr.Blocks:
    feedback = FeedbackLog(bot.settings.feedback_file)
    answered = _Answered()

    def respond(message: str, chat: list[dict], since: str, until: str, request: gr.Request):
        message = (message or "").strip()
        if not message:
            yield chat, gr.update(), ""
            return
        history = [Turn(role=m["role"], content=_text(m)) for m in chat
                   if m.get("role") in ("user", "assistant")]
        since, until = (since or "").strip() or None, (until or "").strip() or None
        chat = chat + [{"role": "user", "content": message},
                       {"role": "assistant", "content": ""}]
        yield chat, "<p class='empty-sources'>Searching the archive…</p>", ""
        answer = None
        try:
            pieces = []
            for piece in bot.stream(message, history=history, since=since, until=until):
                if isinstance(piece, str):
                    pieces.append(piece)
                else:
                    answer = piece
            step = max(1, len(pieces) // _STREAM_UPDATES)
            for shown in range(step, len(pieces) + step, step):
                chat[-1] = {"role": "assistant", "content": "".join(pieces[:shown])}
                yield chat, gr.update(), ""
        except ValueError as exc:  # a malformed or empty date range
            chat[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield chat, sources_html(None), ""
            return
        chat[-1] = {"role": "assistant", "content": answer.text}
        # Kept on the server before the page can show a thumb (a gr.State would be committed
        # only when this generator ends, and a quick vote would miss it).
        answered.remember(request.session_hash, len(chat) - 1,
                          _feedback_entry(message, history, answer, since, until))
        yield chat, sources_html(answer), ""

    def vote(data: gr.LikeData, request: gr.Request):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        entry = answered.recall(request.session_hash, index)
        if entry is None:  # a message from before a restart: nothing to say what was asked
            return
        liked = data.liked if isinstance(data.liked, bool) else data.liked == "Like"
        feedback.record(entry, liked)
        gr.Info("Thanks: your feedback was saved.")

    def add_articles(paths: list[str] | None):
        if not paths:
            return "<p id='upload-summary'>Choose one or more files first.</p>", gr.update(), None
        report = bot.ingest_uploads((Path(p).name, Path(p).read_bytes()) for p in paths)
        return upload_html(report), _status(bot), None

    with gr.Blocks(title="newsdesk assistant") as demo:
        gr.Markdown("# newsdesk assistant\nAsk about the news articles in the archive. "
                    "Every claim carries a marker like [1] pointing to its source.")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", elem_id="chat", height=460,
                                  feedback_options=("Like", "Dislike"))
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the articles…", show_label=False,
                        elem_id="question", scale=5, autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                with gr.Row():
                    since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD",
                                       elem_id="since", max_lines=1)
                    until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD",
                                       elem_id="until", max_lines=1)
                gr.Examples([[CANONICAL_QUESTION]], inputs=[box])
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sources")
                with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
                    files = gr.File(label=f"Article files ({ARTICLE_TYPES})",
                                    file_count="multiple", type="filepath", elem_id="upload")
                    add = gr.Button("Add to the archive", elem_id="add")
                    added = gr.HTML(elem_id="upload-result")
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chat, since, until], [chat, sources, box])
        chat.like(vote, None, None)
        add.click(add_articles, [files], [added, status, files])
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
                show_error=True, css=_CSS, theme=theme,
                max_file_size=bot.settings.max_file_mb * 1_000_000)
    return demo
