"""Lexical helpers shared by the answerer, the citation checks and the evaluation metrics.

News readers care about the details that embeddings blur: numbers, dates, names and negation.
These functions pull those details out of text so that two passages can be compared on them.
"""

from __future__ import annotations

import re
import unicodedata

# A citation marker block: "[1]", "[2][3]" (one per match), "[1, 2]"; group 1 holds the numbers.
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def strip_markers(text: str) -> str:
    """The text without its citation markers."""
    return MARKER.sub("", text).strip()


def marker_numbers(text: str) -> list[int]:
    """The citation numbers in the text, in order (``[1][3]`` and ``[1, 3]`` give ``[1, 3]``)."""
    return [int(n) for block in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", block)]


STOPWORDS = frozenset(
    """a an the and or but of to in on at by for with from as is are was were be been being do does
    did done has have had having it its this that these those there their they them he she his her
    him i we you your our what which who whom whose when where why how whether not no yes will would
    can could should shall may might must about into over under than then so such also any all some
    more most many much very just only say said says tell told according article articles news""".split()
)
NEGATORS = frozenset(
    "not no never none nobody nothing neither nor without cannot cant dont doesnt didnt isnt "
    "arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt".split()
)
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, "hundred", "thousand"])
_WORD_RUN = re.compile(rf"\b(?:(?:{_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?)?)+\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|\d+(?:\.\d+)?")


def fold(text: str) -> str:
    """Lower-case, accents off, curly quotes and dashes made plain."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return (
        text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
        .replace("–", "-").replace("—", "-")
    )


def words_to_digits(text: str) -> str:
    """``three`` → ``3``, ``twenty-one`` → ``21``, ``two hundred`` → ``200`` (case-insensitive)."""

    def convert(match: re.Match) -> str:
        total, current = 0, 0
        for word in re.findall(r"[a-z]+", match.group(0).lower()):
            if word in _UNITS:
                current += _UNITS[word]
            elif word in _TENS:
                current += _TENS[word]
            elif word in _SCALES:
                current = max(current, 1) * _SCALES[word]
                if _SCALES[word] >= 1000:
                    total, current = total + current, 0
        trailing = " " if match.group(0)[-1:].isspace() else ""
        return f"{total + current}{trailing}"

    return _WORD_RUN.sub(convert, text)


def normalize(text: str) -> str:
    """Text reduced for matching: folded, number words as digits, ``1,200`` → ``1200``,
    ``per cent``/``percent`` → ``%``, punctuation dropped, single spaces."""
    text = words_to_digits(fold(text))
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d\.\d)0+\b|(?<=\d)\.0+\b", "", text)  # 4.50 = 4.5, 3.0 = 3
    text = re.sub(r"\s*(?:per\s*cent|percent|pct)\b", "%", text)
    text = re.sub(r"[^\w%$€£.\s]|(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(text.split())


def numbers(text: str) -> set[str]:
    """The numbers a text states, as canonical strings (``1,200`` and ``1200`` agree)."""
    out = set()
    # A lone "one" is mostly a pronoun ("one of the deals"), not a figure.
    text = re.sub(r"\bone\b(?![\s-]+(?:hundred|thousand))", " ", fold(text))
    for raw in _NUMBER.findall(words_to_digits(text)):
        value = raw.replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        out.add(value)
    return out


def negated(text: str) -> bool:
    """Does the text carry a negation (``not``, ``never``, ``didn't``, ...)?"""
    words = re.findall(r"[a-z']+", fold(text))
    return any(w.replace("'", "") in NEGATORS or w.endswith("n't") for w in words)


def names(text: str) -> set[str]:
    """Capitalised words not at a sentence start: the names a sentence commits to."""
    out = set()
    for match in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z]+)", text.strip()):
        word = match.group(1).lower()
        if word not in STOPWORDS and len(word) > 1:
            out.add(word)
    return out


def stem(word: str) -> str:
    """A crude English stem: enough to match ``agreed``/``agrees``, ``minerals``/``mineral``."""
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


_TOKEN = re.compile(r"\d+(?:\.\d+)?%?|[a-z0-9$€£]+")


def tokens(text: str) -> list[str]:
    """Content words, folded, number words as digits, stemmed, stopwords out (repeats kept):
    what BM25 indexes and what overlap scores compare."""
    return [
        stem(w) for w in _TOKEN.findall(normalize(text))
        if w not in STOPWORDS and (len(w) >= 2 or w[0].isdigit())
    ]


def terms(text: str) -> set[str]:
    """The distinct :func:`tokens` of a text, for overlap scoring."""
    return set(tokens(text))


# The frame the chain puts before answers to "latest" questions; it states metadata (the
# publication date), not a claim of the text, so support checks strip it.
AS_OF_FRAME = re.compile(r"^\s*As of [^:\n]{1,80}\):\s*")
# The frame before an answer to "when" that the article dates only by a weekday: the day it
# stands for, counted from the publication date (prompts/weekday_date.txt). Derived, not quoted.
WEEKDAY_FRAME = re.compile(r"^\s*[^:\n]{1,40} \(by the date of \[\d+\]\):\s*")
EARLIER_FRAME = re.compile(r"^\s*An earlier report \([^)\n]{1,40}\) differed:\s*")
# A wire dateline: "WASHINGTON (AP) —", "BRUSSELS, March 12 (NW) -", "Tokyo, Oct 28:", "CARROW —".
# Layout, not language: a place in capitals, an optional date and agency, then a dash or colon.
_DATELINE = re.compile(
    r"^[\"'“]?(?:[A-Z][\w.'-]*(?:[ ,]+[A-Z][\w.'-]*){0,3})"
    r"(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?(?:\s*\([^)\n]{1,40}\))?\s*(?:—|–|--|-|:)\s+(?=\S)"
)


def dateline_length(sentence: str) -> int:
    """How many characters of wire dateline open the sentence (0 when none)."""
    m = _DATELINE.match(sentence)
    if not m or len(m.group(0).split()) > 8:
        return 0
    return m.end()


# "Correction: An earlier version of this story said 44 lots." states the figure that was wrong.
CORRECTION_WORDS = ("correction", "clarification")
_CORRECTION = re.compile(rf"^[\"'“]?(?:{'|'.join(CORRECTION_WORDS)})s?\s*:", re.IGNORECASE)


def correction_label(sentence: str) -> int:
    """How many characters of "Correction:" label open a wire correction note (which repeats
    the retracted figure before it gives the right one); 0 for any other sentence."""
    m = _CORRECTION.match(sentence)
    return m.end() if m else 0
