"""Hostile and malformed input: one batch of 200+ generated bad files beside a few good articles.

Nothing may raise; every bad file comes back in ``report.failures`` (unsupported types in
``report.skipped``) naming its path (and line, for JSONL) with a reason a user can act on; every
good article lands and answers questions. ``max_file_mb=1`` keeps the "too large" case fast; the
true 50 MB file runs under ``make stress``.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant import Assistant

TEXT_SUFFIXES = (".txt", ".md", ".html", ".jsonl")
MB = 1_000_000


@dataclass
class Corpus:
    root: Path
    bad: dict[Path, str] = field(default_factory=dict)  # path -> what it is
    bad_lines: dict[tuple[Path, int], str] = field(default_factory=dict)  # JSONL (path, line)
    unsupported: list[Path] = field(default_factory=list)
    tolerated: dict[Path, str] = field(default_factory=dict)  # odd but legal: land or fail, no crash
    good: list[tuple[str, str]] = field(default_factory=list)  # (question, phrase the answer quotes)

    @property
    def inputs(self) -> int:
        return len(self.bad) + len(self.bad_lines) + len(self.unsupported) + len(self.tolerated) \
            + len(self.good)


# Good articles, each with a fact no other file states.
GOOD_TXT = ("Harbour crane collapses in Velmora\n\nA harbour crane collapsed in Velmora on Tuesday. "
            "Port officials said the crane operator, Lisbet Orvane, escaped without injury. "
            "Repairs to quay four are expected to take eleven weeks.")
GOOD_MD = ("---\ntitle: Brackenfell library reopens\ndate: 2026-03-02\n---\n\n"
           "The Brackenfell public library reopened on Monday after a flood. "
           "The council spent 2.4 million crowns restoring the reading rooms.")
GOOD_HTML = ("<html><head><title>Quarnsey ferry strike ends</title>"
             '<meta property="article:published_time" content="2026-02-11T08:00:00Z"></head>'
             "<body><nav>Home | News</nav><article><h1>Quarnsey ferry strike ends</h1>"
             "<p>Ferry crews on Quarnsey ended their strike after nine days.</p>"
             "<p>The union accepted a pay rise of six per cent.</p></article>"
             "<footer>Copyright</footer></body></html>")
GOOD_ROWS = [
    {"title": "Tollbridge observatory names new comet", "date": "2026-01-20",
     "text": "Astronomers at the Tollbridge observatory named a new comet Vessa-Marn. "
             "The comet will pass closest to the sun in April."},
    {"title": "Drumlow bakery wins award", "url": "https://example.org/drumlow",
     "text": "The Drumlow bakery won the regional bread award for its rye loaf."},
]


def _bad(corpus: Corpus, name: str, content: bytes | str, what: str) -> Path:
    path = corpus.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    corpus.bad[path] = what
    return path


def _jsonl(corpus: Corpus, name: str, lines: list[str | None], what: str) -> None:
    """A JSONL file whose non-None lines are all bad (None: a blank line, to move line numbers)."""
    path = corpus.root / "feeds" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(line or "" for line in lines) + "\n", encoding="utf-8")
    for lineno, line in enumerate(lines, start=1):
        if line is not None:
            corpus.bad_lines[(path, lineno)] = what


def make_corpus(root: Path, max_bytes: int, sentence_tokens: int = 5_000) -> Corpus:
    """Write the malformed inputs and the good articles under ``root``.

    ``sentence_tokens``: length of the one-sentence article; 100k (about 1,300 chunks to embed,
    minutes on 2 cores) runs under ``make stress``."""
    rnd = random.Random(20261125)
    c = Corpus(root)
    sentence = "The river rose again overnight in the old town. "

    # binary: random bytes, with and without NUL bytes, under every text suffix
    for i in range(24):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(16, 4000)))
        if i % 2:
            data = data.replace(b"\x00", b"\x01")  # no NUL: must fail as invalid UTF-8 instead
        else:
            data = b"\x00" + data
        _bad(c, f"binary/blob{i}{TEXT_SUFFIXES[i % 4]}", data, "random bytes")
    _bad(c, "binary/png-named.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG bytes")
    _bad(c, "binary/gzip-named.md", b"\x1f\x8b\x08\x00" + bytes(200), "gzip bytes")
    # empty and whitespace-only
    for suffix in TEXT_SUFFIXES:
        _bad(c, f"empty/empty{suffix}", b"", "empty")
        for j, blank in enumerate([" ", "\n\n\n", "\t \r\n \u00a0 \n", "\u2003\u2002\n"]):
            _bad(c, f"empty/blank{j}{suffix}", blank, "whitespace only")
    # invalid UTF-8 at various offsets
    for offset in (0, 1, 7, 100, 4095, 4096, 8191, 8192, 9000, 65_536, 200_000):
        for bad_bytes in (b"\xff", b"\xc3\x28", b"\xe2\x82"):
            body = (sentence * (offset // len(sentence) + 1)).encode()[:offset]
            _bad(c, f"utf8/at{offset}-{bad_bytes.hex()}.txt", body + bad_bytes + b" more text.",
                 "invalid UTF-8")
    _bad(c, "utf8/latin1.md", "Café in Zürich reopens, señor.".encode("latin-1"), "Latin-1")
    _bad(c, "utf8/cp1252.html", "<p>“Smart quotes” — from Windows</p>".encode("cp1252"), "cp1252")
    # UTF-16 / UTF-32 with and without BOM
    for suffix in TEXT_SUFFIXES:
        for enc in ("utf-16", "utf-16-be", "utf-32"):
            _bad(c, f"utf16/{enc}{suffix}", ("Flood warning lifted. " * 20).encode(enc), enc)
    # NUL bytes in otherwise good text, early and late in the file
    for where in (0, 10, 5000, 8191, 8192, 20_000, 500_000):
        text = (sentence * (where // len(sentence) + 2)).encode()
        _bad(c, f"nul/nul-at-{where}.txt", text[:where] + b"\x00" + text[where:], "NUL byte")
    # deeply nested markup
    _bad(c, "html/nested-100k.html", "<div>" * 100_000 + "</div>" * 100_000, "100k nested divs")
    _bad(c, "html/nested-unclosed.html", "<div><span>" * 50_000, "50k unclosed tags")
    _bad(c, "html/nested-lists.md", "".join("  " * i + "- \n" for i in range(3000)), "nested lists")
    _bad(c, "html/quotes.md", "> " * 20_000 + "\n", "20k nested block quotes")
    # HTML without article text
    _bad(c, "html/nav-only.html", "<html><body><nav><a href='/'>Home</a> | <a>World</a></nav>"
         "<footer>© 2026 Example News</footer></body></html>", "nav and footer only")
    _bad(c, "html/script-only.htm", "<html><head><script>alert(1)</script><style>p{}</style>"
         "</head><body><aside>Ad</aside></body></html>", "script, style and aside only")
    _bad(c, "html/comments.html", "<!-- nothing here --><html><body></body></html>", "comments")
    _bad(c, "html/doctype.html", "<!DOCTYPE html>", "a doctype alone")
    _bad(c, "html/tags-only.html", "<p></p><div> </div><span>\n</span>" * 50, "empty tags")
    # Markdown with broken front matter
    _bad(c, "md/unclosed-front-matter.md", "---\ntitle: Budget vote\ndate: 2026-01-05\n\n"
         "The council approved the budget on Monday.", "front matter never closed")
    _bad(c, "md/bad-date.md", "---\ntitle: Budget vote\ndate: 2025-13-45\n---\n\nThe council met.",
         "front matter date 2025-13-45")
    _bad(c, "md/year-zero.md", "---\ndate: 0000-01-01\n---\n\nThe council met.", "year 0")
    _bad(c, "md/yesterday.md", "---\ndate: yesterday\n---\nThe council met.", "date 'yesterday'")
    _bad(c, "md/future.md", "---\ndate: 99999-01-01\n---\nThe council met.", "year 99999")
    _bad(c, "md/front-matter-only.md", "---\ntitle: Nothing else\n---\n", "no body")
    _bad(c, "md/rules-only.md", "---\n---\n---\n***\n", "thematic breaks only")
    # JSONL: wrong types, missing text, non-objects, huge numbers, nesting, absurd dates
    wrong = [
        {"text": 42}, {"text": 1.5}, {"text": True}, {"text": None}, {"text": ["a", "b"]},
        {"text": {"body": "x"}}, {"text": ""}, {"text": "   \n "}, {"title": "No text"}, {},
        {"text": "Fine text.", "title": 7}, {"text": "Fine text.", "title": ["t"]},
        {"text": "Fine text.", "date": 20260101}, {"text": "Fine text.", "date": ["2026"]},
        {"text": "Fine text.", "url": {"href": "x"}}, {"body": "text under the wrong key"},
    ]
    _jsonl(c, "wrong-types.jsonl", [json.dumps(r) for r in wrong], "wrong type / missing text")
    _jsonl(c, "not-objects.jsonl", [None, "[1, 2]", '"a string"', "3", "null", "true", None,
                                    "[]", "{oops", "{'single': 'quotes'}", "{\"text\": \"x\"",
                                    "NaN"], "not an object")
    _jsonl(c, "huge-numbers.jsonl", [
        '{"text": ' + "9" * 5000 + "}", '{"text": "Fine.", "date": ' + "1" * 100_000 + "}",
        '{"text": 1e999}', '{"text": -1e999, "title": "x"}', '{"n": ' + "7" * 4301 + "}",
    ], "huge numbers")
    _jsonl(c, "nested.jsonl", ["[" * 100_000 + "]" * 100_000, '{"text": ' + "[" * 5000 + "]" * 5000
                               + "}", '{"a": ' * 3000 + "1" + "}" * 3000], "nested arrays")
    absurd = ["0000-01-01", "0", "99999-01-01", "2025-13-45", "yesterday", "2025-02-30",
              "1800-00-00", "not a date", "2025-01-01T99:00:00", "3000-01-01",
              "1066-10-14"]
    _jsonl(c, "absurd-dates.jsonl", [json.dumps({"text": f"Row {i} text.", "title": f"Row {i}",
                                                 "date": d}) for i, d in enumerate(absurd)],
           "absurd date")
    for i in range(6):  # a bad line deep inside an otherwise blank file
        _jsonl(c, f"late-{i}.jsonl", [None] * (i * 37) + ['{"text": 5}'], "bad line late")
    # a single very long sentence (100k tokens under stress): legal text, but it must be split, not crash the chunker
    long_sentence = root / "odd" / "one-sentence.txt"
    long_sentence.parent.mkdir(parents=True, exist_ok=True)
    words = [rnd.choice(["alpha", "bravo", "delta", "harbour", "crane", "ledger", "quay", "tide"])
             for _ in range(sentence_tokens)]
    long_sentence.write_text(" ".join(words) + ".")
    c.tolerated[long_sentence] = f"a {sentence_tokens}-token sentence"
    # odd file names (bad content, so the name must appear in the failure)
    names = ["with space.txt", "  leading spaces.md", "-leading-dash.txt", "--help.md",
             "ünïcödé 日本語 ✓.txt", "emoji 🚢.html", "semi;colon&amp$HOME.txt", "quote'\"s.md",
             "brackets [red] (x).txt", "percent %s %d {}.txt", "star*?.txt", "tab\tname.md",
             "x" * 240 + ".txt", "back\\slash.txt", "UPPER.TXT", "double.ext.md.html",
             "trailing dot..txt", "#hash.md"]
    try:
        (root / "names" / "new\nline.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / "names" / "new\nline.txt").write_bytes(b"")
        names.append("new\nline.txt")
    except OSError:
        pass
    for name in names:
        _bad(c, f"names/{name}", b"", f"odd name {name!r}")
    # symlinks: a folder loop, a file loop, a dangling link
    links = root / "links"
    links.mkdir()
    os.symlink("..", links / "loop-up")
    os.symlink(".", links / "loop-self")
    os.symlink("b.txt", links / "a.txt")
    os.symlink("a.txt", links / "b.txt")
    c.bad[links / "a.txt"] = "file symlink loop"
    c.bad[links / "b.txt"] = "file symlink loop"
    os.symlink("missing.md", links / "dangling.md")
    c.bad[links / "dangling.md"] = "dangling symlink"
    # folders named like files (walked as folders; only their contents count)
    (root / "folder.txt").mkdir()
    (root / "folder.jsonl" / "inner.html").mkdir(parents=True)
    _bad(c, "folder.txt/inside.md", "   ", "whitespace inside a folder named .txt")
    # too large: just over the limit, under every suffix
    for suffix in TEXT_SUFFIXES:
        _bad(c, f"large/over{suffix}", b"a" * (max_bytes + 1), "one byte over max_file_mb")
    # unsupported types: skipped, not failed
    for name in ("photo.png", "scan.pdf", "notes.docx", "README", "data.json", "archive.tar.gz",
                 "page.xhtml", "feed.xml", "a.csv", "noext"):
        path = root / "other" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"\x89PNG" if name.endswith("png") else b"some content")
        c.unsupported.append(path)

    # good articles, scattered among the bad ones (one behind an odd name)
    (root / "good").mkdir()
    (root / "good" / "crane.txt").write_text(GOOD_TXT)
    (root / "md" / "library.md").write_text(GOOD_MD)
    (root / "names" / "ferry strike — ünïcödé.html").write_text(GOOD_HTML)
    mixed = root / "feeds" / "mixed.jsonl"
    mixed.write_text("\n".join([json.dumps(GOOD_ROWS[0]), '{"text": 3}', "",
                                json.dumps(GOOD_ROWS[1]), "[1]"]) + "\n")
    c.bad_lines[(mixed, 2)] = "wrong type in a mixed feed"
    c.bad_lines[(mixed, 5)] = "array in a mixed feed"
    c.good = [
        ("Who was the crane operator in Velmora?", "Lisbet Orvane"),
        ("How much did the council spend restoring the Brackenfell library?", "2.4 million crowns"),
        ("What pay rise did the Quarnsey ferry union accept?", "six per cent"),
        ("What was the new comet named by the Tollbridge observatory?", "Vessa-Marn"),
        ("Which award did the Drumlow bakery win?", "regional bread award"),
    ]
    return c


# --- checks ------------------------------------------------------------------------------------


def _check_report(corpus: Corpus, report) -> dict[str, list]:
    by_path: dict[str, list] = {}
    for f in report.failures:
        assert f.reason and len(f.reason) < 300, f
        by_path.setdefault(f.path, []).append(f)
    for path, what in corpus.bad.items():
        found = by_path.get(str(path))
        assert found, f"{what} ({path!r}) was not reported"
        assert all(f.line is None for f in found), found
    for (path, line), what in corpus.bad_lines.items():
        lines = {f.line for f in by_path.get(str(path), [])}
        assert line in lines, f"{what}: {path.name} line {line} not reported (got {lines})"
    expected = {str(p) for p in corpus.bad} | {str(p) for p, _ in corpus.bad_lines} \
        | {str(p) for p in corpus.tolerated}
    unexpected = [f for f in report.failures if f.path not in expected]
    assert not unexpected, unexpected  # nothing good (or a folder) reported as bad
    assert sorted(report.skipped) == sorted(str(p) for p in corpus.unsupported)
    return by_path


def _reason(by_path, path: Path) -> str:
    return " | ".join(f.reason for f in by_path[str(path)])


def _run_batch(tmp_path, settings, embedder, capsys, sentence_tokens):
    corpus = make_corpus(tmp_path / "batch", max_bytes=MB, sentence_tokens=sentence_tokens)
    assert corpus.inputs >= 200
    bot = Assistant.from_settings(settings, embedder=embedder, max_file_mb=1)
    started = time.perf_counter()
    report = bot.ingest([corpus.root])  # must not raise
    seconds = time.perf_counter() - started
    by_path = _check_report(corpus, report)

    # clear reasons for the main kinds of bad input
    r = lambda rel: _reason(by_path, corpus.root / rel)
    assert r("empty/empty.md") == "empty file"
    assert r("empty/blank1.txt") == "empty file"
    assert r("empty/blank2.txt") == "no article text after cleaning"  # a no-break space
    assert "binary" in r("binary/blob0.txt") and "NUL" in r("binary/blob0.txt")
    assert re.search(r"not valid UTF-8 \(byte 0x\w\w at offset \d+\)", r("binary/blob1.md"))
    assert "not valid UTF-8" in r("utf8/at9000-ff.txt") and "offset 9000" in r("utf8/at9000-ff.txt")
    assert "UTF-16" in r("utf16/utf-16.txt") and "UTF-8" in r("utf16/utf-16.txt")
    assert "NUL" in r("nul/nul-at-20000.txt") and "NUL" in r("nul/nul-at-500000.txt")
    assert "over the 1,000,000-byte limit" in r("large/over.jsonl")
    assert r("html/nav-only.html") == "no article text after cleaning"
    assert "front matter" in r("md/unclosed-front-matter.md")
    assert "'2025-13-45'" in r("md/bad-date.md")
    assert "cannot read" in r("links/a.txt") and "cannot read" in r("links/dangling.md")
    feed = corpus.root / "feeds"
    reasons = {f.line: f.reason for f in by_path[str(feed / "wrong-types.jsonl")]}
    assert reasons[1] == "missing or empty 'text' (a non-empty string is required)"
    assert reasons[11] == "'title' must be a string, got int"
    reasons = {f.line: f.reason for f in by_path[str(feed / "not-objects.jsonl")]}
    assert reasons[2] == "expected a JSON object, got list" and reasons[5] == "expected a JSON object, got NoneType"
    assert reasons[10].startswith("invalid JSON")
    reasons = {f.line: f.reason for f in by_path[str(feed / "huge-numbers.jsonl")]}
    assert "too many digits" in reasons[1]
    reasons = {f.line: f.reason for f in by_path[str(feed / "absurd-dates.jsonl")]}
    assert reasons[5] == "unreadable date 'yesterday'"
    assert reasons[10] == "implausible date '3000-01-01'"
    assert reasons[11] == "implausible date '1066-10-14'"

    # the tolerated input: a 100k-token sentence is split under the limits, or refused clearly
    [long_sentence] = corpus.tolerated
    landed = [a for a in bot.articles() if a.source == str(long_sentence)]
    assert landed or str(long_sentence) in by_path
    if landed:
        stored = bot.store.collection.get(where={"article_id": landed[0].id})["documents"]
        assert len(stored) >= sentence_tokens // 100 and max(len(d) for d in stored) < 5000

    # every good article is stored and answers with a citation of itself
    titles = {a.title for a in bot.articles()}
    assert {"Harbour crane collapses in Velmora", "Brackenfell library reopens",
            "Quarnsey ferry strike ends", GOOD_ROWS[0]["title"], "Drumlow bakery wins award"} <= titles
    for question, phrase in corpus.good:
        answer = bot.ask(question)
        assert not answer.abstained and phrase in answer.text, (question, answer.text)
        assert any(phrase in c.quote for c in answer.citations), answer.citations

    rejected = len(report.failures)
    with capsys.disabled():
        print(f"\nfuzz: {corpus.inputs} inputs, {rejected} rejected, {len(report.skipped)} skipped, "
              f"{report.articles_added} ingested ({'incl.' if landed else 'excl.'} the "
              f"{sentence_tokens}-token sentence), {seconds:.1f} s")


def test_bad_inputs_are_reported_and_good_articles_land(tmp_path, settings, embedder, capsys):
    _run_batch(tmp_path, settings, embedder, capsys, sentence_tokens=5_000)


@pytest.mark.stress
def test_the_batch_with_a_100k_token_sentence(tmp_path, settings, embedder, capsys):
    _run_batch(tmp_path, settings, embedder, capsys, sentence_tokens=100_000)


def test_cli_ingest_exits_1_and_names_every_failure(tmp_path, monkeypatch):
    from assistant.cli import app

    corpus = make_corpus(tmp_path / "batch", max_bytes=MB)
    corpus.root.joinpath("odd", "one-sentence.txt").unlink()  # keep the CLI run short
    monkeypatch.setenv("ASSISTANT_MAX_FILE_MB", "1")
    result = CliRunner().invoke(app, ["ingest", str(corpus.root)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    output = result.output  # stdout and stderr
    assert "ingest summary" in output and f"skipped {len(corpus.unsupported)} file(s)" in output
    failed = [line for line in output.splitlines() if line.startswith("failed: ")]
    assert len(failed) >= len(corpus.bad) + len(corpus.bad_lines) - 1  # a newline name spans two
    for path in corpus.bad:
        # rich expands a tab in a name to spaces (cli.py prints the path as is)
        pattern = re.escape(f"failed: {path}: ").replace("\\\t", r"\s+")
        assert re.search(pattern, output), path
    for path, line in corpus.bad_lines:
        assert f"failed: {path}:{line}: " in output, (path, line)


@pytest.mark.stress
def test_a_50_mb_file_is_refused_at_the_default_limit(tmp_path, bot, seed_copy):
    big = seed_copy.parent / "huge.txt"
    with open(big, "wb") as out:
        line = b"The harbour authority published another very long report today.\n"
        out.writelines(line for _ in range(50 * MB // len(line) + 1))
    started = time.perf_counter()
    report = bot.ingest([seed_copy.parent])
    seconds = time.perf_counter() - started
    [failure] = report.failures
    assert failure.path == str(big) and "over the 20,000,000-byte limit" in failure.reason
    assert report.articles_added == 1
    print(f"\n50 MB file refused in {seconds:.2f} s (batch included)")
