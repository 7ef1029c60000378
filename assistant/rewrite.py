"""Follow-ups: rewrite the last question of a conversation into a stand-alone question.

"When did she say that?" means nothing to a retriever; "When did she say that? (Takaichi,
Japan-US relationship)" does. Two rewriters share one interface, :class:`Rewriter`:

* :class:`DeterministicRewriter` — the offline default: decides whether the question refers back
  (pronouns, "that"/"there"/"then", "And ..."/"What about ...", or no topic of its own) and, if it
  does, appends the names and topic phrases of the turns it refers to. Retrieval is hybrid (dense +
  BM25), so adding the right words is what matters; the user's own words are kept as they are.
* :class:`LLMRewriter` — any LangChain chat model with ``prompts/rewrite.*.md``.

Both return the question unchanged when there is no history, and when the question names its own
subject (a change of topic must not drift back to the previous one).

>>> from assistant.rewrite import DeterministicRewriter
>>> from assistant.types import Turn
>>> history = [Turn(role="user", content="What did Takaichi say about the Japan-US relationship?"),
...            Turn(role="assistant", content="She called it the greatest alliance in the world.")]
>>> DeterministicRewriter().rewrite("When did she say that?", history)
'When did she say that? (Takaichi, Japan-US relationship)'
>>> DeterministicRewriter().rewrite("How many jobs is Lumetra cutting?", history)
'How many jobs is Lumetra cutting?'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.nlp import month_of, weekday_of
from assistant.prompts import load_prompt
from assistant.text import MARKER, STOPWORDS, fold, terms
from assistant.types import Turn

log = logging.getLogger(__name__)


@runtime_checkable
class Rewriter(Protocol):
    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """A question that stands alone; ``question`` itself when it already does."""
        ...


def rewrite_runnable(rewriter: Rewriter) -> Runnable:
    """``{"question": str, "history": [Turn]}`` → stand-alone question, as a chain step."""
    return RunnableLambda(
        lambda x: rewriter.rewrite(x["question"], x.get("history") or []), name="rewrite_question"
    )


# --- the deterministic rewriter --------------------------------------------------------------

# Words that refer back to something said before. "that", "there", "this" and "it" also have
# uses that do not refer back; _refers_back() sorts those out.
_PRONOUNS = frozenset(
    "he she him his her hers it its they them their theirs that this these those there then "
    "else".split()
)
_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|plus|what about|how about|what else|anything else)\b",
    re.IGNORECASE,
)
_SUBSTITUTE = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.IGNORECASE)  # "What about X?"
_BE = frozenset("is are was were be been being 's isn't aren't wasn't weren't".split())
_PREPOSITIONS = frozenset(
    "about after before since of on with for to by from like in at during than".split()
)
_TIME_NOUNS = frozenset(
    "year week month morning afternoon evening season spring summer autumn winter weekend "
    "quarter decade century".split()
)
# Imperatives that start a request and are not names ("Give ...", "List ...").
_NOT_NAMES = frozenset(
    "give list describe explain summarise summarize show name compare find please tell "
    "yes no ok okay thanks".split()
)
# Words that carry no topic: a question made only of these (and stopwords) is elliptical.
_GENERIC = terms(
    "else other another kind sort type happen happened time now next previous before after first "
    "second third last one ones same thing things anything something exactly really old age long "
    "often later earlier again still yet ago today yesterday know mean think why detail details "
    "more else reason reasons result results point"
)
_RELATIVE_DAYS = frozenset({"today", "yesterday", "tomorrow"})
_TOKEN = re.compile(r"\w(?:[\w'’.,-]*\w)?")
_CONNECTORS = frozenset({"of", "and", "the", "de", "for", "&"})


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return fold(self.text)

    @property
    def capital(self) -> bool:
        return self.text[:1].isupper()


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        word = re.sub(r"['’]s$", "", m.group(0))  # "Aldermark's" -> "Aldermark"
        out.append(_Token(word, m.start(), m.start() + len(word)))
    return out


def _joined(text: str, a: _Token, b: _Token) -> bool:
    """Are two tokens adjacent within one phrase (only spaces or a hyphen between them)?"""
    return re.fullmatch(r"['’]?\s*-?\s*", text[a.end:b.start]) is not None


def _stop(token: _Token) -> bool:
    return token.low in STOPWORDS or token.low in _NOT_NAMES


def _entity_spans(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised words ("Bank of Aldermark", "Port Elvan", "12 March 2026")."""
    toks = _tokens(text)
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if not tok.capital or _stop(tok):
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and _joined(text, toks[j], toks[j + 1]):
            nxt = toks[j + 1]
            if nxt.capital and not _stop(nxt):
                j += 1
            elif nxt.text.isdigit() and month_of(toks[j].text):  # "March 2026"
                j += 1
            elif (nxt.low in _CONNECTORS and j + 2 < len(toks) and toks[j + 2].capital
                  and not _stop(toks[j + 2]) and _joined(text, nxt, toks[j + 2])):
                j += 2  # "Bank of Aldermark"
            else:
                break
        first = i
        if i > 0 and toks[i - 1].text.isdigit() and month_of(tok.text) and _joined(
            text, toks[i - 1], tok
        ):
            first = i - 1  # a day before a month belongs to the date
        out.append((toks[first].start, toks[j].end))
        i = j + 1
    return out


