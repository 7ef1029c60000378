"""Loading: every format, and bad input reported with file, line and reason."""

import json
from pathlib import Path

from assistant.corpus import load_file, load_paths
from conftest import SEED


def test_seed_format_gives_iso_date_and_drops_see_also_lines():
    [article], errors = load_file(SEED)
    assert errors == []
    assert article.date == "2025-10-28"
    assert "See Also" not in article.text
    assert "Milei" not in article.text  # the cross-linked headline is gone too
    assert article.text.startswith("Tokyo, Oct 28: Emphasising")
    assert "date 2025-10-28" not in article.text
    assert article.title == "Japan US summit agrees critical minerals framework"


def test_seed_with_unreadable_name_derives_title_from_first_sentence(tmp_path):
    path = tmp_path / "000_0f9e86d09a3ec5db.txt"
    path.write_text(SEED.read_text())
    [article], _ = load_file(path)
    assert article.title.startswith("Emphasising that the bilateral relationship")
    assert article.title.endswith("…")


def test_article_id_is_stable_across_loads_and_edits(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("First version of the story. It has two sentences.")
    first = load_file(path)[0][0]
    assert load_file(path)[0][0].id == first.id
    path.write_text("Second version of the story.")
    edited = load_file(path)[0][0]
    assert edited.id == first.id and edited.content_hash != first.content_hash


def test_html_keeps_article_text_and_drops_page_furniture(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("""<html><head><title>Port strike ends</title>
      <meta property="article:published_time" content="2024-03-05T10:00:00Z">
      <script>var tracking = 1;</script><style>p {color: red}</style></head>
      <body><nav>Home | World | Sport</nav><header>Daily Planet</header>
      <article><h1>Port strike ends</h1><p>Dock workers returned on Monday.</p>
      <p>The deal raises pay by 4 percent.</p></article>
      <aside>Most read: cats</aside><footer>© Daily Planet</footer></body></html>""")
    [article], errors = load_file(page)
    assert errors == []
    assert article.title == "Port strike ends" and article.date == "2024-03-05"
    assert article.text == "Dock workers returned on Monday.\n\nThe deal raises pay by 4 percent."


def test_html_headline_is_the_title_without_the_site_name_and_not_body_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("""<html><head><title>Port strike ends | Daily Planet</title></head>
      <body><article><h1>Port strike ends</h1><p>Dock workers returned on Monday.</p>
      </article></body></html>""")
    [article], _ = load_file(page)
    assert article.title == "Port strike ends"
    assert article.text == "Dock workers returned on Monday."


def test_markdown_front_matter_and_heading(tmp_path):
    md = tmp_path / "note.md"
    md.write_text("---\ndate: 2023-07-01\n---\n# Rates held\n\nThe bank held **rates** at "
                  "[5 percent](http://x).\n\n- one\n- two\n")
    [article], _ = load_file(md)
    assert article.title == "Rates held" and article.date == "2023-07-01"
    assert "The bank held rates at 5 percent." in article.text
    assert "**" not in article.text and "http://x" not in article.text


def test_jsonl_good_lines_land_and_bad_lines_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "feed.jsonl"
    rows = [
        json.dumps({"title": "A", "date": "2024-01-02", "text": "Alpha text.", "url": "http://a"}),
        "{not json",
        json.dumps({"title": "B", "text": ""}),
        json.dumps(["a", "list"]),
        json.dumps({"title": 5, "text": "typed wrong"}),
        json.dumps({"text": "Dated nonsense.", "date": "the 45th of Smarch"}),
        "",
        json.dumps({"text": "No title here, it is derived."}),
    ]
    path.write_text("\n".join(rows) + "\n")
    articles, errors = load_file(path)
    assert [a.title for a in articles] == ["A", "No title here, it is derived."]
    assert articles[0].date == "2024-01-02" and articles[0].url == "http://a"
    by_line = {e.line: e.reason for e in errors}
    assert set(by_line) == {2, 3, 4, 5, 6}
    assert "invalid JSON" in by_line[2]
    assert "text" in by_line[3]
    assert "JSON object" in by_line[4]
    assert "'title' must be a string" in by_line[5]
    assert "date" in by_line[6]
    assert str(errors[0]).startswith(f"{path}:2: ")


def test_bad_files_are_reported_with_path_and_reason_and_the_rest_loads(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me story.".encode("latin-1"))
    (tmp_path / "good.txt").write_text("A perfectly good article. It has text.")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    articles, errors = load_paths([tmp_path, Path(tmp_path / "missing.txt")])
    assert [a.title for a in articles] == ["A perfectly good article."]
    reasons = {Path(e.path).name: e.reason for e in errors}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"] and "0xe9" in reasons["latin1.txt"]
    assert reasons["missing.txt"] == "no such file or directory"
    assert "symbolic links" in reasons["loop.txt"]


def test_see_also_is_dropped_only_as_a_short_line_of_its_own(tmp_path):
    body = "See Also: " + "a long paragraph of real reporting " * 20
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"text": body}) + "\n" + json.dumps({"text": "See Also: x"}) + "\n")
    articles, errors = load_file(path)
    assert len(articles) == 1 and articles[0].text == body.strip()
    assert [(e.line, e.reason) for e in errors] == [(2, "no article text after cleaning")]
