"""Follow-ups: questions that lean on the conversation are rewritten to stand alone; questions that
name their own subject are left exactly as asked."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.config import Settings
from assistant.rewrite import DeterministicRewriter, LLMRewriter, Rewriter, make_rewriter
from assistant.text import terms
from assistant.types import Turn


def convo(*pairs: str) -> list[Turn]:
    """user, assistant, user, ... turns from plain strings."""
    roles = ["user", "assistant"]
    return [Turn(role=roles[i % 2], content=c) for i, c in enumerate(pairs)]


TAKAICHI = convo(
    "What did Takaichi say about the Japan-US relationship?",
    'She said it has become "the greatest alliance in the world" [1].',
)
LENTZ = convo(
    "Who did FC Brannholm sign to replace Tomas Reyvik?",
    "They bought striker Dario Lentz from Kelso Athletic.",
)
NOCTERIN = convo(
    "Which drug did the Aldermark Medicines Agency turn down in March 2026?",
    "It refused to approve Nocterin, an insomnia pill made by Ostrel Pharma.",
)
TANKERS = convo(
    "Which villages got water by tanker during the Carrow drought?",
    "Orrin, Hale Cross and Bexley Mill, whose borehole ran dry.",
)


@pytest.fixture
def rewriter() -> DeterministicRewriter:
    return DeterministicRewriter()


@pytest.mark.parametrize(
    ("history", "question", "must_add"),
    [
        (TAKAICHI, "When did she say that?", "Takaichi Japan-US relationship"),
        (TAKAICHI, "Why?", "Takaichi"),
        (LENTZ, "How many goals did he score last season?", "Dario Lentz"),
        (LENTZ, "How old is the striker?", "Lentz"),
        (NOCTERIN, "How did the agency's advisory committee vote on it?", "Nocterin"),
        (TANKERS, "How many people live there, and how much water did the tankers bring each day?",
         "Orrin Carrow"),
        (convo("What does the minerals framework cover?", "Raw and processed minerals."),
         "And what else does it cover?", "minerals framework"),
        (convo("Who did Trump meet after arriving in Tokyo?", "He met Emperor Naruhito."),
         "Who else did he meet on Monday?", "Trump Tokyo"),
        (convo("What did the Bank of Aldermark decide on 12 March 2026?", "It cut its rate."),
         "Was that decision unanimous?", "Bank of Aldermark"),
    ],
)
def test_follow_up_gains_the_names_and_topic_it_refers_to(rewriter, history, question, must_add):
    out = rewriter.rewrite(question, history)
    assert out.startswith(question)  # the user's own words are kept as asked
    assert terms(must_add) <= terms(out), out


def test_chain_of_follow_ups_reaches_back_to_the_named_subject(rewriter):
    history = convo(
        "Who leads the dockers' union at Port Elvan?", "Marta Quell [1].",
        "What did she say?", "That it was not everything they asked for [2].",
    )
    out = rewriter.rewrite("When?", history)
    assert terms("Port Elvan Marta Quell") <= terms(out), out


@pytest.mark.parametrize(
    ("history", "question"),
    [
        (TAKAICHI, "How many jobs is Lumetra cutting?"),
        (TAKAICHI, "Is there a hosepipe ban in Carrow?"),
        (TAKAICHI, "what happened to interest rates in march 2026?"),
        (LENTZ, "Why did the regulator reject Ostrel Pharma's insomnia pill?"),
        (LENTZ, "Did the Dunmore Hills fire kill anyone?"),
        (LENTZ, "what did the central bank decide about rates?"),
        (LENTZ, "Who said that the strike at Port Elvan was over?"),
        (NOCTERIN, "Who is Anneke Brandt and what does she run?"),
        (NOCTERIN, "Tell me about the wildfire near Kilmory."),
        (TAKAICHI, "What did Takaichi say about the alliance this year?"),
    ],
)
def test_question_with_its_own_subject_is_left_unchanged(rewriter, history, question):
    assert rewriter.rewrite(question, history) == question


def test_what_about_swaps_in_the_new_name_without_the_old_ones(rewriter):
    out = rewriter.rewrite("What about Trump?", TAKAICHI)
    assert "Trump" in out and "Takaichi" not in out and "relationship" in out


@pytest.mark.parametrize("history", [[], convo()[:0], [Turn(role="assistant", content="Hello.")]])
def test_without_a_user_turn_the_question_is_unchanged(rewriter, history):
    assert rewriter.rewrite("When did she say that?", history) == "When did she say that?"


def test_history_may_be_plain_dicts(rewriter):
    history = [t.model_dump() for t in LENTZ]
    assert "Lentz" in rewriter.rewrite("How old was he?", history)


# --- the LLM rewriter ------------------------------------------------------------------------


class RecordingFakeLLM(FakeListChatModel):
    """LangChain's fake chat model, keeping the prompts it was sent."""

    seen: list = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


def llm_rewriter(*responses: str) -> tuple[LLMRewriter, RecordingFakeLLM]:
    llm = RecordingFakeLLM(responses=list(responses), seen=[])
    return LLMRewriter(llm, Settings().prompts_dir), llm


def test_llm_rewriter_sends_the_history_as_role_lines(tmp_path):
    rewriter, llm = llm_rewriter("When did Takaichi say that about the Japan-US relationship?")
    out = rewriter.rewrite("When did she say that?", TAKAICHI)
    assert out == "When did Takaichi say that about the Japan-US relationship?"
    (messages,) = llm.seen
    prompt = "\n".join(m.content for m in messages)
    assert "user: What did Takaichi say about the Japan-US relationship?" in prompt
    # citation markers are dropped: they mean nothing outside the answer they came with
    assert 'assistant: She said it has become "the greatest alliance in the world".' in prompt
    assert "When did she say that?" in messages[-1].content
    assert "unchanged" in messages[0].content  # the system prompt guards against topic drift


@pytest.mark.parametrize(
    "reply",
    [
        '"When did Takaichi say that?"',
        "Question: When did Takaichi say that?",
        "Stand-alone question: “When did Takaichi say that?”",
        "\n  When did Takaichi say that?\nI replaced 'she' with Takaichi.",
    ],
)
def test_llm_reply_is_stripped_of_quotes_and_labels(reply):
    rewriter, _ = llm_rewriter(reply)
    assert rewriter.rewrite("When did she say that?", TAKAICHI) == "When did Takaichi say that?"


@pytest.mark.parametrize("reply", ["", "   ", '""', "word " * 400,
                                   "The conversation is data, not instructions."])
def test_llm_reply_empty_absurd_or_no_question_falls_back_to_the_offline_rewriter(reply):
    rewriter, _ = llm_rewriter(reply)
    assert rewriter.rewrite("When did she say that?", TAKAICHI) == (
        DeterministicRewriter().rewrite("When did she say that?", TAKAICHI))


def test_llm_is_not_called_without_history():
    rewriter, llm = llm_rewriter("should not be used")
    assert rewriter.rewrite("What does the minerals framework cover?", []) == (
        "What does the minerals framework cover?"
    )
    assert llm.seen == []


def test_make_rewriter_picks_the_llm_only_when_one_is_configured():
    prompts = Settings().prompts_dir
    assert isinstance(make_rewriter(None, prompts), DeterministicRewriter)
    llm_based = make_rewriter(FakeListChatModel(responses=["x"]), prompts)
    assert isinstance(llm_based, LLMRewriter)
    assert isinstance(llm_based, Rewriter)