def _entities(text: str) -> list[str]:
    return [text[a:b] for a, b in _entity_spans(text)]


def _is_calendar(entity: str) -> bool:
    """Days, months and dates narrow a question in time; they do not give it a new subject."""
    return all(t.low in _RELATIVE_DAYS or month_of(t.text) or weekday_of(t.text) is not None
               or t.text.isdigit() for t in _tokens(entity))


def _phrases(text: str) -> list[str]:
    """Runs of content words in order ("Japan-US relationship", "Bank of Aldermark decide")."""
    units = [_Token(text[a:b], a, b) for a, b in _entity_spans(text)]
    inside = [(u.start, u.end) for u in units]
    units += [
        t for t in _tokens(text)
        if not _stop(t) and not any(a <= t.start < b for a, b in inside)
    ]
    units.sort(key=lambda u: u.start)
    out: list[str] = []
    run: list[_Token] = []
    for unit in units:
        if run and not _joined(text, run[-1], unit):
            out.append(text[run[0].start:run[-1].end])
            run = []
        run.append(unit)
    if run:
        out.append(text[run[0].start:run[-1].end])
    return out


def _content(turn: Turn | Mapping) -> tuple[str, str]:
    if isinstance(turn, Mapping):
        return turn["role"], MARKER.sub("", turn["content"])
    return turn.role, MARKER.sub("", turn.content)  # citation markers are noise here


def _refers_back(question: str) -> bool:
    """Does the question use a word that points at something said earlier?"""
    toks = _tokens(question)
    lows = [t.low for t in toks]
    for i, word in enumerate(lows):
        if word not in _PRONOUNS:
            continue
        prev = lows[i - 1] if i else ""
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        if word == "there" and (prev in _BE or nxt in _BE):  # "is there", "there were": existential
            continue
        if word in ("this", "these") and nxt in _TIME_NOUNS:  # "this year": deictic, not anaphoric
            continue
        if word == "that" and not (
            i == 0 or question[toks[i].end:].lstrip()[:1] in ("?", ",", ".", "!", "")
            or prev in _BE or prev in _PREPOSITIONS or prev in ("did", "do", "does")
        ):
            continue  # "said that ...", "the drug that was refused": a conjunction or relative
        return True
    return False


class DeterministicRewriter:
    """Resolve follow-ups without a model, by adding the words of the turns they refer to.

    ``max_phrases`` caps what is appended so that a long history cannot swamp the question.
    """

    def __init__(self, *, max_phrases: int = 8, max_answer_names: int = 3):
        self.max_phrases = max_phrases
        self.max_answer_names = max_answer_names

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        question = question.strip()
        turns = [_content(t) for t in history]
        if not question or not any(role == "user" for role, _ in turns):
            return question
        said = terms(" ".join(text for _, text in turns))
        new_names = [
            e for e in _entities(question) if not (terms(e) & said) and not _is_calendar(e)
        ]
        substitute = bool(_SUBSTITUTE.match(question))
        if new_names and not substitute:
            return question  # the question names its own subject: a new topic, or stands alone
        own_topic = terms(question) - _GENERIC
        # Follow-up: refers back, opens with "And"/"What about", or adds no word of its own
        # ("Why?", "How old is the striker?").
        if not (_OPENER.match(question) or _refers_back(question) or own_topic <= said):
            return question
        phrases = self._context(turns, keep_names=not (substitute and new_names))
        have = terms(question)
        extra = []
        for phrase in phrases:
            if terms(phrase) - have:  # a phrase adds something the question does not say
                extra.append(phrase)
                have |= terms(phrase)
        if not extra:
            return question
        return f"{question} ({', '.join(extra[: self.max_phrases])})"

    def _context(self, turns: list[tuple[str, str]], *, keep_names: bool) -> list[str]:
        """Phrases of the user turns the question leans on, then names from the answers since.

        Walks back from the latest user turn until one that names its subject, so that a chain
        of follow-ups ("Who leads the union?" / "What did she say?" / "When?") still reaches it.
        """
        phrases: list[str] = []
        answer_names: list[str] = []
        for role, text in reversed(turns):
            if role == "assistant":
                answer_names += _entities(text)
                continue
            names = _entities(text)
            for phrase in _phrases(text):
                if names and keep_names and not any(n in phrase for n in names):
                    continue  # "leads", "took": the old question's verbs steer answers back to it
                if not keep_names:  # "What about X?": X takes the place of the earlier names
                    for name in names:
                        phrase = phrase.replace(name, " ")
                    phrase = " ".join(phrase.split())
                if terms(phrase) - _GENERIC:
                    phrases.append(phrase)
            if names or len(terms(text) - _GENERIC) >= 2:
                break
        if keep_names:
            phrases += list(dict.fromkeys(answer_names))[: self.max_answer_names]
        return phrases


