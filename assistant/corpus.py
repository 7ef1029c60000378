"""Loading and cleaning articles from files.

Formats: the dated news format of the seed article (first line `` date YYYY-MM-DD Place, Mon DD:
...``), plain ``.txt``, Markdown, HTML (text only, page furniture removed) and JSONL (one article a
line with ``text`` and optional ``title``, ``date``, ``url``).

Every problem is reported as a :class:`LoadError` naming the file (and line) and the reason; a bad
file or line never stops the rest of a batch.

>>> from pathlib import Path
>>> articles, errors = load_paths([Path("corpus")])
>>> articles[0].date
'2025-10-28'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import date as Date
from pathlib import Path

from assistant.types import Article, LoadError, digest

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")

_SEED_FIRST_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+")
# Aggregator cross-links ("See Also: <other headline>") sit mid-article and are not its content.
# Only a short line of its own is a cross-link; a long one is article text that happens to start so.
_SEE_ALSO = re.compile(r"^[ \t]*See Also:[^\n]{0,300}$\n?", re.MULTILINE)
_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})[-_ ]*")
_HTML_DROP = (
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg",
    "button", "template", "menu",
)
_HTML_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "figcaption")
_MAX_TITLE_WORDS = 16
# UTF-32 first: its little-endian mark starts with UTF-16's.
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def iter_files(paths: Iterable[Path]) -> Iterator[Path | LoadError]:
    """Expand files and folders (recursively, hidden entries skipped, symlink loops safe)."""
    for path in paths:
        if not path.exists():
            yield LoadError(str(path), "no such file or directory")
        elif path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(root: Path) -> Iterator[Path | LoadError]:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError as err:
            yield LoadError(dirpath, f"cannot read folder: {err.strerror or err}")
            continue
        if (st.st_dev, st.st_ino) in seen:  # a symlink loop: this folder was walked already
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            try:
                os.stat(path)  # a dangling or looping symlink fails here, not in a caller
            except OSError as err:
                yield LoadError(str(path), f"cannot read: {err.strerror or err}")
                continue
            yield path


def load_paths(
    paths: Iterable[Path], max_bytes: int = 20_000_000
) -> tuple[list[Article], list[LoadError]]:
    """Load every supported file under ``paths``; return the articles and the errors."""
    articles: list[Article] = []
    errors: list[LoadError] = []
    for item in iter_files(paths):
        if isinstance(item, LoadError):
            errors.append(item)
            continue
        found, errs = load_file(item, max_bytes=max_bytes)
        articles.extend(found)
        errors.extend(errs)
    return articles, errors


def load_file(path: Path, max_bytes: int = 20_000_000) -> tuple[list[Article], list[LoadError]]:
    """Load one file. Never raises for bad content: problems come back as errors."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return [], [LoadError(str(path), f"unsupported file type {suffix or '(none)'!r}; "
                                         f"supported: {', '.join(SUPPORTED_SUFFIXES)}")]
    try:
        raw = _read_text(path, max_bytes)
        if suffix == ".jsonl":
            return _load_jsonl(path, raw)
        if suffix in (".html", ".htm"):
            article = _load_html(path, raw)
        elif suffix in (".md", ".markdown"):
            article = _load_markdown(path, raw)
        else:
            article = _load_text(path, raw)
        return [article], []
    except LoadError as err:
        return [], [err]
    except RecursionError:
        return [], [LoadError(str(path), "markup is nested too deeply to parse")]


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(str(path), f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
        data = path.read_bytes()
    except OSError as err:
        raise LoadError(str(path), f"cannot read: {err.strerror or err}") from None
    if not data.strip():
        raise LoadError(str(path), "empty file")
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise LoadError(str(path), f"{encoding} text (byte-order mark); save it as UTF-8")
    # The whole file, not a prefix: a NUL past the first block would reach the store otherwise.
    if b"\x00" in data:
        raise LoadError(str(path), "binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LoadError(
            str(path), f"not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


# --- formats -----------------------------------------------------------------------------------


def _load_text(path: Path, raw: str) -> Article:
    date = None
    match = _SEED_FIRST_LINE.match(raw)
    if match:
        date = _valid_date(match.group(1), str(path))
        raw = raw[match.end():]
    title = None
    first, sep, rest = raw.strip().partition("\n")
    if sep and rest.startswith("\n") and _looks_like_heading(first):
        title, raw = first.strip(), rest
    return _make_article(path, raw, title=title, date=date)


def _load_markdown(path: Path, raw: str) -> Article:
    meta, body = _front_matter(raw, path)
    title = meta.get("title")
    if not title:
        heading = re.search(r"^#[ \t]+(.+?)[ \t#]*$", body, re.MULTILINE)
        if heading:
            title = heading.group(1).strip()
            body = body[: heading.start()] + body[heading.end():]
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(body)
    text = _html_text(_soup(html, path))
    date = _valid_date(meta["date"], str(path)) if meta.get("date") else None
    return _make_article(path, text, title=title, date=date, url=meta.get("url"))


def _load_html(path: Path, raw: str) -> Article:
    soup = _soup(raw, path)
    title = _meta(soup, "og:title") or (soup.title.get_text(" ", strip=True) if soup.title else "")
    heading = soup.find("h1").get_text(" ", strip=True) if soup.find("h1") else ""
    if heading and (not title or title.startswith(heading)):
        # the page's own headline: a <title> is often it plus the site ("... | Newsdesk Wire")
        title = heading
    published = _meta(soup, "article:published_time", "date", "pubdate", "publish-date", "dc.date")
    if not published and soup.find("time", attrs={"datetime": True}):
        published = soup.find("time", attrs={"datetime": True})["datetime"]
    date = None
    if published:
        try:
            date = normalize_date(published)
        except ValueError:
            date = None  # page metadata is often sloppy; an undated article is still useful
    text = _html_text(soup, drop_heading=title)
    return _make_article(path, text, title=title or None, date=date, url=_meta(soup, "og:url"))


def _load_jsonl(path: Path, raw: str) -> tuple[list[Article], list[LoadError]]:
    articles: list[Article] = []
    errors: list[LoadError] = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            articles.append(_jsonl_article(path, line, lineno))
        except LoadError as err:
            errors.append(err)
    if not articles and not errors:
        errors.append(LoadError(str(path), "no articles in file"))
    return articles, errors


def _jsonl_article(path: Path, line: str, lineno: int) -> Article:
    def fail(reason: str) -> LoadError:
        return LoadError(str(path), reason, line=lineno)

    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as err:
        raise fail(f"invalid JSON ({getattr(err, 'msg', 'nested too deeply')})") from None
    except ValueError:  # Python refuses to convert integers of more than 4,300 digits
        raise fail("invalid JSON (a number has too many digits)") from None
    if not isinstance(row, dict):
        raise fail(f"expected a JSON object, got {type(row).__name__}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise fail("missing or empty 'text' (a non-empty string is required)")
    fields = {}
    for key in ("title", "date", "url"):
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise fail(f"'{key}' must be a string, got {type(value).__name__}")
        fields[key] = value.strip() if value else None
    date = _valid_date(fields["date"], str(path), lineno) if fields["date"] else None
    # The url (when given) identifies the article; else its title within this file.
    identity = fields["url"] or f"{path.resolve()}#{fields['title'] or lineno}"
    try:
        return _make_article(
            path, _html_unescape_if_needed(text), title=fields["title"], date=date,
            url=fields["url"], identity=identity, source=fields["url"] or f"{path}:{lineno}",
        )
    except LoadError as err:
        raise fail(err.reason) from None


# --- shared helpers ----------------------------------------------------------------------------


def _make_article(
    path: Path,
    text: str,
    *,
    title: str | None,
    date: str | None,
    url: str | None = None,
    identity: str | None = None,
    source: str | None = None,
) -> Article:
    text = clean_text(text)
    if not text:
        raise LoadError(str(path), "no article text after cleaning")
    if date is None:
        match = _FILENAME_DATE.match(path.stem)
        if match:
            try:
                date = normalize_date(match.group(1))
            except ValueError:
                pass
    title = clean_title(title) if title else derive_title(path, text)
    identity = identity or str(path.resolve())
    return Article(
        id=digest("article", identity), title=title, text=text, source=source or str(path),
        date=date, url=url,
    )


def clean_text(text: str) -> str:
    """Drop aggregator cross-links, normalise spaces, keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SEE_ALSO.sub("", text)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_title(title: str) -> str:
    title = re.sub(r"\s+", " ", title).strip()
    return title[:200]


def derive_title(path: Path, text: str) -> str:
    """A title for an article that has none: a readable file name, else its first sentence."""
    stem = _FILENAME_DATE.sub("", path.stem)
    words = [w for w in re.split(r"[-_ ]+", stem) if w]
    readable = len(words) >= 2 and all(w.isalpha() for w in words)
    if readable:
        title = " ".join(words)
        return title[0].upper() + title[1:]
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    first = re.sub(r"^[A-Z][\w .'-]{0,40}, [A-Z][a-z]{2,8}\.? \d{1,2}:\s*", "", first)  # dateline
    words = first.split()
    title = " ".join(words[:_MAX_TITLE_WORDS])
    return clean_title(title + ("…" if len(words) > _MAX_TITLE_WORDS else ""))


def _looks_like_heading(line: str) -> bool:
    line = line.strip()
    return 0 < len(line.split()) <= _MAX_TITLE_WORDS and not re.search(r"[.!?:,;\"”]$", line)


def normalize_date(value: str) -> str:
    """ISO ``YYYY-MM-DD`` from a date or datetime string; ValueError if unusable."""
    from dateutil import parser

    value = value.strip()
    try:
        parsed = parser.isoparse(value)
    except (ValueError, OverflowError):
        try:
            parsed = parser.parse(value)
        except (ValueError, OverflowError) as err:
            raise ValueError(f"unreadable date {value!r}") from err
    day = parsed.date() if hasattr(parsed, "date") else parsed
    if not (1800 <= day.year <= Date.today().year + 1):
        raise ValueError(f"implausible date {value!r}")
    return day.isoformat()


def _valid_date(value: str, path: str, line: int | None = None) -> str:
    try:
        return normalize_date(value)
    except ValueError as err:
        raise LoadError(path, str(err), line=line) from None


def _front_matter(raw: str, path: Path) -> tuple[dict[str, str], str]:
    match = re.match(r"^---[ \t]*\n(.*?)\n---[ \t]*(?:\n|$)", raw, re.DOTALL)
    if not match:
        # "---" then "key: value" lines and no closing "---": broken front matter, not a rule
        if re.match(r"^---[ \t]*\n[A-Za-z_][\w-]*:", raw):
            raise LoadError(str(path), "front matter opened with '---' is never closed")
        return {}, raw
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, raw[match.end():]


def _soup(markup: str, path: Path):
    from bs4 import BeautifulSoup

    try:
        return BeautifulSoup(markup, "lxml")
    except Exception as err:  # lxml raises several types on hostile markup
        raise LoadError(str(path), f"unparseable HTML ({type(err).__name__})") from None


def _meta(soup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content", "").strip():
            return tag["content"].strip()
    return None


def _html_text(soup, drop_heading: str | None = None) -> str:
    for tag in soup(list(_HTML_DROP)):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for el in root.find_all(list(_HTML_BLOCKS)):
        if el.find_parent(list(_HTML_BLOCKS)):
            continue  # nested block (a <p> in an <li>): its text is in the parent already
        text = re.sub(r"\s+", " ", el.get_text()).strip()  # inline tags join without spaces
        if text and not (drop_heading and el.name == "h1" and text == drop_heading.strip()):
            blocks.append(text)
    if not blocks:
        return root.get_text("\n", strip=True)
    return "\n\n".join(blocks)


def _html_unescape_if_needed(text: str) -> str:
    import html

    return html.unescape(text) if "&" in text else text