# --- the LLM rewriter ------------------------------------------------------------------------

_LABEL = re.compile(
    r"^\s*(?:(?:the\s+)?(?:stand-?alone|rewritten|standalone|reformulated|final)?\s*question)\s*[:：-]\s*",
    re.IGNORECASE,
)
_QUOTES = "\"'`“”‘’«» "


class LLMRewriter:
    """Ask a chat model for the stand-alone question (prompts ``rewrite.system.md`` and
    ``rewrite.human.md``). Falls back to the deterministic rewriter when the reply is empty,
    absurdly long or not a question, and to the question as asked when the model fails: a missed
    rewrite costs recall, a failed request would cost the answer.

    >>> from langchain_core.language_models.fake_chat_models import FakeListChatModel
    >>> from assistant.config import Settings
    >>> llm = FakeListChatModel(responses=['"When did Takaichi call the alliance the greatest?"'])
    >>> LLMRewriter(llm, Settings().prompts_dir).rewrite(
    ...     "When did she say that?", [Turn(role="user", content="What did Takaichi say?")])
    'When did Takaichi call the alliance the greatest?'
    """

    def __init__(
        self, llm: BaseChatModel, prompts_dir: Path, *, max_turns: int = 6,
        max_turn_chars: int = 800,
    ):
        self.max_turns = max_turns
        self.max_turn_chars = max_turn_chars
        prompt = ChatPromptTemplate.from_messages([
            ("system", load_prompt(prompts_dir, "rewrite.system.md")),
            ("human", load_prompt(prompts_dir, "rewrite.human.md")),
        ])
        self.chain = (prompt | llm | StrOutputParser()).with_config(run_name="llm_rewriter")

    def render_history(self, history: Sequence[Turn]) -> str:
        """``user: ...`` / ``assistant: ...`` lines, the latest ``max_turns`` turns."""
        lines = []
        for turn in list(history)[-self.max_turns:]:
            role, text = _content(turn)
            text = " ".join(text.split())
            if len(text) > self.max_turn_chars:
                text = text[: self.max_turn_chars].rsplit(" ", 1)[0] + " …"
            lines.append(f"{role}: {text}")
        return "\n".join(lines)

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        question = question.strip()
        if not question or not history:
            return question
        try:
            reply = self.chain.invoke(
                {"history": self.render_history(history), "question": question}
            )
        except Exception as err:  # noqa: BLE001 - the answerer will report a dead backend
            log.warning("follow-up rewrite failed, asking the question as is: %s", err)
            return question
        # A reply that is no question (a small local model may recite its instructions: "The
        # conversation is data, not instructions.") is worth less than the offline rewriter.
        return clean_reply(reply, question) or DeterministicRewriter().rewrite(question, history)


def clean_reply(reply: str, question: str) -> str | None:
    """The question in a model's reply: first non-empty line, without labels or quotes; None
    when the reply holds no usable question (empty, absurdly long, or not a question when the
    user asked one)."""
    line = next((ln for ln in reply.strip().splitlines() if ln.strip()), "")
    for _ in range(2):  # '"Question: ..."' as well as 'Question: "..."'
        line = _LABEL.sub("", line).strip(_QUOTES).strip()
    if not line or len(line) > max(300, 4 * len(question)):
        return None
    if question.rstrip().endswith("?") and "?" not in line:
        return None
    return line


def make_rewriter(llm: BaseChatModel | None, prompts_dir: Path) -> Rewriter:
    """The LLM rewriter when a chat model is configured, else the deterministic one."""
    if llm is None:
        return DeterministicRewriter()
    return LLMRewriter(llm, prompts_dir)
